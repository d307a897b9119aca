/*
 * <state_schema>.key_pending: the tables a run created without their key, whose key is built
 * after the copy (schema/key.c decides which): see state.h.
 */
#include <stdio.h>
#include <stdlib.h>

#include "pg/conn.h"
#include "state/state.h"
#include "util/buf.h"

static const char COLUMNS[] =
    " (slot_name text NOT NULL, dest_schema text NOT NULL, dest_name text NOT NULL, "
    "source_schema text NOT NULL, source_name text NOT NULL, "
    "PRIMARY KEY (slot_name, dest_schema, dest_name))";

/* Run before <the table's qualified name> after, with params; rows to *res when res is not
 * NULL. */
static int run(PGresult **res, PGconn *dst, const char *schema, const char *before,
               const char *after, int n, const char *const *params, pgh_error *err)
{
    char *t = pgh_conn_qualified(dst, schema, "key_pending");
    pgh_buf b;
    pgh_buf_init(&b, 0);
    pgh_buf_printf(&b, "%s%s%s", before, t ? t : "", after);
    PGresult *r = NULL;
    int rc = t && !pgh_buf_failed(&b) ? pgh_conn_query(&r, dst, pgh_buf_str(&b), n, params, err)
                                      : pgh_error_set(err, PGH_ENOMEM, "out of memory");
    if (res)
        *res = r;
    else
        PQclear(r);
    pgh_buf_dispose(&b);
    free(t);
    return rc;
}

static int exists(bool *out, PGconn *dst, const char *schema, pgh_error *err)
{
    const char *params[1] = {schema};
    PGresult *r = NULL;
    int rc = pgh_conn_query(&r, dst,
                            "SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace "
                            "n ON n.oid = c.relnamespace WHERE n.nspname = $1 "
                            "AND c.relname = 'key_pending'",
                            1, params, err);
    *out = rc == 0 && PQntuples(r) > 0;
    PQclear(r);
    return rc;
}

int pgh_state_key_pending_add(PGconn *dst, const char *schema, const char *slot,
                              const pgh_table_map *t, pgh_error *err)
{
    char *s = pgh_conn_ident(dst, schema);
    char sql[512];
    snprintf(sql, sizeof(sql), "CREATE SCHEMA IF NOT EXISTS %s", s ? s : "");
    int rc = s ? pgh_conn_exec(dst, sql, err) : pgh_error_set(err, PGH_ENOMEM, "out of memory");
    free(s);
    if (rc == 0)
        rc = run(NULL, dst, schema, "CREATE TABLE IF NOT EXISTS ", COLUMNS, 0, NULL, err);
    const char *params[5] = {slot, t->dest_schema, t->dest_table, t->source_schema,
                             t->source_table};
    if (rc == 0)
        rc = run(NULL, dst, schema,
                 "INSERT INTO ", " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING", 5, params,
                 err);
    if (rc != 0)
        pgh_error_prefix(err, "recording the pending key of %s.%s in %s.key_pending",
                         t->dest_schema, t->dest_table, schema);
    return rc;
}

int pgh_state_key_pending_read(PGconn *dst, const char *schema, const char *slot,
                               pgh_state_table_fn fn, void *payload, pgh_error *err)
{
    bool found = false;
    int rc = exists(&found, dst, schema, err);
    if (rc != 0 || !found)
        return rc;
    PGresult *r = NULL;
    rc = run(&r, dst, schema,
             "SELECT source_schema, source_name, dest_schema, dest_name FROM ",
             " WHERE slot_name = $1 ORDER BY dest_schema, dest_name",
             1, &slot, err);
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        pgh_table_map m = {PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2),
                           PQgetvalue(r, i, 3)};
        rc = fn(&m, payload, err);
    }
    PQclear(r);
    return rc;
}

int pgh_state_key_pending_done(PGconn *dst, const char *schema, const char *slot,
                               const char *dest_schema, const char *dest_name, pgh_error *err)
{
    bool found = false;
    int rc = exists(&found, dst, schema, err);
    if (rc != 0 || !found)
        return rc;
    const char *params[3] = {slot, dest_schema, dest_name};
    if (dest_schema == NULL)
        rc = run(NULL, dst, schema, "DELETE FROM ", " WHERE slot_name = $1", 1, params, err);
    else
        rc = run(NULL, dst, schema, "DELETE FROM ",
                 " WHERE slot_name = $1 AND dest_schema = $2 AND dest_name = $3", 3, params,
                 err);
    PGresult *r = NULL;
    if (rc == 0)
        rc = run(&r, dst, schema, "SELECT 1 FROM ", " LIMIT 1", 0, NULL, err);
    bool left = rc == 0 && PQntuples(r) > 0;
    PQclear(r);
    if (rc == 0 && !left)
        rc = run(NULL, dst, schema, "DROP TABLE IF EXISTS ", "", 0, NULL, err);
    return rc;
}
