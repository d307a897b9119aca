/*
 * Hashing rows for verify, on one server or on both at once.
 *
 * The row hash x is the XOR of one 64-bit hash per compared column, each seeded with the
 * column's position (so equal values in swapped columns do not cancel), with a per-position
 * constant for NULL (so NULL and '' differ). A column whose type is the same built-in type on
 * both servers and whose hash equality is byte equality (integers, text, varchar, bpchar, uuid,
 * timestamp) is hashed natively; every other column is hashed as its text output, which
 * pghost's session settings make identical for equal values. Text is hashed under COLLATE "C"
 * so that a nondeterministic collation cannot make different strings hash alike.
 *
 * A range's numbers are count(*), sum(mix(x)) and sum(x): sum(x) changes with any single
 * changed row (2^-64 to miss), and the mixed sum (mix = hashint8extended, not linear) catches
 * values swapped between rows. Sums are numeric: they never overflow.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"
#include "verify/internal.h"

/* Native extended hash function of a built-in type, or NULL (hash the text output). */
static const char *native_hash(uint32_t type_oid, bool *collate)
{
    *collate = false;
    switch (type_oid) {
    case 21: /* int2 */
        return "hashint2extended";
    case 23: /* int4 */
        return "hashint4extended";
    case 20: /* int8 */
        return "hashint8extended";
    case 25:   /* text */
    case 1043: /* varchar */
        *collate = true;
        return "hashtextextended";
    case 1042: /* bpchar: trailing blanks are insignificant to the type itself */
        *collate = true;
        return "hashbpcharextended";
    case 2950:
        return "uuid_hash_extended";
    case 1114: /* timestamp without time zone */
        return "timestamp_hash_extended";
    default:
        return NULL;
    }
}

static void put_column_hash(pgh_buf *b, const char *ident, uint32_t src_type, uint32_t dst_type,
                            int seed)
{
    bool collate = false;
    const char *fn = src_type == dst_type ? native_hash(src_type, &collate) : NULL;
    if (fn)
        pgh_buf_printf(b, "coalesce(%s(%s%s, %d), %lld)", fn, ident,
                       collate ? " COLLATE \"C\"" : "", seed, (long long)seed * 2654435761LL + 97);
    else
        pgh_buf_printf(b, "coalesce(hashtextextended(%s::text COLLATE \"C\", %d), %lld)", ident,
                       seed, (long long)seed * 2654435761LL + 97);
}

static int key_lists(verify_table *t, PGconn *conn, pgh_error *err)
{
    pgh_buf keys, text;
    pgh_buf_init(&keys, 0);
    pgh_buf_init(&text, 0);
    int rc = 0;
    for (int k = 0; rc == 0 && k < t->src->nkeys; k++) {
        char *q = pgh_conn_ident(conn, t->src->cols[t->src->key_cols[k]].name);
        if (q == NULL)
            rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
        else {
            pgh_buf_printf(&keys, "%s%s", k ? ", " : "", q);
            pgh_buf_printf(&text, "%s%s::text AS pgh_k%d", k ? ", " : "", q, k + 1);
        }
        free(q);
    }
    t->keys = pgh_buf_take(&keys);
    t->keys_text = pgh_buf_take(&text);
    pgh_buf_dispose(&keys);
    pgh_buf_dispose(&text);
    if (rc == 0 && (t->keys == NULL || t->keys_text == NULL))
        rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
    return rc;
}

int pgh_verify__hash_exprs(verify_table *t, PGconn *conn, pgh_error *err)
{
    pgh_buf s, d;
    pgh_buf_init(&s, 0);
    pgh_buf_init(&d, 0);
    int seed = 0;
    int rc = 0;
    for (int c = 0; rc == 0 && c < t->src->ncols; c++) {
        const pgh_table_column *sc = &t->src->cols[c];
        int di = pgh_table_column_index(t->dst, sc->name);
        if (sc->generated || di < 0 || t->dst->cols[di].generated)
            continue; /* generated columns are not compared; verify.c refused missing ones */
        char *q = pgh_conn_ident(conn, sc->name);
        if (q == NULL) {
            rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
            break;
        }
        seed++;
        pgh_buf_puts(&s, seed > 1 ? " # " : "");
        pgh_buf_puts(&d, seed > 1 ? " # " : "");
        put_column_hash(&s, q, sc->type_oid, t->dst->cols[di].type_oid, seed);
        put_column_hash(&d, q, sc->type_oid, t->dst->cols[di].type_oid, seed);
        free(q);
    }
    if (rc == 0 && seed == 0) { /* no comparable column: rows are compared by count */
        pgh_buf_puts(&s, "0::int8");
        pgh_buf_puts(&d, "0::int8");
    }
    t->src_hash = pgh_buf_take(&s);
    t->dst_hash = pgh_buf_take(&d);
    pgh_buf_dispose(&s);
    pgh_buf_dispose(&d);
    if (rc == 0 && (t->src_hash == NULL || t->dst_hash == NULL))
        rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
    return rc == 0 ? key_lists(t, conn, err) : rc;
}

static int recv_one(PGresult **out, PGconn *conn, const char *side, pgh_error *err)
{
    PGresult *res;
    int rc = 0;
    *out = NULL;
    while ((res = PQgetResult(conn)) != NULL) {
        if (rc == 0 && PQresultStatus(res) != PGRES_TUPLES_OK) {
            rc = pgh_conn_error(err, conn, res, side);
            PQclear(res);
        } else if (rc == 0 && *out == NULL) {
            *out = res;
        } else {
            PQclear(res);
        }
    }
    if (rc == 0 && *out == NULL)
        rc = pgh_conn_error(err, conn, NULL, side);
    if (rc != 0) {
        PQclear(*out);
        *out = NULL;
    }
    return rc;
}

int pgh_verify__query_both(PGresult **src_out, PGresult **dst_out, PGconn *src, PGconn *dst,
                           const pgh_buf *src_sql, const pgh_buf *dst_sql, pgh_error *err)
{
    *src_out = NULL;
    *dst_out = NULL;
    if (pgh_buf_failed(src_sql) || pgh_buf_failed(dst_sql))
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    if (!PQsendQuery(src, pgh_buf_str(src_sql)))
        return pgh_conn_error(err, src, NULL, "verifying on the source");
    if (!PQsendQuery(dst, pgh_buf_str(dst_sql))) {
        PGresult *res;
        while ((res = PQgetResult(src)) != NULL)
            PQclear(res);
        return pgh_conn_error(err, dst, NULL, "verifying on the destination");
    }
    pgh_error derr;
    pgh_error_clear(&derr);
    int rc = recv_one(src_out, src, "verifying on the source", err);
    int drc = recv_one(dst_out, dst, "verifying on the destination", &derr);
    if (rc == 0 && drc != 0) {
        *err = derr;
        rc = drc;
    }
    if (rc != 0) {
        PQclear(*src_out);
        PQclear(*dst_out);
        *src_out = NULL;
        *dst_out = NULL;
    }
    return rc;
}

static void sums_sql(pgh_buf *sql, const verify_table *t, const pgh_table_info *side,
                     const char *x, const verify_range *ranges, int n)
{
    for (int i = 0; i < n; i++) {
        pgh_buf_printf(sql,
                       "%sSELECT %d, count(*), coalesce(sum(hashint8extended(x, 0)), 0), "
                       "coalesce(sum(x), 0) FROM (SELECT %s AS x FROM %s%s",
                       i ? " UNION ALL " : "", i, x, pgh_verify__only(side), side->qualified);
        pgh_verify__where(sql, t, side, &ranges[i]);
        pgh_buf_puts(sql, " OFFSET 0) s");
    }
}

static int read_sums(verify_sum *out, PGresult *res, int n, pgh_error *err)
{
    if (PQntuples(res) != n || PQnfields(res) != 4)
        return pgh_error_set(err, PGH_EPROTO, "verify: unexpected answer to a checksum query");
    for (int r = 0; r < n; r++) {
        long i = strtol(PQgetvalue(res, r, 0), NULL, 10);
        if (i < 0 || i >= n)
            return pgh_error_set(err, PGH_EPROTO, "verify: unexpected answer to a checksum query");
        out[i].rows = strtoll(PQgetvalue(res, r, 1), NULL, 10);
        snprintf(out[i].mixed, sizeof(out[i].mixed), "%s", PQgetvalue(res, r, 2));
        snprintf(out[i].plain, sizeof(out[i].plain), "%s", PQgetvalue(res, r, 3));
    }
    return 0;
}

int pgh_verify__sums(verify_sum *src_out, verify_sum *dst_out, PGconn *src, PGconn *dst,
                     const verify_table *t, const verify_range *ranges, int nranges,
                     pgh_error *err)
{
    pgh_buf s, d;
    pgh_buf_init(&s, 0);
    pgh_buf_init(&d, 0);
    sums_sql(&s, t, t->src, t->src_hash, ranges, nranges);
    sums_sql(&d, t, t->dst, t->dst_hash, ranges, nranges);
    PGresult *sr = NULL;
    PGresult *dr = NULL;
    int rc = pgh_verify__query_both(&sr, &dr, src, dst, &s, &d, err);
    if (rc == 0)
        rc = read_sums(src_out, sr, nranges, err);
    if (rc == 0)
        rc = read_sums(dst_out, dr, nranges, err);
    PQclear(sr);
    PQclear(dr);
    pgh_buf_dispose(&s);
    pgh_buf_dispose(&d);
    return rc;
}

int pgh_verify__rows(PGresult **src_out, PGresult **dst_out, PGconn *src, PGconn *dst,
                     const verify_table *t, const verify_range *r, pgh_error *err)
{
    pgh_buf s, d;
    pgh_buf_init(&s, 0);
    pgh_buf_init(&d, 0);
    pgh_buf_printf(&s, "SELECT %s, (%s)::text FROM %s%s", t->keys_text, t->src_hash,
                   pgh_verify__only(t->src), t->src->qualified);
    pgh_verify__where(&s, t, t->src, r);
    pgh_buf_printf(&d, "SELECT %s, (%s)::text FROM %s%s", t->keys_text, t->dst_hash,
                   pgh_verify__only(t->dst), t->dst->qualified);
    pgh_verify__where(&d, t, t->dst, r);
    int rc = pgh_verify__query_both(src_out, dst_out, src, dst, &s, &d, err);
    pgh_buf_dispose(&s);
    pgh_buf_dispose(&d);
    return rc;
}

/* " WHERE (k1, k2) IN ((v::type, v::type), ...)" with the values quoted on conn. */
static int by_key_where(pgh_buf *sql, PGconn *conn, const verify_table *t,
                        const pgh_table_info *side, char **const *keys, int n, pgh_error *err)
{
    int nk = t->src->nkeys;
    pgh_buf_printf(sql, " WHERE (%s) IN (", t->keys);
    for (int i = 0; i < n; i++) {
        pgh_buf_puts(sql, i ? ", (" : "(");
        for (int k = 0; k < nk; k++) {
            char *lit = pgh_conn_literal(conn, keys[i][k], strlen(keys[i][k]));
            if (lit == NULL)
                return pgh_error_set(err, PGH_ENOMEM, "out of memory");
            pgh_buf_printf(sql, "%s%s::%s", k ? ", " : "", lit,
                           t->src->cols[t->src->key_cols[k]].cast_name);
            free(lit);
        }
        pgh_buf_putc(sql, ')');
    }
    pgh_buf_putc(sql, ')');
    if (side->row_filter)
        pgh_buf_printf(sql, " AND (%s)", side->row_filter);
    return 0;
}

int pgh_verify__rows_by_key(PGresult **src_out, PGresult **dst_out, PGconn *src, PGconn *dst,
                            const verify_table *t, char **const *keys, int nkeys_rows,
                            pgh_error *err)
{
    pgh_buf s, d;
    pgh_buf_init(&s, 0);
    pgh_buf_init(&d, 0);
    pgh_buf_printf(&s, "SELECT %s, (%s)::text FROM %s%s", t->keys_text, t->src_hash,
                   pgh_verify__only(t->src), t->src->qualified);
    pgh_buf_printf(&d, "SELECT %s, (%s)::text FROM %s%s", t->keys_text, t->dst_hash,
                   pgh_verify__only(t->dst), t->dst->qualified);
    int rc = by_key_where(&s, src, t, t->src, keys, nkeys_rows, err);
    if (rc == 0)
        rc = by_key_where(&d, dst, t, t->dst, keys, nkeys_rows, err);
    if (rc == 0)
        rc = pgh_verify__query_both(src_out, dst_out, src, dst, &s, &d, err);
    pgh_buf_dispose(&s);
    pgh_buf_dispose(&d);
    return rc;
}
