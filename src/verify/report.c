/*
 * The differing keys verify finds: collected per table by the workers (under the table's lock,
 * at most keep_keys of them), merged, then moved into the public result.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verify/internal.h"

const char *pgh_verify_kind_name(pgh_verify_kind kind)
{
    switch (kind) {
    case PGH_VERIFY_MISSING:
        return "missing";
    case PGH_VERIFY_EXTRA:
        return "extra";
    case PGH_VERIFY_DIFFERENT:
        return "different";
    }
    return "?";
}

void pgh_verify__found_clear(verify_found *f, int nkeys)
{
    for (int k = 0; f->values && k < nkeys; k++)
        free(f->values[k]);
    free(f->values);
    free(f->src_hash);
    free(f->dst_hash);
    memset(f, 0, sizeof(*f));
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static int append(verify_table *t, pgh_verify_kind kind, PGresult *res, int row,
                  const char *src_hash, const char *dst_hash)
{
    if (t->nfound == t->found_cap) {
        int cap = t->found_cap ? t->found_cap * 2 : 16;
        verify_found *f = realloc(t->found, (size_t)cap * sizeof(*f));
        if (f == NULL)
            return PGH_ENOMEM;
        t->found = f;
        t->found_cap = cap;
    }
    int nk = t->src->nkeys;
    verify_found *f = &t->found[t->nfound];
    memset(f, 0, sizeof(*f));
    f->kind = kind;
    f->values = calloc((size_t)nk, sizeof(char *));
    f->src_hash = dup_or_null(src_hash);
    f->dst_hash = dup_or_null(dst_hash);
    bool ok = f->values && (src_hash == NULL || f->src_hash) && (dst_hash == NULL || f->dst_hash);
    for (int k = 0; ok && k < nk; k++) {
        f->values[k] = strdup(PQgetvalue(res, row, k));
        ok = f->values[k] != NULL;
    }
    if (!ok) {
        pgh_verify__found_clear(f, nk);
        return PGH_ENOMEM;
    }
    t->nfound++;
    return 0;
}

int pgh_verify__found_add(verify_table *t, pgh_verify_kind kind, PGresult *res, int row,
                          const char *src_hash, const char *dst_hash)
{
    pthread_mutex_lock(&t->lock);
    int rc = 0;
    VERIFY_COUNT(t, differences[kind], 1);
    if (t->nfound >= t->keep_keys)
        t->truncated = true;
    else
        rc = append(t, kind, res, row, src_hash, dst_hash);
    pthread_mutex_unlock(&t->lock);
    return rc;
}

bool pgh_verify__found_full(verify_table *t)
{
    pthread_mutex_lock(&t->lock);
    bool full = t->nfound >= t->keep_keys;
    if (full)
        t->truncated = true;
    pthread_mutex_unlock(&t->lock);
    return full;
}

static bool same_key(const verify_found *a, const verify_found *b, int nkeys)
{
    for (int k = 0; k < nkeys; k++)
        if (strcmp(a->values[k], b->values[k]) != 0)
            return false;
    return true;
}

static void remove_at(verify_table *t, int i)
{
    pgh_verify__found_clear(&t->found[i], t->src->nkeys);
    memmove(&t->found[i], &t->found[i + 1], (size_t)(t->nfound - i - 1) * sizeof(*t->found));
    t->nfound--;
}

void pgh_verify__found_merge(verify_table *t)
{
    int nk = t->src->nkeys;
    for (int i = 0; i < t->nfound; i++) {
        if (t->found[i].kind != PGH_VERIFY_MISSING)
            continue;
        for (int j = 0; j < t->nfound; j++) {
            verify_found *x = &t->found[j];
            if (x->kind != PGH_VERIFY_EXTRA || !same_key(&t->found[i], x, nk))
                continue;
            bool equal = strcmp(t->found[i].src_hash, x->dst_hash) == 0;
            t->found[i].kind = PGH_VERIFY_DIFFERENT;
            t->found[i].dst_hash = x->dst_hash;
            x->dst_hash = NULL;
            remove_at(t, j);
            if (j < i)
                i--;
            if (equal) {
                remove_at(t, i);
                i--;
            }
            break;
        }
    }
}

static _Thread_local int tl_nkeys;

static int cmp_found(const void *x, const void *y)
{
    const verify_found *a = x;
    const verify_found *b = y;
    if (a->kind != b->kind)
        return (int)a->kind - (int)b->kind;
    for (int k = 0; k < tl_nkeys; k++) {
        /* numbers sort as numbers when both look like integers of different lengths */
        size_t la = strlen(a->values[k]);
        size_t lb = strlen(b->values[k]);
        bool num = la && lb && strspn(a->values[k], "0123456789") == la &&
                   strspn(b->values[k], "0123456789") == lb;
        if (num && la != lb)
            return la < lb ? -1 : 1;
        int c = strcmp(a->values[k], b->values[k]);
        if (c != 0)
            return c;
    }
    return 0;
}

static char *qualified_name(const char *schema, const char *name)
{
    size_t len = strlen(schema) + strlen(name) + 2;
    char *s = malloc(len);
    if (s)
        snprintf(s, len, "%s.%s", schema, name);
    return s;
}

int pgh_verify__table_result(pgh_verify_table *out, verify_table *t, int max_keys,
                             pgh_error *err)
{
    int nk = t->src->nkeys;
    memset(out, 0, sizeof(*out));
    tl_nkeys = nk;
    if (t->nfound > 1)
        qsort(t->found, (size_t)t->nfound, sizeof(*t->found), cmp_found);
    out->source = qualified_name(t->src->schema, t->src->name);
    out->destination = qualified_name(t->dst->schema, t->dst->name);
    out->nkeys = nk;
    out->key_names = calloc((size_t)nk, sizeof(char *));
    int n = t->nfound < max_keys ? t->nfound : max_keys;
    out->found = calloc((size_t)(n ? n : 1), sizeof(*out->found));
    if (!out->source || !out->destination || !out->key_names || !out->found)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    for (int k = 0; k < nk; k++) {
        out->key_names[k] = strdup(t->src->cols[t->src->key_cols[k]].name);
        if (out->key_names[k] == NULL)
            return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    }
    for (int i = 0; i < n; i++) {
        out->found[i].kind = t->found[i].kind;
        out->found[i].values = t->found[i].values; /* moved */
        t->found[i].values = NULL;
    }
    out->nfound = n;
    out->truncated = t->truncated || t->nfound > max_keys;
    out->source_rows = atomic_load(&t->src_rows);
    out->dest_rows = atomic_load(&t->dst_rows);
    out->chunks = t->keyless ? 1 : pgh_verify__nchunks(t);
    out->chunks_differing = atomic_load(&t->chunks_differing);
    out->keyless = t->keyless;
    out->differs = t->differs;
    return 0;
}

void pgh_verify_result_dispose(pgh_verify_result *r)
{
    if (r == NULL)
        return;
    for (int i = 0; r->tables && i < r->ntables; i++) {
        pgh_verify_table *t = &r->tables[i];
        for (int f = 0; t->found && f < t->nfound; f++) {
            for (int k = 0; t->found[f].values && k < t->nkeys; k++)
                free(t->found[f].values[k]);
            free(t->found[f].values);
        }
        free(t->found);
        for (int k = 0; t->key_names && k < t->nkeys; k++)
            free(t->key_names[k]);
        free(t->key_names);
        free(t->source);
        free(t->destination);
    }
    free(r->tables);
    memset(r, 0, sizeof(*r));
}
