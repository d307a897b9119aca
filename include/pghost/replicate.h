/*
 * pghost/replicate.h - the whole sync: preflight, slot, parallel copy, checkpoint, catch-up.
 *
 *   1. preflight: every check on both servers, nothing written when one fails
 *   2. create the logical slot (pgoutput): every commit after this point is in its stream
 *   3. copy every table in parallel batches, each its own short transaction
 *   4. checkpoint: a transactional pg_logical_emit_message written after the copy; it arrives
 *      in the stream after every commit any batch could have seen
 *   5. replay the slot from its start to the checkpoint with the catch-up conflict rules
 *   6. set sequences owned by the copied tables; drop the slot (or keep it, advanced to the
 *      checkpoint, for a subscription to take over)
 * Afterwards every destination table equals its source table as of the checkpoint.
 *
 * With destination: stdout there is no copy: the slot (created when missing) is streamed as
 * JSON lines (pghost/json_sink.h) to json_out until *cancel is set; the slot's confirmed
 * position is the only state, so a re-run carries on from it.
 */
#ifndef PGHOST_REPLICATE_H
#define PGHOST_REPLICATE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

#include "dest/postgres/apply.h"
#include "pghost/config.h"
#include "source/copy.h"
#include "pghost/error.h"

typedef struct pgh_replicate_table_result {
    char source[132];      /* schema.table on the source, as the run saw it (unquoted) */
    char destination[132]; /* schema.table on the destination */
    uint64_t rows_copied;
    uint64_t bytes_copied;
    pgh_apply_stats applied; /* changes applied during the catch-up */
    int sequences_set;
} pgh_replicate_table_result;

typedef struct pgh_replicate_result {
    pgh_lsn slot_lsn;         /* the slot's consistent point */
    pgh_lsn checkpoint_lsn;   /* end of the checkpoint transaction: equal as of here */
    double copy_seconds;
    double catchup_seconds;
    uint64_t changes_seen;    /* row changes decoded during the catch-up, all tables */
    uint64_t rows_recopied;   /* rows copied again during the catch-up (moved past the copy) */
    bool resumed;             /* --follow picked up a slot that was already following */
    uint64_t followed_txns;   /* source transactions seen while following */
    int ntables;
    pgh_replicate_table_result *tables; /* owned: one per config table, in config order */
} pgh_replicate_result;

typedef void (*pgh_catchup_progress_fn)(pgh_lsn at, pgh_lsn target, void *payload);

typedef struct pgh_replicate_opts {
    int version;                      /* PGH_REPLICATE_OPTS_VERSION */
    const pgh_config *config;         /* borrowed */
    bool keep_slot;                   /* keep the slot, advanced to the checkpoint */
    bool truncate_destination;        /* empty non-empty destination tables first */
    atomic_int *cancel;               /* borrowed, may be NULL: non-zero stops the run */
    /* Called after the copy and before the checkpoint (e.g. to stop writes for a cutover);
     * a non-zero return aborts the run with that error. May be NULL. */
    int (*before_checkpoint)(void *payload, pgh_error *err);
    void *before_checkpoint_payload;
    bool follow;                      /* after the checkpoint, keep applying changes until
                                         *cancel is set (exactly once, see pghost/state.h); a
                                         run whose slot is already following resumes it */
    const char *handoff_subscription; /* borrowed, may be NULL: after the checkpoint, create
                                         this native subscription on the destination on the
                                         kept slot, and stop */
    /* Called once the sync reached its checkpoint (not on a resumed follow), before following
     * or handing off. May be NULL. */
    void (*checkpoint_reached)(const pgh_replicate_result *result, void *payload);
    FILE *json_out;                   /* borrowed: where destination: stdout writes its lines */
    pgh_copy_progress_fn copy_progress; /* may be NULL */
    pgh_catchup_progress_fn catchup_progress; /* may be NULL */
    void *progress_payload;
    int progress_ms;
} pgh_replicate_opts;

#define PGH_REPLICATE_OPTS_VERSION 1
#define PGH_REPLICATE_OPTS_INIT {PGH_REPLICATE_OPTS_VERSION, NULL, false, false, NULL, NULL, \
                                 NULL, false, NULL, NULL, NULL, NULL, NULL, NULL, 250}

/*
 * Run the sync. Returns 0 when every table was copied and caught up to the checkpoint;
 * otherwise err says what failed (preflight failures are PGH_EPRECOND, PGH_ECONFIG or
 * PGH_ECONN, with nothing written). On failure after the slot was created, the slot is
 * dropped unless keep_slot. out is filled as far as the run got; dispose it either way.
 */
int pgh_replicate_run(pgh_replicate_result *out, const pgh_replicate_opts *opts,
                      pgh_error *err);
void pgh_replicate_result_dispose(pgh_replicate_result *r);

#endif
