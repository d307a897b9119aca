/*
 * Private to the pipeline (src/pipeline): the sync's orchestration, preflight, catch-up,
 * re-copy and following.
 */
#ifndef PGH_PIPELINE_INTERNAL_H
#define PGH_PIPELINE_INTERNAL_H

#include <libpq-fe.h>

#include "dest/postgres/apply.h"
#include "pg/catalog.h"
#include "pghost/replicate.h"
#include "pghost/sink.h"
#include "source/stream.h"

/* The tables of a run, described on both servers. */
typedef struct run_tables {
    int n;
    pgh_table_info **src; /* owned, n entries */
    pgh_table_info **dst; /* owned, n entries */
} run_tables;

void pgh_pipeline__tables_dispose(run_tables *t);

/* Every check that must pass before anything is written; fills t on success. */
/* resuming: an interrupted --follow run goes on, so its slot exists and the destination holds
 * rows already; those two checks are left out. */
int pgh_pipeline__preflight(run_tables *t, PGconn *src, PGconn *dst, const pgh_replicate_opts *o,
                        bool resuming, pgh_error *err);

/* Stream the slot as JSON lines (destination: stdout): create the slot when missing, else
 * carry on from its confirmed position; then follow until stopped. */
int pgh_pipeline__stream_json(pgh_replicate_result *out, const pgh_replicate_opts *o,
                          pgh_error *err);

/* What the catch-up needs besides the sink. */
typedef struct catchup_ctx {
    const pgh_replicate_opts *o; /* borrowed */
    PGconn *src;                 /* borrowed: ordinary connection to the source */
    PGconn *dst;                 /* borrowed: ordinary connection to the destination */
    const run_tables *tables;    /* borrowed */
    bool confirm;                /* confirm applied positions to the slot on the way */
} catchup_ctx;

/* Write a checkpoint (a transactional logical message with prefix PGH_CHECKPOINT_PREFIX) and
 * stream the slot into sink until it has committed, repeating with rows copied again while the
 * apply reports missing rows. *out_lsn is the end LSN of the last checkpoint transaction. */
#define PGH_CHECKPOINT_PREFIX "pghost"
int pgh_pipeline__catchup(pgh_replicate_result *out, pgh_sink *sink, const catchup_ctx *ctx,
                      pgh_error *err);

/* Copy the given rows again from the source into the destination (each as it is now on the
 * source; a row gone from the source is not inserted). */
int pgh_pipeline__recopy_rows(const catchup_ctx *ctx, const pgh_apply_missing *rows, int n,
                          pgh_stream *stream, pgh_error *err);

/* Follow the slot after the checkpoint until a stop request (returns 0) or an error that a
 * reconnect cannot fix. *applied_txns counts source transactions seen. */
int pgh_pipeline__follow(uint64_t *applied_txns, const pgh_replicate_opts *o, pgh_error *err);

/* The tables of a --follow sync, fixed at its first run (pipeline/selection.c, state/selection.c): the patterns of
 * tables: are not expanded again when it resumes. record writes cfg->tables (resolved) to
 * <state_schema>.selected_tables for the slot; call it in the transaction of the first state
 * row. pgh_state_selection_write records them; resume reads them back: when the slot has a recorded list, sel gets copies of *opts and
 * its config with the tables replaced by the recorded ones, *opts points at sel->opts, and one
 * warning names the tables that match now but are not followed and the followed ones that are
 * gone (tables replicated DDL created, renamed or dropped, as <state_schema>.ddl_tables holds
 * them, are followed). Without a record nothing changes. sel must outlive the use of *opts. */
typedef struct run_selection {
    pgh_config config;       /* shallow copy of the run's config; tables are the fields below */
    pgh_replicate_opts opts; /* copy of the run's options; config points at the field above */
    pgh_table_map *tables;   /* owned, n entries: the recorded tables */
    size_t *lines;           /* owned, n entries, all 0 (no line in the file) */
    size_t n;
} run_selection;

int pgh_pipeline__selection_resume(const pgh_replicate_opts **opts, run_selection *sel, PGconn *dst,
                               pgh_error *err);
void pgh_pipeline__selection_dispose(run_selection *sel);

#endif
