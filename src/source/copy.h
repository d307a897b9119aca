/*
 * source/copy.h - the parallel, batched copy of tables from the source into a keyed
 * destination's raw COPY path (pghost/keyed.h).
 *
 * Every batch is its own short transaction on the source: a COPY (SELECT ... ORDER BY key
 * LIMIT n) TO STDOUT, n adapted by each worker so that one statement stays under a time target
 * (source/batch_pace.h), whose CopyData messages go unparsed to the destination's copy session
 * (the PostgreSQL destination streams them into a COPY FROM STDIN that stays open across a
 * worker's batches, committed about every 10 s with the progress of the batches it holds when
 * the copy is resumable). Keyset
 * pagination continues after the last key of the previous batch; the key space is first split
 * into ranges by sampling so that workers run in parallel from the start, the last ranges
 * smaller so that the workers end together (source/copy_taper.h). With keyset
 * pagination off, a single integer key is cut into fixed-width ranges.
 *
 * The copy is only half of a consistent sync: the caller creates the replication slot before
 * calling pgh_copy_run and replays the slot afterwards (see shared/PITFALLS.md). Ranges are
 * open-ended at both ends, so no row that exists during the copy is skipped whatever the
 * statistics say.
 *
 * Threading: pgh_copy_run starts opts->workers threads, each with its own source connection
 * and destination copy session, and returns when all have stopped. Progress counters in
 * pgh_copy_table are atomics, safe to read from any thread while the copy runs.
 */
#ifndef PGH_SOURCE_COPY_H
#define PGH_SOURCE_COPY_H

#include <libpq-fe.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "pg/catalog.h"
#include "pghost/config.h"
#include "decode/decode.h"
#include "pghost/error.h"
#include "pghost/keyed.h"

typedef struct pgh_copy_table {
    const pgh_table_info *src; /* borrowed, valid for the whole copy */
    const char *dest_table;    /* borrowed: the destination table, quoted (plans name it) */
    int table;                 /* index of the configured table it is copied into */
    pgh_copy_format format;    /* decided by pgh_copy_choose_format */
    const char **columns;      /* owned (pgh_copy_table_dispose), names borrowed from src: the
                                  copied columns, key columns first, generated ones left out */
    int ncolumns;
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
    const char *app_name;          /* borrowed: application_name of the source sessions */
    int workers;                   /* parallel workers, >= 1 */
    int64_t batch_rows;            /* rows per batch at most, >= 1 */
    int batch_max_ms;              /* time target of one batch's source statement, 0: off
                                      (every batch batch_rows); source/batch_pace.h */
    bool keyset;                   /* keyset pagination (true) or integer key ranges; with
                                      batch_max_ms on, an integer range is read in keyset
                                      batches too */
    atomic_int *cancel;            /* borrowed, may be NULL: non-zero stops the copy */
    pgh_copy_progress_fn progress; /* may be NULL: called about every progress_ms */
    void *progress_payload;
    int progress_ms;
    const pgh_keyed_ops *keyed;    /* borrowed: the destination's copy sessions and plan store */
    void *user;                    /* borrowed: the destination's user pointer for keyed */
    bool resumable;                /* the plan and every batch's progress are kept with the
                                      data (keyed->plan_*, copy_batch_end), and a later run with
                                      the same slot continues where this one stopped */
    const char *slot;              /* borrowed: names the run in messages */
} pgh_copy_opts;

#define PGH_COPY_OPTS_VERSION 3
#define PGH_COPY_OPTS_INIT                                                                         \
    {                                                                                              \
        .version = PGH_COPY_OPTS_VERSION, .app_name = "pghost copy", .workers = 4,                 \
        .batch_rows = 100000, .batch_max_ms = 200, .keyset = true, .progress_ms = 250              \
    }

/* Binary COPY when the choice allows and every copied column has a built-in type; else text. */
pgh_copy_format pgh_copy_choose_format(const pgh_table_info *src, pgh_copy_format_choice choice);

/* Initialise a unit (counters to zero) that copies src into dest_table (quoted), configured
 * table `table`. PGH_ENOMEM when the column list cannot be allocated. */
int pgh_copy_table_init(pgh_copy_table *t, const pgh_table_info *src, const char *dest_table,
                        int table, pgh_copy_format format);
void pgh_copy_table_dispose(pgh_copy_table *t);

/*
 * Copy every table. Returns 0 when every range of every table was copied; otherwise the first
 * worker's error (the others stop at their next batch), PGH_ECANCELED when *opts->cancel was set.
 * Rows already committed on the destination stay there (a failed worker's uncommitted COPY,
 * up to ~10 s of its batches in a plain copy, is rolled back).
 */
int pgh_copy_run(pgh_copy_table *tables, int ntables, const pgh_copy_opts *opts, pgh_error *err);

/*
 * Boundaries that cut src's key space into ranges of roughly equal size for workers (sampled
 * with TABLESAMPLE; nbounds boundaries make nbounds + 1 ranges, the first and last open). Each
 * boundary is an array of nkeys key texts. *out is owned by the caller (pgh_copy_bounds_free);
 * none for a table too small to split.
 */
int pgh_copy_sample_bounds(char ****out, int *nbounds, PGconn *conn, const pgh_table_info *src,
                           int workers, int64_t batch_rows, pgh_error *err);
void pgh_copy_bounds_free(char ***bounds, int nbounds, int nkeys);

#endif
