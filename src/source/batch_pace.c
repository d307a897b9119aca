/* The row limit of keyset batches, adapted to a time target (batch_pace.h). */
#include "source/batch_pace.h"

#include <stdbool.h>

static int64_t clamp_rows(double want, int64_t max_rows)
{
    if (!(want >= 1.0)) /* also NaN */
        return 1;
    if (want >= (double)max_rows)
        return max_rows;
    return (int64_t)want;
}

void pgh_batch_pace_init(pgh_batch_pace *p, int64_t max_rows, int max_ms, double row_bytes)
{
    p->max_rows = max_rows < 1 ? 1 : max_rows;
    p->target_ns = max_ms > 0 ? (int64_t)max_ms * 1000000 : 0;
    p->ns_per_row = 0;
    if (p->target_ns == 0) {
        p->limit = p->max_rows;
        return;
    }
    double want = PGH_BATCH_PACE_FIRST_ROWS;
    if (row_bytes > 0)
        want = PGH_BATCH_PACE_AIM * ((double)max_ms / 1000.0) * PGH_BATCH_PACE_ASSUMED_BYTES_PER_S /
               row_bytes;
    p->limit = clamp_rows(want, p->max_rows);
}

void pgh_batch_pace_update(pgh_batch_pace *p, int64_t limit, uint64_t rows, int64_t elapsed_ns)
{
    if (p->target_ns == 0 || rows == 0 || elapsed_ns <= 0)
        return;
    double aim_ns = PGH_BATCH_PACE_AIM * (double)p->target_ns;
    double rate = (double)elapsed_ns / (double)rows;
    bool short_batch = rows < (uint64_t)limit;
    if (short_batch && (double)elapsed_ns <= aim_ns && rate * (double)limit > aim_ns)
        return; /* a range's fast tail: its statement's fixed cost says nothing */
    double faded = p->ns_per_row * PGH_BATCH_PACE_FADE;
    p->ns_per_row = rate > faded ? rate : faded;
    double want = aim_ns / p->ns_per_row;
    double most = (double)limit * PGH_BATCH_PACE_GROWTH;
    p->limit = clamp_rows(want < most ? want : most, p->max_rows);
}

double pgh_batch_pace_row_bytes(double reltuples, int64_t size_bytes)
{
    if (reltuples < 1.0 || size_bytes <= 0)
        return 0;
    return (double)size_bytes / reltuples;
}
