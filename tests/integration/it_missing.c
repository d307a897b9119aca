/*
 * on_missing_row while following, through the real binary (pghost replicate --follow): rows
 * deleted on the destination behind pghost's back, then updated or deleted on the source.
 *
 *   stop  (the default) pghost exits 1 with the divergence error naming the table, and nothing
 *         of that source transaction is applied.
 *   skip  pghost goes on: each such change is logged at warn (table, LSN, key column names),
 *         counted per table in pghost status (text and --json) and in the metric
 *         pghost_missing_rows_skipped_total; the count survives a restart (it is kept in the
 *         state schema with the position); after a fence every other row is equal by full
 *         ordered dumps. The restarted run takes skip from PGH_CFG_ON_MISSING_ROW (a bad value
 *         there is refused with exit 2).
 *
 * Usage: it_missing CASE
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pgh_run.h"

#define STOP_WAIT_S 10

typedef struct ctx {
    pgh_run_pair p;
    pgh_run r;
    int port; /* --metrics-addr */
} ctx;

static void write_config(ctx *c, const char *extra)
{
    pgh_run_write_config(&c->r,
                         "source_connection: %s\ndestination_connection: %s\n"
                         "publication_name: pub\ntables: [public.t, public.u]\n%s",
                         c->p.src_conninfo, c->p.dst_conninfo, extra);
}

static void setup(ctx *c, const char *extra)
{
    pgh_run_pair_start(&c->p, NULL, NULL);
    const char *ddl = "CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL, note text);"
                      "CREATE TABLE u (a int, b text, w int, PRIMARY KEY (a, b))";
    pgh_test_exec(c->p.s, "%s", ddl);
    pgh_test_exec(c->p.d, "%s", ddl);
    pgh_test_exec(c->p.s, "INSERT INTO t SELECT g, 0, md5(g::text) FROM generate_series(1, 2000) g;"
                          "INSERT INTO u SELECT g, 'k' || g, g FROM generate_series(1, 200) g;"
                          "CREATE PUBLICATION pub FOR TABLE t, u");
    pgh_run_init(&c->r, &c->p, PGH_BINARY, "run", "missing.yaml");
    write_config(c, extra);
    c->port = pgh_test_free_port();
}

static pid_t spawn_pghost(ctx *c)
{
    char addr[32];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", c->port);
    return pgh_run_spawn(&c->r, "replicate", "--no-progress", "--follow", "--metrics-addr", addr,
                         NULL);
}

/* GET /metrics on the run's port; the body, malloc'd (NULL: no answer). */
static char *scrape(const ctx *c)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)c->port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    const char req[] = "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n";
    PGH_CHECK(write(fd, req, sizeof(req) - 1) == (ssize_t)(sizeof(req) - 1), "sending");
    size_t len = 0, cap = 1 << 16;
    char *buf = malloc(cap + 1);
    ssize_t got;
    while ((got = read(fd, buf + len, cap - len)) > 0) {
        len += (size_t)got;
        if (len == cap)
            buf = realloc(buf, (cap *= 2) + 1);
    }
    close(fd);
    buf[len] = '\0';
    return buf;
}

/* Rows 10, 20, 30 of t and (5, 'k5') of u deleted on the destination only. */
static void diverge(ctx *c)
{
    pgh_test_exec(c->p.d, "DELETE FROM t WHERE id IN (10, 20, 30); "
                          "DELETE FROM u WHERE a = 5");
}

/* One source transaction: two changes whose row the destination lacks (t 10 updated, t 20
 * deleted), one on u (updated), and changes of rows that are there. */
static void write_through(ctx *c)
{
    pgh_test_exec(c->p.s, "BEGIN; UPDATE t SET v = v + 1 WHERE id IN (10, 11); "
                          "DELETE FROM t WHERE id = 20; UPDATE t SET note = 'x' WHERE id = 12; "
                          "UPDATE u SET w = -w WHERE a IN (5, 6); COMMIT");
}

static void case_stop(ctx *c)
{
    pid_t pid = spawn_pghost(c);
    pgh_run_wait_follow(&c->r, pid);
    pgh_run_fence_value(&c->r, pid, "t", -1, 1, NULL);
    diverge(c);
    write_through(c);
    int code = pgh_run_wait(&c->r, pid, 60);
    const char *text = pgh_run_stderr(&c->r, 0);
    PGH_CHECK(code == 1, "exit %d, expected 1: %s", code, text);
    PGH_CHECK(strstr(text, "public.t: UPDATE found no row; the destination has diverged from the "
                           "source (run pghost verify to see where)") != NULL,
              "not the divergence error: %s", text);
    printf("stopped: %s", text);
    char *v = pgh_test_value(c->p.d, "SELECT v::text || coalesce(note, '') FROM t WHERE id = 11");
    PGH_CHECK(strcmp(v, "0"
                        "6512bd43d9caa6e02c990b0a82652dca") == 0,
              "part of the transaction was applied: row 11 is %s", v);
    free(v);
    pgh_test_exec(c->p.s, "SELECT pg_drop_replication_slot('pghost_pub')");
}

static void expect_status(ctx *c, const char *json, const char *text)
{
    int code = pgh_run_exec(&c->r, 60, "status", "--json", NULL);
    const char *out = pgh_run_stdout(&c->r, 0);
    PGH_CHECK(code == 0 && strstr(out, json) != NULL, "status --json (exit %d) lacks %s: %s", code,
              json, out);
    code = pgh_run_exec(&c->r, 60, "status", NULL);
    out = pgh_run_stdout(&c->r, 0);
    PGH_CHECK(code == 0 && strstr(out, text) != NULL, "status (exit %d) lacks %s: %s", code, text,
              out);
    printf("status: %s", out);
}

static void expect_metric(ctx *c, const char *line)
{
    char *body = scrape(c);
    PGH_CHECK(body != NULL && strstr(body, line) != NULL, "/metrics lacks %s: %s", line,
              body ? body : "(no answer)");
    free(body);
}

static void compare_rest(ctx *c)
{
    pgh_run_compare(&c->p, "SELECT * FROM t WHERE id NOT IN (10, 20, 30, 40) ORDER BY id", NULL,
                    NULL);
    pgh_run_compare(&c->p, "SELECT * FROM u WHERE a <> 5 ORDER BY a, b", NULL, NULL);
}

static void case_skip(ctx *c)
{
    pid_t pid = spawn_pghost(c);
    pgh_run_wait_follow(&c->r, pid);
    pgh_run_fence_value(&c->r, pid, "t", -1, 1, NULL);
    diverge(c);
    write_through(c);
    pgh_run_fence_value(&c->r, pid, "t", -1, 2, NULL);
    const char *err = pgh_run_stderr(&c->r, pgh_run_number(&c->r, pid));
    PGH_CHECK(strstr(err, "public.t: UPDATE at ") != NULL &&
                  strstr(err, "found no row (key id); skipped (on_missing_row: skip)") != NULL &&
                  strstr(err, "public.u: UPDATE at ") != NULL &&
                  strstr(err, "found no row (key a, b); skipped") != NULL,
              "no warning for each skipped change: %s", err);
    expect_metric(c, "pghost_missing_rows_skipped_total{table=\"public.t\"} 2\n");
    expect_metric(c, "pghost_missing_rows_skipped_total{table=\"public.u\"} 1\n");
    expect_status(c,
                  "\"missing_rows_skipped\":[{\"table\":\"public.t\",\"skipped\":2},"
                  "{\"table\":\"public.u\",\"skipped\":1}]",
                  "missing rows skipped in public.t: 2 (on_missing_row: skip)\n");
    compare_rest(c);
    /* the count is in the state schema: a restarted run adds to it; skip set by the
     * environment this time (a bad value there is refused, exit 2) */
    pgh_run_stop(&c->r, pid, STOP_WAIT_S);
    write_config(c, "");
    setenv("PGH_CFG_ON_MISSING_ROW", "ignore", 1);
    int code = pgh_run_exec(&c->r, 60, "status", NULL);
    const char *text = pgh_run_stderr(&c->r, 0);
    PGH_CHECK(code == 2 && strstr(text, "PGH_CFG_ON_MISSING_ROW") &&
                  strstr(text, "must be stop or skip"),
              "a bad PGH_CFG_ON_MISSING_ROW: exit %d: %s", code, text);
    setenv("PGH_CFG_ON_MISSING_ROW", "skip", 1);
    pid = spawn_pghost(c);
    pgh_run_wait_follow(&c->r, pid);
    pgh_test_exec(c->p.d, "DELETE FROM t WHERE id = 40");
    pgh_test_exec(c->p.s, "DELETE FROM t WHERE id = 40");
    pgh_run_fence_value(&c->r, pid, "t", -1, 3, NULL);
    expect_status(c, "{\"table\":\"public.t\",\"skipped\":3}",
                  "missing rows skipped in public.t: 3 (on_missing_row: skip)\n");
    expect_metric(c, "pghost_missing_rows_skipped_total{table=\"public.t\"} 1\n");
    compare_rest(c);
    pgh_run_stop(&c->r, pid, STOP_WAIT_S);
    unsetenv("PGH_CFG_ON_MISSING_ROW");
    pgh_test_exec(c->p.s, "SELECT pg_drop_replication_slot('pghost_pub')");
}

int main(int argc, char **argv)
{
    PGH_CHECK(argc == 2, "usage: it_missing CASE");
    ctx c;
    memset(&c, 0, sizeof(c));
    if (strcmp(argv[1], "stop") == 0) {
        setup(&c, "");
        case_stop(&c);
    } else if (strcmp(argv[1], "skip") == 0) {
        setup(&c, "on_missing_row: skip\n");
        case_skip(&c);
    } else {
        pgh_test_fail("unknown case %s", argv[1]);
    }
    pgh_run_pair_stop(&c.p);
    return 0;
}
