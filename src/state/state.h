/*
 * state/state.h - every table of pghost's state schema on the destination (<state_schema>,
 * "pghost" by default), defined, written and read here and nowhere else.
 *
 *   state            one row per slot: the phase of the sync, the end LSN of the last source
 *                    transaction applied, the checkpoint the sync reached, and with
 *                    copy_method watermarks the resume token of the rows still to deliver
 *                    (position.c). The
 *                    apply writes applied_lsn in the same destination transaction as the data,
 *                    so after any crash the row says exactly which source transactions are
 *                    there: a restart skips those and applies the rest, never one twice.
 *   copy_tables,     a resumable copy's plan (key ranges per copy unit) and each range's
 *   copy_ranges      progress, the latter committed with the batch's rows (copy_progress.c)
 *   selected_tables  the tables of a --follow sync, fixed at its start (selection.c)
 *   ddl_tables       the table mapping as replicated DDL left it (ddl_tables.c)
 *   schema_pending   tables a run created whose deferred indexes are still to build
 *                    (schema_pending.c)
 *   key_pending      tables a run created without their key, which is built after the copy
 *                    (key_pending.c); a row goes in the transaction that creates the table and
 *                    out in the one that builds its key
 *   missing_rows     per destination table, the changes on_missing_row: skip skipped while
 *                    following, added to in the transaction of the position (missing_rows.c)
 *
 * Every function works on the connection it is given, inside whatever transaction the caller
 * has open there, and records failures in err. Thread-safe per connection.
 */
#ifndef PGH_STATE_H
#define PGH_STATE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pghost/config.h"
#include "pghost/error.h"
#include "pghost/lsn.h"

/* ---- state: the position ---------------------------------------------------------------- */

typedef struct pgh_state {
    bool found;             /* a row exists for the slot */
    char phase[16];         /* "copy", "catchup", "indexes", "follow" */
    pgh_lsn applied_lsn;    /* end LSN of the last source transaction applied */
    pgh_lsn checkpoint_lsn; /* where the sync ended */
} pgh_state;

/* Create the schema and the state, copy and selection tables if missing. */
int pgh_state_ensure(PGconn *dst, const char *schema, pgh_error *err);

/* Read the slot's row; out->found is false when there is none (or no table). */
int pgh_state_read(pgh_state *out, PGconn *dst, const char *schema, const char *slot,
                   pgh_error *err);

/* Insert or replace the slot's row. */
int pgh_state_write(PGconn *dst, const char *schema, const char *slot, const pgh_state *st,
                    pgh_error *err);

/* Statement text that sets applied_lsn ($1) for slot_name ($2); malloc'd. */
char *pgh_state_update_sql(PGconn *dst, const char *schema);
/* The same, also setting the resume token ($3, NULL for none) and the phase ($4): the position
 * of copy_method watermarks. */
char *pgh_state_update_resume_sql(PGconn *dst, const char *schema);
/* The slot's resume token (malloc'd), NULL when none (no row, or none recorded). The state
 * table must exist (pgh_state_ensure). */
int pgh_state_read_resume(char **out, PGconn *dst, const char *schema, const char *slot,
                          pgh_error *err);

/* Delete the slot's rows from every table here, then drop each table and the schema when
 * nothing else is in them. Idempotent. */
int pgh_state_drop(PGconn *dst, const char *schema, const char *slot, pgh_error *err);

/* ---- copy_tables, copy_ranges: a resumable copy --------------------------------------------- */

/* One copy unit's plan. Strings borrowed: from the caller when saving, until the callback
 * returns when loading. */
typedef struct pgh_state_copy_table {
    const char *dest_table;  /* the destination table, quoted: checked when resuming */
    bool arithmetic;         /* integer ranges of width from min, else sampled bounds */
    int64_t min;
    int64_t width;
    int64_t nranges;
    int nkeys;               /* key columns, 1..32 */
    int nbounds;             /* sampled bounds (save only; load hands them one by one) */
    char *const *const *bounds; /* nbounds arrays of nkeys key texts, ascending (save only) */
} pgh_state_copy_table;

/* Replace the slot's saved plan with these n units (in a transaction of its own). */
int pgh_state_copy_plan_save(PGconn *dst, const char *schema, const char *slot,
                             const pgh_state_copy_table *tables, int n, pgh_error *err);

/* Record a range's progress: the last key copied (nkeys texts, NULL when none), or done, and
 * the batch's rows (added to the range's rows_copied). Runs in the caller's transaction: the
 * one that commits the batch's rows. */
int pgh_state_copy_range_save(PGconn *dst, const char *schema, const char *slot, int table,
                              int64_t range, int nkeys, const char *const *last_key, bool done,
                              uint64_t rows, pgh_error *err);

/* Callbacks that receive a saved plan: every table in order, then each table's bounds in
 * order (nkeys texts each), then each started range (last_key NULL when none was recorded).
 * A non-zero return stops the load with that code. */
typedef struct pgh_state_copy_reader {
    int (*table)(void *payload, int index, const pgh_state_copy_table *t, pgh_error *err);
    int (*bound)(void *payload, int table, const char *const *values, pgh_error *err);
    int (*range)(void *payload, int table, int64_t range, bool done, const char *const *last_key,
                 pgh_error *err);
    void *payload;
} pgh_state_copy_reader;

/* Load the slot's saved plan through r; *found is false (and nothing is called) when none. */
int pgh_state_copy_plan_load(bool *found, PGconn *dst, const char *schema, const char *slot,
                             const pgh_state_copy_reader *r, pgh_error *err);

/* Per saved unit, in order: its destination table, ranges planned and ranges done. */
typedef void (*pgh_state_copy_status_fn)(const char *table, int64_t ranges_total,
                                         int64_t ranges_done, int64_t rows_copied,
                                         void *payload);
int pgh_state_copy_status(PGconn *dst, const char *schema, const char *slot,
                          pgh_state_copy_status_fn fn, void *payload, pgh_error *err);

/* ---- selected_tables ------------------------------------------------------------------------ */

/* Called once per table mapping read; strings borrowed for the call. */
typedef int (*pgh_state_table_fn)(const pgh_table_map *m, void *payload, pgh_error *err);

/* Replace the slot's recorded tables with tables[0..n). */
int pgh_state_selection_write(PGconn *dst, const char *schema, const char *slot,
                              const pgh_table_map *tables, size_t n, pgh_error *err);

/* The slot's recorded tables (owned, free with pgh_state_tables_free); *n is 0 and *out NULL
 * when there are none (or no table). */
int pgh_state_selection_read(pgh_table_map **out, size_t *n, PGconn *dst, const char *schema,
                             const char *slot, pgh_error *err);
void pgh_state_tables_free(pgh_table_map *t, size_t n);

/* ---- ddl_tables ----------------------------------------------------------------------------- */

/* One entry of the mapping: the configured table it started as (NULL for a table DDL created)
 * and its names now (source names NULL once dropped). */
typedef struct pgh_state_ddl_table {
    const char *origin_schema;
    const char *origin_table;
    pgh_table_map now; /* borrowed strings */
} pgh_state_ddl_table;

typedef int (*pgh_state_ddl_table_fn)(int index, const pgh_state_ddl_table *row, void *payload,
                                      pgh_error *err);

/* Replace the slot's mapping (in the caller's transaction: the one of the DDL). */
int pgh_state_ddl_tables_write(PGconn *dst, const char *schema, const char *slot,
                               const pgh_state_ddl_table *rows, int n, pgh_error *err);

/* Every row of the slot's mapping, by index; nothing when there is no table. */
int pgh_state_ddl_tables_read(PGconn *dst, const char *schema, const char *slot,
                              pgh_state_ddl_table_fn fn, void *payload, pgh_error *err);

/* The source names a sync follows: the recorded tables rec[0..nrec), as replicated DDL left
 * them (ddl_tables overrides an entry while its origin is the recorded table, and adds the
 * tables DDL created; a dropped one has no name). names[i] is "schema\ttable" or NULL; *n
 * entries; the array and its strings are malloc'd. */
int pgh_state_followed_names(char ***names, int *n, PGconn *dst, const char *schema,
                             const char *slot, const pgh_table_map *rec, size_t nrec,
                             pgh_error *err);

/* ---- schema_pending ------------------------------------------------------------------------- */

/* Append tables to the slot's record (creating the table when missing). */
int pgh_state_pending_write(PGconn *dst, const char *schema, const char *slot,
                            const pgh_table_map *tables, int n, pgh_error *err);

/* The slot's recorded tables, in recording order, each once. */
int pgh_state_pending_read(PGconn *dst, const char *schema, const char *slot,
                           pgh_state_table_fn fn, void *payload, pgh_error *err);

/* Forget the slot's record; drop the table when empty. */
int pgh_state_pending_clear(PGconn *dst, const char *schema, const char *slot, pgh_error *err);

/* ---- key_pending ---------------------------------------------------------------------------- */

/* Record t (created without its key) for slot, creating the table when missing. */
int pgh_state_key_pending_add(PGconn *dst, const char *schema, const char *slot,
                              const pgh_table_map *t, pgh_error *err);

/* The slot's tables whose key is still to build, by destination name. */
int pgh_state_key_pending_read(PGconn *dst, const char *schema, const char *slot,
                               pgh_state_table_fn fn, void *payload, pgh_error *err);

/* The key of dest_schema.dest_name is built: forget it (dest_schema NULL: every table of the
 * slot, for a teardown); drop the table when empty. */
int pgh_state_key_pending_done(PGconn *dst, const char *schema, const char *slot,
                               const char *dest_schema, const char *dest_name, pgh_error *err);

/* ---- missing_rows --------------------------------------------------------------------------- */

/* Create the table if missing (outside the apply's pipeline: before it starts). */
int pgh_state_missing_rows_ensure(PGconn *dst, const char *schema, pgh_error *err);

/* Statement text adding $3 skipped changes to the row of slot $1 and table $2 ("schema.table"
 * of the destination); malloc'd, NULL when out of memory. */
char *pgh_state_missing_rows_add_sql(PGconn *dst, const char *schema);

/* The slot's counts, by table name; nothing when there is no table. Strings borrowed for the
 * call. */
typedef void (*pgh_state_missing_fn)(const char *table, int64_t skipped, void *payload);
int pgh_state_missing_rows_read(PGconn *dst, const char *schema, const char *slot,
                                pgh_state_missing_fn fn, void *payload, pgh_error *err);

#endif
