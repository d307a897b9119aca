/*
 * Planning the copy: cut each table's key space into ranges that workers take one at a time.
 *
 * Keyset mode samples keys (TABLESAMPLE SYSTEM, one short query) and uses evenly spaced sample
 * keys as boundaries, so that ranges hold roughly equal numbers of rows. The boundaries only
 * balance the work: correctness comes from the ranges covering the whole key space.
 * Integer-range mode reads min and max of a single integer key and cuts fixed-width ranges.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "copy_internal.h"
#include "pghost/conn.h"
#include "pghost/log.h"

#define RANGES_PER_WORKER 4
#define SAMPLES_PER_RANGE 64

static double estimated_rows(const pgh_table_info *t)
{
    if (t->reltuples > 0)
        return t->reltuples;
    return (double)t->size_bytes / 100.0; /* never analyzed: assume 100-byte rows */
}

static int plan_arithmetic(copy_plan_table *pt, PGconn *conn, const pgh_copy_table *t,
                           int64_t batch_rows, pgh_error *err)
{
    pgh_buf sql;
    pgh_buf_init(&sql, 0);
    char *key = pgh_conn_ident(conn, t->src->cols[t->src->key_cols[0]].name);
    pgh_buf_printf(&sql, "SELECT min(%s)::int8, max(%s)::int8 FROM ONLY %s", key ? key : "",
                   key ? key : "", t->src->qualified);
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

static int take_bounds(copy_plan_table *pt, PGconn *conn, PGresult *res, int nkeys, int nranges,
                       pgh_error *err)
{
    int nsample = PQntuples(res);
    pt->bounds = calloc((size_t)nranges, sizeof(char **));
    if (pt->bounds == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory planning the copy");
    int prev = -1;
    for (int i = 1; i < nranges; i++) {
        int row = (int)((int64_t)i * nsample / nranges);
        if (row >= nsample || (prev >= 0 && same_row(res, prev, row, nkeys)))
            continue;
        char **lits = calloc((size_t)nkeys, sizeof(char *));
        if (lits == NULL)
            return pgh_error_set(err, PGH_ENOMEM, "out of memory planning the copy");
        pt->bounds[pt->nbounds++] = lits;
        for (int k = 0; k < nkeys; k++) {
            lits[k] = pgh_conn_literal(conn, PQgetvalue(res, row, k),
                                       (size_t)PQgetlength(res, row, k));
            if (lits[k] == NULL)
                return pgh_error_set(err, PGH_ENOMEM, "out of memory planning the copy");
        }
        prev = row;
    }
    pt->nranges = pt->nbounds + 1;
    return 0;
}

static int plan_sampled(copy_plan_table *pt, PGconn *conn, const pgh_copy_table *t,
                        const pgh_copy_opts *opts, pgh_error *err)
{
    double rows = estimated_rows(t->src);
    int max_ranges = opts->workers * RANGES_PER_WORKER;
    int nranges = (int)fmin((double)max_ranges, ceil(rows / (double)opts->batch_rows));
    pt->nranges = 1;
    if (opts->workers <= 1 || nranges <= 1)
        return 0;
    double pct = fmin(100.0, fmax(0.001, 100.0 * nranges * SAMPLES_PER_RANGE / rows));
    pgh_buf sql;
    pgh_buf_init(&sql, 0);
    pgh_buf_puts(&sql, "SELECT ");
    for (int k = 0; k < t->src->nkeys; k++) {
        char *q = pgh_conn_ident(conn, t->src->cols[t->src->key_cols[k]].name);
        pgh_buf_printf(&sql, "%s%s", k ? ", " : "", q ? q : "");
        free(q);
    }
    pgh_buf_printf(&sql, " FROM ONLY %s TABLESAMPLE SYSTEM (%.6f) ORDER BY ", t->src->qualified,
                   pct);
    for (int k = 0; k < t->src->nkeys; k++)
        pgh_buf_printf(&sql, "%s%d", k ? ", " : "", k + 1);
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, conn, pgh_buf_str(&sql), 0, NULL, err);
    pgh_buf_dispose(&sql);
    if (rc != 0)
        return rc;
    rc = take_bounds(pt, conn, res, t->src->nkeys, nranges, err);
    pgh_log(PGH_LOG_DEBUG, "copy", "%s.%s: %lld ranges from %d sampled keys", t->src->schema,
            t->src->name, (long long)pt->nranges, PQntuples(res));
    PQclear(res);
    return rc;
}

int pgh_copy__plan(copy_plan *plan, PGconn *conn, pgh_copy_table *tables, int ntables,
                   const pgh_copy_opts *opts, pgh_error *err)
{
    plan->ntables = ntables;
    plan->tables = calloc((size_t)(ntables ? ntables : 1), sizeof(*plan->tables));
    if (plan->tables == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory planning the copy");
    for (int i = 0; i < ntables; i++) {
        plan->tables[i].nkeys = tables[i].src->nkeys;
        int rc = opts->keyset ? plan_sampled(&plan->tables[i], conn, &tables[i], opts, err)
                              : plan_arithmetic(&plan->tables[i], conn, &tables[i],
                                                opts->batch_rows, err);
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
    for (int i = 0; plan->tables && i < plan->ntables; i++)
        free_bounds(plan->tables[i].bounds, plan->tables[i].nbounds, plan->tables[i].nkeys);
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
