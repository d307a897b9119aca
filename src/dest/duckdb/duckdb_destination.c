/*
 * The DuckDB destination of pghost/duckdb.h: the pgh_destination_ops over duckdb_table.c (the
 * tables and their batches) and duckdb_position.c (the position in the same file).
 *
 * Transactions: the first write after a commit opens a DuckDB transaction; source transactions
 * are added to it until a batch is full (apply_group_max_changes staged rows) or old
 * (apply_group_max_delay_ms), checked at each source commit, or until flush or write_position.
 * Then every table's stage is applied, the position of the last source commit stored, and the
 * DuckDB transaction committed: data and position at once (exactly once). A source transaction
 * is never split across two DuckDB transactions. After a restart, source transactions whose
 * commit lies before the stored position are skipped whole.
 */
#include "pghost/duckdb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duckdb_conn.h"
#include "duckdb_position.h"
#include "duckdb_table.h"
#include "util/clock.h"

typedef struct duck_dest {
    char *path;             /* owned copy of the options' */
    char *library;          /* owned copy, NULL: the default search */
    bool is_open;           /* between open and close */
    duck_conn c;            /* owned insides, open between open and close */
    const pgh_config *cfg;  /* borrowed from the open info, valid until close */
    char *slot;             /* owned copy of info->slot */
    duck_table *tables;     /* owned, cfg->ntables entries */
    bool in_txn;            /* a DuckDB transaction is open */
    bool skipping;          /* the current source transaction is in the file already */
    pgh_position pending;   /* resume owned: the last source commit not stored yet */
    bool has_pending;
    pgh_lsn stored_lsn;     /* lsn of the position committed last: what is durable */
    uint64_t batch_rows;    /* rows staged in the open DuckDB transaction */
    int64_t batch_start_ms; /* when it began */
} duck_dest;

/* ---- transactions ---- */

static int ensure_txn(duck_dest *d, pgh_error *err)
{
    if (d->in_txn)
        return 0;
    int rc = pgh_duckdb__exec(&d->c, "BEGIN TRANSACTION", "beginning a transaction", err);
    if (rc == 0) {
        d->in_txn = true;
        d->batch_rows = 0;
        d->batch_start_ms = pgh_clock_ms();
    }
    return rc;
}

/* Apply every stage, store the pending position, commit. */
static int commit_batch(duck_dest *d, pgh_error *err)
{
    if (!d->in_txn)
        return 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < d->cfg->ntables; i++)
        if (d->tables[i].ready)
            rc = pgh_duckdb__table_apply(&d->tables[i], &d->c, err);
    if (rc == 0 && d->has_pending)
        rc = pgh_duckdb__position_write(&d->c, d->slot, &d->pending, err);
    if (rc == 0)
        rc = pgh_duckdb__exec(&d->c, "COMMIT", "committing a batch", err);
    if (rc != 0)
        return rc;
    d->in_txn = false;
    if (d->has_pending)
        d->stored_lsn = d->pending.lsn;
    d->has_pending = false;
    return 0;
}

static int position_set(pgh_position *dst, const pgh_position *src, pgh_error *err)
{
    char *resume = src->resume ? strdup(src->resume) : NULL;
    if (src->resume && resume == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "DuckDB destination: out of memory");
    free(dst->resume);
    *dst = *src;
    dst->resume = resume;
    return 0;
}

/* ---- tables ---- */

static int table_index(const duck_dest *d, const pgh_relation *rel)
{
    for (size_t i = 0; i < d->cfg->ntables; i++) {
        const pgh_table_map *m = &d->cfg->tables[i];
        if (strcmp(m->source_schema, rel->nspname) == 0 &&
            strcmp(m->source_table, rel->relname) == 0)
            return (int)i;
    }
    return -1;
}

/* The table for rel, set up when needed; *out NULL for a table not configured (skipped). */
static int table_for(duck_table **out, duck_dest *d, const pgh_relation *rel, bool recreate,
                     pgh_error *err)
{
    *out = NULL;
    int i = table_index(d, rel);
    if (i < 0)
        return 0;
    duck_table *t = &d->tables[i];
    int rc = ensure_txn(d, err);
    if (rc != 0)
        return rc;
    if (t->ready && !recreate && !pgh_duckdb__table_matches(t, rel))
        return pgh_error_set(err, PGH_ESINK,
                             "the columns of %s.%s changed on the source: the DuckDB "
                             "destination does not follow schema changes; recreate the table "
                             "by reloading it, or start over with a new file",
                             rel->nspname, rel->relname);
    if (!t->ready || recreate)
        rc = pgh_duckdb__table_setup(t, &d->c, &d->cfg->tables[i], rel, recreate, err);
    if (rc == 0)
        *out = t;
    return rc;
}

/* Keep a stage from growing past a batch inside a long source transaction. */
static int stage(duck_dest *d, duck_table *t, const pgh_tuple *tup, bool del, pgh_error *err)
{
    int rc = pgh_duckdb__table_stage(t, &d->c, tup, del, err);
    d->batch_rows++;
    if (rc == 0 && t->staged >= (uint64_t)d->cfg->apply_group_max_changes)
        rc = pgh_duckdb__table_apply(t, &d->c, err);
    return rc;
}

static bool has_unchanged(const pgh_tuple *tup)
{
    for (uint16_t i = 0; i < tup->natts; i++)
        if (tup->values[i].kind == PGH_VALUE_UNCHANGED)
            return true;
    return false;
}

static int apply_update(duck_dest *d, duck_table *t, const pgh_change *c, pgh_error *err)
{
    const pgh_tuple *newtup = &c->u.update.newtup;
    bool has_old = c->u.update.old_kind != 0;
    if (has_unchanged(newtup)) {
        d->batch_rows++;
        return pgh_duckdb__table_update_partial(t, &d->c, has_old ? &c->u.update.oldtup : newtup,
                                                newtup, err);
    }
    int rc = has_old ? stage(d, t, &c->u.update.oldtup, true, err) : 0;
    return rc == 0 ? stage(d, t, newtup, false, err) : rc;
}

/* ---- open, close ---- */

static int ready(const duck_dest *d, pgh_error *err)
{
    return d->is_open ? 0
                      : pgh_error_set(err, PGH_EPROTO, "DuckDB destination: called while not open");
}

static void dest_close(void *user)
{
    duck_dest *d = user;
    if (d->tables)
        for (size_t i = 0; i < d->cfg->ntables; i++)
            pgh_duckdb__table_dispose(&d->tables[i], &d->c);
    free(d->tables);
    d->tables = NULL;
    pgh_duckdb__conn_close(&d->c); /* an open transaction is rolled back */
    free(d->slot);
    free(d->pending.resume);
    memset(&d->pending, 0, sizeof(d->pending));
    d->slot = NULL;
    d->in_txn = d->skipping = d->has_pending = d->is_open = false;
    d->stored_lsn = 0;
}

static int dest_open(void *user, const pgh_destination_info *info, pgh_error *err)
{
    duck_dest *d = user;
    if (d->is_open)
        return pgh_error_set(err, PGH_EPROTO, "DuckDB destination: opened twice");
    if (info == NULL || info->config == NULL || info->slot == NULL)
        return pgh_error_set(err, PGH_ECONFIG,
                             "DuckDB destination: opened without a configuration and slot");
    d->cfg = info->config;
    d->is_open = true; /* close releases whatever the rest sets up */
    d->slot = strdup(info->slot);
    d->tables = calloc(d->cfg->ntables ? d->cfg->ntables : 1, sizeof(*d->tables));
    if (d->slot == NULL || d->tables == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "DuckDB destination: out of memory");
    for (size_t i = 0; i < d->cfg->ntables; i++)
        d->tables[i].index = (int)i;
    int rc = pgh_duckdb__conn_open(&d->c, d->path, d->library, err);
    if (rc == 0)
        rc = pgh_duckdb__position_setup(&d->c, err);
    return rc;
}

static void dest_destroy(void *user)
{
    duck_dest *d = user;
    if (d == NULL)
        return;
    if (d->is_open)
        dest_close(d);
    free(d->path);
    free(d->library);
    free(d);
}

/* ---- positions ---- */

static int dest_read_position(void *user, pgh_position *out, pgh_error *err)
{
    duck_dest *d = user;
    int rc = ready(d, err);
    bool found = false;
    if (rc == 0)
        rc = pgh_duckdb__position_read(out, &found, &d->c, d->slot, err);
    if (rc == 0 && found)
        d->stored_lsn = out->lsn;
    return rc;
}

static int dest_write_position(void *user, const pgh_position *pos, pgh_error *err)
{
    duck_dest *d = user;
    int rc = ready(d, err);
    if (rc == 0)
        rc = ensure_txn(d, err);
    if (rc == 0)
        rc = position_set(&d->pending, pos, err);
    if (rc == 0)
        d->has_pending = true;
    return rc == 0 ? commit_batch(d, err) : rc;
}

static int dest_flush(void *user, pgh_lsn *durable, pgh_error *err)
{
    duck_dest *d = user;
    int rc = ready(d, err);
    if (rc == 0)
        rc = commit_batch(d, err);
    *durable = d->stored_lsn;
    return rc;
}

/* ---- existing rows ---- */

static int dest_table_begin(void *user, const pgh_table_rows *t, pgh_error *err)
{
    duck_dest *d = user;
    duck_table *tab = NULL;
    int rc = ready(d, err);
    if (rc == 0 && !d->skipping)
        rc = table_for(&tab, d, t->table, true, err);
    return rc;
}

static int dest_table_rows(void *user, const pgh_table_rows *t, const pgh_tuple *rows, size_t n,
                           pgh_error *err)
{
    duck_dest *d = user;
    duck_table *tab = NULL;
    int rc = ready(d, err);
    if (rc == 0 && !d->skipping)
        rc = table_for(&tab, d, t->table, false, err);
    for (size_t i = 0; rc == 0 && tab && i < n; i++)
        rc = stage(d, tab, &rows[i], false, err);
    return rc;
}

static int dest_table_end(void *user, const pgh_table_rows *t, pgh_error *err)
{
    (void)t;
    return ready(user, err);
}

/* ---- the stream ---- */

static int dest_begin(void *user, const pgh_change *c, pgh_error *err)
{
    duck_dest *d = user;
    int rc = ready(d, err);
    if (rc == 0)
        d->skipping = d->stored_lsn != 0 && c->u.begin.final_lsn < d->stored_lsn;
    return rc;
}

static int dest_nothing(void *user, const pgh_change *c, pgh_error *err)
{
    (void)c;
    return ready(user, err);
}

static int dest_change(void *user, const pgh_change *c, pgh_error *err)
{
    duck_dest *d = user;
    int rc = ready(d, err);
    if (rc != 0 || d->skipping)
        return rc;
    const pgh_relation *rel = c->kind == PGH_CHANGE_INSERT   ? c->u.insert.rel
                              : c->kind == PGH_CHANGE_UPDATE ? c->u.update.rel
                              : c->kind == PGH_CHANGE_DELETE ? c->u.del.rel
                                                             : NULL;
    if (rel == NULL)
        return pgh_error_set(err, PGH_EPROTO, "DuckDB destination: change called with a '%c' "
                             "message", (char)c->kind);
    duck_table *t = NULL;
    rc = table_for(&t, d, rel, false, err);
    if (rc != 0 || t == NULL)
        return rc;
    if (c->kind == PGH_CHANGE_INSERT)
        return stage(d, t, &c->u.insert.newtup, false, err);
    if (c->kind == PGH_CHANGE_DELETE)
        return stage(d, t, &c->u.del.oldtup, true, err);
    return apply_update(d, t, c, err);
}

static int dest_truncate(void *user, const pgh_change *c, pgh_error *err)
{
    duck_dest *d = user;
    int rc = ready(d, err);
    for (uint32_t i = 0; rc == 0 && !d->skipping && i < c->u.truncate.nrels; i++) {
        duck_table *t = NULL;
        rc = table_for(&t, d, c->u.truncate.rels[i], false, err);
        if (rc == 0 && t)
            rc = pgh_duckdb__table_truncate(t, &d->c, err);
    }
    return rc;
}

static int dest_commit(void *user, const pgh_change *c, const pgh_position *after, pgh_error *err)
{
    duck_dest *d = user;
    (void)c;
    int rc = ready(d, err);
    if (rc != 0 || d->skipping) {
        d->skipping = false;
        return rc;
    }
    if (after == NULL)
        return pgh_error_set(err, PGH_EPROTO, "DuckDB destination: commit without a position");
    rc = ensure_txn(d, err);
    if (rc == 0)
        rc = position_set(&d->pending, after, err);
    if (rc != 0)
        return rc;
    d->has_pending = true;
    if (d->batch_rows >= (uint64_t)d->cfg->apply_group_max_changes ||
        pgh_clock_ms() - d->batch_start_ms >= d->cfg->apply_group_max_delay_ms)
        return commit_batch(d, err);
    return 0;
}

static const pgh_destination_ops DUCKDB_DESTINATION_OPS = {
    .version = PGH_DESTINATION_OPS_VERSION,
    .name = "duckdb",
    .flags = PGH_DEST_TRANSACTIONAL, /* the position commits with the data; not keyed */
    .open = dest_open,
    .close = dest_close,
    .destroy = dest_destroy,
    .read_position = dest_read_position,
    .write_position = dest_write_position,
    .table_begin = dest_table_begin,
    .table_rows = dest_table_rows,
    .table_end = dest_table_end,
    .begin = dest_begin,
    .relation = dest_nothing,
    .message = dest_nothing,
    .change = dest_change,
    .truncate = dest_truncate,
    .commit = dest_commit,
    .flush = dest_flush,
    .keyed = NULL,
};

int pgh_duckdb_destination_new(pgh_destination **out, const pgh_duckdb_opts *opts,
                               pgh_error *err)
{
    *out = NULL;
    if (opts == NULL || opts->version != PGH_DUCKDB_OPTS_VERSION)
        return pgh_error_set(err, PGH_ECONFIG,
                             "DuckDB destination: options version %d, expected %d (start from "
                             "PGH_DUCKDB_OPTS_INIT)",
                             opts ? opts->version : 0, PGH_DUCKDB_OPTS_VERSION);
    if (opts->path == NULL || opts->path[0] == '\0')
        return pgh_error_set(err, PGH_ECONFIG,
                             "destination: duckdb needs duckdb_path, the database file to "
                             "write; add it to the configuration");
    duck_dest *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "DuckDB destination: out of memory");
    d->path = strdup(opts->path);
    d->library = opts->library ? strdup(opts->library) : NULL;
    if (d->path == NULL || (opts->library && d->library == NULL)) {
        dest_destroy(d);
        return pgh_error_set(err, PGH_ENOMEM, "DuckDB destination: out of memory");
    }
    return pgh_destination_new(out, &DUCKDB_DESTINATION_OPS, d, err);
}

int pgh_duckdb_position_read(pgh_position *out, bool *found, const pgh_duckdb_opts *opts,
                             const char *slot, pgh_error *err)
{
    *found = false;
    if (opts == NULL || opts->path == NULL)
        return pgh_error_set(err, PGH_ECONFIG, "DuckDB destination: no duckdb_path");
    FILE *f = fopen(opts->path, "rb");
    if (f == NULL)
        return 0; /* no file: nothing delivered yet */
    fclose(f);
    duck_conn c;
    int rc = pgh_duckdb__conn_open(&c, opts->path, opts->library, err);
    if (rc == 0)
        rc = pgh_duckdb__position_read(out, found, &c, slot, err);
    pgh_duckdb__conn_close(&c);
    return rc;
}
