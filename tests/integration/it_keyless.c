/*
 * Tables without a primary key, through the real binary (issue 10, item 5):
 *
 *   using_index  REPLICA IDENTITY USING INDEX: the index's columns are the key. Table t (unique
 *                index on id, no primary key) is created by --create-tables (which must give it
 *                the same unique index as its replica identity); table u (unique index on two
 *                columns) exists on the destination with a unique constraint only; table f has
 *                REPLICA IDENTITY FULL and a unique index on a NOT NULL column, its key. Writers
 *                insert, update, delete and change keys during the copy and while following;
 *                full ordered dumps are compared after a fence.
 *   stdout       --to stdout of a USING INDEX table: the existing rows, then a key change
 *                named by the index's columns.
 *   refused      no primary key and REPLICA IDENTITY DEFAULT or NOTHING, or FULL (with no usable
 *                unique index) and a column without equality: exit 3 with the fix, before any slot exists or anything is
 *                written on the destination. A destination without the source's key index is
 *                refused the same way.
 *
 * Usage: it_keyless CASE
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgh_run.h"

typedef struct ctx {
    pgh_run_pair p;
    pgh_run r;
    pgh_run_writers writers;
} ctx;

static void write_config(ctx *c, const char *tables)
{
    pgh_run_write_config(&c->r,
                         "source_connection: %s\ndestination_connection: %s\npublication_name: "
                         "pub\ntables:\n%scopy_batch_size: 500\ncopy_worker_count: 2\n",
                         c->p.src_conninfo, c->p.dst_conninfo, tables);
}

/* ---- using_index -------------------------------------------------------------------------- */

static const char T_DDL[] = "CREATE TABLE t (id bigint NOT NULL, v int NOT NULL, note text)";
static const char U_DDL[] = "CREATE TABLE u (a int NOT NULL, b text NOT NULL, v int, w text)";
static const char F_DDL[] = "CREATE TABLE f (id int NOT NULL, grp int, w text)";

static void setup_using_index(ctx *c)
{
    pgh_run_pair_start(&c->p, NULL, NULL);
    pgh_test_exec(c->p.s, "%s", T_DDL);
    pgh_test_exec(c->p.s, "%s", U_DDL);
    pgh_test_exec(c->p.s, "%s", F_DDL);
    pgh_test_exec(c->p.s,
                  "CREATE UNIQUE INDEX t_id_key ON t (id);"
                  "ALTER TABLE t REPLICA IDENTITY USING INDEX t_id_key;"
                  "CREATE UNIQUE INDEX t_v_note ON t (v, note);" /* nullable: never the key */
                  "ALTER TABLE u ADD CONSTRAINT u_ab UNIQUE (a, b);"
                  "ALTER TABLE u REPLICA IDENTITY USING INDEX u_ab;"
                  "INSERT INTO t SELECT g, g, md5(g::text) FROM generate_series(1, 20000) g;"
                  "INSERT INTO u SELECT g %% 100, 'b' || (g / 100), g, repeat('x', g %% 50) "
                  "  FROM generate_series(1, 10000) g;"
                  "CREATE UNIQUE INDEX f_id ON f (id); ALTER TABLE f REPLICA IDENTITY FULL;"
                  "INSERT INTO f SELECT g, g %% 7, CASE WHEN g %% 3 = 0 THEN NULL ELSE 'w' END "
                  "  FROM generate_series(1, 5000) g;"
                  "CREATE PUBLICATION pub FOR TABLE t, u, f");
    /* u on the destination: the same columns, a unique constraint, replica identity DEFAULT */
    pgh_test_exec(c->p.d, "%s; ALTER TABLE u ADD UNIQUE (a, b)", U_DDL);
    pgh_run_init(&c->r, &c->p, PGH_BINARY, "run", "keyless.yaml");
    write_config(c, "  - public.t\n  - public.u\n  - public.f\n");
}

/* One random single-row write in its own transaction: inserts, updates, deletes and key
 * changes on t and u; collisions fail and are part of the mix. */
static bool write_one(PGconn *conn, pgh_run_writer *w, void *payload)
{
    (void)payload;
    uint64_t r = pgh_run_random(&w->rng);
    long long k = (long long)(r % 30000) + 1;
    int a = (int)(r % 100);
    int b = (int)((r / 100) % 120);
    char sql[256];
    switch (r % 11) {
    case 0:
        snprintf(sql, sizeof(sql), "INSERT INTO t VALUES (%lld, 1, 'i') ON CONFLICT DO NOTHING",
                 k + 20000);
        break;
    case 1:
        snprintf(sql, sizeof(sql), "UPDATE t SET v = v + 1, note = NULL WHERE id = %lld", k);
        break;
    case 2:
        snprintf(sql, sizeof(sql), "DELETE FROM t WHERE id = %lld", k);
        break;
    case 3:
        snprintf(sql, sizeof(sql), "UPDATE t SET id = id + 100000 WHERE id = %lld", k);
        break;
    case 4:
        snprintf(sql, sizeof(sql),
                 "INSERT INTO u VALUES (%d, 'b%d', 1, 'i') ON CONFLICT DO NOTHING", a, b);
        break;
    case 5:
        snprintf(sql, sizeof(sql), "UPDATE u SET v = v + 1 WHERE a = %d AND b = 'b%d'", a, b);
        break;
    case 6:
        snprintf(sql, sizeof(sql), "DELETE FROM u WHERE a = %d AND b = 'b%d'", a, b);
        break;
    case 7:
        snprintf(sql, sizeof(sql), "UPDATE u SET b = b || 'm', w = NULL WHERE a = %d AND b = 'b%d'",
                 a, b);
        break;
    case 8:
        snprintf(sql, sizeof(sql), "UPDATE f SET grp = NULL, w = 'u' WHERE id = %lld", k % 6000);
        break;
    case 9:
        snprintf(sql, sizeof(sql), "DELETE FROM f WHERE id = %lld", k % 6000);
        break;
    default:
        snprintf(sql, sizeof(sql), "UPDATE f SET id = id + 7000 WHERE id = %lld", k % 6000);
    }
    return pgh_run_sql_ok(conn, sql);
}

static void start_writer(ctx *c, unsigned seed)
{
    pgh_run_writers_opts o = {.conninfo = c->p.src_conninfo,
                              .threads = 2,
                              .seed = seed,
                              .pause_ms = 1,
                              .reconnect_ms = 100,
                              .write = write_one};
    pgh_run_writers_start(&c->writers, &o);
}

static void fence_and_compare(ctx *c, pid_t pid, int fence)
{
    pgh_run_fence_value(&c->r, pid, "t", -1, fence, "fence");
    pgh_run_compare(&c->p, "SELECT * FROM t ORDER BY id", NULL, NULL);
    pgh_run_compare(&c->p, "SELECT * FROM u ORDER BY a, b", NULL, NULL);
    pgh_run_compare(&c->p, "SELECT * FROM f ORDER BY id", NULL, NULL);
}

static void case_using_index(ctx *c)
{
    setup_using_index(c);
    start_writer(c, 7);
    pid_t pid =
        pgh_run_spawn(&c->r, "replicate", "--no-progress", "--follow", "--create-tables", NULL);
    pgh_run_wait_follow(&c->r, pid);
    pgh_run_sleep_ms(1500);
    long during = pgh_run_writers_stop(&c->writers);
    fence_and_compare(c, pid, 1);
    start_writer(c, 8);
    pgh_run_sleep_ms(1500);
    long after = pgh_run_writers_stop(&c->writers);
    fence_and_compare(c, pid, 2);
    pgh_run_stop(&c->r, pid, 5);
    /* verify compares by the same key (the index's columns) */
    int code = pgh_run_exec(&c->r, 120, "verify", NULL);
    PGH_CHECK(code == 0, "verify: exit code %d: %s", code, pgh_run_stderr(&c->r, 0));
    /* --create-tables gave t the source's key index, as its replica identity */
    char *ri = pgh_test_value(c->p.d, "SELECT indexrelid::regclass::text FROM pg_index "
                                      "WHERE indrelid = 't'::regclass AND indisreplident");
    PGH_CHECK(ri && strcmp(ri, "t_id_key") == 0, "destination t's replica identity index: %s",
              ri ? ri : "none");
    free(ri);
    PGH_CHECK(during > 100 && after > 100, "writers committed too little: %ld, %ld", during, after);
    printf("writers committed %ld during the copy, %ld after\n", during, after);
}

/* ---- stdout ------------------------------------------------------------------------------- */

static void wait_lines(const char *path, int want, pid_t pid)
{
    for (int i = 0; i < 600 && pgh_run_count_lines(path, NULL) < want; i++) {
        PGH_CHECK(pgh_test_pid_alive(pid), "pghost --to stdout exited early");
        pgh_run_sleep_ms(100);
    }
    PGH_CHECK(pgh_run_count_lines(path, NULL) == want, "%s has %d lines, expected %d", path,
              pgh_run_count_lines(path, NULL), want);
}

/* --to stdout: the existing rows in chunks by the index's columns, then a key change named by
 * them. */
static void case_stdout(ctx *c)
{
    pgh_run_pair_start(&c->p, NULL, NULL);
    pgh_test_exec(c->p.s, "%s", T_DDL);
    pgh_test_exec(c->p.s, "CREATE UNIQUE INDEX t_id_key ON t (id);"
                          "ALTER TABLE t REPLICA IDENTITY USING INDEX t_id_key;"
                          "INSERT INTO t SELECT g, g, 'n' FROM generate_series(1, 3000) g;"
                          "CREATE PUBLICATION pub FOR TABLE t");
    pgh_run_init(&c->r, &c->p, PGH_BINARY, "run", "keyless.yaml");
    write_config(c, "  - public.t\n");
    pid_t pid = pgh_run_spawn(&c->r, "replicate", "--no-progress", "--to=stdout", NULL);
    char out[PGH_RUN_FILE_MAX];
    snprintf(out, sizeof(out), "%s", c->r.out);
    wait_lines(out, 3002, pid); /* with snapshot_start and snapshot_end */
    pgh_test_exec(c->p.s, "UPDATE t SET id = -3 WHERE id = 3");
    wait_lines(out, 3003, pid);
    int snap = pgh_run_count_lines(out, "\"op\":\"snapshot\"");
    int moved = pgh_run_count_lines(out, "\"key\":{\"id\":-3},\"old_key\":{\"id\":3}");
    PGH_CHECK(snap == 3000 && moved == 1, "%d snapshot lines, %d key change lines in %s", snap,
              moved, out);
    pgh_run_stop(&c->r, pid, 5);
}

/* ---- refused ------------------------------------------------------------------------------ */

/* Run replicate on table (with --create-tables when create): exit 3 with expect in its stderr,
 * no slot on the source, nothing created on the destination. */
static void expect_refused(ctx *c, const char *table, bool create, const char *expect)
{
    char tables[128];
    snprintf(tables, sizeof(tables), "  - public.%s\n", table);
    write_config(c, tables);
    int code = pgh_run_exec(&c->r, 60, "replicate", "--no-progress",
                            create ? "--create-tables" : NULL, NULL);
    const char *err = pgh_run_stderr(&c->r, 0);
    PGH_CHECK(code == 3, "%s: exit code %d, expected 3: %s", table, code, err);
    PGH_CHECK(strstr(err, expect) != NULL, "%s: expected \"%s\" in: %s", table, expect, err);
    PGH_CHECK(strstr(err, "password") == NULL, "%s: a password in the output: %s", table, err);
    char *slots = pgh_test_value(c->p.s, "SELECT count(*) FROM pg_replication_slots");
    PGH_CHECK(strcmp(slots, "0") == 0, "%s: %s slot(s) left on the source", table, slots);
    free(slots);
    char *made =
        pgh_test_value(c->p.d, "SELECT count(*) FROM pg_namespace WHERE nspname = 'pghost'");
    PGH_CHECK(strcmp(made, "0") == 0, "%s: the state schema was created on the destination", table);
    free(made);
    made = pgh_test_value(c->p.d, "SELECT count(*) FROM pg_class WHERE relname IN ('kd', 'kn', "
                                  "'kf')");
    PGH_CHECK(strcmp(made, "0") == 0, "%s: a table was created on the destination", table);
    free(made);
    printf("%s refused: %s", table, err);
}

static void case_refused(ctx *c)
{
    pgh_run_pair_start(&c->p, NULL, NULL);
    pgh_test_exec(c->p.s,
                  "CREATE TABLE kd (a int, b text); INSERT INTO kd VALUES (1, 'x'), (1, 'x');"
                  "CREATE TABLE kn (a int NOT NULL, b text); CREATE UNIQUE INDEX ON kn (a);"
                  "ALTER TABLE kn REPLICA IDENTITY NOTHING;"
                  "CREATE TABLE kf (a int, b text, j json); ALTER TABLE kf REPLICA IDENTITY FULL;"
                  "CREATE UNIQUE INDEX ON kf (a);" /* a nullable column: not a key */
                  "CREATE TABLE ki (id int NOT NULL, v int); CREATE UNIQUE INDEX ki_id ON ki (id);"
                  "ALTER TABLE ki REPLICA IDENTITY USING INDEX ki_id;"
                  "CREATE PUBLICATION pub FOR TABLE kd, kn, kf, ki");
    /* ki exists on the destination without a unique index on id */
    pgh_test_exec(c->p.d, "CREATE TABLE ki (id int NOT NULL, v int)");
    pgh_run_init(&c->r, &c->p, PGH_BINARY, "run", "keyless.yaml");
    expect_refused(c, "kd", false,
                   "source table public.kd has no primary key and REPLICA IDENTITY DEFAULT");
    expect_refused(c, "kd", true, "REPLICA IDENTITY USING INDEX");
    expect_refused(c, "kn", false, "has no primary key and REPLICA IDENTITY NOTHING");
    /* without a key rows are matched on every column: json has no equality
     * (it_keyless_full.c has the keyless tables that are synced, and the other refusals) */
    expect_refused(c, "kf", false, "column j holds type json, which has no equality");
    expect_refused(c, "ki", false,
                   "destination table public.ki has no primary key nor unique "
                   "index on NOT NULL columns");
}

int main(int argc, char **argv)
{
    PGH_CHECK(argc == 2, "usage: it_keyless CASE");
    ctx c;
    memset(&c, 0, sizeof(c));
    if (strcmp(argv[1], "using_index") == 0)
        case_using_index(&c);
    else if (strcmp(argv[1], "stdout") == 0)
        case_stdout(&c);
    else if (strcmp(argv[1], "refused") == 0)
        case_refused(&c);
    else
        pgh_test_fail("unknown case %s", argv[1]);
    pgh_run_pair_stop(&c.p);
    puts("PASS");
    return 0;
}
