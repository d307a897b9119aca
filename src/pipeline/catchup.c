/*
 * The catch-up: replay the slot from its start into the destination up to a checkpoint.
 *
 * The checkpoint is a transactional logical message written on the source after the copy, so
 * it arrives after every transaction that any copy batch could have seen. Rows the apply could
 * not complete (a key moved past both copy batches, with TOAST values the destination never
 * had; see pghost/apply.h) are copied again from the source like a small copy batch; a new
 * checkpoint is written after that copy and the replay goes on to it. Rounds repeat until a
 * checkpoint is reached with nothing missing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pipeline_internal.h"
#include "util/clock.h"
#include "pg/conn.h"
#include "pghost/log.h"
#include "source/stream.h"

#define CATCHUP_WAIT_MS 250
#define MAX_REPAIR_ROUNDS 50
#define FLUSH_INTERVAL_MS 1000


static bool is_marker(const pgh_change *c, const char *marker)
{
    return c->kind == PGH_CHANGE_MESSAGE && (c->u.message.flags & PGH_MESSAGE_TRANSACTIONAL) &&
           strcmp(c->u.message.prefix, PGH_CHECKPOINT_PREFIX) == 0 &&
           c->u.message.len == strlen(marker) &&
           memcmp(c->u.message.content, marker, c->u.message.len) == 0;
}

static bool is_row_change(const pgh_change *c)
{
    return c->kind == PGH_CHANGE_INSERT || c->kind == PGH_CHANGE_UPDATE ||
           c->kind == PGH_CHANGE_DELETE || c->kind == PGH_CHANGE_TRUNCATE;
}

/* Write a checkpoint marker on the source; its content is unique to this run and round. */
static int emit_checkpoint(pgh_lsn *marker_lsn, char *marker, size_t marker_len,
                           const catchup_ctx *ctx, int round, pgh_error *err)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(marker, marker_len, "checkpoint %s %lld.%09ld.%d.%d", ctx->o->config->slot_name,
             (long long)ts.tv_sec, ts.tv_nsec, (int)getpid(), round);
    const char *params[2] = {PGH_CHECKPOINT_PREFIX, marker};
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, ctx->src,
                            "SELECT pg_catalog.pg_logical_emit_message(true, $1, $2)", 2, params,
                            err);
    if (rc == 0 && pgh_lsn_parse(marker_lsn, PQgetvalue(res, 0, 0)) != 0)
        rc = pgh_error_set(err, PGH_EPROTO, "the source returned no LSN for the checkpoint");
    PQclear(res);
    if (rc != 0)
        pgh_error_prefix(err, "writing the checkpoint");
    return rc;
}

/* Read and apply until the marker's transaction commits; *out_lsn is its end LSN. */
static int replay_to(pgh_lsn *out_lsn, uint64_t *changes, pgh_stream *s, pgh_sink *sink,
                     const catchup_ctx *ctx, const char *marker, pgh_lsn marker_lsn,
                     pgh_error *err)
{
    const pgh_replicate_opts *o = ctx->o;
    bool marker_seen = false;
    int64_t last_flush_ms = pgh_clock_ms();
    for (;;) {
        if (o->cancel && atomic_load(o->cancel))
            return pgh_error_set(err, PGH_ECANCELED, "catch-up canceled");
        pgh_change c;
        int rc = pgh_stream_next(s, &c, CATCHUP_WAIT_MS, err);
        if (rc < 0)
            return rc;
        if (rc == 0) {
            if (o->catchup_progress)
                o->catchup_progress(0, marker_lsn, o->progress_payload);
            continue;
        }
        if (is_row_change(&c))
            (*changes)++;
        if (is_marker(&c, marker))
            marker_seen = true;
        rc = pgh_sink_write(sink, &c, err);
        if (rc != 0) {
            if (err->lsn == 0)
                err->lsn = c.wal_start;
            return rc;
        }
        if (c.kind != PGH_CHANGE_COMMIT)
            continue;
        if (o->catchup_progress)
            o->catchup_progress(c.u.commit.commit_lsn, marker_lsn, o->progress_payload);
        /* Durable at the checkpoint, and about every second on the way (so the slot can
         * release WAL); in between, source transactions share destination transactions. */
        if (!marker_seen && pgh_clock_ms() - last_flush_ms < FLUSH_INTERVAL_MS)
            continue;
        pgh_lsn flushed = 0;
        rc = pgh_sink_flush(sink, &flushed, err);
        if (rc != 0)
            return rc;
        if (ctx->confirm)
            pgh_stream_set_flushed(s, flushed);
        last_flush_ms = pgh_clock_ms();
        if (marker_seen) {
            *out_lsn = c.u.commit.end_lsn;
            return 0;
        }
    }
}

static int rounds(pgh_replicate_result *out, pgh_stream *s, pgh_sink *sink,
                  const catchup_ctx *ctx, pgh_error *err)
{
    for (int round = 0; round < MAX_REPAIR_ROUNDS; round++) {
        char marker[256];
        pgh_lsn marker_lsn = 0;
        int rc = emit_checkpoint(&marker_lsn, marker, sizeof(marker), ctx, round, err);
        if (rc != 0)
            return rc;
        pgh_log(PGH_LOG_INFO, "catch-up", "checkpoint written at " PGH_LSN_FMT "; replaying to it",
                PGH_LSN_ARGS(marker_lsn));
        rc = replay_to(&out->checkpoint_lsn, &out->changes_seen, s, sink, ctx, marker,
                       marker_lsn, err);
        if (rc != 0)
            return rc;
        pgh_apply_missing *rows = NULL;
        int n = 0;
        rc = pgh_apply_take_missing(&rows, &n, sink, err);
        if (rc == 0 && n > 0) {
            pgh_log(PGH_LOG_INFO, "catch-up",
                    "%d rows moved with unchanged TOAST values: copying them again", n);
            rc = pgh_pipeline__recopy_rows(ctx, rows, n, s, err);
            out->rows_recopied += (uint64_t)n;
        }
        pgh_apply_missing_free(rows, n);
        if (rc != 0 || n == 0)
            return rc;
    }
    return pgh_error_set(err, PGH_ECANCELED,
                         "rows kept moving past the catch-up for %d rounds; try again when the "
                         "source is less busy",
                         MAX_REPAIR_ROUNDS);
}

int pgh_pipeline__catchup(pgh_replicate_result *out, pgh_sink *sink, const catchup_ctx *ctx,
                      pgh_error *err)
{
    pgh_stream *s = NULL;
    int rc = pgh_stream_open_config(&s, ctx->o->config, "pghost catch-up", err);
    if (rc == 0)
        rc = rounds(out, s, sink, ctx, err);
    if (rc == 0)
        rc = pgh_stream_send_status(s, false, err);
    pgh_stream_close(s);
    return rc;
}
