/* Names of the pipeline's counters: see include/pghost/stats.h. */
#include "pghost/stats.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "pghost/error.h"

const char *pgh_stats_phase_name(int phase)
{
    static const char *names[PGH_STATS_NPHASES] = {"starting", "copy", "catchup", "indexes",
                                                   "follow",   "done", "failed",  "verify"};
    return phase >= 0 && phase < PGH_STATS_NPHASES ? names[phase] : "unknown";
}

const char *pgh_stats_error_kind(int i)
{
    static const char *kinds[PGH_STATS_NERRORS] = {
        "other",  "memory",  "connection", "sql",         "protocol",
        "config", "missing", "canceled",   "destination", "precondition"};
    return i > 0 && i < PGH_STATS_NERRORS ? kinds[i] : "other";
}

void pgh_stats_count_error(pgh_pipeline_stats *s, int code)
{
    if (s == NULL || code >= 0 || -code >= PGH_STATS_NERRORS)
        return;
    atomic_fetch_add_explicit(&s->errors[-code], 1, memory_order_relaxed);
}

void pgh_stats_count_missing(pgh_pipeline_stats *s, const char *table, uint64_t n)
{
    if (s == NULL || n == 0)
        return;
    uint64_t used = atomic_load_explicit(&s->nmissing, memory_order_acquire);
    uint64_t i = 0;
    while (i < used && strcmp(s->missing[i].table, table) != 0)
        i++;
    if (i == used) {
        if (used == PGH_STATS_MAX_TABLES)
            return;
        snprintf(s->missing[i].table, sizeof(s->missing[i].table), "%s", table);
        atomic_store_explicit(&s->missing[i].count, 0, memory_order_relaxed);
        atomic_store_explicit(&s->nmissing, used + 1, memory_order_release);
    }
    atomic_fetch_add_explicit(&s->missing[i].count, n, memory_order_relaxed);
}
