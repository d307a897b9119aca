/*
 * tests/unit/test_copy_taper.c - the tapered cuts of the copy's ranges (source/copy_taper.h):
 * rounds of `workers` ranges each taking half of what is left, down to the smallest share, then
 * the rest in `workers` equal ranges; ascending cuts inside (0, 1); one range for one worker;
 * the bound on cuts kept. A simulated copy (workers taking ranges in order, every row costing
 * the same) checks that the workers end within the smallest range of each other, where equal
 * ranges leave one worker idle for up to a whole range.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "source/copy_taper.h"
#include "unit_check.h"

static bool near(double a, double b)
{
    return fabs(a - b) < 1e-12;
}

/* 2 workers, 1/32 at least: 1/4, 1/4, 1/8, 1/8, 1/16, 1/16, 1/32 x 4. */
static void two_workers(void)
{
    double cuts[PGH_COPY_TAPER_MAX_CUTS];
    int n = pgh_copy_taper_cuts(cuts, PGH_COPY_TAPER_MAX_CUTS, 2, 1.0 / 32);
    static const double want[] = {0.25, 0.5, 0.625, 0.75, 0.8125, 0.875, 0.90625, 0.9375, 0.96875};
    CHECK(n == 9);
    for (int i = 0; i < n; i++)
        CHECK(near(cuts[i], want[i]));
    CHECK(near(pgh_copy_taper_min_share(2, 1e6, 25000), 1.0 / 32));
    CHECK(near(pgh_copy_taper_min_share(2, 200000, 25000), 1.0 / 8)); /* a quarter batch */
}

/* Every worker count and floor: ascending cuts in (0, 1), none smaller than the floor, the
 * last workers ranges the smallest, within the bound. */
static void shapes(void)
{
    double cuts[PGH_COPY_TAPER_MAX_CUTS];
    for (int w = 2; w <= 64; w++) {
        for (double min = 0.001; min < 1.0; min *= 1.7) {
            int n = pgh_copy_taper_cuts(cuts, PGH_COPY_TAPER_MAX_CUTS, w, min);
            CHECK(n >= 0 && n <= PGH_COPY_TAPER_MAX_CUTS);
            double prev = 0;
            for (int i = 0; i <= n; i++) {
                double at = i < n ? cuts[i] : 1.0;
                CHECK(at > prev && at <= 1.0);
                CHECK(at - prev >= min * (1 - 1e-9) || n == 0);
                prev = at;
            }
            if (min <= 1.0 / (2 * w)) /* at least one round and the rest: more ranges than w */
                CHECK(n + 1 > w);
            else /* no round: up to w equal ranges */
                CHECK(n + 1 <= w);
        }
    }
}

/* One worker, or a floor of the whole table: one range. A small bound on cuts is kept. */
static void edges(void)
{
    double cuts[4];
    CHECK(pgh_copy_taper_cuts(cuts, 4, 1, 0.01) == 0);
    CHECK(pgh_copy_taper_cuts(cuts, 4, 0, 0.01) == 0);
    CHECK(pgh_copy_taper_cuts(cuts, 4, 2, 1.0) == 0);
    CHECK(pgh_copy_taper_cuts(cuts, 4, 2, 0) == 0);
    CHECK(pgh_copy_taper_cuts(cuts, 4, 2, NAN) == 0);
    CHECK(pgh_copy_taper_cuts(cuts, 4, 8, 0.001) <= 4);
    CHECK(pgh_copy_taper_cuts(cuts, 0, 8, 0.001) == 0);
}

/* Workers taking ranges in order, each row costing the same, every worker slower or faster by
 * up to 30% (two shared cores): how long the first worker to run out waits for the last. */
static double idle_share(const double *cuts, int ncuts, int workers, const double *speed)
{
    double busy_until[64] = {0};
    double prev = 0;
    for (int i = 0; i <= ncuts; i++) {
        double at = i < ncuts ? cuts[i] : 1.0;
        int next = 0;
        for (int w = 1; w < workers; w++)
            if (busy_until[w] < busy_until[next])
                next = w;
        busy_until[next] += (at - prev) / speed[next];
        prev = at;
    }
    double first = busy_until[0], last = busy_until[0];
    for (int w = 1; w < workers; w++) {
        first = fmin(first, busy_until[w]);
        last = fmax(last, busy_until[w]);
    }
    return last - first;
}

static void balance(void)
{
    double speeds[][2] = {{1.0, 1.0}, {1.0, 1.3}, {1.3, 1.0}, {1.0, 1.1}, {1.15, 1.0}};
    double tapered[PGH_COPY_TAPER_MAX_CUTS];
    int nt = pgh_copy_taper_cuts(tapered, PGH_COPY_TAPER_MAX_CUTS, 2, 1.0 / 32);
    double equal[7];
    for (int i = 0; i < 7; i++)
        equal[i] = (i + 1) / 8.0; /* the plan before: 8 equal ranges */
    double worst_tapered = 0, worst_equal = 0;
    for (size_t s = 0; s < sizeof(speeds) / sizeof(speeds[0]); s++) {
        worst_tapered = fmax(worst_tapered, idle_share(tapered, nt, 2, speeds[s]));
        worst_equal = fmax(worst_equal, idle_share(equal, 7, 2, speeds[s]));
    }
    CHECK(worst_tapered <= 1.0 / 32 + 1e-9); /* at most the smallest range */
    CHECK(worst_equal >= 1.0 / 16);          /* what equal ranges left */
}

int main(void)
{
    two_workers();
    shapes();
    edges();
    balance();
    puts("test_copy_taper: ok");
    return 0;
}
