/*
 * DDL replication while following, through the real binary (pghost replicate --follow):
 *
 *   all    the DDL capture installed on the source; with a writer running, every statement of
 *          issue 5 item 4 in turn (ADD / DROP / RENAME COLUMN, ALTER COLUMN TYPE / SET DEFAULT
 *          / SET NOT NULL, CREATE / DROP INDEX, RENAME TABLE, CREATE TABLE matching a pattern
 *          with rows in its own transaction, DROP TABLE, and a string holding a DDL and an
 *          INSERT), with writes before and after each; pghost is killed with SIGKILL right
 *          after a DDL and restarted. Then full ordered dumps of every table, and the columns
 *          (names, types, defaults, not null) and indexes of both sides, must be equal.
 *   drift  no capture: a column added on the source stops pghost (exit 1) with a line naming
 *          the difference and nothing of that transaction applied; with schema_drift:
 *          add_columns the column is added and the dumps end equal.
 *
 * Usage: it_ddl CASE
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "admin/ddl_capture.h"
#include "pgh_test.h"
#include "pghost/config.h"

typedef struct ctx {
    pgh_test_server src;
    pgh_test_server dst;
    char *src_ci;
    char *dst_ci;
    PGconn *s;
    PGconn *d;
    char cfg[256];
    int run;
    pthread_t writer;
    atomic_int stop_writer;
    atomic_long writes;
} ctx;

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void write_config(ctx *c, const char *extra)
{
    FILE *f = fopen(c->cfg, "w");
    PGH_CHECK(f != NULL, "config");
    fprintf(f,
            "source_connection: %s\ndestination_connection: %s\npublication_name: pub\n"
            "copy_batch_size: 2000\ncopy_worker_count: 2\ntables:\n"
            "  - source_table_name: t\n  - source_table_name: u\n"
            "  - source_table_name: dropme\n%s",
            c->src_ci, c->dst_ci, extra ? extra : "");
    fclose(f);
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
                      "CREATE TABLE u (id int PRIMARY KEY, w text);"
                      "CREATE TABLE dropme (id int PRIMARY KEY)";
    pgh_test_exec(c->s, "%s", ddl);
    pgh_test_exec(c->d, "%s", ddl);
    pgh_test_exec(c->s, "INSERT INTO t SELECT g, 0, md5(g::text) FROM generate_series(1, 5000) g;"
                        "INSERT INTO u SELECT g, g::text FROM generate_series(1, 100) g;"
                        "INSERT INTO dropme SELECT generate_series(1, 10);"
                        "CREATE PUBLICATION pub FOR TABLE t, u, dropme");
    snprintf(c->cfg, sizeof(c->cfg), "%s/ddl.yaml", c->src.dir);
    write_config(c, NULL);
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

/* Single-row writes to t's columns id and v (which no DDL below touches). */
static void *writer_main(void *arg)
{
    ctx *c = arg;
    uint64_t r = 0x9E3779B97F4A7C15ULL;
    PGconn *conn = NULL;
    while (!atomic_load(&c->stop_writer)) {
        if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
            PQfinish(conn);
            conn = PQconnectdb(c->src_ci);
            continue;
        }
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        long long k = (long long)(r % 8000) + 1;
        char sql[256];
        switch (r % 3) {
        case 0: snprintf(sql, sizeof(sql), "INSERT INTO t (id, v) VALUES (%lld, 1) ON CONFLICT "
                                           "DO NOTHING", k); break;
        case 1: snprintf(sql, sizeof(sql), "UPDATE t SET v = v + 1 WHERE id = %lld", k); break;
        default: snprintf(sql, sizeof(sql), "DELETE FROM t WHERE id = %lld", k);
        }
        PGresult *res = PQexec(conn, sql);
        if (PQresultStatus(res) == PGRES_COMMAND_OK)
            atomic_fetch_add(&c->writes, 1);
        PQclear(res);
        sleep_ms(2);
    }
    PQfinish(conn);
    return NULL;
}

static pid_t spawn_pghost(ctx *c)
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

static const char *run_stderr(ctx *c, int run)
{
    static char buf[65536];
    char path[256];
    snprintf(path, sizeof(path), "%s/run%d.err", c->src.dir, run);
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
        char *n = pgh_test_value(c->d, "SELECT count(*) FROM pg_tables WHERE schemaname = "
                                       "'pghost' AND tablename = 'state'");
        bool ready = strcmp(n, "1") == 0;
        free(n);
        if (ready) {
            n = pgh_test_value(c->d, "SELECT count(*) FROM pghost.state WHERE phase = 'follow'");
            ready = strcmp(n, "1") == 0;
            free(n);
        }
        if (ready)
            return;
        PGH_CHECK(pgh_test_pid_alive(pid), "pghost exited: %s", run_stderr(c, c->run));
        sleep_ms(100);
    }
    pgh_test_fail("pghost did not reach the follow phase in 120 s");
}

/* Write a fence row into t and wait until the destination has it. */
static void fence(ctx *c, pid_t pid, int value)
{
    pgh_test_exec(c->s, "INSERT INTO t (id, v) VALUES (-1, %d) ON CONFLICT (id) DO UPDATE SET "
                        "v = excluded.v", value);
    for (int i = 0; i < 1200; i++) {
        char *v = pgh_test_value(c->d, "SELECT coalesce((SELECT v FROM t WHERE id = -1), -1)");
        bool arrived = atoi(v) == value;
        free(v);
        if (arrived)
            return;
        PGH_CHECK(pid <= 0 || pgh_test_pid_alive(pid), "pghost exited: %s",
                  run_stderr(c, c->run));
        sleep_ms(100);
    }
    pgh_test_fail("fence %d did not arrive within 120 s: %s", value, run_stderr(c, c->run));
}

static void compare(ctx *c, const char *query)
{
    char diff[2048];
    long long rows = 0;
    int rc = pgh_test_compare_dumps(c->s, query, c->d, query, diff, sizeof(diff), &rows);
    PGH_CHECK(rc == 0, "%s differs: %s", query, diff);
    printf("equal (%lld rows): %s\n", rows, query);
}

/* Columns (name, type, default, not null) and indexes of the given tables, both sides. */
static void compare_shapes(ctx *c, const char *tables)
{
    char q[1024];
    snprintf(q, sizeof(q),
             "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), "
             "pg_get_expr(d.adbin, d.adrelid), a.attnotnull FROM pg_attribute a "
             "JOIN pg_class c ON c.oid = a.attrelid LEFT JOIN pg_attrdef d ON d.adrelid = "
             "a.attrelid AND d.adnum = a.attnum WHERE c.relname IN (%s) AND c.relnamespace = "
             "'public'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped ORDER BY 1, 2",
             tables);
    compare(c, q);
    snprintf(q, sizeof(q),
             "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
             "AND tablename IN (%s) ORDER BY 1, 2",
             tables);
    compare(c, q);
}

static void install_capture(ctx *c)
{
    /* The capture's selection has a pattern (new_*) besides the configured tables. */
    char yaml[2048];
    snprintf(yaml, sizeof(yaml),
             "source_connection: %s\ndestination_connection: %s\npublication_name: pub\n"
             "tables:\n  - source_table_name: t\n  - source_table_name: u\n"
             "  - source_table_name: dropme\n  - source_table_name: new_*\n",
             c->src_ci, c->dst_ci);
    pgh_config *cfg = NULL;
    pgh_error err;
    pgh_error_clear(&err);
    PGH_CHECK(pgh_config_parse(&cfg, yaml, strlen(yaml), "capture", NULL, NULL, &err) == 0,
              "config: %s", err.message);
    bool installed = false;
    for (int i = 0; i < 2; i++) { /* idempotent */
        PGH_CHECK(pgh_admin_ddl_capture_install(&installed, c->s, cfg, &err) == 0,
                  "install: %s", err.message);
        PGH_CHECK(installed, "the capture was not installed");
    }
    char *n = pgh_test_value(c->s, "SELECT count(*) FROM pghost.ddl_shape");
    PGH_CHECK(strcmp(n, "3") == 0, "install follows %s tables, expected 3", n);
    free(n);
    pgh_config_free(cfg);
}

static void remove_capture(ctx *c)
{
    char yaml[1024];
    snprintf(yaml, sizeof(yaml),
             "source_connection: %s\ndestination_connection: %s\npublication_name: pub\n"
             "source_table_name: t\n",
             c->src_ci, c->dst_ci);
    pgh_config *cfg = NULL;
    pgh_error err;
    pgh_error_clear(&err);
    PGH_CHECK(pgh_config_parse(&cfg, yaml, strlen(yaml), "capture", NULL, NULL, &err) == 0,
              "config: %s", err.message);
    for (int i = 0; i < 2; i++)
        PGH_CHECK(pgh_admin_ddl_capture_remove(c->s, cfg, &err) == 0, "remove: %s", err.message);
    pgh_config_free(cfg);
    char *n = pgh_test_value(c->s, "SELECT (SELECT count(*) FROM pg_event_trigger) + (SELECT "
                                   "count(*) FROM pg_namespace WHERE nspname = 'pghost')");
    PGH_CHECK(strcmp(n, "0") == 0, "remove left %s objects", n);
    free(n);
}

static const char *const STEPS[] = {
    "ALTER TABLE t ADD COLUMN a text DEFAULT 'x' NOT NULL",
    "UPDATE t SET a = 'y' || id WHERE id % 7 = 0",
    "ALTER TABLE t ADD COLUMN b numeric(10,2)",
    "UPDATE t SET b = id / 3.0 WHERE id % 5 = 0",
    "ALTER TABLE t RENAME COLUMN a TO a2",
    "UPDATE t SET a2 = 'z' WHERE id % 11 = 0",
    "ALTER TABLE t ALTER COLUMN b TYPE numeric(12,3)",
    "UPDATE t SET b = id / 7.0 WHERE id % 13 = 0",
    "ALTER TABLE t ALTER COLUMN a2 SET DEFAULT 'dflt', ALTER COLUMN b SET DEFAULT 0",
    "INSERT INTO t (id, v) VALUES (-100, 1)",
    "BEGIN; UPDATE t SET b = 1 WHERE b IS NULL; ALTER TABLE t ALTER COLUMN b SET NOT NULL; "
    "COMMIT",
    "CREATE INDEX t_v_idx ON t (v) WHERE v > 3",
    "CREATE UNIQUE INDEX u_w_idx ON u (w)",
    "UPDATE u SET w = w || '!' WHERE id % 3 = 0",
    "ALTER TABLE t DROP COLUMN note",
    "UPDATE t SET a2 = 'after drop' WHERE id % 17 = 0",
    "DROP INDEX t_v_idx",
    "ALTER TABLE u RENAME TO u2",
    "INSERT INTO u2 VALUES (1000, 'renamed')",
    "KILL", /* SIGKILL pghost right after the rename, then restart it */
    "UPDATE u2 SET w = w || ' after restart' WHERE id < 10",
    "BEGIN; CREATE TABLE new_x (k int PRIMARY KEY, s text NOT NULL, d date DEFAULT "
    "'2024-01-02'); INSERT INTO new_x SELECT g, 's' || g FROM generate_series(1, 50) g; COMMIT",
    "CREATE INDEX new_x_s ON new_x (s)",
    "ALTER TABLE new_x ADD COLUMN z int; INSERT INTO new_x VALUES (51, 'multi', NULL, 7)",
    "UPDATE new_x SET z = k WHERE k % 2 = 0",
    "INSERT INTO dropme VALUES (11)",
    "DROP TABLE dropme",
    "INSERT INTO t (id, v, a2, b) VALUES (-200, 2, 'end', 2.5)",
};

static void case_all(ctx *c)
{
    install_capture(c);
    pid_t pid = spawn_pghost(c);
    wait_following(c, pid);
    atomic_store(&c->stop_writer, 0);
    PGH_CHECK(pthread_create(&c->writer, NULL, writer_main, c) == 0, "writer");
    for (size_t i = 0; i < sizeof(STEPS) / sizeof(STEPS[0]); i++) {
        sleep_ms(150); /* writes before and after each statement */
        if (strcmp(STEPS[i], "KILL") == 0) {
            kill(pid, SIGKILL);
            int code = 0;
            pgh_test_wait(pid, 10, &code);
            pid = spawn_pghost(c);
            continue;
        }
        pgh_test_exec(c->s, "%s", STEPS[i]);
        PGH_CHECK(pgh_test_pid_alive(pid), "pghost exited after %s: %s", STEPS[i],
                  run_stderr(c, c->run));
    }
    sleep_ms(300);
    atomic_store(&c->stop_writer, 1);
    pthread_join(c->writer, NULL);
    fence(c, pid, 1);
    compare(c, "SELECT * FROM t ORDER BY id");
    compare(c, "SELECT * FROM u2 ORDER BY id");
    compare(c, "SELECT * FROM new_x ORDER BY k");
    compare_shapes(c, "'t', 'u', 'u2', 'new_x', 'dropme'");
    char *n = pgh_test_value(c->d, "SELECT to_regclass('dropme') IS NULL AND "
                                   "to_regclass('u') IS NULL");
    PGH_CHECK(strcmp(n, "t") == 0, "dropme or u still on the destination");
    free(n);
    kill(pid, SIGTERM);
    int code = -1;
    PGH_CHECK(pgh_test_wait(pid, 10, &code) == 0 && code == 0, "pghost exit %d: %s", code,
              run_stderr(c, c->run));
    printf("writers committed %ld transactions\n", atomic_load(&c->writes));
    pgh_test_exec(c->s, "SELECT pg_drop_replication_slot('pghost_pub')");
    remove_capture(c);
}

static void case_drift(ctx *c)
{
    pid_t pid = spawn_pghost(c);
    wait_following(c, pid);
    fence(c, pid, 1);
    pgh_test_exec(c->s, "ALTER TABLE t ADD COLUMN c int");
    pgh_test_exec(c->s, "BEGIN; INSERT INTO t (id, v, c) VALUES (-5, 5, 5); UPDATE t SET c = id "
                        "WHERE id %% 9 = 0; COMMIT");
    int code = -1;
    PGH_CHECK(pgh_test_wait(pid, 60, &code) == 0, "pghost did not stop on the drift");
    const char *text = run_stderr(c, c->run);
    PGH_CHECK(code == 1, "exit %d, expected 1: %s", code, text);
    PGH_CHECK(strstr(text, "column c (integer) is missing on the destination") != NULL,
              "the message does not name the difference: %s", text);
    printf("stopped: %s", text);
    char *n = pgh_test_value(c->d, "SELECT count(*) FROM t WHERE id = -5");
    PGH_CHECK(strcmp(n, "0") == 0, "part of the drifting transaction was applied");
    free(n);
    write_config(c, "schema_drift: add_columns\n");
    pid = spawn_pghost(c);
    pgh_test_exec(c->s, "UPDATE t SET c = -id WHERE id %% 4 = 0");
    fence(c, pid, 2);
    compare(c, "SELECT * FROM t ORDER BY id");
    compare(c, "SELECT * FROM u ORDER BY id");
    kill(pid, SIGTERM);
    PGH_CHECK(pgh_test_wait(pid, 10, &code) == 0 && code == 0, "pghost exit %d: %s", code,
              run_stderr(c, c->run));
    pgh_test_exec(c->s, "SELECT pg_drop_replication_slot('pghost_pub')");
}

int main(int argc, char **argv)
{
    PGH_CHECK(argc == 2, "usage: it_ddl CASE");
    ctx c;
    memset(&c, 0, sizeof(c));
    setup(&c);
    if (strcmp(argv[1], "all") == 0)
        case_all(&c);
    else if (strcmp(argv[1], "drift") == 0)
        case_drift(&c);
    else
        pgh_test_fail("unknown case %s", argv[1]);
    teardown(&c);
    return 0;
}
