/*
 * config/suggest.c - "did you mean": the valid key closest to a misspelt one.
 *
 * Distance is the optimal string alignment variant of Damerau-Levenshtein (insert, delete,
 * substitute, swap two neighbours), compared without regard to case so that
 * "Copy_Batch_Size" finds its key. A suggestion is made only when the distance is at most
 * max(2, length of the valid key / 3): further than that it is a guess, not a typo.
 */
#include <ctype.h>
#include <string.h>

#include "config_int.h"

/* Keys longer than this get no suggestion; it bounds the work per key. */
#define KEY_MAX 64

static size_t min3(size_t a, size_t b, size_t c)
{
    size_t m = a < b ? a : b;
    return m < c ? m : c;
}

static int lower(char c)
{
    return tolower((unsigned char)c);
}

/* Distance between a (alen bytes) and b (blen bytes), both at most KEY_MAX. */
static size_t distance(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t rows[3][KEY_MAX + 1];
    size_t *prev2 = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= blen; j++)
        prev[j] = j;
    for (size_t i = 1; i <= alen; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= blen; j++) {
            size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
            cur[j] = min3(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
            if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
                lower(a[i - 2]) == lower(b[j - 1]) && prev2[j - 2] + 1 < cur[j])
                cur[j] = prev2[j - 2] + 1;
        }
        size_t *t = prev2;
        prev2 = prev;
        prev = cur;
        cur = t;
    }
    return prev[blen];
}

const char *pgh_config__suggest(const char *key, size_t len, const char *const *candidates,
                                size_t n)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    if (len > KEY_MAX)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        size_t clen = strlen(candidates[i]);
        if (clen > KEY_MAX)
            continue;
        size_t d = distance(key, len, candidates[i], clen);
        size_t limit = clen / 3 > 2 ? clen / 3 : 2;
        if (d <= limit && d < best_d) {
            best = candidates[i];
            best_d = d;
        }
    }
    return best;
}
