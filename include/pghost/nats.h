/*
 * pghost/nats.h - distributed mode on NATS JetStream (docs/nats.md): pghost capture publishes a
 * source's rows and changes to a stream, pghost apply feeds any destination from it.
 *
 * The capture side is a destination (pghost/destination.h) for pgh_pipeline_run: it publishes
 * every call as a message on <prefix>.<schema>.<table>, and keeps its position in the stream
 * itself (<prefix>._position). The apply side reads the stream through a durable pull consumer
 * and calls a destination as the pipeline would: begin, relation, changes, existing rows,
 * commit, in the source's commit order. A transactional destination (PostgreSQL) gets every
 * transaction exactly once (the position it stores with the data tells what it holds); any
 * other at least once (from its last flush).
 *
 * The configuration's nats_* keys (pghost/config.h) say where: servers, stream, subjects,
 * consumer, credentials.
 *
 * Threading: one call at a time per object; pgh_nats_apply_run blocks until *cancel is set or
 * it fails.
 */
#ifndef PGHOST_NATS_H
#define PGHOST_NATS_H

#include <stdint.h>

#include "pghost/config.h"
#include "pghost/destination.h"
#include "pghost/error.h"
#include "pghost/export.h"
#include "pghost/stats.h"

PGH_BEGIN_DECLS

/* Fill cfg->nats.stream and subject_prefix with their defaults (PGHOST_<SLOT>, pghost.<slot>)
 * when they are not set, so that they no longer depend on the slot's name. */
PGH_API int pgh_nats_config_defaults(pgh_config *cfg, pgh_error *err);

/* The capture destination: the stream is created at open when missing (nats_replicas,
 * nats_max_age_s, nats_max_bytes, nats_duplicate_window_s); one with other settings is
 * PGH_EPRECOND naming the setting. Free with pgh_destination_free. */
PGH_API int pgh_nats_capture_destination_new(pgh_destination **out, pgh_error *err);

typedef struct pgh_nats_apply_opts {
    int version;              /* PGH_NATS_APPLY_OPTS_VERSION */
    pgh_cancel_flag *cancel;  /* borrowed, may be NULL: non-zero stops the run (0 returned once
                                 what was applied is durable) */
    int fetch_batch;          /* messages per fetch (default 256) */
    int idle_stop_ms;         /* > 0: stop (0 returned) after this long without a message */
} pgh_nats_apply_opts;

#define PGH_NATS_APPLY_OPTS_VERSION 1
#define PGH_NATS_APPLY_OPTS_INIT {.version = PGH_NATS_APPLY_OPTS_VERSION, .fetch_batch = 256}

/*
 * Apply the stream of cfg (nats_stream; the subjects of nats_subjects) to dest, through the
 * durable consumer nats_consumer, until *cancel is set. The destination's position is kept
 * under the consumer's name (in place of a slot name): one applier per consumer and
 * destination. PGH_ENOTFOUND when the stream does not exist, PGH_ECONN when no server answers.
 */
PGH_API int pgh_nats_apply_run(const pgh_config *cfg, pgh_destination *dest,
                               const pgh_nats_apply_opts *opts, pgh_error *err);

/* What an applier's consumer has not yet acknowledged. */
typedef struct pgh_nats_consumer_status {
    char name[64];           /* the durable consumer */
    char filter[256];        /* its subject filter */
    uint64_t pending;        /* messages not yet delivered to it */
    uint64_t ack_pending;    /* delivered, not yet acknowledged (applied, not yet durable) */
    uint64_t ack_floor;      /* stream sequence up to which everything is acknowledged */
    uint64_t stream_last;    /* the stream's last sequence */
    double lag_seconds;      /* age of the oldest message not acknowledged (0: none) */
} pgh_nats_consumer_status;

/* Every consumer of cfg's stream, *n of them in *out (free()). */
PGH_API int pgh_nats_status(pgh_nats_consumer_status **out, int *n, const pgh_config *cfg,
                            pgh_error *err);

PGH_END_DECLS

#endif
