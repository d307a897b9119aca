/*
 * rules/plan.h - a rules file compiled against one table, and applied to its rows.
 *
 * The pipeline (src/pipeline/rules_dest.c) compiles a plan per source table from the table's
 * columns (a pgh_relation: names, type OIDs, key flags) and runs every row of that table
 * through it before the destination sees it: the filters decide whether a row is kept, the
 * transforms rewrite its values, and the plan's own relation (columns renamed, excluded,
 * hashed ones as text) replaces the source's. Filters always read the source's values, never
 * transformed ones. A plan borrows the pgh_rules it came from: free the plans first.
 * Single-threaded: one plan and one pgh_rules_row per thread.
 */
#ifndef PGH_RULES_PLAN_H
#define PGH_RULES_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "pghost/change.h"
#include "pghost/error.h"
#include "pghost/keyed.h"
#include "pghost/rules.h"
#include "util/buf.h"

typedef struct pgh_rules_plan pgh_rules_plan;

/* The operation a row comes with (existing rows count as inserts). */
typedef enum pgh_rules_op {
    PGH_RULES_INSERT = 0x1,
    PGH_RULES_UPDATE = 0x2,
    PGH_RULES_DELETE = 0x4,
} pgh_rules_op;

/* What the filters say of a row. UNKNOWN: a column they read is not in the row (an old key
 * without it, an unchanged TOAST value); the caller decides (docs/rules.md). */
typedef enum pgh_rules_match {
    PGH_RULES_NOMATCH = 0,
    PGH_RULES_MATCH = 1,
    PGH_RULES_UNKNOWN = 2,
} pgh_rules_match;

/*
 * Every table the file names must be one of the n tables (schema and name) of the run: a
 * table missing (a typo) is PGH_ECONFIG "rules.yml:3: ...".
 */
int pgh_rules__check_tables(const pgh_rules *r, const char *const *schemas,
                            const char *const *names, size_t n, pgh_error *err);

/*
 * The plan of rel's table: *out NULL (and 0) when the file has no rules for it. A rule naming
 * a column rel lacks, or an operator or transform its type does not allow, is PGH_ECONFIG
 * with the file and line; so is a filter on DELETE reading a column deletes do not carry
 * (rel->replident not 'f') without allow_empty_deletes. rel is borrowed for the call only.
 *
 * keyed: for a keyed destination (the PostgreSQL one), where rows are found, compared and
 * copied again by their key, and a row the destination lacks makes a later UPDATE or DELETE
 * divergence. The plan must then keep key values as they are (no transform of a key column;
 * key columns may be renamed, never left out), and its filters must see every row's passage in
 * and out: on every operation, and on key columns or a REPLICA IDENTITY FULL table, as
 * PostgreSQL's own row filters require. allow_empty_deletes then no longer lets DELETEs pass
 * unread: they are filtered by their old row. Renamed and left-out columns reach the
 * destination through pgh_rules__plan_colmap.
 */
int pgh_rules__compile(pgh_rules_plan **out, const pgh_rules *r, const pgh_relation *rel,
                       bool keyed, pgh_error *err);
void pgh_rules__plan_free(pgh_rules_plan *p);

/* Flag the plan's relation's key columns as rel (the relation it was compiled for, with the
 * same columns) flags them. */
void pgh_rules__plan_keys_as(pgh_rules_plan *p, const pgh_relation *rel);

/* The table as the destination sees it (owned by the plan). */
const pgh_relation *pgh_rules__plan_relation(const pgh_rules_plan *p);
/* Whether the plan has filters for op (a DELETE's with allow_empty_deletes do not count). */
bool pgh_rules__plan_filters(const pgh_rules_plan *p, pgh_rules_op op);

/*
 * Do t's values (one per source column) pass the filters of op? key_only: t is an old key
 * (pgoutput 'K'): its non-key columns carry nothing. other: another tuple of the same row
 * whose values stand in for t's unchanged TOAST ones, or NULL.
 */
pgh_rules_match pgh_rules__match(const pgh_rules_plan *p, pgh_rules_op op, const pgh_tuple *t,
                                 bool key_only, const pgh_tuple *other);

/* A transformed row: its values, and the text the transforms made (owned). */
typedef struct pgh_rules_row {
    pgh_tuple tuple;      /* the result: values borrowed from the input or owned here */
    pgh_value *values;    /* owned, cap entries */
    size_t cap;
    char **texts;         /* owned: the transforms' outputs, ntexts of them */
    size_t ntexts, texts_cap;
} pgh_rules_row;

void pgh_rules_row_init(pgh_rules_row *row);
void pgh_rules_row_dispose(pgh_rules_row *row);

/*
 * row->tuple = t (one value per source column) transformed for op and projected onto the
 * plan's relation. fill: another tuple of the same row (or NULL) whose values replace t's
 * unchanged TOAST ones. Values stay valid until the next call with row and while t's do.
 * A binary value in a transformed column is PGH_ECONFIG.
 */
int pgh_rules__transform(pgh_rules_row *row, const pgh_rules_plan *p, pgh_rules_op op,
                         const pgh_tuple *t, const pgh_tuple *fill, pgh_error *err);

/* The index of the source column named name in the plan, or -1. */
int pgh_rules__plan_column(const pgh_rules_plan *p, const char *name);

/* The index in the plan's relation of source column src, or -1 when it is left out. */
int pgh_rules__plan_out_of(const pgh_rules_plan *p, int src);

/* The plan's columns as a keyed destination's column map (pghost/keyed.h): every source
 * column and its name in the plan's relation (NULL: left out); ncolumns 0 when the plan keeps
 * every column under its own name. Borrowed from the plan. */
pgh_column_map pgh_rules__plan_colmap(const pgh_rules_plan *p);

/* ---- rows of COPY's text format (copytext.c) ---- */

/* One row's fields: values[0..n) point into text (valid until the next parse). */
typedef struct pgh_rules_fields {
    pgh_value *values; /* owned, cap entries */
    size_t *off;       /* owned, cap entries: each value's offset in text */
    size_t n, cap;
    pgh_buf text;      /* owned: the unescaped fields */
} pgh_rules_fields;

void pgh_rules_fields_init(pgh_rules_fields *f);
void pgh_rules_fields_dispose(pgh_rules_fields *f);
/* Split one row (len bytes, without its newline) into fields, unescaped (\N: NULL). */
int pgh_rules__copy_parse(pgh_rules_fields *f, const char *line, size_t len, pgh_error *err);
/* Append n values as one row, escaped, with its newline (NULL, UNCHANGED: \N). */
void pgh_rules__copy_encode(pgh_buf *out, const pgh_value *values, size_t n);

#endif
