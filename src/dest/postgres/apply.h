/*
 * pghost/apply.h - the PostgreSQL destination: applies decoded changes to tables.
 *
 * Source transactions are applied whole and in commit order; consecutive ones are grouped into
 * one destination transaction of up to group_max_changes row changes, and pgh_sink_flush()
 * commits what is open. Changes to tables that are not in the mapping are skipped. In
 * PGH_APPLY_STRICT mode, with on_missing_row stop, each key's changes inside the group are
 * merged into their net effect, for the tables where that cannot be seen (merge.h says which
 * and how; docs/apply.md, "Merged changes").
 *
 * Conflict rules (PGH_APPLY_CATCHUP), for the window where the copy and the stream overlap:
 *   INSERT of an existing key           -> nothing (the copy already has this row or a later one)
 *   UPDATE / DELETE of a missing key    -> nothing (a later DELETE or INSERT settles it)
 *   UPDATE that changes the key         -> old row present: remove any row at the new key, then
 *                                          move the old row; old row absent: update the row at
 *                                          the new key; neither present: insert the new row.
 *                                          When the new tuple has unchanged TOAST values, its
 *                                          key is also recorded for a re-copy (see below)
 *   unchanged TOAST values ('u')        -> left out of the SET list: the destination keeps its
 *                                          value
 * In PGH_APPLY_STRICT mode any of those conflicts is an error: after the checkpoint the two
 * sides are equal and a conflict means divergence.
 *
 * Rows to copy again: a key move carries unchanged TOAST values over from the destination's
 * row at the old key. While copy and stream overlap that row may not be this row at all (the
 * old key's batch ran after the row left and another row took the key), or there may be no row
 * on either key. So every key move with unchanged TOAST values records its new key (followed
 * through later moves, deletes, inserts and truncates); the caller copies those rows again from
 * the source, replacing what the destination has, and replays on to a new checkpoint, exactly
 * as for any copy batch (pgh_apply_take_missing).
 *
 * Statements are prepared once per shape and executed with text parameters, pipelined (libpq
 * pipeline mode, a bounded number in flight): each result is still checked against the rules
 * above, and a COMMIT (with the position) is sent only once every earlier result was checked,
 * so a conflict or an error rolls back the whole grouped transaction (docs/apply.md).
 */
#ifndef PGHOST_APPLY_H
#define PGHOST_APPLY_H

#include <stdbool.h>
#include <stdint.h>

#include "pghost/config.h"
#include "pghost/stats.h"
#include "dest/postgres/sink.h"

typedef enum pgh_apply_mode {
    PGH_APPLY_CATCHUP = 0,
    PGH_APPLY_STRICT = 1,
} pgh_apply_mode;

typedef struct pgh_apply_stats {
    uint64_t inserts;   /* rows inserted */
    uint64_t updates;   /* rows updated (including key moves) */
    uint64_t deletes;   /* rows deleted */
    uint64_t truncates; /* TRUNCATEs applied */
    uint64_t skipped;   /* changes that found nothing to do (conflict rules) */
    uint64_t missing_skipped; /* strict mode, on_missing_row: skip: UPDATEs and DELETEs whose
                                 row was missing, skipped (counted at their commit) */
} pgh_apply_stats;

typedef struct pgh_apply_opts {
    int version;                  /* PGH_APPLY_OPTS_VERSION */
    const char *conninfo;         /* borrowed: the destination */
    const char *app_name;         /* borrowed */
    const pgh_table_map *tables;  /* borrowed: source -> destination names, valid while open */
    int ntables;
    pgh_apply_mode mode;
    bool replica_role;            /* SET session_replication_role = replica */
    int group_max_changes;        /* commit the destination transaction once it holds this many
                                     row changes; source transactions are never split, and
                                     flush() commits whatever is open. 1: one destination
                                     transaction per source transaction */
    const char *state_schema;     /* borrowed; when set, every destination commit also records
                                     the applied position in <state_schema>.state (same
                                     transaction), for the row of `slot` */
    const char *slot;             /* borrowed: the state row's key */
    pgh_lsn skip_before;          /* source transactions whose commit LSN is below this are on
                                     the destination already (state's applied_lsn): skipped */
    pgh_schema_drift schema_drift;/* a Relation message whose columns differ from the
                                     destination table's: stop, or add the missing columns */
    pgh_on_missing_row on_missing_row; /* strict mode: an UPDATE or DELETE that finds no row
                                     stops the apply (divergence), or is skipped: logged at
                                     warn (table, LSN, key column names), counted per table in
                                     <state_schema>.missing_rows with the position, and in
                                     stats */
    pgh_pipeline_stats *stats;    /* borrowed, may be NULL: the run's live counters */
    const bool *lenient;          /* borrowed, may be NULL, ntables entries read at every
                                     change: in PGH_APPLY_STRICT mode the tables whose existing
                                     rows are being delivered (copy_method watermarks) take
                                     changes by the lenient rules below */
    bool with_resume;             /* the position also records a resume token and a phase
                                     (pgh_apply_set_position) */
} pgh_apply_opts;

#define PGH_APPLY_OPTS_VERSION 1
#define PGH_APPLY_OPTS_INIT {PGH_APPLY_OPTS_VERSION, NULL, "pghost apply", NULL, 0, \
                             PGH_APPLY_CATCHUP, false, 10000, NULL, NULL, 0, \
                             PGH_SCHEMA_DRIFT_STOP, PGH_ON_MISSING_ROW_STOP, NULL, NULL, false}

/* Connect to the destination; the sink is ready for the first change. */
int pgh_apply_open(pgh_sink **out, const pgh_apply_opts *opts, pgh_error *err);

/* Counters of the table at index i of opts->tables; NULL when out of range. */
const pgh_apply_stats *pgh_apply_table_stats(const pgh_sink *sink, int i);

/* A row the catch-up could not complete: its table and key values (text). */
typedef struct pgh_apply_missing {
    int table;   /* index in opts->tables */
    int nkeys;
    char **keys; /* owned: destination key column values, in primary key order */
} pgh_apply_missing;

/* Hand over the rows recorded as missing so far (possibly none); the sink forgets them.
 * Free with pgh_apply_missing_free. */
int pgh_apply_take_missing(pgh_apply_missing **out, int *count, pgh_sink *sink, pgh_error *err);
void pgh_apply_missing_free(pgh_apply_missing *rows, int count);

/*
 * Existing rows (copy_method watermarks; pghost/destination.h), in the open destination
 * transaction with the changes around them; rel describes rows (the source table's columns),
 * table is its index in opts->tables. table_empty empties the destination table (TRUNCATE);
 * table_rows upserts the rows by primary key, several hundred per statement.
 *
 * Lenient rules, for a table flagged in opts->lenient (its existing rows are on their way, so
 * the destination may lack rows the source has, and hold rows the source deleted):
 *   INSERT, UPDATE carrying the whole row -> upsert by key
 *   UPDATE / DELETE of a missing key      -> nothing
 *   UPDATE with unchanged TOAST values    -> as in catch-up: the values kept from the row at
 *                                            the old key, else at the new key; neither there:
 *                                            the new key is emptied and nothing added
 */
int pgh_apply_table_empty(pgh_sink *sink, int table, const pgh_relation *rel, pgh_error *err);
int pgh_apply_table_rows(pgh_sink *sink, int table, const pgh_relation *rel,
                         const pgh_tuple *rows, size_t n, pgh_error *err);
/* opts->with_resume: the phase and resume token (NULL: none) the next position records;
 * call before each COMMIT. */
int pgh_apply_set_position(pgh_sink *sink, const char *phase, const char *resume,
                           pgh_error *err);

#endif
