/*
 * Tables without a key (REPLICA IDENTITY FULL, no usable unique index): what copying and
 * following them needs from the source (docs/sync.md, "Tables without a key"). They are copied
 * once, in the snapshot the slot exported, and their changes are matched on the whole old row
 * (`IS NOT DISTINCT FROM` on every column): so every column's type needs equality, and the
 * table must be an ordinary one (a partitioned table's rows are not told apart by ctid).
 */
#include <stdio.h>
#include <string.h>

#include "pg/sql.h"
#include "source/preflight.h"

/* The first column (in attnum order) with a type, or a type inside it, that has neither a
 * default btree nor a default hash operator class (no equality: json, point, xml);
 * "column|type", or no row. Domains, arrays and composites are looked through, as for keys
 * (key_order.c): their equality compares the types inside at run time. */
static const char NO_EQUALITY_SQL[] =
    "WITH RECURSIVE ty(oid, col, ord) AS ("
    "  SELECT a.atttypid, a.attname::text, a.attnum::int FROM pg_catalog.pg_attribute a "
    "  WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped "
    "    AND a.attgenerated = '' "
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
    "    JOIN pg_catalog.pg_am am ON am.oid = oc.opcmethod AND am.amname IN ('btree', 'hash') "
    "    WHERE oc.opcdefault AND (oc.opcintype = t.oid OR EXISTS ("
    "      SELECT 1 FROM pg_catalog.pg_cast c WHERE c.castsource = t.oid "
    "        AND c.casttarget = oc.opcintype AND c.castmethod = 'b'))) "
    "ORDER BY ty.ord LIMIT 1";

bool pgh_source_is_keyless(const pgh_table_info *t)
{
    return t->replident == 'f' && t->nkeys == 0;
}

const char *pgh_source_keyless_refusal(const pgh_config *cfg, bool keyed_path, bool rules)
{
    if (cfg->destination != PGH_DESTINATION_POSTGRES)
        return "only the postgres destination copies a table without a key (the event "
               "destinations order and deliver rows by key)";
    if (!keyed_path || cfg->copy_method != PGH_COPY_METHOD_PARALLEL)
        return "only copy_method: parallel copies a table without a key (the watermarked "
               "chunks of copy_method: watermarks and --changes-only need a key)";
    if (cfg->on_conflict_action != PGH_ON_CONFLICT_ERROR)
        return "on_conflict_action: update or nothing needs a key to find an existing row";
    if (rules)
        return "rules_file is not supported with a table without a key yet";
    return NULL;
}

static int check_equality(const pgh_table_info *t, PGconn *src, pgh_error *err)
{
    char oid[16];
    snprintf(oid, sizeof(oid), "%u", t->oid);
    const char *params[1] = {oid};
    char found[512] = "";
    int rc = pgh_pg_query_text(found, sizeof(found), src, NO_EQUALITY_SQL, 1, params, err);
    if (rc != 0 || found[0] == '\0')
        return rc;
    char *bar = strchr(found, '|');
    if (bar != NULL)
        *bar = '\0';
    return pgh_error_set(err, PGH_EPRECOND,
                         "source table %s.%s has no key, so its updates and deletes are matched "
                         "on every column, but column %s holds type %s, which has no equality: "
                         "add a primary key or a unique index on NOT NULL columns, or change the "
                         "column's type",
                         t->schema, t->name, found, bar ? bar + 1 : "?");
}

int pgh_source_check_keyless(const pgh_table_info *t, PGconn *src, const char *refusal,
                             pgh_error *err)
{
    if (refusal != NULL)
        return pgh_error_set(err, PGH_EPRECOND,
                             "source table %s.%s has REPLICA IDENTITY FULL and no primary key "
                             "nor unique index on NOT NULL columns: %s; add a primary key or a "
                             "unique index on NOT NULL columns (ALTER TABLE %s ADD PRIMARY KEY "
                             "(...))",
                             t->schema, t->name, refusal, t->qualified);
    if (t->relkind == 'p')
        return pgh_error_set(err, PGH_EPRECOND,
                             "source table %s.%s is partitioned and has no key: pghost copies a "
                             "table without a key only when it is an ordinary table; add a "
                             "primary key or a unique index on NOT NULL columns",
                             t->schema, t->name);
    return check_equality(t, src, err);
}
