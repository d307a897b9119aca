/*
 * Narrowing a differing chunk down to its keys.
 *
 * A chunk whose count or sums differ is cut into VERIFY_SPLIT_PARTS sub-ranges of about equal
 * rows (boundaries read from the side with more rows, so extra rows on the destination split as
 * well as missing ones), all sub-ranges are hashed in one query per server, and only differing
 * sub-ranges go on. A range of at most VERIFY_LEAF_ROWS rows is read key by key from both sides
 * and diffed in memory, so memory stays bounded whatever the table size.
 */
#include <stdlib.h>
#include <string.h>

#include "pghost/log.h"
#include "verify/internal.h"

static bool same_sum(const verify_sum *a, const verify_sum *b)
{
    return a->rows == b->rows && strcmp(a->mixed, b->mixed) == 0 &&
           strcmp(a->plain, b->plain) == 0;
}

/* Sorting row numbers of a result by their key columns (bytewise, column by column): both
 * sides are ordered the same way whatever the servers' collations. */
typedef struct sort_ctx {
    PGresult *res;
    int nkeys;
} sort_ctx;

static int cmp_rows(PGresult *a, int ra, PGresult *b, int rb, int nkeys)
{
    for (int k = 0; k < nkeys; k++) {
        int c = strcmp(PQgetvalue(a, ra, k), PQgetvalue(b, rb, k));
        if (c != 0)
            return c;
    }
    return 0;
}

static _Thread_local sort_ctx *tl_sort;

static int cmp_index(const void *x, const void *y)
{
    return cmp_rows(tl_sort->res, *(const int *)x, tl_sort->res, *(const int *)y,
                    tl_sort->nkeys);
}

static int *sorted_rows(PGresult *res, int nkeys)
{
    int n = PQntuples(res);
    int *idx = malloc((size_t)(n ? n : 1) * sizeof(int));
    if (idx == NULL)
        return NULL;
    for (int i = 0; i < n; i++)
        idx[i] = i;
    sort_ctx ctx = {res, nkeys};
    tl_sort = &ctx;
    qsort(idx, (size_t)n, sizeof(int), cmp_index);
    tl_sort = NULL;
    return idx;
}

int pgh_verify__diff_rows(verify_table *t, PGresult *src, PGresult *dst, pgh_error *err)
{
    int nk = t->src->nkeys;
    int *si = sorted_rows(src, nk);
    int *di = sorted_rows(dst, nk);
    int ns = PQntuples(src);
    int nd = PQntuples(dst);
    int rc = (si && di) ? 0 : pgh_error_set(err, PGH_ENOMEM, "out of memory comparing rows");
    int a = 0;
    int b = 0;
    while (rc == 0 && (a < ns || b < nd)) {
        int c = a >= ns ? 1 : b >= nd ? -1 : cmp_rows(src, si[a], dst, di[b], nk);
        if (c < 0) {
            rc = pgh_verify__found_add(t, PGH_VERIFY_MISSING, src, si[a],
                                       PQgetvalue(src, si[a], nk), NULL);
            a++;
        } else if (c > 0) {
            rc = pgh_verify__found_add(t, PGH_VERIFY_EXTRA, dst, di[b], NULL,
                                       PQgetvalue(dst, di[b], nk));
            b++;
        } else {
            const char *hs = PQgetvalue(src, si[a], nk);
            const char *hd = PQgetvalue(dst, di[b], nk);
            if (strcmp(hs, hd) != 0)
                rc = pgh_verify__found_add(t, PGH_VERIFY_DIFFERENT, src, si[a], hs, hd);
            a++;
            b++;
        }
    }
    if (rc == PGH_ENOMEM)
        pgh_error_set(err, rc, "out of memory recording differing keys");
    free(si);
    free(di);
    return rc;
}

static int diff_leaf(PGconn *src, PGconn *dst, verify_table *t, const verify_range *r,
                     pgh_error *err)
{
    PGresult *sr = NULL;
    PGresult *dr = NULL;
    int rc = pgh_verify__rows(&sr, &dr, src, dst, t, r, err);
    if (rc == 0)
        rc = pgh_verify__diff_rows(t, sr, dr, err);
    PQclear(sr);
    PQclear(dr);
    return rc;
}

int pgh_verify__narrow(PGconn *src, PGconn *dst, verify_table *t, const verify_range *r,
                       const verify_sum *s, const verify_sum *d, pgh_error *err)
{
    if (pgh_verify__found_full(t))
        return 0; /* enough keys listed; found_full marked the table truncated */
    long long rows = s->rows > d->rows ? s->rows : d->rows;
    if (rows <= VERIFY_LEAF_ROWS)
        return diff_leaf(src, dst, t, r, err);
    bool from_src = s->rows >= d->rows;
    char ***b = NULL;
    int nb = 0;
    int rc = pgh_verify__split(&b, &nb, from_src ? src : dst,
                               from_src ? t->src : t->dst, t, r, rows,
                               VERIFY_SPLIT_PARTS, err);
    if (rc == 0)
        pgh_log(PGH_LOG_DEBUG, "verify", "%s.%s: splitting a range of %lld rows in %d",
                t->src->schema, t->src->name, rows, nb + 1);
    if (rc == 0 && nb == 0) /* the rows went away meanwhile: diff what is there */
        rc = diff_leaf(src, dst, t, r, err);
    verify_range *sub = rc == 0 && nb > 0 ? calloc((size_t)nb + 1, sizeof(*sub)) : NULL;
    verify_sum *ss = sub ? calloc((size_t)nb + 1, sizeof(*ss)) : NULL;
    verify_sum *ds = sub ? calloc((size_t)nb + 1, sizeof(*ds)) : NULL;
    if (rc == 0 && nb > 0 && (sub == NULL || ss == NULL || ds == NULL))
        rc = pgh_error_set(err, PGH_ENOMEM, "out of memory narrowing a chunk");
    if (rc == 0 && nb > 0) {
        for (int i = 0; i <= nb; i++) {
            sub[i].lo = i == 0 ? r->lo : b[i - 1];
            sub[i].hi = i == nb ? r->hi : b[i];
        }
        rc = pgh_verify__sums(ss, ds, src, dst, t, sub, nb + 1, err);
        for (int i = 0; rc == 0 && i <= nb; i++)
            if (!same_sum(&ss[i], &ds[i]))
                rc = pgh_verify__narrow(src, dst, t, &sub[i], &ss[i], &ds[i], err);
    }
    free(sub);
    free(ss);
    free(ds);
    pgh_copy_bounds_free(b, nb, t->src->nkeys);
    return rc;
}

int pgh_verify__compare_chunk(PGconn *src, PGconn *dst, verify_table *t, const verify_range *r,
                              pgh_error *err)
{
    verify_sum s, d;
    int rc = pgh_verify__sums(&s, &d, src, dst, t, r, 1, err);
    if (rc != 0)
        return rc;
    atomic_fetch_add(&t->src_rows, s.rows);
    atomic_fetch_add(&t->dst_rows, d.rows);
    VERIFY_COUNT(t, ranges, 1);
    VERIFY_COUNT(t, rows, s.rows);
    if (same_sum(&s, &d))
        return 0;
    atomic_fetch_add(&t->chunks_differing, 1);
    pgh_log(PGH_LOG_DEBUG, "verify", "%s.%s: a chunk differs (%lld rows on the source, %lld on "
            "the destination); narrowing", t->src->schema, t->src->name, s.rows, d.rows);
    return pgh_verify__narrow(src, dst, t, r, &s, &d, err);
}
