/*
 * The CLI's metrics registry: the run's counters, the copy's rows per table, the slot's
 * retained WAL, and their Prometheus text (see metrics.h for the endpoints).
 */
#include "metrics.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http.h"
#include "pg/conn.h"
#include "pg/slot.h"
#include "util/clock.h"
#include "util/prom.h"

#define MAX_TABLES 4096 /* tables (copy units) counted; beyond, a table is not shown */

typedef struct table_count {
    char name[132];
    uint64_t rows;
    uint64_t bytes;
} table_count;

struct pgh_cli_metrics {
    pgh_pipeline_stats stats; /* updated by the run's threads */
    pgh_verify_stats verify;  /* updated by pghost verify's workers */
    bool verifying;           /* a verify run: render verify's families (metrics_verify.c) */
    pthread_mutex_t lock;     /* guards tables and ntables */
    table_count *tables;      /* owned, ntables entries */
    int ntables;
    pgh_gauge slot_retained;   /* bytes; -1: unknown, or no slot */
    const char *slot_conninfo; /* borrowed */
    const char *slot;          /* borrowed */
    pthread_t sampler;
    bool sampler_started;
    atomic_int stop;
    pthread_mutex_t stop_lock; /* with stop_cond: wakes the sampler's nap at a stop */
    pthread_cond_t stop_cond;
    pgh_cli_http *http; /* owned: http.c */
};

/* metrics_verify.c: verify's families, and the errors, phase and readiness families every run
 * has */
void pgh_cli_metrics__render_verify(pgh_buf *b, pgh_verify_stats *v, bool ready);
void pgh_cli_metrics__render_status(pgh_buf *b, pgh_counter *errors, int64_t phase, bool ready);

pgh_cli_metrics *pgh_cli_metrics_new(const char *slot_conninfo, const char *slot)
{
    pgh_cli_metrics *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return NULL;
    pthread_mutex_init(&m->lock, NULL);
    pthread_mutex_init(&m->stop_lock, NULL);
    pthread_condattr_t monotonic;
    pthread_condattr_init(&monotonic);
    pthread_condattr_setclock(&monotonic, CLOCK_MONOTONIC);
    pthread_cond_init(&m->stop_cond, &monotonic);
    pthread_condattr_destroy(&monotonic);
    atomic_store(&m->slot_retained, -1);
    m->slot_conninfo = slot_conninfo;
    m->slot = slot;
    return m;
}

void pgh_cli_metrics_free(pgh_cli_metrics *m)
{
    if (m == NULL)
        return;
    pgh_cli_http_stop(m->http);
    pthread_mutex_lock(&m->stop_lock);
    atomic_store(&m->stop, 1);
    pthread_cond_broadcast(&m->stop_cond);
    pthread_mutex_unlock(&m->stop_lock);
    if (m->sampler_started)
        pthread_join(m->sampler, NULL);
    pthread_cond_destroy(&m->stop_cond);
    pthread_mutex_destroy(&m->stop_lock);
    pthread_mutex_destroy(&m->lock);
    free(m->tables);
    free(m);
}

pgh_pipeline_stats *pgh_cli_metrics_stats(pgh_cli_metrics *m)
{
    return m ? &m->stats : NULL;
}

pgh_verify_stats *pgh_cli_metrics_verify(pgh_cli_metrics *m)
{
    if (m == NULL)
        return NULL;
    m->verifying = true;
    return &m->verify;
}

/* Sleep up to ms, woken at once by a stop (the run's exit joins this thread); false once
 * stopping. */
static bool nap(pgh_cli_metrics *m, int ms)
{
    struct timespec until = pgh_clock_deadline(CLOCK_MONOTONIC, ms);
    pthread_mutex_lock(&m->stop_lock);
    int rc = 0;
    while (!atomic_load(&m->stop) && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&m->stop_cond, &m->stop_lock, &until);
    pthread_mutex_unlock(&m->stop_lock);
    return !atomic_load(&m->stop);
}

/* The side thread: the slot's retained WAL every PGH_CLI_SLOT_POLL_MS, reconnecting as needed
 * (a source down shows as the last value until it is back; errors are the run's to report). */
static void *sample_slot(void *arg)
{
    pgh_cli_metrics *m = arg;
    PGconn *conn = NULL;
    do {
        pgh_error err;
        pgh_error_clear(&err);
        if (conn == NULL && pgh_conn_open(&conn, m->slot_conninfo, PGH_CONN_SQL, "source",
                                          "pghost metrics", &err) != 0) {
            PQfinish(conn);
            conn = NULL;
            continue;
        }
        pgh_slot_usage u;
        if (pgh_slot_usage_read(&u, conn, m->slot, &err) == 0) {
            atomic_store(&m->slot_retained, u.exists ? u.retained_bytes : -1);
        } else {
            PQfinish(conn);
            conn = NULL;
        }
    } while (nap(m, PGH_CLI_SLOT_POLL_MS));
    PQfinish(conn);
    return NULL;
}

static void http_render(void *m, pgh_buf *out)
{
    pgh_cli_metrics_render(m, out);
}

static bool http_ready(void *m)
{
    return pgh_cli_metrics_ready(m);
}

/* The HTTP server's thread and the sampler are started with SIGINT and SIGTERM blocked, so
 * that a stop signal always reaches the thread running the pipeline and cuts its wait short
 * (pgh_stream_next) instead of landing in a side thread. */
int pgh_cli_metrics_serve(pgh_cli_metrics *m, const char *addr)
{
    const pgh_cli_http_handlers handlers = {http_render, http_ready, m};
    sigset_t stops, before;
    sigemptyset(&stops);
    sigaddset(&stops, SIGINT);
    sigaddset(&stops, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stops, &before);
    int rc = pgh_cli_http_start(&m->http, &handlers, addr) != 0 ? -1 : 0;
    if (rc == 0 && m->slot_conninfo && m->slot &&
        pthread_create(&m->sampler, NULL, sample_slot, m) == 0)
        m->sampler_started = true;
    pthread_sigmask(SIG_SETMASK, &before, NULL);
    return rc;
}

void pgh_cli_metrics_table(pgh_cli_metrics *m, const char *table, uint64_t rows, uint64_t bytes)
{
    if (m == NULL)
        return;
    pthread_mutex_lock(&m->lock);
    int i = 0;
    while (i < m->ntables && strcmp(m->tables[i].name, table) != 0)
        i++;
    if (i == m->ntables && m->ntables < MAX_TABLES) {
        table_count *t = realloc(m->tables, (size_t)(m->ntables + 1) * sizeof(*t));
        if (t) {
            m->tables = t;
            memset(&t[i], 0, sizeof(t[i]));
            snprintf(t[i].name, sizeof(t[i].name), "%s", table);
            m->ntables++;
        }
    }
    if (i < m->ntables) {
        if (rows > m->tables[i].rows)
            m->tables[i].rows = rows;
        if (bytes > m->tables[i].bytes)
            m->tables[i].bytes = bytes;
    }
    pthread_mutex_unlock(&m->lock);
}

bool pgh_cli_metrics_ready(pgh_cli_metrics *m)
{
    int64_t phase = atomic_load(m->verifying ? &m->verify.phase : &m->stats.phase);
    return atomic_load(&m->stats.reconnecting) == 0 && phase != PGH_PHASE_STARTING &&
           phase != PGH_PHASE_FAILED;
}

static double load(pgh_counter *c)
{
    return (double)atomic_load_explicit(c, memory_order_relaxed);
}

static void render_tables(pgh_cli_metrics *m, pgh_buf *b)
{
    pthread_mutex_lock(&m->lock);
    pgh_prom_family(b, "pghost_rows_copied_total", "counter",
                    "Rows of the existing data copied to the destination, per source table.");
    for (int i = 0; i < m->ntables; i++) {
        const char *l[2] = {"table", m->tables[i].name};
        pgh_prom_sample(b, "pghost_rows_copied_total", l, 1, (double)m->tables[i].rows);
    }
    pgh_prom_family(b, "pghost_bytes_copied_total", "counter",
                    "Bytes of the existing data read from the source, per source table.");
    for (int i = 0; i < m->ntables; i++) {
        const char *l[2] = {"table", m->tables[i].name};
        pgh_prom_sample(b, "pghost_bytes_copied_total", l, 1, (double)m->tables[i].bytes);
    }
    pthread_mutex_unlock(&m->lock);
}

static void render_changes(pgh_cli_metrics *m, pgh_buf *b)
{
    static const char *kinds[PGH_STATS_NCHANGES] = {"insert", "update", "delete", "truncate"};
    pgh_prom_family(b, "pghost_changes_applied_total", "counter",
                    "Row changes from the replication slot handed to the destination, by kind.");
    for (int k = 0; k < PGH_STATS_NCHANGES; k++) {
        const char *l[2] = {"kind", kinds[k]};
        pgh_prom_sample(b, "pghost_changes_applied_total", l, 1, load(&m->stats.changes[k]));
    }
    pgh_prom_family(b, "pghost_transactions_applied_total", "counter",
                    "Source transactions handed to the destination.");
    pgh_prom_sample(b, "pghost_transactions_applied_total", NULL, 0, load(&m->stats.transactions));
    pgh_prom_family(b, "pghost_missing_rows_skipped_total", "counter",
                    "UPDATEs and DELETEs skipped while following because their row was missing "
                    "on the destination (on_missing_row: skip), per destination table.");
    uint64_t n = atomic_load_explicit(&m->stats.nmissing, memory_order_acquire);
    for (uint64_t i = 0; i < n && i < PGH_STATS_MAX_TABLES; i++) {
        const char *l[2] = {"table", m->stats.missing[i].table};
        pgh_prom_sample(b, "pghost_missing_rows_skipped_total", l, 1,
                        load(&m->stats.missing[i].count));
    }
}

static void render_lag(pgh_cli_metrics *m, pgh_buf *b)
{
    uint64_t applied = atomic_load(&m->stats.applied_lsn);
    uint64_t received = atomic_load(&m->stats.received_lsn);
    int64_t commit_us = atomic_load(&m->stats.commit_time_us);
    double lag_bytes = received > applied && applied ? (double)(received - applied) : 0;
    double lag_s = 0;
    if (lag_bytes > 0 && commit_us > 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        lag_s = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 - (double)commit_us / 1e6;
        lag_s = lag_s < 0 ? 0 : lag_s;
    }
    pgh_prom_family(b, "pghost_apply_lag_bytes", "gauge",
                    "WAL between the source's position the stream reported and the end of the "
                    "last transaction applied.");
    pgh_prom_sample(b, "pghost_apply_lag_bytes", NULL, 0, lag_bytes);
    pgh_prom_family(b, "pghost_apply_lag_seconds", "gauge",
                    "Age of the last applied source transaction's commit while more is pending; "
                    "0 when caught up.");
    pgh_prom_sample(b, "pghost_apply_lag_seconds", NULL, 0, lag_s);
    pgh_prom_family(b, "pghost_applied_lsn_bytes", "gauge",
                    "End of the last source transaction applied, as a WAL byte position.");
    pgh_prom_sample(b, "pghost_applied_lsn_bytes", NULL, 0, (double)applied);
    int64_t retained = atomic_load(&m->slot_retained);
    if (retained < 0)
        return;
    pgh_prom_family(b, "pghost_slot_retained_wal_bytes", "gauge",
                    "WAL the replication slot keeps on the source (current WAL position minus "
                    "restart_lsn), read every 5 s.");
    pgh_prom_sample(b, "pghost_slot_retained_wal_bytes", NULL, 0, (double)retained);
}

static void render_health(pgh_cli_metrics *m, pgh_buf *b)
{
    pgh_prom_family(b, "pghost_reconnects_total", "counter",
                    "Streaming sessions started again after a lost connection.");
    pgh_prom_sample(b, "pghost_reconnects_total", NULL, 0, load(&m->stats.reconnects));
    pgh_cli_metrics__render_status(b, m->stats.errors, atomic_load(&m->stats.phase),
                                   pgh_cli_metrics_ready(m));
}

void pgh_cli_metrics_render(pgh_cli_metrics *m, pgh_buf *b)
{
    if (m->verifying) {
        pgh_cli_metrics__render_verify(b, &m->verify, pgh_cli_metrics_ready(m));
        return;
    }
    render_tables(m, b);
    render_changes(m, b);
    render_lag(m, b);
    render_health(m, b);
}
