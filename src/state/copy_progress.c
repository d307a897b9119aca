/*
 * A resumable copy's plan and each range's progress, kept in <state_schema> on the destination
 * (tables copy_tables and copy_ranges, created by pgh_state_ensure): see state.h.
 *
 * A batch's rows and its progress row are committed in one destination transaction, so after a
 * crash the progress says exactly which rows are there: the re-run skips finished ranges and
 * continues the others after their last recorded key. Boundaries and keys are stored as the
 * values' text; arrays go to the server in array-literal syntax, built here with every element
 * quoted and escaped, and come back one element per row (unnest).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"
#include "state/state.h"
#include "util/buf.h"

#define MAX_KEYS 32 /* key columns of a table, as the copy allows (PGH_COPY_MAX_KEYS) */

/* {"a","b\"c"}: PostgreSQL's array input syntax, every element quoted. */
static void put_elements(pgh_buf *b, int n, const char *const *values)
{
    for (int i = 0; i < n; i++) {
        pgh_buf_puts(b, i ? ",\"" : "\"");
        for (const char *p = values[i]; *p; p++) {
            if (*p == '"' || *p == '\\')
                pgh_buf_putc(b, '\\');
            pgh_buf_putc(b, *p);
        }
        pgh_buf_putc(b, '"');
    }
}

static int exec_params(PGconn *dst, const char *sql, int n, const char *const *params,
                       pgh_error *err)
{
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, dst, sql, n, params, err);
    PQclear(res);
    return rc;
}

/* A checked integer from a row of pghost's own table `table` (quoted, for the message) into
 * *out: a value that is NULL, empty, not all digits or out of range is PGH_EPROTO, never 0. */
static int int_field(int64_t *out, PGresult *res, int row, int col, const char *table,
                     pgh_error *err)
{
    const char *v = PQgetvalue(res, row, col);
    char *end = NULL;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    *out = 0;
    if (PQgetisnull(res, row, col) || end == v || *end != '\0' || errno == ERANGE)
        return pgh_error_set(err, PGH_EPROTO,
                             "%s holds \"%.40s\" in column %s, not an integer: the state is "
                             "damaged; run pghost teardown and start the sync again",
                             table, v, PQfname(res, col));
    *out = n;
    return 0;
}

/* int_field for a nullable column (min_key, width of a sampled plan): NULL reads as 0. */
static int int_field_or_null(int64_t *out, PGresult *res, int row, int col, const char *table,
                             pgh_error *err)
{
    *out = 0;
    return PQgetisnull(res, row, col) ? 0 : int_field(out, res, row, col, table, err);
}

static int save_table(PGconn *dst, const char *table, const char *slot, int index,
                      const pgh_state_copy_table *t, pgh_error *err)
{
    pgh_buf arr;
    pgh_buf_init(&arr, 0);
    pgh_buf_putc(&arr, '{');
    for (int i = 0; i < t->nbounds; i++) {
        pgh_buf_append(&arr, i ? "," : "", i ? 1 : 0);
        put_elements(&arr, t->nkeys, (const char *const *)t->bounds[i]);
    }
    pgh_buf_putc(&arr, '}');
    char idx[16], min[32], width[32], nranges[32], nkeys[16];
    snprintf(idx, sizeof(idx), "%d", index);
    snprintf(min, sizeof(min), "%lld", (long long)t->min);
    snprintf(width, sizeof(width), "%lld", (long long)t->width);
    snprintf(nranges, sizeof(nranges), "%lld", (long long)t->nranges);
    snprintf(nkeys, sizeof(nkeys), "%d", t->nkeys);
    const char *params[9] = {slot,  idx,     t->dest_table, t->arithmetic ? "t" : "f", min,
                             width, nranges, nkeys,         pgh_buf_str(&arr)};
    pgh_buf sql;
    pgh_buf_init(&sql, 0);
    pgh_buf_printf(&sql,
                   "INSERT INTO %s (slot_name, table_index, table_name, arithmetic, min_key, "
                   "width, nranges, nkeys, bounds) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
                   "$9::text[])",
                   table);
    int rc = pgh_buf_failed(&arr) || pgh_buf_failed(&sql)
                 ? pgh_error_set(err, PGH_ENOMEM, "out of memory")
                 : exec_params(dst, pgh_buf_str(&sql), 9, params, err);
    pgh_buf_dispose(&sql);
    pgh_buf_dispose(&arr);
    return rc;
}

int pgh_state_copy_plan_save(PGconn *dst, const char *schema, const char *slot,
                             const pgh_state_copy_table *tables, int n, pgh_error *err)
{
    char *table = pgh_conn_qualified(dst, schema, "copy_tables");
    if (table == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    pgh_buf sql;
    pgh_buf_init(&sql, 0);
    pgh_buf_printf(&sql, "DELETE FROM %s WHERE slot_name = $1", table);
    int rc = pgh_conn_exec(dst, "BEGIN", err);
    if (rc == 0)
        rc = exec_params(dst, pgh_buf_str(&sql), 1, &slot, err);
    for (int i = 0; rc == 0 && i < n; i++)
        rc = save_table(dst, table, slot, i, &tables[i], err);
    if (rc == 0)
        rc = pgh_conn_exec(dst, "COMMIT", err);
    else
        pgh_conn_exec(dst, "ROLLBACK", NULL);
    pgh_buf_dispose(&sql);
    free(table);
    if (rc != 0)
        pgh_error_prefix(err, "saving the copy plan");
    return rc;
}

int pgh_state_copy_range_save(PGconn *dst, const char *schema, const char *slot, int table,
                              int64_t range, int nkeys, const char *const *last_key, bool done,
                              uint64_t rows, pgh_error *err)
{
    char *t = pgh_conn_qualified(dst, schema, "copy_ranges");
    if (t == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    pgh_buf arr;
    pgh_buf_init(&arr, 0);
    pgh_buf_putc(&arr, '{');
    if (last_key)
        put_elements(&arr, nkeys, last_key);
    pgh_buf_putc(&arr, '}');
    pgh_buf sql;
    pgh_buf_init(&sql, 0);
    pgh_buf_printf(&sql,
                   "INSERT INTO %s AS r (slot_name, table_index, range_index, last_key, done, "
                   "rows_copied) VALUES ($1, $2, $3, $4::text[], $5, $6) ON CONFLICT (slot_name, "
                   "table_index, range_index) DO UPDATE SET last_key = excluded.last_key, done = "
                   "excluded.done, rows_copied = r.rows_copied + excluded.rows_copied",
                   t);
    free(t);
    char idx[16], rng[32], nrows[32];
    snprintf(idx, sizeof(idx), "%d", table);
    snprintf(rng, sizeof(rng), "%lld", (long long)range);
    snprintf(nrows, sizeof(nrows), "%llu", (unsigned long long)rows);
    const char *params[6] = {slot, idx, rng, last_key ? pgh_buf_str(&arr) : NULL, done ? "t" : "f",
                             nrows};
    int rc = pgh_buf_failed(&arr) || pgh_buf_failed(&sql)
                 ? pgh_error_set(err, PGH_ENOMEM, "out of memory")
                 : exec_params(dst, pgh_buf_str(&sql), 6, params, err);
    pgh_buf_dispose(&sql);
    pgh_buf_dispose(&arr);
    return rc;
}

/* Row i of copy_tables (table_index, table_name, arithmetic, min_key, width, nranges, nkeys)
 * to the reader; its key count into *nkeys. */
static int table_row(int *nkeys, PGresult *res, int i, const char *table, const char *slot,
                     const pgh_state_copy_reader *r, pgh_error *err)
{
    pgh_state_copy_table t = {.dest_table = PQgetvalue(res, i, 1),
                              .arithmetic = PQgetvalue(res, i, 2)[0] == 't'};
    int64_t index = 0, keys = 0;
    int rc = int_field(&index, res, i, 0, table, err);
    if (rc == 0)
        rc = int_field_or_null(&t.min, res, i, 3, table, err);
    if (rc == 0)
        rc = int_field_or_null(&t.width, res, i, 4, table, err);
    if (rc == 0)
        rc = int_field(&t.nranges, res, i, 5, table, err);
    if (rc == 0)
        rc = int_field(&keys, res, i, 6, table, err);
    if (rc != 0)
        return rc;
    if (index != i || keys < 1 || keys > MAX_KEYS)
        return pgh_error_set(err, PGH_EPROTO, "the copy plan of slot %s is damaged", slot);
    t.nkeys = (int)keys;
    *nkeys = t.nkeys;
    return r->table(r->payload, i, &t, err);
}

/* The saved tables, in order; *ntables is 0 when no plan was saved. nkeys gets each table's
 * key count (at most MAX_KEYS tables are remembered there; more fail as damaged). */
static int load_tables(int *ntables, int **nkeys, PGconn *dst, const char *table, const char *slot,
                       const pgh_state_copy_reader *r, pgh_error *err)
{
    pgh_buf sql;
    pgh_buf_init(&sql, 0);
    pgh_buf_printf(&sql,
                   "SELECT table_index, table_name, arithmetic, min_key, width, nranges, nkeys "
                   "FROM %s WHERE slot_name = $1 ORDER BY table_index",
                   table);
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, dst, pgh_buf_str(&sql), 1, &slot, err);
    pgh_buf_dispose(&sql);
    int n = rc == 0 ? PQntuples(res) : 0;
    *ntables = n;
    *nkeys = calloc((size_t)n + 1, sizeof(int));
    if (rc == 0 && *nkeys == NULL)
        rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
    for (int i = 0; rc == 0 && i < n; i++) {
        rc = table_row(&(*nkeys)[i], res, i, table, slot, r, err);
    }
    PQclear(res);
    return rc;
}

static int load_bounds(PGconn *dst, const char *table, const char *slot, int ntables,
                       const int *nkeys, const pgh_state_copy_reader *r, pgh_error *err)
{
    pgh_buf sql;
    pgh_buf_init(&sql, 0);
    pgh_buf_printf(&sql,
                   "SELECT t.table_index, u.v FROM %s t, unnest(t.bounds) WITH ORDINALITY AS "
                   "u(v, ord) WHERE t.slot_name = $1 ORDER BY t.table_index, u.ord",
                   table);
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, dst, pgh_buf_str(&sql), 1, &slot, err);
    pgh_buf_dispose(&sql);
    const char *values[MAX_KEYS];
    int have = 0;
    for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
        int64_t t = 0;
        rc = int_field(&t, res, i, 0, table, err);
        if (rc == 0 && (t < 0 || t >= ntables))
            rc = pgh_error_set(err, PGH_EPROTO, "the copy plan of slot %s is damaged", slot);
        if (rc != 0)
            break;
        values[have++] = PQgetvalue(res, i, 1);
        if (have == nkeys[t]) {
            rc = r->bound(r->payload, (int)t, values, err);
            have = 0;
        }
    }
    PQclear(res);
    return rc;
}

/* Hand one finished or started range to the reader. */
static int emit_range(const pgh_state_copy_reader *r, int table, int64_t range, bool done,
                      const char *const *key, int have, int nkeys, const char *slot, pgh_error *err)
{
    if (have != 0 && have != nkeys)
        return pgh_error_set(err, PGH_EPROTO, "copy progress of slot %s is damaged", slot);
    return r->range(r->payload, table, range, done, have ? key : NULL, err);
}

/* One row per key value (ordered), or one row with a NULL value for a range without a key. */
static int load_ranges(PGconn *dst, const char *table, const char *slot, int ntables,
                       const int *nkeys, const pgh_state_copy_reader *r, pgh_error *err)
{
    pgh_buf sql;
    pgh_buf_init(&sql, 0);
    pgh_buf_printf(&sql,
                   "SELECT r.table_index, r.range_index, r.done, u.v FROM %s r "
                   "LEFT JOIN LATERAL unnest(r.last_key) WITH ORDINALITY AS u(v, ord) ON true "
                   "WHERE r.slot_name = $1 ORDER BY r.table_index, r.range_index, u.ord",
                   table);
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, dst, pgh_buf_str(&sql), 1, &slot, err);
    pgh_buf_dispose(&sql);
    const char *key[MAX_KEYS];
    int have = 0;
    int64_t cur_table = -1, cur_range = -1;
    bool cur_done = false;
    for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
        int64_t t = 0, range = 0;
        rc = int_field(&t, res, i, 0, table, err);
        if (rc == 0)
            rc = int_field(&range, res, i, 1, table, err);
        if (rc == 0 && (t < 0 || t >= ntables))
            rc = pgh_error_set(err, PGH_EPROTO, "copy progress of slot %s is damaged", slot);
        if (rc != 0)
            break;
        if (t != cur_table || range != cur_range) {
            if (cur_table >= 0)
                rc = emit_range(r, (int)cur_table, cur_range, cur_done, key, have, nkeys[cur_table],
                                slot, err);
            cur_table = t;
            cur_range = range;
            cur_done = PQgetvalue(res, i, 2)[0] == 't';
            have = 0;
        }
        if (rc == 0 && !PQgetisnull(res, i, 3)) {
            if (have >= nkeys[t])
                rc = pgh_error_set(err, PGH_EPROTO, "copy progress of slot %s is damaged", slot);
            else
                key[have++] = PQgetvalue(res, i, 3);
        }
    }
    if (rc == 0 && cur_table >= 0)
        rc = emit_range(r, (int)cur_table, cur_range, cur_done, key, have, nkeys[cur_table], slot,
                        err);
    PQclear(res);
    return rc;
}

int pgh_state_copy_plan_load(bool *found, PGconn *dst, const char *schema, const char *slot,
                             const pgh_state_copy_reader *r, pgh_error *err)
{
    *found = false;
    char *t_tables = pgh_conn_qualified(dst, schema, "copy_tables");
    char *t_ranges = pgh_conn_qualified(dst, schema, "copy_ranges");
    int *nkeys = NULL;
    int ntables = 0;
    int rc = (t_tables && t_ranges) ? 0 : pgh_error_set(err, PGH_ENOMEM, "out of memory");
    if (rc == 0)
        rc = load_tables(&ntables, &nkeys, dst, t_tables, slot, r, err);
    *found = rc == 0 && ntables > 0;
    if (rc == 0 && *found)
        rc = load_bounds(dst, t_tables, slot, ntables, nkeys, r, err);
    if (rc == 0 && *found)
        rc = load_ranges(dst, t_ranges, slot, ntables, nkeys, r, err);
    free(nkeys);
    free(t_tables);
    free(t_ranges);
    if (rc != 0)
        pgh_error_prefix(err, "reading the interrupted copy's progress");
    return rc;
}

int pgh_state_copy_status(PGconn *dst, const char *schema, const char *slot,
                          pgh_state_copy_status_fn fn, void *payload, pgh_error *err)
{
    char *tables = pgh_conn_qualified(dst, schema, "copy_tables");
    char *ranges = pgh_conn_qualified(dst, schema, "copy_ranges");
    pgh_buf sql;
    pgh_buf_init(&sql, 0);
    pgh_buf_printf(&sql,
                   "SELECT t.table_name, t.nranges, r.done, r.rows FROM %s t LEFT JOIN LATERAL "
                   "(SELECT count(*) FILTER (WHERE r.done) AS done, coalesce(sum(r.rows_copied), "
                   "0) AS rows FROM %s r WHERE r.slot_name = t.slot_name AND r.table_index = "
                   "t.table_index) r ON true WHERE t.slot_name = $1 ORDER BY t.table_index",
                   tables ? tables : "", ranges ? ranges : "");
    int rc = tables && ranges && !pgh_buf_failed(&sql)
                 ? 0
                 : pgh_error_set(err, PGH_ENOMEM, "out of memory");
    PGresult *res = NULL;
    if (rc == 0)
        rc = pgh_conn_query(&res, dst, pgh_buf_str(&sql), 1, &slot, err);
    pgh_buf_dispose(&sql);
    for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
        int64_t total = 0, done = 0, rows = 0;
        rc = int_field(&total, res, i, 1, tables, err);
        if (rc == 0)
            rc = int_field(&done, res, i, 2, ranges, err);
        if (rc == 0)
            rc = int_field(&rows, res, i, 3, ranges, err);
        if (rc == 0)
            fn(PQgetvalue(res, i, 0), total, done, rows, payload);
    }
    free(tables);
    free(ranges);
    PQclear(res);
    return rc;
}
