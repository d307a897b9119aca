/*
 * The keys deferred to after the copy (pghost/schema.h): a table step 1 created as an ordinary
 * table, with on_conflict_action error, is created without its primary key and key index, so
 * that the copy does not maintain a btree row by row; its record in <state_schema>.key_pending
 * (state/key_pending.c) is written in the creating transaction. After the copy, before the
 * catch-up (whose last-write-wins, ON CONFLICT and re-copies find rows by the key), each key is
 * built in one destination transaction that also removes its record: a run interrupted at any
 * point finds every key either built or still recorded.
 */
#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"
#include "pghost/log.h"
#include "schema/internal.h"
#include "state/state.h"

static int add_table(const pgh_table_map *m, void *payload, pgh_error *err)
{
    return pgh_schema__add(payload, m->source_schema, m->source_table, m->dest_schema,
                           m->dest_table, err);
}

int pgh_schema_keys_pending(pgh_schema_created *out, PGconn *dst, const char *record_schema,
                            const char *slot, pgh_error *err)
{
    memset(out, 0, sizeof(*out));
    return pgh_state_key_pending_read(dst, record_schema, slot, add_table, out, err);
}

/* The source table's OID, or NULL when it is gone. */
static int source_oid(char **oid, PGconn *src, const pgh_schema_table *t, pgh_error *err)
{
    const char *params[2] = {t->source_schema, t->source_name};
    return pgh_schema__value(oid, src,
                             "SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace "
                             "n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2 "
                             "AND c.relkind = 'r'",
                             2, params, err);
}

/* Read the key of t from the source into the statements that build it (added to later), in a
 * short transaction of its own: no source transaction stays open while the destination builds
 * the key, which takes as long as a pass over the whole table. */
static int read_key(schema_ctx *c, const pgh_schema_table *t, const char *dst_q,
                    schema_jobs *later, pgh_error *err)
{
    int rc = pgh_conn_exec(c->src, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err);
    if (rc != 0)
        return rc;
    rc = pgh_conn_exec(c->src, "SET LOCAL search_path = pg_catalog", err);
    char *oid = NULL;
    if (rc == 0)
        rc = source_oid(&oid, c->src, t, err);
    const pgh_column_map *map =
        pgh_schema__map_of(c->cfg, c->maps, t->source_schema, t->source_name);
    c->later = later;
    if (rc == 0 && oid)
        rc = pgh_schema__add_primary_key(c, oid, dst_q, map, err);
    if (rc == 0 && oid)
        rc = pgh_schema__create_key_index(c, oid, dst_q, err);
    c->later = NULL;
    free(oid);
    int end = pgh_conn_exec(c->src, rc == 0 ? "COMMIT" : "ROLLBACK", rc == 0 ? err : NULL);
    return rc != 0 ? rc : end;
}

/* Build one table's key and forget its record, in one destination transaction. */
static int build_one(schema_ctx *c, const pgh_schema_table *t, pgh_error *err)
{
    schema_jobs later = {0};
    char *dst_q = pgh_conn_qualified(c->dst, t->dest_schema, t->dest_name);
    int rc = dst_q ? read_key(c, t, dst_q, &later, err)
                   : pgh_error_set(err, PGH_ENOMEM, "out of memory");
    if (rc == 0)
        rc = pgh_conn_exec(c->dst, "BEGIN", err);
    if (rc == 0)
        rc = pgh_conn_exec(c->dst, "SET LOCAL maintenance_work_mem = '"
                                   PGH_SCHEMA_MAINTENANCE_WORK_MEM "'", err);
    for (int i = 0; rc == 0 && i < later.n; i++)
        rc = pgh_conn_exec(c->dst, later.sql[i], err);
    if (rc == 0)
        rc = pgh_state_key_pending_done(c->dst, c->record_schema, c->slot, t->dest_schema,
                                        t->dest_name, err);
    if (rc == 0)
        rc = pgh_conn_exec(c->dst, "COMMIT", err);
    if (rc != 0 && PQtransactionStatus(c->dst) != PQTRANS_IDLE)
        PQclear(PQexec(c->dst, "ROLLBACK"));
    if (rc != 0)
        pgh_error_prefix(err, "building the key of destination table %s.%s after the copy",
                         t->dest_schema, t->dest_name);
    pgh_schema__jobs_dispose(&later);
    free(dst_q);
    return rc;
}

int pgh_schema_build_keys(int *built, PGconn *src, PGconn *dst, const pgh_config *cfg,
                          const pgh_column_map *const *maps, pgh_error *err)
{
    *built = 0;
    pgh_schema_created pending;
    int rc = pgh_schema_keys_pending(&pending, dst, cfg->state_schema, cfg->slot_name, err);
    schema_ctx c = {.src = src, .dst = dst, .cfg = cfg, .maps = maps,
                    .record_schema = cfg->state_schema, .slot = cfg->slot_name};
    for (int i = 0; rc == 0 && i < pending.n; i++) {
        pgh_log(PGH_LOG_DEBUG, "schema", "building the key of %s.%s after the copy",
                pending.tables[i].dest_schema, pending.tables[i].dest_name);
        rc = build_one(&c, &pending.tables[i], err);
        if (rc == 0)
            (*built)++;
    }
    pgh_schema_created_dispose(&pending);
    return rc;
}
