/*
 * Before the catch-up copies rows again: wait until every transaction it replayed to the
 * checkpoint is visible on the source (see catchup.c and docs/sync.md, "Visible before copied
 * again").
 *
 * A transaction's commit record reaches the WAL, and so the stream, before the committing
 * backend leaves the set of running transactions that snapshots go by. With a synchronous
 * standby (synchronous_standby_names, synchronous_commit on) the commit waits for the standby in
 * between, for as long as the standby takes. A row copied again in that window is the row as it
 * was before the transaction, and the replay to the next checkpoint starts after this one: the
 * transaction's effect would never reach the destination.
 *
 * Which transactions: right after the checkpoint's own transaction has returned, the source's
 * current snapshot S is taken (pg_current_snapshot()). Let T be a transaction replayed to the
 * checkpoint: its commit record precedes the checkpoint's in the WAL. Either T had left the
 * running set when S was taken, and then S and every later snapshot see it (a transaction
 * leaves that set under the lock that taking a snapshot holds); or T was still in it, and then S
 * does not see it: its xid is in S's xip list, or at or past S's xmax (an xid assigned after the
 * checkpoint's own, with nothing later completed; the running set holds no xid below xmin). So
 * every T that may be invisible to the copy again is noted, by its BEGIN's xid, and no other
 * transaction is: the wait never waits for an unrelated long-running transaction, only for
 * transactions already committed in the WAL.
 *
 * How to wait: until pg_visible_in_snapshot(xid, pg_current_snapshot()) for each noted xid,
 * which is exactly what the copy again's reads will see, and needs no privilege.
 * pg_xact_status() would not do: the commit log says "committed" before the synchronous wait.
 * pg_stat_activity.backend_xid would miss a prepared transaction's COMMIT PREPARED (its xid is
 * held by no backend while it waits for the standby).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"
#include "pghost/log.h"
#include "pipeline_internal.h"
#include "util/buf.h"
#include "util/clock.h"

#define VISIBLE_WAIT_MAX_MS 100 /* the backoff's longest sleep */
#define VISIBLE_LOG_AFTER_MS 1000
#define VISIBLE_STATUS_MS 1000 /* keep the stream alive meanwhile */

void pgh_pipeline__visible_reset(run_visible *v)
{
    free(v->xip);
    free(v->noted);
    memset(v, 0, sizeof(*v));
}

static int add_xid(uint64_t **list, int *n, int *cap, uint64_t x)
{
    if (*n == *cap) {
        int ncap = *cap ? *cap * 2 : 8;
        uint64_t *grown = realloc(*list, (size_t)ncap * sizeof(**list));
        if (grown == NULL)
            return -1;
        *list = grown;
        *cap = ncap;
    }
    (*list)[(*n)++] = x;
    return 0;
}

/* "xmin:xmax:xip,xip,..." (pg_snapshot's text form). */
static int parse_snapshot(run_visible *v, const char *text, pgh_error *err)
{
    char *end = NULL;
    v->xmin = strtoull(text, &end, 10);
    if (*end != ':')
        return pgh_error_set(err, PGH_EPROTO, "the source returned a bad snapshot: %s", text);
    v->xmax = strtoull(end + 1, &end, 10);
    if (*end != ':')
        return pgh_error_set(err, PGH_EPROTO, "the source returned a bad snapshot: %s", text);
    int cap = 0;
    while (*end == ':' || *end == ',') {
        if (end[1] == '\0')
            break;
        uint64_t x = strtoull(end + 1, &end, 10);
        if (add_xid(&v->xip, &v->nxip, &cap, x) != 0)
            return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    }
    return 0;
}

int pgh_pipeline__visible_take(run_visible *v, PGconn *src, pgh_error *err)
{
    pgh_pipeline__visible_reset(v);
    PGresult *res = NULL;
    int rc =
        pgh_conn_query(&res, src, "SELECT pg_catalog.pg_current_snapshot()::text", 0, NULL, err);
    if (rc == 0)
        rc = parse_snapshot(v, PQgetvalue(res, 0, 0), err);
    PQclear(res);
    if (rc != 0)
        pgh_error_prefix(err, "reading the source's running transactions at the checkpoint");
    return rc;
}

/* The 32-bit xid of a BEGIN as a full xid near the snapshot's xmax (it is recent). */
static uint64_t full_xid(const run_visible *v, uint32_t xid)
{
    int32_t diff = (int32_t)(xid - (uint32_t)v->xmax);
    return (uint64_t)((int64_t)v->xmax + diff);
}

int pgh_pipeline__visible_note(run_visible *v, uint32_t xid)
{
    if (xid == 0 || v->xmax == 0)
        return 0;
    uint64_t x = full_xid(v, xid);
    bool running = x >= v->xmax;
    for (int i = 0; !running && i < v->nxip; i++)
        running = v->xip[i] == x;
    for (int i = 0; running && i < v->nnoted; i++)
        if (v->noted[i] == x)
            return 0;
    return running ? add_xid(&v->noted, &v->nnoted, &v->cap_noted, x) : 0;
}

/* '{x,y}' for $1::xid8[] (or the xids for a message, with sep ", " and no braces). */
static void put_xids(pgh_buf *b, const uint64_t *x, int n, const char *sep, bool braces)
{
    pgh_buf_puts(b, braces ? "{" : "");
    for (int i = 0; i < n; i++)
        pgh_buf_printf(b, "%s%llu", i ? sep : "", (unsigned long long)x[i]);
    pgh_buf_puts(b, braces ? "}" : "");
}

/* Whether some noted transaction is still invisible to a new snapshot. */
static int any_invisible(bool *invisible, PGconn *src, const char *xids, pgh_error *err)
{
    const char *params[1] = {xids};
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, src,
                            "SELECT EXISTS (SELECT 1 FROM pg_catalog.unnest($1::xid8[]) x "
                            "WHERE NOT pg_catalog.pg_visible_in_snapshot(x, "
                            "pg_catalog.pg_current_snapshot()))",
                            1, params, err);
    *invisible = rc == 0 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return rc;
}

static void log_waiting(const run_visible *v)
{
    pgh_buf b;
    pgh_buf_init(&b, 1 << 16);
    put_xids(&b, v->noted, v->nnoted, ", ", false);
    pgh_log(PGH_LOG_INFO, "catch-up",
            "waiting for transaction(s) %s, committed before the checkpoint, to become visible "
            "on the source before copying rows again (a synchronous standby may be holding "
            "their commit: see synchronous_standby_names)",
            pgh_buf_failed(&b) ? "(out of memory)" : pgh_buf_str(&b));
    pgh_buf_dispose(&b);
}

int pgh_pipeline__visible_wait(run_visible *v, pipe_run *r, pgh_stream *stream, pgh_error *err)
{
    if (v->nnoted == 0)
        return 0;
    pgh_buf xids;
    pgh_buf_init(&xids, 1 << 20);
    put_xids(&xids, v->noted, v->nnoted, ",", true);
    int rc = pgh_buf_failed(&xids) ? pgh_error_set(err, PGH_ENOMEM, "out of memory") : 0;
    int64_t start = pgh_clock_ms(), last_status = start;
    bool logged = false, invisible = true;
    for (int ms = 1; rc == 0; ms = ms * 2 > VISIBLE_WAIT_MAX_MS ? VISIBLE_WAIT_MAX_MS : ms * 2) {
        rc = any_invisible(&invisible, r->src, pgh_buf_str(&xids), err);
        if (rc != 0 || !invisible)
            break;
        if (pgh_pipeline__canceled(r)) {
            rc = pgh_error_set(err, PGH_ECANCELED, "catch-up canceled");
            break;
        }
        if (!logged && pgh_clock_ms() - start >= VISIBLE_LOG_AFTER_MS) {
            log_waiting(v);
            logged = true;
        }
        if (pgh_clock_ms() - last_status >= VISIBLE_STATUS_MS) {
            rc = pgh_stream_send_status(stream, false, err);
            last_status = pgh_clock_ms();
        }
        pgh_sleep_ms(ms);
    }
    pgh_buf_dispose(&xids);
    if (rc == 0 && logged)
        pgh_log(PGH_LOG_INFO, "catch-up", "the transactions are visible after %.1f s; copying",
                (double)(pgh_clock_ms() - start) / 1000.0);
    if (rc != 0 && rc != PGH_ECANCELED)
        pgh_error_prefix(err, "waiting for the transactions before the checkpoint to be visible");
    return rc;
}
