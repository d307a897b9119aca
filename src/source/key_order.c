/*
 * A key pghost can page through and match on: every key column's type has equality and
 * ordering, that is a default btree operator class. A primary key's own type always has one,
 * but a composite or array key compares its fields one by one at run time: a composite holding
 * a point or a json compares only until two rows meet, then fails, mid-copy. So the check walks
 * into domains (their base type), arrays (their element) and composites (their fields); range
 * and enum types are ordered by definition.
 */
#include <stdio.h>
#include <string.h>

#include "pg/sql.h"
#include "source/preflight.h"

/* The first key column (in key order) with a type, or a type inside it, that has no default
 * btree operator class; "column|type", or no row. */
static const char UNORDERED_SQL[] =
    "WITH RECURSIVE ty(oid, col, ord) AS ("
    "  SELECT a.atttypid, a.attname::text, k.ord "
    "  FROM pg_catalog.pg_index i, unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord), "
    "       pg_catalog.pg_attribute a "
    "  WHERE i.indrelid = $1::oid AND i.indisprimary AND a.attrelid = i.indrelid "
    "    AND a.attnum = k.attnum "
    "  UNION "
    "  SELECT x.child, ty.col, ty.ord FROM ty JOIN pg_catalog.pg_type t ON t.oid = ty.oid "
    "  CROSS JOIN LATERAL ("
    "    SELECT t.typbasetype WHERE t.typtype = 'd' "
    "    UNION ALL SELECT t.typelem WHERE t.typtype = 'b' AND t.typcategory = 'A' "
    "      AND t.typelem <> 0 "
    "    UNION ALL SELECT f.atttypid FROM pg_catalog.pg_attribute f "
    "      WHERE t.typtype = 'c' AND f.attrelid = t.typrelid AND f.attnum > 0 "
    "        AND NOT f.attisdropped) x(child)) "
    "SELECT ty.col || '|' || pg_catalog.format_type(t.oid, NULL) "
    "FROM ty JOIN pg_catalog.pg_type t ON t.oid = ty.oid "
    "WHERE t.typtype NOT IN ('d', 'c', 'e', 'r', 'm') "
    "  AND NOT (t.typtype = 'b' AND t.typcategory = 'A' AND t.typelem <> 0) "
    "  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_opclass oc "
    "    JOIN pg_catalog.pg_am am ON am.oid = oc.opcmethod AND am.amname = 'btree' "
    "    WHERE oc.opcdefault AND (oc.opcintype = t.oid OR EXISTS ("
    "      SELECT 1 FROM pg_catalog.pg_cast c WHERE c.castsource = t.oid "
    "        AND c.casttarget = oc.opcintype AND c.castmethod = 'b'))) "
    "ORDER BY ty.ord LIMIT 1";

int pgh_source_check_key_order(const pgh_table_info *t, PGconn *src, pgh_error *err)
{
    if (t->nkeys == 0)
        return 0;
    char oid[16];
    snprintf(oid, sizeof(oid), "%u", t->oid);
    const char *params[1] = {oid};
    char found[512] = "";
    int rc = pgh_pg_query_text(found, sizeof(found), src, UNORDERED_SQL, 1, params, err);
    if (rc != 0 || found[0] == '\0')
        return rc;
    char *bar = strchr(found, '|');
    if (bar != NULL)
        *bar = '\0';
    return pgh_error_set(err, PGH_EPRECOND,
                         "source table %s.%s: key column %s holds type %s, which has no "
                         "ordering (no default btree operator class), so pghost cannot copy in "
                         "key order: use a primary key of ordered types (or add a btree "
                         "operator class for %s)",
                         t->schema, t->name, found, bar ? bar + 1 : "?", bar ? bar + 1 : "?");
}
