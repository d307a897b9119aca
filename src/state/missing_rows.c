/*
 * <state_schema>.missing_rows: per slot and destination table, the changes a following applier
 * skipped under on_missing_row: skip because their row was not on the destination. The apply
 * adds to it in the destination transaction that records the position (dest/postgres/apply.c),
 * so the count is exact across restarts; pghost status reads it (admin/lifecycle.c). See
 * state.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"
#include "state/state.h"
#include "util/buf.h"

/* The statement text head + the qualified table name + tail; malloc'd. */
static char *with_table(PGconn *dst, const char *schema, const char *head, const char *tail)
{
    char *t = pgh_conn_qualified(dst, schema, "missing_rows");
    if (t == NULL)
        return NULL;
    pgh_buf sql;
    pgh_buf_init(&sql, 4096);
    pgh_buf_printf(&sql, "%s%s%s", head, t, tail);
    free(t);
    if (pgh_buf_failed(&sql)) {
        pgh_buf_dispose(&sql);
        return NULL;
    }
    return pgh_buf_take(&sql);
}

int pgh_state_missing_rows_ensure(PGconn *dst, const char *schema, pgh_error *err)
{
    char *sql = with_table(dst, schema, "CREATE TABLE IF NOT EXISTS ",
                           " (slot_name text, table_name text, "
                           "skipped bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT "
                           "now(), PRIMARY KEY (slot_name, table_name))");
    int rc = sql ? pgh_conn_exec(dst, sql, err) : pgh_error_set(err, PGH_ENOMEM, "out of memory");
    free(sql);
    return rc;
}

char *pgh_state_missing_rows_add_sql(PGconn *dst, const char *schema)
{
    return with_table(dst, schema, "INSERT INTO ",
                      " AS m (slot_name, table_name, skipped) "
                      "VALUES ($1, $2, $3::bigint) ON CONFLICT (slot_name, table_name) DO UPDATE "
                      "SET skipped = m.skipped + excluded.skipped, updated_at = now()");
}

int pgh_state_missing_rows_read(PGconn *dst, const char *schema, const char *slot,
                                pgh_state_missing_fn fn, void *payload, pgh_error *err)
{
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, dst,
                            "SELECT to_regclass(format('%I.missing_rows', $1::text)) IS NOT NULL",
                            1, &schema, err);
    bool exists = rc == 0 && PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (rc != 0 || !exists)
        return rc;
    char *sql = with_table(dst, schema, "SELECT table_name, skipped FROM ",
                           " WHERE slot_name = $1 "
                           "ORDER BY table_name");
    res = NULL;
    rc = sql ? pgh_conn_query(&res, dst, sql, 1, &slot, err)
             : pgh_error_set(err, PGH_ENOMEM, "out of memory");
    for (int i = 0; rc == 0 && i < PQntuples(res); i++)
        fn(PQgetvalue(res, i, 0), strtoll(PQgetvalue(res, i, 1), NULL, 10), payload);
    PQclear(res);
    free(sql);
    return rc;
}
