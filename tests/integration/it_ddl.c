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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/ddl_capture.h"
#include "pgh_run.h"
#include "pghost/config.h"

typedef struct ctx {
    pgh_run_pair p;
    pgh_run r; /* runs write <source dir>/runN.out and runN.err */
    pgh_run_writers writers;
} ctx;

#define STOP_WAIT_S 10 /* SIGTERM: exit 0 within 10 s */

static void write_config(ctx *c, const char *extra)
{
    pgh_run_write_config(
        &c->r,
        "source_connection: %s\ndestination_connection: %s\npublication_name: pub\n"
        "copy_batch_size: 2000\ncopy_worker_count: 2\ntables:\n"
        "  - source_table_name: t\n  - source_table_name: u\n"
        "  - source_table_name: dropme\n%s",
        c->p.src_conninfo, c->p.dst_conninfo, extra ? extra : "");
}

static void setup(ctx *c)
{
    pgh_run_pair_start(&c->p, NULL, NULL);
    const char *ddl = "CREATE TABLE t (id bigint PRIMARY KEY, v int NOT NULL, note text);"
                      "CREATE TABLE u (id int PRIMARY KEY, w text);"
                      "CREATE TABLE dropme (id int PRIMARY KEY)";
    pgh_test_exec(c->p.s, "%s", ddl);
    pgh_test_exec(c->p.d, "%s", ddl);
    pgh_test_exec(c->p.s, "INSERT INTO t SELECT g, 0, md5(g::text) FROM generate_series(1, 5000) g;"
                          "INSERT INTO u SELECT g, g::text FROM generate_series(1, 100) g;"
                          "INSERT INTO dropme SELECT generate_series(1, 10);"
                          "CREATE PUBLICATION pub FOR TABLE t, u, dropme");
    pgh_run_init(&c->r, &c->p, PGH_BINARY, "run", "ddl.yaml");
    write_config(c, NULL);
}

/* A single-row write to t's columns id and v (which no DDL below touches). */
static bool write_one(PGconn *conn, pgh_run_writer *w, void *payload)
{
    (void)payload;
    uint64_t r = pgh_run_random(&w->rng);
    long long k = (long long)(r % 8000) + 1;
    char sql[256];
    switch (r % 3) {
    case 0:
        snprintf(sql, sizeof(sql), "INSERT INTO t (id, v) VALUES (%lld, 1) ON CONFLICT DO NOTHING",
                 k);
        break;
    case 1:
        snprintf(sql, sizeof(sql), "UPDATE t SET v = v + 1 WHERE id = %lld", k);
        break;
    default:
        snprintf(sql, sizeof(sql), "DELETE FROM t WHERE id = %lld", k);
    }
    return pgh_run_sql_ok(conn, sql);
}

static pid_t spawn_pghost(ctx *c)
{
    return pgh_run_spawn(&c->r, "replicate", "--no-progress", "--follow", NULL);
}

/* Write a fence row into t and wait until the destination has it (pid > 0: while it runs). */
static void fence(ctx *c, pid_t pid, int value)
{
    pgh_run_fence_value(&c->r, pid, "t", -1, value, NULL);
}

static void compare(ctx *c, const char *query)
{
    pgh_run_compare(&c->p, query, NULL, NULL);
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
             c->p.src_conninfo, c->p.dst_conninfo);
    pgh_config *cfg = NULL;
    pgh_error err;
    pgh_error_clear(&err);
    PGH_CHECK(pgh_config_parse(&cfg, yaml, strlen(yaml), "capture", NULL, NULL, &err) == 0,
              "config: %s", err.message);
    bool installed = false;
    for (int i = 0; i < 2; i++) { /* idempotent */
        PGH_CHECK(pgh_admin_ddl_capture_install(&installed, c->p.s, cfg, &err) == 0, "install: %s",
                  err.message);
        PGH_CHECK(installed, "the capture was not installed");
    }
    char *n = pgh_test_value(c->p.s, "SELECT count(*) FROM pghost.ddl_shape");
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
             c->p.src_conninfo, c->p.dst_conninfo);
    pgh_config *cfg = NULL;
    pgh_error err;
    pgh_error_clear(&err);
    PGH_CHECK(pgh_config_parse(&cfg, yaml, strlen(yaml), "capture", NULL, NULL, &err) == 0,
              "config: %s", err.message);
    for (int i = 0; i < 2; i++)
        PGH_CHECK(pgh_admin_ddl_capture_remove(c->p.s, cfg, &err) == 0, "remove: %s", err.message);
    pgh_config_free(cfg);
    char *n = pgh_test_value(c->p.s, "SELECT (SELECT count(*) FROM pg_event_trigger) + (SELECT "
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
    pgh_run_wait_follow(&c->r, pid);
    /* One writer, reconnecting at once when its connection is lost, 2 ms between writes. */
    pgh_run_writers_opts wo = {.conninfo = c->p.src_conninfo,
                               .threads = 1,
                               .seed = 0,
                               .pause_ms = 2,
                               .reconnect_ms = 0,
                               .write = write_one};
    pgh_run_writers_start(&c->writers, &wo);
    for (size_t i = 0; i < sizeof(STEPS) / sizeof(STEPS[0]); i++) {
        pgh_run_sleep_ms(150); /* writes before and after each statement */
        if (strcmp(STEPS[i], "KILL") == 0) {
            pgh_run_kill(pid);
            pid = spawn_pghost(c);
            continue;
        }
        pgh_test_exec(c->p.s, "%s", STEPS[i]);
        PGH_CHECK(pgh_test_pid_alive(pid), "pghost exited after %s: %s", STEPS[i],
                  pgh_run_stderr(&c->r, 0));
    }
    pgh_run_sleep_ms(300);
    long writes = pgh_run_writers_stop(&c->writers);
    fence(c, pid, 1);
    compare(c, "SELECT * FROM t ORDER BY id");
    compare(c, "SELECT * FROM u2 ORDER BY id");
    compare(c, "SELECT * FROM new_x ORDER BY k");
    compare_shapes(c, "'t', 'u', 'u2', 'new_x', 'dropme'");
    char *n = pgh_test_value(c->p.d, "SELECT to_regclass('dropme') IS NULL AND "
                                     "to_regclass('u') IS NULL");
    PGH_CHECK(strcmp(n, "t") == 0, "dropme or u still on the destination");
    free(n);
    pgh_run_stop(&c->r, pid, STOP_WAIT_S);
    printf("writers committed %ld transactions\n", writes);
    pgh_test_exec(c->p.s, "SELECT pg_drop_replication_slot('pghost_pub')");
    remove_capture(c);
}

static void case_drift(ctx *c)
{
    pid_t pid = spawn_pghost(c);
    pgh_run_wait_follow(&c->r, pid);
    fence(c, pid, 1);
    pgh_test_exec(c->p.s, "ALTER TABLE t ADD COLUMN c int");
    pgh_test_exec(c->p.s, "BEGIN; INSERT INTO t (id, v, c) VALUES (-5, 5, 5); UPDATE t SET c = id "
                          "WHERE id %% 9 = 0; COMMIT");
    int code = pgh_run_wait(&c->r, pid, 60); /* fails the test if it does not stop */
    const char *text = pgh_run_stderr(&c->r, 0);
    PGH_CHECK(code == 1, "exit %d, expected 1: %s", code, text);
    PGH_CHECK(strstr(text, "column c (integer) is missing on the destination") != NULL,
              "the message does not name the difference: %s", text);
    printf("stopped: %s", text);
    char *n = pgh_test_value(c->p.d, "SELECT count(*) FROM t WHERE id = -5");
    PGH_CHECK(strcmp(n, "0") == 0, "part of the drifting transaction was applied");
    free(n);
    write_config(c, "schema_drift: add_columns\n");
    pid = spawn_pghost(c);
    pgh_test_exec(c->p.s, "UPDATE t SET c = -id WHERE id %% 4 = 0");
    fence(c, pid, 2);
    compare(c, "SELECT * FROM t ORDER BY id");
    compare(c, "SELECT * FROM u ORDER BY id");
    pgh_run_stop(&c->r, pid, STOP_WAIT_S);
    pgh_test_exec(c->p.s, "SELECT pg_drop_replication_slot('pghost_pub')");
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
    pgh_run_pair_stop(&c.p);
    return 0;
}
