/*
 * Keys whose rows the destination never got: an INSERT lacking unchanged TOAST values whose
 * row the source no longer had when it was read again (snapshot_reread.c says why this ends
 * equal). The row's departure from the key is still to come in the stream, before the
 * horizon; until then the key is kept here, and the departure is applied to a row that is not
 * there. Few at any time (rows that entered a publication's filter and left their key again
 * within one re-read's delay), so a small array searched in full.
 */
#include <stdlib.h>
#include <string.h>

#include "snapshot.h"

/* The entry of tup's key in m's table, or -1. */
static int find(snapshot *s, const snap_keymap *m, const pgh_tuple *tup)
{
    pgh_buf key;
    pgh_buf_init(&key, 1 << 20);
    int found = -1;
    if (pgh_snapshot__tuple_key(&key, m, tup)) {
        for (int i = 0; i < s->nabsent && found < 0; i++)
            if (s->absent[i].table == m->table && s->absent[i].len == key.len &&
                memcmp(s->absent[i].key, key.data, key.len) == 0)
                found = i;
    }
    pgh_buf_dispose(&key);
    return found;
}

static void drop(snapshot *s, int i)
{
    free(s->absent[i].key);
    s->absent[i] = s->absent[--s->nabsent];
}

int pgh_snapshot__absent_add(snapshot *s, const snap_keymap *m, const pgh_tuple *tup,
                             pgh_error *err)
{
    if (find(s, m, tup) >= 0)
        return 0;
    pgh_buf key;
    pgh_buf_init(&key, 1 << 20);
    if (!pgh_snapshot__tuple_key(&key, m, tup)) {
        pgh_buf_dispose(&key);
        return pgh_error_set(err, PGH_EPROTO, "%s.%s: an INSERT without its key's values",
                             s->tables[m->table].info->schema, s->tables[m->table].info->name);
    }
    if (s->nabsent == s->absent_cap) {
        int cap = s->absent_cap ? s->absent_cap * 2 : 8;
        snap_absent *a = realloc(s->absent, (size_t)cap * sizeof(*a));
        if (a == NULL) {
            pgh_buf_dispose(&key);
            return pgh_error_set(err, PGH_ENOMEM, "out of memory");
        }
        s->absent = a;
        s->absent_cap = cap;
    }
    snap_absent *e = &s->absent[s->nabsent];
    e->table = m->table;
    e->len = key.len;
    e->key = pgh_buf_take(&key);
    if (e->key == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    s->nabsent++;
    return 0;
}

/* The row of an UPDATE of an absent key, whole: delivered as an INSERT (the destination has
 * nothing to update); read again when it lacks values, and absent at its new key when the
 * source has no row there either. */
static int arrive(snapshot *s, const snap_keymap *m, const pgh_change *c, pgh_error *err)
{
    const pgh_tuple *nt = &c->u.update.newtup;
    if (!pgh_snapshot__lacks_values(nt)) {
        pgh_change ins = {.kind = PGH_CHANGE_INSERT, .wal_start = c->wal_start};
        ins.u.insert.rel = c->u.update.rel;
        ins.u.insert.newtup = *nt;
        return pgh_pipeline__deliver(s->r, &ins, err);
    }
    PGresult *row = NULL;
    int rc = pgh_snapshot__reread(&row, s, m, c->u.update.rel, nt, err);
    if (rc == 0 && row)
        rc = pgh_snapshot__deliver_whole(s, c, PGH_CHANGE_INSERT, row, err);
    else if (rc == 0)
        rc = pgh_snapshot__absent_add(s, m, nt, err);
    PQclear(row);
    return rc;
}

int pgh_snapshot__absent_change(bool *handled, snapshot *s, const snap_keymap *m,
                                const pgh_change *c, pgh_error *err)
{
    *handled = false;
    const pgh_tuple *at = c->kind == PGH_CHANGE_INSERT   ? &c->u.insert.newtup
                          : c->kind == PGH_CHANGE_DELETE ? &c->u.del.oldtup
                          : c->u.update.old_kind         ? &c->u.update.oldtup
                                                         : &c->u.update.newtup;
    int i = find(s, m, at);
    if (i < 0)
        return 0;
    drop(s, i);
    if (c->kind == PGH_CHANGE_INSERT) /* a row at the key again: it takes its usual way */
        return 0;
    *handled = true;
    if (c->kind == PGH_CHANGE_DELETE) /* the destination never got the row */
        return 0;
    return arrive(s, m, c, err);
}

void pgh_snapshot__absent_truncate(snapshot *s, int table)
{
    for (int i = s->nabsent - 1; i >= 0; i--)
        if (s->absent[i].table == table)
            drop(s, i);
}

void pgh_snapshot__absent_dispose(snapshot *s)
{
    while (s->nabsent > 0)
        drop(s, s->nabsent - 1);
    free(s->absent);
    s->absent = NULL;
    s->absent_cap = 0;
}
