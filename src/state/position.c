/* The position table on the destination: see include/pghost/state.h. */
#include "state/state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "pg/conn.h"
#include "pg/sqlstate.h"

static char *table_name(PGconn *dst, const char *schema)
{
    return pgh_conn_qualified(dst, schema, "state");
}

int pgh_state_ensure(PGconn *dst, const char *schema, pgh_error *err)
{
    char *s = pgh_conn_ident(dst, schema);
    char *t = table_name(dst, schema);
    int rc = (s && t) ? 0 : pgh_error_set(err, PGH_ENOMEM, "out of memory");
    pgh_buf sql;
    pgh_buf_init(&sql, 0);
    /* state: one row per slot. copy_tables / copy_ranges: a resumable copy's plan and each
     * range's progress (see src/source/copy_store.c). selected_tables: the tables of the
     * slot's sync, fixed at its start (src/core/selection_store.c). */
    pgh_buf_printf(&sql,
                   "CREATE SCHEMA IF NOT EXISTS %s; "
                   "CREATE TABLE IF NOT EXISTS %s (slot_name text PRIMARY KEY, "
                   "phase text NOT NULL, applied_lsn pg_lsn NOT NULL, checkpoint_lsn pg_lsn, "
                   "updated_at timestamptz NOT NULL DEFAULT now()); "
                   "CREATE TABLE IF NOT EXISTS %s.copy_tables (slot_name text, table_index int, "
                   "table_name text NOT NULL, arithmetic bool NOT NULL, min_key bigint, "
                   "width bigint, nranges bigint NOT NULL, nkeys int NOT NULL, bounds text[], "
                   "PRIMARY KEY (slot_name, table_index)); "
                   "CREATE TABLE IF NOT EXISTS %s.copy_ranges (slot_name text, table_index int, "
                   "range_index bigint, last_key text[], done bool NOT NULL, "
                   "rows_copied bigint NOT NULL DEFAULT 0, "
                   "PRIMARY KEY (slot_name, table_index, range_index)); "
                   /* state tables of an earlier pghost: the rows each range copied */
                   "ALTER TABLE %s.copy_ranges ADD COLUMN IF NOT EXISTS rows_copied bigint NOT "
                   "NULL DEFAULT 0; "
                   /* copy_method watermarks: which existing rows are still to deliver */
                   "ALTER TABLE %s ADD COLUMN IF NOT EXISTS resume text; "
                   "CREATE TABLE IF NOT EXISTS %s.selected_tables (slot_name text, "
                   "table_index int, source_schema text NOT NULL, source_table text NOT NULL, "
                   "dest_schema text NOT NULL, dest_table text NOT NULL, "
                   "PRIMARY KEY (slot_name, table_index))",
                   s ? s : "", t ? t : "", s ? s : "", s ? s : "", s ? s : "", t ? t : "",
                   s ? s : "");
    if (rc == 0) {
        PGresult *res = PQexec(dst, pgh_buf_str(&sql));
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
            rc = pgh_conn_error(err, dst, res, "creating pghost's state table");
        PQclear(res);
    }
    pgh_buf_dispose(&sql);
    free(s);
    free(t);
    return rc;
}

int pgh_state_read(pgh_state *out, PGconn *dst, const char *schema, const char *slot,
                   pgh_error *err)
{
    memset(out, 0, sizeof(*out));
    const char *params[2] = {schema, slot};
    PGresult *res = NULL;
    /* to_regclass: no table yet simply means no state. */
    int rc = pgh_conn_query(&res, dst,
                            "SELECT to_regclass(format('%I.state', $1::text)) IS NOT NULL", 1,
                            params, err);
    bool exists = rc == 0 && PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (rc != 0 || !exists)
        return rc;
    char *t = table_name(dst, schema);
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT phase, applied_lsn, coalesce(checkpoint_lsn, '0/0') FROM %s "
             "WHERE slot_name = $1",
             t ? t : "");
    free(t);
    rc = pgh_conn_query(&res, dst, sql, 1, params + 1, err);
    if (rc == 0 && PQntuples(res) == 1) {
        out->found = true;
        snprintf(out->phase, sizeof(out->phase), "%s", PQgetvalue(res, 0, 0));
        pgh_lsn_parse(&out->applied_lsn, PQgetvalue(res, 0, 1));
        pgh_lsn_parse(&out->checkpoint_lsn, PQgetvalue(res, 0, 2));
    }
    PQclear(res);
    return rc;
}

int pgh_state_write(PGconn *dst, const char *schema, const char *slot, const pgh_state *st,
                    pgh_error *err)
{
    char *t = table_name(dst, schema);
    if (t == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    char sql[768];
    snprintf(sql, sizeof(sql),
             "INSERT INTO %s (slot_name, phase, applied_lsn, checkpoint_lsn) "
             "VALUES ($1, $2, $3, $4) ON CONFLICT (slot_name) DO UPDATE SET "
             "phase = excluded.phase, applied_lsn = excluded.applied_lsn, "
             "checkpoint_lsn = excluded.checkpoint_lsn, updated_at = now()",
             t);
    free(t);
    char applied[32];
    char checkpoint[32];
    snprintf(applied, sizeof(applied), PGH_LSN_FMT, PGH_LSN_ARGS(st->applied_lsn));
    snprintf(checkpoint, sizeof(checkpoint), PGH_LSN_FMT, PGH_LSN_ARGS(st->checkpoint_lsn));
    const char *params[4] = {slot, st->phase, applied, checkpoint};
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, dst, sql, 4, params, err);
    PQclear(res);
    return rc;
}

char *pgh_state_update_sql(PGconn *dst, const char *schema)
{
    char *t = table_name(dst, schema);
    if (t == NULL)
        return NULL;
    pgh_buf sql;
    pgh_buf_init(&sql, 0);
    pgh_buf_printf(&sql,
                   "UPDATE %s SET applied_lsn = $1::pg_lsn, updated_at = now() "
                   "WHERE slot_name = $2",
                   t);
    free(t);
    return pgh_buf_take(&sql);
}

char *pgh_state_update_resume_sql(PGconn *dst, const char *schema)
{
    char *t = table_name(dst, schema);
    if (t == NULL)
        return NULL;
    pgh_buf sql;
    pgh_buf_init(&sql, 0);
    pgh_buf_printf(&sql,
                   "UPDATE %s SET applied_lsn = $1::pg_lsn, resume = $3, phase = $4, "
                   "updated_at = now() WHERE slot_name = $2",
                   t);
    free(t);
    return pgh_buf_take(&sql);
}

int pgh_state_read_resume(char **out, PGconn *dst, const char *schema, const char *slot,
                          pgh_error *err)
{
    *out = NULL;
    char *t = table_name(dst, schema);
    if (t == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    char sql[512];
    snprintf(sql, sizeof(sql), "SELECT resume FROM %s WHERE slot_name = $1", t);
    free(t);
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, dst, sql, 1, &slot, err);
    if (rc == 0 && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
        *out = strdup(PQgetvalue(res, 0, 0));
        if (*out == NULL)
            rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
    }
    PQclear(res);
    return rc;
}

/* Run sql, which returns no rows; SQLSTATE `tolerated` is not an error. */
static int exec_tolerating(PGconn *dst, const char *sql, const char *tolerated, pgh_error *err)
{
    PGresult *res = PQexec(dst, sql);
    int rc = 0;
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (!(tolerated && state && strcmp(state, tolerated) == 0))
            rc = pgh_conn_error(err, dst, res, "removing pghost's state");
    }
    PQclear(res);
    return rc;
}

/* The statements that delete the slot's rows from one of pghost's tables and drop the table
 * when it is empty (LOCK makes the emptiness check hold), inside a DO block; nothing when the
 * table is not there. nowait: the lock is not waited for (55P03 instead). */
static int drop_rows_sql(pgh_buf *sql, PGconn *dst, const char *schema, const char *name,
                         const char *key, const char *slot, bool nowait, pgh_error *err)
{
    char *t = pgh_conn_qualified(dst, schema, name);
    char *lit = t ? pgh_conn_literal(dst, t, strlen(t)) : NULL;
    char *slot_lit = pgh_conn_literal(dst, slot, strlen(slot));
    char *col = pgh_conn_ident(dst, key);
    int rc = (t && lit && slot_lit && col) ? 0 : pgh_error_set(err, PGH_ENOMEM, "out of memory");
    if (rc == 0)
        pgh_buf_printf(sql,
                       "IF to_regclass(%s) IS NOT NULL THEN LOCK TABLE %s%s; "
                       "DELETE FROM %s WHERE %s = %s; "
                       "IF NOT EXISTS (SELECT 1 FROM %s) THEN DROP TABLE %s; END IF; END IF; ",
                       lit, t, nowait ? " NOWAIT" : "", t, col, slot_lit, t, t);
    free(t);
    free(lit);
    free(slot_lit);
    free(col);
    return rc;
}

/* Each table of the state schema, with the column naming the slot, in the order their locks
 * are taken. ddl_tables is the apply's mapping of tables replicated DDL changed. */
static const char *const STATE_TABLES[][2] = {
    {"copy_ranges", "slot_name"}, {"copy_tables", "slot_name"},
    {"selected_tables", "slot_name"}, {"ddl_tables", "slot"}, {"missing_rows", "slot_name"},
    {"state", "slot_name"}};
#define NSTATE_TABLES (sizeof(STATE_TABLES) / sizeof(STATE_TABLES[0]))

/* One DO block for the tables [from, to): one transaction, one round trip. qschema (quoted;
 * NULL: not in this block): then the schema goes too when it is left empty, unless another
 * session holds it (creating a table in it, say: it is in use, and waiting could deadlock). */
static int drop_tables(PGconn *dst, const char *schema, const char *slot, size_t from, size_t to,
                       bool nowait, const char *qschema, pgh_error *err)
{
    pgh_buf sql;
    pgh_buf_init(&sql, 0);
    pgh_buf_puts(&sql, "DO $pghost$ DECLARE lt text := pg_catalog.current_setting('lock_timeout'); "
                       "BEGIN ");
    int rc = 0;
    for (size_t i = from; rc == 0 && i < to; i++)
        rc = drop_rows_sql(&sql, dst, schema, STATE_TABLES[i][0], STATE_TABLES[i][1], slot,
                           nowait, err);
    if (qschema)
        pgh_buf_printf(&sql,
                       "BEGIN PERFORM pg_catalog.set_config('lock_timeout', '1', true); "
                       "DROP SCHEMA IF EXISTS %s; "
                       "EXCEPTION WHEN dependent_objects_still_exist OR lock_not_available "
                       "THEN NULL; END; "
                       "PERFORM pg_catalog.set_config('lock_timeout', lt, true); ",
                       qschema);
    pgh_buf_puts(&sql, "END $pghost$");
    if (rc == 0)
        rc = pgh_buf_failed(&sql) ? pgh_error_set(err, PGH_ENOMEM, "out of memory")
                                  : exec_tolerating(dst, pgh_buf_str(&sql), NULL, err);
    pgh_buf_dispose(&sql);
    return rc;
}

/* All the tables and the schema in one transaction when no other session holds any of the
 * tables: at the end of a sync nobody else usually does. Otherwise each table in its own
 * transaction, waiting for its lock, holding one lock at a time (a run of another slot writing
 * the same tables in another order meanwhile cannot deadlock with it), then the schema. */
int pgh_state_drop(PGconn *dst, const char *schema, const char *slot, pgh_error *err)
{
    char *s = pgh_conn_ident(dst, schema);
    if (s == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    pgh_error e;
    pgh_error_clear(&e);
    int rc = drop_tables(dst, schema, slot, 0, NSTATE_TABLES, true, s, &e);
    if (rc == 0 || !pgh_pg_error_is(&e, PGH_SQLSTATE_LOCK_NOT_AVAILABLE)) {
        if (rc != 0 && err)
            *err = e;
        free(s);
        return rc;
    }
    rc = 0;
    for (size_t i = 0; rc == 0 && i < NSTATE_TABLES; i++)
        rc = drop_tables(dst, schema, slot, i, i + 1, false, NULL, err);
    if (rc == 0) {
        char sql[256];
        /* 2BP01: something else lives in the schema; it stays. */
        snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s", s);
        rc = exec_tolerating(dst, sql, PGH_SQLSTATE_DEPENDENT_OBJECTS, err);
    }
    free(s);
    return rc;
}
