/*
 * The replica identity index of a table created on the destination (pghost/schema.h, step 1):
 * a source table whose REPLICA IDENTITY is USING INDEX is found by that index's columns, so
 * its destination copy gets the same unique index (the ON CONFLICT target of the catch-up and
 * the index the apply's key lookups use) and the same replica identity, created with the
 * table, before the copy. The deferred build (deferred.c) leaves that index out.
 */
#include <stdlib.h>

#include "pg/conn.h"
#include "schema/internal.h"

/* One row per key column of the source's replica identity index, when it is not the primary
 * key (which CREATE TABLE carries): the index's name and the column's, in index order. */
static const char KEY_INDEX_SQL[] =
    "SELECT ic.relname, a.attname "
    "FROM pg_catalog.pg_index i "
    "JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid "
    "CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) "
    "JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
    "WHERE i.indrelid = $1 AND i.indisreplident AND NOT i.indisprimary "
    "  AND k.ord <= i.indnkeyatts "
    "ORDER BY k.ord";

/* "CREATE UNIQUE INDEX name ON table (a, b); ALTER TABLE table REPLICA IDENTITY USING INDEX
 * name" into b, from the rows of KEY_INDEX_SQL. */
static int statements(pgh_buf *b, PGconn *dst, PGresult *res, const char *dst_q, pgh_error *err)
{
    char *idx = pgh_conn_ident(dst, PQgetvalue(res, 0, 0));
    int rc = idx ? 0 : pgh_error_set(err, PGH_ENOMEM, "out of memory");
    pgh_buf_printf(b, "CREATE UNIQUE INDEX %s ON %s (", idx ? idx : "", dst_q);
    for (int i = 0; i < PQntuples(res); i++)
        pgh_conn_put_ident(b, dst, i ? ", " : "", PQgetvalue(res, i, 1));
    pgh_buf_printf(b, "); ALTER TABLE %s REPLICA IDENTITY USING INDEX %s", dst_q,
                   idx ? idx : "");
    if (rc == 0 && pgh_buf_failed(b))
        rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
    free(idx);
    return rc;
}

int pgh_schema__create_key_index(schema_ctx *c, const char *src_oid, const char *dst_q,
                                 pgh_error *err)
{
    const char *params[1] = {src_oid};
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, c->src, KEY_INDEX_SQL, 1, params, err);
    if (rc != 0 || PQntuples(res) == 0) {
        PQclear(res);
        return rc;
    }
    pgh_buf sql;
    pgh_buf_init(&sql, 1 << 16);
    rc = statements(&sql, c->dst, res, dst_q, err);
    if (rc == 0)
        rc = pgh_conn_exec(c->dst, pgh_buf_str(&sql), err);
    pgh_buf_dispose(&sql);
    PQclear(res);
    return rc;
}
