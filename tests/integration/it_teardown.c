/*
 * pghost teardown with a server down, through the real binary (issue 11, finding 2): teardown
 * must open both servers and read the destination's position before it drops anything.
 *
 *   dst_down  the destination is down after a --follow run stopped: teardown exits 1 saying that
 *             nothing was dropped; the source's slot, publication and DDL capture and the
 *             destination's position are all still there; with the destination back, --follow
 *             resumes and the destination equals the source (full ordered dump), writes made
 *             meanwhile included; then teardown drops everything.
 *   force     the same, with --force: the source's side is dropped, each line says what, and
 *             the position line says it was NOT removed and why; once the destination is back
 *             a second teardown removes the position.
 *
 * Usage: it_teardown CASE
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgh_run.h"

typedef struct ctx {
    pgh_run_pair p;
    pgh_run r; /* runs write <source dir>/runN.out and runN.err */
} ctx;

#define STOP_WAIT_S 5

static void setup(ctx *c)
{
    pgh_run_pair_start(&c->p, NULL, NULL);
    const char *ddl = "CREATE TABLE t (id bigint PRIMARY KEY, v int NOT NULL, note text)";
    pgh_test_exec(c->p.s, "%s", ddl);
    pgh_test_exec(c->p.d, "%s", ddl);
    pgh_test_exec(c->p.s,
                  "INSERT INTO t SELECT g, 0, md5(g::text) FROM generate_series(1, 5000) g");
    pgh_run_init(&c->r, &c->p, PGH_BINARY, "run", "teardown.yaml");
    pgh_run_write_config(&c->r,
                         "source_connection: %s\ndestination_connection: %s\npublication_name: "
                         "tdpub\nsource_table_name: t\ncopy_batch_size: 1000\n",
                         c->p.src_conninfo, c->p.dst_conninfo);
    int code = pgh_run_exec(&c->r, 60, "init", NULL);
    PGH_CHECK(code == 0, "init exited %d: %s", code, pgh_run_stderr(&c->r, 0));
}

static long count(PGconn *conn, const char *sql)
{
    char *v = pgh_test_value(conn, "%s", sql);
    long n = strtol(v, NULL, 10);
    free(v);
    return n;
}

static long source_slots(ctx *c)
{
    return count(c->p.s, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = "
                         "'pghost_tdpub'");
}

static long source_pubs(ctx *c)
{
    return count(c->p.s, "SELECT count(*) FROM pg_publication WHERE pubname = 'tdpub'");
}

static long source_triggers(ctx *c)
{
    return count(c->p.s, "SELECT count(*) FROM pg_event_trigger");
}

static long destination_positions(ctx *c)
{
    return count(c->p.d, "SELECT count(*) FROM pghost.state WHERE slot_name = 'pghost_tdpub'");
}

/* Follow until in sync, then stop pghost and the destination (a checkpoint first, so nothing
 * committed is lost to the immediate stop). */
static void follow_then_stop_destination(ctx *c)
{
    pid_t pid = pgh_run_spawn(&c->r, "replicate", "--no-progress", "--follow", NULL);
    pgh_run_wait_follow(&c->r, pid);
    pgh_run_fence_value(&c->r, pid, "t", -1, 1, "fence");
    pgh_run_stop(&c->r, pid, STOP_WAIT_S);
    PGH_CHECK(destination_positions(c) == 1, "no position on the destination after --follow");
    pgh_test_exec(c->p.d, "CHECKPOINT");
    PQfinish(c->p.d);
    c->p.d = NULL;
    PGH_CHECK(pgh_test_server_kill(&c->p.dst) == 0, "destination stop");
    /* Writes while the destination is down: the slot must keep them. */
    pgh_test_exec(c->p.s, "UPDATE t SET v = v + 1 WHERE id %% 7 = 0;"
                          "DELETE FROM t WHERE id %% 11 = 0;"
                          "INSERT INTO t SELECT g, 2, 'new' FROM generate_series(6001, 6500) g");
}

static void start_destination(ctx *c)
{
    PGH_CHECK(pgh_test_server_restart(&c->p.dst) == 0, "destination start");
    c->p.d = pgh_test_connect(&c->p.dst, "postgres");
}

static void case_dst_down(ctx *c)
{
    follow_then_stop_destination(c);
    long triggers = source_triggers(c);
    PGH_CHECK(triggers > 0, "init installed no DDL capture");
    int code = pgh_run_exec(&c->r, 60, "teardown", NULL);
    const char *err = pgh_run_stderr(&c->r, 0);
    PGH_CHECK(source_slots(c) == 1, "teardown dropped the slot while the destination was down");
    PGH_CHECK(source_pubs(c) == 1, "teardown dropped the publication");
    PGH_CHECK(source_triggers(c) == triggers, "teardown removed the DDL capture");
    PGH_CHECK(code == 1 && strstr(err, "nothing was dropped: the destination cannot be read") &&
                  strstr(err, "--force") && strchr(err, '\n') == err + strlen(err) - 1,
              "teardown with the destination down (%d): %s", code, err);
    puts("teardown with the destination down drops nothing and says so");
    start_destination(c);
    PGH_CHECK(destination_positions(c) == 1, "the destination's position is gone");
    pid_t pid = pgh_run_spawn(&c->r, "replicate", "--no-progress", "--follow", NULL);
    pgh_run_fence_value(&c->r, pid, "t", -1, 2, "fence");
    pgh_run_compare(&c->p, "SELECT * FROM t ORDER BY id", NULL, pgh_run_stderr(&c->r, 0));
    pgh_run_stop(&c->r, pid, STOP_WAIT_S);
    puts("--follow resumed after the refused teardown");
    code = pgh_run_exec(&c->r, 60, "teardown", NULL);
    err = pgh_run_stderr(&c->r, 0);
    PGH_CHECK(code == 0 && strstr(err, "slot pghost_tdpub: dropped\n") &&
                  strstr(err, "publication tdpub: dropped (pghost init created it)\n") &&
                  strstr(err, "position in pghost.state: removed\n") &&
                  pgh_run_stdout(&c->r, 0)[0] == '\0',
              "teardown (%d): %s", code, err);
    PGH_CHECK(source_slots(c) == 0 && source_pubs(c) == 0 && source_triggers(c) == 0,
              "teardown left something on the source");
}

static void case_force(ctx *c)
{
    follow_then_stop_destination(c);
    int code = pgh_run_exec(&c->r, 60, "teardown", "--force", NULL);
    const char *err = pgh_run_stderr(&c->r, 0);
    PGH_CHECK(code == 0 && strstr(err, "slot pghost_tdpub: dropped\n") &&
                  strstr(err, "publication tdpub: dropped (pghost init created it)\n") &&
                  strstr(err, "position in pghost.state: NOT removed: the destination could "
                              "not be read (cannot connect to the destination server"),
              "teardown --force with the destination down (%d): %s", code, err);
    PGH_CHECK(source_slots(c) == 0 && source_pubs(c) == 0 && source_triggers(c) == 0,
              "teardown --force left something on the source");
    start_destination(c);
    PGH_CHECK(destination_positions(c) == 1, "the destination's position should still be there");
    code = pgh_run_exec(&c->r, 60, "teardown", NULL);
    err = pgh_run_stderr(&c->r, 0);
    PGH_CHECK(code == 0 && strstr(err, "slot pghost_tdpub: not there (nothing to do)\n") &&
                  strstr(err, "position in pghost.state: removed\n"),
              "second teardown (%d): %s", code, err);
    char *left = pgh_test_value(c->p.d, "SELECT count(*) FROM pg_namespace WHERE nspname = "
                                        "'pghost'");
    PGH_CHECK(strcmp(left, "0") == 0, "the pghost schema is still on the destination");
    free(left);
    puts("teardown --force drops the source's side and names what it could not drop");
}

int main(int argc, char **argv)
{
    PGH_CHECK(argc == 2, "usage: it_teardown CASE");
    ctx c;
    memset(&c, 0, sizeof(c));
    setup(&c);
    if (strcmp(argv[1], "dst_down") == 0)
        case_dst_down(&c);
    else if (strcmp(argv[1], "force") == 0)
        case_force(&c);
    else
        pgh_test_fail("unknown case %s", argv[1]);
    pgh_run_pair_stop(&c.p);
    puts("PASS");
    return 0;
}
