/* Row filters and column lists of the publication: see publication.h. */
#include "source/publication.h"

#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"
#include "util/buf.h"

/* One row per publication entry of the table: its filter (NULL: none) and its columns, which
 * PostgreSQL 15 lists in full when the entry has no column list. */
static const char VIEW_SQL[] = "SELECT p.rowfilter, a.name "
                               "FROM pg_catalog.pg_publication_tables p "
                               "LEFT JOIN LATERAL unnest(p.attnames) AS a(name) ON true "
                               "WHERE p.pubname = $1 AND p.schemaname = $2 AND p.tablename = $3 "
                               "ORDER BY p.rowfilter, a.name";

/* OR of the filters; NULL when any entry has none (then every row is published). */
static int combine_filters(char **out, const PGresult *res, pgh_error *err)
{
    *out = NULL;
    pgh_buf b;
    pgh_buf_init(&b, 1 << 20);
    const char *prev = NULL;
    int nfilters = 0;
    for (int i = 0; i < PQntuples(res); i++) {
        if (PQgetisnull(res, i, 0)) {
            pgh_buf_dispose(&b);
            return 0;
        }
        const char *f = PQgetvalue(res, i, 0);
        if (prev && strcmp(prev, f) == 0)
            continue;
        pgh_buf_printf(&b, "%s(%s)", nfilters++ ? " OR " : "", f);
        prev = f;
    }
    if (nfilters == 0 || pgh_buf_failed(&b)) {
        pgh_buf_dispose(&b);
        return nfilters ? pgh_error_set(err, PGH_ENOMEM, "out of memory") : 0;
    }
    *out = pgh_buf_take(&b);
    return *out ? 0 : pgh_error_set(err, PGH_ENOMEM, "out of memory");
}

static bool listed(const PGresult *res, const char *name)
{
    for (int i = 0; i < PQntuples(res); i++)
        if (!PQgetisnull(res, i, 1) && strcmp(PQgetvalue(res, i, 1), name) == 0)
            return true;
    return false;
}

/* Keep only the columns keep() accepts, key indexes renumbered. */
static void drop_columns(pgh_table_info *t, bool (*keep)(const void *, const char *),
                         const void *payload)
{
    int kept = 0;
    for (int i = 0; i < t->ncols; i++) {
        if (!keep(payload, t->cols[i].name)) {
            free(t->cols[i].name);
            free(t->cols[i].type_name);
            free(t->cols[i].cast_name);
            continue;
        }
        t->cols[kept] = t->cols[i];
        if (t->cols[kept].key_position > 0)
            t->key_cols[t->cols[kept].key_position - 1] = kept;
        kept++;
    }
    t->ncols = kept;
}

static bool in_result(const void *res, const char *name)
{
    return listed(res, name);
}

static bool in_table(const void *table, const char *name)
{
    return pgh_table_column_index(table, name) >= 0;
}

/* The first key column outside the column list, or NULL. */
static const char *unlisted_key(const pgh_table_info *t, const PGresult *res)
{
    for (int k = 0; k < t->nkeys; k++)
        if (!listed(res, t->cols[t->key_cols[k]].name))
            return t->cols[t->key_cols[k]].name;
    return NULL;
}

static int narrow(pgh_table_info *t, const PGresult *res, const char *publication, pgh_error *err)
{
    const char *key = unlisted_key(t, res);
    if (key)
        return pgh_error_set(err, PGH_EPRECOND,
                             "publication %s publishes table %s.%s without its key column %s: "
                             "pghost (like a native subscriber, for UPDATE and DELETE) finds "
                             "rows by the key; add %s to the table's column list in %s, or "
                             "drop the column list",
                             publication, t->schema, t->name, key, key, publication);
    int rc = combine_filters(&t->row_filter, res, err);
    if (rc == 0)
        drop_columns(t, in_result, res);
    return rc;
}

int pgh_source_publication_narrow(pgh_table_info *t, PGconn *src, const char *publication,
                                  pgh_error *err)
{
    if (PQserverVersion(src) < 150000)
        return 0;
    const char *params[3] = {publication, t->schema, t->name};
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, src, VIEW_SQL, 3, params, err);
    if (rc == 0 && PQntuples(res) > 0)
        rc = narrow(t, res, publication, err);
    PQclear(res);
    return rc;
}

int pgh_source_publication_inherit(pgh_table_info *leaf, const pgh_table_info *root,
                                   pgh_error *err)
{
    if (root->row_filter != NULL) {
        free(leaf->row_filter);
        leaf->row_filter = strdup(root->row_filter);
        if (leaf->row_filter == NULL)
            return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    }
    drop_columns(leaf, in_table, root);
    return 0;
}
