/*
 * Following: after the checkpoint, apply the slot's changes to the destination until stopped.
 *
 * Exactly once: the apply writes the position (end LSN of the last source transaction applied)
 * into <state_schema>.state in the same destination transaction as the data, and on every
 * (re)start skips the source transactions that committed before it. The slot is told only
 * what the destination has committed, so the source never discards WAL that was not applied.
 * Source transactions are never split: the destination commits only between them.
 *
 * Faults: a lost connection to either server is retried with exponential backoff (100 ms to
 * 10 s), logged, and the stream resumes from the slot; a slot that no longer exists, or any
 * other server error, stops with that error. A stop request (SIGINT/SIGTERM) lets the current
 * source transaction finish (up to STOP_GRACE_MS), commits, and returns 0.
 */
#include <string.h>
#include <time.h>

#include "pipeline_internal.h"
#include "pg/sql.h"
#include "util/clock.h"
#include "pg/conn.h"
#include "dest/stdout/json_sink.h"
#include "pghost/log.h"
#include "state/state.h"
#include "source/stream.h"

#define WAIT_MS 250
#define STOP_GRACE_MS 3000
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 10000



static bool canceled(const pgh_replicate_opts *o)
{
    return o->cancel && atomic_load(o->cancel);
}

typedef struct follow_loop {
    const pgh_replicate_opts *o; /* borrowed */
    pgh_stream *stream;          /* owned */
    pgh_sink *sink;              /* owned */
    bool in_txn;                 /* between a source BEGIN and its COMMIT */
    int64_t last_flush_ms;
    int64_t stop_deadline_ms;    /* 0 until a stop was requested */
    uint64_t *applied_txns;      /* borrowed: counter for the result */
} follow_loop;

/* Commit what is open (only ever between source transactions) and tell the slot. */
static int flush(follow_loop *f, bool idle, pgh_error *err)
{
    pgh_lsn committed = 0;
    int rc = pgh_sink_flush(f->sink, &committed, err);
    if (rc != 0)
        return rc;
    /* Idle between transactions: everything the server sent is settled, so its position can
     * be confirmed too (as PostgreSQL's own apply worker does); WAL keeps moving. */
    pgh_lsn server = pgh_stream_server_lsn(f->stream);
    pgh_stream_set_flushed(f->stream, idle && server > committed ? server : committed);
    f->last_flush_ms = pgh_clock_ms();
    return 0;
}

/* One change: apply it, and commit after a short delay at transaction boundaries. */
static int handle(follow_loop *f, const pgh_change *c, pgh_error *err)
{
    int rc = pgh_sink_write(f->sink, c, err);
    if (rc != 0) {
        if (err->lsn == 0)
            err->lsn = c->wal_start;
        return rc;
    }
    if (c->kind == PGH_CHANGE_BEGIN)
        f->in_txn = true;
    if (c->kind != PGH_CHANGE_COMMIT)
        return 0;
    f->in_txn = false;
    (*f->applied_txns)++;
    if (pgh_clock_ms() - f->last_flush_ms >= f->o->config->apply_group_max_delay_ms ||
        f->stop_deadline_ms)
        return flush(f, false, err);
    return 0;
}

/* Stream until stopped or failed. Returns 0 after a clean stop. */
static int run_stream(follow_loop *f, pgh_error *err)
{
    for (;;) {
        if (canceled(f->o) && f->stop_deadline_ms == 0)
            f->stop_deadline_ms = pgh_clock_ms() + STOP_GRACE_MS;
        if (f->stop_deadline_ms && !f->in_txn)
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
        if (rc == 1)
            rc = handle(f, &c, err);
        else if (!f->in_txn)
            rc = flush(f, true, err);
        if (rc != 0)
            return rc;
    }
}

static int open_stream(follow_loop *f, pgh_lsn applied, pgh_error *err);

/* JSON lines: no destination state; the slot's confirmed position is the position. */
static int start_json(follow_loop *f, pgh_error *err)
{
    const pgh_config *cfg = f->o->config;
    pgh_json_sink_opts jo = PGH_JSON_SINK_OPTS_INIT;
    jo.out = f->o->json_out ? f->o->json_out : stdout;
    jo.tables = cfg->tables;
    jo.ntables = (int)cfg->ntables;
    int rc = pgh_json_sink_open(&f->sink, &jo, err);
    return rc != 0 ? rc : open_stream(f, 0, err);
}

/* Read the position, open the apply (strict, recording the position) and the stream. */
static int start(follow_loop *f, pgh_error *err)
{
    const pgh_config *cfg = f->o->config;
    if (cfg->destination == PGH_DESTINATION_STDOUT)
        return start_json(f, err);
    PGconn *ctl = NULL;
    pgh_state st;
    int rc = pgh_conn_open(&ctl, cfg->destination_connection, PGH_CONN_SQL, "destination",
                           "pghost", err);
    if (rc == 0)
        rc = pgh_state_read(&st, ctl, cfg->state_schema, cfg->slot_name, err);
    if (rc == 0 && !st.found)
        rc = pgh_error_set(err, PGH_EPRECOND,
                           "%s.state has no position for slot %s: the sync did not finish; run "
                           "pghost teardown, then pghost replicate --follow again",
                           cfg->state_schema, cfg->slot_name);
    pgh_apply_opts ao = PGH_APPLY_OPTS_INIT;
    ao.conninfo = cfg->destination_connection;
    ao.app_name = "pghost follow";
    ao.tables = cfg->tables;
    ao.ntables = (int)cfg->ntables;
    ao.mode = PGH_APPLY_STRICT;
    ao.group_max_changes = (int)cfg->apply_group_max_changes;
    ao.state_schema = cfg->state_schema;
    ao.slot = cfg->slot_name;
    ao.schema_drift = cfg->schema_drift;
    if (rc == 0) {
        ao.skip_before = st.applied_lsn;
        rc = pgh_pg_is_superuser(&ao.replica_role, ctl, err);
    }
    if (rc == 0)
        rc = pgh_apply_open(&f->sink, &ao, err);
    PQfinish(ctl);
    return rc != 0 ? rc : open_stream(f, st.applied_lsn, err);
}

static int open_stream(follow_loop *f, pgh_lsn applied, pgh_error *err)
{
    const pgh_config *cfg = f->o->config;
    int rc = pgh_stream_open_config(&f->stream, cfg, "pghost follow", err);
    if (rc == PGH_ESQL && pgh_pg_error_is(err, PGH_SQLSTATE_UNDEFINED_OBJECT)) {
        pgh_error_clear(err);
        rc = pgh_error_set(err, PGH_ENOTFOUND,
                           "replication slot %s no longer exists on the source: the changes after "
                           "LSN " PGH_LSN_FMT " cannot be replayed; run pghost teardown, then sync "
                           "again",
                           cfg->slot_name, PGH_LSN_ARGS(applied));
    }
    if (rc == 0)
        pgh_log(PGH_LOG_INFO, "follow", "following slot %s from " PGH_LSN_FMT, cfg->slot_name,
                PGH_LSN_ARGS(applied));
    f->last_flush_ms = pgh_clock_ms();
    return rc;
}

static void stop(follow_loop *f)
{
    pgh_stream_close(f->stream);
    f->stream = NULL;
    pgh_sink_free(f->sink); /* an unfinished source transaction is rolled back */
    f->sink = NULL;
}

/* Wait before reconnecting; false when a stop was requested meanwhile. */
static bool backoff_wait(const pgh_replicate_opts *o, int ms)
{
    for (int waited = 0; waited < ms; waited += 100) {
        if (canceled(o))
            return false;
        pgh_sleep_ms(100);
    }
    return !canceled(o);
}

int pgh_pipeline__follow(uint64_t *applied_txns, const pgh_replicate_opts *o, pgh_error *err)
{
    int backoff = BACKOFF_MIN_MS;
    for (;;) {
        follow_loop f = {.o = o, .applied_txns = applied_txns};
        uint64_t before = *applied_txns;
        int rc = start(&f, err);
        if (rc == 0)
            rc = run_stream(&f, err);
        stop(&f);
        if (rc == 0 || (rc == PGH_ECONN && canceled(o)))
            return 0;
        if (rc != PGH_ECONN)
            return rc;
        if (*applied_txns > before)
            backoff = BACKOFF_MIN_MS; /* that session worked: start the backoff over */
        pgh_log(PGH_LOG_WARN, "follow", "%s; reconnecting in %d ms", err->message, backoff);
        pgh_error_clear(err);
        if (!backoff_wait(o, backoff))
            return 0;
        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
    }
}
