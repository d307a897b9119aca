/*
 * Winning back lost connections before the checkpoint: see pipeline_internal.h.
 *
 * The copy and the catch-up do not repair a broken session in place: everything a failed
 * attempt had not committed is rolled back on the destination, and the sync is taken up again
 * from what it recorded there (the phase, the copy's progress, the slot), exactly as a re-run
 * would. So reconnecting only has to open the source session and the destination again.
 *
 * The backoff (log the reason at warn, wait, double up to 10 s) is shared with following
 * (follow.c), which opens its sessions itself.
 */
#include "pg/conn.h"
#include "pghost/log.h"
#include "pipeline_internal.h"
#include "util/clock.h"

#define MAX_FAILED_CONNECTS 30 /* about 5 minutes at the longest backoff */

/* Wait ms; false when a stop was requested meanwhile. */
static bool wait_ms(const pipe_run *r, int ms)
{
    for (int waited = 0; waited < ms; waited += 100) {
        if (pgh_pipeline__canceled(r))
            return false;
        pgh_sleep_ms(100);
    }
    return !pgh_pipeline__canceled(r);
}

bool pgh_pipeline__backoff(pipe_run *r, int *backoff_ms, const char *component, pgh_error *err)
{
    if (*backoff_ms < PGH_BACKOFF_MIN_MS)
        *backoff_ms = PGH_BACKOFF_MIN_MS;
    pgh_log(PGH_LOG_WARN, component, "%s; reconnecting in %d ms", err->message, *backoff_ms);
    pgh_log_at(PGH_LOG_DEBUG, component, NULL, err->lsn,
               "reconnect backoff %d ms (doubling from %d to at most %d ms; reset after a session "
               "that worked), error code %d%s%s",
               *backoff_ms, PGH_BACKOFF_MIN_MS, PGH_BACKOFF_MAX_MS, err->code,
               err->sqlstate[0] ? ", SQLSTATE " : "", err->sqlstate);
    pgh_error_clear(err);
    bool waited = wait_ms(r, *backoff_ms);
    *backoff_ms = *backoff_ms * 2 > PGH_BACKOFF_MAX_MS ? PGH_BACKOFF_MAX_MS : *backoff_ms * 2;
    return waited;
}

/* Close both sides, then open the source session and the destination again. */
static int reopen(pipe_run *r, pgh_error *err)
{
    pgh_pipeline__close_dest(r);
    PQfinish(r->src);
    r->src = NULL;
    PQfinish(r->repl); /* the next attempt's preflight opens it again */
    r->repl = NULL;
    int rc =
        pgh_conn_open(&r->src, r->cfg->source_connection, PGH_CONN_SQL, "source", "pghost", err);
    return rc == 0 ? pgh_pipeline__open_dest(r, err) : rc;
}

int pgh_pipeline__reconnect(pipe_run *r, const char *component, pgh_error *err)
{
    int backoff = PGH_BACKOFF_MIN_MS;
    for (int failed = 0;; failed++) {
        if (!pgh_pipeline__backoff(r, &backoff, component, err))
            return pgh_error_set(err, PGH_ECANCELED, "stopped on request while reconnecting");
        int rc = reopen(r, err);
        if (rc != PGH_ECONN || pgh_pipeline__canceled(r))
            return rc;
        if (failed + 1 >= MAX_FAILED_CONNECTS) {
            pgh_error_prefix(err, "gave up after %d attempts to reconnect", failed + 1);
            return rc;
        }
    }
}
