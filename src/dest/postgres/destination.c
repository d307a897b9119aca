/*
 * The PostgreSQL destination as a pgh_destination (pghost/postgres.h): the callbacks of
 * pghost/destination.h and pghost/keyed.h over the apply (apply.h), the copy sessions
 * (copy_in.h), the checks, the table creation (schema/) and the state schema (state/).
 *
 * The apply is opened when the first change arrives: in catch-up mode (last write wins, no
 * position kept) between set_catchup(true) and set_catchup(false), in strict mode otherwise;
 * a --follow run's strict apply records its position in <state_schema>.state with every
 * commit and skips what is there already (it reads the position when it opens), so changes
 * are applied exactly once across restarts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dest/postgres/apply.h"
#include "dest/postgres/checks.h"
#include "source/publication.h"
#include "dest/postgres/copy_in.h"
#include "dest/postgres/destination.h"
#include "dest/postgres/sequences.h"
#include "pg/conn.h"
#include "pg/sql.h"
#include "pghost/log.h"
#include "pghost/postgres.h"
#include "schema/schema.h"
#include "state/state.h"
#include "util/clock.h"


/* ---- lifecycle ------------------------------------------------------------------------- */

static void dest_close(void *user)
{
    pg_dest *d = user;
    pgh_sink_free(d->apply); /* an open transaction is rolled back */
    d->apply = NULL;
    pgh_postgres__free_tables(d);
    free(d->lenient);
    d->lenient = NULL;
    pgh_schema_created_dispose(&d->created);
    pgh_schema_created_dispose(&d->keys);
    pgh_postgres__colmaps_free(d);
    PQfinish(d->src);
    PQfinish(d->ctl);
    d->src = d->ctl = NULL;
}

static void dest_destroy(void *user)
{
    free(user);
}

/* Whether this session got the applier lock of the slot. */
static int try_lock(bool *got, pg_dest *d, pgh_error *err)
{
    const char *params[1] = {d->cfg->slot_name};
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, d->ctl,
                            "SELECT pg_catalog.pg_try_advisory_lock(pg_catalog.hashtext('pghost "
                            "apply ' || $1))",
                            1, params, err);
    *got = rc == 0 && PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    return rc;
}

/* One pghost per slot and destination: a session advisory lock, held while the destination is
 * open. A second one is refused before it reads the slot or the recorded progress. The lock of
 * a run that was killed goes when the server notices its client is gone, which takes a moment
 * when its session was busy: wait up to LOCK_WAIT_MS before refusing. */
#define LOCK_WAIT_MS 10000
static int lock_slot(pg_dest *d, pgh_error *err)
{
    bool got = false;
    int rc = try_lock(&got, d, err);
    for (int waited = 0; rc == 0 && !got && waited < LOCK_WAIT_MS; waited += 200) {
        if (waited == 0)
            pgh_log(PGH_LOG_INFO, "destination",
                    "slot %s has another applier on this destination; waiting up to %d s for "
                    "it to go (a killed run's session ends when the server notices)",
                    d->cfg->slot_name, LOCK_WAIT_MS / 1000);
        pgh_sleep_ms(200);
        rc = try_lock(&got, d, err);
    }
    if (rc == 0 && !got)
        rc = pgh_error_set(err, PGH_EPRECOND,
                           "another pghost is already applying slot %s to this destination: stop "
                           "it first (two appliers on one slot would apply changes twice)",
                           d->cfg->slot_name);
    return rc;
}

static int dest_open(void *user, const pgh_destination_info *info, pgh_error *err)
{
    pg_dest *d = user;
    d->cfg = info->config;
    d->follow = info->follow;
    d->live = info->stats;
    d->catchup = false;
    d->event = d->cfg->copy_method == PGH_COPY_METHOD_WATERMARKS;
    if (d->cfg->destination_connection == NULL)
        return pgh_error_set(err, PGH_ECONFIG,
                             "%s: destination_connection is not set: add it, or use --to stdout",
                             d->cfg->path ? d->cfg->path : "the configuration");
    int rc = pgh_conn_open(&d->ctl, d->cfg->destination_connection, PGH_CONN_SQL, "destination",
                           "pghost", err);
    /* pghost apply (source: nats) has the stream, not the source server: no keyed sync. */
    if (rc == 0 && d->cfg->source != PGH_SOURCE_NATS)
        rc = pgh_conn_open(&d->src, d->cfg->source_connection, PGH_CONN_SQL, "source", "pghost",
                           err);
    if (rc == 0)
        rc = lock_slot(d, err);
    /* pghost apply has no keyed sync to prepare the state table: it is made here. */
    if (rc == 0 && d->cfg->source == PGH_SOURCE_NATS)
        rc = pgh_state_ensure(d->ctl, d->cfg->state_schema, err);
    if (rc == 0 && d->event)
        rc = pgh_postgres__watermarks_open(d, err);
    /* This session replaces rows during the catch-up: like the copy and the apply, it must not
     * fire the destination's triggers or foreign-key actions unless asked to. */
    d->replica_role = d->cfg->disable_triggers;
    if (rc == 0 && d->replica_role)
        rc = pgh_postgres_replica_role(d->ctl, err);
    return rc;
}

/* ---- the position ---------------------------------------------------------------------- */

static int read_position(void *user, pgh_position *out, pgh_error *err)
{
    pg_dest *d = user;
    if (d->event)
        return pgh_postgres__watermarks_position(d, out, err);
    pgh_state st;
    int rc = pgh_state_read(&st, d->ctl, d->cfg->state_schema, d->cfg->slot_name, err);
    if (rc != 0 || !st.found)
        return rc;
    if (strcmp(st.phase, "snapshot") == 0)
        return pgh_error_set(err, PGH_EPRECOND,
                             "slot %s has an unfinished copy_method: watermarks delivery on this "
                             "destination: finish it with copy_method: watermarks, or run pghost "
                             "teardown and start over",
                             d->cfg->slot_name);
    out->lsn = st.applied_lsn;
    out->checkpoint = st.checkpoint_lsn;
    snprintf(out->phase, sizeof(out->phase), "%s", st.phase);
    return 0;
}

static int write_position(void *user, const pgh_position *pos, pgh_error *err)
{
    pg_dest *d = user;
    pgh_state st = {.found = true, .applied_lsn = pos->lsn, .checkpoint_lsn = pos->checkpoint};
    snprintf(st.phase, sizeof(st.phase), "%s", pos->phase);
    return pgh_state_write(d->ctl, d->cfg->state_schema, d->cfg->slot_name, &st, err);
}

/* ---- changes --------------------------------------------------------------------------- */

static int write_change(void *user, const pgh_change *c, pgh_error *err)
{
    pg_dest *d = user;
    int rc = pgh_postgres__apply(d, err);
    return rc != 0 ? rc : pgh_sink_write(d->apply, c, err);
}

/* The apply records the commit's end LSN itself, in the same transaction; with copy_method
 * watermarks also the resume token and phase. */
static int write_commit(void *user, const pgh_change *c, const pgh_position *after,
                        pgh_error *err)
{
    pg_dest *d = user;
    int rc = d->event ? pgh_postgres__watermarks_commit(d, after, err) : 0;
    return rc != 0 ? rc : write_change(user, c, err);
}

static int flush(void *user, pgh_lsn *durable, pgh_error *err)
{
    pg_dest *d = user;
    *durable = 0;
    return d->apply ? pgh_sink_flush(d->apply, durable, err) : 0;
}

/* ---- the keyed sync -------------------------------------------------------------------- */

/* Created tables stay uncommitted until every check passed: a failed check leaves nothing
 * behind. A resumed run finds what its first run created in the record. */
static int prepare(void *user, bool resuming, bool truncate, pgh_error *err)
{
    pg_dest *d = user;
    const pgh_config *cfg = d->cfg;
    bool create = cfg->create_destination_tables;
    int rc = 0;
    if (create && !resuming)
        rc = pgh_schema_begin(&d->created, d->src, d->ctl, cfg, pgh_postgres__colmaps(d),
                              cfg->state_schema, err);
    /* Sessions a killed run left building would hold locks the checks queue behind. */
    if (create && resuming)
        rc = pgh_schema_end_orphans(d->ctl, cfg->slot_name, err);
    /* Tables created without their key are checked with the key they get after the copy (also
     * when a resumed run no longer asks for create_destination_tables). */
    pgh_schema_created_dispose(&d->keys);
    if (rc == 0)
        rc = pgh_schema_keys_pending(&d->keys, d->ctl, cfg->state_schema, cfg->slot_name, err);
    if (rc == 0)
        rc = pgh_postgres__check_tables(
            d, truncate || resuming || cfg->on_conflict_action != PGH_ON_CONFLICT_ERROR, err);
    if (create && !resuming)
        rc = pgh_schema_end(d->ctl, rc, err);
    if (rc == 0 && create && resuming)
        rc = pgh_schema_pending_read(&d->created, d->ctl, cfg->state_schema, cfg->slot_name,
                                     err);
    if (rc == 0 && !resuming)
        rc = pgh_state_ensure(d->ctl, cfg->state_schema, err);
    if (rc == 0 && !resuming && truncate)
        rc = pgh_postgres_truncate(d->ctl, d->dst_tables, d->ntables, err);
    if (rc == 0 && !d->replica_role)
        pgh_log(PGH_LOG_INFO, "replicate",
                "disable_triggers: false: the destination's triggers and foreign-key checks "
                "fire for every row pghost writes");
    return rc;
}

static int resume_tables(void *user, const pgh_config *fresh, pgh_config **out, pgh_error *err)
{
    pg_dest *d = user;
    return pgh_postgres__resume_tables(out, d->ctl, fresh, err);
}

/* The run's tables and its first position, in one transaction: a resumed run goes on with
 * these tables, not with what the patterns match by then. */
static int start(void *user, const pgh_position *pos, const pgh_config *cfg, pgh_error *err)
{
    pg_dest *d = user;
    int rc = pgh_conn_exec(d->ctl, "BEGIN", err);
    if (rc == 0)
        rc = pgh_state_selection_write(d->ctl, cfg->state_schema, cfg->slot_name, cfg->tables,
                                       cfg->ntables, err);
    if (rc == 0)
        rc = write_position(d, pos, err);
    if (rc == 0)
        rc = pgh_conn_exec(d->ctl, "COMMIT", err);
    if (rc != 0 && PQtransactionStatus(d->ctl) != PQTRANS_IDLE)
        PQclear(PQexec(d->ctl, "ROLLBACK"));
    return rc;
}

/* plan_load: the state's reader callbacks are the keyed reader's, one to one. */
typedef struct plan_reader {
    const pgh_copy_plan_reader *r;
} plan_reader;

static int read_unit(void *payload, int index, const pgh_state_copy_table *t, pgh_error *err)
{
    const pgh_copy_plan_reader *r = ((plan_reader *)payload)->r;
    pgh_copy_plan_unit u = {.dest_table = t->dest_table, .arithmetic = t->arithmetic,
                            .min = t->min, .width = t->width, .nranges = t->nranges,
                            .nkeys = t->nkeys};
    return r->unit(r->payload, index, &u, err);
}

static int read_bound(void *payload, int unit, const char *const *values, pgh_error *err)
{
    const pgh_copy_plan_reader *r = ((plan_reader *)payload)->r;
    return r->bound(r->payload, unit, values, err);
}

static int read_range(void *payload, int unit, int64_t range, bool done,
                      const char *const *last_key, pgh_error *err)
{
    const pgh_copy_plan_reader *r = ((plan_reader *)payload)->r;
    return r->range(r->payload, unit, range, done, last_key, err);
}

static int plan_load(void *user, bool *found, const pgh_copy_plan_reader *r, pgh_error *err)
{
    pg_dest *d = user;
    plan_reader pr = {r};
    pgh_state_copy_reader sr = {read_unit, read_bound, read_range, &pr};
    return pgh_state_copy_plan_load(found, d->ctl, d->cfg->state_schema, d->cfg->slot_name, &sr,
                                    err);
}

static int plan_save(void *user, const pgh_copy_plan_unit *units, int n, pgh_error *err)
{
    pg_dest *d = user;
    pgh_state_copy_table *t = calloc((size_t)n + 1, sizeof(*t));
    if (t == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    for (int i = 0; i < n; i++)
        t[i] = (pgh_state_copy_table){.dest_table = units[i].dest_table,
                                      .arithmetic = units[i].arithmetic, .min = units[i].min,
                                      .width = units[i].width, .nranges = units[i].nranges,
                                      .nkeys = units[i].nkeys, .nbounds = units[i].nbounds,
                                      .bounds = units[i].bounds};
    int rc = pgh_state_copy_plan_save(d->ctl, d->cfg->state_schema, d->cfg->slot_name, t, n, err);
    free(t);
    return rc;
}

static int copy_open(void *user, void **session, bool resumable, pgh_error *err)
{
    pg_dest *d = user;
    copy_in_ctx ctx = {.conninfo = d->cfg->destination_connection,
                       .replica_role = d->replica_role,
                       .tables = d->dst_tables,
                       .ntables = d->ntables,
                       .state_schema = d->cfg->state_schema,
                       .slot = d->cfg->slot_name,
                       .on_conflict = d->cfg->on_conflict_action};
    return pgh_postgres__copy_open(session, &ctx, resumable, err);
}

/* Keep the catch-up's counters before its apply goes. */
static void keep_stats(pg_dest *d)
{
    for (int i = 0; d->apply && i < d->ntables; i++) {
        const pgh_apply_stats *s = pgh_apply_table_stats(d->apply, i);
        if (s == NULL)
            continue;
        d->stats[i].inserts += s->inserts;
        d->stats[i].updates += s->updates;
        d->stats[i].deletes += s->deletes;
        d->stats[i].truncates += s->truncates;
        d->stats[i].skipped += s->skipped;
    }
}

/* The mode changes between transactions, after a flush: the apply of the old mode goes (it has
 * nothing open) and the next change opens one in the new mode. */
static void set_catchup(void *user, bool catchup)
{
    pg_dest *d = user;
    if (d->catchup == catchup && d->apply == NULL)
        return;
    if (d->catchup)
        keep_stats(d);
    pgh_sink_free(d->apply);
    d->apply = NULL;
    d->catchup = catchup;
}

static int take_recopy(void *user, pgh_recopy_row **rows, int *n, pgh_error *err)
{
    pg_dest *d = user;
    *rows = NULL;
    *n = 0;
    pgh_apply_missing *m = NULL;
    int count = 0;
    int rc = d->apply ? pgh_apply_take_missing(&m, &count, d->apply, err) : 0;
    pgh_recopy_row *out = rc == 0 && count ? calloc((size_t)count, sizeof(*out)) : NULL;
    if (rc == 0 && count && out == NULL)
        rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
    for (int i = 0; rc == 0 && i < count; i++) {
        const pgh_table_info *dst = d->dst_tables[m[i].table];
        out[i] = (pgh_recopy_row){.table = m[i].table, .nkeys = m[i].nkeys, .keys = m[i].keys};
        m[i].keys = NULL; /* moved */
        out[i].key_names = calloc((size_t)out[i].nkeys + 1, sizeof(char *));
        for (int k = 0; out[i].key_names && k < out[i].nkeys; k++)
            out[i].key_names[k] = strdup(dst->cols[dst->key_cols[k]].name);
        for (int k = 0; k < out[i].nkeys; k++)
            if (out[i].key_names == NULL || out[i].key_names[k] == NULL)
                rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
    }
    pgh_apply_missing_free(m, count);
    if (rc != 0) {
        pgh_recopy_rows_free(out, count);
        return rc;
    }
    *rows = out;
    *n = count;
    return 0;
}

static int replace_row(void *user, const pgh_recopy_row *row, const char *const *columns,
                       const char *const *values, int ncolumns, pgh_error *err)
{
    pg_dest *d = user;
    if (row->table < 0 || row->table >= d->ntables)
        return pgh_error_set(err, PGH_ECONFIG, "replace_row: no table %d", row->table);
    return pgh_postgres__replace_row(d->ctl, d->dst_tables[row->table], row, columns, values,
                                     ncolumns, err);
}

static int seconds_since_ms(int64_t start)
{
    return (int)((pgh_clock_ms() - start) / 1000);
}

/* The keys of the tables created without one, once the copy is over: the catch-up finds rows
 * by them. Idempotent: a built key's record is gone. */
static int copy_done(void *user, pgh_error *err)
{
    pg_dest *d = user;
    if (d->src == NULL)
        return 0;
    int64_t start_ms = pgh_clock_ms();
    int built = 0;
    int rc = pgh_schema_build_keys(&built, d->src, d->ctl, d->cfg, pgh_postgres__colmaps(d),
                                   err);
    if (rc == 0 && built > 0)
        pgh_log(PGH_LOG_INFO, "replicate", "built the keys of %d created tables after the copy "
                "in %d s", built, seconds_since_ms(start_ms));
    if (rc == 0)
        pgh_schema_created_dispose(&d->keys);
    return rc;
}

/* Sequences, then (tables this run created) the deferred indexes and constraints. */
static int checkpoint(void *user, pgh_lsn at, pgh_error *err)
{
    pg_dest *d = user;
    const pgh_config *cfg = d->cfg;
    (void)at;
    int *counts = calloc((size_t)d->ntables + 1, sizeof(int));
    int rc = counts ? pgh_postgres_sync_sequences(counts, d->src, d->ctl, d->src_tables,
                                                  d->dst_tables, d->ntables, err)
                    : pgh_error_set(err, PGH_ENOMEM, "out of memory");
    for (int i = 0; counts && i < d->ntables; i++)
        d->stats[i].sequences_set = counts[i];
    free(counts);
    if (rc != 0 || d->created.n == 0)
        return rc;
    pgh_schema_build_opts bo = PGH_SCHEMA_BUILD_OPTS_INIT;
    bo.config = cfg;
    bo.sessions = cfg->copy_worker_count;
    bo.maps = pgh_postgres__colmaps(d);
    int64_t start_ms = pgh_clock_ms();
    int built = 0;
    rc = pgh_schema_build_deferred(&built, &d->created, &bo, err);
    if (rc == 0)
        pgh_log(PGH_LOG_INFO, "replicate", "built %d indexes and constraints in %d s", built,
                seconds_since_ms(start_ms));
    if (rc == 0)
        rc = pgh_schema_pending_clear(d->ctl, cfg->state_schema, cfg->slot_name, err);
    return rc;
}

/* A finished one-shot run leaves no record behind: the next run starts afresh. */
static int forget(void *user, pgh_error *err)
{
    pg_dest *d = user;
    return pgh_state_drop(d->ctl, d->cfg->state_schema, d->cfg->slot_name, err);
}

static bool stats(void *user, int table, pgh_keyed_stats *out)
{
    pg_dest *d = user;
    if (table < 0 || table >= d->ntables)
        return false;
    *out = d->stats[table]; /* the catch-up's, kept when it ended */
    return true;
}

static bool needs_text(void *user, int table)
{
    pg_dest *d = user;
    return d->src_tables && d->dst_tables && table >= 0 && (size_t)table < d->cfg->ntables &&
           d->src_tables[table] && d->dst_tables[table] &&
           pgh_postgres_types_differ(d->src_tables[table], d->dst_tables[table]) != NULL;
}

static int column_map(void *user, int table, const pgh_column_map *map, pgh_error *err)
{
    return pgh_postgres__colmap_set(user, table, map, err);
}

static const pgh_keyed_ops KEYED_OPS = {
    .version = PGH_KEYED_OPS_VERSION,
    .prepare = prepare,
    .resume_tables = resume_tables,
    .start = start,
    .plan_load = plan_load,
    .plan_save = plan_save,
    .copy_open = copy_open,
    .copy_table = pgh_postgres__copy_table,
    .copy_data = pgh_postgres__copy_data,
    .copy_batch_end = pgh_postgres__copy_batch_end,
    .copy_finish = pgh_postgres__copy_finish,
    .copy_abort = pgh_postgres__copy_abort,
    .copy_close = pgh_postgres__copy_close,
    .set_catchup = set_catchup,
    .take_recopy = take_recopy,
    .replace_row = replace_row,
    .copy_done = copy_done,
    .checkpoint = checkpoint,
    .stats = stats,
    .forget = forget,
    .needs_text = needs_text,
    .column_map = column_map,
};

static const pgh_destination_ops OPS = {
    .version = PGH_DESTINATION_OPS_VERSION,
    .name = "postgres",
    .flags = PGH_DEST_KEYED | PGH_DEST_TRANSACTIONAL,
    .open = dest_open,
    .close = dest_close,
    .destroy = dest_destroy,
    .read_position = read_position,
    .write_position = write_position,
    .begin = write_change,
    .relation = write_change,
    .message = write_change,
    .change = write_change,
    .truncate = write_change,
    .commit = write_commit,
    .flush = flush,
    .table_begin = pgh_postgres__table_begin,
    .table_rows = pgh_postgres__table_rows,
    .table_end = pgh_postgres__table_end,
    .keyed = &KEYED_OPS,
};

int pgh_postgres_destination_new(pgh_destination **out, pgh_error *err)
{
    pg_dest *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    return pgh_destination_new(out, &OPS, d, err);
}
