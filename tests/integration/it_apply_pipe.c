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
 * held: a group's COMMIT waits for its results while the next group's changes are read
 *   (docs/apply.md). A row lock on the destination keeps the results of group A (one source
 *   transaction over batch_size) from coming back while group B (many small transactions)
 *   arrives. Killed then, pghost must have committed nothing: no COMMIT may have gone out
 *   before A's results were checked. Run again with the lock held meanwhile, A and B must land
 *   in different destination transactions (the rows' xmin: nothing of B went into A's
 *   transaction), and the tables must equal the source's.
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
    pgh_test_exec(c->p.d, "DELETE FROM u WHERE a = 'k27' AND b = 0");
    char *before = pgh_test_value(c->p.d, "SELECT applied_lsn FROM pghost.state");
    /* T1: fine. T2: inserts, then the divergent UPDATE last. T1 and T2 fill one grouped
     * destination transaction (apply_group_max_changes 3000), whose COMMIT would follow the
     * UPDATE at once, before its count is back: merged, t's statements go out first, then u's
     * UPDATE, then nothing that waits before the COMMIT (a new statement shape would: it is
     * prepared synchronously). T3: fine. */
    pgh_test_exec(c->p.s, "INSERT INTO t SELECT g, 1, 't1' FROM generate_series(100001, 100500) g");
    pgh_test_exec(c->p.s, "BEGIN;"
                          "INSERT INTO t SELECT g, 2, 't2' FROM generate_series(200001, 202500) g;"
                          "UPDATE u SET n = 42 WHERE a = 'k27' AND b = 0;"
                          "COMMIT");
    char *t2_end = pgh_test_value(c->p.s, "SELECT pg_current_wal_insert_lsn()");
    pgh_test_exec(c->p.s, "INSERT INTO t SELECT g, 3, 't3' FROM generate_series(300001, 300500) g");
    for (int attempt = 1; attempt <= 2; attempt++) {
        pid = spawn_follow(c);
        int code = pgh_run_wait(&c->r, pid, 60); /* fails the test if it does not stop */
        const char *msg = pgh_run_stderr(&c->r, 0);
        PGH_CHECK(code != 0, "pghost exited 0 on divergence");
        PGH_CHECK(strstr(msg, "public.u: UPDATE found no row") != NULL &&
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

/* Hold a lock on t's row 1 on the destination (l: a connection of its own, in a transaction),
 * then write group A (the locked row's UPDATE and 300 inserts at ids from (round + 1) * 10^6:
 * over batch_size) and group B (30 transactions of 10 inserts and an UPDATE of u) on the
 * source. Returns once pghost's
 * destination session waits for the lock and the source has sent everything: B was read while
 * A's results were held back. */
static void write_group_a(ctx *c, int round)
{
    pgh_test_exec(c->p.s, "BEGIN; UPDATE t SET v = v + 1 WHERE id = 1;"
                          "INSERT INTO t SELECT %d + g, 4, 'a' FROM generate_series(1, 300) g;"
                          "COMMIT",
                  (round + 1) * 1000000);
}

static void write_groups_locked(ctx *c, PGconn *l, pid_t pid, int round)
{
    pgh_test_exec(l, "BEGIN; SELECT 1 FROM t WHERE id = 1 FOR UPDATE");
    write_group_a(c, round);
    pgh_test_exec(c->p.s, "DO $$ BEGIN FOR i IN 1..30 LOOP "
                          "  INSERT INTO t SELECT %d + 1000 + i * 10 + g, 5, 'b' "
                          "    FROM generate_series(1, 10) g;"
                          "  UPDATE u SET n = n + 1 WHERE a = 'k' || (i %% 50) AND b = 1;"
                          "  COMMIT; END LOOP; END $$",
                  (round + 1) * 1000000);
    char *end = pgh_test_value(c->p.s, "SELECT pg_current_wal_insert_lsn()");
    PGH_CHECK(pgh_run_poll(&c->r, pid, c->p.d, 300, 20,
                           "SELECT count(*) > 0 FROM pg_stat_activity WHERE wait_event_type = "
                           "'Lock' AND application_name LIKE 'pghost%'"),
              "pghost's destination session never waited for the row lock");
    char sent[160];
    snprintf(sent, sizeof(sent),
             "SELECT coalesce(bool_and(sent_lsn >= '%s'), false) FROM pg_stat_replication", end);
    PGH_CHECK(pgh_run_poll(&c->r, pid, c->p.s, 300, 20, sent),
              "the source never sent group B");
    pgh_run_sleep_ms(300); /* pghost reads B meanwhile */
    free(end);
}

static void case_held(ctx *c)
{
    pgh_run_write_config(
        &c->r,
        "source_connection: %s\ndestination_connection: %s\npublication_name: pub\n"
        "tables:\n  - source_table_name: t\n  - source_table_name: u\n"
        "apply_group_max_changes: 200\napply_group_max_delay_ms: 60000\n",
        c->p.src_conninfo, c->p.dst_conninfo);
    pid_t pid = spawn_follow(c);
    pgh_run_wait_follow(&c->r, pid);
    /* Group A's statement shapes get prepared now: preparing one waits for every result in
     * flight, which would hide a COMMIT that does not wait. */
    write_group_a(c, 0);
    pgh_run_fence(&c->r, pid, 60, "INSERT INTO t VALUES (-2, 0, 'fence')",
                  "SELECT count(*) = 1 FROM t WHERE id = -2");
    char *before = pgh_test_value(c->p.d, "SELECT applied_lsn FROM pghost.state");
    PGconn *l = pgh_test_connect(&c->p.dst, "postgres");
    write_groups_locked(c, l, pid, 1);
    pgh_run_kill(pid);
    pgh_test_exec(l, "ROLLBACK");
    PGH_CHECK(pgh_run_poll(NULL, 0, c->p.d, 300, 20,
                           "SELECT count(*) = 0 FROM pg_stat_activity WHERE "
                           "application_name LIKE 'pghost%'"),
              "pghost's destination session outlived it");
    char *after = pgh_test_value(c->p.d, "SELECT applied_lsn = '%s' AND NOT EXISTS (SELECT 1 "
                                         "FROM t WHERE id > 2000000) FROM pghost.state",
                                 before);
    PGH_CHECK(strcmp(after, "t") == 0, "a COMMIT went out before its results were in: the "
                                       "position moved or rows of A or B were committed");
    pid = spawn_follow(c); /* applies round 1 again, then round 2 from idle */
    pgh_run_fence(&c->r, pid, 60, "UPDATE t SET v = 1 WHERE id = -2",
                  "SELECT count(*) = 1 FROM t WHERE id = -2 AND v = 1");
    write_groups_locked(c, l, pid, 2);
    pgh_test_exec(l, "ROLLBACK");
    wait_applied(c, pid);
    char *apart = pgh_test_value(c->p.d, "SELECT count(*) FROM t a JOIN t b ON a.xmin::text = "
                                         "b.xmin::text WHERE a.id BETWEEN 3000001 AND 3000300 "
                                         "AND b.id > 3001000");
    PGH_CHECK(strcmp(apart, "0") == 0, "changes of group B went into group A's destination "
                                       "transaction (%s row pairs)", apart);
    compare(c, "SELECT * FROM t ORDER BY id");
    compare(c, "SELECT * FROM u ORDER BY a, b");
    pgh_run_stop(&c->r, pid, STOP_WAIT_S);
    PQfinish(l);
    free(before);
    free(after);
    free(apart);
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
    else if (strcmp(argv[1], "held") == 0)
        case_held(&c);
    else
        pgh_test_fail("unknown case %s", argv[1]);
    pgh_run_pair_stop(&c.p);
    puts("PASS");
    return 0;
}
