/*
 * Where a row change of a table being followed goes on the event path (snapshot.h): to a key
 * the destination never got (snapshot_absent.c), read again whole when it lacks unchanged TOAST
 * values and must carry them (snapshot_reread.c says when and why that ends equal), or
 * delivered as sent.
 */
#include "pghost/log.h"
#include "snapshot.h"

int pgh_snapshot__update(snapshot *s, const snap_keymap *m, const pgh_change *c, pgh_error *err)
{
    const snap_table *t = &s->tables[m->table];
    bool needed = pgh_snapshot__lacks_values(&c->u.update.newtup) &&
                  (t->state == SNAP_BEGUN || s->txn_lsn < s->horizon);
    int rc = needed ? 0 : pgh_pipeline__rules_enters(&needed, s->r, c, err);
    if (rc != 0 || !needed)
        return rc != 0 ? rc : pgh_pipeline__deliver(s->r, c, err);
    PGresult *row = NULL;
    rc = pgh_snapshot__reread(&row, s, m, c->u.update.rel, &c->u.update.newtup, err);
    if (rc == 0 && row)
        rc = pgh_snapshot__deliver_whole(s, c, PGH_CHANGE_UPDATE, row, err);
    else if (rc == 0)
        rc = pgh_pipeline__deliver(s->r, c, err); /* gone since: its removal follows */
    PQclear(row);
    return rc;
}

/* An INSERT lacking unchanged TOAST values (a row filter's INSERT: see the top): the row read
 * again whole, or, gone since, nothing delivered and its key absent until its departure. */
static int insert_lacking(snapshot *s, const snap_keymap *m, const pgh_change *c, pgh_error *err)
{
    PGresult *row = NULL;
    int rc = pgh_snapshot__reread(&row, s, m, c->u.insert.rel, &c->u.insert.newtup, err);
    if (rc == 0)
        pgh_log_at(PGH_LOG_DEBUG, "stream", s->tables[m->table].info->qualified, c->wal_start,
                   "an INSERT without its unchanged TOAST values: %s",
                   row ? "read again whole from the source"
                       : "no longer on the source, held back until its row leaves the key");
    if (rc == 0 && row)
        rc = pgh_snapshot__deliver_whole(s, c, PGH_CHANGE_INSERT, row, err);
    else if (rc == 0 && s->missing == SNAP_MISSING_RECOPY)
        rc = pgh_pipeline__deliver(s->r, c, err);
    else if (rc == 0 && s->missing == SNAP_MISSING_ABSENT)
        rc = pgh_snapshot__absent_add(s, m, &c->u.insert.newtup, err);
    PQclear(row);
    if (rc == PGH_ECONN)
        pgh_error_prefix(err, "reading a row again for an INSERT without its TOASTed values");
    return rc;
}

int pgh_snapshot__row(snapshot *s, const snap_keymap *m, const pgh_change *c, pgh_error *err)
{
    bool handled = false;
    int rc = s->nabsent > 0 && s->missing == SNAP_MISSING_ABSENT
                 ? pgh_snapshot__absent_change(&handled, s, m, c, err)
                 : 0;
    if (rc != 0 || handled)
        return rc;
    if (c->kind == PGH_CHANGE_INSERT && pgh_snapshot__lacks_values(&c->u.insert.newtup))
        return insert_lacking(s, m, c, err);
    if (c->kind == PGH_CHANGE_UPDATE)
        return pgh_snapshot__update(s, m, c, err);
    return pgh_pipeline__deliver(s->r, c, err);
}
