/*
 * A key pghost can page through and match on: every key column's type has equality and
 * ordering, that is a default btree operator class. A primary key's own type always has one,
 * but a composite or array key compares its fields one by one at run time: a composite holding
 * a point or a json compares only until two rows meet, then fails, mid-copy. So the check walks
 * into domains (their base type), arrays (their element) and composites (their fields); range
 * and enum types are ordered by definition.
 */

#include "source/preflight.h"
#include "source/type_walk.h"

int pgh_source_check_key_order(const pgh_table_info *t, PGconn *src, pgh_error *err)
{
    if (t->nkeys == 0)
        return 0;
    char buf[512];
    const char *column, *type;
    int rc = pgh_source__type_lacking(&column, &type, buf, sizeof(buf), src, t->oid,
                                      PGH_TYPE_NEED_ORDER, err);
    if (rc != 0 || column == NULL)
        return rc;
    return pgh_error_set(err, PGH_EPRECOND,
                         "source table %s.%s: key column %s holds type %s, which has no "
                         "ordering (no default btree operator class), so pghost cannot copy in "
                         "key order: use a primary key of ordered types (or add a btree "
                         "operator class for %s)",
                         t->schema, t->name, column, type, type);
}
