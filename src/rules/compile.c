/*
 * A rules file compiled against one table's columns (rules/plan.h): every column a rule names
 * must exist, every operator and transform must suit the column's type, every filter value
 * must be a value of that type. The errors name the rules file and the rule's line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan_int.h"

typedef struct compiler {
    const pgh_rules *r;
    const pgh_relation *rel;
    pgh_rules_plan *p;
    bool *keep;   /* owned: per source column, still sent */
    char **names; /* owned array, borrowed names: per source column, the name it is sent as */
    pgh_error *err;
} compiler;

static int fail(compiler *c, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(compiler *c, int line, const char *fmt, ...)
{
    char msg[PGH_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return pgh_error_set(c->err, PGH_ECONFIG, "%s:%d: %s", c->r->file, line, msg);
}

static int oom(compiler *c)
{
    return pgh_error_set(c->err, PGH_ENOMEM, "out of memory");
}

/* The rules of a table "schema.name" or "name" (the qualified entry first), or NULL. */
static const rules_table *find_table(const pgh_rules *r, const char *schema, const char *name)
{
    const rules_table *bare = NULL;
    size_t sl = strlen(schema);
    for (size_t i = 0; i < r->ntables; i++) {
        const char *t = r->tables[i].name;
        if (strncmp(t, schema, sl) == 0 && t[sl] == '.' && strcmp(t + sl + 1, name) == 0)
            return &r->tables[i];
        if (strcmp(t, name) == 0)
            bare = &r->tables[i];
    }
    return bare;
}

int pgh_rules__check_tables(const pgh_rules *r, const char *const *schemas,
                            const char *const *names, size_t n, pgh_error *err)
{
    for (size_t t = 0; t < r->ntables; t++) {
        bool found = false;
        for (size_t i = 0; !found && i < n; i++)
            found = find_table(r, schemas[i], names[i]) == &r->tables[t];
        if (!found)
            return pgh_error_set(err, PGH_ECONFIG,
                                 "%s:%d: table %s is not one this run replicates: check its "
                                 "name (\"schema.table\" or \"table\") against tables:",
                                 r->file, r->tables[t].line, r->tables[t].name);
    }
    return 0;
}

static int column(compiler *c, int line, const char *name, int *out)
{
    for (int i = 0; i < c->rel->ncols; i++) {
        if (strcmp(c->rel->cols[i].name, name) == 0) {
            *out = i;
            return 0;
        }
    }
    return fail(c, line, "table %s.%s has no column \"%s\"", c->rel->nspname, c->rel->relname,
                name);
}

static const char *col_name(compiler *c, int i)
{
    return c->rel->cols[i].name;
}

static value_class col_class(compiler *c, int i)
{
    return pgh_rules__class(c->rel->cols[i].type_oid);
}

static bool op_allowed(cond_op op, value_class vc)
{
    switch (op) {
    case OP_GT:
    case OP_LT:
    case OP_GTE:
    case OP_LTE:
        return vc != VC_OTHER && vc != VC_BOOL;
    case OP_CONTAINS:
        return vc == VC_TEXT;
    default:
        return true;
    }
}

static int compile_cond(compiler *c, ccond *cc, const rule_cond *rc)
{
    cc->c = rc;
    int e = column(c, rc->line, rc->column, &cc->col);
    if (e != 0)
        return e;
    cc->vc = col_class(c, cc->col);
    if (!op_allowed(rc->op, cc->vc))
        return fail(c, rc->line, "operator %s does not apply to column %s, which is %s",
                    pgh_rules__op_name(rc->op), rc->column, pgh_rules__class_name(cc->vc));
    if (rc->nvalues && (cc->vals = calloc(rc->nvalues, sizeof(*cc->vals))) == NULL)
        return oom(c);
    for (size_t i = 0; i < rc->nvalues; i++) {
        const rule_scalar *s = &rc->values[i];
        if (!pgh_rules__value_parse(&cc->vals[i], cc->vc, s->text, strlen(s->text)) ||
            (cc->vc == VC_FLOAT && cc->vals[i].f != cc->vals[i].f))
            return fail(c, rc->line, "value \"%s\" is not %s, the type of column %s", s->text,
                        pgh_rules__class_name(cc->vc), rc->column);
    }
    return 0;
}

static int add_filter(compiler *c, const rule *ru)
{
    cfilter *f = &c->p->filters[c->p->nfilters++];
    f->ru = ru;
    if ((f->conds = calloc(ru->nconds, sizeof(*f->conds))) == NULL)
        return oom(c);
    for (size_t i = 0; i < ru->nconds; i++) {
        int rc = compile_cond(c, &f->conds[i], &ru->conds[i]);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int add_transform(compiler *c, const rule *ru, int col)
{
    value_class vc = col_class(c, col);
    if ((ru->kind == RULE_MASK || ru->kind == RULE_REGEX) && vc != VC_TEXT)
        return fail(c, ru->line, "a %s transform applies to text columns; column %s is %s",
                    ru->kind == RULE_MASK ? "mask" : "regex", ru->column,
                    pgh_rules__class_name(vc));
    if (ru->kind == RULE_SET_NULL && c->rel->cols[col].is_key)
        return fail(c, ru->line, "set_null on key column %s: rows would lose their key",
                    ru->column);
    c->p->xf[c->p->nxf++] = (cxf){ru, col};
    return 0;
}

static int apply_columns(compiler *c, const rule *ru)
{
    bool *listed = calloc(c->rel->ncols + 1, sizeof(bool));
    int rc = listed ? 0 : oom(c);
    for (size_t i = 0; rc == 0 && i < ru->nnames; i++) {
        int col = 0;
        rc = column(c, ru->line, ru->names[i], &col);
        if (rc == 0)
            listed[col] = true;
    }
    for (int i = 0; rc == 0 && i < c->rel->ncols; i++) {
        bool drop = ru->include ? !listed[i] : listed[i];
        if (drop && c->rel->cols[i].is_key)
            rc = fail(c, ru->line, "key column %s cannot be left out: rows are found by it",
                      col_name(c, i));
        else if (drop)
            c->keep[i] = false;
    }
    free(listed);
    return rc;
}

static int compile_rule(compiler *c, const rule *ru)
{
    int col = -1;
    int rc = ru->column ? column(c, ru->line, ru->column, &col) : 0;
    if (rc != 0)
        return rc;
    switch (ru->kind) {
    case RULE_FILTER:
        return add_filter(c, ru);
    case RULE_COLUMNS:
        return apply_columns(c, ru);
    case RULE_RENAME:
        c->names[col] = ru->to;
        return 0;
    default:
        return add_transform(c, ru, col);
    }
}

static bool hashed(const pgh_rules_plan *p, int col)
{
    for (size_t i = 0; i < p->nxf; i++) {
        if (p->xf[i].col == col && p->xf[i].ru->kind == RULE_HASH)
            return true;
    }
    return false;
}

/* The relation the destination sees: kept columns, new names, hashed ones as text. */
static int build_out(compiler *c, int line)
{
    pgh_rules_plan *p = c->p;
    pgh_relation *o = &p->out;
    *o = (pgh_relation){.oid = c->rel->oid, .replident = c->rel->replident};
    o->nspname = strdup(c->rel->nspname);
    o->relname = strdup(c->rel->relname);
    o->cols = calloc(c->rel->ncols + 1, sizeof(*o->cols));
    p->out_src = calloc(c->rel->ncols + 1, sizeof(int));
    p->dest_names = calloc(c->rel->ncols + 1, sizeof(char *));
    if (!o->nspname || !o->relname || !o->cols || !p->out_src || !p->dest_names)
        return oom(c);
    for (int i = 0; i < c->rel->ncols; i++) {
        if (!c->keep[i])
            continue;
        for (int j = 0; j < o->ncols; j++) {
            if (strcmp(o->cols[j].name, c->names[i]) == 0)
                return fail(c, line, "table %s.%s would send two columns named %s: check its "
                            "renames", c->rel->nspname, c->rel->relname, c->names[i]);
        }
        pgh_column *oc = &o->cols[o->ncols];
        *oc = c->rel->cols[i];
        if ((oc->name = strdup(c->names[i])) == NULL)
            return oom(c);
        if (hashed(p, i)) {
            oc->type_oid = 25;
            oc->typmod = -1;
        }
        p->dest_names[i] = oc->name;
        p->renames = p->renames || strcmp(oc->name, c->rel->cols[i].name) != 0;
        p->out_src[o->ncols++] = i;
    }
    p->renames = p->renames || o->ncols != c->rel->ncols;
    return 0;
}

/* A filter for DELETE on a column the old row does not carry would drop deletes of rows the
 * destination holds: refused unless the table sends whole old rows or deletes pass. */
static int check_deletes(compiler *c)
{
    if (c->rel->replident == 'f')
        return 0;
    for (size_t i = 0; i < c->p->nfilters; i++) {
        const cfilter *f = &c->p->filters[i];
        if (!(f->ru->ops & RULE_OP_DELETE) || f->ru->allow_empty_deletes)
            continue;
        for (size_t j = 0; j < f->ru->nconds; j++) {
            if (!c->p->src_key[f->conds[j].col])
                return fail(c, f->conds[j].c->line,
                            "the filter on %s applies to DELETE, but deletes of %s.%s carry "
                            "only its key: set allow_empty_deletes: true (deletes pass), leave "
                            "DELETE out of operations, or ALTER TABLE ... REPLICA IDENTITY FULL",
                            f->conds[j].c->column, c->rel->nspname, c->rel->relname);
        }
    }
    return 0;
}

static int check_keyed(pgh_rules_plan *p, const pgh_relation *rel, pgh_error *err);

static int compile(compiler *c, const rules_table *t, bool keyed)
{
    pgh_rules_plan *p = c->p;
    p->rules = c->r;
    p->table = t;
    p->nsrc = c->rel->ncols;
    p->src_key = calloc(p->nsrc + 1, sizeof(bool));
    p->src_names = calloc(p->nsrc + 1, sizeof(char *));
    for (int i = 0; p->src_names && i < p->nsrc; i++) {
        if ((p->src_names[i] = strdup(c->rel->cols[i].name)) == NULL)
            return oom(c);
    }
    p->xf = calloc(t->n + 1, sizeof(*p->xf));
    p->filters = calloc(t->n + 1, sizeof(*p->filters));
    c->keep = calloc(p->nsrc + 1, sizeof(bool));
    c->names = calloc(p->nsrc + 1, sizeof(char *));
    if (!p->src_key || !p->xf || !p->filters || !c->keep || !c->names)
        return oom(c);
    for (int i = 0; i < p->nsrc; i++) {
        p->src_key[i] = c->rel->cols[i].is_key;
        c->keep[i] = true;
        c->names[i] = c->rel->cols[i].name;
    }
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < t->n; i++)
        rc = compile_rule(c, &t->rules[i]);
    if (rc == 0)
        rc = keyed ? check_keyed(p, c->rel, c->err) : check_deletes(c);
    return rc == 0 ? build_out(c, t->line) : rc;
}

int pgh_rules__compile(pgh_rules_plan **out, const pgh_rules *r, const pgh_relation *rel,
                       bool keyed, pgh_error *err)
{
    *out = NULL;
    const rules_table *t = find_table(r, rel->nspname, rel->relname);
    if (t == NULL)
        return 0;
    compiler c = {.r = r, .rel = rel, .p = calloc(1, sizeof(pgh_rules_plan)), .err = err};
    int rc = c.p ? compile(&c, t, keyed) : oom(&c);
    free(c.keep);
    free(c.names);
    if (rc != 0) {
        pgh_rules__plan_free(c.p);
        return rc;
    }
    *out = c.p;
    return 0;
}

void pgh_rules__plan_free(pgh_rules_plan *p)
{
    if (p == NULL)
        return;
    for (int i = 0; p->out.cols && i < p->out.ncols; i++)
        free(p->out.cols[i].name);
    free(p->out.cols);
    free(p->out.nspname);
    free(p->out.relname);
    free(p->out_src);
    free(p->dest_names);
    for (int i = 0; p->src_names && i < p->nsrc; i++)
        free(p->src_names[i]);
    free(p->src_names);
    free(p->src_key);
    free(p->xf);
    for (size_t i = 0; i < p->nfilters; i++) {
        for (size_t j = 0; j < p->filters[i].ru->nconds && p->filters[i].conds; j++)
            free(p->filters[i].conds[j].vals);
        free(p->filters[i].conds);
    }
    free(p->filters);
    free(p);
}

const pgh_relation *pgh_rules__plan_relation(const pgh_rules_plan *p)
{
    return &p->out;
}

int pgh_rules__plan_column(const pgh_rules_plan *p, const char *name)
{
    for (int i = 0; i < p->nsrc; i++) {
        if (strcmp(p->src_names[i], name) == 0)
            return i;
    }
    return -1;
}

pgh_column_map pgh_rules__plan_colmap(const pgh_rules_plan *p)
{
    return (pgh_column_map){.ncolumns = p->renames ? p->nsrc : 0,
                            .source = (const char *const *)p->src_names,
                            .dest = p->dest_names};
}

int pgh_rules__plan_out_of(const pgh_rules_plan *p, int src)
{
    for (int i = 0; i < p->out.ncols; i++) {
        if (p->out_src[i] == src)
            return i;
    }
    return -1;
}

static const char *const KEYED_WHY =
    "with the PostgreSQL destination (rows are found and copied again by their key)";

/* One rule against the keyed destination's needs (see plan.h). */
static int check_keyed_rule(const pgh_rules_plan *p, const pgh_relation *rel, const rule *ru,
                            pgh_error *err)
{
    const char *file = p->rules->file;
    int col = ru->column ? pgh_rules__plan_column(p, ru->column) : -1;
    if (ru->kind == RULE_RENAME || ru->kind == RULE_COLUMNS)
        return 0; /* the destination's columns follow (pgh_rules__plan_colmap) */
    if (ru->kind != RULE_FILTER && col >= 0 && p->src_key[col])
        return pgh_error_set(err, PGH_ECONFIG, "%s:%d: a transform of key column %s is refused "
                             "%s: keys must stay the source's", file, ru->line, ru->column,
                             KEYED_WHY);
    if (ru->kind == RULE_HASH && col >= 0 && pgh_rules__class(rel->cols[col].type_oid) != VC_TEXT)
        return pgh_error_set(err, PGH_ECONFIG, "%s:%d: a hash is text, and column %s is not: the "
                             "PostgreSQL destination's table keeps the source's type", file,
                             ru->line, ru->column);
    if (ru->kind != RULE_FILTER)
        return 0;
    if ((ru->ops & RULE_OP_ALL) != RULE_OP_ALL)
        return pgh_error_set(err, PGH_ECONFIG, "%s:%d: a filter applies to INSERT, UPDATE and "
                             "DELETE %s: a row kept out by one would make another diverge",
                             file, ru->line, KEYED_WHY);
    for (size_t i = 0; i < ru->nconds; i++) {
        int c = pgh_rules__plan_column(p, ru->conds[i].column);
        if (c >= 0 && !p->src_key[c] && rel->replident != 'f')
            return pgh_error_set(err, PGH_ECONFIG, "%s:%d: a filter on %s needs REPLICA IDENTITY "
                                 "FULL on %s.%s %s, as PostgreSQL's own row filters do: ALTER "
                                 "TABLE ... REPLICA IDENTITY FULL, or filter on key columns",
                                 file, ru->conds[i].line, ru->conds[i].column, rel->nspname,
                                 rel->relname, KEYED_WHY);
    }
    return 0;
}

static int check_keyed(pgh_rules_plan *p, const pgh_relation *rel, pgh_error *err)
{
    for (size_t i = 0; i < p->table->n; i++) {
        int rc = check_keyed_rule(p, rel, &p->table->rules[i], err);
        if (rc != 0)
            return rc;
    }
    p->strict_deletes = true;
    return 0;
}

void pgh_rules__plan_keys_as(pgh_rules_plan *p, const pgh_relation *rel)
{
    for (int i = 0; i < p->out.ncols; i++) {
        if (p->out_src[i] < rel->ncols)
            p->out.cols[i].is_key = rel->cols[p->out_src[i]].is_key;
    }
}
