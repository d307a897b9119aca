/*
 * Relations announced by the stream, mapped onto destination tables, and their prepared
 * statements.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply_internal.h"
#include "pghost/conn.h"

void pgh_apply__rel_free(apply_rel *r)
{
    if (r == NULL)
        return;
    for (int i = 0; r->col_ident && i < r->ncols; i++)
        free(r->col_ident[i]);
    free(r->col_ident);
    free(r->key_att);
    for (int i = 0; i < r->nstmts; i++)
        free(r->stmts[i].sql);
    free(r->stmts);
    pgh_table_info_free(r->dst);
    free(r);
}

static int find_map(const pgh_relation *rel, const pgh_table_map *tables, int ntables)
{
    for (int i = 0; i < ntables; i++)
        if (strcmp(tables[i].source_schema, rel->nspname) == 0 &&
            strcmp(tables[i].source_table, rel->relname) == 0)
            return i;
    return -1;
}

/* Every relation column must exist on the destination; remember its quoted name. */
static int map_columns(apply_rel *r, PGconn *conn, const pgh_relation *rel, pgh_error *err)
{
    r->col_ident = calloc((size_t)(rel->ncols ? rel->ncols : 1), sizeof(char *));
    if (r->col_ident == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    r->ncols = rel->ncols;
    for (int i = 0; i < rel->ncols; i++) {
        if (pgh_table_column_index(r->dst, rel->cols[i].name) < 0)
            return pgh_error_set(err, PGH_EPRECOND,
                                 "column %s of %s.%s is not in destination table %s.%s",
                                 rel->cols[i].name, rel->nspname, rel->relname, r->dst->schema,
                                 r->dst->name);
        r->col_ident[i] = pgh_conn_ident(conn, rel->cols[i].name);
        if (r->col_ident[i] == NULL)
            return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    }
    return 0;
}

/* Rows are found by the destination's primary key; its columns must all be in the stream. */
static int map_keys(apply_rel *r, const pgh_relation *rel, pgh_error *err)
{
    if (r->dst->nkeys == 0)
        return pgh_error_set(err, PGH_EPRECOND,
                             "destination table %s.%s has no primary key: pghost finds rows by "
                             "primary key; add one",
                             r->dst->schema, r->dst->name);
    r->key_att = calloc((size_t)r->dst->nkeys, sizeof(int));
    if (r->key_att == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    r->nkeys = r->dst->nkeys;
    for (int k = 0; k < r->nkeys; k++) {
        const char *name = r->dst->cols[r->dst->key_cols[k]].name;
        r->key_att[k] = -1;
        for (int i = 0; i < rel->ncols; i++)
            if (strcmp(rel->cols[i].name, name) == 0)
                r->key_att[k] = i;
        if (r->key_att[k] < 0)
            return pgh_error_set(err, PGH_EPRECOND,
                                 "key column %s of %s.%s is not in the source's stream", name,
                                 r->dst->schema, r->dst->name);
    }
    return 0;
}

int pgh_apply__rel_build(apply_rel **out, PGconn *conn, const pgh_relation *rel,
                         const pgh_table_map *tables, int ntables, pgh_error *err)
{
    *out = NULL;
    apply_rel *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    r->oid = rel->oid;
    r->map = find_map(rel, tables, ntables);
    int rc = 0;
    if (r->map >= 0) {
        const pgh_table_map *m = &tables[r->map];
        rc = pgh_catalog_table(&r->dst, conn, m->dest_schema, m->dest_table, err);
        if (rc == 0)
            rc = map_columns(r, conn, rel, err);
        if (rc == 0)
            rc = map_keys(r, rel, err);
    }
    if (rc != 0) {
        pgh_apply__rel_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

int pgh_apply__stmt(const apply_stmt **out, apply_rel *r, PGconn *conn, const char *sql,
                    int nparams, int *name_counter, pgh_error *err)
{
    for (int i = 0; i < r->nstmts; i++) {
        if (strcmp(r->stmts[i].sql, sql) == 0) {
            *out = &r->stmts[i];
            return 0;
        }
    }
    if (r->nstmts == r->stmt_cap) {
        int cap = r->stmt_cap ? r->stmt_cap * 2 : 8;
        apply_stmt *s = realloc(r->stmts, (size_t)cap * sizeof(*s));
        if (s == NULL)
            return pgh_error_set(err, PGH_ENOMEM, "out of memory");
        r->stmts = s;
        r->stmt_cap = cap;
    }
    apply_stmt *st = &r->stmts[r->nstmts];
    snprintf(st->name, sizeof(st->name), "pghost_%d", ++*name_counter);
    st->nparams = nparams;
    st->sql = strdup(sql);
    if (st->sql == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    PGresult *res = PQprepare(conn, st->name, sql, nparams, NULL);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        int rc = pgh_conn_error(err, conn, res, "preparing a statement on the destination");
        PQclear(res);
        free(st->sql);
        return rc;
    }
    PQclear(res);
    r->nstmts++;
    *out = st;
    return 0;
}
