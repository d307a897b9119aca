/*
 * Tables without a key (REPLICA IDENTITY FULL, no usable unique index): what copying and
 * following them needs from the source (docs/sync.md, "Tables without a key"). They are copied
 * once, in the snapshot the slot exported, and their changes are matched on the whole old row
 * (`IS NOT DISTINCT FROM` on every column): so every column's type needs equality, and the
 * table must be an ordinary one (a partitioned table's rows are not told apart by ctid).
 */

#include "source/preflight.h"
#include "source/type_walk.h"

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
    char buf[512];
    const char *column, *type;
    int rc = pgh_source__type_lacking(&column, &type, buf, sizeof(buf), src, t->oid,
                                      PGH_TYPE_NEED_EQUALITY, err);
    if (rc != 0 || column == NULL)
        return rc;
    return pgh_error_set(err, PGH_EPRECOND,
                         "source table %s.%s has no key, so its updates and deletes are matched "
                         "on every column, but column %s holds type %s, which has no equality: "
                         "add a primary key or a unique index on NOT NULL columns, or change the "
                         "column's type",
                         t->schema, t->name, column, type);
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
