/* The destination side of the preflight: see checks.h. */
#include "dest/postgres/checks.h"

#include <stdio.h>
#include <string.h>

#include "pg/conn.h"
#include "pg/sql.h"

int pgh_postgres_check_table(const pgh_table_info *src, const pgh_table_info *dst, PGconn *conn,
                            bool truncate, pgh_error *err)
{
    int rc = pgh_catalog_compare_columns(src, dst, err);
    if (rc != 0)
        return rc;
    if (dst->nkeys == 0)
        return pgh_error_set(err, PGH_EPRECOND,
                             "destination table %s.%s has no primary key: add the same primary "
                             "key as %s.%s",
                             dst->schema, dst->name, src->schema, src->name);
    if (truncate)
        return 0;
    char sql[1024];
    snprintf(sql, sizeof(sql), "SELECT EXISTS (SELECT 1 FROM %s%s)", pgh_pg_only(dst),
             dst->qualified);
    char v[8];
    rc = pgh_pg_query_text(v, sizeof(v), conn, sql, 0, NULL, err);
    if (rc == 0 && strcmp(v, "t") == 0)
        return pgh_error_set(err, PGH_EPRECOND,
                             "destination table %s.%s is not empty: pass --truncate-destination "
                             "to empty it first, or point pghost at an empty table",
                             dst->schema, dst->name);
    return rc;
}

int pgh_postgres_truncate(PGconn *dst, pgh_table_info *const *tables, int n, pgh_error *err)
{
    for (int i = 0; i < n; i++) {
        char sql[1024];
        snprintf(sql, sizeof(sql), "TRUNCATE %s%s", pgh_pg_only(tables[i]),
                 tables[i]->qualified);
        int rc = pgh_conn_exec(dst, sql, err);
        if (rc != 0) {
            pgh_error_prefix(err, "emptying %s.%s", tables[i]->schema, tables[i]->name);
            return rc;
        }
    }
    return 0;
}
