/*
 * The way of an event destination (no keyed callbacks): the slot, then a streaming session in
 * which the existing rows come in watermarked chunks between the changes (snapshot.h), until a
 * checkpoint written after the last of them (until CHECKPOINT) or until stopped. Every session,
 * the first and those after a lost connection, starts from the destination's position: its
 * resume token says which rows are still to deliver.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/slot.h"
#include "pghost/log.h"
#include "pipeline_internal.h"
#include "snapshot.h"

/* The slot: created when missing (then every table is delivered), else carried on. A
 * destination that holds a position on a slot that is gone missed changes: refuse. */
static int slot(pipe_run *r, const pgh_position *pos, pgh_error *err)
{
    const pgh_config *cfg = r->cfg;
    bool exists = false;
    int rc = pgh_slot_exists(&exists, r->src, cfg->slot_name, err);
    if (rc != 0 || exists)
        return rc;
    if (pos->lsn != 0 || pos->phase[0] != '\0')
        return pgh_error_set(err, PGH_ENOTFOUND,
                             "replication slot %s no longer exists on the source, but the "
                             "destination holds a position on it (" PGH_LSN_FMT "): changes "
                             "since then are lost; remove the destination's position (for "
                             "stdout, its state file) and start over",
                             cfg->slot_name, PGH_LSN_ARGS(pos->lsn));
    pgh_log(PGH_LOG_INFO, "stream", "creating replication slot %s", cfg->slot_name);
    rc = pgh_slot_create(&r->out->slot_lsn, r->src, cfg->slot_name, err);
    if (rc == 0) {
        r->slot_created = true;
        pgh_log(PGH_LOG_INFO, "stream", "created replication slot %s at " PGH_LSN_FMT,
                cfg->slot_name, PGH_LSN_ARGS(r->out->slot_lsn));
    }
    return rc;
}

/* What rows this session delivers: every table (a new slot, or a destination without a
 * position), the rest of an interrupted delivery (a resume token), or none. */
static int plan_rows(pipe_run *r, snapshot *s, const pgh_position *pos, bool first, pgh_error *err)
{
    if (pos->resume && pos->resume[0])
        return pgh_snapshot__resume(s, pos->resume, err);
    bool fresh = (first && r->slot_created) || pos->phase[0] == '\0';
    if (fresh)
        return pgh_snapshot__all(s, err);
    return pgh_snapshot__horizon_now(s, err); /* a restart: re-read until the stream is there */
}

/* until CHECKPOINT: once every row is delivered, write the checkpoint and stop after it. */
static int maybe_checkpoint(pipe_run *r, pgh_error *err)
{
    if (r->o->until != PGH_UNTIL_CHECKPOINT || r->marker[0] ||
        (r->snap && !pgh_snapshot__idle(r->snap)))
        return 0;
    pgh_lsn at = 0;
    return pgh_pipeline__emit_checkpoint(&at, r->marker, sizeof(r->marker), r, 0, err);
}

static int session_start(pipe_run *r, pgh_error *err)
{
    static const pgh_position none;
    pgh_position pos = none;
    bool first = r->phase[0] == '\0';
    int rc = r->ops->read_position ? r->ops->read_position(r->user, &pos, err) : 0;
    if (rc == 0 && first)
        rc = slot(r, &pos, err);
    bool rows = r->o->what != PGH_PIPELINE_CHANGES;
    /* Without rows too, the rules need the coordinator's re-reads (snapshot_reread.c). */
    if (rc == 0 && (rows || r->rules))
        rc = pgh_snapshot__new(&r->snap, r, err);
    if (rc == 0 && rows)
        rc = plan_rows(r, r->snap, &pos, first, err);
    if (rc == 0 && rows)
        rc = pgh_snapshot__start(r->snap, err);
    snprintf(r->phase, sizeof(r->phase), "%s",
             r->snap && !pgh_snapshot__idle(r->snap) ? "snapshot" : "follow");
    r->marker[0] = '\0';
    free(pos.resume);
    return rc == 0 ? maybe_checkpoint(r, err) : rc;
}

static void session_end(pipe_run *r)
{
    pgh_snapshot__free(r->snap);
    r->snap = NULL;
}

/* The resume token a commit carries (NULL when no table's rows are on their way). The phase
 * is "snapshot" while rows are on their way and while updates are still read again after them
 * (a destination may lack rows until then: the PostgreSQL one applies lenient rules), then
 * "follow". */
static const char *commit_token(pipe_run *r)
{
    if (r->snap == NULL)
        return NULL;
    const char *token = pgh_snapshot__token(r->snap);
    bool rows = token != NULL || pgh_snapshot__rereading(r->snap);
    snprintf(r->phase, sizeof(r->phase), "%s", rows ? "snapshot" : "follow");
    return token;
}

static int handle(pipe_run *r, const pgh_change *c, pgh_error *err)
{
    if (r->marker[0] && pgh_pipeline__is_checkpoint(c, r->marker))
        r->checkpoint_reached = true;
    int rc = r->snap ? pgh_snapshot__handle(r, c, err) : pgh_pipeline__deliver(r, c, err);
    if (rc == 0 && c->kind == PGH_CHANGE_COMMIT && r->checkpoint_reached && !r->done) {
        r->done = true;
        r->out->checkpoint_lsn = c->u.commit.end_lsn;
    }
    return rc == 0 ? maybe_checkpoint(r, err) : rc;
}

int pgh_pipeline__event(pipe_run *r, pgh_error *err)
{
    bool rows = r->o->what != PGH_PIPELINE_CHANGES;
    int rc = pgh_pipeline__preflight(
        r, false, rows || r->rules ? PREFLIGHT_TABLES : PREFLIGHT_NO_TABLES, err);
    if (rc == 0 && r->rules)
        rc = pgh_pipeline__rules_check(r, err);
    if (rc == 0)
        rc = pgh_pipeline__init_result(r, err);
    if (rc != 0)
        return rc;
    r->handle = handle;
    r->session_start = session_start;
    r->session_end = session_end;
    r->commit_token = commit_token;
    r->phase[0] = '\0';
    rc = pgh_pipeline__follow(r, err);
    if (rc == 0 && r->done) {
        rc = pgh_pipeline__slot_finish(r, r->o->keep_slot, err);
        /* A keyed destination's record of a run that ended goes with the run (as in keyed.c):
         * the next run starts afresh. */
        if (rc == 0 && r->ops->keyed && r->ops->keyed->forget)
            rc = r->ops->keyed->forget(r->user, err);
        if (rc == 0 && r->o->checkpoint_reached)
            r->o->checkpoint_reached(r->out, r->o->progress_payload);
    }
    pgh_pipeline__slot_cleanup(r, rc);
    return rc;
}
