/*
 * pghost/keyed.h - the copy + catch-up sync, for destinations that hold tables by key
 * (PGH_DEST_KEYED with pgh_destination_ops.keyed set: the PostgreSQL destination).
 *
 * The pipeline runs it in this order (docs/sync.md has the argument why it ends consistent):
 *
 *   prepare                  check the destination tables (create, empty them on request);
 *                            nothing is written when a check fails
 *   resume_tables            a resumed run: the tables its first run recorded
 *   start                    a new run records its tables and first position together
 *   [slot created]
 *   plan_load / plan_save    the copy's plan of key ranges, kept with the data
 *   copy_* (per worker)      every batch's raw COPY bytes from the source, as they come
 *   set_catchup(true)        changes from the slot's start to a checkpoint, with the
 *   begin/change/commit...     last-write-wins rules of the window where copy and stream
 *   take_recopy/replace_row    overlap; rows those rules cannot settle are copied again
 *   set_catchup(false)       after the checkpoint every conflict is divergence
 *   checkpoint               work that waits for the checkpoint (sequences, deferred indexes)
 *   [follow, or forget: a run that does not follow leaves nothing recorded]
 *
 * Every run is resumable: when one stops before its checkpoint (a signal, a lost connection
 * it could not win back, an error), the next run with the same slot goes on from what start,
 * the copy marks and the positions recorded.
 * Threading: the copy_* session functions run on copy worker threads, one session per worker
 * (each its own connection); everything else on the pipeline's thread. A copy session is never
 * used by two threads.
 */
#ifndef PGHOST_KEYED_H
#define PGHOST_KEYED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pghost/config.h"
#include "pghost/destination.h"
#include "pghost/error.h"
#include "pghost/export.h"

PGH_BEGIN_DECLS

/* The table a copy session writes into next. */
typedef struct pgh_copy_target {
    int unit;                    /* the copy unit: a table, or one leaf partition of it */
    int table;                   /* index in the configuration's tables it is copied into */
    const char *source_schema;   /* the copied source table (a leaf partition, possibly) */
    const char *source_name;
    const char *const *columns;  /* ncolumns column names, in the order of the COPY data */
    int ncolumns;
    bool binary;                 /* the data is COPY's binary format, else text */
} pgh_copy_target;

/* The end of one source batch: how far its copy unit got. */
typedef struct pgh_copy_mark {
    int unit;                    /* index of the copy unit (table or leaf partition) */
    int64_t range;               /* the unit's key range the batch belongs to */
    int nkeys;
    const char *const *last_key; /* text of the last key copied, NULL when the batch was empty */
    bool done;                   /* the range is complete */
    uint64_t rows;               /* rows of this batch (the range's progress for status) */
} pgh_copy_mark;

/* One copy unit's plan of key ranges (see pgh_keyed_ops.plan_save). */
typedef struct pgh_copy_plan_unit {
    const char *dest_table;      /* the destination table, quoted: checked when resuming */
    bool arithmetic;             /* integer ranges of width from min, else sampled bounds */
    int64_t min;
    int64_t width;
    int64_t nranges;
    int nkeys;
    int nbounds;                 /* plan_save only; plan_load hands bounds one by one */
    char *const *const *bounds;  /* plan_save only: nbounds arrays of nkeys key texts */
} pgh_copy_plan_unit;

/* Receives a stored plan: every unit in order, then each unit's bounds in order (nkeys texts
 * each), then each started range (last_key NULL when none was recorded). Strings are borrowed
 * for the call; a non-zero return stops the load with that code. */
typedef struct pgh_copy_plan_reader {
    int (*unit)(void *payload, int index, const pgh_copy_plan_unit *u, pgh_error *err);
    int (*bound)(void *payload, int unit, const char *const *values, pgh_error *err);
    int (*range)(void *payload, int unit, int64_t range, bool done, const char *const *last_key,
                 pgh_error *err);
    void *payload;
} pgh_copy_plan_reader;

/* A row the catch-up could not settle: to be copied again from the source. */
typedef struct pgh_recopy_row {
    int table;    /* index in the configuration's tables */
    int nkeys;
    char **keys;  /* owned: the key's values as text, in the destination's primary key order */
    char **key_names; /* owned: the destination's key column names, in the same order */
} pgh_recopy_row;

/* How a table's rows reach the destination when rules rename columns or leave some out
 * (docs/rules.md): source column source[i] is called dest[i] there, or is not sent at all
 * when dest[i] is NULL. Source columns not listed are sent as they are. */
typedef struct pgh_column_map {
    int ncolumns;
    const char *const *source;
    const char *const *dest;
} pgh_column_map;

/* Release what take_recopy returned. */
PGH_API void pgh_recopy_rows_free(pgh_recopy_row *rows, int n);

/* What a keyed sync did to one table (for the result). */
typedef struct pgh_keyed_stats {
    uint64_t inserts;   /* rows inserted by replayed changes */
    uint64_t updates;   /* rows updated (key moves included) */
    uint64_t deletes;   /* rows deleted */
    uint64_t truncates; /* TRUNCATEs applied */
    uint64_t skipped;   /* changes the catch-up rules found nothing to do for */
    int sequences_set;  /* sequences set at the checkpoint */
} pgh_keyed_stats;

/* The copy workers' batches aim at no more than this much COPY data each (rows of the
 * measured width), so that a copy session can hold a whole batch. */
#define PGH_COPY_BATCH_BYTES (8 * 1024 * 1024)

typedef struct pgh_keyed_ops {
    int version; /* PGH_KEYED_OPS_VERSION */

    /* Before the slot exists. resuming: an interrupted run goes on (its tables hold
     * rows already; its slot exists). truncate: empty non-empty tables instead of refusing.
     * PGH_EPRECOND (one line: what is wrong, what to do) with nothing written on failure. */
    int (*prepare)(void *user, bool resuming, bool truncate, pgh_error *err);
    /* A resumed run works on the tables its first run recorded: *out is a copy of
     * fresh with those tables (owned by the caller, pgh_config_free), or NULL when none were
     * recorded (the configuration's tables stand). */
    int (*resume_tables)(void *user, const pgh_config *fresh, pgh_config **out, pgh_error *err);
    /* A new run's start: its tables and first position, durably and together. */
    int (*start)(void *user, const pgh_position *pos, const pgh_config *cfg, pgh_error *err);

    /* The resumable copy's plan: load the saved one (*found false when none),
     * or save a new one. */
    int (*plan_load)(void *user, bool *found, const pgh_copy_plan_reader *r, pgh_error *err);
    int (*plan_save)(void *user, const pgh_copy_plan_unit *units, int n, pgh_error *err);

    /* A copy worker's session: open it on the worker's thread, point it at a table, give it
     * each CopyData message of the source's COPY TO STDOUT of a batch (has_header / has_trailer:
     * the message starts with a binary COPY header / ends with the trailer), then end each
     * batch with its mark. batch_end decides when the rows become durable (the PostgreSQL
     * destination: every few seconds); a resumable session makes each mark durable with the
     * rows it describes, never before them. finish makes everything durable; abort abandons
     * what is not, marks included. The source's statement of a batch is open from copy_table's
     * return to its last copy_data: a session that keeps up to PGH_COPY_BATCH_BYTES of COPY data
     * in memory instead of waiting for its destination lets that transaction end at the
     * source's own pace (the PostgreSQL destination does), and may wait at copy_table. */
    int (*copy_open)(void *user, void **session, bool resumable, pgh_error *err);
    int (*copy_table)(void *session, const pgh_copy_target *t, pgh_error *err);
    int (*copy_data)(void *session, const char *data, size_t len, bool has_header,
                     bool has_trailer, pgh_error *err);
    int (*copy_batch_end)(void *session, const pgh_copy_mark *mark, pgh_error *err);
    int (*copy_finish)(void *session, pgh_error *err);
    void (*copy_abort)(void *session, const char *why);
    void (*copy_close)(void *session);

    /* Conflict rules for the changes that follow: last write wins while catching up, every
     * conflict an error (divergence) otherwise. */
    void (*set_catchup)(void *user, bool catchup);
    /* The rows recorded since the last call that must be copied again (owned by the caller,
     * pgh_recopy_rows_free); *n may be 0. */
    int (*take_recopy)(void *user, pgh_recopy_row **rows, int *n, pgh_error *err);
    /* Replace the destination's row at row's key with the source's current one: columns[i]
     * holds values[i] (text, NULL for SQL NULL); ncolumns 0 means the source has no such row
     * any more (remove it). Called between transactions; durable at the next flush. */
    int (*replace_row)(void *user, const pgh_recopy_row *row, const char *const *columns,
                       const char *const *values, int ncolumns, pgh_error *err);

    /* The copy is over (every batch durable), before the catch-up: build what the copy did
     * without and the catch-up needs (the PostgreSQL destination: the keys of the tables it
     * created). A resumed run calls it again unless it resumes at its checkpoint: idempotent.
     * May be NULL: nothing to do. */
    int (*copy_done)(void *user, pgh_error *err);

    /* The sync reached its checkpoint: finish what waited for it (sequences, deferred indexes).
     * A resumed run whose phase was recorded as "indexes" calls it again: it must be
     * idempotent. */
    int (*checkpoint)(void *user, pgh_lsn checkpoint, pgh_error *err);

    /* Counters of table i (configuration order); false when out of range. */
    bool (*stats)(void *user, int table, pgh_keyed_stats *out);

    /* A run that does not follow reached its checkpoint and is done: drop everything recorded
     * for its slot (position, tables, copy progress), so that the next run starts afresh. May
     * be NULL: nothing is recorded. */
    int (*forget)(void *user, pgh_error *err);

    /* With copy_format auto: table i (configuration order) must be copied in text format,
     * because the destination converts one of its columns through its text form (binary COPY
     * data holds the source type's bytes). Called after prepare. May be NULL: never. */
    bool (*needs_text)(void *user, int table);

    /* Table i (configuration order) reaches the destination through map: its checks, the
     * tables it creates and its copy sessions see the table so (the copy targets' columns
     * are then the destination's names), and so do the changes (their relations carry the
     * destination's names) and the rows copied again (columns and recopy keys under the
     * destination's names). Called before prepare, at most once per table and run; map is
     * borrowed for the call. May be NULL: rules that rename or leave out columns are refused
     * with this destination. */
    int (*column_map)(void *user, int table, const pgh_column_map *map, pgh_error *err);
} pgh_keyed_ops;

#define PGH_KEYED_OPS_VERSION 4

PGH_END_DECLS

#endif
