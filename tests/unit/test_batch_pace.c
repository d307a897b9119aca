/*
 * tests/unit/test_batch_pace.c - the row limit of keyset batches (source/batch_pace.h): the
 * first batch from the row width, then the measured time of the previous batch, within
 * 1..copy_batch_size, growing by at most PGH_BATCH_PACE_GROWTH per batch, and the target off.
 * A simulated source (a fixed cost per statement plus a cost per row) checks that every batch
 * after the first few stays under the target, for narrow and for 2 kB rows, and a noisy one
 * (each batch's rows 1x to 2x as slow, at random) that every batch stays under 250 ms.
 */
#include <stdio.h>
#include <stdlib.h>

#include "source/batch_pace.h"
#include "unit_check.h"

#define MS 1000000LL

/* Off: every batch copy_batch_size, whatever the times. */
static void off(void)
{
    pgh_batch_pace p;
    pgh_batch_pace_init(&p, 100000, 0, 2000);
    CHECK(p.limit == 100000);
    pgh_batch_pace_update(&p, 100000, 100000, 5000 * MS);
    CHECK(p.limit == 100000);
}

/* The first limit: from the row width at the assumed rate, within 1..max; a default without. */
static void first(void)
{
    pgh_batch_pace p;
    pgh_batch_pace_init(&p, 100000, 200, 2048);
    double want = PGH_BATCH_PACE_AIM * 0.2 * PGH_BATCH_PACE_ASSUMED_BYTES_PER_S / 2048;
    CHECK(p.limit == (int64_t)want);
    CHECK(p.limit > 100 && p.limit < 100000);
    pgh_batch_pace_init(&p, 100000, 200, 10);
    CHECK(p.limit == 100000); /* narrow rows: the upper bound */
    pgh_batch_pace_init(&p, 100000, 200, 1e12);
    CHECK(p.limit == 1); /* enormous rows: never below one */
    pgh_batch_pace_init(&p, 100000, 200, 0);
    CHECK(p.limit == PGH_BATCH_PACE_FIRST_ROWS);
    pgh_batch_pace_init(&p, 10, 200, 0);
    CHECK(p.limit == 10);
    CHECK(pgh_batch_pace_row_bytes(-1, 8192) == 0); /* never analyzed */
    CHECK(pgh_batch_pace_row_bytes(0, 0) == 0);     /* empty */
    CHECK(pgh_batch_pace_row_bytes(1000, 2048000) == 2048);
}

/* From the measured time per row (the last batch's, or a slower recent one's fading by
 * PGH_BATCH_PACE_FADE per batch); at most GROWTH times the last limit; shrinks at once. */
static void follows(void)
{
    pgh_batch_pace p;
    pgh_batch_pace_init(&p, 1000000, 200, 0);
    pgh_batch_pace_update(&p, 1000, 1000, 1 * MS); /* 1 µs a row: 120,000 wanted */
    CHECK(p.limit == 1000 * PGH_BATCH_PACE_GROWTH);
    pgh_batch_pace_update(&p, 2000, 2000, 2 * MS);
    CHECK(p.limit == 4000);
    pgh_batch_pace_update(&p, 4000, 4000, 100 * MS); /* 25 µs a row: 4,800 */
    CHECK(p.limit == 4800);
    pgh_batch_pace_update(&p, 4800, 4800, 48 * MS); /* 10 µs, but 25 * 0.7 still assumed */
    CHECK(p.limit == 6857);
    pgh_batch_pace_update(&p, 6857, 6857, 68570000); /* 10 µs again; 17.5 * 0.7 = 12.25 */
    CHECK(p.limit == 9795);
    pgh_batch_pace_update(&p, 9795, 0, 3 * MS); /* empty: no rate */
    CHECK(p.limit == 9795);
    pgh_batch_pace_update(&p, 9795, 9795, 0); /* no time: no rate */
    CHECK(p.limit == 9795);
    pgh_batch_pace_update(&p, 9795, 1, 10000 * MS); /* one row took 10 s: never below 1 */
    CHECK(p.limit == 1);
}

/* A short batch (its range's tail) only lowers the limit when it was itself slow. */
static void short_batch(void)
{
    pgh_batch_pace p;
    pgh_batch_pace_init(&p, 100000, 200, 0);
    p.limit = 50000;
    pgh_batch_pace_update(&p, 50000, 5, 2 * MS); /* 5 rows, fixed cost */
    CHECK(p.limit == 50000);
    pgh_batch_pace_update(&p, 50000, 40000, 300 * MS); /* short but slow: 7.5 µs a row */
    CHECK(p.limit == 16000);
    pgh_batch_pace_update(&p, 16000, 10000, 10 * MS); /* short and fast: may grow */
    CHECK(p.limit == 22857);
}

/* Simulated source: statement = fixed_ms + rows * row_us. After a few batches every batch is
 * under the target, and the limit is not much below what the target allows. */
static void simulated(double fixed_ms, double row_us, double row_bytes, int64_t max_rows)
{
    pgh_batch_pace p;
    pgh_batch_pace_init(&p, max_rows, 200, row_bytes);
    double worst = 0;
    for (int i = 0; i < 40; i++) {
        double ms = fixed_ms + (double)p.limit * row_us / 1000.0;
        if (i >= 6 && ms > worst)
            worst = ms;
        int64_t used = p.limit;
        pgh_batch_pace_update(&p, used, (uint64_t)used, (int64_t)(ms * MS));
    }
    CHECK(worst <= 200.0);
    double allowed = (200.0 - fixed_ms) * 1000.0 / row_us;
    CHECK(p.limit == max_rows || (double)p.limit >= 0.5 * allowed);
}

/* A noisy source: each batch's time per row anywhere from 1x to 2x the base, at random. Every
 * batch stays under the 250 ms bound, and the copy does not crawl (the mean limit is at least a
 * third of what the base rate allows the 200 ms target). */
static void noisy(double row_us)
{
    pgh_batch_pace p;
    pgh_batch_pace_init(&p, 1000000, 200, 0);
    uint64_t rng = 12345;
    double worst = 0;
    double sum = 0;
    for (int i = 0; i < 400; i++) {
        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        double factor = 1.0 + (double)(rng >> 11) / (double)(1ULL << 53);
        double ms = 0.5 + (double)p.limit * row_us * factor / 1000.0;
        if (ms > worst)
            worst = ms;
        sum += (double)p.limit;
        int64_t used = p.limit;
        pgh_batch_pace_update(&p, used, (uint64_t)used, (int64_t)(ms * MS));
    }
    CHECK(worst <= 250.0);
    CHECK(sum / 400 >= (200.0 * 1000.0 / row_us) / 3);
}

static void adapts(void)
{
    noisy(40.0);
    noisy(3.0);
    simulated(1.0, 3.0, 130, 100000);        /* pgbench-like rows: 100,000 took 0.3 s */
    simulated(1.0, 40.0, 2048, 100000);      /* 2 kB rows: 100,000 would take 4 s */
    simulated(5.0, 2000.0, 1 << 20, 100000); /* 1 MB rows */
    simulated(1.0, 0.5, 40, 100000);         /* fast: the upper bound */
}

int main(void)
{
    off();
    first();
    follows();
    short_batch();
    adapts();
    printf("batch_pace: ok\n");
    return 0;
}
