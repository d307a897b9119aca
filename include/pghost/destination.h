/*
 * pghost/destination.h - the destination interface: where a pipeline's rows and changes go.
 *
 * A destination is a table of function pointers (pgh_destination_ops) and a user pointer. The
 * pipeline (pghost/pipeline.h) calls them in one order that rebuilds every source table:
 *
 *   open
 *   read_position                  where this destination stands (a restart resumes there)
 *   { begin                        one source transaction, in commit order:
 *       [relation] [message]         schema of the tables, DDL and other logical messages
 *       change* truncate*            row changes (insert, update, delete), TRUNCATE
 *       [table_begin]                a table's existing rows start coming
 *       [table_rows*]                a chunk of them, at the position where it is exact
 *       [table_end]                  all of a table's existing rows came
 *     commit }*                      with the position after the transaction
 *   flush                          from time to time: what is durable now?
 *   close
 *
 * Existing rows. For an event destination (no PGH_DEST_KEYED: stdout, files, webhooks, a
 * custom one) the pipeline reads the existing rows in chunks, each chunk selected in a short
 * transaction of its own between two watermarks written to the WAL (DBLog). A chunk's rows
 * whose key changed between its watermarks are dropped (the changes carry them); the others
 * are delivered inside the transaction of the chunk's high watermark, by one or more
 * table_rows calls. table_begin comes before the first chunk of the table is read (inside a
 * watermark transaction of its own) and table_end right after the rows of the chunk that
 * completed the table (inside that chunk's high-watermark transaction).
 * Applying every call in order by key - insert, update and existing rows as upserts, delete as
 * delete, truncate as emptying the table - yields each source table as of the last commit
 * delivered; so does emptying the table at table_begin and applying what follows. While a
 * table's rows are being delivered (and a little after), updates never lack unchanged TOAST
 * values: the pipeline reads such rows again, whole, from the source, because the destination
 * may not hold the row to take them from.
 *
 * A keyed destination (PGH_DEST_KEYED, the PostgreSQL one) instead receives the existing rows
 * through the raw COPY fast path of pghost/keyed.h from parallel copy workers, then the
 * changes from the slot's start to a checkpoint with last-write-wins conflict rules: the
 * classic copy + catch-up sync. A keyed destination without the fast path gets the watermark
 * order above and applies it by key.
 *
 * Tables. Changes come for every table the slot's publication sends, which may be more than
 * the configuration selects (a publication made by hand, say); pgh_destination_info's config
 * lists the selected ones, and a destination skips the others (the JSON-lines and PostgreSQL
 * destinations write nothing for them). Existing rows come for the selected tables only.
 *
 * Positions. Every commit carries the position after it: the end LSN of the source
 * transaction, and the pipeline's resume token (which chunks of which tables are delivered;
 * NULL when none is running). A transactional destination (PGH_DEST_TRANSACTIONAL) stores the
 * position in the same transaction as the data, which makes delivery exactly once; any other
 * destination makes the last committed position durable in flush, after the data, which makes
 * it at least once (a restart repeats what followed the last flush). read_position hands the
 * stored position back; the pipeline resumes from it and confirms to the replication slot
 * only what flush reported durable.
 *
 * Threading and ownership: every callback is called from the pipeline's thread, one at a time,
 * except the copy sessions of pghost/keyed.h (one per copy worker thread). Every pointer the
 * pipeline passes is borrowed for the duration of the call (changes point into the received
 * message); copy what you keep. Callbacks return 0, or a negative PGH_E* code with err set:
 * PGH_ECONN makes the pipeline reconnect and resume from the destination's position, anything
 * else stops the run. A NULL callback is skipped (flush then reports the last commit).
 */
#ifndef PGHOST_DESTINATION_H
#define PGHOST_DESTINATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pghost/change.h"
#include "pghost/config.h"
#include "pghost/error.h"
#include "pghost/export.h"
#include "pghost/lsn.h"
#include "pghost/stats.h"

PGH_BEGIN_DECLS

/* Capabilities (pgh_destination_ops.flags). */
#define PGH_DEST_KEYED 0x1         /* rows have a key the destination can upsert and delete by */
#define PGH_DEST_TRANSACTIONAL 0x2 /* the position commits atomically with the data */

#define PGH_POSITION_PHASE_MAX 16

/* Where a destination stands. */
typedef struct pgh_position {
    pgh_lsn lsn;        /* end LSN of the last source transaction it holds (0: none yet) */
    pgh_lsn checkpoint; /* the checkpoint a sync reached (0: not yet) */
    char phase[PGH_POSITION_PHASE_MAX]; /* the pipeline's phase ("" when none was written):
                                           "copy", "catchup", "indexes", "snapshot", "follow" */
    char *resume;       /* the pipeline's resume token (text, usually a few hundred bytes) or
                           NULL. read_position: malloc'd by the destination, freed by the
                           pipeline with free(); elsewhere borrowed for the call */
} pgh_position;

/* What the pipeline tells a destination when it opens it. */
typedef struct pgh_destination_info {
    const pgh_config *config; /* borrowed, valid until close: the run's configuration, its
                                 tables resolved (no patterns) */
    const char *slot;         /* borrowed: the replication slot, a key for the state kept */
    bool follow;              /* the run goes on after its checkpoint until stopped */
    pgh_pipeline_stats *stats; /* borrowed, may be NULL: the run's live counters, valid until
                                  close (pghost/stats.h) */
} pgh_destination_info;

/* Existing rows of a table, as table_begin/table_rows/table_end see them. */
typedef struct pgh_table_rows {
    const pgh_relation *table; /* the source table: names, columns (all of them, in attnum
                                  order, generated ones left out), is_key on the primary key */
    int table_index;           /* index in the configuration's tables */
    pgh_lsn lsn;               /* LSN of the watermark message of this call: where the table
                                  starts (table_begin), where these rows are exact (table_rows),
                                  where the table is complete (table_end) */
    uint64_t chunk;            /* table_rows: number of the chunk within the run */
    uint32_t first_row;        /* table_rows: index of rows[0] within its chunk (a chunk may
                                  come in several calls); table_end: the rows its chunk
                                  delivered before it (table_end shares that chunk's lsn);
                                  table_begin: 0 */
    bool reload;               /* delivered again on request while following */
} pgh_table_rows;

typedef struct pgh_destination pgh_destination;

struct pgh_keyed_ops; /* pghost/keyed.h */

typedef struct pgh_destination_ops {
    int version;       /* PGH_DESTINATION_OPS_VERSION */
    const char *name;  /* "postgres", "stdout", ...: names the destination in messages */
    unsigned flags;    /* PGH_DEST_* */

    /* Connect, check what can be checked. Called once, before anything else. */
    int (*open)(void *user, const pgh_destination_info *info, pgh_error *err);
    /* Release everything open; a transaction not committed is abandoned. Called once after
     * every open, whether open succeeded or not, and whatever happened since. */
    void (*close)(void *user);
    /* Release the user pointer itself (pgh_destination_free); may be NULL. */
    void (*destroy)(void *user);

    /* The stored position: zeroed by the pipeline, filled by the destination (lsn 0 and phase
     * "" when it holds nothing yet). */
    int (*read_position)(void *user, pgh_position *out, pgh_error *err);
    /* Store a position outside any transaction (a phase change), durably, now. */
    int (*write_position)(void *user, const pgh_position *pos, pgh_error *err);

    /* Existing rows (see above). rows[0..n) hold one value per column of t->table, never
     * PGH_VALUE_UNCHANGED. */
    int (*table_begin)(void *user, const pgh_table_rows *t, pgh_error *err);
    int (*table_rows)(void *user, const pgh_table_rows *t, const pgh_tuple *rows, size_t n,
                      pgh_error *err);
    int (*table_end)(void *user, const pgh_table_rows *t, pgh_error *err);

    /* A source transaction (c->kind BEGIN) and its contents. */
    int (*begin)(void *user, const pgh_change *c, pgh_error *err);
    /* RELATION or TYPE: a table's or type's description, before the first change using it. */
    int (*relation)(void *user, const pgh_change *c, pgh_error *err);
    /* A logical decoding message (MESSAGE) other than pghost's own watermarks and checkpoints:
     * DDL captured on the source comes this way (prefix "pghost.ddl"). */
    int (*message)(void *user, const pgh_change *c, pgh_error *err);
    /* INSERT, UPDATE or DELETE. */
    int (*change)(void *user, const pgh_change *c, pgh_error *err);
    /* TRUNCATE of one or more tables. */
    int (*truncate)(void *user, const pgh_change *c, pgh_error *err);
    /* COMMIT; after is the position once this transaction is held. */
    int (*commit)(void *user, const pgh_change *c, const pgh_position *after, pgh_error *err);

    /* Make everything committed so far durable; *durable gets the lsn of the last position now
     * durable (0 when none). Called between transactions only. */
    int (*flush)(void *user, pgh_lsn *durable, pgh_error *err);

    const struct pgh_keyed_ops *keyed; /* may be NULL: the copy + catch-up sync (keyed.h) */
} pgh_destination_ops;

#define PGH_DESTINATION_OPS_VERSION 1

/*
 * A destination from a table of callbacks (borrowed: it must outlive the destination, usually
 * a static const table) and a user pointer (owned by the destination from now on: released by
 * ops->destroy in pgh_destination_free, also when this call fails). Fails with PGH_ECONFIG
 * when ops->version is not PGH_DESTINATION_OPS_VERSION or open, change or commit is missing.
 * A destination can serve one pipeline run at a time.
 */
PGH_API int pgh_destination_new(pgh_destination **out, const pgh_destination_ops *ops,
                                void *user, pgh_error *err);
PGH_API void pgh_destination_free(pgh_destination *d);

/* The callbacks and the user pointer given to pgh_destination_new. */
PGH_API const pgh_destination_ops *pgh_destination_ops_of(const pgh_destination *d);
PGH_API void *pgh_destination_user(const pgh_destination *d);

PGH_END_DECLS

#endif
