/*
 * Private to the PostgreSQL apply: the per-relation mapping and statement building.
 */
#ifndef PGH_APPLY_INTERNAL_H
#define PGH_APPLY_INTERNAL_H

#include <libpq-fe.h>

#include "pghost/apply.h"
#include "pghost/buf.h"
#include "pghost/catalog.h"
#include "pghost/change.h"

typedef struct apply_stmt {
    char *sql;     /* owned: the statement text, the cache key */
    char name[24]; /* prepared statement name */
    int nparams;
} apply_stmt;

/* A source relation as announced by a Relation message, mapped onto a destination table. */
typedef struct apply_rel {
    uint32_t oid;          /* source relation OID */
    int map;               /* index in the table mapping; -1 when not replicated */
    pgh_table_info *dst;   /* owned; NULL when not replicated */
    int ncols;             /* relation columns */
    char **col_ident;      /* owned: quoted destination column name per relation column */
    int nkeys;
    int *key_att;          /* owned: relation column of each destination key column */
    apply_stmt *stmts;     /* owned: prepared statements of this relation */
    int nstmts;
    int stmt_cap;
} apply_rel;

/* Text parameters gathered from tuples; values are NUL-terminated copies. */
typedef struct apply_params {
    pgh_buf data;        /* owned: the values, each followed by NUL */
    size_t *offsets;     /* owned */
    bool *nulls;         /* owned */
    const char **values; /* owned: pointers into data, built by apply_params_finish */
    int n;
    int cap;
} apply_params;

void pgh_apply__params_init(apply_params *p);
void pgh_apply__params_dispose(apply_params *p);
void pgh_apply__params_reset(apply_params *p);
/* Add a value (NULL for SQL NULL); returns its $number, or 0 when out of memory. */
int pgh_apply__params_add(apply_params *p, const pgh_value *v);
/* Build the pointer array; NULL when out of memory. Valid until the next add or reset. */
const char *const *pgh_apply__params_finish(apply_params *p);

/* Build the mapping of a relation; *out NULL (with no error) when it is not replicated. */
int pgh_apply__rel_build(apply_rel **out, PGconn *conn, const pgh_relation *rel,
                         const pgh_table_map *tables, int ntables, pgh_error *err);
void pgh_apply__rel_free(apply_rel *r);

/* Find or prepare the statement with this text on conn. */
int pgh_apply__stmt(const apply_stmt **out, apply_rel *r, PGconn *conn, const char *sql,
                    int nparams, int *name_counter, pgh_error *err);

/* Keys of rows the catch-up could not complete (see pghost/apply.h). Small: it holds only rows
 * whose key moved while the copy ran past both keys. */
typedef struct missing_set {
    pgh_apply_missing *rows; /* owned */
    int n;
    int cap;
} missing_set;

/* Record the key of tup (values at r->key_att) for table r->map, unless already there. */
int pgh_apply__missing_add(missing_set *m, const apply_rel *r, const pgh_tuple *tup);
/* Forget the key of tup, if recorded. */
void pgh_apply__missing_remove(missing_set *m, const apply_rel *r, const pgh_tuple *tup);
/* Forget every key of a table (after TRUNCATE). */
void pgh_apply__missing_remove_table(missing_set *m, int table);
void pgh_apply__missing_dispose(missing_set *m);

#endif
