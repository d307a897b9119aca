/*
 * Resumable copies: the plan and each range's progress, kept in <state_schema> on the
 * destination (tables copy_tables and copy_ranges, created by pgh_state_ensure).
 *
 * A batch's rows and its progress row are committed in one destination transaction, so after a
 * crash the progress says exactly which rows are there: the re-run skips finished ranges and
 * continues the others after their last recorded key. Boundaries and keys are stored as the
 * values' text; arrays go to the server in array-literal syntax, built here with every element
 * quoted and escaped, and come back one element per row (unnest).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "copy_internal.h"
#include "pghost/conn.h"

/* {"a","b\"c"}: PostgreSQL's array input syntax, every element quoted. */
static void put_array(pgh_buf *b, int n, const char *const *values)
{
    pgh_buf_putc(b, '{');
    for (int i = 0; i < n; i++) {
        pgh_buf_puts(b, i ? ",\"" : "\"");
        for (const char *p = values[i]; *p; p++) {
            if (*p == '"' || *p == '\\')
                pgh_buf_putc(b, '\\');
            pgh_buf_putc(b, *p);
        }
        pgh_buf_putc(b, '"');
    }
    pgh_buf_putc(b, '}');
}

static char *store_table(PGconn *dst, const pgh_copy_opts *opts, const char *name)
{
    return pgh_conn_qualified(dst, opts->state_schema, name);
}

static int exec_params(PGconn *dst, const char *sql, int n, const char *const *params,
                       pgh_error *err)
{
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, dst, sql, n, params, err);
    PQclear(res);
    return rc;
}

static int save_table(PGconn *dst, const char *table, const copy_plan_table *pt,
                      const pgh_copy_table *t, int index, const pgh_copy_opts *opts,
                      pgh_error *err)
{
    pgh_buf arr;
    pgh_buf_init(&arr, 0);
    pgh_buf_putc(&arr, '{');
    for (int i = 0; i < pt->nbounds; i++) {
        pgh_buf b;
        pgh_buf_init(&b, 0);
        put_array(&b, pt->nkeys, (const char *const *)pt->raw[i]);
        /* flatten: drop the braces of each boundary's array */
        pgh_buf_append(&arr, i ? "," : "", i ? 1 : 0);
        pgh_buf_append(&arr, b.data + 1, b.len - 2);
        pgh_buf_dispose(&b);
    }
    pgh_buf_putc(&arr, '}');
    char idx[16], min[32], width[32], nranges[32], nkeys[16];
    snprintf(idx, sizeof(idx), "%d", index);
    snprintf(min, sizeof(min), "%lld", (long long)pt->min);
    snprintf(width, sizeof(width), "%lld", (long long)pt->width);
    snprintf(nranges, sizeof(nranges), "%lld", (long long)pt->nranges);
    snprintf(nkeys, sizeof(nkeys), "%d", pt->nkeys);
    const char *params[9] = {opts->slot,  idx,     t->dst->qualified, pt->arithmetic ? "t" : "f",
                             min,         width,   nranges,           nkeys,
                             pgh_buf_str(&arr)};
    char sql[512];
    snprintf(sql, sizeof(sql),
             "INSERT INTO %s (slot_name, table_index, table_name, arithmetic, min_key, width, "
             "nranges, nkeys, bounds) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::text[])",
             table);
    int rc = pgh_buf_failed(&arr) ? pgh_error_set(err, PGH_ENOMEM, "out of memory")
                                  : exec_params(dst, sql, 9, params, err);
    pgh_buf_dispose(&arr);
    return rc;
}

int pgh_copy__store_save_plan(const copy_plan *plan, PGconn *dst, const pgh_copy_table *tables,
                              const pgh_copy_opts *opts, pgh_error *err)
{
    char *table = store_table(dst, opts, "copy_tables");
    if (table == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    char sql[512];
    snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE slot_name = $1", table);
    const char *params[1] = {opts->slot};
    int rc = pgh_conn_exec(dst, "BEGIN", err);
    if (rc == 0)
        rc = exec_params(dst, sql, 1, params, err);
    for (int i = 0; rc == 0 && i < plan->ntables; i++)
        rc = save_table(dst, table, &plan->tables[i], &tables[i], i, opts, err);
    if (rc == 0)
        rc = pgh_conn_exec(dst, "COMMIT", err);
    else
        pgh_conn_exec(dst, "ROLLBACK", NULL);
    free(table);
    if (rc != 0)
        pgh_error_prefix(err, "saving the copy plan");
    return rc;
}

int pgh_copy__store_batch(PGconn *dst, const pgh_copy_opts *opts, int table, int64_t range,
                          int nkeys, const char *const *last_key, bool done, pgh_error *err)
{
    char *t = store_table(dst, opts, "copy_ranges");
    if (t == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    pgh_buf arr;
    pgh_buf_init(&arr, 0);
    if (last_key)
        put_array(&arr, nkeys, last_key);
    char idx[16], rng[32], sql[512];
    snprintf(idx, sizeof(idx), "%d", table);
    snprintf(rng, sizeof(rng), "%lld", (long long)range);
    snprintf(sql, sizeof(sql),
             "INSERT INTO %s (slot_name, table_index, range_index, last_key, done) "
             "VALUES ($1, $2, $3, $4::text[], $5) ON CONFLICT (slot_name, table_index, "
             "range_index) DO UPDATE SET last_key = excluded.last_key, done = excluded.done",
             t);
    free(t);
    const char *params[5] = {opts->slot, idx, rng, last_key ? pgh_buf_str(&arr) : NULL,
                             done ? "t" : "f"};
    int rc = pgh_buf_failed(&arr) ? pgh_error_set(err, PGH_ENOMEM, "out of memory")
                                  : exec_params(dst, sql, 5, params, err);
    pgh_buf_dispose(&arr);
    return rc;
}

/* The saved tables must be the run's tables, in the same order. */
static int load_tables(copy_plan *plan, bool *found, PGconn *dst, const char *table,
                       const pgh_copy_table *tables, int ntables, const pgh_copy_opts *opts,
                       pgh_error *err)
{
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT table_index, table_name, arithmetic, min_key, width, nranges, nkeys "
             "FROM %s WHERE slot_name = $1 ORDER BY table_index",
             table);
    const char *params[1] = {opts->slot};
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, dst, sql, 1, params, err);
    if (rc != 0)
        return rc;
    int n = PQntuples(res);
    *found = n > 0;
    for (int i = 0; rc == 0 && i < n; i++) {
        int idx = atoi(PQgetvalue(res, i, 0));
        if (n != ntables || idx != i || strcmp(PQgetvalue(res, i, 1), tables[i].dst->qualified))
            rc = pgh_error_set(err, PGH_EPRECOND,
                               "the interrupted copy of slot %s was of other tables: run pghost "
                               "teardown, then start over",
                               opts->slot);
        copy_plan_table *pt = &plan->tables[i < ntables ? i : 0];
        pt->arithmetic = PQgetvalue(res, i, 2)[0] == 't';
        pt->min = strtoll(PQgetvalue(res, i, 3), NULL, 10);
        pt->width = strtoll(PQgetvalue(res, i, 4), NULL, 10);
        pt->nranges = strtoll(PQgetvalue(res, i, 5), NULL, 10);
        pt->nkeys = atoi(PQgetvalue(res, i, 6));
    }
    PQclear(res);
    return rc;
}

static int load_bounds(copy_plan *plan, PGconn *dst, PGconn *src, const char *table,
                       const pgh_copy_opts *opts, pgh_error *err)
{
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT t.table_index, u.v FROM %s t, unnest(t.bounds) WITH ORDINALITY AS u(v, ord) "
             "WHERE t.slot_name = $1 ORDER BY t.table_index, u.ord",
             table);
    const char *params[1] = {opts->slot};
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, dst, sql, 1, params, err);
    const char *values[PGH_COPY_MAX_KEYS];
    int have = 0;
    for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
        copy_plan_table *pt = &plan->tables[atoi(PQgetvalue(res, i, 0))];
        values[have++] = PQgetvalue(res, i, 1);
        if (have == pt->nkeys) {
            rc = pgh_copy__add_bound(pt, src, values, err);
            have = 0;
        }
    }
    PQclear(res);
    return rc;
}

static int add_progress(copy_plan_table *pt, int64_t range, bool done, pgh_error *err)
{
    copy_progress *p = realloc(pt->progress, (size_t)(pt->nprogress + 1) * sizeof(*p));
    if (p == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    pt->progress = p;
    p[pt->nprogress] = (copy_progress){.range = range, .done = done};
    pt->nprogress++;
    return 0;
}

/* One row per key value (ordered), or one row with a NULL value for a range without a key. */
static int load_progress(copy_plan *plan, PGconn *dst, const char *table,
                         const pgh_copy_opts *opts, pgh_error *err)
{
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT r.table_index, r.range_index, r.done, u.v, u.ord FROM %s r "
             "LEFT JOIN LATERAL unnest(r.last_key) WITH ORDINALITY AS u(v, ord) ON true "
             "WHERE r.slot_name = $1 ORDER BY r.table_index, r.range_index, u.ord",
             table);
    const char *params[1] = {opts->slot};
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, dst, sql, 1, params, err);
    for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
        copy_plan_table *pt = &plan->tables[atoi(PQgetvalue(res, i, 0))];
        int64_t range = strtoll(PQgetvalue(res, i, 1), NULL, 10);
        copy_progress *last = pt->nprogress ? &pt->progress[pt->nprogress - 1] : NULL;
        if (last == NULL || last->range != range) {
            rc = add_progress(pt, range, PQgetvalue(res, i, 2)[0] == 't', err);
            last = rc == 0 ? &pt->progress[pt->nprogress - 1] : NULL;
        }
        if (rc != 0 || PQgetisnull(res, i, 3))
            continue;
        if (last->last_key == NULL)
            last->last_key = calloc((size_t)pt->nkeys, sizeof(char *));
        int k = atoi(PQgetvalue(res, i, 4)) - 1;
        if (last->last_key == NULL || k < 0 || k >= pt->nkeys)
            rc = pgh_error_set(err, PGH_EPROTO, "copy progress of slot %s is damaged", opts->slot);
        else
            last->last_key[k] = strdup(PQgetvalue(res, i, 3));
    }
    PQclear(res);
    return rc;
}

int pgh_copy__store_load(copy_plan *plan, bool *found, PGconn *dst, PGconn *src,
                         const pgh_copy_table *tables, int ntables, const pgh_copy_opts *opts,
                         pgh_error *err)
{
    *found = false;
    char *t_tables = store_table(dst, opts, "copy_tables");
    char *t_ranges = store_table(dst, opts, "copy_ranges");
    int rc = (t_tables && t_ranges) ? 0 : pgh_error_set(err, PGH_ENOMEM, "out of memory");
    if (rc == 0)
        rc = load_tables(plan, found, dst, t_tables, tables, ntables, opts, err);
    if (rc == 0 && *found)
        rc = load_bounds(plan, dst, src, t_tables, opts, err);
    if (rc == 0 && *found)
        rc = load_progress(plan, dst, t_ranges, opts, err);
    free(t_tables);
    free(t_ranges);
    if (rc != 0)
        pgh_error_prefix(err, "reading the interrupted copy's progress");
    return rc;
}
