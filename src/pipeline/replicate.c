/* The whole sync: see include/pghost/replicate.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pipeline_internal.h"
#include "source/copy_units.h"
#include "pg/sql.h"
#include "dest/postgres/sequences.h"
#include "dest/postgres/checks.h"
#include "util/clock.h"
#include "pg/conn.h"
#include "pg/slot.h"
#include "util/buf.h"
#include "pghost/log.h"
#include "state/state.h"
#include "source/stream.h"
#include "schema/schema.h"

/* Everything one run holds; released by run_dispose. */
typedef struct run_state {
    const pgh_replicate_opts *o; /* borrowed */
    PGconn *src;                 /* owned */
    PGconn *dst;                 /* owned */
    run_tables tables;           /* owned */
    bool slot_created;
    bool replica_role;           /* the destination role may skip triggers and FK checks */
    char resume_phase[16];       /* phase recorded by an interrupted --follow run, or "" */
    bool checkpoint_reached;     /* the sync finished: the slot is positioned at the checkpoint */
    pgh_schema_created created;  /* owned: tables created (create_destination_tables), whose
                                    deferred indexes and constraints are built after the
                                    catch-up */
} run_state;

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static int connect_both(run_state *st, pgh_error *err)
{
    const pgh_config *cfg = st->o->config;
    int rc = pgh_conn_open(&st->src, cfg->source_connection, PGH_CONN_SQL, "source", "pghost",
                           err);
    if (rc == 0)
        rc = pgh_conn_open(&st->dst, cfg->destination_connection, PGH_CONN_SQL, "destination",
                           "pghost", err);
    if (rc != 0)
        return rc;
    rc = pgh_pg_is_superuser(&st->replica_role, st->dst, err);
    /* This session re-copies rows during the catch-up: like the copy and the apply, it must
     * not fire the destination's triggers or foreign-key actions when the role can avoid it. */
    if (rc == 0 && st->replica_role)
        rc = pgh_conn_exec(st->dst, "SET session_replication_role = replica", err);
    if (rc == 0 && !st->replica_role)
        pgh_log(PGH_LOG_WARN, "replicate",
                "the destination role is not a superuser: triggers and foreign keys on the "
                "destination tables fire while pghost writes");
    return rc;
}

static int run_copy(run_state *st, pgh_replicate_result *out, pgh_error *err)
{
    const pgh_replicate_opts *o = st->o;
    const pgh_config *cfg = o->config;
    /* One unit per table, or per leaf partition of a partitioned one (partitions.h). */
    copy_units u;
    int rc = pgh_copy_units_build(&u, st->src, st->tables.src, st->tables.dst, st->tables.n,
                                  cfg->copy_format, err);
    if (rc != 0) {
        pgh_copy_units_dispose(&u);
        return rc;
    }
    pgh_copy_opts co = PGH_COPY_OPTS_INIT;
    co.source_conninfo = cfg->source_connection;
    co.dest_conninfo = cfg->destination_connection;
    co.workers = cfg->copy_worker_count;
    co.batch_rows = cfg->copy_batch_size;
    co.keyset = cfg->copy_use_keyset_pagination;
    co.replica_role = st->replica_role;
    co.cancel = o->cancel;
    co.progress = o->copy_progress;
    co.progress_payload = o->progress_payload;
    co.progress_ms = o->progress_ms;
    if (o->follow) { /* resumable */
        co.state_schema = cfg->state_schema;
        co.slot = cfg->slot_name;
    }
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    rc = pgh_copy_run(u.units, u.n, &co, err);
    out->copy_seconds = seconds_since(&start);
    for (int k = 0; k < u.n; k++) {
        out->tables[u.table[k]].rows_copied += atomic_load(&u.units[k].rows);
        out->tables[u.table[k]].bytes_copied += atomic_load(&u.units[k].bytes);
    }
    pgh_copy_units_dispose(&u);
    return rc;
}

static int run_catchup(run_state *st, pgh_replicate_result *out, pgh_error *err)
{
    const pgh_replicate_opts *o = st->o;
    pgh_apply_opts ao = PGH_APPLY_OPTS_INIT;
    ao.conninfo = o->config->destination_connection;
    ao.tables = o->config->tables;
    ao.ntables = (int)o->config->ntables;
    ao.replica_role = st->replica_role;
    ao.group_max_changes = (int)o->config->apply_group_max_changes;
    pgh_sink *sink = NULL;
    int rc = pgh_apply_open(&sink, &ao, err);
    /* A resumable run keeps the slot at its start until the checkpoint: an interrupted
     * catch-up then replays from there again, which also rebuilds the set of missing rows. */
    catchup_ctx ctx = {.o = o, .src = st->src, .dst = st->dst, .tables = &st->tables,
                       .confirm = !o->follow};
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    if (rc == 0)
        rc = pgh_pipeline__catchup(out, sink, &ctx, err);
    out->catchup_seconds = seconds_since(&start);
    for (int i = 0; sink && i < st->tables.n; i++)
        out->tables[i].applied = *pgh_apply_table_stats(sink, i);
    pgh_sink_free(sink);
    return rc;
}

/* The walsender of the catch-up may take a moment to release the slot after the stream ends:
 * retry while the slot is in use (SQLSTATE 55006), for up to 10 s. */
static int slot_retry(run_state *st, bool drop, pgh_lsn lsn, pgh_error *err)
{
    const char *slot = st->o->config->slot_name;
    for (int attempt = 0;; attempt++) {
        pgh_error e;
        pgh_error_clear(&e);
        int rc = drop ? pgh_slot_drop(st->src, slot, true, &e)
                      : pgh_slot_advance(st->src, slot, lsn, &e);
        if (rc == 0 || !pgh_pg_error_is(&e, PGH_SQLSTATE_OBJECT_IN_USE) || attempt >= 100) {
            if (rc != 0 && err)
                *err = e;
            return rc;
        }
        pgh_sleep_ms(100);
    }
}

/* The slot outlives the run when asked to, or when something goes on using it. */
static bool keeps_slot(const pgh_replicate_opts *o)
{
    return o->keep_slot || o->follow || o->handoff_subscription != NULL;
}

static int finish_slot(run_state *st, pgh_replicate_result *out, pgh_error *err)
{
    if (!keeps_slot(st->o)) {
        int rc = slot_retry(st, true, 0, err);
        if (rc == 0)
            st->slot_created = false;
        return rc;
    }
    char confirmed[32];
    PGresult *res = NULL;
    const char *params[1] = {st->o->config->slot_name};
    int rc = pgh_conn_query(&res, st->src,
                            "SELECT confirmed_flush_lsn FROM pg_catalog.pg_replication_slots "
                            "WHERE slot_name = $1",
                            1, params, err);
    if (rc != 0)
        return rc;
    snprintf(confirmed, sizeof(confirmed), "%s", PQntuples(res) ? PQgetvalue(res, 0, 0) : "");
    PQclear(res);
    pgh_lsn at = 0;
    if (pgh_lsn_parse(&at, confirmed) == 0 && at >= out->checkpoint_lsn)
        return 0;
    return slot_retry(st, false, out->checkpoint_lsn, err);
}

static void run_dispose(run_state *st, int rc)
{
    /* On failure a slot is worth keeping only when something can go on from it: a --follow
     * run resumes from it, and after the checkpoint it is positioned for a subscription. */
    bool useful = st->o->follow || st->checkpoint_reached;
    if (rc != 0 && st->slot_created && useful && !st->o->follow)
        pgh_log(PGH_LOG_WARN, "replicate",
                "replication slot %s stays at the checkpoint; attach a subscription to it, or "
                "drop it with SELECT pg_drop_replication_slot('%s')",
                st->o->config->slot_name, st->o->config->slot_name);
    if (rc != 0 && st->slot_created && !useful && st->src) {
        if (slot_retry(st, true, 0, NULL) == 0)
            pgh_log(PGH_LOG_INFO, "replicate", "dropped replication slot %s after the failure",
                    st->o->config->slot_name);
        else
            pgh_log(PGH_LOG_WARN, "replicate",
                    "could not drop replication slot %s: drop it with SELECT "
                    "pg_drop_replication_slot('%s') so that it does not retain WAL",
                    st->o->config->slot_name, st->o->config->slot_name);
    }
    pgh_pipeline__tables_dispose(&st->tables);
    pgh_schema_created_dispose(&st->created);
    PQfinish(st->src);
    PQfinish(st->dst);
}

/* A resumable run (--follow) records its phase on the destination; others keep no state. */
static int set_phase(run_state *st, const char *phase, pgh_lsn applied, pgh_lsn checkpoint,
                     pgh_error *err)
{
    if (!st->o->follow)
        return 0;
    const pgh_config *cfg = st->o->config;
    pgh_state state = {.found = true, .applied_lsn = applied, .checkpoint_lsn = checkpoint};
    snprintf(state.phase, sizeof(state.phase), "%s", phase);
    return pgh_state_write(st->dst, cfg->state_schema, cfg->slot_name, &state, err);
}

/* Nothing was copied yet when no batch recorded progress (rows and progress commit together). */
static int nothing_copied(bool *out, run_state *st, pgh_error *err)
{
    const pgh_config *cfg = st->o->config;
    int64_t ranges = 0;
    int rc = pgh_state_copy_ranges_count(&ranges, st->dst, cfg->state_schema, cfg->slot_name,
                                         err);
    *out = rc == 0 && ranges == 0;
    return rc;
}

/* Create the slot, or on a resumed run find it again. A resumed copy whose slot is gone can
 * start it anew only if no batch was copied yet; anything else lost changes. */
static int ensure_slot(run_state *st, pgh_replicate_result *out, const char *resume_phase,
                       pgh_error *err)
{
    const pgh_config *cfg = st->o->config;
    bool exists = false;
    bool fresh_ok = true;
    int rc = resume_phase ? pgh_slot_exists(&exists, st->src, st->o->config->slot_name, err) : 0;
    if (rc == 0 && resume_phase && !exists)
        rc = strcmp(resume_phase, "copy") == 0 ? nothing_copied(&fresh_ok, st, err)
                                               : (fresh_ok = false, 0);
    if (rc != 0)
        return rc;
    if (exists) {
        pgh_log(PGH_LOG_INFO, "replicate", "resuming with replication slot %s (phase %s)",
                cfg->slot_name, resume_phase);
        st->slot_created = true;
        return 0;
    }
    if (!fresh_ok)
        return pgh_error_set(err, PGH_ENOTFOUND,
                             "replication slot %s of the interrupted run no longer exists on the "
                             "source: changes made since it was created are lost; run pghost "
                             "teardown, then start over",
                             cfg->slot_name);
    pgh_log(PGH_LOG_INFO, "replicate", "creating replication slot %s", cfg->slot_name);
    rc = pgh_slot_create(&out->slot_lsn, st->src, cfg->slot_name, err);
    if (rc == 0) {
        st->slot_created = true;
        pgh_log(PGH_LOG_INFO, "replicate", "slot %s consistent at " PGH_LSN_FMT "; copying",
                cfg->slot_name, PGH_LSN_ARGS(out->slot_lsn));
    }
    return rc;
}

static int sync_sequences(run_state *st, pgh_replicate_result *out, pgh_error *err)
{
    int *counts = calloc((size_t)st->tables.n, sizeof(int));
    int rc = counts ? pgh_postgres_sync_sequences(counts, st->src, st->dst, st->tables.src,
                                                  st->tables.dst, st->tables.n, err)
                    : pgh_error_set(err, PGH_ENOMEM, "out of memory");
    for (int i = 0; counts && i < st->tables.n; i++)
        out->tables[i].sequences_set = counts[i];
    free(counts);
    return rc;
}

/* A resumable run's first state row and the tables it works on, in one transaction: a
 * resumed run goes on with these tables, not with what the patterns match by then. */
static int record_start(run_state *st, pgh_error *err)
{
    if (!st->o->follow)
        return 0;
    int rc = pgh_conn_exec(st->dst, "BEGIN", err);
    if (rc == 0)
        rc = pgh_state_selection_write(st->dst, st->o->config->state_schema,
                                       st->o->config->slot_name, st->o->config->tables,
                                       st->o->config->ntables, err);
    if (rc == 0)
        rc = set_phase(st, "copy", 0, 0, err);
    if (rc == 0)
        rc = pgh_conn_exec(st->dst, "COMMIT", err);
    if (rc != 0 && PQtransactionStatus(st->dst) != PQTRANS_IDLE)
        PQclear(PQexec(st->dst, "ROLLBACK"));
    return rc;
}

/* Before the slot: the checks, the state (resumable runs), the truncation. */
static int prepare(run_state *st, pgh_replicate_result *out, const char *resume_phase,
                   pgh_error *err)
{
    const pgh_replicate_opts *o = st->o;
    /* Created tables stay uncommitted until the preflight passed: a failed check leaves
     * nothing behind. A resumed run finds what its first run created in the record. */
    bool create = o->config->create_destination_tables;
    int rc = 0;
    if (create && !resume_phase)
        rc = pgh_schema_begin(&st->created, st->src, st->dst, o->config,
                              o->follow ? o->config->state_schema : NULL, err);
    /* Sessions a killed run left building would hold locks the checks queue behind. */
    if (create && resume_phase)
        rc = pgh_schema_end_orphans(st->dst, o->config->slot_name, err);
    if (rc == 0)
        rc = pgh_pipeline__preflight(&st->tables, st->src, st->dst, o, resume_phase != NULL, err);
    if (create && !resume_phase)
        rc = pgh_schema_end(st->dst, rc, err);
    if (rc == 0 && create && resume_phase)
        rc = pgh_schema_pending_read(&st->created, st->dst, o->config->state_schema,
                                     o->config->slot_name, err);
    if (rc != 0)
        return rc;
    out->ntables = st->tables.n;
    out->tables = calloc((size_t)st->tables.n, sizeof(*out->tables));
    if (out->tables == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    for (int i = 0; i < st->tables.n; i++) {
        const pgh_table_map *m = &o->config->tables[i];
        snprintf(out->tables[i].source, sizeof(out->tables[i].source), "%s.%s",
                 m->source_schema, m->source_table);
        snprintf(out->tables[i].destination, sizeof(out->tables[i].destination), "%s.%s",
                 m->dest_schema, m->dest_table);
    }
    if (resume_phase)
        return 0;
    if (o->follow)
        rc = pgh_state_ensure(st->dst, o->config->state_schema, err);
    if (rc == 0)
        rc = record_start(st, err);
    if (rc == 0 && o->truncate_destination)
        rc = pgh_postgres_truncate(st->dst, st->tables.dst, st->tables.n, err);
    return rc;
}

/* After the catch-up (a secondary unique index could fail on a transient state the replay
 * goes through) and before following: the indexes and constraints of the tables this run
 * created. A --follow run records the phase first, so that a re-run after an interruption
 * goes straight to finishing them (the build skips what exists). */
static int build_deferred(run_state *st, pgh_replicate_result *out, pgh_error *err)
{
    const pgh_config *cfg = st->o->config;
    if (st->created.n == 0)
        return 0;
    int rc = set_phase(st, "indexes", out->checkpoint_lsn, out->checkpoint_lsn, err);
    pgh_schema_build_opts bo = PGH_SCHEMA_BUILD_OPTS_INIT;
    bo.config = cfg;
    bo.sessions = cfg->copy_worker_count;
    bo.cancel = st->o->cancel;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int built = 0;
    if (rc == 0)
        rc = pgh_schema_build_deferred(&built, &st->created, &bo, err);
    if (rc == 0)
        pgh_log(PGH_LOG_INFO, "replicate", "built %d indexes and constraints in %.1f s", built,
                seconds_since(&start));
    if (rc == 0 && st->o->follow)
        rc = pgh_schema_pending_clear(st->dst, cfg->state_schema, cfg->slot_name, err);
    return rc;
}

/* The sync, from the start or from the phase an interrupted --follow run recorded. */
static int run_steps(run_state *st, pgh_replicate_result *out, const char *resume_phase,
                     pgh_error *err)
{
    const pgh_replicate_opts *o = st->o;
    int rc = prepare(st, out, resume_phase, err);
    if (rc == 0)
        rc = ensure_slot(st, out, resume_phase, err);
    bool indexes = resume_phase && strcmp(resume_phase, "indexes") == 0;
    bool copy_done = indexes || (resume_phase && strcmp(resume_phase, "catchup") == 0);
    if (rc == 0 && !copy_done)
        rc = run_copy(st, out, err);
    if (rc == 0 && !indexes)
        rc = set_phase(st, "catchup", 0, 0, err);
    if (rc == 0 && !indexes && o->before_checkpoint)
        rc = o->before_checkpoint(o->before_checkpoint_payload, err);
    if (rc == 0 && !indexes)
        rc = run_catchup(st, out, err);
    if (rc == 0)
        rc = sync_sequences(st, out, err);
    if (rc == 0)
        rc = build_deferred(st, out, err);
    /* The position before the slot moves: a crash in between resumes at the checkpoint. */
    if (rc == 0)
        rc = set_phase(st, "follow", out->checkpoint_lsn, out->checkpoint_lsn, err);
    if (rc == 0)
        rc = finish_slot(st, out, err);
    st->checkpoint_reached = rc == 0;
    return rc;
}

/* --follow: the phase an earlier run recorded (NULL when none), and whether it is following. */
static int check_resume(const char **resume_phase, run_state *st, pgh_replicate_result *out,
                        pgh_error *err)
{
    const pgh_config *cfg = st->o->config;
    pgh_state state;
    *resume_phase = NULL;
    int rc = pgh_state_read(&state, st->dst, cfg->state_schema, cfg->slot_name, err);
    if (rc != 0 || !state.found)
        return rc;
    if (strcmp(state.phase, "follow") != 0) {
        snprintf(st->resume_phase, sizeof(st->resume_phase), "%s", state.phase);
        out->checkpoint_lsn = state.checkpoint_lsn; /* the "indexes" phase resumes after it */
        *resume_phase = st->resume_phase;
        return 0;
    }
    bool exists = false;
    rc = pgh_slot_exists(&exists, st->src, st->o->config->slot_name, err);
    if (rc == 0 && !exists)
        return pgh_error_set(err, PGH_ENOTFOUND,
                             "replication slot %s no longer exists on the source, but %s.state "
                             "says it was following it (applied up to " PGH_LSN_FMT "): changes "
                             "since then are lost; run pghost teardown, then sync again",
                             cfg->slot_name, cfg->state_schema, PGH_LSN_ARGS(state.applied_lsn));
    out->resumed = rc == 0;
    out->checkpoint_lsn = state.checkpoint_lsn;
    return rc;
}

/* --handoff-subscription: a native subscription takes over the kept slot. */
static int handoff(run_state *st, pgh_error *err)
{
    const pgh_config *cfg = st->o->config;
    char *name = pgh_conn_ident(st->dst, st->o->handoff_subscription);
    char *pub = pgh_conn_ident(st->dst, cfg->publication_name);
    char *conn = pgh_conn_literal(st->dst, cfg->source_connection, strlen(cfg->source_connection));
    char *slot = pgh_conn_literal(st->dst, cfg->slot_name, strlen(cfg->slot_name));
    int rc = (name && pub && conn && slot) ? 0 : pgh_error_set(err, PGH_ENOMEM, "out of memory");
    if (rc == 0) {
        pgh_buf sql;
        pgh_buf_init(&sql, 0);
        pgh_buf_printf(&sql,
                       "CREATE SUBSCRIPTION %s CONNECTION %s PUBLICATION %s WITH (create_slot = "
                       "false, slot_name = %s, copy_data = false)",
                       name, conn, pub, slot);
        rc = pgh_conn_exec(st->dst, pgh_buf_str(&sql), err);
        pgh_buf_dispose(&sql);
        if (rc != 0)
            pgh_error_prefix(err, "creating subscription %s on the destination",
                             st->o->handoff_subscription);
    }
    free(name);
    free(pub);
    free(conn);
    free(slot);
    return rc;
}

int pgh_replicate_run(pgh_replicate_result *out, const pgh_replicate_opts *opts,
                      pgh_error *err)
{
    memset(out, 0, sizeof(*out));
    if (opts->config->destination == PGH_DESTINATION_STDOUT)
        return pgh_pipeline__stream_json(out, opts, err);
    run_state st = {.o = opts};
    int rc = connect_both(&st, err);
    const char *resume_phase = NULL;
    if (rc == 0 && opts->follow)
        rc = check_resume(&resume_phase, &st, out, err);
    /* A resumed run works on the tables its first run recorded: from here on st.o (and the
     * follow) see them in place of the fresh resolution of the patterns. */
    run_selection sel;
    memset(&sel, 0, sizeof(sel));
    if (rc == 0 && opts->follow && (resume_phase || out->resumed))
        rc = pgh_pipeline__selection_resume(&st.o, &sel, st.dst, err);
    if (rc == 0 && !out->resumed)
        rc = run_steps(&st, out, resume_phase, err);
    if (rc == 0 && !out->resumed && opts->checkpoint_reached)
        opts->checkpoint_reached(out, opts->progress_payload);
    if (rc == 0 && opts->handoff_subscription)
        rc = handoff(&st, err);
    run_dispose(&st, rc);
    if (rc == 0 && opts->follow)
        rc = pgh_pipeline__follow(&out->followed_txns, st.o, err);
    pgh_pipeline__selection_dispose(&sel);
    return rc;
}

void pgh_replicate_result_dispose(pgh_replicate_result *r)
{
    if (r == NULL)
        return;
    free(r->tables);
    r->tables = NULL;
    r->ntables = 0;
}
