/* The run's replication slot: see pipeline_internal.h. */
#include <stdio.h>
#include <string.h>

#include "pg/conn.h"
#include "pg/slot.h"
#include "pg/sqlstate.h"
#include "pghost/log.h"
#include "pipeline_internal.h"
#include "util/clock.h"

/* The walsender of a stream that just ended may take a moment to release the slot: retry
 * while the slot is in use (55006), for up to 10 s. */
static int slot_retry(pipe_run *r, bool drop, pgh_lsn lsn, pgh_error *err)
{
    const char *slot = r->cfg->slot_name;
    for (int attempt = 0;; attempt++) {
        pgh_error e;
        pgh_error_clear(&e);
        int rc = drop ? pgh_slot_drop(r->src, slot, true, &e)
                      : pgh_slot_advance(r->src, slot, lsn, &e);
        if (rc == 0 || !pgh_pg_error_is(&e, PGH_SQLSTATE_OBJECT_IN_USE) || attempt >= 100) {
            if (rc != 0 && err)
                *err = e;
            return rc;
        }
        pgh_sleep_ms(100);
    }
}

/* Tables without a key are copied in the snapshot of the slot's consistent point, exactly:
 * the slot is created on a replication session that exports it, and that session stays open
 * and idle until the copy has imported it (pgh_pipeline__copy_keyless). */
static int create_exported(pipe_run *r, pgh_error *err)
{
    const pgh_config *cfg = r->cfg;
    PQfinish(r->exporter);
    r->exporter = NULL;
    r->snapshot[0] = '\0';
    int rc = pgh_conn_open(&r->exporter, pgh_config_replication_conninfo(cfg),
                           PGH_CONN_REPLICATION, "source (replication)", "pghost snapshot", err);
    if (rc == 0)
        rc = pgh_slot_create_exported(&r->out->slot_lsn, r->snapshot, sizeof(r->snapshot),
                                      r->exporter, cfg->slot_name, err);
    if (rc != 0) {
        PQfinish(r->exporter);
        r->exporter = NULL;
    }
    return rc;
}

static int create(pipe_run *r, pgh_error *err)
{
    const pgh_config *cfg = r->cfg;
    pgh_log(PGH_LOG_INFO, "replicate", "creating replication slot %s", cfg->slot_name);
    int rc = r->tables.any_keyless ? create_exported(r, err)
                                   : pgh_slot_create(&r->out->slot_lsn, r->src, cfg->slot_name,
                                                     err);
    if (rc == 0) {
        r->slot_created = true;
        pgh_log(PGH_LOG_INFO, "replicate", "slot %s consistent at " PGH_LSN_FMT "; copying",
                cfg->slot_name, PGH_LSN_ARGS(r->out->slot_lsn));
    }
    return rc;
}

/* Create the slot, or on a resumed run find it again. A resumed run whose slot is gone can
 * start it anew only if nothing was copied yet; anything else lost changes. */
int pgh_pipeline__slot_ensure(pipe_run *r, bool resuming, bool copy_started, pgh_error *err)
{
    const pgh_config *cfg = r->cfg;
    bool exists = false;
    int rc = resuming ? pgh_slot_exists(&exists, r->src, cfg->slot_name, err) : 0;
    if (rc != 0)
        return rc;
    if (exists) {
        pgh_log(PGH_LOG_INFO, "replicate", "resuming with replication slot %s (phase %s)",
                cfg->slot_name, r->phase);
        r->slot_created = true;
        return 0;
    }
    if (resuming && copy_started)
        return pgh_error_set(err, PGH_ENOTFOUND,
                             "replication slot %s of the interrupted run no longer exists on the "
                             "source: changes made since it was created are lost; run pghost "
                             "teardown, then start over",
                             cfg->slot_name);
    return create(r, err);
}

/* The slot's confirmed position has reached lsn? */
static int confirmed_at(bool *out, pipe_run *r, pgh_lsn lsn, pgh_error *err)
{
    char confirmed[32];
    const char *params[1] = {r->cfg->slot_name};
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, r->src,
                            "SELECT confirmed_flush_lsn FROM pg_catalog.pg_replication_slots "
                            "WHERE slot_name = $1",
                            1, params, err);
    if (rc != 0)
        return rc;
    snprintf(confirmed, sizeof(confirmed), "%s", PQntuples(res) ? PQgetvalue(res, 0, 0) : "");
    PQclear(res);
    pgh_lsn at = 0;
    *out = pgh_lsn_parse(&at, confirmed) == 0 && at >= lsn;
    return 0;
}

int pgh_pipeline__slot_finish(pipe_run *r, bool keep, pgh_error *err)
{
    if (!keep) {
        int rc = slot_retry(r, true, 0, err);
        if (rc == 0)
            r->slot_created = false;
        return rc;
    }
    bool there = false;
    int rc = confirmed_at(&there, r, r->out->checkpoint_lsn, err);
    if (rc != 0 || there)
        return rc;
    return slot_retry(r, false, r->out->checkpoint_lsn, err);
}

void pgh_pipeline__slot_cleanup(pipe_run *r, int rc)
{
    const char *slot = r->cfg->slot_name;
    /* On failure a slot is worth keeping only when something can go on from it: a resumable
     * run goes on from it, and after the checkpoint it is positioned for a subscription. */
    bool useful = r->follow || r->resumable || r->checkpoint_reached;
    if (rc == 0 || !r->slot_created || r->src == NULL)
        return;
    if (useful && !r->follow && !r->checkpoint_reached)
        pgh_log(PGH_LOG_WARN, "replicate",
                "the run stopped before its checkpoint; replication slot %s and the progress "
                "recorded in %s keep what is done: run the same command again to resume, or "
                "pghost teardown to drop them",
                slot, r->cfg->state_schema);
    else if (useful && !r->follow)
        pgh_log(PGH_LOG_WARN, "replicate",
                "replication slot %s stays at the checkpoint; attach a subscription to it, or "
                "drop it with SELECT pg_drop_replication_slot('%s')",
                slot, slot);
    if (useful)
        return;
    if (slot_retry(r, true, 0, NULL) == 0)
        pgh_log(PGH_LOG_INFO, "replicate", "dropped replication slot %s after the failure", slot);
    else
        pgh_log(PGH_LOG_WARN, "replicate",
                "could not drop replication slot %s: drop it with SELECT "
                "pg_drop_replication_slot('%s') so that it does not retain WAL",
                slot, slot);
}
