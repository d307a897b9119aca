/*
 * Re-checking differing keys on a live source.
 *
 * While pghost --follow (or a subscription handed the slot) applies changes, the destination
 * lags the source by a moment, so the first pass may see rows that were simply not applied
 * yet. Each round reads the source's WAL insert position, waits until the destination has
 * committed everything committed on the source before it (pghost's position row on the
 * destination says so at once, the slot's confirmed position at the follower's next status
 * update), and reads every differing key again from both sides. Keys that became equal are
 * dropped. The rounds stop when no key is left, when a round finds exactly what the previous one
 * found (the difference is stable), or when the time is up. Without an active slot nothing can
 * change the destination, so the keys are reported as found.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pg/conn.h"
#include "pghost/log.h"
#include "state/state.h"
#include "verify/internal.h"

#define RECHECK_BATCH 500
#define POLL_MS 100

double pgh_verify__now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int pgh_verify__slot_active(bool *active, PGconn *src, const char *slot, pgh_error *err)
{
    const char *params[1] = {slot};
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, src,
                            "SELECT active FROM pg_catalog.pg_replication_slots "
                            "WHERE slot_name = $1",
                            1, params, err);
    *active = rc == 0 && PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    return rc;
}

static int source_position(pgh_lsn *out, PGconn *src, pgh_error *err)
{
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, src, "SELECT pg_catalog.pg_current_wal_insert_lsn()::text", 0,
                            NULL, err);
    if (rc == 0 && pgh_lsn_parse(out, PQgetvalue(res, 0, 0)) != 0)
        rc = pgh_error_set(err, PGH_EPROTO, "verify: unexpected WAL position from the source");
    PQclear(res);
    return rc;
}

/* Has the destination everything committed on the source before target? Either the slot
 * confirmed target (a follower confirms only what the destination committed, and confirms
 * the server's position when idle), or pghost's position row on the destination, written in
 * the same transaction as the data, is past it (immediate, while the slot's confirmation
 * waits for the next status update). */
static int caught_up_with(bool *out, PGconn *src, PGconn *dst, const pgh_config *cfg,
                          pgh_lsn target, pgh_error *err)
{
    char lsn[32];
    snprintf(lsn, sizeof(lsn), PGH_LSN_FMT, PGH_LSN_ARGS(target));
    const char *params[2] = {cfg->slot_name, lsn};
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, src,
                            "SELECT coalesce(confirmed_flush_lsn >= $2::pg_lsn, false) "
                            "FROM pg_catalog.pg_replication_slots WHERE slot_name = $1",
                            2, params, err);
    *out = rc == 0 && PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (rc != 0 || *out)
        return rc;
    pgh_state st;
    rc = pgh_state_read(&st, dst, cfg->state_schema, cfg->slot_name, err);
    *out = rc == 0 && st.found && st.applied_lsn >= target;
    return rc;
}

/* Wait until the destination has what the source committed before now; *caught_up false when
 * the deadline came first. */
int pgh_verify__wait_caught_up(bool *caught_up, PGconn *src, PGconn *dst, const pgh_config *cfg,
                               double deadline, pgh_error *err)
{
    pgh_lsn target = 0;
    int rc = source_position(&target, src, err);
    *caught_up = false;
    while (rc == 0) {
        rc = caught_up_with(caught_up, src, dst, cfg, target, err);
        if (rc != 0 || *caught_up || pgh_verify__now_s() >= deadline)
            break;
        sleep_ms(POLL_MS);
    }
    return rc;
}

/* Row of res whose key columns equal values, or -1. */
static int find_row(PGresult *res, char **values, int nkeys)
{
    for (int r = 0; r < PQntuples(res); r++) {
        int k = 0;
        while (k < nkeys && strcmp(PQgetvalue(res, r, k), values[k]) == 0)
            k++;
        if (k == nkeys)
            return r;
    }
    return -1;
}

static int replace(char **slot, const char *value)
{
    char *copy = value ? strdup(value) : NULL;
    if (value && copy == NULL)
        return PGH_ENOMEM;
    free(*slot);
    *slot = copy;
    return 0;
}

/* Update found[from..from+n) from the rows read again; *changed when any entry changed. */
static int apply_batch(verify_table *t, int from, int n, PGresult *sr, PGresult *dr,
                       bool *changed, bool *drop)
{
    int nk = t->src->nkeys;
    for (int i = from; i < from + n; i++) {
        verify_found *f = &t->found[i];
        int a = find_row(sr, f->values, nk);
        int b = find_row(dr, f->values, nk);
        const char *hs = a >= 0 ? PQgetvalue(sr, a, nk) : NULL;
        const char *hd = b >= 0 ? PQgetvalue(dr, b, nk) : NULL;
        drop[i] = (hs == NULL && hd == NULL) || (hs && hd && strcmp(hs, hd) == 0);
        pgh_verify_kind kind = hs == NULL ? PGH_VERIFY_EXTRA
                               : hd == NULL ? PGH_VERIFY_MISSING
                                            : PGH_VERIFY_DIFFERENT;
        bool same = !drop[i] && kind == f->kind && (hs == NULL) == (f->src_hash == NULL) &&
                    (hd == NULL) == (f->dst_hash == NULL) &&
                    (hs == NULL || strcmp(hs, f->src_hash) == 0) &&
                    (hd == NULL || strcmp(hd, f->dst_hash) == 0);
        if (!same)
            *changed = true;
        f->kind = kind;
        if (replace(&f->src_hash, hs) != 0 || replace(&f->dst_hash, hd) != 0)
            return PGH_ENOMEM;
    }
    return 0;
}

static int recheck_table(verify_table *t, PGconn *src, PGconn *dst, bool *changed,
                         pgh_error *err)
{
    int nk = t->src->nkeys;
    bool *drop = calloc((size_t)(t->nfound ? t->nfound : 1), sizeof(bool));
    char ***keys = calloc((size_t)(t->nfound ? t->nfound : 1), sizeof(char **));
    int rc = (drop && keys) ? 0 : pgh_error_set(err, PGH_ENOMEM, "out of memory");
    for (int i = 0; rc == 0 && i < t->nfound; i++)
        keys[i] = t->found[i].values;
    for (int from = 0; rc == 0 && from < t->nfound; from += RECHECK_BATCH) {
        int n = t->nfound - from < RECHECK_BATCH ? t->nfound - from : RECHECK_BATCH;
        PGresult *sr = NULL;
        PGresult *dr = NULL;
        rc = pgh_verify__rows_by_key(&sr, &dr, src, dst, t, keys + from, n, err);
        if (rc == 0 && apply_batch(t, from, n, sr, dr, changed, drop) != 0)
            rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
        PQclear(sr);
        PQclear(dr);
    }
    int kept = 0;
    for (int i = 0; rc == 0 && i < t->nfound; i++) {
        if (drop[i]) {
            pgh_verify__found_clear(&t->found[i], nk);
            *changed = true;
        } else {
            t->found[kept++] = t->found[i];
        }
    }
    if (rc == 0)
        t->nfound = kept;
    free(drop);
    free(keys);
    return rc;
}

static int total_found(const verify_table *tables, int ntables)
{
    int n = 0;
    for (int i = 0; i < ntables; i++)
        n += tables[i].nfound;
    return n;
}

int pgh_verify__recheck(bool *rechecked, verify_table *tables, int ntables, PGconn *src,
                        PGconn *dst, const pgh_config *cfg, double seconds, pgh_error *err)
{
    *rechecked = false;
    if (seconds <= 0 || total_found(tables, ntables) == 0)
        return 0;
    bool active = false;
    int rc = pgh_verify__slot_active(&active, src, cfg->slot_name, err);
    if (rc != 0 || !active) {
        if (rc == 0)
            pgh_log(PGH_LOG_INFO, "verify", "replication slot %s is not in use: nothing is "
                    "applying changes to the destination, so differences are reported as found",
                    cfg->slot_name);
        return rc;
    }
    double deadline = pgh_verify__now_s() + seconds;
    for (int round = 1; rc == 0; round++) {
        bool caught_up = false;
        rc = pgh_verify__wait_caught_up(&caught_up, src, dst, cfg, deadline, err);
        if (rc != 0 || !caught_up) {
            if (rc == 0)
                pgh_log(PGH_LOG_WARN, "verify", "the destination did not catch up with the "
                        "source within %.0f s; reporting the keys that still differ", seconds);
            break;
        }
        bool changed = false;
        for (int i = 0; rc == 0 && i < ntables; i++)
            rc = recheck_table(&tables[i], src, dst, &changed, err);
        *rechecked = true;
        pgh_log(PGH_LOG_INFO, "verify", "re-check %d: %d keys still differ", round,
                total_found(tables, ntables));
        if (rc != 0 || total_found(tables, ntables) == 0 || !changed || pgh_verify__now_s() >= deadline)
            break;
    }
    return rc;
}
