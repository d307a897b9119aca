/*
 * The PostgreSQL destination: see include/pghost/apply.h.
 *
 * One source transaction -> one destination transaction, opened at its first change to a
 * mapped table. Each change becomes one to three prepared statements (see the conflict rules
 * in the header); the SQL text is built per change and doubles as the cache key, so every
 * shape (which columns are unchanged TOAST, for example) is prepared once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply_internal.h"
#include "pghost/conn.h"
#include "pghost/log.h"
#include "pghost/state.h"

typedef struct apply_sink {
    pgh_sink base;
    PGconn *conn;              /* owned */
    pgh_apply_opts opts;       /* copy; pointers borrowed */
    pgh_apply_stats *stats;    /* owned: one per mapped table */
    apply_rel **rels;          /* owned */
    int nrels;
    int rels_cap;
    bool in_txn;               /* a destination transaction is open */
    uint64_t txn_changes;      /* statements in the open destination transaction */
    pgh_lsn pending;           /* end LSN of the last source transaction in the open one */
    pgh_lsn committed;         /* end LSN of the last source transaction committed */
    int stmt_counter;
    pgh_buf sql;               /* owned: scratch */
    apply_params params;       /* owned: scratch */
    missing_set missing;       /* owned: rows the catch-up could not complete */
    bool skipping;             /* the current source transaction is already applied */
    char *state_sql;           /* owned: UPDATE of the position, NULL without state */
} apply_sink;

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
    int rc = pgh_apply__rel_build(&r, a->conn, rel, a->opts.tables, a->opts.ntables, err);
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

static int exec_sql(apply_sink *a, const char *sql, pgh_error *err)
{
    int rc = pgh_conn_exec(a->conn, sql, err);
    if (rc != 0)
        pgh_error_prefix(err, "destination");
    return rc;
}

static int ensure_txn(apply_sink *a, pgh_error *err)
{
    if (a->in_txn)
        return 0;
    int rc = exec_sql(a, "BEGIN", err);
    if (rc == 0) {
        a->in_txn = true;
        a->txn_changes = 0;
    }
    return rc;
}

/* Record the position in the open transaction. */
static int write_position(apply_sink *a, pgh_error *err)
{
    char lsn[32];
    snprintf(lsn, sizeof(lsn), PGH_LSN_FMT, PGH_LSN_ARGS(a->pending));
    const char *params[2] = {lsn, a->opts.slot};
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, a->conn, a->state_sql, 2, params, err);
    if (rc == 0 && strcmp(PQcmdTuples(res), "1") != 0)
        rc = pgh_error_set(err, PGH_ESINK, "the position row of slot %s is missing from %s.state",
                           a->opts.slot, a->opts.state_schema);
    PQclear(res);
    return rc;
}

/* Commit the open destination transaction: everything up to a->pending is durable. */
static int commit_txn(apply_sink *a, pgh_error *err)
{
    if (a->in_txn) {
        int rc = a->state_sql ? write_position(a, err) : 0;
        if (rc == 0)
            rc = exec_sql(a, "COMMIT", err);
        a->in_txn = false;
        if (rc != 0)
            return rc;
    }
    a->committed = a->pending;
    return 0;
}

/* Run the statement in a->sql with a->params; *affected is the row count. */
static int run(apply_sink *a, apply_rel *r, uint64_t *affected, pgh_error *err)
{
    if (pgh_buf_failed(&a->sql))
        return pgh_error_set(err, PGH_ENOMEM, "out of memory building a statement");
    const char *const *values = pgh_apply__params_finish(&a->params);
    if (values == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    const apply_stmt *st = NULL;
    int rc = pgh_apply__stmt(&st, r, a->conn, pgh_buf_str(&a->sql), a->params.n,
                             &a->stmt_counter, err);
    if (rc != 0)
        return rc;
    PGresult *res = PQexecPrepared(a->conn, st->name, a->params.n, values, NULL, NULL, 0);
    ExecStatusType status = PQresultStatus(res);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        rc = pgh_conn_error(err, a->conn, res, "applying a change");
        pgh_error_prefix(err, "%s.%s", r->dst->schema, r->dst->name);
        PQclear(res);
        return rc;
    }
    *affected = strtoull(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    a->txn_changes++;
    return 0;
}

/* "k1 = $n AND k2 = $m" with the key values of tup. */
static int put_key_match(apply_sink *a, apply_rel *r, const pgh_tuple *tup, pgh_error *err)
{
    for (int k = 0; k < r->nkeys; k++) {
        const pgh_value *v = &tup->values[r->key_att[k]];
        if (v->kind != PGH_VALUE_TEXT && v->kind != PGH_VALUE_BINARY)
            return pgh_error_set(err, PGH_EPROTO,
                                 "%s.%s: a change carries no value for key column %s (replica "
                                 "identity must be the primary key or FULL)",
                                 r->dst->schema, r->dst->name, r->col_ident[r->key_att[k]]);
        int n = pgh_apply__params_add(&a->params, v);
        pgh_buf_printf(&a->sql, "%s%s = $%d", k ? " AND " : "", r->col_ident[r->key_att[k]], n);
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
        int p = pgh_apply__params_add(&a->params, &tup->values[i]);
        pgh_buf_printf(&a->sql, "%s%s = $%d", n++ ? ", " : " SET ", r->col_ident[i], p);
    }
    return n;
}

static void start_stmt(apply_sink *a)
{
    pgh_buf_reset(&a->sql);
    pgh_apply__params_reset(&a->params);
}

static int divergence(apply_rel *r, const char *what, pgh_error *err)
{
    return pgh_error_set(err, PGH_ESINK,
                         "%s.%s: %s; the destination has diverged from the source (run pghost "
                         "verify to see where)",
                         r->dst->schema, r->dst->name, what);
}

/* INSERT the tuple (ON CONFLICT DO NOTHING while catching up); *n is 1 when a row was added. */
static int insert_row(apply_sink *a, apply_rel *r, const pgh_tuple *tup, uint64_t *n,
                      pgh_error *err)
{
    start_stmt(a);
    pgh_buf_printf(&a->sql, "INSERT INTO %s (", r->dst->qualified);
    for (int i = 0; i < tup->natts; i++)
        pgh_buf_printf(&a->sql, "%s%s", i ? ", " : "", r->col_ident[i]);
    /* OVERRIDING SYSTEM VALUE: identity columns take the source's values too. */
    pgh_buf_puts(&a->sql, ") OVERRIDING SYSTEM VALUE VALUES (");
    for (int i = 0; i < tup->natts; i++) {
        if (tup->values[i].kind == PGH_VALUE_UNCHANGED)
            return pgh_error_set(err, PGH_EPROTO, "%s.%s: INSERT with an unchanged TOAST value",
                                 r->dst->schema, r->dst->name);
        pgh_buf_printf(&a->sql, "%s$%d", i ? ", " : "",
                       pgh_apply__params_add(&a->params, &tup->values[i]));
    }
    pgh_buf_putc(&a->sql, ')');
    /* Only a row at the same key means "the copy has it": a clash on another unique
     * constraint is an error, never a silently dropped row. */
    if (a->opts.mode == PGH_APPLY_CATCHUP) {
        pgh_buf_puts(&a->sql, " ON CONFLICT (");
        for (int k = 0; k < r->nkeys; k++)
            pgh_buf_printf(&a->sql, "%s%s", k ? ", " : "", r->col_ident[r->key_att[k]]);
        pgh_buf_puts(&a->sql, ") DO NOTHING");
    }
    return run(a, r, n, err);
}

static int apply_insert(apply_sink *a, apply_rel *r, const pgh_tuple *tup, pgh_error *err)
{
    uint64_t n = 0;
    int rc = insert_row(a, r, tup, &n, err);
    if (rc != 0)
        return rc;
    pgh_apply__missing_remove(&a->missing, r, tup);
    if (n)
        a->stats[r->map].inserts++;
    else
        a->stats[r->map].skipped++;
    return 0;
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

/* UPDATE t SET <values> WHERE <key of match>; with_keys also sets the key columns. */
static int update_row(apply_sink *a, apply_rel *r, const pgh_tuple *values,
                      const pgh_tuple *match, bool with_keys, uint64_t *n, pgh_error *err)
{
    start_stmt(a);
    *n = 0;
    pgh_buf_printf(&a->sql, "UPDATE %s", r->dst->qualified);
    if (put_set_list(a, r, values, with_keys) == 0) {
        /* Nothing but unchanged TOAST values: the row stays as it is. Still count a match. */
        start_stmt(a);
        pgh_buf_printf(&a->sql, "SELECT 1 FROM %s WHERE ", r->dst->qualified);
        int rc = put_key_match(a, r, match, err);
        return rc != 0 ? rc : run(a, r, n, err);
    }
    pgh_buf_puts(&a->sql, " WHERE ");
    int rc = put_key_match(a, r, match, err);
    return rc != 0 ? rc : run(a, r, n, err);
}

/* The key changed: old row present -> drop any row at the new key, move the old row;
 * old row absent -> update the row at the new key if there is one. */
static int move_row(apply_sink *a, apply_rel *r, const pgh_tuple *oldtup, const pgh_tuple *newtup,
                    uint64_t *n, pgh_error *err)
{
    int rc = 0;
    if (a->opts.mode == PGH_APPLY_CATCHUP) {
        start_stmt(a);
        pgh_buf_printf(&a->sql, "DELETE FROM %s WHERE ", r->dst->qualified);
        rc = put_key_match(a, r, newtup, err);
        pgh_buf_printf(&a->sql, " AND EXISTS (SELECT 1 FROM %s WHERE ", r->dst->qualified);
        if (rc == 0)
            rc = put_key_match(a, r, oldtup, err);
        pgh_buf_putc(&a->sql, ')');
        uint64_t deleted = 0;
        if (rc == 0)
            rc = run(a, r, &deleted, err);
    }
    if (rc == 0)
        rc = update_row(a, r, newtup, oldtup, true, n, err);
    if (rc != 0 || a->opts.mode != PGH_APPLY_CATCHUP)
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
    if (has_unchanged(newtup)) {
        if (pgh_apply__missing_add(&a->missing, r, newtup) != 0)
            return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    } else {
        pgh_apply__missing_remove(&a->missing, r, newtup);
    }
    return 0;
}

static int apply_update(apply_sink *a, apply_rel *r, const pgh_change *c, pgh_error *err)
{
    const pgh_tuple *newtup = &c->u.update.newtup;
    const pgh_tuple *oldtup = &c->u.update.oldtup;
    bool moved = c->u.update.old_kind != 0 && key_changed(r, oldtup, newtup);
    uint64_t n = 0;
    int rc = moved ? move_row(a, r, oldtup, newtup, &n, err)
                   : update_row(a, r, newtup, newtup, false, &n, err);
    if (rc != 0)
        return rc;
    if (n == 0 && a->opts.mode == PGH_APPLY_STRICT)
        return divergence(r, "UPDATE found no row", err);
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
    uint64_t n = 0;
    if (rc == 0)
        rc = run(a, r, &n, err);
    if (rc != 0)
        return rc;
    pgh_apply__missing_remove(&a->missing, r, oldtup);
    if (n == 0 && a->opts.mode == PGH_APPLY_STRICT)
        return divergence(r, "DELETE found no row", err);
    if (n)
        a->stats[r->map].deletes++;
    else
        a->stats[r->map].skipped++;
    return 0;
}

static int apply_truncate(apply_sink *a, const pgh_change *c, pgh_error *err)
{
    pgh_buf_reset(&a->sql);
    int n = 0;
    for (uint32_t i = 0; i < c->u.truncate.nrels; i++) {
        apply_rel *r = find_rel(a, c->u.truncate.rels[i]->oid);
        if (r == NULL || r->map < 0)
            continue;
        pgh_buf_printf(&a->sql, "%s%s", n++ ? ", " : "TRUNCATE ONLY ", r->dst->qualified);
        a->stats[r->map].truncates++;
        pgh_apply__missing_remove_table(&a->missing, r->map);
    }
    if (n == 0)
        return 0;
    if (c->u.truncate.options & PGH_TRUNCATE_RESTART_IDENTITY)
        pgh_buf_puts(&a->sql, " RESTART IDENTITY");
    int rc = ensure_txn(a, err);
    return rc != 0 ? rc : exec_sql(a, pgh_buf_str(&a->sql), err);
}

/* INSERT, UPDATE or DELETE: find the mapping, open the transaction, apply. */
static int apply_row_change(apply_sink *a, const pgh_change *c, pgh_error *err)
{
    const pgh_relation *rel = c->kind == PGH_CHANGE_INSERT   ? c->u.insert.rel
                              : c->kind == PGH_CHANGE_UPDATE ? c->u.update.rel
                                                             : c->u.del.rel;
    apply_rel *r = find_rel(a, rel->oid);
    if (r == NULL)
        return pgh_error_set(err, PGH_EPROTO, "change for relation %u before its Relation message",
                             rel->oid);
    if (r->map < 0)
        return 0;
    int rc = ensure_txn(a, err);
    if (rc != 0)
        return rc;
    if (c->kind == PGH_CHANGE_INSERT)
        return apply_insert(a, r, &c->u.insert.newtup, err);
    if (c->kind == PGH_CHANGE_UPDATE)
        return apply_update(a, r, c, err);
    return apply_delete(a, r, &c->u.del.oldtup, err);
}

static int sink_write(pgh_sink *sink, const pgh_change *c, pgh_error *err)
{
    apply_sink *a = (apply_sink *)sink;
    switch (c->kind) {
    case PGH_CHANGE_RELATION:
        return on_relation(a, c->u.relation.rel, err);
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
        if (!a->in_txn || a->txn_changes >= (uint64_t)a->opts.group_max_changes)
            return commit_txn(a, err);
        return 0;
    case PGH_CHANGE_BEGIN:
        a->skipping = c->u.begin.final_lsn < a->opts.skip_before;
        return 0;
    case PGH_CHANGE_ORIGIN:
    case PGH_CHANGE_TYPE:
    case PGH_CHANGE_MESSAGE:
        return 0;
    }
    return pgh_error_set(err, PGH_EPROTO, "unknown change kind %d", (int)c->kind);
}

static int sink_flush(pgh_sink *sink, pgh_lsn *out, pgh_error *err)
{
    apply_sink *a = (apply_sink *)sink;
    int rc = commit_txn(a, err);
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
    PQfinish(a->conn); /* an open transaction is rolled back by the server */
    free(a);
}

/* One applier per slot and destination: a session advisory lock, held while connected. */
static int lock_slot(apply_sink *a, pgh_error *err)
{
    const char *params[1] = {a->opts.slot};
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, a->conn,
                            "SELECT pg_catalog.pg_try_advisory_lock(pg_catalog.hashtext('pghost "
                            "apply ' || $1))",
                            1, params, err);
    if (rc == 0 && PQgetvalue(res, 0, 0)[0] != 't')
        rc = pgh_error_set(err, PGH_EPRECOND,
                           "another pghost is already applying slot %s to this destination: stop "
                           "it first (two appliers on one slot would apply changes twice)",
                           a->opts.slot);
    PQclear(res);
    return rc;
}

static const pgh_sink_ops APPLY_OPS = {"postgres", sink_write, sink_flush, sink_free};

int pgh_apply_open(pgh_sink **out, const pgh_apply_opts *opts, pgh_error *err)
{
    *out = NULL;
    apply_sink *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    a->base.ops = &APPLY_OPS;
    a->opts = *opts;
    pgh_buf_init(&a->sql, 0);
    pgh_apply__params_init(&a->params);
    a->stats = calloc((size_t)(opts->ntables ? opts->ntables : 1), sizeof(*a->stats));
    int rc = a->stats ? 0 : pgh_error_set(err, PGH_ENOMEM, "out of memory");
    if (rc == 0)
        rc = pgh_conn_open(&a->conn, opts->conninfo, PGH_CONN_SQL, "destination",
                           opts->app_name, err);
    if (rc == 0 && opts->replica_role)
        rc = pgh_conn_exec(a->conn, "SET session_replication_role = replica", err);
    if (rc == 0 && opts->state_schema) {
        a->state_sql = pgh_state_update_sql(a->conn, opts->state_schema);
        rc = a->state_sql ? lock_slot(a, err) : pgh_error_set(err, PGH_ENOMEM, "out of memory");
    }
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

void pgh_apply_set_mode(pgh_sink *sink, pgh_apply_mode mode)
{
    if (sink && sink->ops == &APPLY_OPS)
        ((apply_sink *)sink)->opts.mode = mode;
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
