/* Table descriptions from the catalogs: see include/pghost/catalog.h. */
#include "pg/catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "pg/conn.h"

static const char TABLE_SQL[] =
    "SELECT c.oid, c.relkind, c.relreplident, c.reltuples, pg_catalog.pg_table_size(c.oid), "
    "  c.relpersistence, "
    "  k.indexrelid, CASE WHEN k.indisreplident THEN 'i' WHEN k.indisprimary THEN 'p' "
    "                     WHEN k.indexrelid IS NOT NULL THEN 'u' END "
    "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "LEFT JOIN LATERAL (" PGH_CATALOG_KEY_INDEX_SQL ") k ON true "
    "WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')";

/* Built-in types are those below FirstNormalObjectId (16384), with a built-in element type. */
static const char COLUMNS_SQL[] =
    "SELECT a.attname, "
    "  CASE WHEN tn.nspname = 'pg_catalog' THEN pg_catalog.format_type(a.atttypid, a.atttypmod) "
    "       ELSE t.typname::text END, "
    "  a.atttypid, "
    "  (a.atttypid < 16384 AND (t.typelem = 0 OR t.typelem < 16384)) AS builtin, "
    "  a.attgenerated <> '' AS generated, a.attnotnull, "
    "  a.atthasdef OR a.attidentity <> '' AS has_default, "
    "  COALESCE((SELECT k.ord FROM pg_catalog.pg_index i, "
    "              unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) "
    "            WHERE i.indexrelid = $2 AND k.ord <= i.indnkeyatts AND k.attnum = a.attnum), 0), "
    "  CASE WHEN bn.nspname = 'pg_catalog' THEN pg_catalog.format_type(a.atttypid, NULL) "
    "       ELSE pg_catalog.quote_ident(bn.nspname) || '.' || pg_catalog.quote_ident(b.typname) "
    "            || CASE WHEN b.oid <> t.oid THEN '[]' ELSE '' END END, "
    "  a.atttypmod "
    "FROM pg_catalog.pg_attribute a "
    "JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
    "JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace "
    /* b: the array's element type, or the type itself; its schema qualifies the cast */
    "JOIN pg_catalog.pg_type b ON b.oid = CASE WHEN t.typcategory = 'A' AND t.typelem <> 0 "
    "                                          THEN t.typelem ELSE t.oid END "
    "JOIN pg_catalog.pg_namespace bn ON bn.oid = b.typnamespace "
    "WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum";

void pgh_table_info_free(pgh_table_info *t)
{
    if (t == NULL)
        return;
    for (int i = 0; i < t->ncols; i++) {
        free(t->cols[i].name);
        free(t->cols[i].type_name);
        free(t->cols[i].cast_name);
    }
    free(t->cols);
    free(t->key_cols);
    free(t->schema);
    free(t->name);
    free(t->qualified);
    free(t->row_filter);
    free(t->read_root);
    free(t->read_filter);
    free(t);
}

static int read_columns(pgh_table_info *t, PGconn *conn, pgh_error *err)
{
    char oid[16];
    char key_index[16];
    snprintf(oid, sizeof(oid), "%u", t->oid);
    snprintf(key_index, sizeof(key_index), "%u", t->key_index_oid);
    const char *params[2] = {oid, key_index};
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, conn, COLUMNS_SQL, 2, params, err);
    if (rc != 0)
        return rc;
    int n = PQntuples(res);
    t->cols = calloc((size_t)(n ? n : 1), sizeof(*t->cols));
    t->key_cols = calloc((size_t)(n ? n : 1), sizeof(int));
    if (t->cols == NULL || t->key_cols == NULL) {
        PQclear(res);
        return pgh_error_set(err, PGH_ENOMEM, "out of memory reading columns");
    }
    for (int i = 0; i < n; i++) {
        pgh_table_column *c = &t->cols[i];
        c->name = strdup(PQgetvalue(res, i, 0));
        c->type_name = strdup(PQgetvalue(res, i, 1));
        c->type_oid = (uint32_t)strtoul(PQgetvalue(res, i, 2), NULL, 10);
        c->builtin_type = PQgetvalue(res, i, 3)[0] == 't';
        c->generated = PQgetvalue(res, i, 4)[0] == 't';
        c->not_null = PQgetvalue(res, i, 5)[0] == 't';
        c->has_default = PQgetvalue(res, i, 6)[0] == 't';
        c->key_position = (int)strtol(PQgetvalue(res, i, 7), NULL, 10);
        c->cast_name = strdup(PQgetvalue(res, i, 8));
        c->typmod = (int32_t)strtol(PQgetvalue(res, i, 9), NULL, 10);
        t->ncols++;
        if (c->name == NULL || c->type_name == NULL || c->cast_name == NULL) {
            PQclear(res);
            return pgh_error_set(err, PGH_ENOMEM, "out of memory reading columns");
        }
        if (c->key_position > 0 && c->key_position <= n) {
            t->key_cols[c->key_position - 1] = i;
            t->nkeys++;
        }
    }
    PQclear(res);
    return 0;
}

int pgh_catalog_table(pgh_table_info **out, PGconn *conn, const char *schema, const char *name,
                      pgh_error *err)
{
    *out = NULL;
    const char *params[2] = {schema, name};
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, conn, TABLE_SQL, 2, params, err);
    if (rc != 0)
        return rc;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return pgh_error_set(err, PGH_ENOTFOUND, "table %s.%s does not exist", schema, name);
    }
    pgh_table_info *t = calloc(1, sizeof(*t));
    if (t == NULL) {
        PQclear(res);
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    }
    t->oid = (uint32_t)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
    t->relkind = PQgetvalue(res, 0, 1)[0];
    t->replident = PQgetvalue(res, 0, 2)[0];
    t->reltuples = strtod(PQgetvalue(res, 0, 3), NULL);
    t->size_bytes = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
    t->persistence = PQgetvalue(res, 0, 5)[0];
    t->key_index_oid = (uint32_t)strtoul(PQgetvalue(res, 0, 6), NULL, 10);
    t->key_source = PQgetisnull(res, 0, 7) ? '\0' : PQgetvalue(res, 0, 7)[0];
    PQclear(res);
    t->schema = strdup(schema);
    t->name = strdup(name);
    t->qualified = pgh_conn_qualified(conn, schema, name);
    if (t->schema == NULL || t->name == NULL || t->qualified == NULL) {
        pgh_table_info_free(t);
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    }
    rc = read_columns(t, conn, err);
    if (rc != 0) {
        pgh_table_info_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

int pgh_table_column_index(const pgh_table_info *t, const char *name)
{
    for (int i = 0; i < t->ncols; i++)
        if (strcmp(t->cols[i].name, name) == 0)
            return i;
    return -1;
}

/* Append "; " between items of a list. */
static void list_item(pgh_buf *b, int *count)
{
    if ((*count)++ > 0)
        pgh_buf_puts(b, "; ");
}

int pgh_catalog_compare_columns(const pgh_table_info *src, const pgh_table_info *dst,
                                pgh_error *err)
{
    pgh_buf b;
    pgh_buf_init(&b, 4096);
    int count = 0;
    for (int i = 0; i < src->ncols; i++) {
        const pgh_table_column *s = &src->cols[i];
        if (s->generated)
            continue;
        int j = pgh_table_column_index(dst, s->name);
        if (j < 0) {
            list_item(&b, &count);
            pgh_buf_printf(&b, "column %s (%s) is missing on the destination", s->name,
                           s->type_name);
        } else if (!pgh_catalog_type_converts(s->type_name, dst->cols[j].type_name)) {
            list_item(&b, &count);
            pgh_buf_printf(&b, "column %s is %s on the source but %s on the destination", s->name,
                           s->type_name, dst->cols[j].type_name);
        } else if (dst->cols[j].generated) {
            list_item(&b, &count);
            pgh_buf_printf(&b, "column %s is generated on the destination only", s->name);
        }
    }
    for (int j = 0; j < dst->ncols; j++) {
        const pgh_table_column *d = &dst->cols[j];
        if (pgh_table_column_index(src, d->name) < 0 && !d->generated && d->not_null &&
            !d->has_default) {
            list_item(&b, &count);
            pgh_buf_printf(&b,
                           "column %s (%s) exists only on the destination and is NOT NULL "
                           "without a default (give it a default or drop NOT NULL)",
                           d->name, d->type_name);
        }
    }
    int rc = 0;
    if (count > 0)
        rc = pgh_error_set(err, PGH_EPRECOND, "columns of %s.%s do not match %s.%s: %s",
                           dst->schema, dst->name, src->schema, src->name, pgh_buf_str(&b));
    pgh_buf_dispose(&b);
    return rc;
}

/* The family of a type's format_type text, by its leading words; 0 when it has none. */
static int type_family(const char *t)
{
    static const struct {
        const char *prefix;
        int family;
    } families[] = {{"smallint", 1}, {"integer", 1}, {"bigint", 1}, {"text", 2},
                    {"character varying", 2}};
    for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
        size_t n = strlen(families[i].prefix);
        if (strncmp(t, families[i].prefix, n) == 0 && (t[n] == '\0' || t[n] == '('))
            return families[i].family;
    }
    return 0;
}

bool pgh_catalog_type_converts(const char *src, const char *dst)
{
    if (strcmp(src, dst) == 0)
        return true;
    if (strncmp(src, "timestamp without time zone", 27) == 0)
        return strncmp(dst, "timestamp with time zone", 24) == 0 ||
               strncmp(dst, "timestamp without time zone", 27) == 0;
    int f = type_family(src);
    return f != 0 && f == type_family(dst);
}
