/*
 * The columns a publication's column list publishes of a source table (PostgreSQL 15,
 * pg_publication_tables.attnames), so that --create-tables creates only those: a native
 * subscriber's table needs no more, and an unlisted NOT NULL column without a default would
 * make every copied row fail. See internal.h.
 */
#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"
#include "schema/internal.h"

/* The table's own entry first; a partition published through its root (publish_via_partition_
 * root) takes the root's. PostgreSQL 15 lists every column when an entry has no column list. */
static const char PUBLISHED_SQL[] =
    "SELECT p.attnames::text FROM pg_catalog.pg_publication_tables p "
    "JOIN pg_catalog.pg_class c ON c.oid IN ($1::oid, pg_catalog.pg_partition_root($1::oid)) "
    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "WHERE p.pubname = $2 AND p.schemaname = n.nspname AND p.tablename = c.relname "
    "ORDER BY c.oid = $1::oid DESC LIMIT 1";

int pgh_schema__published(char **out, PGconn *src, const char *oid, const char *publication,
                          pgh_error *err)
{
    *out = NULL;
    if (publication == NULL || PQserverVersion(src) < 150000)
        return 0;
    const char *params[2] = {oid, publication};
    return pgh_schema__value(out, src, PUBLISHED_SQL, 2, params, err);
}
