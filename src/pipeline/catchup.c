/*
 * The catch-up: replay the slot from its start into the destination up to a checkpoint.
 *
 * The checkpoint is a transactional logical message written on the source after the copy, so
 * it arrives after every transaction that any copy batch could have seen. Rows the
 * destination's conflict rules could not settle (a key moved past both copy batches, with
 * TOAST values the destination never had: pghost/keyed.h) are copied again from the source
 * like a small copy batch; a new checkpoint is written after that copy and the replay goes on
 * to it. Rounds repeat until a checkpoint is reached with nothing to copy again.
 *
 * Copying again waits first until every transaction replayed to the checkpoint is visible on
 * the source (catchup_visible.c): a commit reaches the stream before new snapshots see it, for
 * as long as a synchronous standby takes, and a row read in between would undo it for good.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pg/conn.h"
#include "pghost/log.h"
#include "pipeline_internal.h"
#include "util/clock.h"

#define CATCHUP_WAIT_MS 250
#define MAX_REPAIR_ROUNDS 50
#define FLUSH_INTERVAL_MS 1000
#define LOG_INTERVAL_MS 1000 /* debug: the catch-up's position, at most this often */

bool pgh_pipeline__is_checkpoint(const pgh_change *c, const char *marker)
{
    return pgh_pipeline__is_message(c, PGH_CHECKPOINT_PREFIX) &&
           c->u.message.len == strlen(marker) &&
           memcmp(c->u.message.content, marker, c->u.message.len) == 0;
}

static bool is_row_change(const pgh_change *c)
{
    return c->kind == PGH_CHANGE_INSERT || c->kind == PGH_CHANGE_UPDATE ||
           c->kind == PGH_CHANGE_DELETE || c->kind == PGH_CHANGE_TRUNCATE;
}

int pgh_pipeline__emit_checkpoint(pgh_lsn *marker_lsn, char *marker, size_t marker_len,
                                  pipe_run *r, int round, pgh_error *err)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(marker, marker_len, "checkpoint %s %lld.%09ld.%d.%d", r->cfg->slot_name,
             (long long)ts.tv_sec, ts.tv_nsec, (int)getpid(), round);
    const char *params[2] = {PGH_CHECKPOINT_PREFIX, marker};
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, r->src,
                            "SELECT pg_catalog.pg_logical_emit_message(true, $1, $2)", 2, params,
                            err);
    if (rc == 0 && pgh_lsn_parse(marker_lsn, PQgetvalue(res, 0, 0)) != 0)
        rc = pgh_error_set(err, PGH_EPROTO, "the source returned no LSN for the checkpoint");
    PQclear(res);
    if (rc != 0)
        pgh_error_prefix(err, "writing the checkpoint");
    return rc;
}

static void report(pipe_run *r, pgh_lsn at, pgh_lsn target)
{
    if (r->o->progress == NULL)
        return;
    pgh_progress p = {.phase = PGH_PROGRESS_CATCHUP, .at = at, .target = target};
    r->o->progress(&p, r->o->progress_payload);
}

/* What one replay needs. */
typedef struct replay {
    pipe_run *r;
    pgh_stream *stream;
    bool confirm;       /* tell the slot what is durable */
    const char *marker; /* the checkpoint's content */
    pgh_lsn marker_lsn;
    pgh_lsn at;          /* end of the last transaction replayed, 0 before the first */
    int64_t logged_ms;   /* when the position was last logged (debug) */
    run_visible visible; /* transactions replayed that the copy again may not see yet */
} replay;

/* At debug, about every second: how far the replay got towards the checkpoint. */
static void log_position(replay *p)
{
    if (!pgh_log_enabled(PGH_LOG_DEBUG) || pgh_clock_ms() - p->logged_ms < LOG_INTERVAL_MS)
        return;
    p->logged_ms = pgh_clock_ms();
    long long left = p->at && p->marker_lsn > p->at ? (long long)(p->marker_lsn - p->at) : -1;
    pgh_log_at(PGH_LOG_DEBUG, "catch-up", NULL, p->at,
               "replayed to " PGH_LSN_FMT " of the checkpoint at " PGH_LSN_FMT
               " (%lld bytes of WAL left%s); %llu row changes seen",
               PGH_LSN_ARGS(p->at), PGH_LSN_ARGS(p->marker_lsn), left < 0 ? 0 : left,
               p->at ? "" : ", no transaction yet", (unsigned long long)p->r->out->changes_seen);
}

/* Durable at the checkpoint, and about every second on the way (so the slot can release WAL);
 * in between, source transactions share destination transactions. */
static int flush(replay *p, pgh_error *err)
{
    pgh_lsn flushed = 0;
    int rc = p->r->ops->flush ? p->r->ops->flush(p->r->user, &flushed, err) : 0;
    if (rc == 0 && p->confirm)
        pgh_stream_set_flushed(p->stream, flushed);
    return rc;
}

/* Read and apply until the marker's transaction commits; r->out->checkpoint_lsn is its end. */
static int replay_to(replay *p, pgh_error *err)
{
    pipe_run *r = p->r;
    bool marker_seen = false;
    int64_t last_flush_ms = pgh_clock_ms();
    for (;;) {
        if (pgh_pipeline__canceled(r))
            return pgh_error_set(err, PGH_ECANCELED, "catch-up canceled");
        pgh_change c;
        log_position(p);
        int rc = pgh_stream_next(p->stream, &c, CATCHUP_WAIT_MS, err);
        if (rc < 0)
            return rc;
        if (rc == 0) {
            report(r, 0, p->marker_lsn);
            continue;
        }
        if (is_row_change(&c))
            r->out->changes_seen++;
        if (c.kind == PGH_CHANGE_BEGIN && pgh_pipeline__visible_note(&p->visible, c.u.begin.xid))
            return pgh_error_set(err, PGH_ENOMEM, "out of memory");
        marker_seen = marker_seen || pgh_pipeline__is_checkpoint(&c, p->marker);
        rc = r->handle(r, &c, err);
        if (rc != 0)
            return rc;
        if (c.kind != PGH_CHANGE_COMMIT)
            continue;
        p->at = c.u.commit.end_lsn;
        report(r, c.u.commit.commit_lsn, p->marker_lsn);
        if (!marker_seen && pgh_clock_ms() - last_flush_ms < FLUSH_INTERVAL_MS)
            continue;
        rc = flush(p, err);
        if (rc != 0)
            return rc;
        last_flush_ms = pgh_clock_ms();
        if (marker_seen) {
            r->out->checkpoint_lsn = c.u.commit.end_lsn;
            return 0;
        }
    }
}

static int copy_again(replay *p, pgh_error *err)
{
    pipe_run *r = p->r;
    pgh_recopy_row *rows = NULL;
    int n = 0;
    int rc = r->ops->keyed->take_recopy(r->user, &rows, &n, err);
    if (rc == 0 && n > 0)
        rc = pgh_pipeline__visible_wait(&p->visible, r, p->stream, err);
    if (rc == 0 && n > 0) {
        pgh_log(PGH_LOG_INFO, "catch-up",
                "%d rows moved with unchanged TOAST values: copying them again", n);
        rc = pgh_pipeline__recopy(r, rows, n, p->stream, err);
        r->out->rows_recopied += (uint64_t)n;
    }
    pgh_recopy_rows_free(rows, n);
    return rc != 0 ? rc : (n > 0 ? 1 : 0);
}

static int rounds(replay *p, pgh_error *err)
{
    for (int round = 0; round < MAX_REPAIR_ROUNDS; round++) {
        char marker[256];
        int rc = pgh_pipeline__emit_checkpoint(&p->marker_lsn, marker, sizeof(marker), p->r,
                                               round, err);
        if (rc != 0)
            return rc;
        /* After the checkpoint's transaction returned: what may still be invisible. */
        rc = pgh_pipeline__visible_take(&p->visible, p->r->src, err);
        if (rc != 0)
            return rc;
        pgh_log(PGH_LOG_INFO, "catch-up", "checkpoint written at " PGH_LSN_FMT "; replaying to it",
                PGH_LSN_ARGS(p->marker_lsn));
        p->marker = marker;
        rc = replay_to(p, err);
        if (rc == 0)
            rc = copy_again(p, err);
        if (rc <= 0)
            return rc;
    }
    return pgh_error_set(err, PGH_ECANCELED,
                         "rows kept moving past the catch-up for %d rounds; try again when the "
                         "source is less busy",
                         MAX_REPAIR_ROUNDS);
}

int pgh_pipeline__catchup(pipe_run *r, bool confirm, pgh_error *err)
{
    replay p = {.r = r, .confirm = confirm};
    r->ops->keyed->set_catchup(r->user, true);
    int64_t start = pgh_clock_ms();
    /* On the replication session the preflight kept, when there is one. */
    PGconn *repl = r->repl;
    r->repl = NULL;
    int rc = pgh_stream_open_config_on(&p.stream, repl, r->cfg, "pghost catch-up", err);
    if (rc == 0)
        rc = rounds(&p, err);
    if (rc == 0)
        rc = pgh_stream_send_status(p.stream, false, err);
    pgh_stream_close(p.stream);
    pgh_pipeline__visible_reset(&p.visible);
    r->ops->keyed->set_catchup(r->user, false);
    r->out->catchup_seconds = (double)(pgh_clock_ms() - start) / 1000.0;
    return rc;
}
