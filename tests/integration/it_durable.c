/*
 * tests/integration/it_durable.c - a destination that commits asynchronously
 * (synchronous_commit = off, the harness's default and a common bulk-load setting) is killed
 * (SIGKILL of the postmaster: the WAL buffers it had not written are gone) while pghost
 * follows with a writer running. pghost may confirm to the slot only what the destination
 * has made durable: after the restart it reconnects, resumes from the destination's recorded
 * position, and the tables end equal (full ordered dumps). Killed three times.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgh_run.h"
#include "pgh_test.h"

#define ROWS 20000

static bool write_one(PGconn *conn, pgh_run_writer *w, void *payload)
{
    (void)payload;
    long m = ++w->mark;
    char sql[200];
    switch (m % 3) {
    case 0:
        snprintf(sql, sizeof(sql), "INSERT INTO t VALUES (%ld, %ld, 'w')", 1000000 + m, m);
        break;
    case 1:
        snprintf(sql, sizeof(sql), "UPDATE t SET v = v + 1 WHERE id = %ld", 1 + m % ROWS);
        break;
    default:
        snprintf(sql, sizeof(sql), "DELETE FROM t WHERE id = %ld", 1000000 + m - 2);
    }
    return pgh_run_sql_ok(conn, sql);
}

int main(void)
{
    pgh_run_pair p;
    pgh_run_pair_start(&p, NULL, NULL); /* the destination keeps synchronous_commit = off */
    const char *ddl = "CREATE TABLE t (id bigint PRIMARY KEY, v bigint NOT NULL, note text)";
    pgh_test_exec(p.s, "%s", ddl);
    pgh_test_exec(p.d, "%s", ddl);
    pgh_test_exec(p.s,
                  "INSERT INTO t SELECT g, 0, md5(g::text) FROM generate_series(1, %d) g;"
                  "CREATE PUBLICATION pub FOR TABLE t",
                  ROWS);
    PGresult *res = PQexec(p.d, "SHOW synchronous_commit");
    PGH_CHECK(strcmp(PQgetvalue(res, 0, 0), "off") == 0, "the destination must commit "
                                                          "asynchronously for this test");
    PQclear(res);
    pgh_run r;
    pgh_run_init(&r, &p, PGH_BINARY, "durable", "durable.yaml");
    pgh_run_write_config(&r,
                         "source_connection: %s\ndestination_connection: %s\npublication_name: "
                         "pub\nsource_table_name: t\ncopy_worker_count: 1\n",
                         p.src_conninfo, p.dst_conninfo);
    pid_t pid = pgh_run_spawn(&r, "replicate", "--follow", "--no-progress", NULL);
    pgh_run_wait_follow(&r, pid);
    static pgh_run_writers ws;
    pgh_run_writers_opts wo = {.conninfo = p.src_conninfo,
                               .threads = 2,
                               .seed = 7,
                               .pause_ms = 0,
                               .reconnect_ms = -1,
                               .write = write_one};
    pgh_run_writers_start(&ws, &wo);
    for (int kill = 0; kill < 3; kill++) {
        pgh_run_sleep_ms(1500);
        PGH_CHECK(pgh_test_pid_alive(pid), "pghost exited: %s", pgh_run_stderr(&r, 0));
        PGH_CHECK(pgh_test_server_kill(&p.dst) == 0, "killing the destination");
        pgh_run_sleep_ms(300);
        PGH_CHECK(pgh_test_server_restart(&p.dst) == 0, "restarting the destination");
    }
    PQfinish(p.d);
    p.d = PQconnectdb(p.dst_conninfo);
    long done = pgh_run_writers_stop(&ws);
    printf("%ld writes while the destination was killed 3 times\n", done);
    pgh_run_fence_value(&r, pid, "t", 5, -5, NULL);
    pgh_run_stop(&r, pid, 30);
    pgh_run_compare(&p, "SELECT * FROM t ORDER BY id", NULL, pgh_run_stderr(&r, 0));
    pgh_test_exec(p.s, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots");
    pgh_run_pair_stop(&p);
    puts("ok");
    return 0;
}
