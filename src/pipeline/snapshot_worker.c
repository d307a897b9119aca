/*
 * The chunk workers of the existing rows (snapshot.h): plan a table's key ranges, then per
 * chunk write the low watermark, wait for the transactions running then, select the chunk,
 * write the high watermark and hand the rows to the stream thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"
#include "pg/sql.h"
#include "pghost/log.h"
#include "snapshot.h"
#include "source/copy.h"
#include "util/clock.h"

#define WAIT_FIRST_MS 1
#define WAIT_MAX_MS 50

typedef struct worker {
    snapshot *s;     /* borrowed */
    PGconn *conn;    /* owned */
    pgh_buf sql;     /* owned */
    pgh_error err;
} worker;

int pgh_snapshot__emit(PGconn *conn, const snapshot *s, const char *what, uint64_t id,
                       pgh_error *err)
{
    char content[160];
    snprintf(content, sizeof(content), "%s %s %s %llu", s->r->cfg->slot_name, s->run_id, what,
             (unsigned long long)id);
    const char *params[2] = {PGH_SNAPSHOT_PREFIX, content};
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, conn, "SELECT pg_catalog.pg_logical_emit_message(true, $1, $2)",
                            2, params, err);
    PQclear(res);
    if (rc != 0)
        pgh_error_prefix(err, "writing a watermark");
    return rc;
}

/* Step 2 of snapshot.h: every transaction in progress now (after L committed) has ended. */
static int wait_running(worker *w)
{
    char snap[8192];
    int rc = pgh_pg_query_text(snap, sizeof(snap), w->conn,
                               "SELECT pg_catalog.pg_current_snapshot()::text", 0, NULL, &w->err);
    const char *params[1] = {snap};
    for (int ms = WAIT_FIRST_MS; rc == 0; ms = ms * 2 > WAIT_MAX_MS ? WAIT_MAX_MS : ms * 2) {
        char left[32];
        rc = pgh_pg_query_text(left, sizeof(left), w->conn,
                               "SELECT count(*) FROM pg_catalog.pg_snapshot_xip($1::pg_snapshot) x "
                               "WHERE pg_catalog.pg_xact_status(x) = 'in progress'",
                               1, params, &w->err);
        if (rc != 0 || strcmp(left, "0") == 0)
            return rc;
        if (w->s->stopping)
            return pgh_error_set(&w->err, PGH_ECANCELED, "existing rows canceled");
        pgh_sleep_ms(ms);
    }
    return rc;
}

static void put_ident(pgh_buf *b, PGconn *conn, const char *name, const char *before)
{
    char *q = pgh_conn_ident(conn, name);
    if (q == NULL) {
        b->failed = true;
        return;
    }
    pgh_buf_printf(b, "%s%s", before, q);
    free(q);
}

/* "(k1, k2) > ($1, $2)" with parameters numbered from *next. */
static void put_cond(pgh_buf *b, PGconn *conn, const snap_table *t, const char *op, int *next)
{
    pgh_buf_puts(b, " AND (");
    for (int k = 0; k < t->nkeys; k++)
        put_ident(b, conn, t->rel.cols[t->key_att[k]].name, k ? ", " : "");
    pgh_buf_printf(b, ") %s (", op);
    for (int k = 0; k < t->nkeys; k++)
        pgh_buf_printf(b, "%s$%d", k ? ", " : "", (*next)++);
    pgh_buf_puts(b, ")");
}

/* SELECT <columns> FROM ONLY t WHERE true [AND (<row filter>)] [AND key > after | AND key >=
 * lo] [AND key < hi] ORDER BY key LIMIT n; values go as parameters typed by their columns. */
static int select_chunk(worker *w, const snap_table *t, const snap_range *rg, int64_t limit,
                        PGresult **out)
{
    PGconn *c = w->conn;
    pgh_buf *b = &w->sql;
    const char *values[64];
    Oid types[64];
    int next = 1;
    pgh_buf_reset(b);
    pgh_buf_puts(b, "SELECT ");
    for (int a = 0; a < t->rel.ncols; a++)
        put_ident(b, c, t->rel.cols[a].name, a ? ", " : "");
    pgh_buf_printf(b, " FROM %s%s WHERE true", pgh_pg_only(t->info), t->info->qualified);
    if (t->info->row_filter) /* the publication's, deparsed by the server */
        pgh_buf_printf(b, " AND (%s)", t->info->row_filter);
    char *const *from = rg->sel_after ? rg->sel_after : rg->lo;
    for (int pass = 0; pass < 2; pass++) {
        char *const *keys = pass == 0 ? from : rg->hi;
        if (keys == NULL)
            continue;
        for (int k = 0; k < t->nkeys; k++) {
            values[next - 1 + k] = keys[k];
            types[next - 1 + k] = t->rel.cols[t->key_att[k]].type_oid;
        }
        put_cond(b, c, t, pass ? "<" : (rg->sel_after ? ">" : ">="), &next);
    }
    pgh_buf_puts(b, " ORDER BY ");
    for (int k = 0; k < t->nkeys; k++)
        put_ident(b, c, t->rel.cols[t->key_att[k]].name, k ? ", " : "");
    pgh_buf_printf(b, " LIMIT %lld", (long long)limit);
    if (pgh_buf_failed(b))
        return pgh_error_set(&w->err, PGH_ENOMEM, "out of memory");
    PGresult *res = PQexecParams(c, pgh_buf_str(b), next - 1, types, values, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        int rc = pgh_conn_error(&w->err, c, res, "reading existing rows");
        PQclear(res);
        return rc;
    }
    *out = res;
    return 0;
}

/* The last row's key texts of a chunk; NULL (and *none) when it is empty. */
static char **last_key(const snap_table *t, PGresult *rows, bool *none)
{
    int n = PQntuples(rows);
    *none = n == 0;
    if (n == 0)
        return NULL;
    const char *keys[32];
    for (int k = 0; k < t->nkeys; k++)
        keys[k] = PQgetvalue(rows, n - 1, t->key_att[k]);
    return pgh_snapshot__keys_dup(keys, t->nkeys);
}

/* At debug: the chunk's rows against its limit, and its select's time. */
static void log_chunk(const snap_table *t, const snap_chunk *ch, int rows, int64_t select_ns,
                      bool last)
{
    if (!pgh_log_enabled(PGH_LOG_DEBUG))
        return;
    char name[132];
    snprintf(name, sizeof(name), "%s.%s", t->info->schema, t->info->name);
    pgh_log_at(PGH_LOG_DEBUG, "snapshot", name, 0,
               "chunk %llu of range %d: %d rows of limit %lld, select %.1f ms%s",
               (unsigned long long)ch->id, ch->range, rows, (long long)ch->limit,
               (double)select_ns / 1e6, last ? "; range done" : "");
}

/* One chunk, registered by the caller: L, wait, select, H, hand over. */
static int do_chunk(worker *w, snap_chunk *ch)
{
    snapshot *s = w->s;
    snap_table *t = &s->tables[ch->table];
    snap_range *rg = &t->ranges[ch->range];
    PGresult *rows = NULL;
    int rc = pgh_snapshot__emit(w->conn, s, "low", ch->id, &w->err);
    if (rc == 0)
        rc = wait_running(w);
    int64_t start_ns = pgh_clock_ns();
    if (rc == 0)
        rc = select_chunk(w, t, rg, ch->limit, &rows);
    int64_t select_ns = pgh_clock_ns() - start_ns;
    if (rc == 0)
        rc = pgh_snapshot__emit(w->conn, s, "high", ch->id, &w->err);
    bool none = true;
    char **key = rc == 0 ? last_key(t, rows, &none) : NULL;
    if (rc == 0 && !none && key == NULL)
        rc = pgh_error_set(&w->err, PGH_ENOMEM, "out of memory");
    bool last = rc == 0 && PQntuples(rows) < ch->limit;
    if (rc == 0)
        log_chunk(t, ch, PQntuples(rows), select_ns, last);
    pthread_mutex_lock(&s->lock);
    if (rc == 0)
        pgh_batch_pace_update(&t->pace, ch->limit, (uint64_t)PQntuples(rows), select_ns);
    ch->ready = true;
    ch->err_code = rc;
    ch->rows = rows;
    ch->last = last;
    ch->last_key = key;
    if (rc == 0 && key) {
        pgh_snapshot__keys_free(rg->sel_after, t->nkeys);
        rg->sel_after = pgh_snapshot__keys_dup((const char *const *)key, t->nkeys);
        if (rg->sel_after == NULL)
            ch->err_code = rc = pgh_error_set(&w->err, PGH_ENOMEM, "out of memory");
    }
    rg->sel_done = rg->sel_done || last;
    rg->busy = false;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* Sample the table's key ranges (outside the lock), then publish them. */
static int plan(worker *w, snap_table *t)
{
    snapshot *s = w->s;
    const pgh_config *cfg = s->r->cfg;
    char ***bounds = NULL;
    int n = 0;
    int rc = pgh_copy_sample_bounds(&bounds, &n, w->conn, t->info, cfg->copy_worker_count,
                                    cfg->copy_batch_size, &w->err);
    snap_range *ranges = rc == 0 ? calloc((size_t)n + 1, sizeof(*ranges)) : NULL;
    if (rc == 0 && ranges == NULL)
        rc = pgh_error_set(&w->err, PGH_ENOMEM, "out of memory");
    for (int i = 0; rc == 0 && i <= n; i++) {
        ranges[i].lo = i > 0 ? pgh_snapshot__keys_dup((const char *const *)bounds[i - 1],
                                                      t->nkeys)
                             : NULL;
        ranges[i].hi = i < n ? pgh_snapshot__keys_dup((const char *const *)bounds[i], t->nkeys)
                             : NULL;
        if ((i > 0 && ranges[i].lo == NULL) || (i < n && ranges[i].hi == NULL))
            rc = pgh_error_set(&w->err, PGH_ENOMEM, "out of memory");
    }
    pgh_copy_bounds_free(bounds, n, t->nkeys);
    pthread_mutex_lock(&s->lock);
    t->planning = false;
    if (rc == 0) {
        t->ranges = ranges;
        t->nranges = n + 1;
        t->planned = true;
        s->token_stale = true;
    }
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
    if (rc != 0 && ranges) {
        for (int i = 0; i <= n; i++) {
            pgh_snapshot__keys_free(ranges[i].lo, t->nkeys);
            pgh_snapshot__keys_free(ranges[i].hi, t->nkeys);
        }
        free(ranges);
    }
    return rc;
}

/* What a worker does next, found under the lock. */
typedef struct job {
    snap_table *plan;   /* a table to plan */
    snap_chunk *chunk;  /* a chunk to read */
} job;

/* A table's first chunk starts from its row width (batch_pace.h); under the lock. */
static void pace_table(snapshot *s, snap_table *t)
{
    if (t->pace.max_rows > 0)
        return;
    const pgh_config *cfg = s->r->cfg;
    int64_t most = cfg->copy_batch_size < SNAPSHOT_CHUNK_MAX_ROWS ? cfg->copy_batch_size
                                                                   : SNAPSHOT_CHUNK_MAX_ROWS;
    pgh_batch_pace_init(&t->pace, most, (int)cfg->copy_batch_max_ms,
                        pgh_batch_pace_row_bytes(t->info->reltuples, t->info->size_bytes));
}

static snap_chunk *new_chunk(snapshot *s, int table, int range)
{
    snap_chunk *ch = calloc(1, sizeof(*ch));
    if (ch == NULL)
        return NULL;
    pace_table(s, &s->tables[table]);
    ch->id = ++s->next_chunk;
    ch->table = table;
    ch->range = range;
    ch->limit = s->tables[table].pace.limit;
    pgh_strset_init(&ch->keys);
    ch->next = s->chunks;
    s->chunks = ch;
    s->outstanding++;
    s->tables[table].in_flight++;
    s->tables[table].ranges[range].busy = true;
    return ch;
}

static bool find_job(snapshot *s, job *j, bool *nomem)
{
    for (int t = 0; t < s->ntables; t++) {
        snap_table *tb = &s->tables[t];
        if (tb->state == SNAP_DONE || tb->info == NULL)
            continue;
        if (!tb->planned) {
            if (tb->planning)
                continue;
            tb->planning = true;
            j->plan = tb;
            return true;
        }
        for (int r = 0; r < tb->nranges && s->outstanding < s->max_outstanding; r++) {
            snap_range *rg = &tb->ranges[r];
            if (rg->done || rg->sel_done || rg->busy)
                continue;
            j->chunk = new_chunk(s, t, r);
            *nomem = j->chunk == NULL;
            return j->chunk != NULL;
        }
    }
    return false;
}

/* Wait for work; false when stopping. */
static bool next_job(snapshot *s, job *j, pgh_error *err)
{
    memset(j, 0, sizeof(*j));
    pthread_mutex_lock(&s->lock);
    bool nomem = false;
    while (!s->stopping && !find_job(s, j, &nomem) && !nomem) {
        struct timespec until = pgh_clock_deadline(CLOCK_REALTIME, 100);
        pthread_cond_timedwait(&s->changed, &s->lock, &until);
    }
    bool go = !s->stopping && !nomem;
    pthread_mutex_unlock(&s->lock);
    if (nomem)
        pgh_error_set(err, PGH_ENOMEM, "out of memory");
    return go;
}

static void fail(worker *w)
{
    snapshot *s = w->s;
    pthread_mutex_lock(&s->lock);
    if (s->worker_err.code == 0 && w->err.code != PGH_ECANCELED)
        s->worker_err = w->err;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
}

void *pgh_snapshot__worker_main(void *arg)
{
    worker w = {.s = arg};
    pgh_buf_init(&w.sql, 1 << 20);
    int rc = pgh_conn_open(&w.conn, w.s->r->cfg->source_connection, PGH_CONN_SQL, "source",
                           "pghost snapshot", &w.err);
    job j;
    while (rc == 0 && next_job(w.s, &j, &w.err))
        rc = j.plan ? plan(&w, j.plan) : do_chunk(&w, j.chunk);
    if (rc != 0 || w.err.code != 0)
        fail(&w);
    pgh_buf_dispose(&w.sql);
    PQfinish(w.conn);
    return NULL;
}
