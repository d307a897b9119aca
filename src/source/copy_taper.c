/* Tapered range cuts of the copy's plan: see copy_taper.h. */
#include "source/copy_taper.h"

#include <math.h>

double pgh_copy_taper_min_share(int workers, double rows, double min_rows)
{
    double share = workers > 0 ? 1.0 / (16.0 * workers) : 1.0;
    if (rows > 0 && min_rows / rows > share)
        share = min_rows / rows;
    return share;
}

/* Append the cuts of n equal ranges of share each, from *at on (none at or past the end, none
 * past max_cuts); return the new number of cuts. */
static int add_round(double *cuts, int ncuts, int max_cuts, double *at, int n, double share)
{
    for (int i = 0; i < n && ncuts < max_cuts; i++) {
        *at += share;
        if (*at < 1.0 - 1e-9)
            cuts[ncuts++] = *at;
    }
    return ncuts;
}

int pgh_copy_taper_cuts(double *cuts, int max_cuts, int workers, double min_share)
{
    if (workers <= 1 || !(min_share > 0 && min_share < 1.0) || max_cuts <= 0)
        return 0;
    int ncuts = 0;
    double at = 0;
    double left = 1.0;
    /* Rounds of `workers` ranges taking half of what is left, while each holds min_share. */
    while (left / 2 / workers >= min_share && ncuts + workers < max_cuts) {
        ncuts = add_round(cuts, ncuts, max_cuts, &at, workers, left / 2 / workers);
        left /= 2;
    }
    /* The rest: `workers` equal ranges, or fewer when they would be under min_share. */
    int n = (int)floor(left / min_share + 1e-9);
    n = n < 1 ? 1 : (n > workers ? workers : n);
    return add_round(cuts, ncuts, max_cuts, &at, n - 1, left / n);
}
