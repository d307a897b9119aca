/*
 * Private to src/pipeline: the rules in front of a destination (rules_dest.c: every callback
 * of pghost/destination.h; rules_keyed.c: those of pghost/keyed.h, for the PostgreSQL
 * destination's copy + catch-up).
 */
#ifndef PGH_PIPELINE_RULES_DEST_H
#define PGH_PIPELINE_RULES_DEST_H

#include "pghost/keyed.h"
#include "pipeline_internal.h"
#include "rules/plan.h"

typedef struct plan_entry {
    uint32_t oid;
    const pgh_relation *src;  /* borrowed: the relation the plan was compiled for */
    pgh_rules_plan *plan;     /* owned; NULL: no rules for this table */
} plan_entry;

struct rules_dest {
    pgh_destination_ops ops;         /* ours, named and flagged as the real one */
    pgh_keyed_ops keyed_ops;         /* ours when the real one has keyed callbacks */
    bool keyed;                      /* the real destination is keyed: plans are checked so */
    const pgh_rules *rules;          /* borrowed */
    const pgh_destination_ops *real; /* borrowed */
    void *user;                      /* borrowed: the real destination's */
    plan_entry *plans;               /* owned, nplans entries: by stream relation */
    size_t nplans, cap;
    pgh_rules_plan **table_plans;    /* owned, ntables entries (NULL: no rules): by the run's
                                        table index, compiled at the start */
    int ntables;
    pgh_rules_row row_new, row_old;  /* one change's rows */
    pgh_rules_row *rows;             /* owned, nrows: a table_rows call's rows */
    pgh_tuple *tuples;               /* owned, nrows */
    size_t nrows;
    pgh_rules_row recopy;            /* replace_row's */
};

/* rules_keyed.c: fill d->keyed_ops from d->real->keyed (NULL stays NULL). */
void pgh_pipeline__rules_keyed_ops(rules_dest *d);

#endif
