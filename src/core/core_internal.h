/*
 * Private to the sync orchestration (src/core): preflight, catch-up and sequences.
 */
#ifndef PGH_CORE_INTERNAL_H
#define PGH_CORE_INTERNAL_H

#include <libpq-fe.h>

#include "pghost/catalog.h"
#include "pghost/replicate.h"
#include "pghost/sink.h"

/* The tables of a run, described on both servers. */
typedef struct run_tables {
    int n;
    pgh_table_info **src; /* owned, n entries */
    pgh_table_info **dst; /* owned, n entries */
} run_tables;

void pgh_core__tables_dispose(run_tables *t);

/* Every check that must pass before anything is written; fills t on success. */
int pgh_core__preflight(run_tables *t, PGconn *src, PGconn *dst, const pgh_replicate_opts *o,
                        pgh_error *err);

/* Empty the destination tables (--truncate-destination). */
int pgh_core__truncate_destination(PGconn *dst, const run_tables *t, pgh_error *err);

/* Stream the slot into sink until the checkpoint transaction (the logical message with
 * prefix PGH_CHECKPOINT_PREFIX and content marker) has committed; *out_lsn is its end LSN. */
#define PGH_CHECKPOINT_PREFIX "pghost"
int pgh_core__catchup(pgh_lsn *out_lsn, uint64_t *changes, pgh_sink *sink,
                      const pgh_replicate_opts *o, const char *marker, pgh_lsn marker_lsn,
                      pgh_error *err);

/* Set every sequence owned by a copied table on the destination from the source. */
int pgh_core__sync_sequences(int *set_count, PGconn *src, PGconn *dst, const run_tables *t,
                             pgh_error *err);

#endif
