/*
 * Planning the copy: cut each table's key space into ranges that workers take one at a time.
 *
 * Keyset mode samples keys (TABLESAMPLE SYSTEM, one short query) and uses the sample keys at
 * the cut points of copy_taper.h as boundaries, so that ranges hold the shares of rows it asks
 * for, shrinking towards the end (the watermarked snapshot's chunks: evenly spaced). The
 * boundaries only balance the work: correctness comes from the ranges covering the whole key
 * space.
 * Integer-range mode reads min and max of a single integer key and cuts fixed-width ranges.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "copy_internal.h"
#include "pg/conn.h"
#include "pg/sql.h"
#include "pghost/log.h"
#include "source/copy_taper.h"

#define RANGES_PER_WORKER 4
#define SAMPLES_PER_RANGE 64
/* TABLESAMPLE SYSTEM picks whole pages: 64 rows per range can be one or two pages, or none
 * (then one range, one busy worker), and one page's keys are adjacent, so one page per range
 * skews the ranges badly. The copy's plan samples at least this many pages per range on
 * average. (pgh_copy_sample_bounds, the watermarked snapshot's planner, keeps sampling by rows
 * only: its chunks are bounded anyway, and its behaviour is left as it was.) */
#define PAGES_PER_RANGE 32
#define PAGE_BYTES 8192.0

static double estimated_rows(const pgh_table_info *t)
{
    if (t->reltuples > 0)
        return t->reltuples;
    return (double)t->size_bytes / 100.0; /* never analyzed: assume 100-byte rows */
}

/* The percentage of the table's pages to sample for nranges ranges, at least pages_per_range
 * pages per range (0: by rows only). */
static double sample_percent(const pgh_table_info *t, int nranges, int pages_per_range)
{
    double by_rows = 100.0 * nranges * SAMPLES_PER_RANGE / estimated_rows(t);
    double pages = (double)t->size_bytes / PAGE_BYTES;
    double by_pages = pages >= 1.0 ? 100.0 * nranges * pages_per_range / pages : 100.0;
    if (pages_per_range <= 0)
        by_pages = 0;
    return fmin(100.0, fmax(0.001, fmax(by_rows, by_pages)));
}

static int plan_arithmetic(copy_plan_table *pt, PGconn *conn, const pgh_copy_table *t,
                           int64_t batch_rows, pgh_error *err)
{
    pgh_buf sql;
    pgh_buf_init(&sql, 0);
    char *key = pgh_conn_ident(conn, t->src->cols[t->src->key_cols[0]].name);
    pgh_buf_printf(&sql, "SELECT min(%s)::int8, max(%s)::int8 FROM ", key ? key : "",
                   key ? key : "");
    pgh_pg_put_read_from(&sql, t->src);
    pgh_pg_put_read_filter(&sql, t->src);
    free(key);
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, conn, pgh_buf_str(&sql), 0, NULL, err);
    pgh_buf_dispose(&sql);
    if (rc != 0)
        return rc;
    pt->arithmetic = true;
    pt->width = batch_rows;
    if (PQgetisnull(res, 0, 0)) {
        pt->min = 0;
        pt->nranges = 1; /* empty table: one open range */
    } else {
        long long lo = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        long long hi = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        pt->min = lo;
        /* (hi - lo) / width + 1 ranges; computed in double to stay clear of overflow */
        double n = floor(((double)hi - (double)lo) / (double)batch_rows) + 1;
        pt->nranges = n > 1e9 ? 1000000000 : (int64_t)n;
    }
    PQclear(res);
    return 0;
}

static void free_bounds(char ***bounds, int n, int nkeys)
{
    if (bounds == NULL)
        return;
    for (int i = 0; i < n; i++) {
        for (int k = 0; bounds[i] && k < nkeys; k++)
            free(bounds[i][k]);
        free(bounds[i]);
    }
    free(bounds);
}

/* Two sample rows equal in every key column? */
static bool same_row(PGresult *res, int a, int b, int nkeys)
{
    for (int k = 0; k < nkeys; k++)
        if (strcmp(PQgetvalue(res, a, k), PQgetvalue(res, b, k)) != 0)
            return false;
    return true;
}

int pgh_copy__add_bound(copy_plan_table *pt, PGconn *conn, const char *const *values,
                        pgh_error *err)
{
    if (pt->nbounds == pt->bounds_cap) {
        int cap = pt->bounds_cap ? pt->bounds_cap * 2 : 16;
        char ***b = realloc(pt->bounds, (size_t)cap * sizeof(*b));
        if (b == NULL)
            return pgh_error_set(err, PGH_ENOMEM, "out of memory planning the copy");
        pt->bounds = b;
        char ***r = realloc(pt->raw, (size_t)cap * sizeof(*r));
        if (r == NULL)
            return pgh_error_set(err, PGH_ENOMEM, "out of memory planning the copy");
        pt->raw = r;
        pt->bounds_cap = cap;
    }
    char **lits = calloc((size_t)pt->nkeys, sizeof(char *));
    char **raw = calloc((size_t)pt->nkeys, sizeof(char *));
    pt->bounds[pt->nbounds] = lits;
    pt->raw[pt->nbounds] = raw;
    pt->nbounds++;
    if (lits == NULL || raw == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory planning the copy");
    for (int k = 0; k < pt->nkeys; k++) {
        lits[k] = pgh_conn_literal(conn, values[k], strlen(values[k]));
        raw[k] = strdup(values[k]);
        if (lits[k] == NULL || raw[k] == NULL)
            return pgh_error_set(err, PGH_ENOMEM, "out of memory planning the copy");
    }
    pt->nranges = pt->nbounds + 1;
    return 0;
}

/* The sample keys at the cut points (shares of the sample, ascending) become the boundaries;
 * a cut landing on the key of the previous one is left out. */
static int take_bounds(copy_plan_table *pt, PGconn *conn, PGresult *res, int nkeys,
                       const double *cuts, int ncuts, pgh_error *err)
{
    int nsample = PQntuples(res);
    int prev = -1;
    for (int i = 0; i < ncuts; i++) {
        int row = (int)(cuts[i] * nsample);
        if (row >= nsample || row <= prev || (prev >= 0 && same_row(res, prev, row, nkeys)))
            continue;
        const char *values[PGH_COPY_MAX_KEYS];
        for (int k = 0; k < nkeys; k++)
            values[k] = PQgetvalue(res, row, k);
        int rc = pgh_copy__add_bound(pt, conn, values, err);
        if (rc != 0)
            return rc;
        prev = row;
    }
    pt->nranges = pt->nbounds + 1;
    return 0;
}

const copy_progress *pgh_copy__progress(const copy_plan_table *pt, int64_t range)
{
    int lo = 0;
    int hi = pt->nprogress - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (pt->progress[mid].range == range)
            return &pt->progress[mid];
        if (pt->progress[mid].range < range)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return NULL;
}

/* The cut points of a table's ranges as shares of its rows; returns how many (ranges - 1).
 * A table of at most one batch is one range. Tapered (copy_taper.h): the copy's ranges, the
 * smallest a quarter of a batch at least. Otherwise up to RANGES_PER_WORKER equal ranges per
 * worker, none smaller than a batch (the watermarked snapshot's chunks). */
static int range_cuts(double *cuts, const pgh_copy_table *t, const pgh_copy_opts *opts,
                      bool taper)
{
    double rows = estimated_rows(t->src);
    double max_ranges =
        fmin((double)opts->workers * RANGES_PER_WORKER, PGH_COPY_TAPER_MAX_CUTS + 1);
    int nranges = (int)fmin(max_ranges, ceil(rows / (double)opts->batch_rows));
    if (opts->workers <= 1 || nranges <= 1)
        return 0;
    if (taper)
        return pgh_copy_taper_cuts(
            cuts, PGH_COPY_TAPER_MAX_CUTS, opts->workers,
            pgh_copy_taper_min_share(opts->workers, rows, (double)opts->batch_rows / 4));
    for (int i = 1; i < nranges; i++)
        cuts[i - 1] = (double)i / nranges;
    return nranges - 1;
}

static int plan_sampled(copy_plan_table *pt, PGconn *conn, const pgh_copy_table *t,
                        const pgh_copy_opts *opts, int pages_per_range, bool taper,
                        pgh_error *err)
{
    double cuts[PGH_COPY_TAPER_MAX_CUTS];
    int ncuts = range_cuts(cuts, t, opts, taper);
    pt->nranges = 1;
    if (ncuts == 0)
        return 0;
    double pct = sample_percent(t->src, ncuts + 1, pages_per_range);
    pgh_buf sql;
    pgh_buf_init(&sql, 0);
    pgh_buf_puts(&sql, "SELECT ");
    for (int k = 0; k < t->src->nkeys; k++) {
        char *q = pgh_conn_ident(conn, t->src->cols[t->src->key_cols[k]].name);
        pgh_buf_printf(&sql, "%s%s", k ? ", " : "", q ? q : "");
        free(q);
    }
    pgh_buf_puts(&sql, " FROM ");
    pgh_pg_put_read_from(&sql, t->src);
    pgh_buf_printf(&sql, " TABLESAMPLE SYSTEM (%.6f)", pct);
    pgh_pg_put_read_filter(&sql, t->src);
    pgh_buf_puts(&sql, " ORDER BY ");
    for (int k = 0; k < t->src->nkeys; k++)
        pgh_buf_printf(&sql, "%s%d", k ? ", " : "", k + 1);
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, conn, pgh_buf_str(&sql), 0, NULL, err);
    pgh_buf_dispose(&sql);
    if (rc != 0)
        return rc;
    rc = take_bounds(pt, conn, res, t->src->nkeys, cuts, ncuts, err);
    pgh_log(PGH_LOG_DEBUG, "copy", "%s.%s: %lld ranges from %d sampled keys", t->src->schema,
            t->src->name, (long long)pt->nranges, PQntuples(res));
    PQclear(res);
    return rc;
}

static int plan_tables(copy_plan *plan, PGconn *conn, pgh_copy_table *tables, int ntables,
                       const pgh_copy_opts *opts, pgh_error *err);

/* Ranges an earlier run finished count as done from the start. */
static void count_resumed(const copy_plan *plan, pgh_copy_table *tables)
{
    for (int i = 0; i < plan->ntables; i++) {
        int done = 0;
        for (int p = 0; p < plan->tables[i].nprogress; p++)
            done += plan->tables[i].progress[p].done;
        atomic_store(&tables[i].ranges_total, (int)plan->tables[i].nranges);
        atomic_store(&tables[i].ranges_done, done);
    }
}

/* A plan saved by an earlier run, read back into plan (state/copy_progress.c). */
typedef struct plan_loader {
    copy_plan *plan;
    PGconn *src;                  /* borrowed: quotes the bounds as literals */
    const pgh_copy_table *tables; /* borrowed: the run's units, which the plan must be of */
    int ntables;
    const char *slot;
} plan_loader;

static int load_table(void *payload, int index, const pgh_copy_plan_unit *t, pgh_error *err)
{
    plan_loader *l = payload;
    if (index >= l->ntables || strcmp(t->dest_table, l->tables[index].dest_table) != 0 ||
        t->nkeys != l->tables[index].src->nkeys)
        return pgh_error_set(err, PGH_EPRECOND,
                             "the interrupted copy of slot %s was of other tables: run pghost "
                             "teardown, then start over",
                             l->slot);
    copy_plan_table *pt = &l->plan->tables[index];
    pt->arithmetic = t->arithmetic;
    pt->min = t->min;
    pt->width = t->width;
    pt->nranges = t->nranges;
    pt->nkeys = t->nkeys;
    return 0;
}

static int load_bound(void *payload, int table, const char *const *values, pgh_error *err)
{
    plan_loader *l = payload;
    return pgh_copy__add_bound(&l->plan->tables[table], l->src, values, err);
}

static int load_range(void *payload, int table, int64_t range, bool done,
                      const char *const *last_key, pgh_error *err)
{
    plan_loader *l = payload;
    copy_plan_table *pt = &l->plan->tables[table];
    copy_progress *p = realloc(pt->progress, (size_t)(pt->nprogress + 1) * sizeof(*p));
    if (p == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    pt->progress = p;
    p = &p[pt->nprogress++];
    *p = (copy_progress){.range = range, .done = done};
    if (last_key == NULL)
        return 0;
    p->last_key = calloc((size_t)pt->nkeys, sizeof(char *));
    for (int k = 0; p->last_key && k < pt->nkeys; k++)
        if ((p->last_key[k] = strdup(last_key[k])) == NULL)
            return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    return p->last_key ? 0 : pgh_error_set(err, PGH_ENOMEM, "out of memory");
}

static int load_plan(copy_plan *plan, bool *found, PGconn *src, const pgh_copy_table *tables,
                     int ntables, const pgh_copy_opts *opts, pgh_error *err)
{
    plan_loader l = {plan, src, tables, ntables, opts->slot};
    pgh_copy_plan_reader r = {load_table, load_bound, load_range, &l};
    int rc = opts->keyed->plan_load(opts->user, found, &r, err);
    if (rc == 0 && *found && plan->ntables > 0) {
        /* every unit must have been saved: a plan of fewer tables is another run's */
        bool all = true;
        for (int i = 0; i < ntables; i++)
            all = all && plan->tables[i].nranges > 0;
        if (!all)
            rc = pgh_error_set(err, PGH_EPRECOND,
                               "the interrupted copy of slot %s was of other tables: run "
                               "pghost teardown, then start over",
                               opts->slot);
    }
    return rc;
}

static int save_plan(const copy_plan *plan, const pgh_copy_table *tables,
                     const pgh_copy_opts *opts, pgh_error *err)
{
    pgh_copy_plan_unit *st = calloc((size_t)plan->ntables + 1, sizeof(*st));
    if (st == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    for (int i = 0; i < plan->ntables; i++) {
        const copy_plan_table *pt = &plan->tables[i];
        st[i] = (pgh_copy_plan_unit){.dest_table = tables[i].dest_table,
                                       .arithmetic = pt->arithmetic, .min = pt->min,
                                       .width = pt->width, .nranges = pt->nranges,
                                       .nkeys = pt->nkeys, .nbounds = pt->nbounds,
                                       .bounds = (char *const *const *)pt->raw};
    }
    int rc = opts->keyed->plan_save(opts->user, st, plan->ntables, err);
    free(st);
    return rc;
}

/* At debug, one record per table: its key, ranges and their bounds, batch size, workers.
 * Column names only: the bounds are key values, which may be private. */
static void log_plan(const copy_plan *plan, const pgh_copy_table *tables, const pgh_copy_opts *opts,
                     bool resumed)
{
    if (!pgh_log_enabled(PGH_LOG_DEBUG))
        return;
    for (int i = 0; i < plan->ntables; i++) {
        const pgh_table_info *src = tables[i].src;
        const copy_plan_table *pt = &plan->tables[i];
        char name[132];
        char key[256] = "";
        snprintf(name, sizeof(name), "%s.%s", src->schema, src->name);
        for (int k = 0, off = 0; k < src->nkeys && off < (int)sizeof(key); k++)
            off += snprintf(key + off, sizeof(key) - (size_t)off, "%s%s", k ? ", " : "",
                            src->cols[src->key_cols[k]].name);
        int done = 0;
        for (int p = 0; p < pt->nprogress; p++)
            done += pt->progress[p].done;
        pgh_log_at(PGH_LOG_DEBUG, "copy", name, 0,
                   "copy plan: key (%s), %lld ranges (%s, %d bounds), batch %lld rows, %d "
                   "workers, %s format; %s, %d ranges done, %d started",
                   key, (long long)pt->nranges, pt->arithmetic ? "integer ranges" : "keyset",
                   pt->nbounds, (long long)opts->batch_rows, opts->workers,
                   tables[i].format == PGH_COPY_BINARY ? "binary" : "text",
                   resumed ? "resumed" : "new", done, pt->nprogress - done);
    }
}

int pgh_copy__plan(copy_plan *plan, PGconn *conn, pgh_copy_table *tables, int ntables,
                   const pgh_copy_opts *opts, pgh_error *err)
{
    plan->ntables = ntables;
    plan->tables = calloc((size_t)(ntables ? ntables : 1), sizeof(*plan->tables));
    if (plan->tables == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory planning the copy");
    for (int i = 0; i < ntables; i++)
        plan->tables[i].nkeys = tables[i].src->nkeys;
    bool found = false;
    int rc = opts->resumable ? load_plan(plan, &found, conn, tables, ntables, opts, err) : 0;
    if (rc != 0 || found) {
        if (found)
            pgh_log(PGH_LOG_INFO, "copy", "resuming the interrupted copy of slot %s",
                    opts->slot);
        count_resumed(plan, tables);
        if (rc == 0)
            log_plan(plan, tables, opts, found);
        return rc;
    }
    rc = plan_tables(plan, conn, tables, ntables, opts, err);
    if (rc == 0 && opts->resumable)
        rc = save_plan(plan, tables, opts, err);
    if (rc == 0)
        log_plan(plan, tables, opts, false);
    return rc;
}

static int plan_tables(copy_plan *plan, PGconn *conn, pgh_copy_table *tables, int ntables,
                       const pgh_copy_opts *opts, pgh_error *err)
{
    for (int i = 0; i < ntables; i++) {
        int rc = opts->keyset
                     ? plan_sampled(&plan->tables[i], conn, &tables[i], opts, PAGES_PER_RANGE, true, err)
                     : plan_arithmetic(&plan->tables[i], conn, &tables[i], opts->batch_rows, err);
        if (rc != 0) {
            pgh_error_prefix(err, "planning the copy of %s.%s", tables[i].src->schema,
                             tables[i].src->name);
            return rc;
        }
        atomic_store(&tables[i].ranges_total, (int)plan->tables[i].nranges);
    }
    return 0;
}

void pgh_copy__plan_dispose(copy_plan *plan)
{
    for (int i = 0; plan->tables && i < plan->ntables; i++) {
        copy_plan_table *pt = &plan->tables[i];
        free_bounds(pt->bounds, pt->nbounds, pt->nkeys);
        free_bounds(pt->raw, pt->nbounds, pt->nkeys);
        for (int p = 0; p < pt->nprogress; p++) {
            for (int k = 0; pt->progress[p].last_key && k < pt->nkeys; k++)
                free(pt->progress[p].last_key[k]);
            free(pt->progress[p].last_key);
        }
        free(pt->progress);
    }
    free(plan->tables);
    plan->tables = NULL;
    plan->ntables = 0;
}

/* lo + n * width, or false when it does not fit in int64 (then the bound is open). */
static bool range_edge(int64_t *out, int64_t lo, int64_t n, int64_t width)
{
    int64_t step;
    if (__builtin_mul_overflow(n, width, &step))
        return false;
    return !__builtin_add_overflow(lo, step, out);
}

void pgh_copy__range_bounds(copy_bounds *out, const copy_plan_table *pt, int64_t index)
{
    out->lo = NULL;
    out->hi = NULL;
    if (pt->arithmetic) {
        int64_t edge;
        if (index > 0 && range_edge(&edge, pt->min, index, pt->width)) {
            snprintf(out->lo_buf, sizeof(out->lo_buf), "'%lld'", (long long)edge);
            out->lo_one[0] = out->lo_buf;
            out->lo = out->lo_one;
        }
        if (index < pt->nranges - 1 && range_edge(&edge, pt->min, index + 1, pt->width)) {
            snprintf(out->hi_buf, sizeof(out->hi_buf), "'%lld'", (long long)edge);
            out->hi_one[0] = out->hi_buf;
            out->hi = out->hi_one;
        }
        return;
    }
    if (index > 0)
        out->lo = pt->bounds[index - 1];
    if (index < pt->nbounds)
        out->hi = pt->bounds[index];
}

int pgh_copy_sample_bounds(char ****out, int *nbounds, PGconn *conn, const pgh_table_info *src,
                           int workers, int64_t batch_rows, pgh_error *err)
{
    *out = NULL;
    *nbounds = 0;
    pgh_copy_table t = {.src = src};
    pgh_copy_opts opts = PGH_COPY_OPTS_INIT;
    opts.workers = workers;
    opts.batch_rows = batch_rows;
    copy_plan_table pt = {.nkeys = src->nkeys};
    int rc = plan_sampled(&pt, conn, &t, &opts, 0, false, err);
    free_bounds(pt.bounds, pt.nbounds, pt.nkeys);
    if (rc != 0) {
        free_bounds(pt.raw, pt.nbounds, pt.nkeys);
        return rc;
    }
    *out = pt.raw;
    *nbounds = pt.nbounds;
    return 0;
}

void pgh_copy_bounds_free(char ***bounds, int nbounds, int nkeys)
{
    free_bounds(bounds, nbounds, nkeys);
}
