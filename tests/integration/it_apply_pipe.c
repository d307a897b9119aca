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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgh_run.h"

typedef struct ctx {
    pgh_run_pair p;
    pgh_run r; /* runs write <source dir>/runN.out and runN.err */
} ctx;

#define STOP_WAIT_S 10 /* SIGTERM: exit 0 within 10 s */

static void setup(ctx *c)
{
    pgh_run_pair_start(&c->p, NULL, NULL);
    const char *ddl = "CREATE TABLE t (id bigint PRIMARY KEY, v int NOT NULL, note text);"
                      "CREATE TABLE u (a text, b int, n bigint NOT NULL, PRIMARY KEY (a, b))";
    pgh_test_exec(c->p.s, "%s", ddl);
    pgh_test_exec(c->p.d, "%s", ddl);
    pgh_test_exec(c->p.s, "INSERT INTO t SELECT g, 0, md5(g::text) FROM generate_series(1, 5000) g;"
                          "INSERT INTO u SELECT 'k' || (g %% 50), g / 50, g "
                          "FROM generate_series(1, 5000) g;"
                          "CREATE PUBLICATION pub FOR TABLE t, u");
    pgh_run_init(&c->r, &c->p, PGH_BINARY, "run", "apply.yaml");
    pgh_run_write_config(
        &c->r,
        "source_connection: %s\ndestination_connection: %s\npublication_name: pub\n"
        "tables:\n  - source_table_name: t\n  - source_table_name: u\n"
        "copy_batch_size: 2000\ncopy_worker_count: 2\napply_group_max_changes: 3000\n",
        c->p.src_conninfo, c->p.dst_conninfo);
}

static pid_t spawn_follow(ctx *c)
{
    return pgh_run_spawn(&c->r, "replicate", "--no-progress", "--follow", NULL);
}

/* The destination equals the source for query; on a difference, pghost's log is shown too. */
static void compare(ctx *c, const char *query)
{
    pgh_run_compare(&c->p, query, NULL, pgh_run_stderr(&c->r, 0));
}

/* Wait until everything committed on the source so far is on the destination: a fence row,
 * committed last on the source, has arrived (transactions are applied in commit order). */
static void wait_applied(ctx *c, pid_t pid)
{
    pgh_run_fence(&c->r, pid, 180, "INSERT INTO t VALUES (-1, 0, 'fence')",
                  "SELECT count(*) = 1 FROM t WHERE id = -1");
}

static void case_divergence(ctx *c)
{
    pid_t pid = spawn_follow(c);
    pgh_run_wait_follow(&c->r, pid);
    pgh_run_stop(&c->r, pid, STOP_WAIT_S);
    /* The destination loses a row the source still has. */
    pgh_test_exec(c->p.d, "DELETE FROM t WHERE id = 77");
    char *before = pgh_test_value(c->p.d, "SELECT applied_lsn FROM pghost.state");
    /* T1: fine. T2: inserts, then the divergent UPDATE last. T1 and T2 fill one grouped
     * destination transaction (apply_group_max_changes 3000), whose COMMIT would follow the
     * UPDATE at once, before its count is back. T3: fine. */
    pgh_test_exec(c->p.s, "INSERT INTO t SELECT g, 1, 't1' FROM generate_series(100001, 100500) g");
    pgh_test_exec(c->p.s, "BEGIN;"
                          "INSERT INTO t SELECT g, 2, 't2' FROM generate_series(200001, 202500) g;"
                          "UPDATE t SET v = 42 WHERE id = 77;"
                          "COMMIT");
    char *t2_end = pgh_test_value(c->p.s, "SELECT pg_current_wal_insert_lsn()");
    pgh_test_exec(c->p.s, "INSERT INTO t SELECT g, 3, 't3' FROM generate_series(300001, 300500) g");
    for (int attempt = 1; attempt <= 2; attempt++) {
        pid = spawn_follow(c);
        int code = pgh_run_wait(&c->r, pid, 60); /* fails the test if it does not stop */
        const char *msg = pgh_run_stderr(&c->r, 0);
        PGH_CHECK(code != 0, "pghost exited 0 on divergence");
        PGH_CHECK(strstr(msg, "public.t: UPDATE found no row") != NULL &&
                      strstr(msg, "diverged") != NULL,
                  "unexpected error: %s", msg);
        char *t2_rows = pgh_test_value(c->p.d, "SELECT count(*) FROM t WHERE note = 't2' OR "
                                               "note = 't3'");
        PGH_CHECK(strcmp(t2_rows, "0") == 0, "rows of the divergent transaction or after it "
                                             "were committed: %s", t2_rows);
        char *pos = pgh_test_value(c->p.d,
                                   "SELECT applied_lsn < '%s' AND applied_lsn >= '%s' "
                                   "FROM pghost.state",
                                   t2_end, before);
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
    pgh_run_wait_follow(&c->r, pid);
    pgh_run_stop(&c->r, pid, STOP_WAIT_S);
    /* A backlog: 3000 small transactions of every kind, and one large one in the middle. */
    pgh_test_exec(c->p.s,
                  "DO $$ BEGIN FOR i IN 1..3000 LOOP "
                  "  IF i %% 5 = 0 THEN UPDATE t SET v = v + 1, note = repeat('x', i %% 300) "
                  "    WHERE id = 1 + (i * 7) %% 5000;"
                  "  ELSIF i %% 5 = 1 THEN INSERT INTO t VALUES (10000 + i, i, NULL);"
                  "  ELSIF i %% 5 = 2 THEN DELETE FROM t WHERE id = 1 + (i * 13) %% 5000;"
                  "  ELSIF i %% 5 = 3 THEN UPDATE t SET id = id + 1000000 "
                  "    WHERE id = 1 + (i * 11) %% 5000;"
                  "  ELSE UPDATE u SET n = n + 1 WHERE a = 'k' || (i %% 50) AND b = (i %% 90);"
                  "  END IF; COMMIT; END LOOP; END $$");
    pgh_test_exec(c->p.s, "UPDATE u SET n = -n WHERE b %% 3 = 0");
    pgh_test_exec(c->p.s, "DO $$ BEGIN FOR i IN 1..500 LOOP "
                          "UPDATE u SET b = b + 1000 WHERE a = 'k' || (i %% 50) AND b = i %% 100; "
                          "COMMIT; END LOOP; END $$");
    pid = spawn_follow(c);
    wait_applied(c, pid);
    compare(c, "SELECT * FROM t ORDER BY id");
    compare(c, "SELECT * FROM u ORDER BY a, b");
    pgh_run_stop(&c->r, pid, STOP_WAIT_S);
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
    pgh_run_pair_stop(&c.p);
    puts("PASS");
    return 0;
}
