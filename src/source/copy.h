/*
 * pghost/copy.h - the parallel, batched copy of tables from the source to the destination.
 *
 * Every batch is its own short transaction on the source: a COPY (SELECT ... ORDER BY key
 * LIMIT n) TO STDOUT, streamed without parsing values into a COPY FROM STDIN on the
 * destination. A worker's consecutive batches share one destination COPY, committed about
 * every 10 s (every batch, with its progress row, when the copy is resumable). Keyset
 * pagination continues after the last key of the previous batch; the key space is first split
 * into ranges by sampling so that workers run in parallel from the start. With keyset
 * pagination off, a single integer key is cut into fixed-width ranges.
 *
 * The copy is only half of a consistent sync: the caller creates the replication slot before
 * calling pgh_copy_run and replays the slot afterwards (see shared/PITFALLS.md). Ranges are
 * open-ended at both ends, so no row that exists during the copy is skipped whatever the
 * statistics say.
 *
 * Threading: pgh_copy_run starts opts->workers threads, each with its own source and
 * destination connection, and returns when all have stopped. Progress counters in
 * pgh_copy_table are atomics, safe to read from any thread while the copy runs.
 */
#ifndef PGHOST_COPY_H
#define PGHOST_COPY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "pg/catalog.h"
#include "pghost/config.h"
#include "decode/decode.h"
#include "pghost/error.h"

typedef struct pgh_copy_table {
    const pgh_table_info *src; /* borrowed, valid for the whole copy */
    const pgh_table_info *dst; /* borrowed, valid for the whole copy */
    pgh_copy_format format;    /* decided by pgh_copy_choose_format */
    atomic_uint_fast64_t rows;    /* rows copied so far */
    atomic_uint_fast64_t bytes;   /* COPY payload bytes copied so far */
    atomic_uint_fast64_t batches; /* batches committed so far */
    atomic_int ranges_total;      /* ranges planned */
    atomic_int ranges_done;       /* ranges finished */
} pgh_copy_table;

typedef void (*pgh_copy_progress_fn)(const pgh_copy_table *tables, int ntables, void *payload);

typedef struct pgh_copy_opts {
    int version;                   /* PGH_COPY_OPTS_VERSION */
    const char *source_conninfo;   /* borrowed */
    const char *dest_conninfo;     /* borrowed */
    const char *app_name;          /* borrowed: application_name of the copy sessions */
    int workers;                   /* parallel workers, >= 1 */
    int64_t batch_rows;            /* rows per batch, >= 1 */
    bool keyset;                   /* keyset pagination (true) or integer key ranges */
    bool replica_role;             /* SET session_replication_role = replica on the dest */
    atomic_int *cancel;            /* borrowed, may be NULL: non-zero stops the copy */
    pgh_copy_progress_fn progress; /* may be NULL: called about every progress_ms */
    void *progress_payload;
    int progress_ms;
    const char *state_schema;      /* borrowed, may be NULL: when set the copy is resumable: the
                                      plan and every batch's progress are kept in this schema on
                                      the destination (tables made by pgh_state_ensure), each
                                      batch in the same transaction as its rows, and a later
                                      run with the same slot continues where this one stopped */
    const char *slot;              /* borrowed: the key of the saved progress */
} pgh_copy_opts;

#define PGH_COPY_OPTS_VERSION 1
#define PGH_COPY_OPTS_INIT {PGH_COPY_OPTS_VERSION, NULL, NULL, "pghost copy", 4, 100000, true, \
                            false, NULL, NULL, NULL, 250, NULL, NULL}

/* Binary COPY when the choice allows and every copied column has a built-in type; else text. */
pgh_copy_format pgh_copy_choose_format(const pgh_table_info *src, pgh_copy_format_choice choice);

/* Initialise a table entry (counters to zero). */
void pgh_copy_table_init(pgh_copy_table *t, const pgh_table_info *src, const pgh_table_info *dst,
                         pgh_copy_format format);

/*
 * Copy every table. Returns 0 when every range of every table was copied; otherwise the first
 * worker's error (the others stop at their next batch), PGH_ECANCELED when *opts->cancel was set.
 * Rows already committed on the destination stay there (a failed worker's uncommitted COPY,
 * up to ~10 s of its batches in a plain copy, is rolled back).
 */
int pgh_copy_run(pgh_copy_table *tables, int ntables, const pgh_copy_opts *opts, pgh_error *err);

#endif
