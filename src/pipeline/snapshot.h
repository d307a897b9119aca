/*
 * Private to the pipeline: the existing rows of an event destination, in watermarked chunks
 * (DBLog: Andreakis & Papapanagiotou, arXiv 2010.12597), interleaved with the changes.
 *
 * Workers (snapshot_worker.c), each with its own source session, take a table's key range and
 * cut it into chunks. Per chunk:
 *   1. write the low watermark L (a transactional logical message, committed at once);
 *   2. wait until every transaction that was running when L committed has ended: one that had
 *      written its commit record before L but was not yet visible would otherwise be missing
 *      from the chunk while its change sits before L in the stream;
 *   3. select the chunk (keyset: ORDER BY key LIMIT n, one short statement; n follows the time
 *      of the table's previous selects, source/batch_pace.h, up to SNAPSHOT_CHUNK_MAX_ROWS);
 *   4. write the high watermark H, and hand the rows to the stream thread.
 * The stream thread (snapshot.c), reading the slot in commit order, opens a window at L and
 * records the key of every change to the chunk's table until H; at H it delivers the chunk's
 * rows minus those keys, in H's transaction. A TRUNCATE of the table read in the window drops
 * the whole chunk (snap_chunk.truncated): the select either ran before the TRUNCATE (which waits
 * for its lock), so every row it saw was removed, or after it, so every row it saw was
 * inserted in the window; a chunk selected before a TRUNCATE is never delivered after it.
 * Every transaction visible to the select commits before H, and every one it could not see
 * commits after L (step 2), so a delivered row is exact as of H and a dropped one is carried by
 * its change. The first L of a table starts its delivery (table_begin), the last H ends it.
 *
 * Updates whose new row lacks unchanged TOAST values are read again, whole, from the source
 * while a table is being delivered and until the stream has passed the source's WAL position
 * of the last such read (snapshot_reread.c): the destination may not hold the row to take the
 * values from, and a re-read row is ahead of the stream until it gets there.
 *
 * A keyed destination uses the same re-reads in its catch-up and following
 * (pgh_snapshot__handle_changes: no tables delivered, no workers): for its rules, and for the
 * INSERTs lacking unchanged TOAST values that PostgreSQL 15's row filters send
 * (snapshot_reread.c). The re-read session is opened at the first re-read.
 *
 * Progress: which tables are done, and per key range the last key delivered, goes into the
 * resume token of every commit's position (snapshot_token.c); a restart takes the delivery up
 * there, with a new run id (the old run's watermarks are ignored).
 */
#ifndef PGH_PIPELINE_SNAPSHOT_H
#define PGH_PIPELINE_SNAPSHOT_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "pipeline_internal.h"
#include "source/batch_pace.h"
#include "util/buf.h"
#include "util/strset.h"

/* Rows per chunk at most: bounds the memory a chunk holds until its H is read. */
#define SNAPSHOT_CHUNK_MAX_ROWS 20000

typedef enum snap_state {
    SNAP_PENDING = 0, /* to deliver; nothing of it delivered yet */
    SNAP_BEGUN,       /* table_begin delivered: chunks are coming */
    SNAP_DONE,        /* every range delivered and table_end called */
} snap_state;

/* One key range of a table. Worker side: sel_*; stream side: the rest. */
typedef struct snap_range {
    char **lo;          /* owned, nkeys texts; NULL: open */
    char **hi;          /* owned, nkeys texts; NULL: open */
    char **after;       /* owned: last key delivered (stream side); NULL: none yet */
    bool done;          /* every chunk of the range delivered */
    char **sel_after;   /* owned: last key selected (worker side) */
    bool sel_done;      /* a short chunk was selected: nothing left to select */
    bool busy;          /* a worker is between this range's L and its select */
} snap_range;

typedef struct snap_table {
    int index;                 /* in the configuration's tables */
    const pgh_table_info *info; /* borrowed: r->tables.src[index] */
    pgh_relation rel;          /* owned insides: what destinations see (columns, is_key = PK) */
    int nkeys;                 /* primary key columns */
    int key_att[32];           /* rel column of each, in primary key order */
    snap_state state;
    bool reload;               /* a reload requested while following */
    bool planned;              /* ranges are set (a worker samples them at the first pick) */
    bool planning;             /* a worker is sampling them */
    int nranges;
    snap_range *ranges;        /* owned */
    int in_flight;             /* chunks between L and their delivery */
    pgh_batch_pace pace;       /* the next chunk's LIMIT (worker side); max_rows 0 until the
                                  table's first chunk */
    uint64_t rows;             /* rows delivered, for progress */
    uint64_t bytes;            /* their values' text bytes, for progress */
} snap_table;

/* A chunk between its L and its delivery. */
typedef struct snap_chunk {
    uint64_t id;
    int table;                 /* index into snapshot.tables */
    int range;
    int64_t limit;             /* the chunk's LIMIT: fewer rows end its range */
    bool window_open;          /* the stream thread has read L */
    pgh_strset keys;           /* keys changed since L */
    bool all_changed;          /* a change without a usable key (or no memory to record one)
                                  since L: any row may be one it touched, so none is delivered;
                                  the run takes its session up again (PGH_ECONN) from the
                                  destination's position, whose resume token is before this
                                  chunk (a range moves past a chunk only once it is delivered),
                                  and selects it again in a new window */
    bool truncated;            /* a TRUNCATE of the table since L: every row is dropped */
    bool ready;                /* the worker has handed over the rows */
    PGresult *rows;            /* owned once ready */
    bool last;                 /* the range has nothing after this chunk */
    char **last_key;           /* owned: the chunk's last selected key, NULL when empty */
    int err_code;              /* the worker failed after L: the run fails */
    struct snap_chunk *next;
} snap_chunk;

/* Where a stream relation's primary key columns are (snapshot_keys.c). */
typedef struct snap_keymap {
    uint32_t rel_oid;              /* the stream relation the map was built for */
    const pgh_relation *rel;       /* borrowed: the decoder's entry it was built from */
    int table;                     /* index into snapshot.tables, -1 when not delivered */
    int nkeys;
    int att[32];                   /* relation column of each primary key column */
} snap_keymap;

#define SNAPSHOT_KEYMAPS 64

/* A key the source had no row at when an INSERT lacking values was read again
 * (snapshot_absent.c): the row's departure is still to come in the stream. */
typedef struct snap_absent {
    int table;  /* index into snapshot.tables */
    char *key;  /* owned: pgh_snapshot__tuple_key's form */
    size_t len;
} snap_absent;

/* What an INSERT lacking unchanged TOAST values becomes when the source no longer has its row
 * (snapshot_reread.c says why each is right where it is used). */
typedef enum snap_missing {
    SNAP_MISSING_DROP = 0, /* event destinations: nothing delivered */
    SNAP_MISSING_RECOPY,   /* a keyed catch-up: delivered as it is, for a copy again */
    SNAP_MISSING_ABSENT,   /* strict following: held back, its key absent until it leaves */
} snap_missing;

struct snapshot {
    pipe_run *r;                /* borrowed */
    snap_missing missing;       /* set by the path that uses the coordinator */
    char run_id[24];            /* this run's mark in its watermarks */
    pthread_mutex_t lock;       /* guards everything below that workers touch */
    pthread_cond_t changed;     /* a chunk became ready, a slot freed, a table planned */
    int ntables;
    snap_table *tables;         /* owned: one per configured table */
    snap_chunk *chunks;         /* owned: chunks between L and delivery */
    uint64_t next_chunk;
    int outstanding;            /* chunks not yet delivered */
    int max_outstanding;
    bool stopping;              /* workers stop at their next step */
    pgh_error worker_err;       /* the first worker failure */
    int nworkers;
    pthread_t *threads;         /* owned */
    int started;
    PGconn *reread;             /* owned: the stream thread's source session for re-reads */
    pgh_lsn horizon;            /* re-read updates of transactions committing before this */
    pgh_lsn txn_lsn;            /* commit LSN of the transaction being read */
    uint32_t txn_xid;           /* and its transaction id */
    char *token;                /* owned: the encoded progress, NULL when nothing is pending */
    bool token_stale;           /* progress changed since token was encoded */
    pgh_buf key;                /* owned: scratch for keys */
    snap_keymap maps[SNAPSHOT_KEYMAPS]; /* relations seen, by OID (a cache) */
    int nmaps;
    snap_absent *absent;        /* owned: keys whose rows are absent (snapshot_absent.c) */
    int nabsent;
    int absent_cap;
};

/* snapshot_keys.c: a change's primary key as one byte string, and the chunk rows' keys. */

/* snapshot.c: the coordinator, on the stream thread. */
int pgh_snapshot__new(snapshot **out, pipe_run *r, pgh_error *err);
void pgh_snapshot__free(snapshot *s);
/* Deliver every table (a fresh delivery), or take up the one a resume token describes. */
int pgh_snapshot__all(snapshot *s, pgh_error *err);
int pgh_snapshot__resume(snapshot *s, const char *token, pgh_error *err);
/* Start the workers; stop and join them (in-flight chunks are dropped). */
int pgh_snapshot__start(snapshot *s, pgh_error *err);
void pgh_snapshot__stop(snapshot *s);
/* The stream's changes, in order: watermarks, keys for the windows, deliveries. */
int pgh_snapshot__handle(pipe_run *r, const pgh_change *c, pgh_error *err);
/* A keyed destination's catch-up and following (no rows delivered here, no watermarks): c
 * delivered, read again whole first when pgh_snapshot__row says so. */
int pgh_snapshot__handle_changes(pipe_run *r, const pgh_change *c, pgh_error *err);
/* Nothing pending: every table done and no chunk in flight. */
bool pgh_snapshot__idle(snapshot *s);
/* The current resume token (NULL when nothing is pending); owned by s. */
const char *pgh_snapshot__token(snapshot *s);

/* snapshot_worker.c */
void *pgh_snapshot__worker_main(void *arg);
/* Write one watermark message ("<slot> <run> <what> <id>") on conn. */
int pgh_snapshot__emit(PGconn *conn, const snapshot *s, const char *what, uint64_t id,
                       pgh_error *err);


/* The table of a stream relation and where its primary key columns are; -1 table when the
 * relation is not one of the run's tables. */
void pgh_snapshot__keymap(snap_keymap *m, const snapshot *s, const pgh_relation *rel);
/* The key of a tuple under m into buf; false when a key value is missing (not sent). */
bool pgh_snapshot__tuple_key(pgh_buf *buf, const snap_keymap *m, const pgh_tuple *tup);
/* The key of row i of a chunk (columns in the table's relation order) into buf. */
void pgh_snapshot__row_key(pgh_buf *buf, const snap_table *t, PGresult *rows, int i);
/* Build t->rel from t->info: non-generated columns in attnum order, is_key on the PK. */
int pgh_snapshot__relation(snap_table *t, pgh_error *err);
void pgh_snapshot__relation_dispose(snap_table *t);

/* snapshot_row.c: a row change of a run table (m->table >= 0) to the destination: an
 * INSERT lacking unchanged values read again whole (or, gone from the source, held back with
 * its key absent), an UPDATE through pgh_snapshot__update, a change to an absent key through
 * pgh_snapshot__absent_change; the rest delivered as it is. */
int pgh_snapshot__row(snapshot *s, const snap_keymap *m, const pgh_change *c, pgh_error *err);
/* An update lacking unchanged values, read again whole when it must be. */
int pgh_snapshot__update(snapshot *s, const snap_keymap *m, const pgh_change *c, pgh_error *err);
/* snapshot_reread.c: read the row at tup's key again from the source (*out: one row, the WAL insert position then
 * the relation's columns; NULL when the source has none, or a key value was not sent). Either
 * way the horizon moves to the source's position at the read. */
int pgh_snapshot__reread(PGresult **out, snapshot *s, const snap_keymap *m,
                         const pgh_relation *rel, const pgh_tuple *tup, pgh_error *err);
/* Deliver c (an INSERT or UPDATE) with row's values as its new tuple, as an INSERT or as
 * (UPDATE) c's own kind. */
int pgh_snapshot__deliver_whole(snapshot *s, const pgh_change *c, pgh_change_kind as,
                                PGresult *row, pgh_error *err);
/* Whether a tuple has unchanged TOAST values ('u'). */
bool pgh_snapshot__lacks_values(const pgh_tuple *t);

/* snapshot_absent.c: keys whose rows the destination never got (an INSERT lacking values that
 * the source no longer had when read again); each is gone when its row's departure comes. */
int pgh_snapshot__absent_add(snapshot *s, const snap_keymap *m, const pgh_tuple *tup,
                             pgh_error *err);
/* c changes an absent key: applied here (*handled), see snapshot_reread.c's top comment. */
int pgh_snapshot__absent_change(bool *handled, snapshot *s, const snap_keymap *m,
                                const pgh_change *c, pgh_error *err);
/* A TRUNCATE of the table: its absent keys are gone. */
void pgh_snapshot__absent_truncate(snapshot *s, int table);
void pgh_snapshot__absent_dispose(snapshot *s);
/* Updates are still read again: the transaction being read commits before the horizon. */
bool pgh_snapshot__rereading(const snapshot *s);
/* Move the re-read horizon to the source's current WAL insert position. */
int pgh_snapshot__horizon_now(snapshot *s, pgh_error *err);

/* snapshot_token.c */
int pgh_snapshot__token_encode(char **out, const snapshot *s, pgh_error *err);
int pgh_snapshot__token_decode(snapshot *s, const char *token, pgh_error *err);

/* Free an array of n key texts (NULL accepted). */
void pgh_snapshot__keys_free(char **keys, int n);
/* Copies of n texts; NULL when out of memory. */
char **pgh_snapshot__keys_dup(const char *const *keys, int n);

#endif
