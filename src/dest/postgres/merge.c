/*
 * Merging of row changes inside one grouped destination transaction: see merge.h.
 *
 * One entry per (relation, key spelling), found through an open-addressing table of entry
 * indexes. An entry holds its net state and one row: for INSERT and DELETE_INSERT the whole
 * row, for UPDATE the new values with unchanged TOAST markers where no change of the window set
 * the column, for DELETE the old tuple (its key columns are what counts). A row is one
 * allocation: the value array, then the bytes of the values.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "merge.h"

typedef enum merge_state {
    MERGE_NONE = 0,      /* inserted and deleted again: nothing to do */
    MERGE_INSERT,        /* not there before the window, there after */
    MERGE_UPDATE,        /* there before and after */
    MERGE_DELETE,        /* there before, not after */
    MERGE_DELETE_INSERT, /* there before, replaced by another row at the same key */
} merge_state;

struct merge_entry {
    apply_rel *rel; /* borrowed */
    uint64_t hash;
    merge_state state;
    pgh_tuple row; /* values owned (one block with their bytes); natts 0 when none */
    size_t bytes;
    pgh_lsn lsn; /* the last change taken */
};

void pgh_apply__merge_init(apply_merge *m)
{
    memset(m, 0, sizeof(*m));
}

static void reset(apply_merge *m)
{
    for (size_t i = 0; i < m->n; i++)
        free((void *)m->entries[i].row.values);
    m->n = 0;
    m->bytes = 0;
    m->changes = 0;
    if (m->slots)
        memset(m->slots, 0, m->nslots * sizeof(*m->slots));
}

void pgh_apply__merge_dispose(apply_merge *m)
{
    reset(m);
    free(m->entries);
    free(m->slots);
    memset(m, 0, sizeof(*m));
}

bool pgh_apply__merge_empty(const apply_merge *m)
{
    return m->n == 0;
}

bool pgh_apply__merge_has(const apply_merge *m, const apply_rel *r)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->entries[i].rel == r)
            return true;
    return false;
}

bool pgh_apply__merge_full(const apply_merge *m)
{
    return m->n >= PGH_MERGE_MAX_ENTRIES || m->bytes >= PGH_MERGE_MAX_BYTES;
}

/* ---- keys ------------------------------------------------------------------------------ */

static bool has_value(const pgh_value *v)
{
    return v->kind == PGH_VALUE_TEXT || v->kind == PGH_VALUE_BINARY;
}

/* FNV-1a over the relation and the key values' kinds and bytes; false when a key value is
 * missing (the change cannot be merged). */
static bool key_hash(uint64_t *out, const apply_rel *r, const pgh_tuple *t)
{
    uint64_t h = 1469598103934665603ull;
    uintptr_t rel = (uintptr_t)r;
    for (size_t i = 0; i < sizeof(rel); i++)
        h = (h ^ ((rel >> (8 * i)) & 0xff)) * 1099511628211ull;
    for (int k = 0; k < r->nkeys; k++) {
        if (r->key_att[k] >= t->natts || !has_value(&t->values[r->key_att[k]]))
            return false;
        const pgh_value *v = &t->values[r->key_att[k]];
        h = (h ^ (uint64_t)v->kind) * 1099511628211ull;
        for (uint32_t b = 0; b < v->len; b++)
            h = (h ^ (unsigned char)v->data[b]) * 1099511628211ull;
        h = (h ^ 0xff) * 1099511628211ull; /* end of value */
    }
    *out = h;
    return true;
}

static bool same_key(const apply_rel *r, const pgh_tuple *a, const pgh_tuple *b)
{
    for (int k = 0; k < r->nkeys; k++) {
        const pgh_value *x = &a->values[r->key_att[k]];
        const pgh_value *y = &b->values[r->key_att[k]];
        if (x->kind != y->kind || x->len != y->len || (x->len && memcmp(x->data, y->data, x->len)))
            return false;
    }
    return true;
}

static int grow_slots(apply_merge *m, pgh_error *err)
{
    size_t n = m->nslots ? m->nslots * 2 : 1024;
    size_t *slots = calloc(n, sizeof(*slots));
    if (slots == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    for (size_t i = 0; i < m->n; i++) {
        size_t s = (size_t)m->entries[i].hash & (n - 1);
        while (slots[s])
            s = (s + 1) & (n - 1);
        slots[s] = i + 1;
    }
    free(m->slots);
    m->slots = slots;
    m->nslots = n;
    return 0;
}

/* The entry of t's key in r, created (state MERGE_NONE, no row) when new. */
static int find_entry(merge_entry **out, apply_merge *m, apply_rel *r, const pgh_tuple *t,
                      uint64_t h, pgh_error *err)
{
    if ((m->n + 1) * 2 > m->nslots && grow_slots(m, err) != 0)
        return PGH_ENOMEM;
    size_t s = (size_t)h & (m->nslots - 1);
    for (; m->slots[s]; s = (s + 1) & (m->nslots - 1)) {
        merge_entry *e = &m->entries[m->slots[s] - 1];
        if (e->hash == h && e->rel == r && e->row.natts && same_key(r, &e->row, t)) {
            *out = e;
            return 0;
        }
    }
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 256;
        merge_entry *entries = realloc(m->entries, cap * sizeof(*entries));
        if (entries == NULL)
            return pgh_error_set(err, PGH_ENOMEM, "out of memory");
        m->entries = entries;
        m->cap = cap;
    }
    merge_entry *e = &m->entries[m->n];
    memset(e, 0, sizeof(*e));
    e->rel = r;
    e->hash = h;
    m->slots[s] = ++m->n;
    *out = e;
    return 0;
}

/* ---- rows ------------------------------------------------------------------------------ */

/* Value i of t, or base's when t's is an unchanged TOAST value and base has the column. */
static const pgh_value *pick(const pgh_tuple *t, const pgh_tuple *base, int i)
{
    if (t->values[i].kind == PGH_VALUE_UNCHANGED && base && i < base->natts)
        return &base->values[i];
    return &t->values[i];
}

/* Set e's row to t, each unchanged TOAST value of t taken from base when base has one (base
 * may be e's own row or NULL). */
static int set_row(apply_merge *m, merge_entry *e, const pgh_tuple *t, const pgh_tuple *base,
                   pgh_error *err)
{
    size_t bytes = (size_t)t->natts * sizeof(pgh_value);
    for (int i = 0; i < t->natts; i++)
        bytes += pick(t, base, i)->len;
    pgh_value *vals = malloc(bytes ? bytes : 1);
    if (vals == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    char *data = (char *)(vals + t->natts);
    for (int i = 0; i < t->natts; i++) {
        const pgh_value *v = pick(t, base, i);
        vals[i] = *v;
        if (v->len) {
            memcpy(data, v->data, v->len);
            vals[i].data = data;
            data += v->len;
        }
    }
    free((void *)e->row.values);
    m->bytes = m->bytes - e->bytes + bytes;
    e->row.values = vals;
    e->row.natts = t->natts;
    e->bytes = bytes;
    return 0;
}

static bool whole(const pgh_tuple *t)
{
    for (int i = 0; i < t->natts; i++)
        if (t->values[i].kind == PGH_VALUE_UNCHANGED)
            return false;
    return true;
}

/* ---- the state machine (merge.h) ----------------------------------------------------- */

static bool can_insert(const merge_entry *e)
{
    return e->state == MERGE_NONE || e->state == MERGE_DELETE;
}

static bool can_change(const merge_entry *e) /* an UPDATE or a DELETE of the row */
{
    return e->state != MERGE_DELETE && (e->state != MERGE_NONE || e->row.natts == 0);
}

static int take_insert(apply_merge *m, merge_entry *e, const pgh_tuple *t, pgh_error *err)
{
    e->state = e->state == MERGE_DELETE ? MERGE_DELETE_INSERT : MERGE_INSERT;
    return set_row(m, e, t, NULL, err);
}

static int take_update(apply_merge *m, merge_entry *e, const pgh_tuple *t, pgh_error *err)
{
    bool fresh = e->row.natts == 0;
    if (fresh)
        e->state = MERGE_UPDATE;
    return set_row(m, e, t, fresh ? NULL : &e->row, err);
}

static int take_delete(apply_merge *m, merge_entry *e, const pgh_tuple *old, pgh_error *err)
{
    if (e->state == MERGE_INSERT) {
        e->state = MERGE_NONE; /* the row keeps its key, for lookups */
        return 0;
    }
    e->state = MERGE_DELETE;
    return e->row.natts ? 0 : set_row(m, e, old, NULL, err);
}

/* Lookup of t's key; *e NULL (no error) when t lacks a key value. */
static int entry_of(merge_entry **e, apply_merge *m, apply_rel *r, const pgh_tuple *t,
                    pgh_error *err)
{
    uint64_t h = 0;
    *e = NULL;
    return key_hash(&h, r, t) ? find_entry(e, m, r, t, h, err) : 0;
}

static bool key_moved(const apply_rel *r, const pgh_change *c)
{
    return c->u.update.old_kind != 0 && !same_key(r, &c->u.update.oldtup, &c->u.update.newtup);
}

/* An UPDATE moving the key: DELETE at the old key, INSERT of the whole new row at the new. */
static int take_move(apply_merge *m, apply_rel *r, const pgh_change *c, bool *taken, pgh_error *err)
{
    merge_entry *from = NULL, *to = NULL;
    int rc = entry_of(&from, m, r, &c->u.update.oldtup, err);
    if (rc != 0 || from == NULL || !can_change(from))
        return rc;
    const pgh_tuple *newtup = &c->u.update.newtup;
    bool known = whole(newtup) || from->state == MERGE_INSERT || from->state == MERGE_DELETE_INSERT;
    if (!known)
        return 0;
    /* the new row, its unchanged values from the old key's row, before that entry changes */
    merge_entry tmp = {.rel = r};
    apply_merge scratch = {0};
    rc = set_row(&scratch, &tmp, newtup, &from->row, err);
    size_t from_at = (size_t)(from - m->entries); /* the lookup below may move the entries */
    if (rc == 0)
        rc = entry_of(&to, m, r, newtup, err);
    if (rc == 0 && to != NULL && can_insert(to)) {
        rc = take_delete(m, &m->entries[from_at], &c->u.update.oldtup, err);
        if (rc == 0)
            rc = take_insert(m, to, &tmp.row, err);
        *taken = rc == 0;
        m->entries[from_at].lsn = to->lsn = c->wal_start;
    }
    free((void *)tmp.row.values);
    return rc;
}

int pgh_apply__merge_add(apply_merge *m, apply_rel *r, const pgh_change *c, bool *taken,
                         pgh_error *err)
{
    *taken = false;
    merge_entry *e = NULL;
    int rc = 0;
    if (r->nkeys == 0)
        return 0;
    if (c->kind == PGH_CHANGE_INSERT) {
        if (!whole(&c->u.insert.newtup))
            return 0;
        rc = entry_of(&e, m, r, &c->u.insert.newtup, err);
        if (rc == 0 && e != NULL && can_insert(e) &&
            (rc = take_insert(m, e, &c->u.insert.newtup, err)) == 0)
            *taken = true;
    } else if (c->kind == PGH_CHANGE_UPDATE && key_moved(r, c)) {
        rc = take_move(m, r, c, taken, err);
    } else if (c->kind == PGH_CHANGE_UPDATE) {
        rc = entry_of(&e, m, r, &c->u.update.newtup, err);
        if (rc == 0 && e != NULL && can_change(e) &&
            (rc = take_update(m, e, &c->u.update.newtup, err)) == 0)
            *taken = true;
    } else if (c->kind == PGH_CHANGE_DELETE) {
        rc = entry_of(&e, m, r, &c->u.del.oldtup, err);
        if (rc == 0 && e != NULL && can_change(e) &&
            (rc = take_delete(m, e, &c->u.del.oldtup, err)) == 0)
            *taken = true;
    }
    if (*taken) {
        m->changes++;
        if (e != NULL) /* a key move set its two entries' */
            e->lsn = c->wal_start;
    }
    return rc;
}

/* ---- flush ----------------------------------------------------------------------------- */

#define MERGE_RUN 256 /* rows per multi-row statement at most */

/* Do a and b leave the same columns unchanged (one UPDATE shape)? */
static bool same_columns(const pgh_tuple *a, const pgh_tuple *b)
{
    if (a->natts != b->natts)
        return false;
    for (int i = 0; i < a->natts; i++)
        if ((a->values[i].kind == PGH_VALUE_UNCHANGED) !=
            (b->values[i].kind == PGH_VALUE_UNCHANGED))
            return false;
    return true;
}

/* The INSERTs of relation r from entry first on, in runs of whole rows. */
static int flush_inserts(apply_merge *m, size_t first, const merge_emit *emit, void *payload,
                         pgh_error *err)
{
    apply_rel *r = m->entries[first].rel;
    pgh_tuple run[MERGE_RUN];
    pgh_lsn lsn = 0;
    size_t n = 0;
    int rc = 0;
    for (size_t i = first; rc == 0 && i < m->n; i++) {
        merge_entry *e = &m->entries[i];
        if (e->rel != r || (e->state != MERGE_INSERT && e->state != MERGE_DELETE_INSERT))
            continue;
        if (n == 0)
            lsn = e->lsn;
        run[n++] = e->row;
        if (n == sizeof(run) / sizeof(run[0])) {
            rc = emit->insert(payload, r, run, n, lsn, err);
            n = 0;
        }
    }
    return rc == 0 && n ? emit->insert(payload, r, run, n, lsn, err) : rc;
}

/* Every statement of relation r, whose first entry is first. */
static int flush_rel(apply_merge *m, size_t first, const merge_emit *emit, void *payload,
                     pgh_error *err)
{
    apply_rel *r = m->entries[first].rel;
    int rc = 0;
    pgh_tuple run[MERGE_RUN];
    pgh_lsn lsn = 0;
    size_t n = 0;
    for (size_t i = first; rc == 0 && i < m->n; i++) {
        merge_entry *e = &m->entries[i];
        if (e->rel != r || e->state == MERGE_NONE || e->state == MERGE_INSERT)
            continue;
        bool joins =
            e->state == MERGE_UPDATE && n < MERGE_RUN && (n == 0 || same_columns(&run[0], &e->row));
        if (!joins && n) { /* the run so far goes first */
            rc = emit->update(payload, r, run, n, lsn, err);
            n = 0;
        }
        if (rc == 0 && e->state == MERGE_UPDATE) {
            if (n == 0)
                lsn = e->lsn;
            run[n++] = e->row;
        } else if (rc == 0) {
            rc = emit->del(payload, r, &e->row, e->lsn, err);
        }
    }
    if (rc == 0 && n)
        rc = emit->update(payload, r, run, n, lsn, err);
    return rc == 0 ? flush_inserts(m, first, emit, payload, err) : rc;
}

int pgh_apply__merge_flush(apply_merge *m, const merge_emit *emit, void *payload, pgh_error *err)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < m->n; i++) {
        apply_rel *r = m->entries[i].rel;
        if (r == NULL) /* its relation was flushed */
            continue;
        rc = flush_rel(m, i, emit, payload, err);
        for (size_t j = i; j < m->n; j++)
            if (m->entries[j].rel == r)
                m->entries[j].rel = NULL;
    }
    reset(m);
    return rc;
}
