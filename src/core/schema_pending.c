/*
 * The record of the tables a --follow run created and whose deferred indexes and constraints
 * are not all built yet: <state_schema>.schema_pending, one row per table. It is written in the
 * transaction that creates the tables, so a re-run after any interruption knows which tables
 * are pghost's to finish (an existing table is never altered), and removed once the deferred
 * build is done.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pghost/conn.h"
#include "pghost/log.h"
#include "schema_internal.h"

static char *pending_table(PGconn *dst, const char *schema)
{
    return pgh_conn_qualified(dst, schema, "schema_pending");
}

/* Insert c's tables for slot, numbered after the rows already there. */
static int pending_write(PGconn *dst, const char *schema, const char *slot,
                         const pgh_schema_created *c, pgh_error *err)
{
    char *t = pending_table(dst, schema);
    if (t == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    char sql[1024];
    int rc = pgh_schema__ensure_schema(dst, schema, err);
    if (rc == 0) {
        snprintf(sql, sizeof(sql),
                 "CREATE TABLE IF NOT EXISTS %s (slot_name text NOT NULL, ord int NOT NULL, "
                 "source_schema text NOT NULL, source_name text NOT NULL, dest_schema text NOT "
                 "NULL, dest_name text NOT NULL, PRIMARY KEY (slot_name, ord))",
                 t);
        rc = pgh_conn_exec(dst, sql, err);
    }
    snprintf(sql, sizeof(sql),
             "INSERT INTO %s SELECT $1, coalesce(max(ord) + 1, 0), $2, $3, $4, $5 FROM %s "
             "WHERE slot_name = $1",
             t, t);
    for (int i = 0; rc == 0 && i < c->n; i++) {
        const pgh_schema_table *e = &c->tables[i];
        const char *params[5] = {slot, e->source_schema, e->source_name, e->dest_schema,
                                 e->dest_name};
        PGresult *res = NULL;
        rc = pgh_conn_query(&res, dst, sql, 5, params, err);
        PQclear(res);
    }
    if (rc != 0)
        pgh_error_prefix(err, "recording the created tables in %s.schema_pending", schema);
    free(t);
    return rc;
}

int pgh_schema__pending_record(pgh_schema_created *c, PGconn *dst, const char *schema,
                               const char *slot, pgh_error *err)
{
    pgh_schema_created earlier;
    int rc = pgh_schema_pending_read(&earlier, dst, schema, slot, err);
    if (rc == 0 && c->n > 0)
        rc = pending_write(dst, schema, slot, c, err);
    int new_n = c->n;
    for (int i = 0; rc == 0 && i < earlier.n; i++) {
        const pgh_schema_table *e = &earlier.tables[i];
        bool again = false; /* dropped since, and created again by this run */
        for (int k = 0; k < new_n && !again; k++)
            again = strcmp(c->tables[k].dest_schema, e->dest_schema) == 0 &&
                    strcmp(c->tables[k].dest_name, e->dest_name) == 0;
        if (!again)
            rc = pgh_schema__add(c, e->source_schema, e->source_name, e->dest_schema,
                                 e->dest_name, err);
    }
    if (rc == 0 && earlier.n > 0)
        pgh_log(PGH_LOG_INFO, "schema",
                "the indexes and constraints of %d tables an interrupted run created are still "
                "to be built",
                earlier.n);
    pgh_schema_created_dispose(&earlier);
    return rc;
}

static int table_exists(bool *out, PGconn *dst, const char *schema, pgh_error *err)
{
    const char *params[1] = {schema};
    char *v = NULL;
    int rc = pgh_schema__value(&v, dst,
                               "SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace "
                               "n ON n.oid = c.relnamespace WHERE n.nspname = $1 "
                               "AND c.relname = 'schema_pending'",
                               1, params, err);
    *out = v != NULL;
    free(v);
    return rc;
}

int pgh_schema_pending_read(pgh_schema_created *out, PGconn *dst, const char *record_schema,
                            const char *slot, pgh_error *err)
{
    memset(out, 0, sizeof(*out));
    bool exists = false;
    int rc = table_exists(&exists, dst, record_schema, err);
    if (rc != 0 || !exists)
        return rc;
    char *t = pending_table(dst, record_schema);
    if (t == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT source_schema, source_name, dest_schema, dest_name FROM %s "
             "WHERE slot_name = $1 GROUP BY 1, 2, 3, 4 ORDER BY min(ord)",
             t);
    free(t);
    const char *params[1] = {slot};
    PGresult *res = NULL;
    rc = pgh_conn_query(&res, dst, sql, 1, params, err);
    for (int i = 0; rc == 0 && i < PQntuples(res); i++)
        rc = pgh_schema__add(out, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
                             PQgetvalue(res, i, 2), PQgetvalue(res, i, 3), err);
    PQclear(res);
    return rc;
}

int pgh_schema_pending_clear(PGconn *dst, const char *record_schema, const char *slot,
                             pgh_error *err)
{
    bool exists = false;
    int rc = table_exists(&exists, dst, record_schema, err);
    if (rc != 0 || !exists)
        return rc;
    char *t = pending_table(dst, record_schema);
    if (t == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    char sql[512];
    snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE slot_name = $1", t);
    const char *params[1] = {slot};
    PGresult *res = NULL;
    rc = pgh_conn_query(&res, dst, sql, 1, params, err);
    PQclear(res);
    char *left = NULL;
    if (rc == 0) {
        snprintf(sql, sizeof(sql), "SELECT 1 FROM %s LIMIT 1", t);
        rc = pgh_schema__value(&left, dst, sql, 0, NULL, err);
    }
    if (rc == 0 && left == NULL) {
        snprintf(sql, sizeof(sql), "DROP TABLE IF EXISTS %s", t);
        rc = pgh_conn_exec(dst, sql, err);
    }
    free(left);
    free(t);
    return rc;
}
