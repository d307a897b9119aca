/*
 * The PostgreSQL destination: see include/pghost/apply.h.
 *
 * One source transaction -> one destination transaction, opened at its first change to a
 * mapped table. Each change becomes one to three prepared statements (see the conflict rules
 * in the header); the SQL text is built per change and doubles as the cache key, so every
 * shape (which columns are unchanged TOAST, for example) is prepared once.
 *
 * Statements are pipelined (pipe.c): they go out without waiting, and each result is judged
 * when it comes back (on_result: the conflict rules, the counters, divergence in strict mode).
 * Two things still wait: a catch-up key move, whose steps depend on each other's counts, and
 * every COMMIT, which goes out only after every result before it was checked, so a divergent
 * change rolls its whole destination transaction back. That COMMIT is held, not waited for:
 * the next group's changes are read into a new merge window meanwhile, and the COMMIT goes
 * out once the results are in (release_commit, polled every few changes); the next BEGIN and
 * anything else that needs the connection wait for it. flush() waits for the COMMIT's own
 * result too: the LSN it returns covers only committed work.
 *
 * After the checkpoint, on tables where nothing can tell, the changes of a grouped transaction
 * are merged per key (merge.h; the glue is the "merged changes" part below): they go out as
 * one statement per touched key, or per run of keys, when the window ends.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply_internal.h"
#include "merge.h"
#include "pg/conn.h"
#include "pghost/log.h"
#include "state/state.h"
#include "util/clock.h"

typedef struct apply_sink {
    pgh_sink base;
    PGconn *conn;              /* owned */
    pgh_apply_opts opts;       /* copy; pointers borrowed */
    pgh_apply_stats *stats;    /* owned: one per mapped table */
    apply_rel **rels;          /* owned */
    int nrels;
    int rels_cap;
    bool group_open;           /* a grouped destination transaction holds changes: merged ones
                                  (its BEGIN may not have gone out yet) or statements */
    bool in_txn;               /* its BEGIN went out: the destination transaction is open */
    uint64_t txn_changes;      /* changes and statements of the open group */
    bool commit_held;          /* the last group's statements and position went out; its COMMIT
                                  waits for their results (release_commit) */
    pgh_lsn held_lsn;          /* the end LSN that COMMIT makes durable */
    unsigned polls;            /* changes written while a commit is held */
    pgh_lsn pending;           /* end LSN of the last source transaction in the open one */
    pgh_lsn committed;         /* end LSN of the last source transaction committed */
    int stmt_counter;
    pgh_buf sql;               /* owned: scratch */
    apply_params params;       /* owned: scratch */
    missing_set missing;       /* owned: rows the catch-up could not complete */
    bool skipping;             /* the current source transaction is already applied */
    char *state_sql;           /* owned: UPDATE of the position, NULL without state */
    apply_pipe pipe;           /* owned: statements in flight on conn */
    pgh_lsn change_lsn;        /* LSN of the change being applied, for errors */
    const pgh_tuple *key_tup;  /* borrowed, valid while its change is applied, may be NULL:
                                  the tuple whose key names the change's row in errors */
    apply_ddl ddl;             /* owned: the table mapping as DDL messages changed it (ddl.c) */
    missing_skips skips;       /* owned: on_missing_row: skip, per table (skips.c) */
    bool missing_stmt;         /* MISSING_STMT is prepared: skips are recorded in the state */
    apply_rel **row_rels;      /* owned, opts.ntables: the tables existing rows came for */
    char *resume;              /* owned, may be NULL: the resume token of the last commit */
    char phase[16];            /* the phase of the last commit (with_resume) */
    apply_merge merge;         /* owned: the merge window of the open transaction (merge.h) */
    uint32_t merged_rows;      /* while a window is flushed: the keys of the statement sent */
    const pgh_tuple *merged_tups; /* borrowed, merged_rows of them, may be NULL: the rows of a
                                     merged statement of several, whose keys errors name */
} apply_sink;

static int merge_flush(apply_sink *a, pgh_error *err);
static int leave(apply_sink *a, pgh_error *err);

/* While its existing rows are delivered, a table takes changes by the lenient rules. */
static bool lenient(const apply_sink *a, const apply_rel *r)
{
    return a->opts.lenient && r->map >= 0 && r->map < a->opts.ntables && a->opts.lenient[r->map];
}

/* A change that finds no row is divergence. */
static bool strict(const apply_sink *a, const apply_rel *r)
{
    /* A table without a key was copied in the slot's snapshot: every change applies exactly
     * once, also while catching up. */
    return r->keyless || (a->opts.mode == PGH_APPLY_STRICT && !lenient(a, r));
}

static apply_rel *find_rel(apply_sink *a, uint32_t oid)
{
    for (int i = 0; i < a->nrels; i++)
        if (a->rels[i]->oid == oid)
            return a->rels[i];
    return NULL;
}

static int on_relation(apply_sink *a, const pgh_relation *rel, pgh_error *err)
{
    apply_rel *r = NULL;
    /* Statements in flight may point at the relation being replaced, and the catalog lookup
     * below runs synchronously. */
    int rc = merge_flush(a, err);
    if (rc == 0)
        rc = leave(a, err);
    if (rc == 0)
        rc = pgh_apply__rel_build(&r, a->conn, rel, &a->ddl, err);
    if (rc != 0)
        return rc;
    for (int i = 0; i < a->nrels; i++) {
        if (a->rels[i]->oid == rel->oid) {
            pgh_apply__rel_free(a->rels[i]);
            a->rels[i] = r;
            return 0;
        }
    }
    if (a->nrels == a->rels_cap) {
        int cap = a->rels_cap ? a->rels_cap * 2 : 8;
        apply_rel **rels = realloc(a->rels, (size_t)cap * sizeof(*rels));
        if (rels == NULL) {
            pgh_apply__rel_free(r);
            return pgh_error_set(err, PGH_ENOMEM, "out of memory");
        }
        a->rels = rels;
        a->rels_cap = cap;
    }
    a->rels[a->nrels++] = r;
    return 0;
}

/* A Relation message inside a source transaction that is skipped (applied before a restart)
 * describes the table as it was then, possibly before DDL the destination already has: the
 * mapping is dropped and built again from the relation at its next applied change (rel_for). */
static int forget_rel(apply_sink *a, uint32_t oid, pgh_error *err)
{
    int rc = merge_flush(a, err);
    if (rc == 0)
        rc = leave(a, err);
    for (int i = 0; rc == 0 && i < a->nrels; i++) {
        if (a->rels[i]->oid == oid) {
            pgh_apply__rel_free(a->rels[i]);
            a->rels[i] = a->rels[--a->nrels];
            break;
        }
    }
    return rc;
}

/* The mapping of a relation, built now if its Relation message was forgotten. */
static int rel_for(apply_rel **out, apply_sink *a, const pgh_relation *rel, pgh_error *err)
{
    *out = find_rel(a, rel->oid);
    if (*out != NULL)
        return 0;
    int rc = on_relation(a, rel, err);
    *out = rc == 0 ? find_rel(a, rel->oid) : NULL;
    return rc;
}

/* Queue a statement without parameters (BEGIN, TRUNCATE, COMMIT). */
static int send_sql(apply_sink *a, pipe_op_kind kind, pgh_lsn lsn, const char *sql,
                    pgh_error *err)
{
    pipe_op op = {.kind = kind, .lsn = lsn, .what = "destination"};
    return pgh_apply__pipe_send_sql(&a->pipe, &op, sql, err);
}

/* A change for the destination starts a group, if none is open. */
static void open_group(apply_sink *a)
{
    if (!a->group_open) {
        a->group_open = true;
        a->txn_changes = 0;
    }
}

static int release_commit(apply_sink *a, bool block, pgh_error *err);

/* Open the destination transaction for statements: the last group's held COMMIT goes out first
 * (its results are waited for), then this group's BEGIN. */
static int ensure_txn(apply_sink *a, pgh_error *err)
{
    open_group(a);
    if (a->in_txn)
        return 0;
    int rc = release_commit(a, true, err);
    if (rc == 0)
        rc = send_sql(a, PIPE_OP_PLAIN, a->change_lsn, "BEGIN", err);
    if (rc == 0)
        a->in_txn = true;
    return rc;
}

/* The connection for synchronous use (a catalog query, PQprepare, DDL): after a held COMMIT. */
static int leave(apply_sink *a, pgh_error *err)
{
    int rc = release_commit(a, true, err);
    return rc != 0 ? rc : pgh_apply__pipe_leave(&a->pipe, err);
}

#define STATE_STMT "pghost_state"
#define MISSING_STMT "pghost_missing_rows"

/* Queue the position's UPDATE into the open transaction. */
static int write_position(apply_sink *a, pgh_error *err)
{
    char lsn[32];
    snprintf(lsn, sizeof(lsn), PGH_LSN_FMT, PGH_LSN_ARGS(a->pending));
    const char *params[4] = {lsn, a->opts.slot, a->resume, a->phase};
    pipe_op op = {.kind = PIPE_OP_STATE, .lsn = a->pending, .what = "recording the position"};
    return pgh_apply__pipe_send(&a->pipe, &op, STATE_STMT, a->opts.with_resume ? 4 : 2, params,
                                0, err);
}

/* The held COMMIT goes out once every result before it is in and checked (a change that found
 * no row in strict mode must roll its transaction back, never commit it): block waits for
 * them, else only the results that have arrived are read, and the COMMIT waits if any is
 * missing. Nothing waits for the COMMIT's own result: a->committed moves when it arrives. */
static int release_commit(apply_sink *a, bool block, pgh_error *err)
{
    if (!a->commit_held)
        return 0;
    bool idle = false;
    int rc = block ? pgh_apply__pipe_wait(&a->pipe, err)
                   : pgh_apply__pipe_poll(&a->pipe, &idle, err);
    if (rc != 0 || (!block && !idle))
        return rc;
    a->commit_held = false;
    /* the results are in: the skipped missing rows of this transaction are known */
    rc = pgh_apply__skips_commit(&a->skips, &a->pipe, a->missing_stmt ? MISSING_STMT : NULL,
                                 a->opts.slot, a->held_lsn, err);
    if (rc == 0)
        rc = send_sql(a, PIPE_OP_COMMIT, a->held_lsn, "COMMIT", err);
    return rc != 0 ? rc : pgh_apply__pipe_sync(&a->pipe, err); /* the server has it now */
}

/* End the open group, everything up to a->pending: its merged statements and its position go
 * out, then a Sync, and its COMMIT is held until their results are in (release_commit), while
 * the next group's changes are read into a new merge window. Held too, until that COMMIT went
 * out: the next BEGIN, and anything that uses the connection (ensure_txn, leave). */
static int commit_txn(apply_sink *a, pgh_error *err)
{
    if (!a->group_open)
        return 0;
    int rc = merge_flush(a, err);
    if (rc == 0 && a->in_txn && a->state_sql)
        rc = write_position(a, err);
    if (rc == 0 && a->in_txn) {
        a->commit_held = true;
        a->held_lsn = a->pending;
        rc = pgh_apply__pipe_sync(&a->pipe, err);
    }
    a->in_txn = false;
    a->group_open = false;
    return rc;
}

/* While a COMMIT is held, every few changes: send it if its results are in. */
#define POLL_EVERY 16

static int poll_commit(apply_sink *a, pgh_error *err)
{
    if (!a->commit_held || ++a->polls % POLL_EVERY != 0)
        return 0;
    return release_commit(a, false, err);
}

static int divergence(apply_rel *r, const char *what, pgh_error *err)
{
    return pgh_error_set(err, PGH_ESINK,
                         "%s.%s: %s; the destination has diverged from the source (run pghost "
                         "verify to see where)",
                         r->dst->schema, r->dst->name, what);
}

/* A row change's result came back: judge it by the conflict rules and count it. */
static int on_row_result(apply_sink *a, const pipe_op *op, uint64_t rows, pgh_error *err)
{
    pgh_apply_stats *st = &a->stats[op->rel->map];
    if (op->merged && op->kind != PIPE_OP_INSERT && rows < op->merged)
        rows = 0; /* a row of a multi-row UPDATE is missing: as one that found nothing */
    if (rows == 0 && op->strict && op->kind != PIPE_OP_INSERT &&
        a->opts.on_missing_row == PGH_ON_MISSING_ROW_SKIP)
        return pgh_apply__skips_note(&a->skips, op->rel, op->kind == PIPE_OP_UPDATE, op->lsn, err);
    if (rows == 0 && op->strict && op->kind != PIPE_OP_INSERT) {
        int rc = divergence(op->rel,
                            op->kind == PIPE_OP_UPDATE ? "UPDATE found no row"
                                                       : "DELETE found no row",
                            err);
        err->lsn = op->lsn;
        return rc;
    }
    if (op->merged) /* counted when merged */
        return 0;
    if (rows == 0)
        st->skipped++;
    else if (op->kind == PIPE_OP_INSERT)
        st->inserts += rows; /* a statement of existing rows may insert many */
    else if (op->kind == PIPE_OP_UPDATE)
        st->updates++;
    else
        st->deletes++;
    return 0;
}

/* Every statement's result, in order (pipe.c). */
static int on_result(void *payload, const pipe_op *op, uint64_t rows, pgh_error *err)
{
    apply_sink *a = payload;
    switch (op->kind) {
    case PIPE_OP_INSERT:
    case PIPE_OP_UPDATE:
    case PIPE_OP_DELETE:
        return on_row_result(a, op, rows, err);
    case PIPE_OP_STATE:
        if (rows != 1)
            return pgh_error_set(err, PGH_ESINK,
                                 "the position row of slot %s is missing from %s.state",
                                 a->opts.slot, a->opts.state_schema);
        return 0;
    case PIPE_OP_COMMIT:
        a->committed = op->lsn;
        pgh_apply__skips_committed(&a->skips, a->stats, a->opts.stats);
        return 0;
    case PIPE_OP_PLAIN:
    case PIPE_OP_SYNC:
        return 0;
    }
    return 0;
}

static const apply_stmt *find_stmt(const apply_rel *r, const char *sql)
{
    for (int i = 0; i < r->nstmts; i++)
        if (strcmp(r->stmts[i].sql, sql) == 0)
            return &r->stmts[i];
    return NULL;
}

/* The prepared statement for a->sql, prepared when new (synchronously: once per shape). */
static int get_stmt(const apply_stmt **out, apply_sink *a, apply_rel *r, pgh_error *err)
{
    if (pgh_buf_failed(&a->sql))
        return pgh_error_set(err, PGH_ENOMEM, "out of memory building a statement");
    *out = find_stmt(r, pgh_buf_str(&a->sql));
    if (*out != NULL)
        return 0;
    int rc = leave(a, err);
    return rc != 0 ? rc
                   : pgh_apply__stmt(out, r, a->conn, pgh_buf_str(&a->sql), a->params.n,
                                     a->params.atts, &a->stmt_counter, err);
}

/* Queue the statement in a->sql with a->params; on_result judges it when it comes back. */
/* The keys of a merged statement's n rows, for its errors (see pipe_op.keys_at): cheap beside
 * the statement, and dropped once their statement's result is read (memory bounded by the
 * statements in flight, also within one large transaction). Without memory, none are kept. */
static void keep_keys(pipe_op *op, apply_pipe *p, const apply_rel *r, const pgh_tuple *rows,
                      uint32_t n)
{
    pgh_apply__pipe_keys_trim(p);
    size_t at = p->keys.len;
    for (uint32_t j = 0; j < n; j++) {
        pipe_key k;
        pgh_apply__key_keep(&k, r, &rows[j]);
        pgh_buf_append(&p->keys, &k, sizeof(k));
    }
    if (!pgh_buf_failed(&p->keys) && at <= UINT32_MAX) {
        op->keys_at = (uint32_t)at;
        op->keys_n = n;
    }
}

static int send(apply_sink *a, apply_rel *r, pipe_op_kind kind, pgh_error *err)
{
    const apply_stmt *st = NULL;
    int rc = get_stmt(&st, a, r, err);
    if (rc != 0)
        return rc;
    const char *const *values = pgh_apply__params_finish(&a->params);
    if (values == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    pipe_op op = {.kind = kind,
                  .strict = strict(a, r),
                  .rel = r,
                  .prepared = st,
                  .lsn = a->change_lsn,
                  .merged = a->merged_rows};
    if (a->key_tup != NULL)
        pgh_apply__key_keep(&op.key, r, a->key_tup);
    else if (a->merged_tups != NULL)
        keep_keys(&op, &a->pipe, r, a->merged_tups, a->merged_rows);
    rc = pgh_apply__pipe_send(&a->pipe, &op, st->name, a->params.n, values, a->params.data.len,
                              err);
    if (rc == 0)
        a->txn_changes++;
    return rc;
}

/* Run the statement in a->sql with a->params and wait for it (after everything in flight):
 * for the key moves of the catch-up, whose next step depends on the count. *affected is the
 * row count. */
static int run(apply_sink *a, apply_rel *r, uint64_t *affected, pgh_error *err)
{
    const apply_stmt *st = NULL;
    int rc = get_stmt(&st, a, r, err);
    if (rc == 0)
        rc = leave(a, err);
    if (rc != 0)
        return rc;
    const char *const *values = pgh_apply__params_finish(&a->params);
    if (values == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    int64_t start_ms = pgh_log_enabled(PGH_LOG_TRACE) ? pgh_clock_ms() : 0;
    PGresult *res = PQexecPrepared(a->conn, st->name, a->params.n, values, NULL, NULL, 0);
    ExecStatusType status = PQresultStatus(res);
    if (start_ms) {
        char table[132];
        snprintf(table, sizeof(table), "%s.%s", r->dst->schema, r->dst->name);
        pgh_log_at(PGH_LOG_TRACE, "apply", table, a->change_lsn,
                   "statement %s on %s: %s rows, %lld ms (waited for)", st->name, table,
                   PQcmdTuples(res), (long long)(pgh_clock_ms() - start_ms));
    }
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        rc = pgh_conn_error(err, a->conn, res, "applying a change");
        pipe_key key = {0};
        if (a->key_tup != NULL)
            pgh_apply__key_keep(&key, r, a->key_tup);
        pgh_apply__name_failure(err, r, st, &key, 0, NULL, res);
        PQclear(res);
        return rc;
    }
    *affected = strtoull(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    a->txn_changes++;
    return 0;
}

/* Queue the statement (n NULL: on_result judges it as kind) or run it now (*n the count). */
static int exec_stmt(apply_sink *a, apply_rel *r, pipe_op_kind kind, uint64_t *n, pgh_error *err)
{
    return n == NULL ? send(a, r, kind, err) : run(a, r, n, err);
}

/* "k1 = $n::type AND k2 = $m::type" with the key values of tup. */
static int put_key_match(apply_sink *a, apply_rel *r, const pgh_tuple *tup, pgh_error *err)
{
    for (int k = 0; k < r->nkeys; k++) {
        const pgh_value *v = &tup->values[r->key_att[k]];
        if (v->kind != PGH_VALUE_TEXT && v->kind != PGH_VALUE_BINARY)
            return pgh_error_set(err, PGH_EPROTO,
                                 "%s.%s: a change carries no value for key column %s (replica "
                                 "identity must be the primary key or FULL)",
                                 r->dst->schema, r->dst->name, r->col_ident[r->key_att[k]]);
        int n = pgh_apply__params_add(&a->params, v, r->key_att[k]);
        /* typed by a cast: an untyped parameter compared with a composite key would be read
         * as an anonymous record */
        pgh_buf_printf(&a->sql, "%s%s = $%d::%s", k ? " AND " : "", r->col_ident[r->key_att[k]],
                       n, r->dst->cols[r->dst->key_cols[k]].cast_name);
    }
    return 0;
}

static bool is_key_att(const apply_rel *r, int att)
{
    for (int k = 0; k < r->nkeys; k++)
        if (r->key_att[k] == att)
            return true;
    return false;
}

/* "SET a = $1, b = $2" from tup, leaving out unchanged TOAST values and, unless with_keys, the
 * key columns. Returns how many columns were set. */
static int put_set_list(apply_sink *a, apply_rel *r, const pgh_tuple *tup, bool with_keys)
{
    int n = 0;
    for (int i = 0; i < tup->natts; i++) {
        if (tup->values[i].kind == PGH_VALUE_UNCHANGED || (!with_keys && is_key_att(r, i)))
            continue;
        int p = pgh_apply__params_add(&a->params, &tup->values[i], i);
        pgh_buf_printf(&a->sql, "%s%s = $%d", n++ ? ", " : " SET ", r->col_ident[i], p);
    }
    return n;
}

static void start_stmt(apply_sink *a)
{
    pgh_buf_reset(&a->sql);
    pgh_apply__params_reset(&a->params);
}

/* INSERT the tuple: ON CONFLICT DO NOTHING while catching up, an upsert while the table's
 * existing rows are delivered; *n is 1 when a row was added. */
static int insert_row(apply_sink *a, apply_rel *r, const pgh_tuple *tup, uint64_t *n,
                      pgh_error *err)
{
    start_stmt(a);
    int rc = pgh_apply__put_insert_rows(&a->sql, &a->params, r, tup, 1, err);
    if (rc != 0)
        return rc;
    /* Only a row at the same key means "the copy has it": a clash on another unique
     * constraint is an error, never a silently dropped row. */
    if (!r->keyless && (a->opts.mode == PGH_APPLY_CATCHUP || lenient(a, r)))
        pgh_apply__put_conflict(&a->sql, r, lenient(a, r));
    return exec_stmt(a, r, PIPE_OP_INSERT, n, err);
}

static bool has_unchanged(const pgh_tuple *tup);

static int apply_insert(apply_sink *a, apply_rel *r, const pgh_tuple *tup, pgh_error *err)
{
    /* An INSERT lacking unchanged TOAST values (PostgreSQL 15 row filters: a key move into the
     * filter) whose row the source no longer had when the pipeline read it again: while
     * catching up its key is copied again at the checkpoint, like a key move's. */
    if (has_unchanged(tup) && a->opts.mode == PGH_APPLY_CATCHUP && !lenient(a, r)) {
        a->stats[r->map].skipped++;
        return pgh_apply__missing_add(&a->missing, r, tup) == 0
                   ? 0
                   : pgh_error_set(err, PGH_ENOMEM, "out of memory");
    }
    int rc = insert_row(a, r, tup, NULL, err);
    if (rc == 0)
        pgh_apply__missing_remove(&a->missing, r, tup);
    return rc;
}

static bool has_unchanged(const pgh_tuple *tup)
{
    for (int i = 0; i < tup->natts; i++)
        if (tup->values[i].kind == PGH_VALUE_UNCHANGED)
            return true;
    return false;
}

/* Did the key change? Compares the old tuple's key values with the new tuple's. */
static bool key_changed(const apply_rel *r, const pgh_tuple *oldtup, const pgh_tuple *newtup)
{
    for (int k = 0; k < r->nkeys; k++) {
        const pgh_value *o = &oldtup->values[r->key_att[k]];
        const pgh_value *n = &newtup->values[r->key_att[k]];
        if (o->kind != n->kind || o->len != n->len ||
            (o->len && memcmp(o->data, n->data, o->len) != 0))
            return true;
    }
    return false;
}

/* UPDATE t SET <values> WHERE <key of match>; with_keys also sets the key columns. Queued
 * when n is NULL, else run now with *n the count. */
static int update_row(apply_sink *a, apply_rel *r, const pgh_tuple *values,
                      const pgh_tuple *match, bool with_keys, uint64_t *n, pgh_error *err)
{
    start_stmt(a);
    if (n != NULL)
        *n = 0;
    pgh_buf_printf(&a->sql, "UPDATE %s", r->dst->qualified);
    if (put_set_list(a, r, values, with_keys) == 0) {
        /* Nothing but unchanged TOAST values: the row stays as it is. Still count a match. */
        start_stmt(a);
        pgh_buf_printf(&a->sql, "SELECT 1 FROM %s WHERE ", r->dst->qualified);
        int rc = put_key_match(a, r, match, err);
        return rc != 0 ? rc : exec_stmt(a, r, PIPE_OP_UPDATE, n, err);
    }
    pgh_buf_puts(&a->sql, " WHERE ");
    int rc = put_key_match(a, r, match, err);
    return rc != 0 ? rc : exec_stmt(a, r, PIPE_OP_UPDATE, n, err);
}

/* Catch-up, the key changed: old row present -> drop any row at the new key, move the old row;
 * old row absent -> update the row at the new key if there is one. Each step depends on the
 * count of the one before, so these statements run one at a time, not queued. */
static int move_row(apply_sink *a, apply_rel *r, const pgh_tuple *oldtup, const pgh_tuple *newtup,
                    uint64_t *n, pgh_error *err)
{
    start_stmt(a);
    pgh_buf_printf(&a->sql, "DELETE FROM %s WHERE ", r->dst->qualified);
    int rc = put_key_match(a, r, newtup, err);
    pgh_buf_printf(&a->sql, " AND EXISTS (SELECT 1 FROM %s WHERE ", r->dst->qualified);
    if (rc == 0)
        rc = put_key_match(a, r, oldtup, err);
    pgh_buf_putc(&a->sql, ')');
    uint64_t deleted = 0;
    if (rc == 0)
        rc = run(a, r, &deleted, err);
    if (rc == 0)
        rc = update_row(a, r, newtup, oldtup, true, n, err);
    if (rc != 0)
        return rc;
    pgh_apply__missing_remove(&a->missing, r, oldtup);
    if (*n == 0)
        rc = update_row(a, r, newtup, newtup, false, n, err);
    /* On neither key: the copy passed both while the row was elsewhere. */
    if (rc == 0 && *n == 0 && !has_unchanged(newtup))
        rc = insert_row(a, r, newtup, n, err);
    if (rc != 0)
        return rc;
    /* Unchanged TOAST values came from whatever row the destination had at the old key, and
     * during the catch-up that may be a later occupant of the key, not this row: have the row
     * copied again. Without such values the new tuple is the whole row. */
    if (has_unchanged(newtup) && a->opts.mode == PGH_APPLY_CATCHUP) {
        if (pgh_apply__missing_add(&a->missing, r, newtup) != 0)
            return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    } else {
        pgh_apply__missing_remove(&a->missing, r, newtup);
    }
    return 0;
}

/* Without a key: one row matched on the whole old row (keyless.c), a missing one divergence
 * (or skipped: on_missing_row). An UPDATE of nothing but unchanged TOAST values still has
 * every column to set: they come from the old row. */
static int keyless_change(apply_sink *a, apply_rel *r, const pgh_change *c, pgh_error *err)
{
    bool update = c->kind == PGH_CHANGE_UPDATE;
    const pgh_tuple *old = NULL;
    if (update && c->u.update.old_kind != 0)
        old = &c->u.update.oldtup;
    else if (!update)
        old = &c->u.del.oldtup;
    start_stmt(a);
    int rc = 0;
    if (update) {
        int nset = 0;
        pgh_buf_printf(&a->sql, "UPDATE ONLY %s", r->dst->qualified);
        rc = pgh_apply__put_keyless_set(&nset, &a->sql, &a->params, r, &c->u.update.newtup, old,
                                        err);
        if (rc == 0 && nset == 0) { /* no column at all: the row only has to be there */
            start_stmt(a);
            pgh_buf_printf(&a->sql, "SELECT 1 FROM ONLY %s", r->dst->qualified);
        }
    } else {
        pgh_buf_printf(&a->sql, "DELETE FROM ONLY %s", r->dst->qualified);
    }
    pgh_buf_puts(&a->sql, " WHERE ");
    if (rc == 0)
        rc = pgh_apply__put_keyless_match(&a->sql, &a->params, r, old, err);
    return rc != 0 ? rc : exec_stmt(a, r, update ? PIPE_OP_UPDATE : PIPE_OP_DELETE, NULL, err);
}

static int apply_update(apply_sink *a, apply_rel *r, const pgh_change *c, pgh_error *err)
{
    const pgh_tuple *newtup = &c->u.update.newtup;
    const pgh_tuple *oldtup = &c->u.update.oldtup;
    bool moved = c->u.update.old_kind != 0 && key_changed(r, oldtup, newtup);
    /* Lenient: a whole new row is an upsert; without unchanged TOAST values' old row there is
     * nothing to take them from, and the row stays away (docs/json-lines.md). */
    if (!moved && lenient(a, r) && !has_unchanged(newtup))
        return insert_row(a, r, newtup, NULL, err);
    /* Queued, judged by on_result; after the checkpoint a key move is one plain UPDATE. */
    if (!moved)
        return update_row(a, r, newtup, newtup, false, NULL, err);
    if (strict(a, r))
        return update_row(a, r, newtup, oldtup, true, NULL, err);
    uint64_t n = 0;
    int rc = move_row(a, r, oldtup, newtup, &n, err);
    if (rc != 0)
        return rc;
    if (n)
        a->stats[r->map].updates++;
    else
        a->stats[r->map].skipped++;
    return 0;
}

static int apply_delete(apply_sink *a, apply_rel *r, const pgh_tuple *oldtup, pgh_error *err)
{
    start_stmt(a);
    pgh_buf_printf(&a->sql, "DELETE FROM %s WHERE ", r->dst->qualified);
    int rc = put_key_match(a, r, oldtup, err);
    if (rc == 0)
        rc = exec_stmt(a, r, PIPE_OP_DELETE, NULL, err);
    if (rc == 0)
        pgh_apply__missing_remove(&a->missing, r, oldtup);
    return rc;
}

static int apply_truncate(apply_sink *a, const pgh_change *c, pgh_error *err)
{
    int n = merge_flush(a, err); /* a TRUNCATE ends the merge window */
    if (n != 0)
        return n;
    pgh_buf_reset(&a->sql);
    for (uint32_t i = 0; i < c->u.truncate.nrels; i++) {
        apply_rel *r = NULL;
        int rc = rel_for(&r, a, c->u.truncate.rels[i], err);
        if (rc != 0)
            return rc;
        if (r == NULL || r->map < 0)
            continue;
        /* ONLY keeps a source table's truncate off the destination's inheritance children;
         * a partitioned destination refuses it, and there every partition is meant. */
        pgh_buf_printf(&a->sql, "%s%s%s", n++ ? ", " : "TRUNCATE ",
                       r->dst->relkind == 'p' ? "" : "ONLY ", r->dst->qualified);
        a->stats[r->map].truncates++;
        pgh_apply__missing_remove_table(&a->missing, r->map);
    }
    if (n == 0)
        return 0;
    if (c->u.truncate.options & PGH_TRUNCATE_RESTART_IDENTITY)
        pgh_buf_puts(&a->sql, " RESTART IDENTITY");
    int rc = ensure_txn(a, err);
    return rc != 0 ? rc : send_sql(a, PIPE_OP_PLAIN, a->change_lsn, pgh_buf_str(&a->sql), err);
}

/* ---- merged changes (merge.h, docs/apply.md) ------------------------------------------- */

static int emit_delete(void *payload, apply_rel *r, const pgh_tuple *key, pgh_lsn lsn,
                       pgh_error *err)
{
    apply_sink *a = payload;
    a->change_lsn = lsn;
    a->key_tup = key;
    int rc = apply_delete(a, r, key, err);
    a->key_tup = NULL;
    return rc;
}

/* Rows per multi-row statement: the largest power of two up to n (a handful of shapes to
 * prepare per table and column set) within PostgreSQL's 65535 parameters. */
static size_t stmt_rows(const apply_rel *r, size_t n)
{
    size_t max = 60000 / (size_t)(r->ncols ? r->ncols : 1);
    size_t k = 1;
    while (k * 2 <= n && k * 2 <= max)
        k *= 2;
    return k;
}

/* Send the statement built for k merged rows: a failure names the failed row's key (the one
 * row's, or from the rows' keys kept meanwhile). */
static int send_rows(apply_sink *a, apply_rel *r, pipe_op_kind kind, const pgh_tuple *rows,
                     size_t k, pgh_error *err)
{
    uint32_t merged = a->merged_rows;
    a->key_tup = k == 1 ? rows : NULL;
    a->merged_tups = k > 1 ? rows : NULL;
    a->merged_rows = (uint32_t)k;
    int rc = send(a, r, kind, err);
    a->merged_rows = merged;
    a->merged_tups = NULL;
    a->key_tup = NULL;
    return rc;
}

/* One UPDATE per row when the rows set no column (the row only has to be there), else
 * multi-row UPDATEs. */
static int emit_update(void *payload, apply_rel *r, const pgh_tuple *rows, size_t n,
                       pgh_lsn lsn, pgh_error *err)
{
    apply_sink *a = payload;
    int rc = 0;
    a->change_lsn = lsn;
    while (rc == 0 && n > 0) {
        size_t k = stmt_rows(r, n);
        int nset = 0;
        start_stmt(a);
        if (k > 1)
            rc = pgh_apply__put_update_rows(&nset, &a->sql, &a->params, r, rows, k, err);
        if (rc == 0 && nset == 0) {
            k = 1;
            a->key_tup = rows;
            rc = update_row(a, r, rows, rows, false, NULL, err);
            a->key_tup = NULL;
        } else if (rc == 0) {
            rc = send_rows(a, r, PIPE_OP_UPDATE, rows, k, err);
        }
        rows += k;
        n -= k;
    }
    return rc;
}

/* Multi-row INSERTs. */
static int emit_insert(void *payload, apply_rel *r, const pgh_tuple *rows, size_t n,
                       pgh_lsn lsn, pgh_error *err)
{
    apply_sink *a = payload;
    int rc = 0;
    a->change_lsn = lsn;
    while (rc == 0 && n > 0) {
        size_t k = stmt_rows(r, n);
        start_stmt(a);
        rc = pgh_apply__put_insert_rows(&a->sql, &a->params, r, rows, k, err);
        if (rc == 0)
            rc = send_rows(a, r, PIPE_OP_INSERT, rows, k, err);
        rows += k;
        n -= k;
    }
    return rc;
}

static const merge_emit MERGE_EMIT = {emit_delete, emit_update, emit_insert};

/* Send the merge window's statements into the open transaction. They do not count again
 * towards group_max_changes: their changes did. */
static int merge_flush(apply_sink *a, pgh_error *err)
{
    if (pgh_apply__merge_empty(&a->merge))
        return 0;
    int rc = ensure_txn(a, err); /* the BEGIN goes out with the window's first statement */
    if (rc != 0)
        return rc;
    uint64_t changes = a->txn_changes;
    pgh_lsn lsn = a->change_lsn;
    a->merged_rows = 1;
    rc = pgh_apply__merge_flush(&a->merge, &MERGE_EMIT, a, err);
    a->merged_rows = 0;
    a->txn_changes = changes;
    a->change_lsn = lsn;
    return rc;
}

/* May this change of r be merged? Strict mode only (no conflict rules, every change a row
 * that must be there), stopping at a missing row, no rows to copy again, and a table where
 * the order cannot be seen (merge_check.c). */
static int mergeable(bool *ok, apply_sink *a, apply_rel *r, pgh_error *err)
{
    *ok = false;
    if (a->opts.mode != PGH_APPLY_STRICT || lenient(a, r) || r->keyless ||
        a->opts.on_missing_row != PGH_ON_MISSING_ROW_STOP || a->missing.n > 0)
        return 0;
    int rc = r->merge == 0 ? leave(a, err) : 0;
    return rc != 0 ? rc : pgh_apply__merge_allowed(ok, r, a->conn, a->opts.replica_role, err);
}

/* Take the change into the merge window (*taken). A change that is not taken, of a table
 * whose changes merge, ends the window: it is applied after every merged change before it.
 * Other tables' changes go out at once, ahead of the window (per table fallback). */
static int merge_change(apply_sink *a, apply_rel *r, const pgh_change *c, bool *taken,
                        pgh_error *err)
{
    bool ok = false;
    *taken = false;
    int rc = mergeable(&ok, a, r, err);
    if (rc == 0 && ok)
        rc = pgh_apply__merge_add(&a->merge, r, c, taken, err);
    if (rc != 0 || !*taken)
        return rc != 0 || r->merge <= 0 ? rc : merge_flush(a, err);
    pgh_apply_stats *st = &a->stats[r->map];
    if (c->kind == PGH_CHANGE_INSERT)
        st->inserts++;
    else if (c->kind == PGH_CHANGE_UPDATE)
        st->updates++;
    else
        st->deletes++;
    a->txn_changes++;
    return pgh_apply__merge_full(&a->merge) ? merge_flush(a, err) : 0;
}

/* INSERT, UPDATE or DELETE: find the mapping, open the transaction, apply. */
static int apply_row_change(apply_sink *a, const pgh_change *c, pgh_error *err)
{
    const pgh_relation *rel = c->kind == PGH_CHANGE_INSERT   ? c->u.insert.rel
                              : c->kind == PGH_CHANGE_UPDATE ? c->u.update.rel
                                                             : c->u.del.rel;
    apply_rel *r = NULL;
    int rc = rel_for(&r, a, rel, err);
    if (rc != 0 || r == NULL || r->map < 0)
        return rc;
    open_group(a); /* a merged change needs no BEGIN yet */
    bool merged = false;
    rc = merge_change(a, r, c, &merged, err);
    if (rc == 0 && !merged)
        rc = ensure_txn(a, err);
    if (rc != 0 || merged)
        return rc;
    a->key_tup = c->kind == PGH_CHANGE_INSERT   ? &c->u.insert.newtup
                 : c->kind == PGH_CHANGE_UPDATE ? &c->u.update.newtup
                                                : &c->u.del.oldtup;
    if (c->kind == PGH_CHANGE_INSERT)
        rc = apply_insert(a, r, &c->u.insert.newtup, err);
    else if (r->keyless)
        rc = keyless_change(a, r, c, err);
    else if (c->kind == PGH_CHANGE_UPDATE)
        rc = apply_update(a, r, c, err);
    else
        rc = apply_delete(a, r, &c->u.del.oldtup, err);
    a->key_tup = NULL;
    return rc;
}

static int sink_write(pgh_sink *sink, const pgh_change *c, pgh_error *err)
{
    apply_sink *a = (apply_sink *)sink;
    a->change_lsn = c->wal_start;
    int rc = poll_commit(a, err);
    if (rc != 0)
        return rc;
    switch (c->kind) {
    case PGH_CHANGE_RELATION:
        return a->skipping ? forget_rel(a, c->u.relation.rel->oid, err)
                           : on_relation(a, c->u.relation.rel, err);
    case PGH_CHANGE_INSERT:
    case PGH_CHANGE_UPDATE:
    case PGH_CHANGE_DELETE:
        return a->skipping ? 0 : apply_row_change(a, c, err);
    case PGH_CHANGE_TRUNCATE:
        return a->skipping ? 0 : apply_truncate(a, c, err);
    case PGH_CHANGE_COMMIT:
        a->skipping = false;
        /* Source transactions are grouped into one destination transaction up to
         * group_max_changes statements; flush() commits the rest. */
        a->pending = c->u.commit.end_lsn;
        if (a->txn_changes >= (uint64_t)a->opts.group_max_changes)
            return commit_txn(a, err); /* after the last group's held COMMIT (ensure_txn) */
        return 0;
    case PGH_CHANGE_BEGIN:
        a->skipping = c->u.begin.final_lsn < a->opts.skip_before;
        return 0;
    case PGH_CHANGE_MESSAGE: /* DDL (ddl.c): in the destination transaction, with the data */
        if (a->skipping || !pgh_apply__ddl_is_message(c))
            return 0;
        {
            rc = ensure_txn(a, err);
            if (rc == 0)
                rc = merge_flush(a, err);
            if (rc == 0)
                rc = leave(a, err); /* ddl.c runs synchronously */
            for (int i = 0; i < a->nrels; i++) /* indexes or triggers may have come */
                a->rels[i]->merge = 0;
            return rc != 0 ? rc : pgh_apply__ddl_apply(&a->ddl, a->conn, c, err);
        }
    case PGH_CHANGE_ORIGIN:
    case PGH_CHANGE_TYPE:
        return 0;
    }
    return pgh_error_set(err, PGH_EPROTO, "unknown change kind %d", (int)c->kind);
}

static int sink_flush(pgh_sink *sink, pgh_lsn *out, pgh_error *err)
{
    apply_sink *a = (apply_sink *)sink;
    int rc = commit_txn(a, err);
    if (rc == 0)
        rc = release_commit(a, true, err);
    if (rc == 0)
        rc = pgh_apply__pipe_wait(&a->pipe, err);
    /* Everything written is committed now, including source transactions that had nothing
     * for the destination. */
    if (rc == 0)
        a->committed = a->pending;
    *out = a->committed;
    return rc;
}

static void sink_free(pgh_sink *sink)
{
    apply_sink *a = (apply_sink *)sink;
    if (a == NULL)
        return;
    for (int i = 0; i < a->nrels; i++)
        pgh_apply__rel_free(a->rels[i]);
    free(a->rels);
    free(a->stats);
    pgh_buf_dispose(&a->sql);
    pgh_apply__params_dispose(&a->params);
    pgh_apply__missing_dispose(&a->missing);
    free(a->state_sql);
    pgh_apply__ddl_dispose(&a->ddl);
    pgh_apply__skips_dispose(&a->skips);
    for (int i = 0; a->row_rels && i < a->opts.ntables; i++)
        pgh_apply__rel_free(a->row_rels[i]);
    free(a->row_rels);
    free(a->resume);
    pgh_apply__pipe_dispose(&a->pipe);
    pgh_apply__merge_dispose(&a->merge);
    PQfinish(a->conn); /* an open transaction is rolled back by the server */
    free(a);
}

/* Under synchronous_commit = off (the server's, database's or role's setting) a COMMIT returns
 * before its WAL is written: a crash of the destination would lose transactions whose position
 * flush() has already reported durable, and the slot, confirmed past them, could not send them
 * again. The apply's commits wait for the local WAL flush instead; stronger settings (on,
 * remote_write, remote_apply) are kept. */
static int durable_commits(PGconn *conn, pgh_error *err)
{
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, conn, "SELECT pg_catalog.current_setting('synchronous_commit')",
                            0, NULL, err);
    bool off = rc == 0 && PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "off") == 0;
    PQclear(res);
    if (rc == 0 && off)
        rc = pgh_conn_exec(conn, "SET synchronous_commit = local", err);
    return rc;
}

/* The position's UPDATE, prepared once: it goes out with every destination commit. */
static int prepare_state(apply_sink *a, pgh_error *err)
{
    PGresult *res = PQprepare(a->conn, STATE_STMT, a->state_sql, a->opts.with_resume ? 4 : 2,
                              NULL);
    int rc = PQresultStatus(res) == PGRES_COMMAND_OK
                 ? 0
                 : pgh_conn_error(err, a->conn, res, "preparing the position update");
    PQclear(res);
    return rc;
}

/* on_missing_row: skip with a state schema: the table its counts go to, and their INSERT ...
 * ON CONFLICT, prepared once: it goes out with the commits of transactions that skipped. */
static int prepare_missing(apply_sink *a, pgh_error *err)
{
    int rc = pgh_state_missing_rows_ensure(a->conn, a->opts.state_schema, err);
    char *sql = rc == 0 ? pgh_state_missing_rows_add_sql(a->conn, a->opts.state_schema) : NULL;
    if (rc == 0 && sql == NULL)
        rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
    PGresult *res = rc == 0 ? PQprepare(a->conn, MISSING_STMT, sql, 3, NULL) : NULL;
    if (rc == 0 && PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = pgh_conn_error(err, a->conn, res, "preparing the missing rows' count");
    PQclear(res);
    free(sql);
    a->missing_stmt = rc == 0;
    return rc;
}

static const pgh_sink_ops APPLY_OPS = {"postgres", sink_write, sink_flush, sink_free};

int pgh_apply_open(pgh_sink **out, const pgh_apply_opts *opts, pgh_error *err)
{
    *out = NULL;
    if (opts == NULL || opts->version != PGH_APPLY_OPTS_VERSION)
        return pgh_error_set(err, PGH_ECONFIG,
                             "apply options of version %d, this library takes version %d: "
                             "initialise them with PGH_APPLY_OPTS_INIT",
                             opts ? opts->version : -1, PGH_APPLY_OPTS_VERSION);
    apply_sink *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    a->base.ops = &APPLY_OPS;
    a->opts = *opts;
    pgh_buf_init(&a->sql, 0);
    pgh_apply__params_init(&a->params);
    pgh_apply__merge_init(&a->merge);
    a->stats = calloc((size_t)(opts->ntables ? opts->ntables : 1), sizeof(*a->stats));
    a->row_rels = calloc((size_t)opts->ntables + 1, sizeof(*a->row_rels));
    int rc = a->stats && a->row_rels ? 0 : pgh_error_set(err, PGH_ENOMEM, "out of memory");
    if (rc == 0)
        rc = pgh_conn_open(&a->conn, opts->conninfo, PGH_CONN_SQL, "destination",
                           opts->app_name, err);
    if (rc == 0 && opts->replica_role)
        rc = pgh_conn_exec(a->conn, "SET session_replication_role = replica", err);
    if (rc == 0)
        rc = durable_commits(a->conn, err);
    if (rc == 0 && opts->state_schema) {
        a->state_sql = opts->with_resume
                           ? pgh_state_update_resume_sql(a->conn, opts->state_schema)
                           : pgh_state_update_sql(a->conn, opts->state_schema);
        rc = a->state_sql ? 0 : pgh_error_set(err, PGH_ENOMEM, "out of memory");
        if (rc == 0)
            rc = prepare_state(a, err);
        if (rc == 0 && opts->on_missing_row == PGH_ON_MISSING_ROW_SKIP)
            rc = prepare_missing(a, err);
    }
    if (rc == 0)
        rc = pgh_apply__pipe_init(&a->pipe, a->conn, on_result, a, err);
    if (rc == 0)
        rc = pgh_apply__ddl_init(&a->ddl, a->conn, opts, &a->stats, err);
    if (rc != 0) {
        sink_free(&a->base);
        return rc;
    }
    *out = &a->base;
    return 0;
}

const pgh_apply_stats *pgh_apply_table_stats(const pgh_sink *sink, int i)
{
    const apply_sink *a = (const apply_sink *)sink;
    if (sink == NULL || sink->ops != &APPLY_OPS || i < 0 || i >= a->opts.ntables)
        return NULL;
    return &a->stats[i];
}

int pgh_apply_take_missing(pgh_apply_missing **out, int *count, pgh_sink *sink, pgh_error *err)
{
    *out = NULL;
    *count = 0;
    if (sink == NULL || sink->ops != &APPLY_OPS)
        return pgh_error_set(err, PGH_ECONFIG, "not a PostgreSQL destination");
    apply_sink *a = (apply_sink *)sink;
    *out = a->missing.rows;
    *count = a->missing.n;
    memset(&a->missing, 0, sizeof(a->missing));
    return 0;
}

/* ---- existing rows (pghost/destination.h: table_begin, table_rows) ----------------------- */

/* The mapping of table's rows as rel describes them, built at the first use. */
static int row_rel(apply_rel **out, apply_sink *a, int table, const pgh_relation *rel,
                   pgh_error *err)
{
    *out = NULL;
    if (table < 0 || table >= a->opts.ntables)
        return pgh_error_set(err, PGH_ECONFIG, "existing rows of table %d: no such table", table);
    if (a->row_rels[table] == NULL) {
        int rc = leave(a, err);
        if (rc == 0)
            rc = pgh_apply__rel_build(&a->row_rels[table], a->conn, rel, &a->ddl, err);
        if (rc != 0)
            return rc;
        if (a->row_rels[table] == NULL || a->row_rels[table]->map != table)
            return pgh_error_set(err, PGH_ECONFIG, "existing rows of %s.%s: not a table of the "
                                 "run", rel->nspname, rel->relname);
    }
    *out = a->row_rels[table];
    return 0;
}

int pgh_apply_table_empty(pgh_sink *sink, int table, const pgh_relation *rel, pgh_error *err)
{
    apply_sink *a = (apply_sink *)sink;
    apply_rel *r = NULL;
    int rc = a->skipping ? 0 : merge_flush(a, err);
    if (rc == 0 && !a->skipping)
        rc = row_rel(&r, a, table, rel, err);
    if (rc != 0 || r == NULL)
        return rc;
    rc = ensure_txn(a, err);
    pgh_buf_reset(&a->sql);
    pgh_buf_printf(&a->sql, "TRUNCATE %s%s", r->dst->relkind == 'p' ? "" : "ONLY ",
                   r->dst->qualified);
    pgh_apply__missing_remove_table(&a->missing, table);
    return rc != 0 ? rc : send_sql(a, PIPE_OP_PLAIN, a->change_lsn, pgh_buf_str(&a->sql), err);
}

/* Rows per multi-row upsert: PostgreSQL takes at most 65535 parameters per statement. */
static size_t rows_per_statement(const apply_rel *r)
{
    size_t n = 60000 / (size_t)(r->ncols ? r->ncols : 1);
    return n > 500 ? 500 : n ? n : 1;
}

static int upsert_rows(apply_sink *a, apply_rel *r, const pgh_tuple *rows, size_t n,
                       pgh_error *err)
{
    start_stmt(a);
    int rc = pgh_apply__put_insert_rows(&a->sql, &a->params, r, rows, n, err);
    if (rc != 0)
        return rc;
    pgh_apply__put_conflict(&a->sql, r, true);
    return send(a, r, PIPE_OP_INSERT, err);
}

/* Full statements of rows_per_statement rows, then one row per statement: two shapes to
 * prepare per table, whatever the chunks' sizes. */
int pgh_apply_table_rows(pgh_sink *sink, int table, const pgh_relation *rel,
                         const pgh_tuple *rows, size_t n, pgh_error *err)
{
    apply_sink *a = (apply_sink *)sink;
    apply_rel *r = NULL;
    int rc = a->skipping ? 0 : merge_flush(a, err);
    if (rc == 0 && !a->skipping)
        rc = row_rel(&r, a, table, rel, err);
    if (rc != 0 || r == NULL)
        return rc;
    rc = ensure_txn(a, err);
    size_t per = rows_per_statement(r);
    size_t i = 0;
    for (; rc == 0 && n - i >= per; i += per)
        rc = upsert_rows(a, r, rows + i, per, err);
    for (; rc == 0 && i < n; i++)
        rc = upsert_rows(a, r, rows + i, 1, err);
    return rc;
}

int pgh_apply_set_position(pgh_sink *sink, const char *phase, const char *resume,
                           pgh_error *err)
{
    apply_sink *a = (apply_sink *)sink;
    if (resume == NULL || a->resume == NULL || strcmp(resume, a->resume) != 0) {
        char *copy = resume ? strdup(resume) : NULL;
        if (resume && copy == NULL)
            return pgh_error_set(err, PGH_ENOMEM, "out of memory");
        free(a->resume);
        a->resume = copy;
    }
    snprintf(a->phase, sizeof(a->phase), "%s", phase ? phase : "");
    return 0;
}
