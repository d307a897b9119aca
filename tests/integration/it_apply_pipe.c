/*
 * The pipelined apply, through the real binary (pghost replicate --follow).
 *
 * divergence: after the checkpoint a change that finds no row is divergence. With statements
 *   in flight, later statements (and later source transactions) have already gone out when
 *   the count comes back: the destination transaction holding the divergent change must roll
 *   back whole, the recorded position must stay before it, and pghost must stop naming the
 *   table. Then the same run again stops at the same place (nothing was skipped).
 * mixed: many small source transactions of inserts, updates, key moves and deletes, some of
 *   them far apart in one big transaction, arrive while pghost is stopped and are applied as
 *   one backlog; a full ordered dump must equal the source's.
 *
 * Usage: it_apply_pipe CASE
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pgh_test.h"

typedef struct ctx {
    pgh_test_server src;
    pgh_test_server dst;
    char *src_ci;
    char *dst_ci;
    PGconn *s;
    PGconn *d;
    char cfg[256];
    int run;
} ctx;

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void setup(ctx *c)
{
    PGH_CHECK(pgh_test_server_start(&c->src, "source", NULL) == 0, "source");
    PGH_CHECK(pgh_test_server_start(&c->dst, "destination", NULL) == 0, "destination");
    c->src_ci = pgh_test_conninfo(&c->src, "postgres");
    c->dst_ci = pgh_test_conninfo(&c->dst, "postgres");
    c->s = pgh_test_connect(&c->src, "postgres");
    c->d = pgh_test_connect(&c->dst, "postgres");
    const char *ddl = "CREATE TABLE t (id bigint PRIMARY KEY, v int NOT NULL, note text);"
                      "CREATE TABLE u (a text, b int, n bigint NOT NULL, PRIMARY KEY (a, b))";
    pgh_test_exec(c->s, "%s", ddl);
    pgh_test_exec(c->d, "%s", ddl);
    pgh_test_exec(c->s, "INSERT INTO t SELECT g, 0, md5(g::text) FROM generate_series(1, 5000) g;"
                        "INSERT INTO u SELECT 'k' || (g %% 50), g / 50, g "
                        "FROM generate_series(1, 5000) g;"
                        "CREATE PUBLICATION pub FOR TABLE t, u");
    snprintf(c->cfg, sizeof(c->cfg), "%s/apply.yaml", c->src.dir);
    FILE *f = fopen(c->cfg, "w");
    PGH_CHECK(f != NULL, "config");
    fprintf(f,
            "source_connection: %s\ndestination_connection: %s\npublication_name: pub\n"
            "tables:\n  - source_table_name: t\n  - source_table_name: u\n"
            "copy_batch_size: 2000\ncopy_worker_count: 2\napply_group_max_changes: 3000\n",
            c->src_ci, c->dst_ci);
    fclose(f);
}

static void teardown(ctx *c)
{
    PQfinish(c->s);
    PQfinish(c->d);
    free(c->src_ci);
    free(c->dst_ci);
    pgh_test_server_stop(&c->dst);
    pgh_test_server_stop(&c->src);
}

static pid_t spawn_follow(ctx *c)
{
    char out[256], err[256];
    c->run++;
    snprintf(out, sizeof(out), "%s/run%d.out", c->src.dir, c->run);
    snprintf(err, sizeof(err), "%s/run%d.err", c->src.dir, c->run);
    const char *argv[] = {PGH_BINARY, "replicate", "--no-progress", c->cfg, "--follow", NULL};
    pid_t pid = pgh_test_spawn(argv, out, err);
    PGH_CHECK(pid > 0, "cannot start pghost");
    return pid;
}

static const char *run_stderr(ctx *c)
{
    static char buf[65536];
    char path[256];
    snprintf(path, sizeof(path), "%s/run%d.err", c->src.dir, c->run);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    return buf;
}

static void wait_following(ctx *c, pid_t pid)
{
    for (int i = 0; i < 1200; i++) {
        char *n = pgh_test_value(c->d, "SELECT to_regclass('pghost.state') IS NOT NULL");
        bool ready = strcmp(n, "t") == 0;
        free(n);
        if (ready) {
            char *m = pgh_test_value(c->d, "SELECT count(*) FROM pghost.state "
                                           "WHERE phase = 'follow'");
            ready = strcmp(m, "1") == 0;
            free(m);
        }
        if (ready)
            return;
        PGH_CHECK(pgh_test_pid_alive(pid), "pghost exited before following: %s", run_stderr(c));
        sleep_ms(100);
    }
    pgh_test_fail("pghost did not reach the follow phase in 120 s");
}

static void stop_pghost(ctx *c, pid_t pid)
{
    kill(pid, SIGTERM);
    int code = -1;
    PGH_CHECK(pgh_test_wait(pid, 10, &code) == 0, "pghost did not exit within 10 s of SIGTERM");
    PGH_CHECK(code == 0, "pghost exited %d after SIGTERM: %s", code, run_stderr(c));
}

static void compare(ctx *c, const char *query)
{
    char diff[2048];
    long long rows = 0;
    int rc = pgh_test_compare_dumps(c->s, query, c->d, query, diff, sizeof(diff), &rows);
    PGH_CHECK(rc == 0, "destination differs (%s): %s\npghost's log:\n%s", query, diff,
              run_stderr(c));
    printf("%s: %lld rows equal\n", query, rows);
}

/* Wait until everything committed on the source so far is on the destination: a fence row,
 * committed last on the source, has arrived (transactions are applied in commit order). */
static void wait_applied(ctx *c, pid_t pid)
{
    pgh_test_exec(c->s, "INSERT INTO t VALUES (-1, 0, 'fence')");
    for (int i = 0; i < 1800; i++) {
        char *n = pgh_test_value(c->d, "SELECT count(*) FROM t WHERE id = -1");
        bool ok = strcmp(n, "1") == 0;
        free(n);
        if (ok)
            return;
        PGH_CHECK(pgh_test_pid_alive(pid), "pghost exited: %s", run_stderr(c));
        sleep_ms(100);
    }
    pgh_test_fail("the fence row did not reach the destination in 180 s");
}

static void case_divergence(ctx *c)
{
    pid_t pid = spawn_follow(c);
    wait_following(c, pid);
    stop_pghost(c, pid);
    /* The destination loses a row the source still has. */
    pgh_test_exec(c->d, "DELETE FROM t WHERE id = 77");
    char *before = pgh_test_value(c->d, "SELECT applied_lsn FROM pghost.state");
    /* T1: fine. T2: inserts, then the divergent UPDATE last. T1 and T2 fill one grouped
     * destination transaction (apply_group_max_changes 3000), whose COMMIT would follow the
     * UPDATE at once, before its count is back. T3: fine. */
    pgh_test_exec(c->s, "INSERT INTO t SELECT g, 1, 't1' FROM generate_series(100001, 100500) g");
    pgh_test_exec(c->s, "BEGIN;"
                        "INSERT INTO t SELECT g, 2, 't2' FROM generate_series(200001, 202500) g;"
                        "UPDATE t SET v = 42 WHERE id = 77;"
                        "COMMIT");
    char *t2_end = pgh_test_value(c->s, "SELECT pg_current_wal_insert_lsn()");
    pgh_test_exec(c->s, "INSERT INTO t SELECT g, 3, 't3' FROM generate_series(300001, 300500) g");
    for (int attempt = 1; attempt <= 2; attempt++) {
        pid = spawn_follow(c);
        int code = -1;
        PGH_CHECK(pgh_test_wait(pid, 60, &code) == 0, "pghost did not stop on divergence");
        const char *msg = run_stderr(c);
        PGH_CHECK(code != 0, "pghost exited 0 on divergence");
        PGH_CHECK(strstr(msg, "public.t: UPDATE found no row") != NULL &&
                      strstr(msg, "diverged") != NULL,
                  "unexpected error: %s", msg);
        char *t2_rows = pgh_test_value(c->d, "SELECT count(*) FROM t WHERE note = 't2' OR "
                                             "note = 't3'");
        PGH_CHECK(strcmp(t2_rows, "0") == 0, "rows of the divergent transaction or after it "
                                             "were committed: %s", t2_rows);
        char *pos = pgh_test_value(c->d, "SELECT applied_lsn < '%s' AND applied_lsn >= '%s' "
                                         "FROM pghost.state", t2_end, before);
        PGH_CHECK(strcmp(pos, "t") == 0, "the position moved past the divergent transaction");
        printf("attempt %d: stopped with \"%.*s\"; nothing of it committed\n", attempt,
               (int)strcspn(msg, "\n"), msg);
        free(t2_rows);
        free(pos);
    }
    free(before);
    free(t2_end);
}

static void case_mixed(ctx *c)
{
    pid_t pid = spawn_follow(c);
    wait_following(c, pid);
    stop_pghost(c, pid);
    /* A backlog: 3000 small transactions of every kind, and one large one in the middle. */
    pgh_test_exec(c->s,
                  "DO $$ BEGIN FOR i IN 1..3000 LOOP "
                  "  IF i %% 5 = 0 THEN UPDATE t SET v = v + 1, note = repeat('x', i %% 300) "
                  "    WHERE id = 1 + (i * 7) %% 5000;"
                  "  ELSIF i %% 5 = 1 THEN INSERT INTO t VALUES (10000 + i, i, NULL);"
                  "  ELSIF i %% 5 = 2 THEN DELETE FROM t WHERE id = 1 + (i * 13) %% 5000;"
                  "  ELSIF i %% 5 = 3 THEN UPDATE t SET id = id + 1000000 "
                  "    WHERE id = 1 + (i * 11) %% 5000;"
                  "  ELSE UPDATE u SET n = n + 1 WHERE a = 'k' || (i %% 50) AND b = (i %% 90);"
                  "  END IF; COMMIT; END LOOP; END $$");
    pgh_test_exec(c->s, "UPDATE u SET n = -n WHERE b %% 3 = 0");
    pgh_test_exec(c->s, "DO $$ BEGIN FOR i IN 1..500 LOOP "
                        "UPDATE u SET b = b + 1000 WHERE a = 'k' || (i %% 50) AND b = i %% 100; "
                        "COMMIT; END LOOP; END $$");
    pid = spawn_follow(c);
    wait_applied(c, pid);
    compare(c, "SELECT * FROM t ORDER BY id");
    compare(c, "SELECT * FROM u ORDER BY a, b");
    stop_pghost(c, pid);
}

int main(int argc, char **argv)
{
    PGH_CHECK(argc == 2, "usage: it_apply_pipe CASE");
    ctx c;
    memset(&c, 0, sizeof(c));
    setup(&c);
    if (strcmp(argv[1], "divergence") == 0)
        case_divergence(&c);
    else if (strcmp(argv[1], "mixed") == 0)
        case_mixed(&c);
    else
        pgh_test_fail("unknown case %s", argv[1]);
    teardown(&c);
    puts("PASS");
    return 0;
}
