/*
 * Private to the pipeline (src/pipeline): see include/pghost/pipeline.h.
 *
 *   run.c          pgh_pipeline_run: checks the options, picks the path
 *   pipe_run.c     what every part shares: cancel, opening/closing the destination, the result
 *   deliver.c      one decoded change -> the destination's callbacks
 *   preflight.c    the source's checks, the run's tables described on the source
 *   slot.c         creating, finding, advancing and dropping the run's slot
 *   keyed.c        the copy + catch-up sync of a keyed destination (pghost/keyed.h)
 *   keyless.c      its tables without a key: copied in the slot's exported snapshot
 *   catchup.c      replaying the slot to a checkpoint, copying rows again on the way
 *   catchup_visible.c  before copying again: waiting until the transactions replayed to the
 *                  checkpoint are visible on the source (a synchronous standby may hold them)
 *   recopy.c       reading rows again from the source by key
 *   reconnect.c    before the checkpoint: opening both sides again after a lost connection
 *   follow.c       streaming after the checkpoint until stopped: flushes, feedback, stop,
 *                  reconnects
 *   snapshot*.c    the existing rows of event destinations in watermarked chunks (DBLog)
 *   rules_dest.c   the rules in front of the destination (src/rules applied); rules_keyed.c
 *                  their part in the keyed copy + catch-up
 *   stats.c        the live counters of pghost/stats.h (opts->stats), lock-free
 */
#ifndef PGH_PIPELINE_INTERNAL_H
#define PGH_PIPELINE_INTERNAL_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "pg/catalog.h"
#include "pg/conn.h"
#include "pghost/pipeline.h"
#include "pghost/stats.h"
#include "source/stream.h"

/* Prefix of the checkpoint messages the pipeline writes (a transactional logical message). */
#define PGH_CHECKPOINT_PREFIX "pghost"
/* Prefix of the watermark and reload messages of the existing rows (snapshot.h). */
#define PGH_SNAPSHOT_PREFIX "pghost.snapshot"

/* The tables of a run, described on the source. */
typedef struct run_tables {
    int n;
    pgh_table_info **src; /* owned, n entries */
    bool any_keyless;     /* one of them has no key (source/keyless.c): the slot exports its
                             snapshot, in which those tables are copied */
} run_tables;

typedef struct snapshot snapshot;
typedef struct rules_dest rules_dest;

/* Everything one run holds. */
typedef struct pipe_run {
    const pgh_pipeline_opts *o;     /* borrowed */
    const pgh_config *cfg;          /* borrowed: the source's (resolved) or resumed */
    pgh_config *resumed;            /* owned: the tables a resumed --follow run recorded */
    pgh_destination *dest;          /* borrowed */
    const pgh_destination_ops *ops; /* borrowed */
    void *user;                     /* borrowed: the destination's */
    bool dest_open;                 /* ops->open was called and close is due */
    pgh_pipeline_result *out;       /* borrowed */
    PGconn *src;                    /* owned: an ordinary session on the source */
    bool follow;                    /* until STOPPED */
    bool keyed;                     /* the copy + catch-up sync (keyed.c), not the event path */
    PGconn *exporter;               /* owned, NULL but between the slot's creation and the
                                       import of its snapshot: the replication session that
                                       created the slot and exported snapshot (keyless.c) */
    char snapshot[64];              /* the exported snapshot's name, "" when none */
    pgh_conn_opening *repl_opening; /* owned, NULL when none: the keyed sync's replication
                                       session, opened in the background from the start */
    PGconn *repl;                   /* owned, NULL when none: that session, checked by the
                                       preflight and kept idle for the catch-up's stream */
    bool resumable;                 /* progress and slot are recorded: a re-run goes on */
    bool slot_created;              /* this run owns the slot (drop it on failure) */
    bool checkpoint_reached;
    run_tables tables;              /* owned */
    char phase[PGH_POSITION_PHASE_MAX]; /* what commits carry as their position's phase */
    snapshot *snap;                 /* owned: event destinations' existing rows, or NULL */
    bool done;                      /* until CHECKPOINT reached: follow stops at the next
                                       transaction boundary */
    char marker[256];               /* the checkpoint an event run waits for, "" before */
    /* How the stream's changes reach the destination: deliver (keyed), or through the
     * snapshot coordinator (event destinations). */
    int (*handle)(struct pipe_run *r, const pgh_change *c, pgh_error *err);
    /* Called by follow at the start and end of every streaming session (may be NULL): the
     * event path restarts its delivery of existing rows from the destination's position. */
    int (*session_start)(struct pipe_run *r, pgh_error *err);
    void (*session_end)(struct pipe_run *r);
    /* The resume token every commit's position carries, or NULL (may be NULL: none). */
    const char *(*commit_token)(struct pipe_run *r);
    /* stats.c: row changes of the current source transaction, counted at its commit unless it
     * ends at or before counted_lsn (a replay after a reconnect, which the destination skips) */
    uint64_t pending[PGH_STATS_NCHANGES];
    pgh_lsn counted_lsn;
    rules_dest *rules;              /* owned: the rules in front of the destination, or NULL */
} pipe_run;

/* pipe_run.c: (re)open the destination for r->cfg; close it (idempotent). */
int pgh_pipeline__open_dest(pipe_run *r, pgh_error *err);
void pgh_pipeline__close_dest(pipe_run *r);
bool pgh_pipeline__canceled(const pipe_run *r);
/* The result's per-table entries, named from r->cfg. */
int pgh_pipeline__init_result(pipe_run *r, pgh_error *err);

/* deliver.c: pass one change to the destination (pghost's own messages are not passed). */
int pgh_pipeline__deliver(pipe_run *r, const pgh_change *c, pgh_error *err);
/* A transactional logical message with this prefix? */
bool pgh_pipeline__is_message(const pgh_change *c, const char *prefix);

/* preflight.c: the source's checks (server, the slot name free when slot_must_be_free,
 * replication connection, publication; and, unless PREFLIGHT_NO_TABLES, every table, described
 * into r->tables, in the configuration's order). PREFLIGHT_EXISTING_TABLES, for a run resumed
 * while following, leaves out tables the source no longer has under their configured name
 * (renamed or dropped since, the DDL capture following them), logging each: r->tables then
 * no longer lines up with the configuration's tables. The keyed sync's preflight
 * (PREFLIGHT_TABLES) keeps its replication session in r->repl for the catch-up. */
enum { PREFLIGHT_NO_TABLES, PREFLIGHT_TABLES, PREFLIGHT_EXISTING_TABLES };
int pgh_pipeline__preflight(pipe_run *r, bool slot_must_be_free, int tables, pgh_error *err);
void pgh_pipeline__tables_dispose(run_tables *t);

/* slot.c */
int pgh_pipeline__slot_ensure(pipe_run *r, bool resuming, bool copy_started, pgh_error *err);
/* Drop the slot (keep: advance it to the checkpoint), retrying while its walsender lets go. */
int pgh_pipeline__slot_finish(pipe_run *r, bool keep, pgh_error *err);
/* After a failure: drop a slot this run created unless something can resume from it. */
void pgh_pipeline__slot_cleanup(pipe_run *r, int rc);

/* keyed.c: the sync, resumed from what is recorded after a lost connection or in a re-run */
int pgh_pipeline__keyed(pipe_run *r, pgh_error *err);

/* keyless.c: copy the run's tables without a key (dests[i]: table i's destination, quoted)
 * in the snapshot the slot exported (r->snapshot), then end the exporting session. */
int pgh_pipeline__copy_keyless(pipe_run *r, const char *const *dests, pgh_error *err);
/* keyless.c: a run interrupted in its copy can be taken up again only without tables without
 * a key (their snapshot ended with it): PGH_EPRECOND naming the first one and the fix. */
int pgh_pipeline__keyless_resumable(pipe_run *r, pgh_error *err);

/* reconnect.c: the backoff between attempts to reconnect, in ms: it starts at the minimum and
 * doubles up to the maximum. */
#define PGH_BACKOFF_MIN_MS 100
#define PGH_BACKOFF_MAX_MS 10000

/* reconnect.c: one backoff step after err (a lost connection): log "<err>; reconnecting in N
 * ms" at warn for component, clear err, wait *backoff_ms (raised to the minimum first), then
 * double *backoff_ms up to the maximum. Returns false when a stop was requested meanwhile. */
bool pgh_pipeline__backoff(pipe_run *r, int *backoff_ms, const char *component, pgh_error *err);

/* reconnect.c: after err (a lost connection, PGH_ECONN; logged here with the wait, then
 * cleared): wait with exponential backoff (100 ms to 10 s), close the destination and the
 * source session, and open both again, until that works (0), a stop is requested
 * (PGH_ECANCELED), 30 attempts failed (PGH_ECONN) or another error comes. */
int pgh_pipeline__reconnect(pipe_run *r, const char *component, pgh_error *err);

/* catchup.c: checkpoint, replay, copy again, until a checkpoint with nothing to copy again.
 * confirm: tell the slot what the destination made durable on the way. */
int pgh_pipeline__catchup(pipe_run *r, bool confirm, pgh_error *err);

/* Write a checkpoint (a transactional message, unique to this run and round) on the source. */
int pgh_pipeline__emit_checkpoint(pgh_lsn *marker_lsn, char *marker, size_t marker_len,
                                  pipe_run *r, int round, pgh_error *err);
/* The message of that checkpoint? */
bool pgh_pipeline__is_checkpoint(const pgh_change *c, const char *marker);

/* catchup_visible.c: the transactions replayed to a checkpoint that a new snapshot on the
 * source may not see yet (their commit is in the WAL, the committing session has not left the
 * running set: a synchronous standby may hold it). Full xids. */
typedef struct run_visible {
    uint64_t xmin, xmax; /* the source's snapshot right after the checkpoint's transaction */
    uint64_t *xip;       /* owned: its running xids */
    int nxip;
    uint64_t *noted; /* owned: replayed transactions running at that snapshot */
    int nnoted, cap_noted;
} run_visible;

/* Take the source's snapshot right after the checkpoint's transaction returned; forgets what
 * was noted. */
int pgh_pipeline__visible_take(run_visible *v, PGconn *src, pgh_error *err);
/* A replayed transaction (its BEGIN's xid): noted when that snapshot does not see it. Returns
 * -1 when out of memory. */
int pgh_pipeline__visible_note(run_visible *v, uint32_t xid);
/* Wait (backing off, logging at info after a second, keeping the stream alive) until every
 * noted transaction is visible to a new snapshot on the source; 0 at once when none is noted.
 * Never waits for a transaction not noted. */
int pgh_pipeline__visible_wait(run_visible *v, pipe_run *r, pgh_stream *stream, pgh_error *err);
/* Free what v holds and zero it. */
void pgh_pipeline__visible_reset(run_visible *v);

/* recopy.c: copy the rows again from the source into the destination (replace_row). */
int pgh_pipeline__recopy(pipe_run *r, const pgh_recopy_row *rows, int n, pgh_stream *stream,
                         pgh_error *err);

/* follow.c: stream into the destination until stopped (0) or an error a reconnect cannot fix;
 * r->out->followed_txns counts source transactions. */
int pgh_pipeline__follow(pipe_run *r, pgh_error *err);

/* stats.c: update opts->stats when it is set (every function is a no-op otherwise). The
 * phase; one delivered change (row changes by kind, commits: transactions, applied LSN and
 * commit time); the source's WAL end the stream reported (idle: nothing is pending before it);
 * a reconnect starting (on, counted) or done. */
void pgh_pipeline__stats_phase(pipe_run *r, pgh_stats_phase phase);
void pgh_pipeline__stats_change(pipe_run *r, const pgh_change *c);
void pgh_pipeline__stats_received(pipe_run *r, pgh_lsn server, bool idle);
void pgh_pipeline__stats_reconnecting(pipe_run *r, bool on);

/* rules_dest.c: put the rules in front of r's destination (r->ops and r->user become the
 * rules' own, which pass every call on, transformed or filtered); take them away again
 * (idempotent). rules is borrowed until unwrap. */
int pgh_pipeline__rules_wrap(pipe_run *r, const pgh_rules *rules, pgh_error *err);
void pgh_pipeline__rules_unwrap(pipe_run *r);
/* rules_dest.c: would the rules turn this change into an INSERT that lacks unchanged TOAST
 * values (an UPDATE that moves a row into a filter, its old row not sent whole)? Such an
 * UPDATE must be read again whole from the source first (snapshot_reread.c). False when r has
 * no rules. */
int pgh_pipeline__rules_enters(bool *out, pipe_run *r, const pgh_change *c, pgh_error *err);
/* rules_dest.c: before anything is written, compile the rules against r->tables: every table
 * and column they name must exist, every rule suit its column's type (PGH_ECONFIG). */
int pgh_pipeline__rules_check(pipe_run *r, pgh_error *err);

/* snapshot.c: the existing rows of an event destination, with the changes (DBLog). */
int pgh_pipeline__event(pipe_run *r, pgh_error *err);

#endif
