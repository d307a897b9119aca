/*
 * The copy + catch-up sync of a keyed destination (pghost/keyed.h; docs/sync.md):
 *
 *   1. preflight: the source's checks here, the destination's in its prepare
 *   2. create the logical slot (pgoutput): every commit after this point is in its stream
 *      (exporting its snapshot when a table has no key: keyless.c)
 *   3. copy the tables without a key whole in that snapshot (keyless.c), then every other
 *      table in parallel batches, each its own short transaction on the source
 *      then the destination's work for the end of the copy (keys of created tables)
 *   4. checkpoint: a transactional pg_logical_emit_message written after the copy; it arrives
 *      in the stream after every commit any batch could have seen
 *   5. replay the slot from its start to the checkpoint with the catch-up conflict rules
 *   6. the destination's checkpoint work (sequences, deferred indexes); drop the slot, or keep
 *      it advanced to the checkpoint
 * Afterwards every destination table equals its source table as of the checkpoint. A
 * following run records its phase at each step with the destination and resumes in it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"
#include "pg/slot.h"
#include "pghost/log.h"
#include "pipeline_internal.h"
#include "snapshot.h"
#include "source/copy.h"
#include "source/copy_units.h"
#include "util/clock.h"

static const pgh_keyed_ops *keyed(const pipe_run *r)
{
    return r->ops->keyed;
}

/* Every run records its phase with the destination: a re-run resumes in it. */
static int set_phase(pipe_run *r, const char *phase, pgh_lsn applied, pgh_lsn checkpoint,
                     pgh_error *err)
{
    snprintf(r->phase, sizeof(r->phase), "%s", phase);
    pgh_position pos = {.lsn = applied, .checkpoint = checkpoint};
    snprintf(pos.phase, sizeof(pos.phase), "%s", phase);
    return r->ops->write_position(r->user, &pos, err);
}

/* ---- progress ------------------------------------------------------------------------- */

typedef struct copy_progress_ctx {
    pipe_run *r;
    pgh_progress_table *rows; /* owned: one per unit */
    char (*names)[132];       /* owned: one per unit */
} copy_progress_ctx;

static void on_copy_progress(const pgh_copy_table *units, int n, void *payload)
{
    copy_progress_ctx *c = payload;
    for (int i = 0; i < n; i++) {
        const pgh_copy_table *u = &units[i];
        double est = u->src->reltuples > 0 ? u->src->reltuples : (double)u->src->size_bytes / 100;
        c->rows[i] = (pgh_progress_table){.name = c->names[i],
                                          .estimated_rows = est,
                                          .rows = atomic_load(&u->rows),
                                          .bytes = atomic_load(&u->bytes),
                                          .ranges_total = atomic_load(&u->ranges_total),
                                          .ranges_done = atomic_load(&u->ranges_done)};
    }
    pgh_progress p = {.phase = PGH_PROGRESS_ROWS, .ntables = n, .tables = c->rows};
    c->r->o->progress(&p, c->r->o->progress_payload);
}

/* ---- the copy ------------------------------------------------------------------------- */

static int copy_all(pipe_run *r, copy_units *u, pgh_error *err)
{
    const pgh_config *cfg = r->cfg;
    const pgh_pipeline_opts *o = r->o;
    copy_progress_ctx pc = {.r = r, .rows = calloc((size_t)u->n + 1, sizeof(*pc.rows)),
                            .names = calloc((size_t)u->n + 1, sizeof(*pc.names))};
    if (pc.rows == NULL || pc.names == NULL) {
        free(pc.rows);
        free(pc.names);
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    }
    for (int i = 0; i < u->n; i++)
        snprintf(pc.names[i], sizeof(pc.names[i]), "%s.%s", u->units[i].src->schema,
                 u->units[i].src->name);
    pgh_copy_opts co = PGH_COPY_OPTS_INIT;
    co.source_conninfo = cfg->source_connection;
    co.workers = cfg->copy_worker_count;
    co.batch_rows = cfg->copy_batch_size;
    co.batch_max_ms = (int)cfg->copy_batch_max_ms;
    co.keyset = cfg->copy_use_keyset_pagination;
    co.cancel = o->cancel;
    co.progress = o->progress ? on_copy_progress : NULL;
    co.progress_payload = &pc;
    co.progress_ms = o->progress_ms;
    co.keyed = keyed(r);
    co.user = r->user;
    co.resumable = true;
    co.slot = cfg->slot_name;
    int64_t start = pgh_clock_ms();
    int rc = pgh_copy_run(u->units, u->n, &co, err);
    r->out->copy_seconds = (double)(pgh_clock_ms() - start) / 1000.0;
    for (int k = 0; k < u->n; k++) {
        r->out->tables[u->table[k]].rows_copied += atomic_load(&u->units[k].rows);
        r->out->tables[u->table[k]].bytes_copied += atomic_load(&u->units[k].bytes);
    }
    free(pc.rows);
    free(pc.names);
    return rc;
}

static void free_names(char **names, int n)
{
    for (int i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
}

static int run_copy(pipe_run *r, pgh_error *err)
{
    /* One unit per table, or per leaf partition of a partitioned one, each naming its
     * destination table (quoted: saved plans are checked against it when resuming). */
    const pgh_config *cfg = r->cfg;
    char **dests = calloc(cfg->ntables + 1, sizeof(char *));
    int rc = dests ? 0 : pgh_error_set(err, PGH_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < cfg->ntables; i++) {
        dests[i] = pgh_conn_qualified(r->src, cfg->tables[i].dest_schema, cfg->tables[i].dest_table);
        if (dests[i] == NULL)
            rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
    }
    /* auto: a table whose destination converts a column through its text form goes in text */
    bool *text_only = calloc((size_t)r->tables.n + 1, sizeof(bool));
    if (rc == 0 && text_only == NULL)
        rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
    for (int i = 0; rc == 0 && i < r->tables.n; i++)
        text_only[i] = cfg->copy_format == PGH_COPY_FORMAT_AUTO && r->ops->keyed->needs_text &&
                       r->ops->keyed->needs_text(r->user, i);
    copy_units u;
    memset(&u, 0, sizeof(u));
    /* Tables without a key first: their copy takes the slot's exported snapshot, whose
     * session waits meanwhile (keyless.c). */
    if (rc == 0 && r->tables.any_keyless)
        rc = pgh_pipeline__copy_keyless(r, (const char *const *)dests, err);
    if (rc == 0)
        rc = pgh_copy_units_build(&u, r->src, r->tables.src, (const char *const *)dests,
                                  r->tables.n, cfg->copy_format, text_only, false, err);
    free(text_only);
    if (rc == 0)
        rc = copy_all(r, &u, err);
    pgh_copy_units_dispose(&u);
    free_names(dests, (int)cfg->ntables);
    return rc;
}

/* A resumed copy whose slot is gone may start over only when no batch was recorded. */
typedef struct started_ctx {
    bool any;
} started_ctx;

static int count_unit(void *p, int i, const pgh_copy_plan_unit *u, pgh_error *err)
{
    (void)p, (void)i, (void)u, (void)err;
    return 0;
}

static int count_bound(void *p, int t, const char *const *v, pgh_error *err)
{
    (void)p, (void)t, (void)v, (void)err;
    return 0;
}

static int count_range(void *p, int t, int64_t range, bool done, const char *const *k,
                       pgh_error *err)
{
    (void)t, (void)range, (void)done, (void)k, (void)err;
    ((started_ctx *)p)->any = true;
    return 0;
}

static int copy_started(bool *out, pipe_run *r, pgh_error *err)
{
    started_ctx c = {false};
    pgh_copy_plan_reader rd = {count_unit, count_bound, count_range, &c};
    bool found = false;
    int rc = keyed(r)->plan_load(r->user, &found, &rd, err);
    *out = c.any;
    return rc;
}

/* ---- the steps ------------------------------------------------------------------------ */

/* The snapshot of an earlier attempt borrowed the tables the preflight described then, which
 * this attempt's preflight freed and described again (the same tables, in the configuration's
 * order): point it at the new descriptions, keeping what it knows of the stream (its horizon). */
static int snapshot_tables_again(pipe_run *r, pgh_error *err)
{
    snapshot *s = r->snap;
    if (s->ntables != r->tables.n)
        return pgh_error_set(err, PGH_EPROTO, "the run's tables changed between two attempts "
                                              "(%d, now %d): start the run again",
                             s->ntables, r->tables.n);
    for (int i = 0; i < s->ntables; i++)
        s->tables[i].info = r->tables.src[i];
    return 0;
}

/* Before the slot: the checks on both sides, then (a new run) its start. */
static int prepare(pipe_run *r, const char *resume_phase, pgh_error *err)
{
    int rc = pgh_pipeline__preflight(r, resume_phase == NULL, PREFLIGHT_TABLES, err);
    if (rc == 0 && r->snap != NULL)
        rc = snapshot_tables_again(r, err);
    if (rc == 0 && r->rules)
        rc = pgh_pipeline__rules_check(r, err);
    /* INSERTs lacking TOAST values (a publication's row filter; rules turning updates into
     * INSERTs) are read again from the source (snapshot_reread.c) on the way to the catch-up
     * and the following. */
    if (rc == 0 && r->snap == NULL) {
        rc = pgh_snapshot__new(&r->snap, r, err);
        r->handle = pgh_snapshot__handle_changes;
    }
    if (rc == 0)
        r->snap->missing = SNAP_MISSING_RECOPY; /* the catch-up copies such rows again */
    if (rc == 0)
        rc = keyed(r)->prepare(r->user, resume_phase != NULL, r->o->truncate_destination, err);
    if (rc == 0)
        rc = pgh_pipeline__init_result(r, err);
    if (rc != 0 || resume_phase)
        return rc;
    pgh_position pos = {.phase = "copy"};
    snprintf(r->phase, sizeof(r->phase), "copy");
    return keyed(r)->start(r->user, &pos, r->cfg, err);
}

static void collect_stats(pipe_run *r)
{
    for (int i = 0; i < r->out->ntables; i++)
        if (keyed(r)->stats)
            keyed(r)->stats(r->user, i, &r->out->tables[i].applied);
}

/* The sync, from the start or from the phase an interrupted run recorded. */
static int run_steps(pipe_run *r, const char *resume_phase, pgh_error *err)
{
    const pgh_pipeline_opts *o = r->o;
    bool indexes = resume_phase && strcmp(resume_phase, "indexes") == 0;
    bool copy_done = indexes || (resume_phase && strcmp(resume_phase, "catchup") == 0);
    bool started = false;
    int rc = prepare(r, resume_phase, err);
    if (rc == 0 && resume_phase && strcmp(resume_phase, "copy") == 0)
        rc = pgh_pipeline__keyless_resumable(r, err);
    if (rc == 0 && resume_phase && strcmp(resume_phase, "copy") == 0)
        rc = copy_started(&started, r, err);
    if (rc == 0)
        rc = pgh_pipeline__slot_ensure(r, resume_phase != NULL, started || copy_done, err);
    if (rc == 0 && !copy_done) {
        pgh_pipeline__stats_phase(r, PGH_PHASE_COPY);
        rc = run_copy(r, err);
    }
    /* Before the phase says "catchup": a run killed meanwhile goes through here again. */
    if (rc == 0 && !indexes && keyed(r)->copy_done)
        rc = keyed(r)->copy_done(r->user, err);
    if (rc == 0 && !indexes) {
        pgh_pipeline__stats_phase(r, PGH_PHASE_CATCHUP);
        rc = set_phase(r, "catchup", 0, 0, err);
    }
    if (rc == 0 && !indexes && o->before_checkpoint)
        rc = o->before_checkpoint(o->before_checkpoint_payload, err);
    /* The slot stays at its start until the checkpoint (nothing is confirmed on the way), so
     * a catch-up taken up again replays everything with the rows it must copy again. */
    if (rc == 0 && !indexes)
        rc = pgh_pipeline__catchup(r, false, err);
    pgh_lsn at = r->out->checkpoint_lsn;
    /* The destination's work at the checkpoint, recorded first so that a re-run after an
     * interruption goes straight to finishing it. */
    if (rc == 0)
        pgh_pipeline__stats_phase(r, PGH_PHASE_INDEXES);
    if (rc == 0 && !indexes)
        rc = set_phase(r, "indexes", at, at, err);
    if (rc == 0)
        rc = keyed(r)->checkpoint(r->user, at, err);
    collect_stats(r);
    /* The position before the slot moves: a crash in between resumes at the checkpoint. */
    if (rc == 0)
        rc = set_phase(r, "follow", at, at, err);
    if (rc == 0)
        rc = pgh_pipeline__slot_finish(r, o->keep_slot || r->follow, err);
    r->checkpoint_reached = rc == 0;
    if (rc == 0 && !r->follow && keyed(r)->forget)
        rc = keyed(r)->forget(r->user, err);
    return rc;
}

/* The slot of a recorded "follow" phase, for a run that does not follow: a finished one-shot
 * run whose record outlived its slot (interrupted between the two) starts afresh; a slot that
 * a --follow run keeps is not this run's to take. */
static int recorded_follow(bool *fresh, pipe_run *r, bool slot_exists, pgh_error *err)
{
    const pgh_config *cfg = r->cfg;
    *fresh = false;
    if (slot_exists)
        return pgh_error_set(err, PGH_EPRECOND,
                             "slot %s was synced to its checkpoint by an earlier run that follows "
                             "it (%s.state): run pghost replicate --follow to go on, or pghost "
                             "teardown to start over",
                             cfg->slot_name, cfg->state_schema);
    pgh_log(PGH_LOG_INFO, "replicate",
            "%s.state records a finished run of slot %s, whose slot is gone: starting afresh",
            cfg->state_schema, cfg->slot_name);
    *fresh = true;
    return keyed(r)->forget ? keyed(r)->forget(r->user, err) : 0;
}

/* The phase an earlier run recorded (NULL when none), and whether it follows. */
static int check_resume(const char **resume_phase, bool *following, pipe_run *r,
                        pgh_error *err)
{
    const pgh_config *cfg = r->cfg;
    pgh_position pos = {0};
    *resume_phase = NULL;
    *following = false;
    int rc = r->ops->read_position(r->user, &pos, err);
    free(pos.resume);
    if (rc != 0 || pos.phase[0] == '\0')
        return rc;
    r->out->checkpoint_lsn = pos.checkpoint; /* "indexes" resumes after it */
    r->counted_lsn = pos.lsn;                /* the destination skips what it holds */
    snprintf(r->phase, sizeof(r->phase), "%s", pos.phase);
    if (strcmp(pos.phase, "follow") != 0) {
        *resume_phase = r->phase;
        return 0;
    }
    bool exists = false;
    rc = pgh_slot_exists(&exists, r->src, cfg->slot_name, err);
    if (rc == 0 && !r->follow) {
        bool fresh = false;
        rc = recorded_follow(&fresh, r, exists, err);
        r->phase[0] = '\0';
        return rc;
    }
    if (rc == 0 && !exists)
        return pgh_error_set(err, PGH_ENOTFOUND,
                             "replication slot %s no longer exists on the source, but %s.state "
                             "says it was following it (applied up to " PGH_LSN_FMT "): changes "
                             "since then are lost; run pghost teardown, then sync again",
                             cfg->slot_name, cfg->state_schema, PGH_LSN_ARGS(pos.lsn));
    *following = rc == 0;
    return rc;
}

/* A resumed run works on the tables its first run recorded: the destination is opened again
 * with them. */
static int resume_tables(pipe_run *r, pgh_error *err)
{
    pgh_config *recorded = NULL;
    int rc = keyed(r)->resume_tables(r->user, r->cfg, &recorded, err);
    if (rc != 0 || recorded == NULL)
        return rc;
    pgh_pipeline__close_dest(r);
    pgh_config_free(r->resumed);
    r->resumed = recorded;
    r->cfg = recorded;
    return pgh_pipeline__open_dest(r, err);
}

/* One attempt at the sync: from the start, or from what an earlier attempt or run recorded. */
static int attempt(bool *following, pipe_run *r, pgh_error *err)
{
    const char *resume_phase = NULL;
    int rc = check_resume(&resume_phase, following, r, err);
    if (rc == 0 && (resume_phase || *following))
        rc = resume_tables(r, err);
    if (rc == 0 && !*following)
        rc = run_steps(r, resume_phase, err);
    return rc;
}

/* The sync, taken up again after every lost connection (pgh_pipeline__reconnect). */
static int sync_retrying(bool *following, pipe_run *r, pgh_error *err)
{
    for (;;) {
        int rc = attempt(following, r, err);
        if (rc != PGH_ECONN || pgh_pipeline__canceled(r))
            return rc;
        rc = pgh_pipeline__reconnect(r, "replicate", err);
        if (rc != 0)
            return rc;
    }
}

/* Following re-reads INSERTs lacking TOAST values too (snapshot_reread.c), with strict rules:
 * a row the source no longer has is held back until it leaves its key. A resumed run that goes
 * straight to following describes its tables first. */
static int follow_rereading(pipe_run *r, pgh_error *err)
{
    int rc = 0;
    if (r->snap == NULL && r->tables.n == 0)
        rc = pgh_pipeline__preflight(r, false, PREFLIGHT_EXISTING_TABLES, err);
    if (rc == 0 && r->snap == NULL) {
        rc = pgh_snapshot__new(&r->snap, r, err);
        r->handle = pgh_snapshot__handle_changes;
    }
    if (rc == 0)
        r->snap->missing = SNAP_MISSING_ABSENT;
    return rc;
}

int pgh_pipeline__keyed(pipe_run *r, pgh_error *err)
{
    bool following = false;
    r->resumable = true;
    int rc = sync_retrying(&following, r, err);
    /* A run that went straight to following never took the catch-up's replication session. */
    pgh_conn_open_cancel(r->repl_opening);
    r->repl_opening = NULL;
    PQfinish(r->repl);
    r->repl = NULL;
    r->out->resumed = following;
    if (rc == 0 && !following && r->o->checkpoint_reached)
        r->o->checkpoint_reached(r->out, r->o->progress_payload);
    pgh_pipeline__slot_cleanup(r, rc);
    if (rc == 0 && following && r->out->ntables == 0)
        rc = pgh_pipeline__init_result(r, err);
    if (rc == 0 && r->follow)
        rc = follow_rereading(r, err);
    if (rc == 0 && r->follow) {
        snprintf(r->phase, sizeof(r->phase), "follow");
        rc = pgh_pipeline__follow(r, err);
    }
    return rc;
}
