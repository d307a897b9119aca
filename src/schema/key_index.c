/*
 * The key index of a table created on the destination (pghost/schema.h, step 1): a source
 * table whose key is a unique index rather than its primary key (REPLICA IDENTITY USING INDEX,
 * or FULL with a unique index on NOT NULL columns: pg/catalog.h) is found by that index's
 * columns, so its destination copy gets the same unique index (the ON CONFLICT target of the
 * catch-up and the index the apply's key lookups use), made its replica identity so that the
 * destination's key is the same index, created with the table, before the copy. The deferred
 * build (deferred.c) leaves that index out.
 */
#include <stdlib.h>

#include "pg/catalog.h"
#include "pg/conn.h"
#include "schema/internal.h"

/* One row per key column of the source table's key index (pg/catalog.h) when it is not the
 * primary key (which CREATE TABLE carries): the index's name and the column's, in index
 * order. */
static const char KEY_INDEX_SQL[] =
    "SELECT ic.relname, a.attname "
    "FROM pg_catalog.pg_index i "
    "JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid "
    "CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) "
    "JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
    "WHERE i.indexrelid = " PGH_CATALOG_KEY_INDEX_OF_1 " AND NOT i.indisprimary "
    "  AND k.ord <= i.indnkeyatts "
    "ORDER BY k.ord";

/* "CREATE UNIQUE INDEX idx ON table (a, b)" into b, from the rows of KEY_INDEX_SQL. */
static void create_statement(pgh_buf *b, PGconn *dst, PGresult *res, const char *idx,
                             const char *dst_q)
{
    pgh_buf_printf(b, "CREATE UNIQUE INDEX %s ON %s (", idx, dst_q);
    for (int i = 0; i < PQntuples(res); i++)
        pgh_conn_put_ident(b, dst, i ? ", " : "", PQgetvalue(res, i, 1));
    pgh_buf_putc(b, ')');
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
    char *idx = pgh_conn_ident(c->dst, PQgetvalue(res, 0, 0));
    pgh_buf create, alter;
    pgh_buf_init(&create, 1 << 16);
    pgh_buf_init(&alter, 1 << 16);
    if (idx != NULL) {
        create_statement(&create, c->dst, res, idx, dst_q);
        pgh_buf_printf(&alter, "ALTER TABLE %s REPLICA IDENTITY USING INDEX %s", dst_q, idx);
    }
    if (idx == NULL || pgh_buf_failed(&create) || pgh_buf_failed(&alter))
        rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
    if (rc == 0)
        rc = pgh_schema__dst(c, pgh_buf_str(&create), "the key index", err);
    if (rc == 0)
        rc = pgh_schema__dst(c, pgh_buf_str(&alter), "the replica identity", err);
    pgh_buf_dispose(&create);
    pgh_buf_dispose(&alter);
    free(idx);
    PQclear(res);
    return rc;
}
