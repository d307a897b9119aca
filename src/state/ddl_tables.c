/*
 * <state_schema>.ddl_tables: the table mapping of a following applier as replicated DDL left
 * it (renamed, created, dropped tables), written by the PostgreSQL destination in the
 * transaction of the DDL (dest/postgres/ddl.c): see state.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"
#include "state/state.h"
#include "util/buf.h"

static int exists(bool *out, PGconn *dst, const char *schema, pgh_error *err)
{
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, dst,
                            "SELECT to_regclass(format('%I.ddl_tables', $1::text)) IS NOT NULL",
                            1, &schema, err);
    *out = rc == 0 && PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    return rc;
}

int pgh_state_ddl_tables_write(PGconn *dst, const char *schema, const char *slot,
                               const pgh_state_ddl_table *rows, int n, pgh_error *err)
{
    char *t = pgh_conn_qualified(dst, schema, "ddl_tables");
    if (t == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    pgh_buf sql;
    pgh_buf_init(&sql, 0);
    pgh_buf_printf(&sql,
                   "CREATE TABLE IF NOT EXISTS %1$s (slot text, idx int, origin_schema text, "
                   "origin_table text, source_schema text, source_table text, dest_schema text "
                   "NOT NULL, dest_table text NOT NULL, PRIMARY KEY (slot, idx))",
                   t);
    int rc = pgh_conn_exec(dst, pgh_buf_str(&sql), err);
    PGresult *res = NULL;
    if (rc == 0) {
        pgh_buf_reset(&sql);
        pgh_buf_printf(&sql, "DELETE FROM %s WHERE slot = $1", t);
        rc = pgh_conn_query(&res, dst, pgh_buf_str(&sql), 1, &slot, err);
        PQclear(res);
    }
    pgh_buf_reset(&sql);
    pgh_buf_printf(&sql, "INSERT INTO %s VALUES ($1, $2, $3, $4, $5, $6, $7, $8)", t);
    for (int i = 0; rc == 0 && i < n; i++) {
        const pgh_state_ddl_table *r = &rows[i];
        char idx[16];
        snprintf(idx, sizeof(idx), "%d", i);
        const char *p[8] = {slot,
                            idx,
                            r->origin_schema,
                            r->origin_table,
                            r->now.source_schema,
                            r->now.source_table,
                            r->now.dest_schema,
                            r->now.dest_table};
        rc = pgh_conn_query(&res, dst, pgh_buf_str(&sql), 8, p, err);
        PQclear(res);
    }
    pgh_buf_dispose(&sql);
    free(t);
    return rc;
}

int pgh_state_ddl_tables_read(PGconn *dst, const char *schema, const char *slot,
                              pgh_state_ddl_table_fn fn, void *payload, pgh_error *err)
{
    bool found = false;
    int rc = exists(&found, dst, schema, err);
    if (rc != 0 || !found)
        return rc;
    char *t = pgh_conn_qualified(dst, schema, "ddl_tables");
    if (t == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    pgh_buf sql;
    pgh_buf_init(&sql, 0);
    pgh_buf_printf(&sql,
                   "SELECT idx, origin_schema, origin_table, source_schema, source_table, "
                   "dest_schema, dest_table FROM %s WHERE slot = $1 ORDER BY idx",
                   t);
    free(t);
    PGresult *res = NULL;
    rc = pgh_conn_query(&res, dst, pgh_buf_str(&sql), 1, &slot, err);
    pgh_buf_dispose(&sql);
    for (int r = 0; rc == 0 && r < PQntuples(res); r++) {
        const char *v[6];
        for (int c = 0; c < 6; c++)
            v[c] = PQgetisnull(res, r, c + 1) ? NULL : PQgetvalue(res, r, c + 1);
        pgh_state_ddl_table row = {.origin_schema = v[0], .origin_table = v[1],
                                   .now = {(char *)v[2], (char *)v[3], (char *)v[4],
                                           (char *)v[5]}};
        rc = fn((int)strtol(PQgetvalue(res, r, 0), NULL, 10), &row, payload, err);
    }
    PQclear(res);
    return rc;
}

/* What followed_names builds: one "schema\ttable" (or NULL) per followed table. */
typedef struct names_ctx {
    char ***names;
    int *n;
    const pgh_table_map *rec;
    size_t nrec;
} names_ctx;

static int on_ddl_row(int idx, const pgh_state_ddl_table *row, void *payload, pgh_error *err)
{
    names_ctx *c = payload;
    const char *now_schema = row->now.source_schema;
    if (idx >= 0 && (size_t)idx < c->nrec) {
        if (row->origin_schema == NULL || row->origin_table == NULL ||
            strcmp(row->origin_schema, c->rec[idx].source_schema) != 0 ||
            strcmp(row->origin_table, c->rec[idx].source_table) != 0)
            return 0;
        free((*c->names)[idx]);
        (*c->names)[idx] = NULL;
    } else if (now_schema) {
        char **grown = realloc(*c->names, (size_t)(*c->n + 2) * sizeof(char *));
        if (grown == NULL)
            return pgh_error_set(err, PGH_ENOMEM, "out of memory");
        *c->names = grown;
        idx = (*c->n)++;
        (*c->names)[idx] = NULL;
    } else {
        return 0;
    }
    if (now_schema == NULL)
        return 0;
    pgh_buf b;
    pgh_buf_init(&b, 0);
    pgh_buf_printf(&b, "%s\t%s", now_schema, row->now.source_table);
    (*c->names)[idx] = pgh_buf_take(&b);
    return (*c->names)[idx] ? 0 : pgh_error_set(err, PGH_ENOMEM, "out of memory");
}

int pgh_state_followed_names(char ***names, int *n, PGconn *dst, const char *schema,
                             const char *slot, const pgh_table_map *rec, size_t nrec,
                             pgh_error *err)
{
    *n = (int)nrec;
    *names = calloc(nrec + 1, sizeof(char *));
    if (*names == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    for (size_t i = 0; i < nrec; i++) {
        pgh_buf b;
        pgh_buf_init(&b, 0);
        pgh_buf_printf(&b, "%s\t%s", rec[i].source_schema, rec[i].source_table);
        (*names)[i] = pgh_buf_take(&b);
        if ((*names)[i] == NULL)
            return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    }
    names_ctx c = {names, n, rec, nrec};
    return pgh_state_ddl_tables_read(dst, schema, slot, on_ddl_row, &c, err);
}
