/*
 * The coordinator of the existing rows, on the stream thread (snapshot.h): windows opened at
 * low watermarks, keys of the changes recorded in them, chunks delivered at high watermarks,
 * reload requests, progress.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pg/conn.h"
#include "pghost/log.h"
#include "snapshot.h"
#include "util/clock.h"

#define DELIVER_BATCH 1000 /* rows per table_rows call */

/* ---- lifecycle ------------------------------------------------------------------------- */

static void free_ranges(snap_table *t)
{
    for (int i = 0; t->ranges && i < t->nranges; i++) {
        snap_range *rg = &t->ranges[i];
        pgh_snapshot__keys_free(rg->lo, t->nkeys);
        pgh_snapshot__keys_free(rg->hi, t->nkeys);
        pgh_snapshot__keys_free(rg->after, t->nkeys);
        pgh_snapshot__keys_free(rg->sel_after, t->nkeys);
    }
    free(t->ranges);
    t->ranges = NULL;
    t->nranges = 0;
    t->planned = false;
}

static void free_chunk(snap_chunk *ch, int nkeys)
{
    pgh_strset_dispose(&ch->keys);
    PQclear(ch->rows);
    pgh_snapshot__keys_free(ch->last_key, nkeys);
    free(ch);
}

int pgh_snapshot__new(snapshot **out, pipe_run *r, pgh_error *err)
{
    *out = NULL;
    snapshot *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    s->r = r;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->changed, NULL);
    pgh_buf_init(&s->key, 1 << 20);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(s->run_id, sizeof(s->run_id), "%x%lx%x", (unsigned)getpid(), (long)ts.tv_sec,
             (unsigned)ts.tv_nsec);
    s->nworkers = r->cfg->copy_worker_count > 0 ? r->cfg->copy_worker_count : 1;
    s->max_outstanding = s->nworkers + 1;
    s->ntables = r->tables.n;
    s->tables = calloc((size_t)s->ntables + 1, sizeof(*s->tables));
    *out = s;
    if (s->tables == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    for (int i = 0; i < s->ntables; i++) {
        snap_table *t = &s->tables[i];
        t->index = i;
        t->info = r->tables.src[i];
        t->state = SNAP_DONE;
        int rc = pgh_snapshot__relation(t, err);
        if (rc != 0)
            return rc;
    }
    return 0; /* the re-read session is opened at the first re-read (snapshot_reread.c) */
}

void pgh_snapshot__free(snapshot *s)
{
    if (s == NULL)
        return;
    pgh_snapshot__stop(s);
    while (s->chunks) {
        snap_chunk *ch = s->chunks;
        s->chunks = ch->next;
        free_chunk(ch, s->tables[ch->table].nkeys);
    }
    for (int i = 0; s->tables && i < s->ntables; i++) {
        free_ranges(&s->tables[i]);
        pgh_snapshot__relation_dispose(&s->tables[i]);
    }
    free(s->tables);
    free(s->token);
    pgh_buf_dispose(&s->key);
    pgh_snapshot__absent_dispose(s);
    PQfinish(s->reread);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->changed);
    free(s);
}

int pgh_snapshot__all(snapshot *s, pgh_error *err)
{
    for (int i = 0; i < s->ntables; i++)
        s->tables[i].state = SNAP_PENDING;
    s->token_stale = true;
    return pgh_snapshot__horizon_now(s, err);
}

int pgh_snapshot__resume(snapshot *s, const char *token, pgh_error *err)
{
    int rc = pgh_snapshot__token_decode(s, token, err);
    s->token_stale = true;
    return rc == 0 ? pgh_snapshot__horizon_now(s, err) : rc;
}

int pgh_snapshot__start(snapshot *s, pgh_error *err)
{
    s->threads = calloc((size_t)s->nworkers, sizeof(*s->threads));
    if (s->threads == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    for (; s->started < s->nworkers; s->started++) {
        if (pthread_create(&s->threads[s->started], NULL, pgh_snapshot__worker_main, s) != 0)
            return pgh_error_set(err, PGH_ENOMEM, "cannot start worker %d", s->started);
    }
    return 0;
}

void pgh_snapshot__stop(snapshot *s)
{
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
    for (int i = 0; i < s->started; i++)
        pthread_join(s->threads[i], NULL);
    s->started = 0;
    free(s->threads);
    s->threads = NULL;
}

bool pgh_snapshot__idle(snapshot *s)
{
    pthread_mutex_lock(&s->lock);
    bool idle = s->chunks == NULL;
    for (int i = 0; idle && i < s->ntables; i++)
        idle = s->tables[i].state == SNAP_DONE;
    pthread_mutex_unlock(&s->lock);
    return idle;
}

const char *pgh_snapshot__token(snapshot *s)
{
    if (!s->token_stale)
        return s->token;
    char *t = NULL;
    pgh_error ignored;
    pgh_error_clear(&ignored);
    pthread_mutex_lock(&s->lock);
    int rc = pgh_snapshot__token_encode(&t, s, &ignored);
    pthread_mutex_unlock(&s->lock);
    if (rc == 0) { /* out of memory keeps the older token: a restart repeats a little more */
        free(s->token);
        s->token = t;
        s->token_stale = false;
    }
    return s->token;
}

/* ---- watermarks ------------------------------------------------------------------------ */

/* The chunk of id, under the lock. */
static snap_chunk *find_chunk(snapshot *s, uint64_t id)
{
    for (snap_chunk *ch = s->chunks; ch; ch = ch->next)
        if (ch->id == id)
            return ch;
    return NULL;
}

static pgh_table_rows rows_of(const snap_table *t, pgh_lsn lsn, uint64_t chunk)
{
    return (pgh_table_rows){.table = &t->rel, .table_index = t->index, .lsn = lsn,
                            .chunk = chunk, .reload = t->reload};
}

/* L: open the window; the table's first L starts its delivery. */
static int on_low(snapshot *s, uint64_t id, pgh_lsn lsn, pgh_error *err)
{
    pthread_mutex_lock(&s->lock);
    snap_chunk *ch = find_chunk(s, id);
    snap_table *t = ch ? &s->tables[ch->table] : NULL;
    bool begin = t && t->state == SNAP_PENDING;
    if (ch)
        ch->window_open = true;
    if (begin)
        t->state = SNAP_BEGUN;
    pthread_mutex_unlock(&s->lock);
    if (!begin)
        return 0;
    s->token_stale = true;
    pgh_log(PGH_LOG_INFO, "snapshot", "%s the existing rows of %s.%s",
            t->reload ? "reloading" : "delivering", t->info->schema, t->info->name);
    pgh_table_rows tr = rows_of(t, lsn, id);
    pipe_run *r = s->r;
    return r->ops->table_begin ? r->ops->table_begin(r->user, &tr, err) : 0;
}

/* Wait for the worker to hand over the chunk of H (it does right after writing H). */
static int wait_ready(snapshot *s, snap_chunk *ch, pgh_error *err)
{
    while (!ch->ready && s->worker_err.code == 0)
        pthread_cond_wait(&s->changed, &s->lock);
    if (s->worker_err.code != 0 && !ch->ready) {
        *err = s->worker_err;
        return err->code;
    }
    if (ch->err_code != 0) {
        if (s->worker_err.code != 0)
            *err = s->worker_err;
        else
            pgh_error_set(err, ch->err_code, "reading existing rows failed");
        return err->code;
    }
    return 0;
}

/* The chunk's rows whose key did not change in its window, in batches. None when a TRUNCATE
 * of the table was read between its L and its H: the TRUNCATE removed every row the select
 * could see (a select before the TRUNCATE held its lock first; one after it saw only rows
 * whose INSERTs are in the window too), the stream carries what the table holds after it, and
 * a row selected before the TRUNCATE must not come after the TRUNCATE's line. The chunk's
 * range still moves past its last key: nothing under it is left to deliver. */
static int deliver_rows(uint32_t *delivered, snapshot *s, snap_table *t, snap_chunk *ch,
                        pgh_lsn lsn, pgh_error *err)
{
    pipe_run *r = s->r;
    int n = ch->truncated ? 0 : PQntuples(ch->rows);
    int ncols = t->rel.ncols;
    pgh_value *values = calloc((size_t)DELIVER_BATCH * (size_t)ncols + 1, sizeof(*values));
    pgh_tuple *tuples = calloc(DELIVER_BATCH, sizeof(*tuples));
    int rc = values && tuples ? 0 : pgh_error_set(err, PGH_ENOMEM, "out of memory");
    pgh_table_rows tr = rows_of(t, lsn, ch->id);
    size_t batch = 0;
    for (int i = 0; rc == 0 && i < n; i++) {
        pgh_snapshot__row_key(&s->key, t, ch->rows, i);
        if (pgh_strset_has(&ch->keys, s->key.data ? s->key.data : "", s->key.len))
            continue;
        pgh_value *v = &values[batch * (size_t)ncols];
        for (int a = 0; a < ncols; a++) {
            bool null = PQgetisnull(ch->rows, i, a);
            v[a] = (pgh_value){.kind = null ? PGH_VALUE_NULL : PGH_VALUE_TEXT,
                               .len = null ? 0 : (uint32_t)PQgetlength(ch->rows, i, a),
                               .data = null ? NULL : PQgetvalue(ch->rows, i, a)};
            t->bytes += v[a].len;
        }
        tuples[batch++] = (pgh_tuple){.natts = (uint16_t)ncols, .values = v};
        if (batch == DELIVER_BATCH) {
            rc = r->ops->table_rows ? r->ops->table_rows(r->user, &tr, tuples, batch, err) : 0;
            tr.first_row += (uint32_t)batch;
            t->rows += batch;
            r->out->tables[t->index].rows_copied += batch;
            batch = 0;
        }
    }
    if (rc == 0 && batch > 0 && r->ops->table_rows) {
        rc = r->ops->table_rows(r->user, &tr, tuples, batch, err);
        t->rows += batch;
        r->out->tables[t->index].rows_copied += batch;
        tr.first_row += (uint32_t)batch;
    }
    *delivered = tr.first_row;
    free(values);
    free(tuples);
    return rc;
}

/* Record the chunk's progress; the table's last chunk ends its delivery. */
static int chunk_done(snapshot *s, snap_table *t, snap_chunk *ch, pgh_lsn lsn,
                      uint32_t delivered, pgh_error *err)
{
    snap_range *rg = &t->ranges[ch->range];
    if (ch->last_key) {
        pgh_snapshot__keys_free(rg->after, t->nkeys);
        rg->after = ch->last_key;
        ch->last_key = NULL;
    }
    rg->done = rg->done || ch->last;
    t->in_flight--;
    s->outstanding--;
    bool all = t->in_flight == 0;
    for (int i = 0; all && i < t->nranges; i++)
        all = t->ranges[i].done;
    s->token_stale = true;
    if (!all)
        return 0;
    t->state = SNAP_DONE;
    pgh_log(PGH_LOG_INFO, "snapshot", "%llu existing rows of %s.%s delivered",
            (unsigned long long)t->rows, t->info->schema, t->info->name);
    pipe_run *r = s->r;
    pgh_table_rows tr = rows_of(t, lsn, ch->id);
    tr.first_row = delivered;
    t->reload = false;
    return r->ops->table_end ? r->ops->table_end(r->user, &tr, err) : 0;
}

static void unlink_chunk(snapshot *s, snap_chunk *ch)
{
    for (snap_chunk **p = &s->chunks; *p; p = &(*p)->next) {
        if (*p == ch) {
            *p = ch->next;
            return;
        }
    }
}

/* The rows delivered so far per table, to the progress callback (after each chunk: a chunk is
 * up to SNAPSHOT_CHUNK_MAX_ROWS rows, so this is never per row). The caller's thread. */
static void report_rows(snapshot *s)
{
    const pgh_pipeline_opts *o = s->r->o;
    if (o->progress == NULL)
        return;
    pgh_progress_table *rows = calloc((size_t)s->ntables + 1, sizeof(*rows));
    char(*names)[132] = calloc((size_t)s->ntables + 1, sizeof(*names));
    for (int i = 0; rows && names && i < s->ntables; i++) {
        const snap_table *t = &s->tables[i];
        snprintf(names[i], sizeof(names[i]), "%s.%s", t->info->schema, t->info->name);
        rows[i] = (pgh_progress_table){.name = names[i],
                                       .estimated_rows = t->info->reltuples,
                                       .rows = t->rows,
                                       .bytes = t->bytes,
                                       .ranges_total = t->nranges};
        for (int k = 0; k < t->nranges; k++)
            rows[i].ranges_done += t->ranges[k].done;
    }
    if (rows && names) {
        pgh_progress p = {.phase = PGH_PROGRESS_ROWS, .ntables = s->ntables, .tables = rows};
        o->progress(&p, o->progress_payload);
    }
    free(rows);
    free(names);
}

/* H: deliver the chunk. */
static int on_high(snapshot *s, uint64_t id, pgh_lsn lsn, pgh_error *err)
{
    pthread_mutex_lock(&s->lock);
    snap_chunk *ch = find_chunk(s, id);
    int rc = ch ? wait_ready(s, ch, err) : 0;
    if (ch)
        unlink_chunk(s, ch);
    pthread_mutex_unlock(&s->lock);
    if (ch == NULL || rc != 0) {
        if (ch)
            free_chunk(ch, s->tables[ch->table].nkeys);
        return rc;
    }
    snap_table *t = &s->tables[ch->table];
    if (!ch->window_open)
        rc = pgh_error_set(err, PGH_EPROTO,
                           "the high watermark of chunk %llu came without its low one",
                           (unsigned long long)id);
    uint32_t delivered = 0;
    int64_t start_ms = pgh_clock_ms();
    if (rc == 0 && ch->all_changed && !ch->truncated)
        rc = pgh_error_set(err, PGH_ECONN,
                           "%s.%s: a change in the window of chunk %llu came without a key pghost "
                           "could record (out of memory, or a key value not sent), so the "
                           "chunk's rows cannot be told from the rows that change touched; they "
                           "are selected again from the last position delivered",
                           t->info->schema, t->info->name, (unsigned long long)id);
    if (rc == 0 && ch->truncated)
        pgh_log(PGH_LOG_INFO, "snapshot",
                "%s.%s was truncated while chunk %llu was read: its %d rows are not delivered",
                t->info->schema, t->info->name, (unsigned long long)id, PQntuples(ch->rows));
    if (rc == 0)
        rc = deliver_rows(&delivered, s, t, ch, lsn, err);
    pthread_mutex_lock(&s->lock);
    if (rc == 0)
        rc = chunk_done(s, t, ch, lsn, delivered, err);
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
    if (rc == 0 && pgh_log_enabled(PGH_LOG_DEBUG)) {
        char name[132];
        snprintf(name, sizeof(name), "%s.%s", t->info->schema, t->info->name);
        pgh_log_at(PGH_LOG_DEBUG, "snapshot", name, lsn,
                   "chunk %llu of range %d: %u of %d rows delivered (the others changed in its "
                   "window) in %lld ms",
                   (unsigned long long)id, ch->range, delivered, PQntuples(ch->rows),
                   (long long)(pgh_clock_ms() - start_ms));
    }
    free_chunk(ch, t->nkeys);
    if (rc == 0)
        report_rows(s);
    return rc;
}

/* ---- reload requests -------------------------------------------------------------------- */

static void reload(snapshot *s, const char *name)
{
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < s->ntables; i++) {
        snap_table *t = &s->tables[i];
        char qualified[160];
        snprintf(qualified, sizeof(qualified), "%s.%s", t->info->schema, t->info->name);
        if (strcmp(qualified, name) != 0)
            continue;
        if (t->state != SNAP_DONE) {
            pgh_log(PGH_LOG_INFO, "snapshot", "reload of %s requested while it is delivered "
                                              "already: nothing more to do", name);
        } else {
            free_ranges(t);
            t->state = SNAP_PENDING;
            t->reload = true;
            t->rows = 0;
            s->token_stale = true;
            pthread_cond_broadcast(&s->changed);
        }
        pthread_mutex_unlock(&s->lock);
        return;
    }
    pthread_mutex_unlock(&s->lock);
    pgh_log(PGH_LOG_WARN, "snapshot", "reload of %s requested, but it is not one of the tables "
                                      "of slot %s: ignored", name, s->r->cfg->slot_name);
}

/* "<slot> <run> low|high <id>" or "<slot> reload <schema.table>". Others' are ignored. */
static int on_message(snapshot *s, const pgh_change *c, pgh_error *err)
{
    char text[512];
    size_t len = c->u.message.len < sizeof(text) - 1 ? c->u.message.len : sizeof(text) - 1;
    memcpy(text, c->u.message.content, len);
    text[len] = '\0';
    char *save = NULL;
    char *slot = strtok_r(text, " ", &save);
    char *word = strtok_r(NULL, " ", &save);
    char *what = strtok_r(NULL, " ", &save);
    if (slot == NULL || word == NULL || strcmp(slot, s->r->cfg->slot_name) != 0)
        return 0;
    if (strcmp(word, "reload") == 0 && what != NULL) {
        reload(s, what);
        return 0;
    }
    char *id_text = strtok_r(NULL, " ", &save);
    if (strcmp(word, s->run_id) != 0 || what == NULL || id_text == NULL)
        return 0; /* an earlier run's watermark */
    uint64_t id = strtoull(id_text, NULL, 10);
    if (strcmp(what, "low") == 0)
        return on_low(s, id, c->u.message.lsn, err);
    if (strcmp(what, "high") == 0)
        return on_high(s, id, c->u.message.lsn, err);
    return 0;
}

/* ---- changes -------------------------------------------------------------------------- */

/* The key map of a relation, built at its first change after its Relation message. */
static const snap_keymap *keymap(snapshot *s, const pgh_relation *rel)
{
    for (int i = 0; i < s->nmaps; i++)
        if (s->maps[i].rel_oid == rel->oid && s->maps[i].rel == rel)
            return &s->maps[i];
    int slot = s->nmaps < SNAPSHOT_KEYMAPS ? s->nmaps++ : (int)(rel->oid % SNAPSHOT_KEYMAPS);
    for (int i = 0; i < s->nmaps; i++)
        if (s->maps[i].rel_oid == rel->oid)
            slot = i;
    pgh_snapshot__keymap(&s->maps[slot], s, rel);
    return &s->maps[slot];
}

static void forget_relation(snapshot *s, uint32_t oid)
{
    for (int i = 0; i < s->nmaps; i++)
        if (s->maps[i].rel_oid == oid)
            s->maps[i].rel = NULL;
}

/* Add the tuple's key to every open window of the table (or all of them, when it has no
 * usable key). Under the lock. */
static bool record_key(snapshot *s, const snap_keymap *m, const pgh_tuple *tup)
{
    bool have = pgh_snapshot__tuple_key(&s->key, m, tup);
    for (snap_chunk *ch = s->chunks; ch; ch = ch->next) {
        if (ch->table != m->table || !ch->window_open || ch->all_changed)
            continue;
        if (!have || !pgh_strset_add(&ch->keys, s->key.data ? s->key.data : "", s->key.len))
            ch->all_changed = true; /* the chunk is selected again: see snapshot.h */
    }
    return have;
}

static void record_change(snapshot *s, const snap_keymap *m, const pgh_change *c)
{
    pthread_mutex_lock(&s->lock);
    if (s->tables[m->table].in_flight > 0) {
        if (c->kind == PGH_CHANGE_INSERT)
            record_key(s, m, &c->u.insert.newtup);
        if (c->kind == PGH_CHANGE_UPDATE) {
            record_key(s, m, &c->u.update.newtup);
            if (c->u.update.old_kind)
                record_key(s, m, &c->u.update.oldtup);
        }
        if (c->kind == PGH_CHANGE_DELETE)
            record_key(s, m, &c->u.del.oldtup);
    }
    pthread_mutex_unlock(&s->lock);
}

static void record_truncate(snapshot *s, const pgh_change *c)
{
    for (uint32_t i = 0; i < c->u.truncate.nrels; i++) {
        const snap_keymap *m = keymap(s, c->u.truncate.rels[i]);
        pgh_snapshot__absent_truncate(s, m->table);
        pthread_mutex_lock(&s->lock);
        for (snap_chunk *ch = s->chunks; m->table >= 0 && ch; ch = ch->next)
            if (ch->table == m->table && ch->window_open)
                ch->truncated = true; /* deliver_rows drops the whole chunk */
        pthread_mutex_unlock(&s->lock);
    }
}

static const pgh_relation *rel_of(const pgh_change *c)
{
    switch (c->kind) {
    case PGH_CHANGE_INSERT:
        return c->u.insert.rel;
    case PGH_CHANGE_UPDATE:
        return c->u.update.rel;
    default:
        return c->u.del.rel;
    }
}

static int on_row_change(snapshot *s, const pgh_change *c, pgh_error *err)
{
    const snap_keymap *m = keymap(s, rel_of(c));
    if (m->table < 0)
        return pgh_pipeline__deliver(s->r, c, err);
    record_change(s, m, c);
    return pgh_snapshot__row(s, m, c, err);
}

int pgh_snapshot__handle_changes(pipe_run *r, const pgh_change *c, pgh_error *err)
{
    snapshot *s = r->snap;
    if (c->kind == PGH_CHANGE_BEGIN) {
        s->txn_lsn = c->u.begin.final_lsn;
        s->txn_xid = c->u.begin.xid;
    }
    if (c->kind == PGH_CHANGE_RELATION)
        forget_relation(s, c->u.relation.rel->oid);
    if (c->kind == PGH_CHANGE_TRUNCATE)
        for (uint32_t i = 0; i < c->u.truncate.nrels; i++)
            pgh_snapshot__absent_truncate(s, keymap(s, c->u.truncate.rels[i])->table);
    if (c->kind == PGH_CHANGE_INSERT || c->kind == PGH_CHANGE_UPDATE ||
        c->kind == PGH_CHANGE_DELETE) {
        const snap_keymap *m = keymap(s, rel_of(c));
        if (m->table >= 0)
            return pgh_snapshot__row(s, m, c, err);
    }
    return pgh_pipeline__deliver(r, c, err);
}

int pgh_snapshot__handle(pipe_run *r, const pgh_change *c, pgh_error *err)
{
    snapshot *s = r->snap;
    pthread_mutex_lock(&s->lock);
    int failed = s->worker_err.code;
    if (failed)
        *err = s->worker_err;
    pthread_mutex_unlock(&s->lock);
    if (failed)
        return failed;
    switch (c->kind) {
    case PGH_CHANGE_BEGIN:
        s->txn_lsn = c->u.begin.final_lsn;
        s->txn_xid = c->u.begin.xid;
        break;
    case PGH_CHANGE_MESSAGE:
        if (pgh_pipeline__is_message(c, PGH_SNAPSHOT_PREFIX))
            return on_message(s, c, err);
        break;
    case PGH_CHANGE_RELATION:
        forget_relation(s, c->u.relation.rel->oid);
        break;
    case PGH_CHANGE_INSERT:
    case PGH_CHANGE_UPDATE:
    case PGH_CHANGE_DELETE:
        return on_row_change(s, c, err);
    case PGH_CHANGE_TRUNCATE:
        record_truncate(s, c);
        break;
    default:
        break;
    }
    return pgh_pipeline__deliver(r, c, err);
}

/* ---- requests from outside -------------------------------------------------------------- */

static bool configured(const pgh_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->ntables; i++) {
        const pgh_table_map *m = &cfg->tables[i];
        size_t ls = strlen(m->source_schema);
        if (strncmp(name, m->source_schema, ls) == 0 && name[ls] == '.' &&
            strcmp(name + ls + 1, m->source_table) == 0)
            return true;
    }
    return false;
}

int pgh_pipeline_request_reload(const pgh_config *cfg, const char *const *tables, int n,
                                pgh_error *err)
{
    for (int i = 0; i < n; i++)
        if (!configured(cfg, tables[i]))
            return pgh_error_set(err, PGH_ECONFIG,
                                 "%s is not one of the configured tables of slot %s: name it as "
                                 "schema.table, as the source names it",
                                 tables[i], cfg->slot_name);
    PGconn *conn = NULL;
    int rc = pgh_conn_open(&conn, cfg->source_connection, PGH_CONN_SQL, "source", "pghost",
                           err);
    for (int i = 0; rc == 0 && i < n; i++) {
        char content[512];
        snprintf(content, sizeof(content), "%s reload %s", cfg->slot_name, tables[i]);
        const char *params[2] = {PGH_SNAPSHOT_PREFIX, content};
        PGresult *res = NULL;
        rc = pgh_conn_query(&res, conn,
                            "SELECT pg_catalog.pg_logical_emit_message(true, $1, $2)", 2, params,
                            err);
        PQclear(res);
    }
    PQfinish(conn);
    return rc;
}
