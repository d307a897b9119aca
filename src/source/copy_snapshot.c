/*
 * The copy of tables without a key (source/keyless.c): all of them in one transaction on the
 * source, in the snapshot the slot exported at its consistent point, each table one COPY (text
 * format) into the destination's copy session, committed there in one transaction at the end.
 *
 * Such a table's rows cannot be told apart, so the copy must hold exactly the rows of the
 * slot's consistent point: every change the stream replays after it then applies exactly once
 * (docs/sync.md). The transaction holds the source's xmin for its whole duration.
 */
#include "source/copy_snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "copy_internal.h"
#include "pg/conn.h"
#include "pg/sql.h"

typedef struct snap_copy {
    const pgh_copy_snapshot_opts *o; /* borrowed */
    PGconn *src;                     /* owned */
    void *session;                   /* owned: the destination's copy session */
    pgh_buf sql;                     /* owned */
} snap_copy;

static bool canceled(const snap_copy *s)
{
    return s->o->cancel && atomic_load(s->o->cancel);
}

/* REPEATABLE READ, read only, in the exported snapshot (quoted: it is the server's text). */
static int import(snap_copy *s, pgh_error *err)
{
    int rc = pgh_conn_exec(s->src, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err);
    char *lit = rc == 0 ? pgh_conn_literal(s->src, s->o->snapshot, strlen(s->o->snapshot)) : NULL;
    if (rc == 0 && lit == NULL)
        rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
    if (rc == 0) {
        pgh_buf_reset(&s->sql);
        pgh_buf_printf(&s->sql, "SET TRANSACTION SNAPSHOT %s", lit);
        rc = pgh_conn_exec(s->src, pgh_buf_str(&s->sql), err);
        if (rc != 0)
            pgh_error_prefix(err, "taking the snapshot %s of the slot", s->o->snapshot);
    }
    free(lit);
    return rc;
}

/* Lock every table at once, right after the import (ACCESS SHARE, what the COPY takes anyway):
 * a TRUNCATE is not MVCC-safe, and one committed before a table's COPY (while an earlier table
 * is copied) would show that table empty to the snapshot. Then make sure none was truncated or
 * rewritten between the slot's creation and the lock: the file the snapshot's catalog names
 * must still be the table's. */
static int lock_tables(snap_copy *s, const pgh_copy_table *tables, int n, pgh_error *err)
{
    pgh_buf_reset(&s->sql);
    pgh_buf_puts(&s->sql, "LOCK TABLE ONLY ");
    for (int i = 0; i < n; i++)
        pgh_buf_printf(&s->sql, "%s%s", i ? ", " : "", tables[i].src->qualified);
    pgh_buf_puts(&s->sql, " IN ACCESS SHARE MODE");
    int rc = pgh_buf_failed(&s->sql) ? pgh_error_set(err, PGH_ENOMEM, "out of memory")
                                     : pgh_conn_exec(s->src, pgh_buf_str(&s->sql), err);
    for (int i = 0; rc == 0 && i < n; i++) {
        char oid[16], same[8];
        snprintf(oid, sizeof(oid), "%u", tables[i].src->oid);
        const char *params[1] = {oid};
        rc = pgh_pg_query_text(same, sizeof(same), s->src,
                               "SELECT c.relfilenode = pg_catalog.pg_relation_filenode(c.oid) "
                               "FROM pg_catalog.pg_class c WHERE c.oid = $1::oid",
                               1, params, err);
        if (rc == 0 && strcmp(same, "t") != 0)
            rc = pgh_error_set(err, PGH_EPRECOND,
                               "source table %s.%s was truncated or rewritten (TRUNCATE, VACUUM "
                               "FULL, CLUSTER, a rewriting ALTER TABLE) just after the slot was "
                               "created, so its rows as of the slot's start cannot be read; run "
                               "pghost teardown, then start over",
                               tables[i].src->schema, tables[i].src->name);
    }
    return rc;
}

/* The source's COPY OUT into the destination's COPY IN: in text format every CopyData message
 * is one row. */
static int pump(snap_copy *s, pgh_copy_table *t, pgh_error *err)
{
    for (;;) {
        if (canceled(s))
            return pgh_error_set(err, PGH_ECANCELED, "copy canceled");
        char *buf = NULL;
        int n = PQgetCopyData(s->src, &buf, 0);
        if (n == -1)
            return pgh_conn_drain(s->src, err, "copying from the source");
        if (n < 0)
            return pgh_conn_error(err, s->src, NULL, "reading COPY data from the source");
        int rc = s->o->keyed->copy_data(s->session, buf, (size_t)n, false, false, err);
        PQfreemem(buf);
        if (rc != 0)
            return rc;
        atomic_fetch_add(&t->rows, 1);
        atomic_fetch_add(&t->bytes, (uint64_t)n);
    }
}

static int copy_one(snap_copy *s, int unit, pgh_copy_table *t, pgh_error *err)
{
    pgh_copy_target target = {.unit = unit,
                              .table = t->table,
                              .source_schema = t->src->schema,
                              .source_name = t->src->name,
                              .columns = t->columns,
                              .ncolumns = t->ncolumns,
                              .binary = false};
    int rc = s->o->keyed->copy_table(s->session, &target, err);
    if (rc != 0)
        return rc;
    t->format = PGH_COPY_TEXT;
    pgh_copy__batch_sql(&s->sql, s->src, t, NULL, NULL, NULL, 0);
    if (pgh_buf_failed(&s->sql) || PQsendQuery(s->src, pgh_buf_str(&s->sql)) != 1)
        return pgh_conn_error(err, s->src, NULL, "starting COPY on the source");
    PGresult *res = PQgetResult(s->src);
    if (PQresultStatus(res) != PGRES_COPY_OUT) {
        rc = pgh_conn_error(err, s->src, res, "starting COPY on the source");
        PQclear(res);
        pgh_conn_drain(s->src, NULL, "");
        return rc;
    }
    PQclear(res);
    atomic_store(&t->ranges_total, 1);
    rc = pump(s, t, err);
    if (rc == 0)
        atomic_store(&t->ranges_done, 1);
    return rc;
}

static int run(snap_copy *s, pgh_copy_table *tables, int n, pgh_error *err)
{
    const pgh_copy_snapshot_opts *o = s->o;
    int rc = pgh_conn_open(&s->src, o->source_conninfo, PGH_CONN_SQL, "source", o->app_name, err);
    if (rc == 0)
        rc = import(s, err);
    if (rc == 0 && o->imported)
        o->imported(o->payload);
    if (rc == 0)
        rc = lock_tables(s, tables, n, err);
    if (rc == 0)
        rc = o->keyed->copy_open(o->user, &s->session, false, err);
    for (int i = 0; rc == 0 && i < n; i++) {
        rc = copy_one(s, o->first_unit + i, &tables[i], err);
        if (rc != 0 && strncmp(err->message, "copy of ", 8) != 0)
            pgh_error_prefix(err, "copy of %s.%s", tables[i].src->schema, tables[i].src->name);
    }
    if (rc == 0)
        rc = o->keyed->copy_finish(s->session, err);
    if (rc == 0)
        rc = pgh_conn_exec(s->src, "COMMIT", err);
    if (rc != 0 && s->session)
        o->keyed->copy_abort(s->session, "pghost: copy abandoned");
    return rc;
}

int pgh_copy_snapshot_run(pgh_copy_table *tables, int n, const pgh_copy_snapshot_opts *opts,
                          pgh_error *err)
{
    if (n == 0)
        return 0;
    snap_copy s = {.o = opts};
    pgh_buf_init(&s.sql, 1 << 20);
    int rc = run(&s, tables, n, err);
    if (s.session)
        opts->keyed->copy_close(s.session);
    pgh_buf_dispose(&s.sql);
    PQfinish(s.src); /* after a failure its transaction rolls back */
    return rc;
}
