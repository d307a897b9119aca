/*
 * The first pass of a table with a single-column key of a built-in, non-collatable type
 * (integers, numeric, uuid, dates and times...): instead of one index range scan per chunk,
 * each server reads the table in one sequential scan, puts each row in its chunk with
 * width_bucket() over the chunk boundaries, and returns the totals of every chunk. Reading
 * pages in heap order costs about half of walking the key index once the table does not fit in
 * shared_buffers; both servers scan at the same time. The chunks whose totals differ are then
 * narrowed down by key ranges as usual (verify_narrow.c).
 *
 * Not split further: TID range slices (ctid >= ... AND ctid < ...) cost about 2.5 times a
 * sequential scan on PostgreSQL 15, and PostgreSQL plans the grouping badly in parallel (it
 * estimates one group per key), so one process per server reads a table.
 */
#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"
#include "verify/internal.h"

/* Key types width_bucket() can place under the same ordering as the key's index on either
 * server: built-in, scalar, and without a collation (a collatable key could meet a boundary
 * array of another collation). Other keys take the per-chunk path. */
static bool bucket_type(uint32_t oid)
{
    static const uint32_t types[] = {16,   20,   21,   23,   26,   700,  701, 1082,
                                     1083, 1114, 1184, 1186, 1700, 2950, 17};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (types[i] == oid)
            return true;
    return false;
}

int pgh_verify__scan_prepare(verify_table *t, pgh_error *err)
{
    t->scan = false;
    if (t->nbounds == 0 || t->src->nkeys != 1)
        return 0;
    const pgh_table_column *sk = &t->src->cols[t->src->key_cols[0]];
    int di = pgh_table_column_index(t->dst, sk->name);
    if (di < 0 || !bucket_type(sk->type_oid) || !bucket_type(t->dst->cols[di].type_oid))
        return 0;
    size_t n = (size_t)pgh_verify__nchunks(t);
    t->src_acc = calloc(n, sizeof(*t->src_acc));
    t->dst_acc = calloc(n, sizeof(*t->dst_acc));
    if (t->src_acc == NULL || t->dst_acc == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    t->scan = true;
    return 0;
}

static void scan_sql(pgh_buf *sql, const verify_table *t, const pgh_table_info *side,
                     const char *x)
{
    const char *key_name = t->src->cols[t->src->key_cols[0]].name;
    const pgh_table_column *key = &side->cols[pgh_table_column_index(side, key_name)];
    pgh_buf_puts(sql, "SELECT pg_catalog.width_bucket(k, ARRAY[");
    for (int i = 0; i < t->nbounds; i++)
        pgh_buf_printf(sql, "%s%s", i ? ", " : "", t->bounds[i][0]);
    pgh_buf_printf(sql,
                   "]::%s[]), count(*), coalesce(sum(hashint8extended(x, 0)), 0), "
                   "coalesce(sum(x), 0) FROM (SELECT %s AS k, %s AS x FROM %s%s",
                   key->type_name, t->keys, x, pgh_verify__only(side), side->qualified);
    if (side->row_filter)
        pgh_buf_printf(sql, " WHERE (%s)", side->row_filter);
    pgh_buf_puts(sql, " OFFSET 0) s GROUP BY 1");
}

/* A numeric integer's text as __int128 (the sums of int8 hashes always fit). */
static __int128 parse_i128(const char *s)
{
    bool neg = *s == '-';
    if (neg)
        s++;
    __int128 v = 0;
    for (; *s >= '0' && *s <= '9'; s++)
        v = v * 10 + (*s - '0');
    return neg ? -v : v;
}

static int add_totals(verify_table *t, verify_acc *acc, atomic_llong *rows, PGresult *res,
                      pgh_error *err)
{
    int n = pgh_verify__nchunks(t);
    for (int r = 0; r < PQntuples(res); r++) {
        long b = strtol(PQgetvalue(res, r, 0), NULL, 10);
        if (b < 0 || b >= n)
            return pgh_error_set(err, PGH_EPROTO, "verify: unexpected chunk number %ld", b);
    }
    pthread_mutex_lock(&t->lock);
    for (int r = 0; r < PQntuples(res); r++) {
        verify_acc *a = &acc[strtol(PQgetvalue(res, r, 0), NULL, 10)];
        long long c = strtoll(PQgetvalue(res, r, 1), NULL, 10);
        a->rows += c;
        a->mixed += parse_i128(PQgetvalue(res, r, 2));
        a->plain += parse_i128(PQgetvalue(res, r, 3));
        atomic_fetch_add(rows, c);
    }
    pthread_mutex_unlock(&t->lock);
    return 0;
}

int pgh_verify__scan(PGconn *src, PGconn *dst, verify_table *t, pgh_error *err)
{
    pgh_buf s, d;
    pgh_buf_init(&s, 0);
    pgh_buf_init(&d, 0);
    scan_sql(&s, t, t->src, t->src_hash);
    scan_sql(&d, t, t->dst, t->dst_hash);
    PGresult *sr = NULL;
    PGresult *dr = NULL;
    /* One sequential scan reads the whole table: each server may use its parallel workers and
     * JIT for it, as configured (the sessions turn both off for the small range queries). */
    int rc = 0;
    for (int i = 0; rc == 0 && i < 4; i++)
        rc = pgh_conn_exec(i % 2 ? dst : src, i < 2 ? "RESET jit" :
                           "RESET max_parallel_workers_per_gather", err);
    if (rc == 0)
        rc = pgh_verify__query_both(&sr, &dr, src, dst, &s, &d, err);
    for (int i = 0; rc == 0 && i < 4; i++)
        rc = pgh_conn_exec(i % 2 ? dst : src, i < 2 ? "SET jit = off" :
                           "SET max_parallel_workers_per_gather = 0", err);
    if (rc == 0)
        rc = add_totals(t, t->src_acc, &t->src_rows, sr, err);
    if (rc == 0)
        rc = add_totals(t, t->dst_acc, &t->dst_rows, dr, err);
    if (rc == 0) {
        VERIFY_COUNT(t, ranges, pgh_verify__nchunks(t));
        VERIFY_COUNT(t, rows, atomic_load(&t->src_rows));
    }
    PQclear(sr);
    PQclear(dr);
    pgh_buf_dispose(&s);
    pgh_buf_dispose(&d);
    return rc;
}

int pgh_verify__scan_chunk(PGconn *src, PGconn *dst, verify_table *t, int chunk,
                           pgh_error *err)
{
    const verify_acc *a = &t->src_acc[chunk];
    const verify_acc *b = &t->dst_acc[chunk];
    if (a->rows == b->rows && a->mixed == b->mixed && a->plain == b->plain)
        return 0;
    atomic_fetch_add(&t->chunks_differing, 1);
    verify_sum s = {a->rows, "", ""};
    verify_sum d = {b->rows, "", ""};
    verify_range r = pgh_verify__chunk(t, chunk);
    return pgh_verify__narrow(src, dst, t, &r, &s, &d, err);
}
