/*
 * Tables without any key (REPLICA IDENTITY FULL, no primary key nor unique index on NOT NULL
 * columns), through the real binary (issue 10, item 5; docs/sync.md "Tables without a key"):
 *
 *   follow   table w holds identical twins (every row four times) and a TOAST column (stored
 *            out of line); writers insert (twins of existing rows too), update and delete one
 *            twin or all of them, rewrite the TOAST value or leave it unchanged, during the copy
 *            and while following; --create-tables creates w without a key. Full dumps of both
 *            sides ordered by every column are compared after each fence, then after a stop;
 *            verify finds w equal as a whole, then different once a row of the destination is
 *            traded for a twin of another.
 *   kill     the same writers; pghost is killed (SIGKILL) after its copy, before its catch-up
 *            (held by --before-checkpoint), then twice while following, and started again each
 *            time: the dumps are still equal. Its destination w has an index (not unique) of
 *            its own, which the row lookups may use.
 *   truncate a TRUNCATE of a table without a key while another one is copied waits for the
 *            copy (which holds every such table's lock from its start), so that the copy of the
 *            truncated one still sees its rows as of the slot's start.
 *   refused  what cannot be done is refused before a slot exists: a keyless table with a json
 *            column (no equality), --to stdout, copy_method: watermarks; and a resumed copy,
 *            after which teardown and a new run (of w alone, one-shot) end equal.
 *
 * Column c of w is of a composite type: NULL and a pair of NULLs (which IS NULL too) must not
 * be taken for each other. Table t (primary key id) rides along: the fences go through it, and its
 * changes share transactions with w's.
 *
 * Usage: it_keyless_full CASE
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgh_run.h"

#define ROWS 12000 /* rows of w at the start: 3000 distinct ones, four of each */
#define DISTINCT 3000

typedef struct ctx {
    pgh_run_pair p;
    pgh_run r;
    pgh_run_writers writers;
} ctx;

static const char W_DUMP[] = "SELECT a, b, md5(big), length(big), n, c, c IS NULL FROM w "
                             "ORDER BY a, b, big, n, c, c IS NULL";
static const char T_DUMP[] = "SELECT * FROM t ORDER BY id";

static void write_config(ctx *c, const char *extra)
{
    pgh_run_write_config(&c->r,
                         "source_connection: %s\ndestination_connection: %s\npublication_name: "
                         "pub\ntables:\n  - public.w\n  - public.t\ncopy_batch_size: 500\n"
                         "copy_worker_count: 2\n%s",
                         c->p.src_conninfo, c->p.dst_conninfo, extra ? extra : "");
}

/* w: a, b and n repeat every DISTINCT rows, big (out of line, over 2 kB) every tenth of them;
 * of the four rows of each a, c is a pair of NULLs in the first (in physical order too), NULL
 * in the second, the same pair in the other two (identical twins). */
static void setup(ctx *c)
{
    pgh_run_pair_start(&c->p, NULL, NULL);
    pgh_test_exec(c->p.s,
                  "CREATE TYPE pair AS (x int, y text);"
                  "CREATE TABLE w (a int, b text, big text, n numeric, c pair);"
                  "ALTER TABLE w ALTER big SET STORAGE EXTERNAL;"
                  "ALTER TABLE w REPLICA IDENTITY FULL;"
                  "INSERT INTO w SELECT g %% %d, 'b' || (g %% 3), "
                  "  CASE WHEN g %% 10 = 0 THEN repeat(md5((g %% 30)::text), 100) END, "
                  "  CASE WHEN g %% 7 = 0 THEN NULL ELSE (g %% %d) / 10.0 END, "
                  "  CASE (g / %d) %% 4 WHEN 0 THEN ROW(NULL, NULL)::pair WHEN 1 THEN NULL "
                  "    ELSE ROW(g %% 3, 'y')::pair END "
                  "  FROM generate_series(1, %d) g;"
                  "CREATE TABLE t (id int PRIMARY KEY, v int, note text);"
                  "INSERT INTO t SELECT g, g, 'n' FROM generate_series(1, 2000) g;"
                  "CREATE PUBLICATION pub FOR TABLE w, t",
                  DISTINCT, DISTINCT, DISTINCT, ROWS);
    pgh_run_init(&c->r, &c->p, PGH_BINARY, "run", "keyless_full.yaml");
    write_config(c, NULL);
}

/* One random write in its own transaction. Rows are picked by a, which four or more rows
 * share; "one twin" is picked by ctid. */
static bool write_one(PGconn *conn, pgh_run_writer *w, void *payload)
{
    (void)payload;
    uint64_t r = pgh_run_random(&w->rng);
    int a = (int)((r >> 8) % (DISTINCT + 200));
    char where[160], sql[512];
    /* one row of those with this a; every other time the one whose c is NULL, after a row
     * whose c is a pair of NULLs (IS NULL too) */
    snprintf(where, sizeof(where), "ctid = (SELECT ctid FROM w WHERE a = %d%s LIMIT 1)", a,
             (r >> 40) % 2 ? " AND c IS NOT DISTINCT FROM NULL" : "");
    switch (r % 12) {
    case 0: /* a twin of an existing row, TOAST value included */
        snprintf(sql, sizeof(sql), "INSERT INTO w SELECT * FROM w WHERE %s", where);
        break;
    case 1:
        snprintf(sql, sizeof(sql), "INSERT INTO w VALUES (%d, 'new', NULL, %d)", a, a);
        break;
    case 2: /* one twin, big unchanged (sent as unchanged TOAST) */
        snprintf(sql, sizeof(sql), "UPDATE w SET b = b || 'u' WHERE %s", where);
        break;
    case 3:
        snprintf(sql, sizeof(sql), "DELETE FROM w WHERE %s", where);
        break;
    case 4: /* every twin */
        snprintf(sql, sizeof(sql), "UPDATE w SET n = coalesce(n, 0) + 1 WHERE a = %d", a);
        break;
    case 5:
        snprintf(sql, sizeof(sql), "DELETE FROM w WHERE a = %d", a);
        break;
    case 6: /* a new TOAST value for one twin */
        snprintf(sql, sizeof(sql), "UPDATE w SET big = repeat(md5(random()::text), 80) WHERE %s",
                 where);
        break;
    case 7: /* NULLs matched too; c is NULL, or a pair of NULLs (not NULL), or a pair */
        snprintf(sql, sizeof(sql), "UPDATE w SET n = NULL, big = NULL, c = %s WHERE %s",
                 r % 3 == 0   ? "NULL"
                 : r % 3 == 1 ? "ROW(NULL, NULL)"
                              : "ROW(1, 'z')",
                 where);
        break;
    case 8: /* several changes to twins in one transaction, with t */
        snprintf(sql, sizeof(sql),
                 "BEGIN; UPDATE w SET a = a + 1 WHERE %s; DELETE FROM w WHERE %s; "
                 "UPDATE t SET v = v + 1 WHERE id = %d; COMMIT",
                 where, where, a % 2000 + 1);
        break;
    case 9:
        snprintf(sql, sizeof(sql), "UPDATE t SET v = v + 1, note = 'u' WHERE id = %d",
                 a % 2000 + 1);
        break;
    case 10:
        snprintf(sql, sizeof(sql), "DELETE FROM t WHERE id = %d", a % 2000 + 1);
        break;
    default:
        snprintf(sql, sizeof(sql), "INSERT INTO t VALUES (%d, 1, 'i') ON CONFLICT DO NOTHING",
                 a % 2000 + 1);
    }
    return pgh_run_sql_ok(conn, sql);
}

static void start_writers(ctx *c, unsigned seed)
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
    pgh_run_compare(&c->p, W_DUMP, NULL, pgh_run_stderr(&c->r, 0));
    pgh_run_compare(&c->p, T_DUMP, NULL, pgh_run_stderr(&c->r, 0));
}

/* The twins are still there: some row of w exists more than once. */
static void check_twins(ctx *c)
{
    char *twins = pgh_test_value(c->p.d, "SELECT count(*) FROM (SELECT 1 FROM w GROUP BY a, b, "
                                         "big, n HAVING count(*) > 1) x");
    PGH_CHECK(atol(twins) > 100, "only %s rows of w have a twin on the destination", twins);
    free(twins);
}

static void case_follow(ctx *c)
{
    setup(c);
    start_writers(c, 11);
    pid_t pid =
        pgh_run_spawn(&c->r, "replicate", "--no-progress", "--follow", "--create-tables", NULL);
    pgh_run_wait_follow(&c->r, pid);
    pgh_run_sleep_ms(1000);
    long during = pgh_run_writers_stop(&c->writers);
    fence_and_compare(c, pid, 1);
    start_writers(c, 12);
    pgh_run_sleep_ms(1500);
    long after = pgh_run_writers_stop(&c->writers);
    fence_and_compare(c, pid, 2);
    pgh_run_stop(&c->r, pid, 10);
    pgh_run_compare(&c->p, W_DUMP, NULL, NULL);
    check_twins(c);
    const char *err = pgh_run_stderr(&c->r, 1);
    PGH_CHECK(strstr(err, "public.w has no key: it is copied whole in one transaction") != NULL,
              "no warning about the copy's xmin: %s", err);
    char *key = pgh_test_value(c->p.d, "SELECT count(*) FROM pg_index WHERE indrelid = "
                                       "'w'::regclass");
    PGH_CHECK(strcmp(key, "0") == 0, "--create-tables gave w %s index(es)", key);
    free(key);
    /* verify compares w whole (count and hash sums of its rows: a multiset), t by key */
    int code = pgh_run_exec(&c->r, 60, "verify", NULL);
    const char *out = pgh_run_stdout(&c->r, 0);
    PGH_CHECK(code == 0 && strstr(out, "public.w -> public.w: equal") &&
                  strstr(out, "no key: compared as a whole"),
              "verify: exit code %d: %s%s", code, out, pgh_run_stderr(&c->r, 0));
    /* one twin more and another row less: the same count, other rows */
    pgh_test_exec(c->p.d, "INSERT INTO w SELECT * FROM w WHERE a = 5 LIMIT 1;"
                          "DELETE FROM w WHERE ctid = (SELECT ctid FROM w WHERE a = 6 LIMIT 1)");
    code = pgh_run_exec(&c->r, 60, "verify", "--json", NULL);
    out = pgh_run_stdout(&c->r, 0);
    PGH_CHECK(code == 1 && strstr(out, "\"keyless\":true") && strstr(out, "\"equal\":false"),
              "verify after a swap of rows: exit code %d: %s%s", code, out,
              pgh_run_stderr(&c->r, 0));
    PGH_CHECK(during > 100 && after > 100, "writers committed too little: %ld, %ld", during, after);
    printf("writers committed %ld during the copy, %ld after\n", during, after);
}

static void case_kill(ctx *c)
{
    setup(c);
    /* an index of its own on the destination serves the row lookups */
    pgh_test_exec(c->p.d, "CREATE TYPE pair AS (x int, y text);"
                          "CREATE TABLE w (a int, b text, big text, n numeric, c pair);"
                          "CREATE INDEX w_a ON w (a);"
                          "CREATE TABLE t (id int PRIMARY KEY, v int, note text)");
    start_writers(c, 21);
    /* killed after its copy, before the catch-up (held in the before-checkpoint hook): the
     * next run replays the slot from its start onto the copy */
    pid_t pid = pgh_run_spawn(&c->r, "replicate", "--no-progress", "--follow",
                              "--before-checkpoint=sleep 5", NULL);
    bool held = false;
    for (int i = 0; i < 300 && !held; i++) {
        char *phase = pgh_run_phase(&c->p);
        held = strcmp(phase, "catchup") == 0;
        free(phase);
        PGH_CHECK(pgh_test_pid_alive(pid), "pghost exited: %s", pgh_run_stderr(&c->r, 0));
        pgh_run_sleep_ms(held ? 1000 : 50);
    }
    PGH_CHECK(held, "the run never reached its catch-up");
    pgh_run_kill(pid);
    pid = pgh_run_spawn(&c->r, "replicate", "--no-progress", "--follow", NULL);
    pgh_run_wait_follow(&c->r, pid);
    for (int round = 0; round < 2; round++) {
        pgh_run_sleep_ms(700);
        pgh_run_kill(pid);
        pgh_run_sleep_ms(300);
        pid = pgh_run_spawn(&c->r, "replicate", "--no-progress", "--follow", NULL);
        pgh_run_wait_follow(&c->r, pid);
    }
    pgh_run_sleep_ms(700);
    long n = pgh_run_writers_stop(&c->writers);
    fence_and_compare(c, pid, 1);
    pgh_run_stop(&c->r, pid, 10);
    check_twins(c);
    PGH_CHECK(n > 100, "writers committed too little: %ld", n);
    printf("writers committed %ld across three kills\n", n);
}

/* Run replicate with args: exit 3 with expect in its stderr, no slot on the source. */
static void expect_refused(ctx *c, const char *expect, const char *arg)
{
    int code = pgh_run_exec(&c->r, 60, "replicate", "--no-progress", arg, NULL);
    const char *err = pgh_run_stderr(&c->r, 0);
    PGH_CHECK(code == 3, "exit code %d, expected 3: %s", code, err);
    PGH_CHECK(strstr(err, expect) != NULL, "expected \"%s\" in: %s", expect, err);
    char *slots = pgh_test_value(c->p.s, "SELECT count(*) FROM pg_replication_slots");
    PGH_CHECK(strcmp(slots, "0") == 0, "%s slot(s) left on the source", slots);
    free(slots);
    printf("refused: %s", err);
}

static void case_refused(ctx *c)
{
    setup(c);
    pgh_test_exec(c->p.d, "CREATE TYPE pair AS (x int, y text);"
                          "CREATE TABLE w (a int, b text, big text, n numeric, c pair);"
                          "CREATE TABLE t (id int PRIMARY KEY, v int, note text)");
    int code = pgh_run_exec(&c->r, 60, "check", NULL);
    PGH_CHECK(code == 0, "check: exit code %d: %s%s", code, pgh_run_stdout(&c->r, 0),
              pgh_run_stderr(&c->r, 0));
    write_config(c, "copy_method: watermarks\n");
    expect_refused(c, "only copy_method: parallel copies a table without a key", NULL);
    write_config(c, NULL);
    expect_refused(c, "only the postgres destination copies a table without a key", "--to=stdout");
    /* the destination has a key the source lacks */
    pgh_test_exec(c->p.d, "ALTER TABLE w ADD COLUMN id serial PRIMARY KEY");
    expect_refused(c, "destination table public.w has a key but source table public.w has none",
                   NULL);
    pgh_test_exec(c->p.d, "ALTER TABLE w DROP COLUMN id");
    /* a column without equality */
    pgh_test_exec(c->p.s, "ALTER TABLE w ADD COLUMN j json");
    pgh_test_exec(c->p.d, "ALTER TABLE w ADD COLUMN j json");
    expect_refused(c, "column j holds type json, which has no equality", NULL);
    pgh_test_exec(c->p.s, "ALTER TABLE w DROP COLUMN j");
    pgh_test_exec(c->p.d, "ALTER TABLE w DROP COLUMN j");
    /* An interrupted copy cannot resume: a --follow run killed in its copy, then the same
     * command. w is made big enough to be copied for a while; once the slot exists t is locked
     * (copied after w, it then waits for the lock). */
    pgh_test_exec(c->p.s, "INSERT INTO w SELECT g, 'x', NULL, g FROM generate_series(1, 400000) g");
    PGconn *lock = pgh_test_connect(&c->p.src, "postgres");
    pid_t pid = pgh_run_spawn(&c->r, "replicate", "--no-progress", "--follow", NULL);
    PGH_CHECK(pgh_run_poll(&c->r, pid, c->p.s, 3000, 10,
                           "SELECT EXISTS (SELECT 1 FROM pg_replication_slots)"),
              "no slot was created");
    pgh_test_exec(lock, "BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE");
    PGH_CHECK(pgh_run_poll(&c->r, pid, c->p.s, 300, 100,
                           "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE wait_event_type "
                           "= 'Lock' AND application_name LIKE 'pghost%%')"),
              "the copy never waited for the lock on t");
    pgh_run_kill(pid);
    PQfinish(lock);
    code = pgh_run_exec(&c->r, 60, "replicate", "--no-progress", "--follow", NULL);
    const char *err = pgh_run_stderr(&c->r, 0);
    PGH_CHECK(code == 3 && strstr(err, "has no key: its copy ran in the slot's snapshot") &&
                  strstr(err, "pghost teardown"),
              "resumed copy: exit code %d: %s", code, err);
    printf("resume refused: %s", err);
    code = pgh_run_exec(&c->r, 60, "teardown", "--force", NULL);
    PGH_CHECK(code == 0, "teardown: exit code %d: %s", code, pgh_run_stderr(&c->r, 0));
    /* the fix it gives works: start over, here without --follow and with w alone (no table
     * with a key: no batched copy at all) */
    pgh_run_write_config(&c->r,
                         "source_connection: %s\ndestination_connection: %s\npublication_name: "
                         "pub\ntables:\n  - public.w\n",
                         c->p.src_conninfo, c->p.dst_conninfo);
    code = pgh_run_exec(&c->r, 120, "replicate", "--no-progress", "--truncate-destination", NULL);
    PGH_CHECK(code == 0, "starting over: exit code %d: %s", code, pgh_run_stderr(&c->r, 0));
    pgh_run_compare(&c->p, W_DUMP, NULL, NULL);
}

/* Tables without a key are copied one after the other in one transaction. A TRUNCATE of a
 * later one committed while an earlier one is copied would show the later one empty to the
 * snapshot (TRUNCATE is not MVCC-safe): the copy locks them all at its start, so the TRUNCATE
 * waits for it. w is big enough to be copied for a while; w2, copied after it, is changed and
 * then truncated meanwhile. */
static void case_truncate(ctx *c)
{
    setup(c);
    pgh_test_exec(c->p.s, "INSERT INTO w SELECT g, 'x', NULL, g FROM generate_series(1, 400000) g;"
                          "CREATE TABLE w2 (a int, b text); ALTER TABLE w2 REPLICA IDENTITY FULL;"
                          "INSERT INTO w2 SELECT g %% 10, 'x' FROM generate_series(1, 100) g;"
                          "ALTER PUBLICATION pub ADD TABLE w2");
    pgh_run_write_config(&c->r,
                         "source_connection: %s\ndestination_connection: %s\npublication_name: "
                         "pub\ntables:\n  - public.w\n  - public.w2\n  - public.t\n",
                         c->p.src_conninfo, c->p.dst_conninfo);
    pid_t pid =
        pgh_run_spawn(&c->r, "replicate", "--no-progress", "--follow", "--create-tables", NULL);
    PGH_CHECK(pgh_run_poll(&c->r, pid, c->p.s, 3000, 10,
                           "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE query LIKE "
                           "'COPY (SELECT %%\"public\".\"w\") TO STDOUT')"),
              "the copy of w was not seen");
    pgh_test_exec(c->p.s, "UPDATE w2 SET b = 'u' WHERE a = 1");
    double t0 = pgh_run_now_ms();
    pgh_test_exec(c->p.s, "TRUNCATE w2"); /* waits for the copy */
    double waited = pgh_run_now_ms() - t0;
    pgh_test_exec(c->p.s, "INSERT INTO w2 VALUES (1, 'after')");
    pgh_run_wait_follow(&c->r, pid);
    fence_and_compare(c, pid, 1);
    pgh_run_compare(&c->p, "SELECT * FROM w2 ORDER BY a, b", NULL, pgh_run_stderr(&c->r, 0));
    pgh_run_stop(&c->r, pid, 10);
    printf("the TRUNCATE of w2 waited %.0f ms for the copy\n", waited);
}

int main(int argc, char **argv)
{
    PGH_CHECK(argc == 2, "usage: it_keyless_full CASE");
    ctx c;
    memset(&c, 0, sizeof(c));
    if (strcmp(argv[1], "follow") == 0)
        case_follow(&c);
    else if (strcmp(argv[1], "kill") == 0)
        case_kill(&c);
    else if (strcmp(argv[1], "truncate") == 0)
        case_truncate(&c);
    else if (strcmp(argv[1], "refused") == 0)
        case_refused(&c);
    else
        pgh_test_fail("unknown case %s", argv[1]);
    pgh_run_pair_stop(&c.p);
    puts("PASS");
    return 0;
}
