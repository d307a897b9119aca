/*
 * One destination table in DuckDB and its staging table: how rows and changes of a source
 * table get there in batches.
 *
 * Every row, existing or changed, is appended (DuckDB's appender, values as VARCHAR in their
 * PostgreSQL text form) to a temporary staging table with a sequence number and a delete flag.
 * Applying the stage, inside the caller's DuckDB transaction, takes per key the last staged
 * entry: the target's rows with any staged key are deleted, then the last entries that are
 * not deletes are inserted, each value cast to the column's DuckDB type (duckdb_types.h). That
 * is the order-by-key rule of pghost/destination.h, batched: a batch costs three statements
 * per table whatever its size. An update lacking unchanged TOAST values updates only the
 * columns it carries, right away (after applying what was staged before it).
 */
#ifndef PGH_DEST_DUCKDB_TABLE_H
#define PGH_DEST_DUCKDB_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "duckdb_conn.h"
#include "pghost/change.h"
#include "pghost/config.h"

typedef struct duck_table {
    int index;            /* in the configuration's tables */
    char *target;         /* owned: "schema"."table", quoted */
    uint16_t ncols;       /* columns of the source table as last set up */
    pgh_column *cols;     /* owned copies (names owned), ncols entries */
    int nkeys;
    int *keys;            /* owned: indexes into cols of the key columns, nkeys entries */
    char *sql_delete;     /* owned: delete the target's rows the stage names */
    char *sql_insert;     /* owned: insert the stage's last entries per key */
    char *sql_clear;      /* owned: empty the stage */
    char stage[32];       /* the staging table's name (catalog temp) */
    duck_appender app;    /* owned, NULL when not open: appends to the stage */
    int64_t seq;          /* the next staged entry's sequence number */
    uint64_t staged;      /* entries staged since the last apply */
    bool ready;           /* set up in this process */
} duck_table;

/* Set the table up for relation rel (the source's columns and key): the target created when
 * missing (recreate: dropped first, as a table's existing rows start), the staging table and
 * its appender. map names the target. PGH_ESINK when rel has no key column, naming it. */
int pgh_duckdb__table_setup(duck_table *t, duck_conn *c, const pgh_table_map *map,
                            const pgh_relation *rel, bool recreate, pgh_error *err);
/* True when rel has the columns (names, types) the table was set up with. */
bool pgh_duckdb__table_matches(const duck_table *t, const pgh_relation *rel);
void pgh_duckdb__table_dispose(duck_table *t, duck_conn *c);

/* Stage a row: the values of tup (text or NULL, never unchanged) as an upsert, or as a delete
 * of its key (is_delete). */
int pgh_duckdb__table_stage(duck_table *t, duck_conn *c, const pgh_tuple *tup, bool is_delete,
                            pgh_error *err);
/* Apply what is staged (nothing staged: nothing done). */
int pgh_duckdb__table_apply(duck_table *t, duck_conn *c, pgh_error *err);
/* Forget what is staged and empty the target (TRUNCATE). */
int pgh_duckdb__table_truncate(duck_table *t, duck_conn *c, pgh_error *err);
/* An update whose newtup has unchanged values: staged entries applied, then the target's row
 * with the key of key (oldtup when sent, else newtup) gets newtup's other columns. */
int pgh_duckdb__table_update_partial(duck_table *t, duck_conn *c, const pgh_tuple *key,
                                     const pgh_tuple *newtup, pgh_error *err);

#endif
