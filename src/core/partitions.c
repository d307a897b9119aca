/* Partitioned source tables: see partitions.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "partitions.h"
#include "pghost/conn.h"

static const char LEAVES_SQL[] =
    "SELECT n.nspname, c.relname, c.relkind FROM pg_catalog.pg_partition_tree($1::oid) t "
    "JOIN pg_catalog.pg_class c ON c.oid = t.relid "
    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "WHERE t.isleaf ORDER BY n.nspname COLLATE \"C\", c.relname COLLATE \"C\"";

const char *pgh_core__only(const pgh_table_info *t)
{
    return t->relkind == 'p' ? "" : "ONLY ";
}

void pgh_core__leaves_free(pgh_table_info **leaves, int n)
{
    for (int i = 0; leaves && i < n; i++)
        pgh_table_info_free(leaves[i]);
    free(leaves);
}

static int check_leaf(const pgh_table_info *leaf, const pgh_table_info *root, pgh_error *err)
{
    if (leaf->nkeys != root->nkeys)
        return pgh_error_set(err, PGH_EPRECOND,
                             "partition %s.%s of %s.%s lacks the root's primary key: attach it "
                             "with the same primary key",
                             leaf->schema, leaf->name, root->schema, root->name);
    if (leaf->replident != 'd' && leaf->replident != 'f')
        return pgh_error_set(err, PGH_EPRECOND,
                             "partition %s.%s of %s.%s has REPLICA IDENTITY %s, so its updates "
                             "and deletes do not carry the primary key: run ALTER TABLE %s "
                             "REPLICA IDENTITY DEFAULT",
                             leaf->schema, leaf->name, root->schema, root->name,
                             leaf->replident == 'n' ? "NOTHING" : "USING INDEX", leaf->qualified);
    return 0;
}

static int load_leaf(pgh_table_info **out, PGconn *src, PGresult *res, int row,
                     const pgh_table_info *root, pgh_error *err)
{
    const char *schema = PQgetvalue(res, row, 0);
    const char *name = PQgetvalue(res, row, 1);
    if (PQgetvalue(res, row, 2)[0] != 'r')
        return pgh_error_set(err, PGH_EPRECOND,
                             "partition %s.%s of %s.%s is a foreign table: pghost copies "
                             "ordinary partitions only; detach it or select the partitions "
                             "one by one",
                             schema, name, root->schema, root->name);
    int rc = pgh_catalog_table(out, src, schema, name, err);
    if (rc == 0)
        rc = check_leaf(*out, root, err);
    return rc;
}

int pgh_core__partition_leaves(pgh_table_info ***out, int *n, PGconn *src,
                               const pgh_table_info *root, pgh_error *err)
{
    char oid[16];
    snprintf(oid, sizeof(oid), "%u", root->oid);
    const char *params[1] = {oid};
    PGresult *res = NULL;
    *out = NULL;
    *n = 0;
    int rc = pgh_conn_query(&res, src, LEAVES_SQL, 1, params, err);
    int rows = rc == 0 ? PQntuples(res) : 0;
    pgh_table_info **leaves = calloc(rows ? (size_t)rows : 1, sizeof(*leaves));
    if (rc == 0 && leaves == NULL)
        rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
    int loaded = 0;
    for (; rc == 0 && loaded < rows; loaded++)
        rc = load_leaf(&leaves[loaded], src, res, loaded, root, err);
    PQclear(res);
    if (rc != 0) {
        pgh_core__leaves_free(leaves, loaded);
        return rc;
    }
    *out = leaves;
    *n = rows;
    return 0;
}

/* Append the units of table i: itself, or each of its leaves. */
static int add_units(copy_units *u, PGconn *src, const run_tables *t, int i,
                     pgh_copy_format_choice format, pgh_error *err)
{
    pgh_table_info **leaves = NULL;
    int nleaves = 1;
    if (t->src[i]->relkind == 'p') {
        int rc = pgh_core__partition_leaves(&leaves, &nleaves, src, t->src[i], err);
        if (rc != 0)
            return rc;
    }
    pgh_copy_table *units = realloc(u->units, (size_t)(u->n + nleaves + 1) * sizeof(*units));
    if (units != NULL)
        u->units = units;
    int *table = realloc(u->table, (size_t)(u->n + nleaves + 1) * sizeof(*table));
    if (table != NULL)
        u->table = table;
    pgh_table_info **all =
        leaves == NULL ? u->leaves
                       : realloc(u->leaves, (size_t)(u->nleaves + nleaves + 1) * sizeof(*all));
    if (all != NULL)
        u->leaves = all;
    if (units == NULL || table == NULL || (leaves != NULL && all == NULL)) {
        pgh_core__leaves_free(leaves, nleaves);
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    }
    for (int k = 0; k < nleaves; k++) {
        const pgh_table_info *s = leaves ? leaves[k] : t->src[i];
        memset(&u->units[u->n], 0, sizeof(u->units[u->n]));
        pgh_copy_table_init(&u->units[u->n], s, t->dst[i], pgh_copy_choose_format(s, format));
        u->table[u->n++] = i;
        if (leaves)
            u->leaves[u->nleaves++] = leaves[k];
    }
    free(leaves); /* the infos now belong to u->leaves */
    return 0;
}

int pgh_core__copy_units_build(copy_units *out, PGconn *src, const run_tables *t,
                               pgh_copy_format_choice format, pgh_error *err)
{
    memset(out, 0, sizeof(*out));
    for (int i = 0; i < t->n; i++) {
        int rc = add_units(out, src, t, i, format, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

void pgh_core__copy_units_dispose(copy_units *u)
{
    free(u->units);
    free(u->table);
    pgh_core__leaves_free(u->leaves, u->nleaves);
    memset(u, 0, sizeof(*u));
}
