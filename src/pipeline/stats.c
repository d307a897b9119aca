/*
 * The run's live counters (pghost/stats.h), updated where the pipeline hands changes over and
 * changes phase. Relaxed atomics only: readers need each value, not an order between them.
 */
#include <string.h>

#include "pipeline_internal.h"

/* PostgreSQL's epoch (2000-01-01) in Unix microseconds. */
#define PG_EPOCH_UNIX_US INT64_C(946684800000000)

static pgh_pipeline_stats *stats(const pipe_run *r)
{
    return r->o->stats;
}

void pgh_pipeline__stats_phase(pipe_run *r, pgh_stats_phase phase)
{
    if (stats(r))
        atomic_store_explicit(&stats(r)->phase, phase, memory_order_relaxed);
}

static void count(pgh_counter *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/* The transaction's changes, counted once: not again when a reconnect replays it. */
static void commit(pipe_run *r, pgh_pipeline_stats *s, const pgh_change *c)
{
    if (c->u.commit.end_lsn <= r->counted_lsn)
        return;
    r->counted_lsn = c->u.commit.end_lsn;
    for (int k = 0; k < PGH_STATS_NCHANGES; k++)
        if (r->pending[k])
            atomic_fetch_add_explicit(&s->changes[k], r->pending[k], memory_order_relaxed);
    count(&s->transactions);
    atomic_store_explicit(&s->applied_lsn, c->u.commit.end_lsn, memory_order_relaxed);
    atomic_store_explicit(&s->commit_time_us, c->u.commit.commit_time + PG_EPOCH_UNIX_US,
                          memory_order_relaxed);
}

void pgh_pipeline__stats_change(pipe_run *r, const pgh_change *c)
{
    pgh_pipeline_stats *s = stats(r);
    if (s == NULL)
        return;
    switch (c->kind) {
    case PGH_CHANGE_INSERT:
        r->pending[PGH_STATS_INSERT]++;
        break;
    case PGH_CHANGE_UPDATE:
        r->pending[PGH_STATS_UPDATE]++;
        break;
    case PGH_CHANGE_DELETE:
        r->pending[PGH_STATS_DELETE]++;
        break;
    case PGH_CHANGE_TRUNCATE:
        r->pending[PGH_STATS_TRUNCATE]++;
        break;
    case PGH_CHANGE_COMMIT:
        commit(r, s, c);
        memset(r->pending, 0, sizeof(r->pending));
        break;
    case PGH_CHANGE_BEGIN:
        memset(r->pending, 0, sizeof(r->pending));
        break;
    default:
        break;
    }
}

void pgh_pipeline__stats_received(pipe_run *r, pgh_lsn server, bool idle)
{
    pgh_pipeline_stats *s = stats(r);
    if (s == NULL || server == 0)
        return;
    atomic_store_explicit(&s->received_lsn, server, memory_order_relaxed);
    /* Idle between transactions: everything the server sent is settled (as follow confirms). */
    if (idle && server > atomic_load_explicit(&s->applied_lsn, memory_order_relaxed))
        atomic_store_explicit(&s->applied_lsn, server, memory_order_relaxed);
}

void pgh_pipeline__stats_reconnecting(pipe_run *r, bool on)
{
    pgh_pipeline_stats *s = stats(r);
    if (s == NULL)
        return;
    atomic_store_explicit(&s->reconnecting, on ? 1 : 0, memory_order_relaxed);
    if (on)
        count(&s->reconnects);
}
