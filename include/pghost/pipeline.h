/*
 * pghost/pipeline.h - source -> rules -> destination: the existing rows, the changes, or both.
 *
 * pgh_pipeline_run owns everything between the source and the destination: the replication
 * slot, the copy plan and its workers, the watermarks, the checkpoints, the catch-up, following
 * the slot, reconnecting, and confirming to the slot what the destination made durable.
 *
 *   what = ROWS | CHANGES | BOTH  the existing rows, the changes from the slot, or both
 *   until = CHECKPOINT            stop once the destination holds every table as of a
 *                                 checkpoint written after the rows (the sync); the slot is
 *                                 dropped unless keep_slot
 *   until = STOPPED               go on following the slot until *cancel is set, resuming
 *                                 after any interruption from the destination's position
 *
 * How the existing rows reach the destination depends on it (pghost/destination.h): a keyed
 * destination with the raw COPY path gets the parallel batched copy and a last-write-wins
 * catch-up to a checkpoint (pghost/keyed.h); any other gets them in watermarked chunks, in one
 * order with the changes that rebuilds each table. Either way every source transaction of the
 * copy is short: VACUUM keeps working on the source.
 *
 * The slot: created when missing. With what = CHANGES a new slot starts the changes from its
 * creation; an existing one carries on from the destination's position.
 *
 * Reloading a table while following: pgh_pipeline_request_reload writes a request into the
 * source's WAL; a pipeline following the slot (until = STOPPED, event destinations) picks it up
 * in stream order and delivers the table's rows again in watermarked chunks, without stopping
 * the changes. The request survives a pipeline that is down: it is read when the stream
 * reaches it.
 *
 * Threading: pgh_pipeline_run blocks; it starts and joins copy worker threads. Callbacks
 * (progress, before_checkpoint, checkpoint_reached) run on the caller's thread. *cancel may be
 * set from any thread or a signal handler.
 */
#ifndef PGHOST_PIPELINE_H
#define PGHOST_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "pghost/destination.h"
#include "pghost/error.h"
#include "pghost/export.h"
#include "pghost/keyed.h"
#include "pghost/lsn.h"
#include "pghost/rules.h"
#include "pghost/source.h"
#include "pghost/stats.h"

PGH_BEGIN_DECLS

typedef enum pgh_pipeline_what {
    PGH_PIPELINE_ROWS = 1,    /* the existing rows */
    PGH_PIPELINE_CHANGES = 2, /* the changes from the slot */
    PGH_PIPELINE_BOTH = 3,    /* the existing rows and the changes, consistent */
} pgh_pipeline_what;

typedef enum pgh_pipeline_until {
    PGH_UNTIL_CHECKPOINT = 0, /* stop at a checkpoint after the existing rows */
    PGH_UNTIL_STOPPED = 1,    /* follow until *cancel is set */
} pgh_pipeline_until;

/* One copy unit (a table, or a leaf partition of one) while the rows are delivered. */
typedef struct pgh_progress_table {
    const char *name;        /* schema.table on the source */
    double estimated_rows;   /* from the source's statistics (0: unknown) */
    uint64_t rows;           /* delivered so far */
    uint64_t bytes;          /* bytes read from the source so far */
    int ranges_total;        /* key ranges planned */
    int ranges_done;         /* key ranges finished */
} pgh_progress_table;

typedef enum pgh_progress_phase {
    PGH_PROGRESS_ROWS = 0,    /* existing rows: tables[] is filled */
    PGH_PROGRESS_CATCHUP = 1, /* replaying to the checkpoint: at and target are filled */
} pgh_progress_phase;

typedef struct pgh_progress {
    pgh_progress_phase phase;
    int ntables;
    const pgh_progress_table *tables; /* borrowed for the call */
    pgh_lsn at;                       /* catch-up: last commit replayed (0: none yet) */
    pgh_lsn target;                   /* catch-up: the checkpoint */
} pgh_progress;

typedef void (*pgh_progress_fn)(const pgh_progress *p, void *payload);

typedef struct pgh_pipeline_table_result {
    char source[132];        /* schema.table on the source (unquoted) */
    char destination[132];   /* schema.table on the destination */
    uint64_t rows_copied;    /* existing rows delivered */
    uint64_t bytes_copied;   /* bytes read for them */
    pgh_keyed_stats applied; /* keyed destinations: what the catch-up did */
} pgh_pipeline_table_result;

typedef struct pgh_pipeline_result {
    pgh_lsn slot_lsn;         /* the slot's consistent point, when this run created it */
    pgh_lsn checkpoint_lsn;   /* where the destination equals the source (0: not reached) */
    double copy_seconds;
    double catchup_seconds;
    uint64_t changes_seen;    /* row changes replayed before the checkpoint */
    uint64_t rows_recopied;   /* rows copied again during the catch-up */
    bool resumed;             /* an interrupted run was taken up again */
    uint64_t followed_txns;   /* source transactions delivered while following */
    int ntables;
    pgh_pipeline_table_result *tables; /* owned: one per configured table */
} pgh_pipeline_result;

typedef struct pgh_pipeline_opts {
    int version;               /* PGH_PIPELINE_OPTS_VERSION */
    pgh_pipeline_what what;
    pgh_pipeline_until until;
    pgh_cancel_flag *cancel;        /* borrowed, may be NULL: non-zero stops the run (0 returned
                                  once the position is durable, when following) */
    bool keep_slot;            /* until CHECKPOINT: keep the slot, advanced to the checkpoint */
    bool truncate_destination; /* keyed: empty non-empty destination tables first */
    /* until CHECKPOINT, keyed: after the rows, before the checkpoint (to stop writes for a
     * cutover). A non-zero return aborts the run with it. May be NULL. */
    int (*before_checkpoint)(void *payload, pgh_error *err);
    void *before_checkpoint_payload;
    /* The checkpoint was reached (not called when a following run resumes). May be NULL. */
    void (*checkpoint_reached)(const pgh_pipeline_result *result, void *payload);
    pgh_progress_fn progress;  /* may be NULL: called about every progress_ms */
    void *progress_payload;    /* for progress and checkpoint_reached */
    int progress_ms;
    /* Live counters for metrics (pghost/stats.h), updated with atomics from the run's threads
     * and readable from any thread meanwhile. Borrowed, may be NULL. */
    pgh_pipeline_stats *stats;
} pgh_pipeline_opts;

#define PGH_PIPELINE_OPTS_VERSION 1
#define PGH_PIPELINE_OPTS_INIT                                                                     \
    {                                                                                              \
        .version = PGH_PIPELINE_OPTS_VERSION, .what = PGH_PIPELINE_BOTH,                           \
        .until = PGH_UNTIL_CHECKPOINT, .progress_ms = 250                                          \
    }

/*
 * Run the pipeline. rules (pghost/rules.h, borrowed for the call) may be NULL: rows and changes
 * pass unchanged. Otherwise they are checked against the source tables' columns before
 * anything is written (PGH_ECONFIG naming the rules file and line), then applied to every row
 * and change before the destination sees them (a keyed destination's COPY rows included, see
 * docs/rules.md for what keyed destinations require). The destination is opened and closed by
 * the run. Returns 0 when it reached what `until` asked for (or stopped on
 * request while following); otherwise err says what failed: PGH_EPRECOND, PGH_ECONFIG or
 * PGH_ECONN before anything was written, PGH_EPROTO for a stream it cannot read, PGH_ENOTFOUND
 * for a slot that vanished. A slot this run created is dropped on failure unless something can
 * resume from it. out is filled as far as the run got; dispose it either way.
 */
PGH_API int pgh_pipeline_run(pgh_pipeline_result *out, pgh_source *source,
                             const pgh_rules *rules, pgh_destination *destination,
                             const pgh_pipeline_opts *opts, pgh_error *err);
PGH_API void pgh_pipeline_result_dispose(pgh_pipeline_result *r);

/*
 * Ask the pipeline following cfg's slot to deliver the existing rows of some of its tables
 * again ("schema.table" each, as configured on the source), while it goes on with the changes.
 * Writes one transactional message into the source's WAL (no pipeline needs to be reachable);
 * PGH_ECONFIG when a name is not one of cfg's tables.
 */
PGH_API int pgh_pipeline_request_reload(const pgh_config *cfg, const char *const *tables, int n,
                                        pgh_error *err);

PGH_END_DECLS

#endif
