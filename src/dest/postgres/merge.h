/*
 * Merging of row changes inside one grouped destination transaction (docs/apply.md, "Merged
 * changes"): each key's INSERTs, UPDATEs and DELETEs become its net effect, one or two
 * statements per touched key instead of one per change. Only the grouped transaction's end is
 * ever visible on the destination, so the source transactions' boundaries inside it do not
 * matter, and neither does the order of statements on different keys, provided nothing on the
 * destination table can observe it. The caller decides that (merge_check.c: the key's index
 * is the table's only unique or exclusion constraint, no trigger fires in the apply's session,
 * which covers foreign keys, no rules, a plain table without children) and applies only
 * PGH_APPLY_STRICT changes here (no conflict rules, on_missing_row: stop).
 *
 * Net effect per key, by the changes seen (an unchanged TOAST value in an UPDATE keeps the
 * value an earlier change of the window gave the column; left unchanged by every change, the
 * column is left out of the SET list):
 *   INSERT [UPDATE...]              -> INSERT of the last row
 *   UPDATE [UPDATE...]              -> UPDATE of the union of the changed columns, last values
 *   [INSERT|UPDATE...] DELETE       -> DELETE (nothing at all after an INSERT)
 *   DELETE INSERT [UPDATE...]       -> DELETE, then INSERT of the last row
 *   UPDATE moving the key K1 -> K2  -> DELETE at K1 and INSERT at K2 (when the new row's
 *                                      unchanged TOAST values are known from this window)
 * Anything else (an INSERT of a key the window holds a row for, a change of a key it deleted,
 * a key move whose unchanged TOAST values it does not know) is not taken: the caller flushes
 * the window and applies the change by itself, as without merging.
 *
 * Flushed statements, per relation: the DELETEs and UPDATEs in the order their keys were first
 * touched (so the first divergence reported is the source's first; consecutive UPDATEs that
 * set the same columns in runs, one multi-row UPDATE each), then the INSERTs in runs (one
 * multi-row INSERT each). INSERTs last keep two incarnations of one key (or of keys equal
 * for the index but spelled differently, numeric 1.0 and 1.00) apart: a key that ends up
 * deleted or updated was there before the window, so every other entry of an equal key was
 * inserted after it was deleted.
 */
#ifndef PGH_APPLY_MERGE_H
#define PGH_APPLY_MERGE_H

#include <stdbool.h>
#include <stddef.h>

#include "apply_internal.h"

typedef struct merge_entry merge_entry;

typedef struct apply_merge {
    merge_entry *entries; /* owned: in first-touch order */
    size_t n;
    size_t cap;
    size_t *slots; /* owned: open addressing, entry index + 1, 0 empty */
    size_t nslots;
    size_t bytes;   /* row bytes held */
    size_t changes; /* changes taken since the last flush */
} apply_merge;

/* Beyond either, the caller flushes (memory stays bounded within a huge source transaction). */
#define PGH_MERGE_MAX_ENTRIES 16384
#define PGH_MERGE_MAX_BYTES (16u * 1024 * 1024)

void pgh_apply__merge_init(apply_merge *m);
void pgh_apply__merge_dispose(apply_merge *m);

/* Take an INSERT, UPDATE or DELETE of r (a relation with a key) into the window; *taken false
 * when it cannot be merged (see above): nothing changed, the caller flushes and applies it. */
int pgh_apply__merge_add(apply_merge *m, apply_rel *r, const pgh_change *c, bool *taken,
                         pgh_error *err);
bool pgh_apply__merge_empty(const apply_merge *m);
/* The window holds a change of r. */
bool pgh_apply__merge_has(const apply_merge *m, const apply_rel *r);
/* Over PGH_MERGE_MAX_ENTRIES or PGH_MERGE_MAX_BYTES. */
bool pgh_apply__merge_full(const apply_merge *m);

/* The statements of a flush, in order. Tuples are borrowed for the call; lsn is the last
 * merged change's (for INSERT runs, the first row's), for errors. */
typedef struct merge_emit {
    int (*del)(void *payload, apply_rel *r, const pgh_tuple *key, pgh_lsn lsn, pgh_error *err);
    int (*update)(void *payload, apply_rel *r, const pgh_tuple *rows, size_t n, pgh_lsn lsn,
                  pgh_error *err);
    int (*insert)(void *payload, apply_rel *r, const pgh_tuple *rows, size_t n, pgh_lsn lsn,
                  pgh_error *err);
} merge_emit;

/* Hand every net change to emit (see above for the order) and empty the window, also when
 * emit fails. */
int pgh_apply__merge_flush(apply_merge *m, const merge_emit *emit, void *payload, pgh_error *err);

/* update_rows.c: "UPDATE t AS t SET a = v.c1, ... FROM (VALUES ($1::type, ...), ...) AS v(c0,
 * c1, ...) WHERE t.k = v.c0 ..." for n rows setting the same columns (those rows[0] has a value
 * for; the key columns are matched, never set), values added to p. *nset: the columns set (0:
 * nothing was written, the caller sends each row alone). */
int pgh_apply__put_update_rows(int *nset, pgh_buf *sql, apply_params *p, const apply_rel *r,
                               const pgh_tuple *rows, size_t n, pgh_error *err);

/* merge_check.c: may changes of r be merged? Runs one catalog query on conn (synchronously)
 * the first time per relation mapping, then answers from r->merge. replica_role: the apply
 * runs with session_replication_role = replica (only ALWAYS and REPLICA triggers fire). */
int pgh_apply__merge_allowed(bool *ok, apply_rel *r, PGconn *conn, bool replica_role,
                             pgh_error *err);

#endif
