/*
 * When the changes of a destination table may be merged (merge.h): nothing on the table can
 * see the order of the statements on different keys, or the states in between.
 *   - a plain table ('r') without inheritance children and without rules;
 *   - no unique index but the key's (a merged window may put rows in another order than the
 *     source did: another unique constraint could see two rows holding one value at once) and
 *     no exclusion constraint;
 *   - no trigger that fires in the apply's session: with session_replication_role = replica
 *     (disable_triggers, the default) ENABLE ALWAYS and ENABLE REPLICA triggers, otherwise
 *     ordinary and ALWAYS ones. Foreign keys are internal triggers on both tables (ordinary
 *     ones): with replica they do not fire and the table merges; without, it does not.
 * Checked once per relation mapping (a Relation or DDL message builds a new one).
 */
#include <stdio.h>
#include <string.h>

#include "merge.h"
#include "pg/conn.h"

#define MERGE_ALLOWED_SQL                                                                          \
    "SELECT c.relkind = 'r' AND NOT c.relhasrules AND NOT c.relhassubclass "                       \
    "  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid "              \
    "                  AND i.indisunique AND i.indexrelid <> $2::pg_catalog.oid) "                 \
    "  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint x WHERE x.conrelid = c.oid "         \
    "                  AND x.contype = 'x') "                                                      \
    "  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t WHERE t.tgrelid = c.oid "             \
    "                  AND t.tgenabled IN ('A', $3::\"char\")) "                                   \
    "FROM pg_catalog.pg_class c WHERE c.oid = $1::pg_catalog.oid"

int pgh_apply__merge_allowed(bool *ok, apply_rel *r, PGconn *conn, bool replica_role,
                             pgh_error *err)
{
    *ok = false;
    if (r->dst == NULL || r->keyless || r->nkeys == 0 || r->dst->key_index_oid == 0)
        return 0;
    if (r->merge != 0) {
        *ok = r->merge > 0;
        return 0;
    }
    char oid[16], key[16];
    snprintf(oid, sizeof(oid), "%u", r->dst->oid);
    snprintf(key, sizeof(key), "%u", r->dst->key_index_oid);
    const char *params[3] = {oid, key, replica_role ? "R" : "O"};
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, conn, MERGE_ALLOWED_SQL, 3, params, err);
    if (rc != 0) {
        pgh_error_prefix(err, "%s.%s: checking whether its changes can be merged", r->dst->schema,
                         r->dst->name);
        return rc;
    }
    *ok = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    r->merge = *ok ? 1 : -1;
    return 0;
}
