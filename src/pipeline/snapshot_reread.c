/*
 * Updates whose new row lacks unchanged TOAST values, read again whole (snapshot.h).
 *
 * While a table's rows are being delivered, the destination may not hold the row such an
 * update refers to: its chunk may come later, or may have been dropped because of this very
 * update, or the update may move the row from a key not delivered yet to one delivered
 * already. So the row is read from the source by its new key and delivered with every column.
 * That row is as of the read, ahead of the stream, until the stream reaches the source's WAL
 * position at the read (the horizon): changes in between come again and overwrite it, which
 * ends right only if none of them takes values from it either. Hence the rule: while a table
 * is delivered, and for every transaction that commits before the horizon, such updates are
 * read again. A row the source no longer has is delivered as sent: its removal follows in the
 * stream (before the horizon, which such a read moves too).
 *
 * The rules need the same read (rules_dest.c): an UPDATE that moves a row into a filter becomes
 * an INSERT of the whole row, and when its old row was not sent whole (a key-changing UPDATE
 * under the default replica identity) only the source has its unchanged TOAST values. Such an
 * update is read again whenever it comes, and moves the horizon like any other. A read that
 * finds no row by the new key (the row was deleted or moved on since) is followed by the
 * change that did it, in a transaction before the horizon: a move is read again at its key.
 *
 * PostgreSQL 15's own row filters do the same to a key-changing UPDATE that moves a row into a
 * publication's filter: pgoutput sends an INSERT, and when the old tuple was the key only (not
 * REPLICA IDENTITY FULL) the TOASTed values the UPDATE left alone are marked unchanged ('u') in
 * that INSERT. No destination holds them: the row was outside the filter. Such an INSERT is
 * read again whole by its key, whenever it comes (catch-up, following, event destinations), and
 * moves the horizon. Why that ends equal (docs/sync.md, "Row filters and column lists"): the
 * row read is the source's at the read, T, after the INSERT's commit C. Every change to that
 * key between C and T is in the stream after the INSERT and before the horizon, and each either
 * carries whole values (last write wins, column by column, as for any copy batch) or lacks some
 * and is itself read again whole, so no change takes values from a row read ahead of it. When
 * the row read is a later occupant of the key (this row left and another came before T), the
 * stream still holds this row's departure (a DELETE, or an UPDATE moving it away, read again
 * whole) before the occupant's arrival, so the occupant's row is removed or moved on with
 * whole values before it arrives again: one row per key at each step, as strict following
 * needs. When the source has no row at the key at T, the row's departure is before T in the
 * stream, and the destination may or may not hold the row (s->missing):
 *   - an event destination (SNAP_MISSING_DROP): nothing is delivered. The departure comes as
 *     it is, applied by key to whatever the consumer has (a chunk may have carried the row);
 *     the PostgreSQL destination takes it by its lenient rules (the phase is "snapshot" until
 *     the stream passes the horizon).
 *   - a keyed destination's catch-up (SNAP_MISSING_RECOPY): the INSERT goes on as it came, and
 *     the destination records its key for a copy again at the checkpoint (pghost/keyed.h), as
 *     for a key move with unchanged values: a copy batch may have given it the row, and the
 *     copy again replaces whatever it holds with the source's row after the departure; the
 *     replay to the new checkpoint covers that departure (it precedes T, which precedes that
 *     copy). So no row of the catch-up's own reads is missing when strict following starts.
 *   - strict following (SNAP_MISSING_ABSENT): the destination holds exactly the stream's rows,
 *     so it never got this one: nothing is delivered, the key is kept as absent
 *     (snapshot_absent.c) until the departure comes, which is then applied to a row that is not
 *     there: a DELETE is dropped, an UPDATE moving it away is delivered as an INSERT of its
 *     whole new row (read again when it lacks values; still absent at its new key when the
 *     source has no row there either).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"
#include "pg/sql.h"
#include "pghost/log.h"
#include "snapshot.h"
#include "util/clock.h"

#define REREAD_WAIT_MAX_MS 20

bool pgh_snapshot__lacks_values(const pgh_tuple *t)
{
    for (int i = 0; i < t->natts; i++)
        if (t->values[i].kind == PGH_VALUE_UNCHANGED)
            return true;
    return false;
}

static void put_ident(pgh_buf *b, PGconn *conn, const char *name, const char *before)
{
    char *q = pgh_conn_ident(conn, name);
    if (q == NULL) {
        b->failed = true;
        return;
    }
    pgh_buf_printf(b, "%s%s", before, q);
    free(q);
}

/* The re-read session, opened again when it was lost: a reconnect of the run's other sessions
 * does not reach it. */
static int reread_conn(snapshot *s, pgh_error *err)
{
    if (PQstatus(s->reread) == CONNECTION_OK)
        return 0;
    PQfinish(s->reread);
    s->reread = NULL;
    return pgh_conn_open(&s->reread, s->r->cfg->source_connection, PGH_CONN_SQL, "source",
                         "pghost snapshot", err);
}

int pgh_snapshot__horizon_now(snapshot *s, pgh_error *err)
{
    char lsn[32];
    int rc = reread_conn(s, err);
    if (rc != 0)
        return rc;
    rc = pgh_pg_query_text(lsn, sizeof(lsn), s->reread,
                           "SELECT pg_catalog.pg_current_wal_insert_lsn()::text", 0, NULL, err);
    pgh_lsn at = 0;
    if (rc == 0 && pgh_lsn_parse(&at, lsn) == 0 && at > s->horizon)
        s->horizon = at;
    return rc;
}

/* SELECT <WAL insert position>, <the relation's columns> FROM t WHERE pk = key, the key taken
 * from tup; nothing read (*out NULL) when a key value was not sent. */
static int read_row(PGresult **out, snapshot *s, const snap_keymap *m, const pgh_relation *rel,
                    const pgh_tuple *nt, pgh_error *err)
{
    const snap_table *t = &s->tables[m->table];
    const char *values[32];
    Oid types[32];
    *out = NULL;
    for (int k = 0; k < m->nkeys; k++) {
        int a = m->att[k];
        if (a < 0 || a >= nt->natts || nt->values[a].kind != PGH_VALUE_TEXT)
            return 0;
    }
    pgh_buf sql;
    pgh_buf_init(&sql, 1 << 20);
    pgh_buf_puts(&sql, "SELECT pg_catalog.pg_current_wal_insert_lsn()::text");
    for (int a = 0; a < rel->ncols; a++)
        put_ident(&sql, s->reread, rel->cols[a].name, ", ");
    pgh_buf_printf(&sql, " FROM %s%s WHERE ", pgh_pg_only(t->info), t->info->qualified);
    char *copies[32] = {0};
    for (int k = 0; k < m->nkeys; k++) {
        const pgh_value *v = &nt->values[m->att[k]];
        copies[k] = strndup(v->data, v->len);
        values[k] = copies[k];
        types[k] = rel->cols[m->att[k]].type_oid;
        put_ident(&sql, s->reread, rel->cols[m->att[k]].name, k ? " AND " : "");
        pgh_buf_printf(&sql, " = $%d", k + 1);
    }
    int rc = 0;
    for (int k = 0; k < m->nkeys; k++)
        if (copies[k] == NULL)
            rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
    PGresult *res = NULL;
    if (rc == 0 && pgh_buf_failed(&sql))
        rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
    if (rc == 0) {
        res = PQexecParams(s->reread, pgh_buf_str(&sql), m->nkeys, types, values, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK)
            rc = pgh_conn_error(err, s->reread, res, "reading a row again");
    }
    for (int k = 0; k < m->nkeys; k++)
        free(copies[k]);
    pgh_buf_dispose(&sql);
    if (rc != 0) {
        PQclear(res);
        return rc;
    }
    *out = res;
    return 0;
}

/* Wait until the transaction being read is visible to a new snapshot on the source. Its
 * commit record reaching the stream is not enough: the committing session leaves the set of
 * running transactions (which snapshots go by) a moment later, and a read in between sees the
 * row as it was before (seen under load: an UPDATE's row read back with its old values); with a
 * synchronous standby the commit waits for it in between. Asked as catchup_visible.c does
 * (pg_visible_in_snapshot, which also covers a COMMIT PREPARED that no backend holds), the
 * stream's 32-bit xid widened against the snapshot's xmax: in-flight xids lie within 2^31 of it. */
static int wait_visible(snapshot *s, pgh_error *err)
{
    if (s->txn_xid == 0)
        return 0;
    char xid[16];
    snprintf(xid, sizeof(xid), "%u", s->txn_xid);
    const char *params[1] = {xid};
    int rc = 0;
    for (int ms = 1; rc == 0; ms = ms * 2 > REREAD_WAIT_MAX_MS ? REREAD_WAIT_MAX_MS : ms * 2) {
        char running[8];
        rc = pgh_pg_query_text(running, sizeof(running), s->reread,
                               "SELECT NOT pg_catalog.pg_visible_in_snapshot((x.xmax + "
                               "(($1::bigint - x.xmax % 4294967296 + 6442450944) % 4294967296)"
                               " - 2147483648)::text::xid8, x.snap) "
                               "FROM (SELECT s AS snap, pg_catalog.pg_snapshot_xmax(s)::text::"
                               "bigint AS xmax FROM pg_catalog.pg_current_snapshot() s) x",
                               1, params, err);
        if (rc != 0 || strcmp(running, "f") == 0)
            return rc;
        pgh_sleep_ms(ms);
    }
    return rc;
}

int pgh_snapshot__reread(PGresult **out, snapshot *s, const snap_keymap *m, const pgh_relation *rel,
                         const pgh_tuple *tup, pgh_error *err)
{
    *out = NULL;
    PGresult *row = NULL;
    int rc = reread_conn(s, err);
    if (rc == 0)
        rc = wait_visible(s, err);
    if (rc == 0)
        rc = read_row(&row, s, m, rel, tup, err);
    if (rc == 0 && row && PQntuples(row) == 1) {
        pgh_lsn at = 0;
        if (pgh_lsn_parse(&at, PQgetvalue(row, 0, 0)) == 0 && at > s->horizon)
            s->horizon = at;
        *out = row;
        return 0;
    }
    PQclear(row);
    /* Not there: the change that removed it is in the stream before the source's position
     * now, and must be read again too when it lacks values. */
    return rc == 0 ? pgh_snapshot__horizon_now(s, err) : rc;
}

int pgh_snapshot__deliver_whole(snapshot *s, const pgh_change *c, pgh_change_kind as, PGresult *row,
                                pgh_error *err)
{
    const pgh_relation *rel = c->kind == PGH_CHANGE_INSERT ? c->u.insert.rel : c->u.update.rel;
    int ncols = rel->ncols;
    pgh_value *v = calloc((size_t)ncols + 1, sizeof(*v));
    if (v == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    for (int a = 0; a < ncols; a++) {
        bool null = PQgetisnull(row, 0, a + 1);
        v[a] = (pgh_value){.kind = null ? PGH_VALUE_NULL : PGH_VALUE_TEXT,
                           .len = null ? 0 : (uint32_t)PQgetlength(row, 0, a + 1),
                           .data = null ? NULL : PQgetvalue(row, 0, a + 1)};
    }
    pgh_tuple whole_tup = {.natts = (uint16_t)ncols, .values = v};
    pgh_change whole = *c;
    if (as == PGH_CHANGE_INSERT) {
        whole.kind = PGH_CHANGE_INSERT;
        whole.u.insert.rel = rel;
        whole.u.insert.newtup = whole_tup;
    } else {
        whole.u.update.newtup = whole_tup;
    }
    int rc = pgh_pipeline__deliver(s->r, &whole, err);
    free(v);
    return rc;
}

bool pgh_snapshot__rereading(const snapshot *s)
{
    return s->txn_lsn < s->horizon;
}
