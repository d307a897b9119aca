/* Partitioned tables: see partitions.h. */
#include "pg/partitions.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"

static const char LEAVES_SQL[] =
    "SELECT n.nspname, c.relname, c.relkind, "
    "  pg_catalog.has_table_privilege(c.oid, 'SELECT'), "
    "  pg_catalog.has_table_privilege($1::oid, 'SELECT'), "
    "  coalesce(pg_catalog.pg_get_partition_constraintdef(c.oid), 'true') "
    "FROM pg_catalog.pg_partition_tree($1::oid) t "
    "JOIN pg_catalog.pg_class c ON c.oid = t.relid "
    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "WHERE t.isleaf ORDER BY n.nspname COLLATE \"C\", c.relname COLLATE \"C\"";

void pgh_pg_leaves_free(pgh_table_info **leaves, int n)
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

/* A leaf the role may not read is read through its root, filtered by the leaf's partition
 * constraint (as a native subscription copies it): possible when the root is readable. */
static int read_through_root(pgh_table_info *leaf, const pgh_table_info *root, bool root_readable,
                             const char *constraint, pgh_error *err)
{
    if (!root_readable)
        return pgh_error_set(err, PGH_EPRECOND,
                             "source table %s.%s is not readable by this role, nor its partition "
                             "%s.%s: run GRANT SELECT ON %s TO <the source role> (the partitions "
                             "are then read through it)",
                             root->schema, root->name, leaf->schema, leaf->name, root->qualified);
    leaf->read_root = strdup(root->qualified);
    leaf->read_filter = strdup(constraint);
    if (leaf->read_root == NULL || leaf->read_filter == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
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
    if (rc == 0 && PQgetvalue(res, row, 3)[0] != 't')
        rc = read_through_root(*out, root, PQgetvalue(res, row, 4)[0] == 't',
                               PQgetvalue(res, row, 5), err);
    return rc;
}

int pgh_pg_partition_leaves(pgh_table_info ***out, int *n, PGconn *src,
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
        pgh_pg_leaves_free(leaves, loaded);
        return rc;
    }
    *out = leaves;
    *n = rows;
    return 0;
}
