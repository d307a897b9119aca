/*
 * Private to the copy: the plan (which key ranges exist) and the per-batch SQL.
 *
 * A table's key space is cut into ranges. Range i of a table runs from lo (inclusive) to hi
 * (exclusive); the first range has no lower bound and the last no upper bound, so every key is
 * in exactly one range whatever the boundaries are. Boundaries are held as SQL literals quoted
 * by PQescapeLiteral (COPY takes no bind parameters, so values must be inlined).
 */
#ifndef PGH_SOURCE_COPY_INTERNAL_H
#define PGH_SOURCE_COPY_INTERNAL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/buf.h"
#include "source/copy.h"

typedef struct copy_plan_table {
    int nkeys;          /* key columns of the table */
    int nbounds;        /* sampled mode: boundaries between ranges */
    int bounds_cap;
    char ***bounds;     /* owned: nbounds arrays of nkeys quoted literals, ascending */
    char ***raw;        /* owned: the same boundaries as the values' text, for the state */
    bool arithmetic;    /* integer mode: ranges of width from min */
    int64_t min;
    int64_t width;
    int64_t nranges;    /* ranges of this table */
    int nprogress;
    struct copy_progress *progress; /* owned: ranges started by an earlier run, by index */
} copy_plan_table;

/* A range an earlier, interrupted run started (resumable copies, state/copy_progress.c). */
typedef struct copy_progress {
    int64_t range;   /* range index */
    bool done;       /* copied completely */
    char **last_key; /* owned: nkeys text values of the last key copied, NULL when done */
} copy_progress;

typedef struct copy_plan {
    int ntables;
    copy_plan_table *tables; /* owned, one per pgh_copy_table */
} copy_plan;

/* Add a boundary from the key values' text (quoted into literals on conn). */
int pgh_copy__add_bound(copy_plan_table *pt, PGconn *conn, const char *const *values,
                        pgh_error *err);

/* Progress of a range from an earlier run, or NULL. */
const copy_progress *pgh_copy__progress(const copy_plan_table *pt, int64_t range);

/* Plan every table's ranges, with one short query per table on conn (the source). A resumable
 * copy loads the plan an earlier run saved with the destination (keyed->plan_load), with its
 * progress, instead, or saves the new plan there. */
int pgh_copy__plan(copy_plan *plan, PGconn *conn, pgh_copy_table *tables, int ntables,
                   const pgh_copy_opts *opts, pgh_error *err);
void pgh_copy__plan_dispose(copy_plan *plan);

/* One range's bounds as arrays of literals; lo / hi are NULL when unbounded. They point into
 * the plan or into this struct's buffers (arithmetic ranges). */
typedef struct copy_bounds {
    char *const *lo;
    char *const *hi;
    char lo_buf[32];
    char hi_buf[32];
    char *lo_one[1];
    char *hi_one[1];
} copy_bounds;

void pgh_copy__range_bounds(copy_bounds *out, const copy_plan_table *pt, int64_t index);

/*
 * The source query of one batch:
 *   COPY (SELECT <keys>, <other columns> FROM ONLY t WHERE <bounds> [AND (<row filter>)]
 *         [ORDER BY keys LIMIT n])
 *   TO STDOUT [(FORMAT binary)]
 * after: the previous batch's last key (literals) or NULL; lo/hi: range bounds or NULL.
 */
void pgh_copy__batch_sql(pgh_buf *out, PGconn *conn, const pgh_copy_table *t, char *const *lo,
                         char *const *hi, char *const *after, int64_t limit);

#endif
