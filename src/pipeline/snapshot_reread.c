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
 * stream.
 *
 * The rules need the same read (rules_dest.c): an UPDATE that moves a row into a filter becomes
 * an INSERT of the whole row, and when its old row was not sent whole (a key-changing UPDATE
 * under the default replica identity) only the source has its unchanged TOAST values. Such an
 * update is read again whenever it comes, and moves the horizon like any other. A read that
 * finds no row by the new key (the row was deleted or moved on since) is followed by the
 * change that did it, in a transaction before the horizon: a move is read again at its key.
 */
#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"
#include "pg/sql.h"
#include "pghost/log.h"
#include "snapshot.h"

int pgh_snapshot__horizon_now(snapshot *s, pgh_error *err)
{
    char lsn[32];
    int rc = pgh_pg_query_text(lsn, sizeof(lsn), s->reread,
                               "SELECT pg_catalog.pg_current_wal_insert_lsn()::text", 0, NULL,
                               err);
    pgh_lsn at = 0;
    if (rc == 0 && pgh_lsn_parse(&at, lsn) == 0 && at > s->horizon)
        s->horizon = at;
    return rc;
}

static bool lacks_values(const pgh_tuple *t)
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

/* SELECT <WAL insert position>, <the relation's columns> FROM t WHERE pk = key, the key taken
 * from the new tuple; false (nothing read) when a key value was not sent. */
static int read_row(PGresult **out, snapshot *s, const snap_keymap *m, const pgh_change *c,
                    pgh_error *err)
{
    const pgh_relation *rel = c->u.update.rel;
    const pgh_tuple *nt = &c->u.update.newtup;
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

/* Deliver c with the re-read row as its new tuple. */
static int deliver_whole(snapshot *s, const pgh_change *c, PGresult *row, pgh_error *err)
{
    int ncols = c->u.update.rel->ncols;
    pgh_value *v = calloc((size_t)ncols + 1, sizeof(*v));
    if (v == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    for (int a = 0; a < ncols; a++) {
        bool null = PQgetisnull(row, 0, a + 1);
        v[a] = (pgh_value){.kind = null ? PGH_VALUE_NULL : PGH_VALUE_TEXT,
                           .len = null ? 0 : (uint32_t)PQgetlength(row, 0, a + 1),
                           .data = null ? NULL : PQgetvalue(row, 0, a + 1)};
    }
    pgh_change whole = *c;
    whole.u.update.newtup = (pgh_tuple){.natts = (uint16_t)ncols, .values = v};
    int rc = pgh_pipeline__deliver(s->r, &whole, err);
    free(v);
    return rc;
}

int pgh_snapshot__update(snapshot *s, const snap_keymap *m, const pgh_change *c, pgh_error *err)
{
    const snap_table *t = &s->tables[m->table];
    bool needed = lacks_values(&c->u.update.newtup) &&
                  (t->state == SNAP_BEGUN || s->txn_lsn < s->horizon);
    int rc = needed ? 0 : pgh_pipeline__rules_enters(&needed, s->r, c, err);
    if (rc != 0 || !needed)
        return rc != 0 ? rc : pgh_pipeline__deliver(s->r, c, err);
    PGresult *row = NULL;
    rc = reread_conn(s, err);
    if (rc == 0)
        rc = read_row(&row, s, m, c, err);
    if (rc == 0 && row && PQntuples(row) == 1) {
        pgh_lsn at = 0;
        if (pgh_lsn_parse(&at, PQgetvalue(row, 0, 0)) == 0 && at > s->horizon)
            s->horizon = at;
        rc = deliver_whole(s, c, row, err);
    } else if (rc == 0) {
        rc = pgh_pipeline__deliver(s->r, c, err); /* gone since: its removal follows */
    }
    PQclear(row);
    return rc;
}

bool pgh_snapshot__rereading(const snapshot *s)
{
    return s->txn_lsn < s->horizon;
}
