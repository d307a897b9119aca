/*
 * copy_method: watermarks into PostgreSQL, through the real binary: the existing rows come in
 * watermarked chunks with the changes (table_begin empties, table_rows upserts by key) while
 * writers insert, update (TOAST left unchanged and rewritten), delete and move keys in t, and
 * a TRUNCATE empties u while its rows are delivered; then --follow. Consistency is a full
 * ordered dump comparison of source and destination (every column, the TOASTed one included)
 * after a fence write arrived.
 *
 * Cases (one ctest entry each):
 *   concurrent  one run, writers throughout the delivery and after, fence, compare, SIGTERM.
 *   oneshot     no --follow, no writers: exit 0 at the checkpoint after the rows, both tables
 *               equal, the slot and the destination's record gone (the next run starts afresh).
 *   kill9       the same without the TRUNCATE, with 3 SIGKILLs of pghost: two while the rows
 *               are being delivered, one while following; re-run each time; the dump proves
 *               exactly once (a repeated v = v + 1 or a lost insert would show).
 *
 * Usage: it_watermarks concurrent|oneshot|kill9
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgh_run.h"

#define ROWS 40000
#define TOAST_EVERY 40 /* rows with a TOASTed value (about 10 kB of md5 text, out of line) */

typedef struct ctx {
    pgh_run_pair p;
    pgh_run r;
    pgh_run_writers writers;
} ctx;

static const char *const DDL =
    "CREATE TABLE t (id bigint PRIMARY KEY, v int NOT NULL, note text, big text);"
    "CREATE TABLE u (id int PRIMARY KEY, v int NOT NULL)";

/* chunk: copy_batch_size, rows per chunk (small: many chunks, kills land between them). */
static void setup(ctx *c, int chunk)
{
    pgh_run_pair_start(&c->p, NULL, NULL);
    pgh_test_exec(c->p.s, "%s", DDL);
    pgh_test_exec(c->p.d, "%s", DDL);
    pgh_test_exec(c->p.s,
                  "ALTER TABLE t ALTER big SET STORAGE EXTERNAL;"
                  "INSERT INTO t SELECT g, 0, md5(g::text), CASE WHEN g %% %d = 0 THEN "
                  "(SELECT string_agg(md5(g::text || i), '') FROM generate_series(1, 300) i) END "
                  "FROM generate_series(1, %d) g;"
                  "INSERT INTO u SELECT g, g FROM generate_series(1, 20000) g;"
                  "CREATE PUBLICATION pub FOR TABLE t, u",
                  TOAST_EVERY, ROWS);
    pgh_run_init(&c->r, &c->p, PGH_BINARY, "run", "wm.yaml");
    pgh_run_write_config(&c->r,
                         "source_connection: %s\ndestination_connection: %s\n"
                         "publication_name: pub\ntables: [public.t, public.u]\n"
                         "copy_method: watermarks\n"
                         "copy_batch_size: %d\ncopy_worker_count: 2\nbatch_size: 300\n",
                         c->p.src_conninfo, c->p.dst_conninfo, chunk);
}

/* One random write, its own transaction: inserts, updates leaving big unchanged (TOAST 'u' in
 * the stream), updates rewriting it, deletes, key moves (big unchanged too). */
static bool write_one(PGconn *conn, pgh_run_writer *w, void *payload)
{
    (void)payload;
    uint64_t r = pgh_run_random(&w->rng);
    long long k = (long long)(r % (ROWS + 10000)) + 1;
    char sql[384];
    switch (r % 6) {
    case 0:
        snprintf(sql, sizeof(sql),
                 "INSERT INTO t VALUES (%lld, 1, 'i', repeat(md5('%lld'), 200)) "
                 "ON CONFLICT DO NOTHING",
                 k + ROWS, k);
        break;
    case 1:
    case 2:
        snprintf(sql, sizeof(sql), "UPDATE t SET v = v + 1 WHERE id = %lld", k);
        break;
    case 3:
        snprintf(sql, sizeof(sql),
                 "UPDATE t SET big = md5(big) || repeat(md5(v::text), 250) WHERE id = %lld", k);
        break;
    case 4:
        snprintf(sql, sizeof(sql), "DELETE FROM t WHERE id = %lld", k);
        break;
    default:
        snprintf(sql, sizeof(sql), "UPDATE t SET id = id + 1000000, v = v + 1 WHERE id = %lld", k);
    }
    return pgh_run_sql_ok(conn, sql);
}

static void start_writers(ctx *c)
{
    pgh_run_writers_opts o = {.conninfo = c->p.src_conninfo,
                              .threads = 2,
                              .seed = 7,
                              .pause_ms = 1,
                              .reconnect_ms = 100,
                              .write = write_one};
    pgh_run_writers_start(&c->writers, &o);
}

static pid_t spawn(ctx *c)
{
    return pgh_run_spawn(&c->r, "replicate", "--no-progress", "--follow", NULL);
}

/* Poll until the destination records phase (5 ms steps, at most 60 s). */
static void wait_phase(ctx *c, pid_t pid, const char *phase)
{
    for (int i = 0; i < 12000; i++) {
        char *now = pgh_run_phase(&c->p);
        bool there = strcmp(now, phase) == 0;
        free(now);
        if (there)
            return;
        PGH_CHECK(pgh_test_pid_alive(pid), "pghost exited waiting for phase %s: %s", phase,
                  pgh_run_stderr(&c->r, 0));
        pgh_run_sleep_ms(5);
    }
    pgh_test_fail("waited too long for phase %s", phase);
}

/* Rows of a table on the destination (progress of the delivery; never a consistency check). */
static long long dest_rows(ctx *c, const char *table)
{
    char *v = pgh_test_value(c->p.d, "SELECT count(*) FROM %s", table);
    long long n = atoll(v);
    free(v);
    return n;
}

/* A TRUNCATE of u once some of its rows are there (its delivery under way, or t's: u's
 * begins when a worker is free), then some rows again. */
static void truncate_and_refill(ctx *c, pid_t pid)
{
    for (int i = 0; i < 4000 && dest_rows(c, "u") < 500; i++) {
        PGH_CHECK(pgh_test_pid_alive(pid), "pghost exited: %s", pgh_run_stderr(&c->r, 0));
        pgh_run_sleep_ms(2);
    }
    printf("TRUNCATE u with %lld of its rows on the destination\n", dest_rows(c, "u"));
    pgh_test_exec(c->p.s, "TRUNCATE u; INSERT INTO u SELECT g, -g FROM generate_series(1, 20000, "
                          "3) g");
}

static void fence_and_compare(ctx *c, pid_t pid)
{
    long writes = pgh_run_writers_stop(&c->writers);
    printf("writers committed %ld transactions\n", writes);
    /* the watermark path, not the parallel copy (run 1 may have been killed before it began) */
    bool chunks = false;
    for (int n = 1; n <= c->r.n && !chunks; n++)
        chunks = strstr(pgh_run_stderr(&c->r, n), "delivering the existing rows of public.t");
    PGH_CHECK(chunks, "no run delivered watermarked rows: %s", pgh_run_stderr(&c->r, 1));
    pgh_run_fence_value(&c->r, pid, "t", -1, 1, "fence");
    pgh_run_compare(&c->p, "SELECT * FROM t ORDER BY id", NULL, pgh_run_stderr(&c->r, 0));
    pgh_run_compare(&c->p, "SELECT * FROM u ORDER BY id", NULL, pgh_run_stderr(&c->r, 0));
}

static void case_concurrent(ctx *c)
{
    start_writers(c);
    pid_t pid = spawn(c);
    truncate_and_refill(c, pid);
    pgh_run_wait_follow(&c->r, pid);
    pgh_run_sleep_ms(1000); /* following, writers on */
    fence_and_compare(c, pid);
    pgh_run_stop(&c->r, pid, 5);
}

/* Poll until the destination's t holds more than above rows (5 ms steps, at most 60 s). */
static void wait_rows(ctx *c, pid_t pid, long long above)
{
    for (int i = 0; i < 12000 && dest_rows(c, "t") <= above; i++) {
        PGH_CHECK(pgh_test_pid_alive(pid), "pghost exited waiting for rows: %s",
                  pgh_run_stderr(&c->r, 0));
        pgh_run_sleep_ms(5);
    }
}

static void case_oneshot(ctx *c)
{
    int code = pgh_run_exec(&c->r, 120, "replicate", "--no-progress", NULL);
    PGH_CHECK(code == 0, "exit %d: %s", code, pgh_run_stderr(&c->r, 0));
    pgh_run_compare(&c->p, "SELECT * FROM t ORDER BY id", NULL, pgh_run_stderr(&c->r, 0));
    pgh_run_compare(&c->p, "SELECT * FROM u ORDER BY id", NULL, pgh_run_stderr(&c->r, 0));
    char *phase = pgh_run_phase(&c->p);
    char *slots = pgh_test_value(c->p.s, "SELECT count(*) FROM pg_replication_slots");
    PGH_CHECK(strcmp(phase, "none") == 0 && strcmp(slots, "0") == 0,
              "after a one-shot run: phase %s, %s slots", phase, slots);
    free(phase);
    free(slots);
}

static void case_kill9(ctx *c)
{
    start_writers(c);
    pid_t pid = spawn(c);
    long long before = 0;
    for (int i = 0; i < 2; i++) { /* while the existing rows are being delivered */
        wait_phase(c, pid, "snapshot");
        wait_rows(c, pid, before); /* this run has committed rows of its own */
        pgh_run_sleep_ms(50 + 100 * i);
        before = dest_rows(c, "t");
        char *phase = pgh_run_phase(&c->p);
        printf("kill %d in phase %s with %lld rows on the destination, delivery %s\n", i + 1, phase,
               before,
               strstr(pgh_run_stderr(&c->r, 0), "existing rows of public.t delivered")
                   ? "complete"
                   : "under way");
        free(phase);
        pgh_run_kill(pid);
        pid = spawn(c);
    }
    pgh_run_wait_follow(&c->r, pid);
    pgh_run_sleep_ms(500);
    pgh_run_kill(pid); /* following */
    pid = spawn(c);
    pgh_run_wait_follow(&c->r, pid);
    pgh_run_sleep_ms(500);
    fence_and_compare(c, pid);
    pgh_run_stop(&c->r, pid, 5);
}

int main(int argc, char **argv)
{
    if (argc != 2)
        pgh_test_fail("usage: it_watermarks concurrent|oneshot|kill9");
    ctx c = {0};
    int chunk = strcmp(argv[1], "oneshot") == 0 ? 5000 : strcmp(argv[1], "kill9") == 0 ? 1000 : 500;
    setup(&c, chunk);
    if (strcmp(argv[1], "concurrent") == 0)
        case_concurrent(&c);
    else if (strcmp(argv[1], "oneshot") == 0)
        case_oneshot(&c);
    else if (strcmp(argv[1], "kill9") == 0)
        case_kill9(&c);
    else
        pgh_test_fail("unknown case %s", argv[1]);
    pgh_run_pair_stop(&c.p);
    printf("ok\n");
    return 0;
}
