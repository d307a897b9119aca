/*
 * Key ranges for verify: chunk boundaries sampled from the source (TABLESAMPLE SYSTEM, one short
 * query per table), the WHERE clause of a range, and the boundaries that split a differing range.
 *
 * The boundaries only balance the work: the first chunk has no lower bound and the last no
 * upper bound, so every key of either server is in exactly one chunk whatever was sampled.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"
#include "pghost/log.h"
#include "verify/internal.h"

#define SAMPLES_PER_CHUNK 64

/* Rows of a result at evenly spaced positions become boundaries (quoted on conn). Rows equal to
 * the previous boundary are skipped, so boundaries ascend strictly. */
static int take_bounds(char ****out, int *n, PGconn *conn, PGresult *res, int nkeys, int parts,
                       bool all_rows, pgh_error *err)
{
    int nrows = PQntuples(res);
    int want = all_rows ? nrows : parts - 1;
    *out = NULL;
    *n = 0;
    if (want <= 0)
        return 0;
    char ***b = calloc((size_t)want, sizeof(*b));
    if (b == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory planning the verification");
    int prev = -1;
    for (int i = 0; i < want; i++) {
        int row = all_rows ? i : (int)((int64_t)(i + 1) * nrows / parts);
        if (row >= nrows || row == prev)
            continue;
        bool same = prev >= 0;
        for (int k = 0; same && k < nkeys; k++)
            same = strcmp(PQgetvalue(res, prev, k), PQgetvalue(res, row, k)) == 0;
        if (same)
            continue;
        char **lits = calloc((size_t)nkeys, sizeof(char *));
        b[*n] = lits;
        if (lits == NULL)
            break;
        (*n)++;
        for (int k = 0; k < nkeys; k++) {
            const char *v = PQgetvalue(res, row, k);
            lits[k] = pgh_conn_literal(conn, v, strlen(v));
            if (lits[k] == NULL) {
                pgh_copy_bounds_free(b, *n, nkeys);
                *n = 0;
                return pgh_error_set(err, PGH_ENOMEM, "out of memory planning the verification");
            }
        }
        prev = row;
    }
    *out = b;
    return 0;
}

static double estimated_rows(const pgh_table_info *t)
{
    if (t->reltuples > 0)
        return t->reltuples;
    return (double)t->size_bytes / 100.0; /* never analyzed: assume 100-byte rows */
}

int pgh_verify__plan(verify_table *t, PGconn *src, int jobs, pgh_error *err)
{
    double rows = estimated_rows(t->src);
    double chunks = ceil(rows / VERIFY_CHUNK_ROWS);
    if (rows > (double)jobs * 4 * 1000)
        chunks = fmax(chunks, jobs * 4.0); /* enough chunks to keep every worker busy */
    int nchunks = (int)fmin(chunks, VERIFY_MAX_CHUNKS);
    t->nbounds = 0;
    if (nchunks <= 1)
        return 0;
    double pct = fmin(100.0, fmax(0.0001, 100.0 * nchunks * SAMPLES_PER_CHUNK / rows));
    pgh_buf sql;
    pgh_buf_init(&sql, 0);
    pgh_buf_printf(&sql, "SELECT %s FROM %s%s TABLESAMPLE SYSTEM (%.6f) ORDER BY %s",
                   t->keys_text, pgh_verify__only(t->src), t->src->qualified, pct, t->keys);
    PGresult *res = NULL;
    int rc = pgh_buf_failed(&sql) ? pgh_error_set(err, PGH_ENOMEM, "out of memory")
                                  : pgh_conn_query(&res, src, pgh_buf_str(&sql), 0, NULL, err);
    pgh_buf_dispose(&sql);
    if (rc == 0)
        rc = take_bounds(&t->bounds, &t->nbounds, src, res, t->src->nkeys, nchunks, false, err);
    if (rc == 0)
        pgh_log(PGH_LOG_DEBUG, "verify", "%s.%s: %d chunks from %d sampled keys", t->src->schema,
                t->src->name, t->nbounds + 1, PQntuples(res));
    PQclear(res);
    return rc;
}

const char *pgh_verify__only(const pgh_table_info *t)
{
    return t->relkind == 'p' ? "" : "ONLY ";
}

int pgh_verify__nchunks(const verify_table *t)
{
    return t->nbounds + 1;
}

verify_range pgh_verify__chunk(const verify_table *t, int i)
{
    verify_range r = {NULL, NULL};
    if (i > 0)
        r.lo = t->bounds[i - 1];
    if (i < t->nbounds)
        r.hi = t->bounds[i];
    return r;
}

static void put_bound(pgh_buf *sql, const verify_table *t, char *const *b, const char *op)
{
    int n = t->src->nkeys;
    pgh_buf_printf(sql, "%s%s%s %s %s", n > 1 ? "(" : "", t->keys, n > 1 ? ")" : "", op,
                   n > 1 ? "(" : "");
    /* cast to the key's type (the same on both servers): an untyped literal compared with a
     * composite key would be read as an anonymous record */
    for (int k = 0; k < n; k++)
        pgh_buf_printf(sql, "%s%s::%s", k ? ", " : "", b[k],
                       t->src->cols[t->src->key_cols[k]].cast_name);
    if (n > 1)
        pgh_buf_putc(sql, ')');
}

void pgh_verify__where(pgh_buf *sql, const verify_table *t, const pgh_table_info *side,
                       const verify_range *r)
{
    if (r->lo) {
        pgh_buf_puts(sql, " WHERE ");
        put_bound(sql, t, r->lo, ">=");
    }
    if (r->hi) {
        pgh_buf_puts(sql, r->lo ? " AND " : " WHERE ");
        put_bound(sql, t, r->hi, "<");
    }
    if (side->row_filter) /* the publication's, deparsed by the server */
        pgh_buf_printf(sql, "%s(%s)", r->lo || r->hi ? " AND " : " WHERE ", side->row_filter);
}

int pgh_verify__split(char ****out, int *n, PGconn *conn, const pgh_table_info *side,
                      const verify_table *t, const verify_range *r, long long rows, int parts,
                      pgh_error *err)
{
    long long step = rows / parts;
    *out = NULL;
    *n = 0;
    if (step < 1)
        return 0;
    pgh_buf sql;
    pgh_buf_init(&sql, 0);
    pgh_buf_printf(&sql,
                   "SELECT %s FROM (SELECT %s, row_number() OVER (ORDER BY %s) AS pgh_rn "
                   "FROM %s%s",
                   t->keys_text, t->keys, t->keys, pgh_verify__only(side), side->qualified);
    pgh_verify__where(&sql, t, side, r);
    pgh_buf_printf(&sql, ") s WHERE pgh_rn %% %lld = 0 ORDER BY pgh_rn", step);
    PGresult *res = NULL;
    int rc = pgh_buf_failed(&sql) ? pgh_error_set(err, PGH_ENOMEM, "out of memory")
                                  : pgh_conn_query(&res, conn, pgh_buf_str(&sql), 0, NULL, err);
    pgh_buf_dispose(&sql);
    if (rc == 0)
        rc = take_bounds(out, n, conn, res, t->src->nkeys, parts, true, err);
    PQclear(res);
    return rc;
}
