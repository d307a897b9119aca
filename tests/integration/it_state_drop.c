/*
 * Removing a slot's state from the destination (src/state/position.c, pgh_state_drop) on a
 * real server, two slots sharing the state tables:
 *   1. slot a's state goes (all its tables in one transaction); slot b's row, its table and
 *      the schema stay;
 *   2. with another session holding a lock on the state table, slot b's state still goes: the
 *      drop waits for the lock (table by table) instead of failing, and then the tables and
 *      the schema are gone;
 *   3. with another session creating a table in the schema (its transaction open), slot c's
 *      state goes at once and the schema stays, with that table in it.
 *
 * Usage: it_state_drop
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"
#include "pgh_test.h"
#include "state/state.h"
#include "util/clock.h"

#define SCHEMA "pgh_sd"
#define LOCK_HELD_S "0.5"
#define LOCK_HELD_MS 500

static long count(PGconn *c, const char *sql)
{
    char *v = pgh_test_value(c, "%s", sql);
    long n = strtol(v, NULL, 10);
    free(v);
    return n;
}

static void write_state(PGconn *c, const char *slot)
{
    pgh_error err = {0};
    pgh_state st = {.applied_lsn = 16, .checkpoint_lsn = 16};
    snprintf(st.phase, sizeof(st.phase), "copy");
    int rc = pgh_state_write(c, SCHEMA, slot, &st, &err);
    PGH_CHECK(rc == 0, "writing the state of %s: %s", slot, err.message);
}

static long tables_left(PGconn *c)
{
    return count(c, "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = "
                    "c.relnamespace WHERE n.nspname = '" SCHEMA "' AND c.relkind = 'r'");
}

/* Another session takes a lock on the state table and holds it for LOCK_HELD_S seconds. */
static PGconn *hold_lock(PGconn *c, const char *conninfo)
{
    PGconn *other = PQconnectdb(conninfo);
    PGH_CHECK(PQstatus(other) == CONNECTION_OK, "connect: %s", PQerrorMessage(other));
    int sent = PQsendQuery(other, "BEGIN; LOCK TABLE " SCHEMA ".state IN ROW EXCLUSIVE MODE; "
                                  "SELECT pg_sleep(" LOCK_HELD_S "); COMMIT");
    PGH_CHECK(sent == 1, "send: %s", PQerrorMessage(other));
    int64_t until = pgh_clock_ms() + 5000;
    while (count(c, "SELECT count(*) FROM pg_locks WHERE relation = '" SCHEMA
                    ".state'::regclass AND granted AND pid <> pg_backend_pid()") == 0) {
        PGH_CHECK(pgh_clock_ms() < until, "the other session never got its lock");
        pgh_sleep_ms(10);
    }
    return other;
}

int main(void)
{
    pgh_test_server s;
    PGH_CHECK(pgh_test_server_start(&s, "state", NULL) == 0, "server start");
    char *conninfo = pgh_test_conninfo(&s, "postgres");
    pgh_error err = {0};
    PGconn *c = NULL;
    PGH_CHECK(pgh_conn_open(&c, conninfo, PGH_CONN_SQL, "destination", "it_state_drop", &err) == 0,
              "connect: %s", err.message);
    PGH_CHECK(pgh_state_ensure(c, SCHEMA, &err) == 0, "ensure: %s", err.message);
    write_state(c, "a");
    write_state(c, "b");

    int rc = pgh_state_drop(c, SCHEMA, "a", &err);
    PGH_CHECK(rc == 0, "dropping a: %s", err.message);
    PGH_CHECK(count(c, "SELECT count(*) FROM " SCHEMA ".state WHERE slot_name = 'b'") == 1,
              "slot b's state went with a's");
    PGH_CHECK(count(c, "SELECT count(*) FROM " SCHEMA ".state") == 1, "slot a's state stayed");
    /* The empty ones went; state holds b's row. */
    PGH_CHECK(tables_left(c) == 1, "%ld state tables left, want 1 (b's state)", tables_left(c));

    PGconn *other = hold_lock(c, conninfo);
    int64_t start = pgh_clock_ms();
    rc = pgh_state_drop(c, SCHEMA, "b", &err);
    int64_t took = pgh_clock_ms() - start, waited = took;
    PGH_CHECK(rc == 0, "dropping b while the table was locked: %s", err.message);
    PGH_CHECK(took >= LOCK_HELD_MS / 2, "the drop took %lld ms: it did not wait for the lock",
              (long long)took);
    PGH_CHECK(count(c, "SELECT count(*) FROM pg_namespace WHERE nspname = '" SCHEMA "'") == 0,
              "the schema is still there after the last slot's state went");
    PGresult *res;
    while ((res = PQgetResult(other)) != NULL)
        PQclear(res);

    PGH_CHECK(pgh_state_ensure(c, SCHEMA, &err) == 0, "ensure: %s", err.message);
    write_state(c, "c");
    pgh_test_exec(other, "BEGIN");
    pgh_test_exec(other, "CREATE TABLE " SCHEMA ".mine (id int)");
    start = pgh_clock_ms();
    rc = pgh_state_drop(c, SCHEMA, "c", &err);
    took = pgh_clock_ms() - start;
    PGH_CHECK(rc == 0, "dropping c while another session creates in the schema: %s",
              err.message);
    PGH_CHECK(took < LOCK_HELD_MS, "the drop waited %lld ms for the other session",
              (long long)took);
    pgh_test_exec(other, "COMMIT");
    PGH_CHECK(tables_left(c) == 1, "%ld tables left, want 1 (the other session's)",
              tables_left(c));
    PQfinish(other);
    PQfinish(c);
    free(conninfo);
    PGH_CHECK(pgh_test_server_stop(&s) == 0, "server stop");
    printf("ok: state_drop (the drop waited %lld ms for the table's lock, %lld ms with the "
           "schema in use)\n",
           (long long)waited, (long long)took);
    return 0;
}
