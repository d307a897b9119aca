/* A DuckDB table and its staging table: see duckdb_table.h. */
#include "duckdb_table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duckdb_types.h"

#define SQL_MAX (16u << 20)

/* A finished statement from b, or PGH_ENOMEM. */
static int take(char **out, pgh_buf *b, pgh_error *err)
{
    *out = pgh_buf_failed(b) ? NULL : pgh_buf_take(b);
    pgh_buf_dispose(b);
    return *out ? 0 : pgh_error_set(err, PGH_ENOMEM, "DuckDB destination: out of memory");
}

/* Run the statement built in b. */
static int run(duck_conn *c, pgh_buf *b, const char *what, pgh_error *err)
{
    char *sql = NULL;
    int rc = take(&sql, b, err);
    if (rc == 0)
        rc = pgh_duckdb__exec(c, sql, what, err);
    free(sql);
    return rc;
}

static void clear_columns(duck_table *t)
{
    for (uint16_t i = 0; i < t->ncols; i++)
        free(t->cols[i].name);
    free(t->cols);
    free(t->keys);
    free(t->sql_delete);
    free(t->sql_insert);
    free(t->sql_clear);
    t->cols = NULL;
    t->keys = NULL;
    t->sql_delete = t->sql_insert = t->sql_clear = NULL;
    t->ncols = 0;
    t->nkeys = 0;
}

static int copy_columns(duck_table *t, const pgh_relation *rel, pgh_error *err)
{
    t->cols = calloc(rel->ncols ? rel->ncols : 1, sizeof(*t->cols));
    t->keys = calloc(rel->ncols ? rel->ncols : 1, sizeof(*t->keys));
    if (t->cols == NULL || t->keys == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "DuckDB destination: out of memory");
    for (uint16_t i = 0; i < rel->ncols; i++) {
        t->cols[i] = rel->cols[i];
        t->cols[i].name = strdup(rel->cols[i].name);
        t->ncols = (uint16_t)(i + 1);
        if (t->cols[i].name == NULL)
            return pgh_error_set(err, PGH_ENOMEM, "DuckDB destination: out of memory");
        if (rel->cols[i].is_key)
            t->keys[t->nkeys++] = i;
    }
    if (t->nkeys == 0)
        return pgh_error_set(err, PGH_ESINK,
                             "table %s.%s has no primary key: the DuckDB destination applies "
                             "changes by key; add a primary key on the source",
                             rel->nspname, rel->relname);
    return 0;
}

/* CREATE TABLE target (columns with DuckDB types, PRIMARY KEY (keys)). */
static int create_target(duck_table *t, duck_conn *c, const pgh_table_map *map, bool recreate,
                         pgh_error *err)
{
    pgh_buf b;
    pgh_buf_init(&b, SQL_MAX);
    pgh_buf_puts(&b, "CREATE SCHEMA IF NOT EXISTS ");
    pgh_duckdb__ident(&b, map->dest_schema);
    pgh_buf_puts(&b, "; ");
    if (recreate)
        pgh_buf_printf(&b, "DROP TABLE IF EXISTS %s; ", t->target);
    pgh_buf_printf(&b, "CREATE TABLE IF NOT EXISTS %s (", t->target);
    for (uint16_t i = 0; i < t->ncols; i++) {
        pgh_duckdb__ident(&b, t->cols[i].name);
        pgh_buf_putc(&b, ' ');
        pgh_duckdb__type_name(&b, t->cols[i].type_oid, t->cols[i].typmod);
        pgh_buf_puts(&b, ", ");
    }
    pgh_buf_puts(&b, "PRIMARY KEY (");
    for (int k = 0; k < t->nkeys; k++) {
        pgh_buf_puts(&b, k ? ", " : "");
        pgh_duckdb__ident(&b, t->cols[t->keys[k]].name);
    }
    pgh_buf_puts(&b, "))");
    return run(c, &b, "creating the table", err);
}

/* The staging table: _pgh_seq, _pgh_del, then c0..cN as VARCHAR. */
static int create_stage(duck_table *t, duck_conn *c, pgh_error *err)
{
    pgh_buf b;
    pgh_buf_init(&b, SQL_MAX);
    pgh_buf_printf(&b, "CREATE OR REPLACE TEMP TABLE %s (_pgh_seq BIGINT, _pgh_del BOOLEAN",
                   t->stage);
    for (uint16_t i = 0; i < t->ncols; i++)
        pgh_buf_printf(&b, ", c%u VARCHAR", (unsigned)i);
    pgh_buf_putc(&b, ')');
    int rc = run(c, &b, "creating a staging table", err);
    if (rc == 0 && c->api->appender_create_ext(c->conn, "temp", "main", t->stage, &t->app) !=
                       DUCK_SUCCESS) {
        rc = pgh_error_set(err, PGH_ESINK, "DuckDB file %s: cannot append to %s: %s", c->path,
                           t->stage, t->app ? c->api->appender_error(t->app) : "unknown error");
        c->api->appender_destroy(&t->app);
        t->app = NULL;
    }
    return rc;
}

/* load(stage column i) */
static void load(pgh_buf *b, const duck_table *t, int i, const char *prefix)
{
    char col[32];
    snprintf(col, sizeof(col), "%sc%d", prefix, i);
    pgh_duckdb__type_load(b, t->cols[i].type_oid, t->cols[i].typmod, col);
}

static int build_apply(duck_table *t, pgh_error *err)
{
    pgh_buf b;
    pgh_buf_init(&b, SQL_MAX);
    pgh_buf_puts(&b, "DELETE FROM ");
    pgh_buf_printf(&b, "%s USING (SELECT DISTINCT ", t->target);
    for (int k = 0; k < t->nkeys; k++) {
        pgh_buf_puts(&b, k ? ", " : "");
        load(&b, t, t->keys[k], "");
        pgh_buf_printf(&b, " AS k%d", k);
    }
    pgh_buf_printf(&b, " FROM temp.main.%s) AS _pgh_s WHERE ", t->stage);
    for (int k = 0; k < t->nkeys; k++) {
        pgh_buf_printf(&b, "%s%s.", k ? " AND " : "", t->target);
        pgh_duckdb__ident(&b, t->cols[t->keys[k]].name);
        pgh_buf_printf(&b, " = _pgh_s.k%d", k);
    }
    int rc = take(&t->sql_delete, &b, err);
    if (rc != 0)
        return rc;
    pgh_buf_init(&b, SQL_MAX);
    pgh_buf_printf(&b, "INSERT INTO %s SELECT ", t->target);
    for (uint16_t i = 0; i < t->ncols; i++) {
        pgh_buf_puts(&b, i ? ", " : "");
        load(&b, t, i, "");
    }
    pgh_buf_puts(&b, " FROM (SELECT *, row_number() OVER (PARTITION BY ");
    for (int k = 0; k < t->nkeys; k++) {
        pgh_buf_puts(&b, k ? ", " : "");
        load(&b, t, t->keys[k], "");
    }
    pgh_buf_printf(&b, " ORDER BY _pgh_seq DESC) AS _pgh_rn FROM temp.main.%s) "
                       "WHERE _pgh_rn = 1 AND NOT _pgh_del", t->stage);
    rc = take(&t->sql_insert, &b, err);
    if (rc != 0)
        return rc;
    pgh_buf_init(&b, SQL_MAX);
    pgh_buf_printf(&b, "DELETE FROM temp.main.%s", t->stage);
    return take(&t->sql_clear, &b, err);
}

int pgh_duckdb__table_setup(duck_table *t, duck_conn *c, const pgh_table_map *map,
                            const pgh_relation *rel, bool recreate, pgh_error *err)
{
    if (t->app)
        c->api->appender_destroy(&t->app);
    t->app = NULL;
    clear_columns(t);
    t->ready = false;
    t->staged = 0;
    snprintf(t->stage, sizeof(t->stage), "_pgh_stage_%d", t->index);
    if (t->target == NULL) {
        pgh_buf b;
        pgh_buf_init(&b, SQL_MAX);
        pgh_duckdb__ident(&b, map->dest_schema);
        pgh_buf_putc(&b, '.');
        pgh_duckdb__ident(&b, map->dest_table);
        int rc = take(&t->target, &b, err);
        if (rc != 0)
            return rc;
    }
    int rc = copy_columns(t, rel, err);
    if (rc == 0)
        rc = create_target(t, c, map, recreate, err);
    if (rc == 0)
        rc = create_stage(t, c, err);
    if (rc == 0)
        rc = build_apply(t, err);
    t->ready = rc == 0;
    return rc;
}

bool pgh_duckdb__table_matches(const duck_table *t, const pgh_relation *rel)
{
    if (!t->ready || t->ncols != rel->ncols)
        return false;
    for (uint16_t i = 0; i < t->ncols; i++)
        if (strcmp(t->cols[i].name, rel->cols[i].name) != 0 ||
            t->cols[i].type_oid != rel->cols[i].type_oid ||
            t->cols[i].typmod != rel->cols[i].typmod ||
            t->cols[i].is_key != rel->cols[i].is_key)
            return false;
    return true;
}

void pgh_duckdb__table_dispose(duck_table *t, duck_conn *c)
{
    if (t->app && c->api)
        c->api->appender_destroy(&t->app);
    clear_columns(t);
    free(t->target);
    memset(t, 0, sizeof(*t));
}

static int append_failed(duck_table *t, duck_conn *c, pgh_error *err)
{
    const char *why = c->api->appender_error(t->app);
    return pgh_error_set(err, PGH_ESINK, "DuckDB file %s: staging a row of %s: %s", c->path,
                         t->target, why ? why : "unknown error");
}

int pgh_duckdb__table_stage(duck_table *t, duck_conn *c, const pgh_tuple *tup, bool is_delete,
                            pgh_error *err)
{
    const duck_api *a = c->api;
    if (tup->natts != t->ncols)
        return pgh_error_set(err, PGH_EPROTO, "DuckDB destination: a row of %s has %u values, "
                             "the table %u columns", t->target, tup->natts, t->ncols);
    bool ok = a->append_int64(t->app, t->seq++) == DUCK_SUCCESS &&
              a->append_bool(t->app, is_delete) == DUCK_SUCCESS;
    for (uint16_t i = 0; ok && i < t->ncols; i++) {
        const pgh_value *v = &tup->values[i];
        if (v->kind == PGH_VALUE_NULL || v->kind == PGH_VALUE_UNCHANGED)
            ok = a->append_null(t->app) == DUCK_SUCCESS;
        else if (v->kind == PGH_VALUE_TEXT)
            ok = a->append_varchar_length(t->app, v->data, v->len) == DUCK_SUCCESS;
        else
            return pgh_error_set(err, PGH_EPROTO, "DuckDB destination: column %s of %s came "
                                 "in binary form; only text is handled", t->cols[i].name,
                                 t->target);
    }
    if (!ok || a->appender_end_row(t->app) != DUCK_SUCCESS)
        return append_failed(t, c, err);
    t->staged++;
    return 0;
}

int pgh_duckdb__table_apply(duck_table *t, duck_conn *c, pgh_error *err)
{
    if (t->staged == 0)
        return 0;
    if (c->api->appender_flush(t->app) != DUCK_SUCCESS)
        return append_failed(t, c, err);
    char what[600];
    snprintf(what, sizeof(what), "applying a batch to %s", t->target);
    int rc = pgh_duckdb__exec(c, t->sql_delete, what, err);
    if (rc == 0)
        rc = pgh_duckdb__exec(c, t->sql_insert, what, err);
    if (rc == 0)
        rc = pgh_duckdb__exec(c, t->sql_clear, what, err);
    if (rc == 0)
        t->staged = 0;
    return rc;
}

int pgh_duckdb__table_truncate(duck_table *t, duck_conn *c, pgh_error *err)
{
    if (c->api->appender_flush(t->app) != DUCK_SUCCESS)
        return append_failed(t, c, err);
    pgh_buf b;
    pgh_buf_init(&b, SQL_MAX);
    pgh_buf_printf(&b, "DELETE FROM temp.main.%s; DELETE FROM %s", t->stage, t->target);
    int rc = run(c, &b, "emptying a table (TRUNCATE)", err);
    if (rc == 0)
        t->staged = 0;
    return rc;
}
