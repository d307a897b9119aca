/*
 * Relations announced by the stream, mapped onto destination tables, and their prepared
 * statements.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply_internal.h"
#include "pg/conn.h"
#include "pghost/log.h"
#include "util/buf.h"

void pgh_apply__rel_free(apply_rel *r)
{
    if (r == NULL)
        return;
    for (int i = 0; r->col_ident && i < r->ncols; i++)
        free(r->col_ident[i]);
    free(r->col_ident);
    free(r->dst_col);
    free(r->key_att);
    for (int i = 0; i < r->nstmts; i++) {
        free(r->stmts[i].sql);
        free(r->stmts[i].atts);
    }
    free(r->stmts);
    pgh_table_info_free(r->dst);
    free(r);
}

static int find_map(const pgh_relation *rel, const pgh_table_map *tables, int ntables)
{
    for (int i = 0; i < ntables; i++)
        if (tables[i].source_schema != NULL && /* NULL: dropped (ddl.c) */
            strcmp(tables[i].source_schema, rel->nspname) == 0 &&
            strcmp(tables[i].source_table, rel->relname) == 0)
            return i;
    return -1;
}

/* The destination's spelling of each relation column's type (format_type), for built-in
 * types (OID below FirstNormalObjectId, the same on every server); NULL entries otherwise.
 * *out is a result the caller clears: row i is relation column i. */
static int source_types(PGresult **out, PGconn *conn, const pgh_relation *rel, pgh_error *err)
{
    pgh_buf oids, mods;
    pgh_buf_init(&oids, 0);
    pgh_buf_init(&mods, 0);
    for (int i = 0; i < rel->ncols; i++) {
        pgh_buf_printf(&oids, "%s%u", i ? "," : "{", rel->cols[i].type_oid);
        pgh_buf_printf(&mods, "%s%d", i ? "," : "{", (int)rel->cols[i].typmod);
    }
    pgh_buf_puts(&oids, rel->ncols ? "}" : "{}");
    pgh_buf_puts(&mods, rel->ncols ? "}" : "{}");
    const char *p[2] = {pgh_buf_str(&oids), pgh_buf_str(&mods)};
    int rc = pgh_buf_failed(&oids) || pgh_buf_failed(&mods)
                 ? pgh_error_set(err, PGH_ENOMEM, "out of memory")
                 : pgh_conn_query(out, conn,
                                  "SELECT CASE WHEN t.o < 16384 THEN format_type(t.o, t.m) END "
                                  "FROM unnest($1::oid[], $2::int[]) WITH ORDINALITY t(o, m, n) "
                                  "ORDER BY t.n",
                                  2, p, err);
    pgh_buf_dispose(&oids);
    pgh_buf_dispose(&mods);
    return rc;
}

/* List every difference between the relation's columns and the destination table's into
 * diff; *missing counts source columns the destination lacks. */
static void describe_drift(pgh_buf *diff, int *missing, const apply_rel *r,
                           const pgh_relation *rel, const PGresult *types)
{
    *missing = 0;
    for (int i = 0; i < rel->ncols; i++) {
        const char *type = PQgetisnull(types, i, 0) ? NULL : PQgetvalue(types, i, 0);
        int j = pgh_table_column_index(r->dst, rel->cols[i].name);
        if (j < 0) {
            (*missing)++;
            pgh_buf_printf(diff, "; column %s (%s) is missing on the destination",
                           rel->cols[i].name, type ? type : "a type that is not built in");
        } else if (type && r->dst->cols[j].builtin_type &&
                   !pgh_catalog_type_converts(type, r->dst->cols[j].type_name)) {
            pgh_buf_printf(diff, "; column %s is %s on the source but %s on the destination",
                           rel->cols[i].name, type, r->dst->cols[j].type_name);
        }
    }
    /* pgoutput (PostgreSQL 15) never sends generated columns, nor those outside the
     * publication's column list. Columns of the destination's own keep their defaults, as with
     * a native subscriber, unless no row could be written without them. */
    for (int j = 0; j < r->dst->ncols; j++) {
        const pgh_table_column *d = &r->dst->cols[j];
        bool sent = false;
        for (int i = 0; i < rel->ncols && !sent; i++)
            sent = strcmp(rel->cols[i].name, d->name) == 0;
        if (!sent && !d->generated && d->not_null && !d->has_default)
            pgh_buf_printf(diff,
                           "; column %s (%s) is on the destination only, NOT NULL without a "
                           "default",
                           d->name, d->type_name);
    }
}

/* schema_drift add_columns: ALTER TABLE ... ADD COLUMN for each column the destination lacks
 * (built-in types only), then read the destination table again. */
static int add_columns(apply_rel *r, PGconn *conn, const pgh_relation *rel,
                       const PGresult *types, pgh_error *err)
{
    int rc = 0;
    pgh_buf sql;
    pgh_buf_init(&sql, 0);
    for (int i = 0; rc == 0 && i < rel->ncols; i++) {
        if (pgh_table_column_index(r->dst, rel->cols[i].name) >= 0 || PQgetisnull(types, i, 0))
            continue;
        char *col = pgh_conn_ident(conn, rel->cols[i].name);
        pgh_buf_reset(&sql);
        pgh_buf_printf(&sql, "ALTER TABLE %s ADD COLUMN IF NOT EXISTS %s %s", r->dst->qualified,
                       col ? col : "", PQgetvalue(types, i, 0));
        rc = col && !pgh_buf_failed(&sql) ? pgh_conn_exec(conn, pgh_buf_str(&sql), err)
                                          : pgh_error_set(err, PGH_ENOMEM, "out of memory");
        free(col);
    }
    pgh_buf_dispose(&sql);
    if (rc == 0) {
        char *schema = strdup(r->dst->schema), *name = strdup(r->dst->name);
        pgh_table_info_free(r->dst);
        r->dst = NULL;
        rc = schema && name ? pgh_catalog_table(&r->dst, conn, schema, name, err)
                            : pgh_error_set(err, PGH_ENOMEM, "out of memory");
        free(schema);
        free(name);
    }
    return rc;
}

/* The relation's columns must be the destination table's: without DDL capture (or for a
 * change it did not carry), stop naming every difference, or add the new columns first. */
static int check_drift(apply_rel *r, PGconn *conn, const pgh_relation *rel,
                       pgh_schema_drift drift, pgh_error *err)
{
    PGresult *types = NULL;
    int rc = source_types(&types, conn, rel, err);
    pgh_buf diff;
    pgh_buf_init(&diff, 0);
    int missing = 0;
    if (rc == 0)
        describe_drift(&diff, &missing, r, rel, types);
    if (rc == 0 && missing > 0 && drift == PGH_SCHEMA_DRIFT_ADD_COLUMNS) {
        rc = add_columns(r, conn, rel, types, err);
        pgh_buf_reset(&diff);
        if (rc == 0)
            describe_drift(&diff, &missing, r, rel, types);
    }
    if (rc == 0 && diff.len > 0)
        rc = pgh_error_set(err, PGH_ESINK,
                           "source table %s.%s and destination table %s.%s differ%s: no DDL "
                           "capture carried this change over; make the same change on the "
                           "destination, then run pghost again (pghost init installs the DDL "
                           "capture; schema_drift: add_columns adds new columns by itself)",
                           rel->nspname, rel->relname, r->dst->schema, r->dst->name,
                           pgh_buf_str(&diff));
    pgh_buf_dispose(&diff);
    PQclear(types);
    return rc;
}

/* Every relation column must exist on the destination; remember its quoted name. */
static int map_columns(apply_rel *r, PGconn *conn, const pgh_relation *rel, pgh_error *err)
{
    r->col_ident = calloc((size_t)(rel->ncols ? rel->ncols : 1), sizeof(char *));
    r->dst_col = calloc((size_t)(rel->ncols ? rel->ncols : 1), sizeof(int));
    if (r->col_ident == NULL || r->dst_col == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    r->ncols = rel->ncols;
    for (int i = 0; i < rel->ncols; i++) {
        if (pgh_table_column_index(r->dst, rel->cols[i].name) < 0)
            return pgh_error_set(err, PGH_EPRECOND,
                                 "column %s of %s.%s is not in destination table %s.%s",
                                 rel->cols[i].name, rel->nspname, rel->relname, r->dst->schema,
                                 r->dst->name);
        r->dst_col[i] = pgh_table_column_index(r->dst, rel->cols[i].name);
        r->col_ident[i] = pgh_conn_ident(conn, rel->cols[i].name);
        if (r->col_ident[i] == NULL)
            return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    }
    return 0;
}

/* Rows are found by the destination's primary key; its columns must all be in the stream. */
static int map_keys(apply_rel *r, const pgh_relation *rel, pgh_error *err)
{
    /* A source table without a key (REPLICA IDENTITY FULL, old rows sent whole): its rows are
     * matched on every column. The preflight saw to it that such a destination table has no key
     * either (dest/postgres/checks.c), and that a source with a key has a destination with it. */
    r->keyless = rel->replident == 'f' && r->dst->nkeys == 0;
    if (r->keyless)
        return 0;
    if (r->dst->nkeys == 0)
        return pgh_error_set(err, PGH_EPRECOND,
                             "destination table %s.%s has no primary key nor unique index on "
                             "NOT NULL columns: pghost finds rows by key; add one",
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
                         const apply_ddl *ddl, pgh_error *err)
{
    *out = NULL;
    apply_rel *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    r->oid = rel->oid;
    r->map = find_map(rel, ddl->tables, ddl->ntables);
    int rc = 0;
    if (r->map >= 0) {
        const pgh_table_map *m = &ddl->tables[r->map];
        rc = pgh_catalog_table(&r->dst, conn, m->dest_schema, m->dest_table, err);
        if (rc == 0)
            rc = check_drift(r, conn, rel, ddl->drift, err);
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
                    int nparams, const short *atts, int *name_counter, pgh_error *err)
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
    st->atts = calloc((size_t)nparams + 1, sizeof(*st->atts));
    if (st->sql == NULL || st->atts == NULL) {
        free(st->sql);
        free(st->atts);
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    }
    for (int i = 0; i < nparams; i++)
        st->atts[i] = atts ? atts[i] : -1;
    PGresult *res = PQprepare(conn, st->name, sql, nparams, NULL);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        int rc = pgh_conn_error(err, conn, res, "preparing a statement on the destination");
        PQclear(res);
        free(st->sql);
        free(st->atts);
        return rc;
    }
    PQclear(res);
    /* The text holds identifiers and $n placeholders only: no value is logged. */
    if (pgh_log_enabled(PGH_LOG_TRACE) && r->dst) {
        char table[132];
        snprintf(table, sizeof(table), "%s.%s", r->dst->schema, r->dst->name);
        pgh_log_at(PGH_LOG_TRACE, "apply", table, 0, "prepared %s: %s", st->name, sql);
    }
    r->nstmts++;
    *out = st;
    return 0;
}
