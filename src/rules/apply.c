/*
 * A plan run on rows (rules/plan.h): the filters' verdict, in three values (a column a filter
 * reads may be missing from the row), and the transformed, projected row.
 */
#include <stdlib.h>
#include <string.h>

#include "plan_int.h"

/* The value of source column col in t: NULL when t does not carry it (unknown). */
static const pgh_value *value_of(const pgh_rules_plan *p, const pgh_tuple *t, int col,
                                 bool key_only, const pgh_tuple *other)
{
    if (col >= t->natts || (key_only && !p->src_key[col]))
        return NULL;
    const pgh_value *v = &t->values[col];
    if (v->kind == PGH_VALUE_UNCHANGED && other && col < other->natts)
        v = &other->values[col];
    return v->kind == PGH_VALUE_TEXT || v->kind == PGH_VALUE_NULL ? v : NULL;
}

static bool contains(const char *s, size_t len, const char *needle, size_t nl)
{
    if (nl == 0)
        return true;
    for (size_t i = 0; i + nl <= len; i++) {
        if (memcmp(s + i, needle, nl) == 0)
            return true;
    }
    return false;
}

static bool compare(cond_op op, const rule_value *a, const rule_value *b)
{
    bool ok = true;
    int c = pgh_rules__value_cmp(a, b, &ok);
    if (!ok)
        return false;
    switch (op) {
    case OP_EQ:
    case OP_IN:
        return c == 0;
    case OP_NE:
        return c != 0;
    case OP_GT:
        return c > 0;
    case OP_LT:
        return c < 0;
    case OP_GTE:
        return c >= 0;
    default:
        return c <= 0;
    }
}

static pgh_rules_match eval_cond(const ccond *cc, const pgh_value *v)
{
    if (v == NULL)
        return PGH_RULES_UNKNOWN;
    const rule_cond *rc = cc->c;
    bool is_null = v->kind == PGH_VALUE_NULL;
    if (rc->op == OP_IS_NULL)
        return is_null == rc->want_null ? PGH_RULES_MATCH : PGH_RULES_NOMATCH;
    rule_value x;
    if (is_null || !pgh_rules__value_parse(&x, cc->vc, v->data, v->len))
        return PGH_RULES_NOMATCH; /* NULL (or an unparsable value) passes no comparison */
    if (rc->op == OP_CONTAINS)
        return contains(v->data, v->len, cc->vals[0].s, cc->vals[0].len) ? PGH_RULES_MATCH
                                                                          : PGH_RULES_NOMATCH;
    for (size_t i = 0; i < rc->nvalues; i++) {
        if (compare(rc->op, &x, &cc->vals[i]))
            return PGH_RULES_MATCH;
    }
    return PGH_RULES_NOMATCH;
}

/* Three-valued AND (all) or OR (any) of the filter's conditions. */
static pgh_rules_match eval_filter(const pgh_rules_plan *p, const cfilter *f,
                                   const pgh_tuple *t, bool key_only, const pgh_tuple *other)
{
    bool any = f->ru->any, unknown = false;
    for (size_t i = 0; i < f->ru->nconds; i++) {
        const ccond *cc = &f->conds[i];
        pgh_rules_match m = eval_cond(cc, value_of(p, t, cc->col, key_only, other));
        if (m == PGH_RULES_UNKNOWN)
            unknown = true;
        else if ((m == PGH_RULES_MATCH) == any)
            return m; /* any: one match decides; all: one mismatch decides */
    }
    return unknown ? PGH_RULES_UNKNOWN : any ? PGH_RULES_NOMATCH : PGH_RULES_MATCH;
}

static bool applies(const pgh_rules_plan *p, const cfilter *f, pgh_rules_op op)
{
    return (f->ru->ops & (unsigned)op) != 0 &&
           !(op == PGH_RULES_DELETE && f->ru->allow_empty_deletes && !p->strict_deletes);
}

pgh_rules_match pgh_rules__match(const pgh_rules_plan *p, pgh_rules_op op, const pgh_tuple *t,
                                 bool key_only, const pgh_tuple *other)
{
    bool unknown = false;
    for (size_t i = 0; i < p->nfilters; i++) {
        if (!applies(p, &p->filters[i], op))
            continue;
        pgh_rules_match m = eval_filter(p, &p->filters[i], t, key_only, other);
        if (m == PGH_RULES_NOMATCH)
            return m;
        unknown = unknown || m == PGH_RULES_UNKNOWN;
    }
    return unknown ? PGH_RULES_UNKNOWN : PGH_RULES_MATCH;
}

bool pgh_rules__plan_filters(const pgh_rules_plan *p, pgh_rules_op op)
{
    for (size_t i = 0; i < p->nfilters; i++) {
        if (applies(p, &p->filters[i], op))
            return true;
    }
    return false;
}

void pgh_rules_row_init(pgh_rules_row *row)
{
    memset(row, 0, sizeof(*row));
}

static void drop_texts(pgh_rules_row *row)
{
    for (size_t i = 0; i < row->ntexts; i++)
        free(row->texts[i]);
    row->ntexts = 0;
}

void pgh_rules_row_dispose(pgh_rules_row *row)
{
    if (row == NULL)
        return;
    drop_texts(row);
    free(row->texts);
    free(row->values);
    memset(row, 0, sizeof(*row));
}

static int reserve(pgh_rules_row *row, size_t values, pgh_error *err)
{
    if (row->cap < values) {
        pgh_value *v = realloc(row->values, values * sizeof(*v));
        if (v == NULL)
            return pgh_error_set(err, PGH_ENOMEM, "out of memory");
        row->values = v;
        row->cap = values;
    }
    if (row->texts_cap == row->ntexts) {
        size_t cap = row->texts_cap ? 2 * row->texts_cap : 8;
        char **t = realloc(row->texts, cap * sizeof(*t));
        if (t == NULL)
            return pgh_error_set(err, PGH_ENOMEM, "out of memory");
        row->texts = t;
        row->texts_cap = cap;
    }
    return 0;
}

/* One transform of one value, in place; the new text is kept in row. */
static int transform_value(pgh_rules_row *row, const pgh_rules_plan *p, const cxf *x,
                           pgh_value *v, pgh_error *err)
{
    if (x->ru->kind == RULE_SET_NULL) {
        *v = (pgh_value){.kind = PGH_VALUE_NULL};
        return 0;
    }
    if (v->kind == PGH_VALUE_NULL || v->kind == PGH_VALUE_UNCHANGED)
        return 0; /* nothing to rewrite; an unchanged value keeps its rewritten form */
    if (v->kind != PGH_VALUE_TEXT)
        return pgh_error_set(err, PGH_ECONFIG, "column %s of %s.%s came in binary: rules "
                             "need values as text", x->ru->column, p->out.nspname,
                             p->out.relname);
    char *s = NULL;
    size_t len = 0;
    int rc = reserve(row, 0, err);
    if (rc == 0 && x->ru->kind == RULE_MASK)
        rc = pgh_rules__mask(&s, &len, x->ru->mask_char, v->data, v->len, err);
    else if (rc == 0 && x->ru->kind == RULE_REGEX)
        rc = pgh_rules__regex(&s, &len, x->ru, v->data, v->len, err);
    else if (rc == 0)
        rc = pgh_rules__hash(&s, &len, p->rules, v->data, v->len, err);
    if (rc != 0)
        return rc;
    row->texts[row->ntexts++] = s;
    *v = (pgh_value){.kind = PGH_VALUE_TEXT, .len = (uint32_t)len, .data = s};
    return 0;
}

int pgh_rules__transform(pgh_rules_row *row, const pgh_rules_plan *p, pgh_rules_op op,
                         const pgh_tuple *t, const pgh_tuple *fill, pgh_error *err)
{
    drop_texts(row);
    int rc = reserve(row, (size_t)p->nsrc + p->out.ncols + 1, err);
    if (rc != 0)
        return rc;
    pgh_value *work = row->values, *out = row->values + p->nsrc;
    for (int i = 0; i < p->nsrc; i++) {
        work[i] = i < t->natts ? t->values[i] : (pgh_value){.kind = PGH_VALUE_NULL};
        if (work[i].kind == PGH_VALUE_UNCHANGED && fill && i < fill->natts &&
            fill->values[i].kind != PGH_VALUE_UNCHANGED)
            work[i] = fill->values[i];
    }
    for (size_t i = 0; rc == 0 && i < p->nxf; i++) {
        if (p->xf[i].ru->ops & (unsigned)op)
            rc = transform_value(row, p, &p->xf[i], &work[p->xf[i].col], err);
    }
    for (int i = 0; i < p->out.ncols; i++)
        out[i] = work[p->out_src[i]];
    row->tuple = (pgh_tuple){.natts = p->out.ncols, .values = out};
    return rc;
}
