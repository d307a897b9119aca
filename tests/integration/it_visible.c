/*
 * The catch-up's copy again waits until the transactions it replayed are visible on the source
 * (pipeline/catchup_visible.c), through the real binary and real servers.
 *
 * The source waits for a synchronous standby that never comes (synchronous_standby_names =
 * 'nosuch'; synchronous_commit = local for every session but one). After the copy, held in the
 * --before-checkpoint hook, that one session moves a row off its key with its TOASTed value
 * unchanged (so the catch-up records the new key to copy again) and hangs in COMMIT: its commit
 * is in the WAL and the stream, but not visible to new snapshots. Other rows move likewise and
 * commit normally. Then the hook lets the catch-up go on. pghost must wait (its info line names
 * the transaction and a synchronous standby) instead of reading the row as it was before; the
 * test then cancels the session's wait (the commit stays, with PostgreSQL's warning), and pghost
 * must end 0 with the table equal on both sides by full ordered dumps. Meanwhile another session
 * holds a transaction with an xid open from before the checkpoint to the end: pghost must not
 * wait for it (it is running at the checkpoint, but not in the stream).
 *
 * Without the wait, the copy again reads no row at the new key, the destination drops the row,
 * and the run ends 0 with the row missing on the destination.
 *
 * Usage: it_visible
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pgh_run.h"

#define RUN_WAIT_S 30
#define LINE_WAIT_MS 20000
#define WAIT_LINE "a synchronous standby may be holding"

typedef struct ctx {
    pgh_run_pair p;
    pgh_run r;
    char held[PGH_RUN_FILE_MAX]; /* the hook creates it once the copy is done */
    char go[PGH_RUN_FILE_MAX];   /* the test creates it to let the catch-up start */
} ctx;

static void setup(ctx *c)
{
    pgh_run_pair_start(&c->p, NULL, NULL);
    pgh_test_exec(c->p.s, "ALTER SYSTEM SET synchronous_standby_names = 'nosuch'");
    pgh_test_exec(c->p.s, "ALTER SYSTEM SET synchronous_commit = local");
    pgh_test_exec(c->p.s, "SELECT pg_reload_conf()");
    const char *ddl = "CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL, big text);"
                      "ALTER TABLE t ALTER COLUMN big SET STORAGE EXTERNAL";
    pgh_test_exec(c->p.s, "%s", ddl);
    pgh_test_exec(c->p.d, "%s", ddl);
    /* big is stored out of line (EXTERNAL, over 2 kB): an UPDATE leaving it alone sends 'u' */
    pgh_test_exec(c->p.s, "INSERT INTO t SELECT g, 0, repeat(md5(g::text), 100) "
                          "FROM generate_series(1, 200) g;"
                          "CREATE PUBLICATION pub FOR TABLE t");
    pgh_run_init(&c->r, &c->p, PGH_BINARY, "run", "visible.yaml");
    pgh_run_write_config(&c->r,
                         "source_connection: %s\ndestination_connection: %s\n"
                         "publication_name: pub\ntables: [public.t]\n",
                         c->p.src_conninfo, c->p.dst_conninfo);
    snprintf(c->held, sizeof(c->held), "%s/held", c->p.src.dir);
    snprintf(c->go, sizeof(c->go), "%s/go", c->p.src.dir);
}

/* Wait until path exists; fails the test when pid exits first or after 60 s. */
static void wait_file(const ctx *c, pid_t pid, const char *path)
{
    for (int i = 0; i < 600 && access(path, F_OK) != 0; i++) {
        PGH_CHECK(pgh_test_pid_alive(pid), "pghost ended before its hook ran: %s",
                  pgh_run_stderr(&c->r, 0));
        pgh_run_sleep_ms(100);
    }
    PGH_CHECK(access(path, F_OK) == 0, "the --before-checkpoint hook never ran");
}

/* A session whose commit of a key move hangs waiting for the synchronous standby. */
static PGconn *hang_commit(ctx *c)
{
    PGconn *h = PQconnectdb(c->p.src_conninfo);
    PGH_CHECK(PQstatus(h) == CONNECTION_OK, "connecting: %s", PQerrorMessage(h));
    pgh_test_exec(h, "SET synchronous_commit = on");
    PGH_CHECK(PQsendQuery(h, "UPDATE t SET id = id + 1000, v = v + 1 WHERE id = 7") == 1,
              "sending the update: %s", PQerrorMessage(h));
    PGH_CHECK(pgh_run_poll(NULL, 0, c->p.s, 100, 100,
                           "SELECT EXISTS (SELECT 1 FROM pg_stat_activity "
                           "WHERE wait_event = 'SyncRep')"),
              "the update never waited for the synchronous standby");
    return h;
}

/* Wait until pghost logs that it waits for the hanging transaction, or ends; whether it did. */
static bool wait_line(const ctx *c, pid_t pid)
{
    double until = pgh_run_now_ms() + LINE_WAIT_MS;
    while (pgh_run_now_ms() < until && pgh_test_pid_alive(pid)) {
        if (strstr(pgh_run_stderr(&c->r, 0), WAIT_LINE))
            return true;
        pgh_run_sleep_ms(100);
    }
    return strstr(pgh_run_stderr(&c->r, 0), WAIT_LINE) != NULL;
}

/* A transaction with an xid, left open: running at every checkpoint, never committed. */
static PGconn *open_unrelated(ctx *c)
{
    PGconn *l = PQconnectdb(c->p.src_conninfo);
    PGH_CHECK(PQstatus(l) == CONNECTION_OK, "connecting: %s", PQerrorMessage(l));
    pgh_test_exec(l, "BEGIN");
    free(pgh_test_value(l, "SELECT pg_current_xact_id()::text"));
    return l;
}

/* Cancel the session's wait: the commit stays (PostgreSQL warns it committed locally). */
static void release(ctx *c, PGconn *h)
{
    char *ok = pgh_test_value(c->p.s, "SELECT pg_cancel_backend(%d)::text", PQbackendPID(h));
    PGH_CHECK(strcmp(ok, "true") == 0, "cancelling the wait: %s", ok);
    free(ok);
    PGresult *res;
    while ((res = PQgetResult(h)) != NULL) {
        PGH_CHECK(PQresultStatus(res) == PGRES_COMMAND_OK, "the update failed: %s",
                  PQresultErrorMessage(res));
        PQclear(res);
    }
    PQfinish(h);
}

int main(void)
{
    ctx c;
    memset(&c, 0, sizeof(c));
    setup(&c);
    char hook[3 * PGH_RUN_FILE_MAX];
    snprintf(hook, sizeof(hook),
             "--before-checkpoint=touch '%s'; while [ ! -e '%s' ]; do sleep 0.05; done", c.held,
             c.go);
    pid_t pid = pgh_run_spawn(&c.r, "replicate", "--no-progress", hook, NULL);
    wait_file(&c, pid, c.held);
    /* committed normally: copied again at once */
    pgh_test_exec(c.p.s, "UPDATE t SET id = id + 2000 WHERE id BETWEEN 20 AND 24");
    PGconn *l = open_unrelated(&c);
    PGconn *h = hang_commit(&c);
    pgh_test_exec(c.p.s, "UPDATE t SET id = id + 2000 WHERE id BETWEEN 30 AND 34");
    FILE *f = fopen(c.go, "w");
    PGH_CHECK(f != NULL, "creating %s", c.go);
    fclose(f);
    bool waited = wait_line(&c, pid);
    release(&c, h);
    int code = pgh_run_wait(&c.r, pid, RUN_WAIT_S);
    const char *log = pgh_run_stderr(&c.r, 0);
    PGH_CHECK(code == 0, "pghost exited %d: %s", code, log);
    PGH_CHECK(PQtransactionStatus(l) == PQTRANS_INTRANS, "the unrelated transaction ended");
    pgh_test_exec(l, "ROLLBACK");
    PQfinish(l);
    pgh_run_compare(&c.p, "SELECT * FROM t ORDER BY id", NULL, log);
    PGH_CHECK(waited, "pghost did not log that it waits for the invisible transaction: %s", log);
    PGH_CHECK(strstr(log, "copying them again"), "nothing was copied again: %s", log);
    pgh_run_pair_stop(&c.p);
    return 0;
}
