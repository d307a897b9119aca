/*
 * Following: after the checkpoint, stream the slot's changes into the destination until
 * stopped.
 *
 * The destination is told of every commit with the position after it; flush (at least every
 * apply_group_max_delay_ms, and when idle or stopping) makes what it holds durable and says up
 * to where, and only that is confirmed to the slot, so the source never discards WAL that was
 * not delivered. Source transactions are never split: flush is called between them only. A
 * transactional destination keeps its position with the data and skips what it holds after a
 * restart: exactly once. Any other gets at least once.
 *
 * Faults: a lost connection to either server is retried with exponential backoff (100 ms to
 * 10 s: pgh_pipeline__backoff, shared with reconnect.c), logged, and the stream resumes from
 * the slot with the destination opened again; a slot that no longer exists, or any other
 * error, stops with that error. A stop request
 * (SIGINT/SIGTERM) lets the current source transaction finish (up to STOP_GRACE_MS), flushes,
 * and returns 0.
 */
#include <string.h>

#include "pg/sqlstate.h"
#include "pghost/log.h"
#include "pipeline_internal.h"
#include "util/clock.h"

#define WAIT_MS 250
#define STOP_GRACE_MS 3000

typedef struct follow_loop {
    pipe_run *r;             /* borrowed */
    pgh_stream *stream;      /* owned */
    bool in_txn;             /* between a source BEGIN and its COMMIT */
    pgh_lsn delivered;       /* end LSN of the last COMMIT this session delivered */
    int64_t last_flush_ms;
    int64_t stop_deadline_ms; /* 0 until a stop was requested */
} follow_loop;

/* Make what is committed durable (only ever between source transactions) and tell the slot. */
static int flush(follow_loop *f, bool idle, pgh_error *err)
{
    pipe_run *r = f->r;
    pgh_lsn durable = r->ops->flush ? 0 : f->delivered; /* no flush: the last commit */
    int rc = r->ops->flush ? r->ops->flush(r->user, &durable, err) : 0;
    if (rc != 0)
        return rc;
    /* Idle between transactions, with every delivered transaction durable: everything the
     * server sent is settled, so its position can be confirmed too (as PostgreSQL's own apply
     * worker does); WAL keeps moving. A destination still holding delivered transactions
     * (a webhook batch not yet accepted) keeps the slot at what it made durable. */
    pgh_lsn server = pgh_stream_server_lsn(f->stream);
    bool settled = idle && durable >= f->delivered;
    pgh_stream_set_flushed(f->stream, settled && server > durable ? server : durable);
    f->last_flush_ms = pgh_clock_ms();
    return 0;
}

/* One change: deliver it, and flush after a short delay at transaction boundaries. */
static int handle(follow_loop *f, const pgh_change *c, pgh_error *err)
{
    int rc = f->r->handle(f->r, c, err);
    if (rc != 0)
        return rc;
    if (c->kind == PGH_CHANGE_BEGIN)
        f->in_txn = true;
    if (c->kind != PGH_CHANGE_COMMIT)
        return 0;
    f->in_txn = false;
    f->delivered = c->u.commit.end_lsn;
    f->r->out->followed_txns++;
    if (pgh_clock_ms() - f->last_flush_ms >= f->r->cfg->apply_group_max_delay_ms ||
        f->stop_deadline_ms)
        return flush(f, false, err);
    return 0;
}

/* Stream until stopped or failed. Returns 0 after a clean stop. */
static int run_stream(follow_loop *f, pgh_error *err)
{
    for (;;) {
        if (pgh_pipeline__canceled(f->r) && f->stop_deadline_ms == 0)
            f->stop_deadline_ms = pgh_clock_ms() + STOP_GRACE_MS;
        if ((f->stop_deadline_ms || f->r->done) && !f->in_txn)
            return flush(f, false, err);
        if (f->stop_deadline_ms && pgh_clock_ms() > f->stop_deadline_ms) {
            pgh_log(PGH_LOG_WARN, "follow", "stopping inside a source transaction: it is rolled "
                                            "back on the destination and applied on the next run");
            return 0;
        }
        pgh_change c;
        int rc = pgh_stream_next(f->stream, &c, WAIT_MS, err);
        if (rc < 0)
            return rc;
        pgh_pipeline__stats_received(f->r, pgh_stream_server_lsn(f->stream),
                                     rc == 0 && !f->in_txn);
        if (rc == 1)
            rc = handle(f, &c, err);
        else if (!f->in_txn)
            rc = flush(f, true, err);
        if (rc != 0)
            return rc;
    }
}

static int open_stream(follow_loop *f, pgh_error *err)
{
    const pgh_config *cfg = f->r->cfg;
    int rc = pgh_stream_open_config(&f->stream, cfg, "pghost follow", err);
    if (rc == PGH_ESQL && pgh_pg_error_is(err, PGH_SQLSTATE_UNDEFINED_OBJECT)) {
        pgh_error_clear(err);
        rc = pgh_error_set(err, PGH_ENOTFOUND,
                           "replication slot %s no longer exists on the source: the changes after "
                           "its confirmed position cannot be replayed; run pghost teardown, then "
                           "sync again",
                           cfg->slot_name);
    }
    if (rc == 0) {
        pgh_log(PGH_LOG_INFO, "follow", "following slot %s", cfg->slot_name);
        pgh_pipeline__stats_reconnecting(f->r, false);
    }
    f->last_flush_ms = pgh_clock_ms();
    return rc;
}

/* One session: (re)open the destination when a failure closed it, stream, close the stream. */
static int session(pipe_run *r, pgh_error *err)
{
    follow_loop f = {.r = r};
    int rc = r->dest_open ? 0 : pgh_pipeline__open_dest(r, err);
    if (rc == 0 && r->session_start)
        rc = r->session_start(r, err);
    if (rc == 0)
        rc = open_stream(&f, err);
    if (rc == 0)
        rc = run_stream(&f, err);
    pgh_stream_close(f.stream);
    if (r->session_end)
        r->session_end(r);
    if (rc != 0)
        pgh_pipeline__close_dest(r); /* what is not committed is rolled back */
    return rc;
}

int pgh_pipeline__follow(pipe_run *r, pgh_error *err)
{
    int backoff = PGH_BACKOFF_MIN_MS;
    pgh_pipeline__stats_phase(r, PGH_PHASE_FOLLOW);
    for (;;) {
        uint64_t before = r->out->followed_txns;
        int rc = session(r, err);
        if (rc == 0 || (rc == PGH_ECONN && pgh_pipeline__canceled(r)))
            return 0;
        if (rc != PGH_ECONN)
            return rc;
        if (r->out->followed_txns > before)
            backoff = PGH_BACKOFF_MIN_MS; /* that session worked: start the backoff over */
        pgh_stats_count_error(r->o->stats, rc);
        pgh_pipeline__stats_reconnecting(r, true);
        if (!pgh_pipeline__backoff(r, &backoff, "follow", err))
            return 0;
    }
}
