/*
 * The copy of tables without a key (source/keyless.c, docs/sync.md): one transaction in the
 * snapshot the slot exported at its consistent point, so that the replay from that point
 * applies every later change to them exactly once. The session that exported the snapshot
 * ends as soon as the copy has taken it.
 */
#include <stdlib.h>
#include <string.h>

#include "pghost/log.h"
#include "pipeline_internal.h"
#include "source/copy_snapshot.h"
#include "source/copy_units.h"
#include "source/preflight.h"

/* The snapshot is imported: the exporting session may go (its end ends nothing else). */
static void imported(void *payload)
{
    pipe_run *r = payload;
    PQfinish(r->exporter);
    r->exporter = NULL;
}

static void warn_xmin(const copy_units *u)
{
    for (int i = 0; i < u->n; i++)
        pgh_log(PGH_LOG_WARN, "copy",
                "%s.%s has no key: it is copied whole in one transaction on the source, in the "
                "slot's snapshot (%.1f MB); that transaction holds the source's xmin (VACUUM "
                "keeps the rows deleted meanwhile) until the copy ends",
                u->units[i].src->schema, u->units[i].src->name,
                (double)u->units[i].src->size_bytes / (1024.0 * 1024.0));
}

int pgh_pipeline__copy_keyless(pipe_run *r, const char *const *dests, pgh_error *err)
{
    if (r->exporter == NULL || r->snapshot[0] == '\0')
        return pgh_error_set(err, PGH_EPRECOND,
                             "tables without a key are copied in the snapshot exported when the "
                             "slot %s is created, and it was not created by this run: run pghost "
                             "teardown, then start over",
                             r->cfg->slot_name);
    copy_units u;
    memset(&u, 0, sizeof(u));
    int rc = pgh_copy_units_build(&u, r->src, r->tables.src, dests, r->tables.n,
                                  PGH_COPY_FORMAT_TEXT, NULL, true, err);
    if (rc == 0)
        warn_xmin(&u);
    pgh_copy_snapshot_opts o = {.source_conninfo = r->cfg->source_connection,
                                .app_name = "pghost copy",
                                .snapshot = r->snapshot,
                                .keyed = r->ops->keyed,
                                .user = r->user,
                                .cancel = r->o->cancel,
                                .first_unit = r->tables.n + 1,
                                .imported = imported,
                                .payload = r};
    if (rc == 0)
        rc = pgh_copy_snapshot_run(u.units, u.n, &o, err);
    for (int k = 0; k < u.n; k++) {
        r->out->tables[u.table[k]].rows_copied += atomic_load(&u.units[k].rows);
        r->out->tables[u.table[k]].bytes_copied += atomic_load(&u.units[k].bytes);
    }
    if (rc == 0)
        pgh_log(PGH_LOG_INFO, "copy", "copied %d table%s without a key in the slot's snapshot", u.n,
                u.n == 1 ? "" : "s");
    pgh_copy_units_dispose(&u);
    imported(r); /* on failure too: the snapshot is of no use any more */
    r->snapshot[0] = '\0';
    return rc;
}

int pgh_pipeline__keyless_resumable(pipe_run *r, pgh_error *err)
{
    for (int i = 0; i < r->tables.n; i++) {
        const pgh_table_info *t = r->tables.src[i];
        if (pgh_source_is_keyless(t))
            return pgh_error_set(err, PGH_EPRECOND,
                                 "the copy of slot %s was interrupted, and source table %s.%s "
                                 "has no key: its copy ran in the slot's snapshot, which ended "
                                 "with the run, so it cannot be resumed; run pghost teardown "
                                 "(and empty the destination tables), then start over",
                                 r->cfg->slot_name, t->schema, t->name);
    }
    return 0;
}
