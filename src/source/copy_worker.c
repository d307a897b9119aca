/*
 * The copy workers: each takes the next range, copies it batch by batch, and repeats.
 *
 * One batch: COPY (SELECT ... LIMIT n) TO STDOUT on the source, an autocommit statement and so
 * its own short transaction there. n follows the time of the worker's previous batches
 * (source/batch_pace.h), timed from sending the statement to its end, and keeps the batch's
 * data within PGH_COPY_BATCH_BYTES at the last batch's row width. Each CopyData message is
 * passed on untouched to the worker's copy session of the destination (pghost/keyed.h), which
 * decides when rows become durable; a session that holds a batch's data while its destination
 * is slow (the PostgreSQL one) lets the source's statement end without waiting for it.
 * The scanner counts rows and keeps the last row's key, from which the next batch continues.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "copy_internal.h"
#include "source/batch_pace.h"
#include "pg/conn.h"
#include "pghost/log.h"
#include "util/clock.h"

typedef struct copy_shared {
    pgh_copy_table *tables;  /* borrowed */
    int ntables;
    const pgh_copy_opts *opts; /* borrowed */
    copy_plan plan;
    pthread_mutex_t lock; /* guards next_table, next_range, running */
    pthread_cond_t ended; /* signalled when a worker ends */
    int next_table;
    int64_t next_range;
    int running;             /* workers started and not yet ended */
    atomic_int failed;       /* a worker failed: everyone stops */
} copy_shared;

typedef struct copy_worker {
    copy_shared *shared;  /* borrowed */
    int id;
    PGconn *src;          /* owned */
    void *session;        /* owned (keyed->copy_close): the destination's copy session */
    pgh_buf sql;          /* owned: scratch for statements */
    pgh_copy_scan scan;   /* owned: scanner of the current batch */
    pgh_batch_pace pace;  /* the next batch's LIMIT, for table pace_table */
    int pace_table;       /* -1: none yet */
    double row_bytes;     /* COPY bytes per row of pace_table: the last batch's, at first the
                             catalog's width; 0 when unknown */
    int64_t limit;        /* the current batch's LIMIT; 0: none (one integer range) */
    int64_t sent_ns;      /* when the current batch's source statement was sent */
    int64_t statement_ns; /* the current batch's source statement, sent to ended */
    char *after[PGH_COPY_MAX_KEYS]; /* owned: literals of the last key copied in this range */
    char *after_raw[PGH_COPY_MAX_KEYS]; /* owned: the same key as the values' text */
    bool timing;      /* this batch measures its destination writes (debug logs only:
                         a clock read per CopyData message is per-row work) */
    int64_t write_ns; /* this batch's time in the destination's copy_data */
    pgh_error err;
} copy_worker;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static const pgh_keyed_ops *keyed(const copy_worker *w)
{
    return w->shared->opts->keyed;
}

static bool stopping(const copy_worker *w)
{
    const copy_shared *sh = w->shared;
    return atomic_load(&((copy_shared *)sh)->failed) ||
           (sh->opts->cancel && atomic_load(sh->opts->cancel));
}

/* Take the next (table, range) not finished by an earlier run; false when none is left. */
static bool next_range(copy_shared *sh, int *table, int64_t *range)
{
    bool found = false;
    pthread_mutex_lock(&sh->lock);
    while (sh->next_table < sh->ntables) {
        const copy_plan_table *pt = &sh->plan.tables[sh->next_table];
        if (sh->next_range < pt->nranges) {
            const copy_progress *p = pgh_copy__progress(pt, sh->next_range);
            if (p && p->done) {
                sh->next_range++;
                continue;
            }
            *table = sh->next_table;
            *range = sh->next_range++;
            found = true;
            break;
        }
        sh->next_table++;
        sh->next_range = 0;
    }
    pthread_mutex_unlock(&sh->lock);
    return found;
}

static void clear_after(copy_worker *w)
{
    for (int k = 0; k < PGH_COPY_MAX_KEYS; k++) {
        free(w->after[k]);
        w->after[k] = NULL;
        free(w->after_raw[k]);
        w->after_raw[k] = NULL;
    }
}

/* Continue after a key given as the values' text: keep the text and make literals. */
static int set_after(copy_worker *w, int nkeys, const char *const *texts)
{
    clear_after(w);
    for (int k = 0; k < nkeys; k++) {
        w->after[k] = pgh_conn_literal(w->src, texts[k], strlen(texts[k]));
        w->after_raw[k] = strdup(texts[k]);
        if (w->after[k] == NULL || w->after_raw[k] == NULL)
            return pgh_error_set(&w->err, PGH_ENOMEM, "out of memory");
    }
    return 0;
}

/* Turn the scanner's last key into SQL literals for the next batch. Binary key values are
 * converted to text by the source itself (SELECT $1::text with the value as a typed binary
 * parameter), so every type's text form is the server's own. */
static int remember_last_key(copy_worker *w, const pgh_copy_table *t)
{
    int nkeys = t->src->nkeys;
    const char *texts[PGH_COPY_MAX_KEYS];
    PGresult *res = NULL;
    if (t->format == PGH_COPY_BINARY) {
        Oid types[PGH_COPY_MAX_KEYS];
        int lens[PGH_COPY_MAX_KEYS];
        int fmts[PGH_COPY_MAX_KEYS];
        const char *vals[PGH_COPY_MAX_KEYS];
        pgh_buf_reset(&w->sql);
        pgh_buf_puts(&w->sql, "SELECT ");
        for (int k = 0; k < nkeys; k++) {
            types[k] = t->src->cols[t->src->key_cols[k]].type_oid;
            vals[k] = w->scan.key[k].data ? w->scan.key[k].data : "";
            lens[k] = (int)w->scan.key[k].len;
            fmts[k] = 1;
            pgh_buf_printf(&w->sql, "%s$%d::pg_catalog.text", k ? ", " : "", k + 1);
        }
        res = PQexecParams(w->src, pgh_buf_str(&w->sql), nkeys, types, vals, lens, fmts, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
            int rc = pgh_conn_error(&w->err, w->src, res, "reading the last copied key");
            PQclear(res);
            return rc;
        }
        for (int k = 0; k < nkeys; k++)
            texts[k] = PQgetvalue(res, 0, k);
    } else {
        for (int k = 0; k < nkeys; k++)
            texts[k] = pgh_buf_str(&w->scan.key[k]);
    }
    int rc = set_after(w, nkeys, texts);
    PQclear(res);
    return rc;
}

/* The source's next CopyData message, as PQgetCopyData: > 0 its length, -1 the COPY's end,
 * -2 an error, 0 (with no message) a stop request seen while waiting. Reads without the poll()
 * libpq's blocking mode makes before every read: while pghost waits for the destination the
 * source's rows are already queued, so the socket is polled only when empty. */
static int next_message(copy_worker *w, char **buf)
{
    for (;;) {
        int n = PQgetCopyData(w->src, buf, 1);
        if (n != 0)
            return n;
        if (PQconsumeInput(w->src) != 1)
            return -2;
        n = PQgetCopyData(w->src, buf, 1);
        if (n != 0)
            return n;
        struct pollfd p = {.fd = PQsocket(w->src), .events = POLLIN};
        if (poll(&p, 1, 1000) < 0 && errno != EINTR)
            return -2;
        if (stopping(w))
            return 0;
    }
}

/* Stream the source's COPY OUT into the destination's COPY IN. A stop request abandons the
 * batch at once (the caller abandons both sides): a batch is never committed in part. */
static int pump(copy_worker *w)
{
    for (;;) {
        if (stopping(w))
            return pgh_error_set(&w->err, PGH_ECANCELED, "copy canceled");
        char *buf = NULL;
        int n = next_message(w, &buf);
        if (n == 0)
            continue; /* stopping: said at the top */
        if (n == -1)
            return 0;
        if (n < 0)
            return pgh_conn_error(&w->err, w->src, NULL, "reading COPY data from the source");
        bool had_header = w->scan.header_done;
        bool had_trailer = w->scan.trailer_seen;
        int rc = pgh_copy_scan_feed(&w->scan, (const uint8_t *)buf, (size_t)n, &w->err);
        int64_t start = w->timing ? now_ns() : 0;
        if (rc == 0)
            rc = keyed(w)->copy_data(w->session, buf, (size_t)n,
                                     w->scan.header_done && !had_header,
                                     w->scan.trailer_seen && !had_trailer, &w->err);
        if (w->timing)
            w->write_ns += now_ns() - start;
        PQfreemem(buf);
        if (rc != 0)
            return rc;
    }
}

/* Abandon the source COPY after a failure: cancel it and drain what is left. */
static void abandon_source(PGconn *src)
{
    PGcancel *c = PQgetCancel(src);
    char errbuf[256];
    if (c) {
        PQcancel(c, errbuf, sizeof(errbuf));
        PQfreeCancel(c);
    }
    char *buf = NULL;
    while (PQgetCopyData(src, &buf, 0) > 0)
        PQfreemem(buf);
    PGresult *res;
    while ((res = PQgetResult(src)) != NULL)
        PQclear(res);
}

/* Point the destination's session at unit t, then begin COPY OUT on the source. */
static int start_batch(copy_worker *w, int unit, const pgh_copy_table *t, const copy_bounds *b)
{
    pgh_copy_target target = {.unit = unit,
                               .table = t->table,
                               .source_schema = t->src->schema,
                               .source_name = t->src->name,
                               .columns = t->columns,
                               .ncolumns = t->ncolumns,
                               .binary = t->format == PGH_COPY_BINARY};
    int64_t start = now_ns();
    int rc = keyed(w)->copy_table(w->session, &target, &w->err); /* may wait for the last batch */
    if (rc != 0)
        return rc;
    w->sent_ns = now_ns();
    if (w->timing)
        w->write_ns += w->sent_ns - start;
    bool continuing = w->after[0] != NULL;
    pgh_copy__batch_sql(&w->sql, w->src, t, b->lo, b->hi, continuing ? w->after : NULL,
                        w->limit);
    if (pgh_buf_failed(&w->sql) || PQsendQuery(w->src, pgh_buf_str(&w->sql)) != 1)
        return pgh_conn_error(&w->err, w->src, NULL, "starting COPY on the source");
    PGresult *res = PQgetResult(w->src);
    if (PQresultStatus(res) != PGRES_COPY_OUT) {
        rc = pgh_conn_error(&w->err, w->src, res, "starting COPY on the source");
        PQclear(res);
        pgh_conn_drain(w->src, NULL, "");
        return rc;
    }
    PQclear(res);
    return 0;
}

/* The batch's end, with how far its range got: the session decides what becomes durable. */
static int mark_batch(copy_worker *w, const pgh_copy_table *t, int table, int64_t range,
                      bool done)
{
    pgh_copy_mark mark = {.unit = table,
                          .range = range,
                          .nkeys = t->src->nkeys,
                          .last_key = w->after_raw[0] ? (const char *const *)w->after_raw : NULL,
                          .done = done,
                          .rows = w->scan.rows};
    return keyed(w)->copy_batch_end(w->session, &mark, &w->err);
}

/* After the source's COPY ended well: the next batch's start, and maybe the commit. A batch
 * shorter than its own LIMIT ended its range. */
static int end_batch(copy_worker *w, const pgh_copy_table *t, int table, int64_t range,
                     bool *done)
{
    *done = w->limit == 0 || w->scan.rows < (uint64_t)w->limit;
    int rc = 0;
    if (w->limit > 0 && w->scan.rows > 0)
        rc = remember_last_key(w, t);
    int64_t start = w->timing ? now_ns() : 0;
    if (rc == 0)
        rc = mark_batch(w, t, table, range, *done); /* may commit the destination */
    if (w->timing)
        w->write_ns += now_ns() - start;
    return rc;
}

/* At debug: the batch's rows, bytes, and where its time went. The source's share is the
 * batch's time outside the destination's copy_data (the statement, reading, scanning). */
static void log_batch(const copy_worker *w, const pgh_copy_table *t, int64_t range,
                      int64_t start_ns, bool done)
{
    char name[132];
    snprintf(name, sizeof(name), "%s.%s", t->src->schema, t->src->name);
    int64_t total = now_ns() - start_ns;
    pgh_log_at(PGH_LOG_DEBUG, "copy", name, 0,
               "batch of range %lld (worker %d): %llu rows of limit %lld, %llu bytes, source "
               "statement %.1f ms, source read %.1f ms, destination write %.1f ms%s",
               (long long)range, w->id, (unsigned long long)w->scan.rows, (long long)w->limit,
               (unsigned long long)w->scan.bytes, (double)w->statement_ns / 1e6,
               (double)(total - w->write_ns) / 1e6, (double)w->write_ns / 1e6,
               done ? "; range done" : "");
}

/* The pace's LIMIT, lowered so that the batch's COPY data stays within PGH_COPY_BATCH_BYTES
 * (with the pace's headroom for rows wider than the last batch's). */
static int64_t batch_limit(const copy_worker *w)
{
    if (w->row_bytes <= 0)
        return w->pace.limit;
    double most = PGH_BATCH_PACE_AIM * PGH_COPY_BATCH_BYTES / w->row_bytes;
    if (most < 1)
        return 1;
    return most < (double)w->pace.limit ? (int64_t)most : w->pace.limit;
}

/* Copy one batch; *done tells whether it ended its range. On failure everything since the
 * destination's last commit is abandoned. */
static int copy_batch(copy_worker *w, pgh_copy_table *t, int table, int64_t range,
                      const copy_bounds *b, bool paged, bool *done)
{
    w->timing = pgh_log_enabled(PGH_LOG_DEBUG);
    w->write_ns = 0;
    w->limit = paged ? batch_limit(w) : 0;
    int64_t start_ns = now_ns();
    pgh_copy_scan_dispose(&w->scan);
    int rc = pgh_copy_scan_init(&w->scan, t->format, t->src->nkeys);
    if (rc == 0)
        rc = start_batch(w, table, t, b);
    if (rc == 0) {
        rc = pump(w);
        if (rc != 0)
            abandon_source(w->src);
        else
            rc = pgh_conn_drain(w->src, &w->err, "copying from the source");
    }
    w->statement_ns = rc == 0 ? now_ns() - w->sent_ns : 0;
    if (rc == 0 && paged)
        pgh_batch_pace_update(&w->pace, w->limit, w->scan.rows, w->statement_ns);
    if (rc == 0 && w->scan.rows > 0)
        w->row_bytes = (double)w->scan.bytes / (double)w->scan.rows;
    if (rc == 0 && t->format == PGH_COPY_BINARY && !w->scan.trailer_seen)
        rc = pgh_error_set(&w->err, PGH_EPROTO, "the source's binary COPY ended without trailer");
    uint64_t rows = w->scan.rows;
    uint64_t bytes = w->scan.bytes;
    if (rc == 0)
        rc = end_batch(w, t, table, range, done);
    if (rc != 0) {
        keyed(w)->copy_abort(w->session, "pghost: copy batch abandoned");
        return rc;
    }
    if (w->timing)
        log_batch(w, t, range, start_ns, *done);
    atomic_fetch_add(&t->rows, rows);
    atomic_fetch_add(&t->bytes, bytes);
    atomic_fetch_add(&t->batches, 1);
    return 0;
}

/* A worker's first batch of a table starts from the table's row width (batch_pace.h). */
static void pace_table(copy_worker *w, int table)
{
    if (w->pace_table == table)
        return;
    const pgh_copy_opts *o = w->shared->opts;
    const pgh_table_info *src = w->shared->tables[table].src;
    w->row_bytes = pgh_batch_pace_row_bytes(src->reltuples, src->size_bytes);
    pgh_batch_pace_init(&w->pace, o->batch_rows, o->batch_max_ms, w->row_bytes);
    w->pace_table = table;
}

/* Copy one range in keyset batches until a short one; in integer-range mode without a time
 * target, as a single batch. */
static int copy_range(copy_worker *w, int table, int64_t range)
{
    copy_shared *sh = w->shared;
    pgh_copy_table *t = &sh->tables[table];
    copy_bounds b;
    pgh_copy__range_bounds(&b, &sh->plan.tables[table], range);
    bool paged = sh->opts->keyset || sh->opts->batch_max_ms > 0;
    pace_table(w, table);
    clear_after(w);
    /* An earlier run copied part of this range: go on after its last key. */
    const copy_progress *p = pgh_copy__progress(&sh->plan.tables[table], range);
    if (p && p->last_key && set_after(w, t->src->nkeys, (const char *const *)p->last_key) != 0)
        return w->err.code;
    for (bool done = false; !done;) {
        int rc = stopping(w) ? pgh_error_set(&w->err, PGH_ECANCELED, "copy canceled")
                             : copy_batch(w, t, table, range, &b, paged, &done);
        if (rc != 0) {
            keyed(w)->copy_abort(w->session, "pghost: copy canceled");
            if (strncmp(w->err.message, "copy of ", 8) != 0) /* ending a COPY names its table */
                pgh_error_prefix(&w->err, "copy of %s.%s", t->src->schema, t->src->name);
            return rc;
        }
    }
    atomic_fetch_add(&t->ranges_done, 1);
    return 0;
}

/* The source's connection opens in the background while the destination's session opens. */
static int open_worker_conns(copy_worker *w)
{
    const pgh_copy_opts *o = w->shared->opts;
    pgh_conn_opening *src = NULL;
    int rc = pgh_conn_open_start(&src, o->source_conninfo, PGH_CONN_SQL, "source", o->app_name,
                                 &w->err);
    if (rc != 0)
        return rc;
    rc = o->keyed->copy_open(o->user, &w->session, o->resumable, &w->err);
    if (rc != 0) {
        pgh_conn_open_cancel(src);
        return rc;
    }
    return pgh_conn_open_finish(&w->src, src, &w->err);
}

static void *worker_main(void *arg)
{
    copy_worker *w = arg;
    int rc = open_worker_conns(w);
    int table;
    int64_t range;
    while (rc == 0 && next_range(w->shared, &table, &range))
        rc = copy_range(w, table, range);
    /* The last rows of a plain copy are committed here; a resumable copy committed its range. */
    int64_t finish_ns = now_ns();
    if (rc == 0 && w->session)
        rc = keyed(w)->copy_finish(w->session, &w->err);
    if (rc == 0)
        pgh_log(PGH_LOG_DEBUG, "copy", "worker %d ended: no range left, final commit %.1f ms",
                w->id, (double)(now_ns() - finish_ns) / 1e6);
    if (rc != 0) {
        if (w->session)
            keyed(w)->copy_abort(w->session, "pghost: copy canceled");
        atomic_store(&w->shared->failed, 1);
    }
    pthread_mutex_lock(&w->shared->lock);
    w->shared->running--;
    pthread_cond_broadcast(&w->shared->ended);
    pthread_mutex_unlock(&w->shared->lock);
    return NULL;
}

static void worker_dispose(copy_worker *w)
{
    clear_after(w);
    pgh_copy_scan_dispose(&w->scan);
    pgh_buf_dispose(&w->sql);
    if (w->session)
        keyed(w)->copy_close(w->session);
    PQfinish(w->src);
}

/* Wait up to ms for every worker to end; true when they have. A worker ending wakes the wait
 * at once: the copy's end is not held up to the next progress call. */
static bool wait_ended(copy_shared *sh, int ms)
{
    struct timespec until = pgh_clock_deadline(CLOCK_MONOTONIC, ms);
    pthread_mutex_lock(&sh->lock);
    int rc = 0;
    while (sh->running > 0 && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&sh->ended, &sh->lock, &until);
    bool ended = sh->running == 0;
    pthread_mutex_unlock(&sh->lock);
    return ended;
}

/* Wait for the workers, calling the progress function about every progress_ms on the way. */
static void wait_workers(copy_shared *sh, pthread_t *threads, int n)
{
    const pgh_copy_opts *o = sh->opts;
    if (o->progress) {
        for (;;) {
            int done = 0;
            for (int t = 0; t < sh->ntables; t++)
                done += atomic_load(&sh->tables[t].ranges_done);
            int total = 0;
            for (int t = 0; t < sh->ntables; t++)
                total += atomic_load(&sh->tables[t].ranges_total);
            o->progress(sh->tables, sh->ntables, o->progress_payload);
            if (done >= total || atomic_load(&sh->failed) || (o->cancel && atomic_load(o->cancel)))
                break;
            if (wait_ended(sh, o->progress_ms > 0 ? o->progress_ms : 250))
                break;
        }
    }
    for (int i = 0; i < n; i++)
        pthread_join(threads[i], NULL);
    if (o->progress)
        o->progress(sh->tables, sh->ntables, o->progress_payload);
}

/* The first real failure among the workers (a cancel caused by another's failure ranks last). */
static int first_error(copy_worker *workers, int n, pgh_error *err)
{
    int pick = -1;
    for (int i = 0; i < n; i++) {
        if (workers[i].err.code == 0)
            continue;
        if (pick < 0 || (workers[pick].err.code == PGH_ECANCELED &&
                         workers[i].err.code != PGH_ECANCELED))
            pick = i;
    }
    if (pick < 0)
        return 0;
    if (err && err->code == 0)
        *err = workers[pick].err;
    return workers[pick].err.code;
}

int pgh_copy_run(pgh_copy_table *tables, int ntables, const pgh_copy_opts *opts, pgh_error *err)
{
    if (opts == NULL || opts->version != PGH_COPY_OPTS_VERSION)
        return pgh_error_set(err, PGH_ECONFIG,
                             "copy options of version %d, this library takes version %d: "
                             "initialise them with PGH_COPY_OPTS_INIT",
                             opts ? opts->version : -1, PGH_COPY_OPTS_VERSION);
    copy_shared sh = {.tables = tables, .ntables = ntables, .opts = opts};
    pthread_mutex_init(&sh.lock, NULL);
    pthread_condattr_t monotonic;
    pthread_condattr_init(&monotonic);
    pthread_condattr_setclock(&monotonic, CLOCK_MONOTONIC);
    pthread_cond_init(&sh.ended, &monotonic);
    pthread_condattr_destroy(&monotonic);
    PGconn *planner = NULL;
    int nworkers = opts->workers < 1 ? 1 : opts->workers;
    copy_worker *workers = calloc((size_t)nworkers, sizeof(*workers));
    pthread_t *threads = calloc((size_t)nworkers, sizeof(*threads));
    int started = 0;
    int rc = (workers && threads) ? 0 : pgh_error_set(err, PGH_ENOMEM, "out of memory");
    if (rc == 0)
        rc = pgh_conn_open(&planner, opts->source_conninfo, PGH_CONN_SQL, "source",
                           opts->app_name, err);
    if (rc == 0)
        rc = pgh_copy__plan(&sh.plan, planner, tables, ntables, opts, err);
    PQfinish(planner);
    for (int i = 0; rc == 0 && i < nworkers; i++) {
        workers[i].shared = &sh;
        workers[i].id = i;
        workers[i].pace_table = -1;
        pgh_buf_init(&workers[i].sql, 0);
        pthread_mutex_lock(&sh.lock);
        sh.running++;
        pthread_mutex_unlock(&sh.lock);
        if (pthread_create(&threads[i], NULL, worker_main, &workers[i]) != 0) {
            pthread_mutex_lock(&sh.lock);
            sh.running--;
            pthread_mutex_unlock(&sh.lock);
            rc = pgh_error_set(err, PGH_ENOMEM, "cannot start copy worker %d", i);
            atomic_store(&sh.failed, 1);
            break;
        }
        started++;
    }
    if (started > 0)
        wait_workers(&sh, threads, started);
    if (rc == 0)
        rc = first_error(workers, started, err);
    if (rc == 0 && opts->cancel && atomic_load(opts->cancel))
        rc = pgh_error_set(err, PGH_ECANCELED, "copy canceled");
    for (int i = 0; workers && i < started; i++)
        worker_dispose(&workers[i]);
    pgh_copy__plan_dispose(&sh.plan);
    pthread_cond_destroy(&sh.ended);
    pthread_mutex_destroy(&sh.lock);
    free(workers);
    free(threads);
    return rc;
}

pgh_copy_format pgh_copy_choose_format(const pgh_table_info *src, pgh_copy_format_choice choice)
{
    if (choice == PGH_COPY_FORMAT_TEXT)
        return PGH_COPY_TEXT;
    if (choice == PGH_COPY_FORMAT_BINARY)
        return PGH_COPY_BINARY;
    for (int i = 0; i < src->ncols; i++)
        if (!src->cols[i].generated && !src->cols[i].builtin_type)
            return PGH_COPY_TEXT;
    return PGH_COPY_BINARY;
}

int pgh_copy_table_init(pgh_copy_table *t, const pgh_table_info *src, const char *dest_table,
                        int table, pgh_copy_format format)
{
    memset(t, 0, sizeof(*t));
    t->src = src;
    t->dest_table = dest_table;
    t->table = table;
    t->format = format;
    t->columns = calloc((size_t)src->ncols + 1, sizeof(char *));
    if (t->columns == NULL)
        return PGH_ENOMEM;
    /* key columns first, in key order, then the rest in attnum order (as copy_sql.c reads) */
    for (int k = 0; k < src->nkeys; k++)
        t->columns[t->ncolumns++] = src->cols[src->key_cols[k]].name;
    for (int i = 0; i < src->ncols; i++)
        if (src->cols[i].key_position == 0 && !src->cols[i].generated)
            t->columns[t->ncolumns++] = src->cols[i].name;
    return 0;
}

void pgh_copy_table_dispose(pgh_copy_table *t)
{
    free(t->columns);
    t->columns = NULL;
    t->ncolumns = 0;
}
