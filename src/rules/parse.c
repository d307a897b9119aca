/*
 * The rules file (pg_flo's format, plus pghost's additions; docs/rules.md):
 *
 *   tables:
 *     <table or schema.table>:
 *       - type: transform | filter | rename | columns
 *         column: <name>                  (not for columns, nor for a filter with any/all)
 *         parameters: {...}               per type, below
 *         operations: [INSERT, UPDATE, DELETE]     (default: all three)
 *         allow_empty_deletes: true|false          (also accepted inside parameters)
 *
 *   transform parameters: type: mask (mask_char) | regex (pattern, replace) | hash | set_null
 *   filter parameters:    operator: eq|ne|gt|lt|gte|lte|contains|in|is_null, value
 *                         or any: / all: [ {column, operator, value}, ... ]
 *   rename parameters:    to: <new name>
 *   columns parameters:   include: [names] | exclude: [names]
 *
 * One YAML document read with libyaml's document API; every error names the file and line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "rules_int.h"

typedef struct parser {
    pgh_rules *r;
    yaml_document_t *doc;
    pgh_error *err;
} parser;

static int line_of(const yaml_node_t *n)
{
    return n ? (int)n->start_mark.line + 1 : 0;
}

static int fail(parser *p, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(parser *p, const yaml_node_t *n, const char *fmt, ...)
{
    char msg[PGH_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return pgh_error_set(p->err, PGH_ECONFIG, "%s:%d: %s", p->r->file, line_of(n), msg);
}

static const char *scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static bool quoted(const yaml_node_t *n)
{
    return n->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
           n->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
}

static int need_string(parser *p, const yaml_node_t *n, const char *what, char **out)
{
    const char *s = scalar(n);
    if (s == NULL || (*s == '\0' && !quoted(n)))
        return fail(p, n, "%s must be a string", what);
    free(*out);
    *out = strdup(s);
    return *out ? 0 : pgh_error_set(p->err, PGH_ENOMEM, "out of memory");
}

static int need_bool(parser *p, const yaml_node_t *n, const char *what, bool *out)
{
    const char *s = scalar(n);
    if (s && !quoted(n) && (strcasecmp(s, "true") == 0 || strcasecmp(s, "false") == 0)) {
        *out = strcasecmp(s, "true") == 0;
        return 0;
    }
    return fail(p, n, "%s must be true or false", what);
}

static int need_scalar(parser *p, const yaml_node_t *n, const char *what, rule_scalar *out)
{
    const char *s = scalar(n);
    if (s == NULL)
        return fail(p, n, "%s must be a single value", what);
    out->quoted = quoted(n);
    out->text = strdup(s);
    return out->text ? 0 : pgh_error_set(p->err, PGH_ENOMEM, "out of memory");
}

/* Walk a mapping: cb(key, value) for each pair; keys must be strings. */
typedef int (*pair_fn)(parser *p, const char *key, yaml_node_t *k, yaml_node_t *v, void *payload);

static int each_pair(parser *p, yaml_node_t *map, const char *what, pair_fn cb, void *payload)
{
    if (map == NULL || map->type != YAML_MAPPING_NODE)
        return fail(p, map, "%s must be a mapping", what);
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start;
         pr < map->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = yaml_document_get_node(p->doc, pr->key);
        yaml_node_t *v = yaml_document_get_node(p->doc, pr->value);
        const char *key = scalar(k);
        if (key == NULL)
            return fail(p, k, "%s: keys must be names", what);
        int rc = cb(p, key, k, v, payload);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int seq_len(parser *p, yaml_node_t *n, const char *what, size_t *out)
{
    if (n == NULL || n->type != YAML_SEQUENCE_NODE)
        return fail(p, n, "%s must be a list", what);
    *out = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    return 0;
}

static yaml_node_t *seq_item(parser *p, yaml_node_t *n, size_t i)
{
    return yaml_document_get_node(p->doc, n->data.sequence.items.start[i]);
}

static int read_operations(parser *p, yaml_node_t *n, unsigned *out)
{
    static const char *const names[] = {"INSERT", "UPDATE", "DELETE"};
    size_t len = 0;
    int rc = seq_len(p, n, "operations", &len);
    *out = 0;
    for (size_t i = 0; rc == 0 && i < len; i++) {
        yaml_node_t *it = seq_item(p, n, i);
        const char *s = scalar(it);
        size_t j = 0;
        while (s && j < 3 && strcasecmp(s, names[j]) != 0)
            j++;
        if (s == NULL || j == 3)
            return fail(p, it, "operations: %s%s%s is not one of INSERT, UPDATE, DELETE",
                        s ? "\"" : "", s ? s : "a non-scalar", s ? "\"" : "");
        *out |= 1u << j;
    }
    if (rc == 0 && *out == 0)
        return fail(p, n, "operations is empty: leave it out to apply the rule to every "
                          "operation");
    return rc;
}

static int read_names(parser *p, yaml_node_t *n, const char *what, rule *ru)
{
    size_t len = 0;
    int rc = seq_len(p, n, what, &len);
    if (rc == 0 && len == 0)
        return fail(p, n, "%s is empty", what);
    if (rc == 0 && (ru->names = calloc(len, sizeof(char *))) == NULL)
        return pgh_error_set(p->err, PGH_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < len; i++, ru->nnames++)
        rc = need_string(p, seq_item(p, n, i), what, &ru->names[i]);
    return rc;
}

static const char *const OPS[] = {"eq", "ne", "gt", "lt", "gte", "lte", "contains", "in",
                                  "is_null"};

const char *pgh_rules__op_name(cond_op op)
{
    return OPS[op];
}

static int read_operator(parser *p, yaml_node_t *n, cond_op *out)
{
    const char *s = scalar(n);
    for (size_t i = 0; s && i < sizeof(OPS) / sizeof(OPS[0]); i++) {
        if (strcmp(s, OPS[i]) == 0) {
            *out = (cond_op)i;
            return 0;
        }
    }
    return fail(p, n, "operator must be one of eq, ne, gt, lt, gte, lte, contains, in, is_null");
}

/* A condition's value(s), once its operator is known. */
static int read_cond_value(parser *p, rule_cond *c, yaml_node_t *v)
{
    if (c->op == OP_IS_NULL)
        return v ? need_bool(p, v, "value of is_null", &c->want_null) : 0;
    if (v == NULL)
        return fail(p, NULL, "a filter needs a value");
    size_t len = 1;
    int rc = c->op == OP_IN ? seq_len(p, v, "value of in", &len) : 0;
    if (rc == 0 && len == 0)
        return fail(p, v, "value of in is an empty list");
    if (rc == 0 && (c->values = calloc(len, sizeof(*c->values))) == NULL)
        return pgh_error_set(p->err, PGH_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < len; i++, c->nvalues++)
        rc = need_scalar(p, c->op == OP_IN ? seq_item(p, v, i) : v, "value", &c->values[i]);
    return rc;
}

/* What a filter's parameters (or one condition of any/all) hold, before checks. */
typedef struct cond_parts {
    yaml_node_t *column, *op, *value, *any, *all, *mapping;
    rule *ru; /* for allow_empty_deletes inside parameters */
} cond_parts;

static int cond_pair(parser *p, const char *key, yaml_node_t *k, yaml_node_t *v, void *payload)
{
    cond_parts *cp = payload;
    if (strcmp(key, "column") == 0)
        cp->column = v;
    else if (strcmp(key, "operator") == 0)
        cp->op = v;
    else if (strcmp(key, "value") == 0)
        cp->value = v;
    else if (cp->ru && strcmp(key, "any") == 0)
        cp->any = v;
    else if (cp->ru && strcmp(key, "all") == 0)
        cp->all = v;
    else if (cp->ru && strcmp(key, "allow_empty_deletes") == 0)
        return need_bool(p, v, "allow_empty_deletes", &cp->ru->allow_empty_deletes);
    else if (cp->ru && strcmp(key, "operations") == 0)
        return read_operations(p, v, &cp->ru->ops);
    else
        return fail(p, k, "unknown filter parameter \"%s\" (column, operator, value%s)", key,
                    cp->ru ? ", any, all, allow_empty_deletes" : "");
    return 0;
}

static int read_cond(parser *p, rule_cond *c, const cond_parts *cp, yaml_node_t *where)
{
    c->line = line_of(where);
    c->want_null = true;
    if (cp->op == NULL)
        return fail(p, where, "a filter needs an operator");
    int rc = read_operator(p, cp->op, &c->op);
    if (rc == 0)
        rc = need_string(p, cp->column, "column", &c->column);
    return rc == 0 ? read_cond_value(p, c, cp->value) : rc;
}

static int read_group(parser *p, rule *ru, yaml_node_t *list)
{
    size_t len = 0;
    int rc = seq_len(p, list, ru->any ? "any" : "all", &len);
    if (rc == 0 && len == 0)
        return fail(p, list, "%s is an empty list", ru->any ? "any" : "all");
    if (rc == 0 && (ru->conds = calloc(len, sizeof(*ru->conds))) == NULL)
        return pgh_error_set(p->err, PGH_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < len; i++, ru->nconds++) {
        yaml_node_t *it = seq_item(p, list, i);
        cond_parts cp = {.mapping = it};
        rc = each_pair(p, it, "a condition", cond_pair, &cp);
        if (rc == 0)
            rc = read_cond(p, &ru->conds[i], &cp, it);
    }
    return rc;
}

static int read_filter(parser *p, rule *ru, yaml_node_t *params, yaml_node_t *column)
{
    cond_parts cp = {.ru = ru, .column = column};
    int rc = each_pair(p, params, "parameters", cond_pair, &cp);
    if (rc != 0)
        return rc;
    if (cp.any || cp.all) {
        if (cp.any && cp.all)
            return fail(p, params, "a filter takes any or all, not both: write two filter rules (every filter must pass)");
        if (cp.op || cp.value || column)
            return fail(p, params, "a filter with %s takes its column, operator and value in "
                                   "each condition", cp.any ? "any" : "all");
        ru->any = cp.any != NULL;
        return read_group(p, ru, cp.any ? cp.any : cp.all);
    }
    if (column == NULL)
        return fail(p, params, "a filter needs a column");
    if ((ru->conds = calloc(1, sizeof(*ru->conds))) == NULL)
        return pgh_error_set(p->err, PGH_ENOMEM, "out of memory");
    ru->nconds = 1;
    rc = read_cond(p, ru->conds, &cp, params);
    ru->conds[0].line = ru->line; /* one condition: the rule's line names it */
    return rc;
}

/* The parameters of transform, rename and columns rules. */
static int param_pair(parser *p, const char *key, yaml_node_t *k, yaml_node_t *v, void *payload)
{
    rule *ru = payload;
    if (strcmp(key, "allow_empty_deletes") == 0)
        return need_bool(p, v, key, &ru->allow_empty_deletes);
    if (strcmp(key, "operations") == 0)
        return read_operations(p, v, &ru->ops);
    if (ru->kind == RULE_MASK && strcmp(key, "mask_char") == 0)
        return need_string(p, v, key, &ru->mask_char);
    if (ru->kind == RULE_REGEX && strcmp(key, "pattern") == 0)
        return need_string(p, v, key, &ru->pattern);
    if (ru->kind == RULE_REGEX && strcmp(key, "replace") == 0) {
        const char *s = scalar(v);
        ru->replace = s ? strdup(s) : NULL; /* may be empty: removes the match */
        return s ? (ru->replace ? 0 : PGH_ENOMEM) : fail(p, v, "replace must be a string");
    }
    if (ru->kind == RULE_RENAME && strcmp(key, "to") == 0)
        return need_string(p, v, key, &ru->to);
    if (ru->kind == RULE_COLUMNS && (strcmp(key, "include") == 0 || strcmp(key, "exclude") == 0)) {
        if (ru->names)
            return fail(p, k, "columns takes include or exclude, not both");
        ru->include = key[1] == 'n';
        return read_names(p, v, key, ru);
    }
    if (strcmp(key, "type") == 0 && (ru->kind == RULE_MASK || ru->kind == RULE_REGEX ||
                                     ru->kind == RULE_HASH || ru->kind == RULE_SET_NULL))
        return 0; /* read before */
    return fail(p, k, "unknown parameter \"%s\" for this rule (see docs/rules.md)", key);
}

static int transform_kind(parser *p, yaml_node_t *params, rule *ru)
{
    static const char *const names[] = {"mask", "regex", "hash", "set_null"};
    static const rule_kind kinds[] = {RULE_MASK, RULE_REGEX, RULE_HASH, RULE_SET_NULL};
    if (params == NULL || params->type != YAML_MAPPING_NODE)
        return fail(p, params, "a transform needs parameters with a type");
    yaml_node_t *t = NULL;
    for (yaml_node_pair_t *pr = params->data.mapping.pairs.start;
         pr < params->data.mapping.pairs.top; pr++) {
        const char *key = scalar(yaml_document_get_node(p->doc, pr->key));
        if (key && strcmp(key, "type") == 0)
            t = yaml_document_get_node(p->doc, pr->value);
    }
    const char *s = scalar(t);
    for (size_t i = 0; s && i < 4; i++) {
        if (strcmp(s, names[i]) == 0) {
            ru->kind = kinds[i];
            return 0;
        }
    }
    return fail(p, t ? t : params, "transform type must be mask, regex, hash or set_null");
}

static int compile_regex(parser *p, rule *ru, yaml_node_t *where)
{
    if (ru->pattern == NULL || ru->replace == NULL)
        return fail(p, where, "a regex transform needs pattern and replace");
    int code = 0;
    PCRE2_SIZE off = 0;
    ru->re = pcre2_compile((PCRE2_SPTR)ru->pattern, PCRE2_ZERO_TERMINATED,
                           PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &code, &off, NULL);
    if (ru->re == NULL) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof(msg));
        return fail(p, where, "pattern does not compile at offset %zu: %s", (size_t)off,
                    (const char *)msg);
    }
    (void)pcre2_jit_compile(ru->re, PCRE2_JIT_COMPLETE); /* the interpreter when no JIT */
    return 0;
}

/* A rule's own keys, gathered before its parameters are read (they depend on its type). */
typedef struct rule_parts {
    yaml_node_t *type, *column, *params;
    rule *ru;
} rule_parts;

static int rule_pair(parser *p, const char *key, yaml_node_t *k, yaml_node_t *v, void *payload)
{
    rule_parts *rp = payload;
    if (strcmp(key, "type") == 0)
        rp->type = v;
    else if (strcmp(key, "column") == 0)
        rp->column = v;
    else if (strcmp(key, "parameters") == 0)
        rp->params = v;
    else if (strcmp(key, "operations") == 0)
        return read_operations(p, v, &rp->ru->ops);
    else if (strcmp(key, "allow_empty_deletes") == 0)
        return need_bool(p, v, key, &rp->ru->allow_empty_deletes);
    else
        return fail(p, k, "unknown rule key \"%s\" (type, column, parameters, operations, "
                          "allow_empty_deletes)", key);
    return 0;
}

static int read_typed(parser *p, rule *ru, const rule_parts *rp, yaml_node_t *n)
{
    const char *t = scalar(rp->type);
    int rc = 0;
    if (t && strcmp(t, "filter") == 0) {
        ru->kind = RULE_FILTER;
        return read_filter(p, ru, rp->params, rp->column);
    }
    if (t && strcmp(t, "transform") == 0)
        rc = transform_kind(p, rp->params, ru);
    else if (t && strcmp(t, "rename") == 0)
        ru->kind = RULE_RENAME;
    else if (t && strcmp(t, "columns") == 0)
        ru->kind = RULE_COLUMNS;
    else
        return fail(p, rp->type ? rp->type : n,
                    "rule type must be transform, filter, rename or columns");
    if (rc == 0 && ru->kind != RULE_COLUMNS)
        rc = rp->column ? need_string(p, rp->column, "column", &ru->column)
                        : fail(p, n, "this rule needs a column");
    if (rc == 0 && ru->kind == RULE_COLUMNS && rp->column)
        return fail(p, rp->column, "a columns rule names its columns in include or exclude");
    if (rc == 0 && rp->params)
        rc = each_pair(p, rp->params, "parameters", param_pair, ru);
    else if (rc == 0 && ru->kind != RULE_HASH && ru->kind != RULE_SET_NULL)
        return fail(p, n, "this rule needs parameters");
    if (rc == 0 && ru->kind == RULE_MASK && (ru->mask_char == NULL || !*ru->mask_char))
        return fail(p, rp->params, "a mask transform needs mask_char");
    if (rc == 0 && ru->kind == RULE_REGEX)
        rc = compile_regex(p, ru, rp->params);
    if (rc == 0 && ru->kind == RULE_RENAME && ru->to == NULL)
        return fail(p, rp->params, "a rename needs to: the new name");
    if (rc == 0 && ru->kind == RULE_COLUMNS && ru->names == NULL)
        return fail(p, rp->params, "a columns rule needs include or exclude");
    if (rc == 0 && ru->kind == RULE_HASH && p->r->salt == NULL)
        return fail(p, n, "a hash transform needs a secret salt: none was given (the pghost "
                          "command reads it from PGHOST_RULES_HASH_SALT)");
    return rc;
}

static int read_rule(parser *p, rule *ru, yaml_node_t *n)
{
    ru->line = line_of(n);
    ru->ops = 0;
    rule_parts rp = {.ru = ru};
    int rc = each_pair(p, n, "a rule", rule_pair, &rp);
    if (rc == 0)
        rc = read_typed(p, ru, &rp, n);
    if (rc == 0 && ru->ops == 0)
        ru->ops = RULE_OP_ALL;
    return rc;
}

static int table_pair(parser *p, const char *key, yaml_node_t *k, yaml_node_t *v, void *payload)
{
    (void)payload;
    pgh_rules *r = p->r;
    for (size_t i = 0; i < r->ntables; i++) {
        if (strcmp(r->tables[i].name, key) == 0)
            return fail(p, k, "table %s is listed twice", key);
    }
    rules_table *t = &r->tables[r->ntables];
    size_t len = 0;
    int rc = seq_len(p, v, "a table's rules", &len);
    if (rc != 0)
        return rc;
    t->name = strdup(key);
    t->line = line_of(k);
    t->rules = calloc(len + 1, sizeof(*t->rules));
    r->ntables++;
    if (t->name == NULL || t->rules == NULL)
        return pgh_error_set(p->err, PGH_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < len; i++, t->n++)
        rc = read_rule(p, &t->rules[i], seq_item(p, v, i));
    return rc;
}

static int top_pair(parser *p, const char *key, yaml_node_t *k, yaml_node_t *v, void *payload)
{
    (void)payload;
    if (strcmp(key, "tables") != 0)
        return fail(p, k, "unknown key \"%s\": a rules file holds tables:", key);
    if (v == NULL || v->type != YAML_MAPPING_NODE)
        return fail(p, v, "tables must be a mapping from table names to lists of rules");
    size_t n = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
    p->r->tables = calloc(n + 1, sizeof(*p->r->tables));
    if (p->r->tables == NULL)
        return pgh_error_set(p->err, PGH_ENOMEM, "out of memory");
    return each_pair(p, v, "tables", table_pair, NULL);
}

int pgh_rules__parse(pgh_rules *r, const char *text, size_t len, pgh_error *err)
{
    yaml_parser_t yp;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&yp))
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    yaml_parser_set_input_string(&yp, (const unsigned char *)text, len);
    if (!yaml_parser_load(&yp, &doc)) {
        int rc = pgh_error_set(err, PGH_ECONFIG, "%s:%zu: not valid YAML: %s", r->file,
                               yp.problem_mark.line + 1,
                               yp.problem ? yp.problem : "unreadable");
        yaml_parser_delete(&yp);
        return rc;
    }
    parser p = {.r = r, .doc = &doc, .err = err};
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    int rc = root ? each_pair(&p, root, "the rules file", top_pair, NULL)
                  : pgh_error_set(err, PGH_ECONFIG, "%s: empty: a rules file holds tables:",
                                  r->file);
    if (rc == 0 && r->tables == NULL)
        rc = pgh_error_set(err, PGH_ECONFIG, "%s: no tables: key: a rules file holds tables:",
                           r->file);
    yaml_document_delete(&doc);
    yaml_parser_delete(&yp);
    return rc;
}
