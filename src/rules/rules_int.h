/*
 * Private to src/rules: the parsed rules file (parse.c), the value types and comparisons
 * (values.c), the transforms (transform.c), the compiled plan of one table (compile.c) and
 * its application to rows (apply.c). See include/pghost/rules.h and docs/rules.md.
 */
#ifndef PGH_RULES_INT_H
#define PGH_RULES_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "pghost/rules.h"
#include "rules/plan.h"

/* Operations a rule applies to (bit mask). */
#define RULE_OP_INSERT 0x1
#define RULE_OP_UPDATE 0x2
#define RULE_OP_DELETE 0x4
#define RULE_OP_ALL 0x7

typedef enum rule_kind {
    RULE_MASK,
    RULE_REGEX,
    RULE_HASH,
    RULE_SET_NULL,
    RULE_RENAME,
    RULE_COLUMNS,
    RULE_FILTER,
} rule_kind;

typedef enum cond_op {
    OP_EQ,
    OP_NE,
    OP_GT,
    OP_LT,
    OP_GTE,
    OP_LTE,
    OP_CONTAINS,
    OP_IN,
    OP_IS_NULL,
} cond_op;

/* A YAML scalar as written: its text and whether it was quoted (a string for sure). */
typedef struct rule_scalar {
    char *text; /* owned */
    bool quoted;
} rule_scalar;

/* One condition of a filter: column operator value(s). */
typedef struct rule_cond {
    char *column;         /* owned */
    cond_op op;
    rule_scalar *values;  /* owned, nvalues entries (one except for in) */
    size_t nvalues;
    bool want_null;       /* is_null: true (default) the value is NULL, false it is not */
    int line;             /* where the condition starts in the rules file */
} rule_cond;

typedef struct rule {
    rule_kind kind;
    int line;                 /* where the rule starts in the rules file */
    char *column;             /* owned; NULL for columns and combined filters */
    unsigned ops;             /* RULE_OP_* it applies to */
    bool allow_empty_deletes; /* DELETE passes every filter (pg_flo) */
    char *mask_char;          /* owned: mask */
    char *pattern;            /* owned: regex */
    char *replace;            /* owned: regex */
    pcre2_code *re;           /* owned: regex, compiled at load (JIT when available) */
    char *to;                 /* owned: rename */
    char **names;             /* owned: columns, nnames entries */
    size_t nnames;
    bool include;             /* columns: names are the ones kept (else the ones dropped) */
    rule_cond *conds;         /* owned: filter, nconds entries */
    size_t nconds;
    bool any;                 /* filter: one condition is enough (else all are needed) */
} rule;

typedef struct rules_table {
    char *name;  /* owned: "table" or "schema.table", as written */
    int line;
    rule *rules; /* owned, n entries, in file order */
    size_t n;
} rules_table;

struct pgh_rules {
    char *file;           /* owned: the file's name as given, for messages */
    rules_table *tables;  /* owned, ntables entries */
    size_t ntables;
    unsigned char *salt;  /* owned, salt_len bytes: the hash rules' secret, or NULL */
    size_t salt_len;
};

/* parse.c: the rules file's text into *r (r->file already set). */
int pgh_rules__parse(pgh_rules *r, const char *text, size_t len, pgh_error *err);

/* values.c: the kind of comparison a column type allows. */
typedef enum value_class {
    VC_OTHER,   /* eq/ne/in on the text form, is_null */
    VC_TEXT,    /* text, varchar, bpchar, name: every operator, byte order */
    VC_INT,     /* int2, int4, int8 */
    VC_FLOAT,   /* float4, float8 */
    VC_NUMERIC, /* numeric: exact decimal */
    VC_BOOL,    /* eq, ne, in */
    VC_TIME,    /* timestamp, timestamptz, date: instants */
} value_class;

value_class pgh_rules__class(uint32_t type_oid);
const char *pgh_rules__class_name(value_class vc);

/* A value parsed for comparisons. */
typedef struct rule_value {
    value_class vc;
    int64_t i;         /* VC_INT, VC_TIME (microseconds since 1970 UTC), VC_BOOL (0/1) */
    double f;          /* VC_FLOAT */
    const char *s;     /* VC_TEXT, VC_OTHER, VC_NUMERIC: borrowed text, len bytes */
    size_t len;
} rule_value;

/* Parse text (len bytes) as a value of class vc; false when it is not one. */
bool pgh_rules__value_parse(rule_value *out, value_class vc, const char *s, size_t len);
/* Compare a and b (same class): <0, 0, >0; *ok false when they do not compare (NaN). */
int pgh_rules__value_cmp(const rule_value *a, const rule_value *b, bool *ok);
/* The operator's name as written ("gte"). */
const char *pgh_rules__op_name(cond_op op);

/* transform.c: the new text of a value (malloc'd into *out, *out_len), or PGH_E* with err. */
int pgh_rules__mask(char **out, size_t *out_len, const char *mask, const char *s, size_t len,
                    pgh_error *err);
int pgh_rules__regex(char **out, size_t *out_len, const rule *ru, const char *s, size_t len,
                     pgh_error *err);
int pgh_rules__hash(char **out, size_t *out_len, const pgh_rules *r, const char *s, size_t len,
                    pgh_error *err);

#endif
