/*
 * source/batch_pace.h - how many rows the next keyset batch may take, so that one batch's
 * source statement (its own short transaction) stays under a time target whatever the row
 * width.
 *
 * A batch's LIMIT starts from an estimate made from the table's average row width, then
 * follows the measured time of the previous batches: the target, times PGH_BATCH_PACE_AIM
 * (headroom for noise), divided by the time per row, which is the last batch's or, when
 * higher, the slowest recent one's fading by PGH_BATCH_PACE_FADE per batch (a machine that
 * just slowed down may do so again). It shrinks at once when a batch was slow, grows by at most
 * PGH_BATCH_PACE_GROWTH times per batch, and never goes above max_rows (copy_batch_size) or
 * below 1. With the target off (0 ms) every batch takes max_rows, as before.
 *
 * The caller keeps the limit a batch ran with: a batch that returned fewer rows than its own
 * limit ended its range. Pure arithmetic: no I/O, no clock, no locking (one per worker).
 */
#ifndef PGH_SOURCE_BATCH_PACE_H
#define PGH_SOURCE_BATCH_PACE_H

#include <stdint.h>

/* Rows read per second assumed for the first batch of a table: a conservative figure, the
 * second batch already uses the first one's measured time. */
#define PGH_BATCH_PACE_ASSUMED_BYTES_PER_S (16.0 * 1024 * 1024)
/* The first batch's rows when the table's row width is unknown (never analyzed, or empty). */
#define PGH_BATCH_PACE_FIRST_ROWS 1000
/* Share of the target a batch aims at: on a busy machine one batch's rows can take twice as long
 * as the previous batch's did (measured under AddressSanitizer on 2 shared cores). */
#define PGH_BATCH_PACE_AIM 0.6
/* Most a limit grows from one batch to the next. */
#define PGH_BATCH_PACE_GROWTH 2
/* How much of a slow batch's time per row the next batch still assumes. */
#define PGH_BATCH_PACE_FADE 0.7

typedef struct pgh_batch_pace {
    int64_t max_rows;  /* the upper bound (copy_batch_size), >= 1 */
    int64_t target_ns; /* the time target of one batch's source statement; 0: off */
    int64_t limit;     /* the next batch's LIMIT, 1..max_rows */
    double ns_per_row; /* the time per row assumed; 0 before the first measure */
} pgh_batch_pace;

/* Start a table: max_rows >= 1, max_ms 0 (off) or more, row_bytes the table's average row
 * width in bytes (pg_table_size / reltuples), <= 0 when unknown. */
void pgh_batch_pace_init(pgh_batch_pace *p, int64_t max_rows, int max_ms, double row_bytes);

/* After a batch of LIMIT `limit` that read rows in elapsed_ns (from sending its statement to
 * its end): set the next limit. An empty batch or a zero time says nothing about the rate and
 * changes nothing; a short batch (rows < limit: the end of a range, where a statement's fixed
 * cost dominates) lowers the limit only when it took longer than the aim itself. */
void pgh_batch_pace_update(pgh_batch_pace *p, int64_t limit, uint64_t rows, int64_t elapsed_ns);

/* A table's average row width from its catalog figures; 0 when unknown. */
double pgh_batch_pace_row_bytes(double reltuples, int64_t size_bytes);

#endif
