/*
 * The type walk of type_walk.h: one recursive catalog query, seeded with the columns to check
 * and asking for the operator classes they need.
 */
#include <stdio.h>
#include <string.h>

#include "pg/sql.h"
#include "source/type_walk.h"

#define WALK_HEAD "WITH RECURSIVE ty(oid, col, ord) AS ("

/* After the seed (the columns: type, name, order): their inner types, then the first lacking
 * a default operator class of the access methods AMS. */
#define WALK_TAIL(AMS)                                                                             \
    "  UNION "                                                                                     \
    "  SELECT x.child, ty.col, ty.ord FROM ty JOIN pg_catalog.pg_type t ON t.oid = ty.oid "        \
    "  CROSS JOIN LATERAL ("                                                                       \
    "    SELECT t.typbasetype WHERE t.typtype = 'd' "                                              \
    "    UNION ALL SELECT t.typelem WHERE t.typtype = 'b' AND t.typcategory = 'A' "                \
    "      AND t.typelem <> 0 "                                                                    \
    "    UNION ALL SELECT f.atttypid FROM pg_catalog.pg_attribute f "                              \
    "      WHERE t.typtype = 'c' AND f.attrelid = t.typrelid AND f.attnum > 0 "                    \
    "        AND NOT f.attisdropped) x(child)) "                                                   \
    "SELECT ty.col || '|' || pg_catalog.format_type(t.oid, NULL) "                                 \
    "FROM ty JOIN pg_catalog.pg_type t ON t.oid = ty.oid "                                         \
    "WHERE t.typtype NOT IN ('d', 'c', 'e', 'r', 'm') "                                            \
    "  AND NOT (t.typtype = 'b' AND t.typcategory = 'A' AND t.typelem <> 0) "                      \
    "  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_opclass oc "                                    \
    "    JOIN pg_catalog.pg_am am ON am.oid = oc.opcmethod AND am.amname " AMS " "                 \
    "    WHERE oc.opcdefault AND (oc.opcintype = t.oid OR EXISTS ("                                \
    "      SELECT 1 FROM pg_catalog.pg_cast c WHERE c.castsource = t.oid "                         \
    "        AND c.casttarget = oc.opcintype AND c.castmethod = 'b'))) "                           \
    "ORDER BY ty.ord LIMIT 1"

/* The primary key's columns, in key order, need ordering. */
static const char ORDER_SQL[] = WALK_HEAD
    "  SELECT a.atttypid, a.attname::text, k.ord "
    "  FROM pg_catalog.pg_index i, unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord), "
    "       pg_catalog.pg_attribute a "
    "  WHERE i.indrelid = $1::oid AND i.indisprimary AND a.attrelid = i.indrelid "
    "    AND a.attnum = k.attnum " WALK_TAIL("= 'btree'");

/* Every stored column, in attnum order, needs equality. */
static const char EQUALITY_SQL[] =
    WALK_HEAD "  SELECT a.atttypid, a.attname::text, a.attnum::int FROM pg_catalog.pg_attribute a "
              "  WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped "
              "    AND a.attgenerated = '' " WALK_TAIL("IN ('btree', 'hash')");

int pgh_source__type_lacking(const char **column, const char **type, char *buf, size_t len,
                             PGconn *src, uint32_t oid, pgh_type_need need, pgh_error *err)
{
    *column = NULL;
    *type = NULL;
    char text[16];
    snprintf(text, sizeof(text), "%u", oid);
    const char *params[1] = {text};
    buf[0] = '\0';
    int rc = pgh_pg_query_text(
        buf, len, src, need == PGH_TYPE_NEED_ORDER ? ORDER_SQL : EQUALITY_SQL, 1, params, err);
    if (rc != 0 || buf[0] == '\0')
        return rc;
    char *bar = strchr(buf, '|');
    if (bar != NULL)
        *bar = '\0';
    *column = buf;
    *type = bar ? bar + 1 : "?";
    return 0;
}
