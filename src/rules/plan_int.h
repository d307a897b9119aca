/* Private to src/rules: the compiled plan of one table (compile.c builds it, apply.c runs it). */
#ifndef PGH_RULES_PLAN_INT_H
#define PGH_RULES_PLAN_INT_H

#include "rules_int.h"

/* One condition against a column of the table, its values parsed for the column's type. */
typedef struct ccond {
    const rule_cond *c; /* borrowed from the rules */
    int col;            /* source column index */
    value_class vc;
    rule_value *vals;   /* owned, c->nvalues entries (text borrowed from the rules) */
} ccond;

typedef struct cfilter {
    const rule *ru;     /* borrowed */
    ccond *conds;       /* owned, ru->nconds entries */
} cfilter;

typedef struct cxf {
    const rule *ru;     /* borrowed: mask, regex, hash or set_null */
    int col;            /* source column index */
} cxf;

struct pgh_rules_plan {
    const pgh_rules *rules; /* borrowed */
    const rules_table *table; /* borrowed: the rules compiled */
    char **src_names;       /* owned, nsrc entries: the source's column names */
    bool strict_deletes;    /* keyed: allow_empty_deletes does not apply */
    pgh_relation out;       /* owned: the table as the destination sees it */
    int *out_src;           /* owned, out.ncols entries: the source column of each */
    const char **dest_names; /* owned array, nsrc entries: each source column's name in out
                                (borrowed from out), NULL when left out */
    bool renames;           /* out's columns are not the source's (renamed or left out) */
    uint16_t nsrc;          /* source columns */
    bool *src_key;          /* owned, nsrc entries */
    cxf *xf;                /* owned, nxf entries, in file order */
    size_t nxf;
    cfilter *filters;       /* owned, nfilters entries */
    size_t nfilters;
};

#endif
