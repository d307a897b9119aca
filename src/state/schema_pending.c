/*
 * <state_schema>.schema_pending: the tables a --follow run created and whose deferred indexes
 * and constraints are not all built yet (schema/pending.c decides what goes in): see state.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"
#include "state/state.h"
#include "util/buf.h"

/* Does <schema>.name exist? */
static int table_exists(bool *out, PGconn *dst, const char *schema, const char *name,
                        pgh_error *err)
{
    const char *params[2] = {schema, name};
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, dst,
                            "SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace "
                            "n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2",
                            2, params, err);
    *out = rc == 0 && PQntuples(res) > 0;
    PQclear(res);
    return rc;
}

int pgh_state_pending_write(PGconn *dst, const char *schema, const char *slot,
                            const pgh_table_map *tables, int n, pgh_error *err)
{
    char *s = pgh_conn_ident(dst, schema);
    char *t = pgh_conn_qualified(dst, schema, "schema_pending");
    pgh_buf sql;
    pgh_buf_init(&sql, 0);
    pgh_buf_printf(&sql, "CREATE SCHEMA IF NOT EXISTS %s", s ? s : "");
    int rc = s && t && !pgh_buf_failed(&sql) ? pgh_conn_exec(dst, pgh_buf_str(&sql), err)
                                             : pgh_error_set(err, PGH_ENOMEM, "out of memory");
    pgh_buf_reset(&sql);
    pgh_buf_printf(&sql,
                   "CREATE TABLE IF NOT EXISTS %s (slot_name text NOT NULL, ord int NOT NULL, "
                   "source_schema text NOT NULL, source_name text NOT NULL, dest_schema text NOT "
                   "NULL, dest_name text NOT NULL, PRIMARY KEY (slot_name, ord))",
                   t ? t : "");
    if (rc == 0)
        rc = pgh_buf_failed(&sql) ? pgh_error_set(err, PGH_ENOMEM, "out of memory")
                                  : pgh_conn_exec(dst, pgh_buf_str(&sql), err);
    pgh_buf_reset(&sql);
    pgh_buf_printf(&sql,
                   "INSERT INTO %s SELECT $1, coalesce(max(ord) + 1, 0), $2, $3, $4, $5 FROM %s "
                   "WHERE slot_name = $1",
                   t ? t : "", t ? t : "");
    for (int i = 0; rc == 0 && i < n; i++) {
        const pgh_table_map *e = &tables[i];
        const char *params[5] = {slot, e->source_schema, e->source_table, e->dest_schema,
                                 e->dest_table};
        PGresult *res = NULL;
        rc = pgh_conn_query(&res, dst, pgh_buf_str(&sql), 5, params, err);
        PQclear(res);
    }
    if (rc != 0)
        pgh_error_prefix(err, "recording the created tables in %s.schema_pending", schema);
    pgh_buf_dispose(&sql);
    free(s);
    free(t);
    return rc;
}

int pgh_state_pending_read(PGconn *dst, const char *schema, const char *slot,
                           pgh_state_table_fn fn, void *payload, pgh_error *err)
{
    bool exists = false;
    int rc = table_exists(&exists, dst, schema, "schema_pending", err);
    if (rc != 0 || !exists)
        return rc;
    char *t = pgh_conn_qualified(dst, schema, "schema_pending");
    if (t == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    pgh_buf sql;
    pgh_buf_init(&sql, 0);
    pgh_buf_printf(&sql,
                   "SELECT source_schema, source_name, dest_schema, dest_name FROM %s "
                   "WHERE slot_name = $1 GROUP BY 1, 2, 3, 4 ORDER BY min(ord)",
                   t);
    free(t);
    PGresult *res = NULL;
    rc = pgh_conn_query(&res, dst, pgh_buf_str(&sql), 1, &slot, err);
    pgh_buf_dispose(&sql);
    for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
        pgh_table_map m = {PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
                           PQgetvalue(res, i, 3)};
        rc = fn(&m, payload, err);
    }
    PQclear(res);
    return rc;
}

/* One statement, one transaction: the slot's rows go, and the table with them when it is
 * left empty; nothing when it is not there. */
int pgh_state_pending_clear(PGconn *dst, const char *schema, const char *slot, pgh_error *err)
{
    char *t = pgh_conn_qualified(dst, schema, "schema_pending");
    char *lit = t ? pgh_conn_literal(dst, t, strlen(t)) : NULL;
    char *slot_lit = pgh_conn_literal(dst, slot, strlen(slot));
    int rc = (t && lit && slot_lit) ? 0 : pgh_error_set(err, PGH_ENOMEM, "out of memory");
    pgh_buf sql;
    pgh_buf_init(&sql, 0);
    if (rc == 0)
        pgh_buf_printf(&sql,
                       "DO $pghost$ BEGIN IF to_regclass(%s) IS NOT NULL THEN "
                       "DELETE FROM %s WHERE slot_name = %s; "
                       "IF NOT EXISTS (SELECT 1 FROM %s) THEN DROP TABLE IF EXISTS %s; END IF; "
                       "END IF; END $pghost$",
                       lit, t, slot_lit, t, t);
    if (rc == 0)
        rc = pgh_buf_failed(&sql) ? pgh_error_set(err, PGH_ENOMEM, "out of memory")
                                  : pgh_conn_exec(dst, pgh_buf_str(&sql), err);
    pgh_buf_dispose(&sql);
    free(t);
    free(lit);
    free(slot_lit);
    return rc;
}
