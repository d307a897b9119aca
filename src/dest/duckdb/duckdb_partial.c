/*
 * An update that lacks unchanged TOAST values (see duckdb_table.h): only the columns it
 * carries change. Rare (large values the transaction did not touch, outside a table's
 * delivery), so it is applied on its own through a one-row staging table "_pgh_part_<n>":
 * key values o0.., new values c0.. (NULL where unchanged, and then not assigned).
 */
#include <stdio.h>
#include <stdlib.h>

#include "duckdb_table.h"
#include "duckdb_types.h"

#define SQL_MAX (16u << 20)

static int run(duck_conn *c, pgh_buf *b, const char *what, pgh_error *err)
{
    char *sql = pgh_buf_failed(b) ? NULL : pgh_buf_take(b);
    pgh_buf_dispose(b);
    if (sql == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "DuckDB destination: out of memory");
    int rc = pgh_duckdb__exec(c, sql, what, err);
    free(sql);
    return rc;
}

static bool append_text(const duck_api *a, duck_appender app, const pgh_value *v)
{
    if (v->kind == PGH_VALUE_TEXT)
        return a->append_varchar_length(app, v->data, v->len) == DUCK_SUCCESS;
    return a->append_null(app) == DUCK_SUCCESS;
}

/* The one row: the key's values from key, then newtup's. */
static int stage_row(duck_table *t, duck_conn *c, const char *part, const pgh_tuple *key,
                     const pgh_tuple *newtup, pgh_error *err)
{
    const duck_api *a = c->api;
    duck_appender app = NULL;
    if (a->appender_create_ext(c->conn, "temp", "main", part, &app) != DUCK_SUCCESS) {
        a->appender_destroy(&app);
        return pgh_error_set(err, PGH_ESINK, "DuckDB file %s: cannot append to %s", c->path,
                             part);
    }
    bool ok = true;
    for (int k = 0; ok && k < t->nkeys; k++)
        ok = append_text(a, app, &key->values[t->keys[k]]);
    for (uint16_t i = 0; ok && i < t->ncols; i++)
        ok = append_text(a, app, &newtup->values[i]);
    ok = ok && a->appender_end_row(app) == DUCK_SUCCESS && a->appender_flush(app) == DUCK_SUCCESS;
    int rc = ok ? 0
                : pgh_error_set(err, PGH_ESINK, "DuckDB file %s: staging an update of %s: %s",
                                c->path, t->target, a->appender_error(app));
    a->appender_destroy(&app);
    return rc;
}

static void update_sql(pgh_buf *b, const duck_table *t, const char *part, const pgh_tuple *newtup)
{
    char col[32];
    pgh_buf_printf(b, "UPDATE %s SET ", t->target);
    bool first = true;
    for (uint16_t i = 0; i < t->ncols; i++) {
        if (newtup->values[i].kind == PGH_VALUE_UNCHANGED)
            continue;
        pgh_buf_puts(b, first ? "" : ", ");
        first = false;
        pgh_duckdb__ident(b, t->cols[i].name);
        pgh_buf_puts(b, " = ");
        snprintf(col, sizeof(col), "_pgh_p.c%u", (unsigned)i);
        pgh_duckdb__type_load(b, t->cols[i].type_oid, t->cols[i].typmod, col);
    }
    pgh_buf_printf(b, " FROM temp.main.%s AS _pgh_p WHERE ", part);
    for (int k = 0; k < t->nkeys; k++) {
        const pgh_column *kc = &t->cols[t->keys[k]];
        pgh_buf_printf(b, "%s%s.", k ? " AND " : "", t->target);
        pgh_duckdb__ident(b, kc->name);
        pgh_buf_puts(b, " = ");
        snprintf(col, sizeof(col), "_pgh_p.o%d", k);
        pgh_duckdb__type_load(b, kc->type_oid, kc->typmod, col);
    }
    pgh_buf_printf(b, "; DELETE FROM temp.main.%s", part);
}

int pgh_duckdb__table_update_partial(duck_table *t, duck_conn *c, const pgh_tuple *key,
                                     const pgh_tuple *newtup, pgh_error *err)
{
    if (key->natts != t->ncols || newtup->natts != t->ncols)
        return pgh_error_set(err, PGH_EPROTO, "DuckDB destination: an update of %s does not "
                             "match its %u columns", t->target, t->ncols);
    int rc = pgh_duckdb__table_apply(t, c, err);
    char part[40];
    snprintf(part, sizeof(part), "_pgh_part_%d", t->index);
    pgh_buf b;
    pgh_buf_init(&b, SQL_MAX);
    pgh_buf_printf(&b, "CREATE OR REPLACE TEMP TABLE %s (", part);
    for (int k = 0; k < t->nkeys; k++)
        pgh_buf_printf(&b, "o%d VARCHAR, ", k);
    for (uint16_t i = 0; i < t->ncols; i++)
        pgh_buf_printf(&b, "%sc%u VARCHAR", i ? ", " : "", (unsigned)i);
    pgh_buf_putc(&b, ')');
    if (rc == 0)
        rc = run(c, &b, "creating a staging table", err);
    else
        pgh_buf_dispose(&b);
    if (rc == 0)
        rc = stage_row(t, c, part, key, newtup, err);
    if (rc != 0)
        return rc;
    pgh_buf_init(&b, SQL_MAX);
    update_sql(&b, t, part, newtup);
    return run(c, &b, "updating a row with unchanged TOAST values", err);
}
