/* The destination side of a copy worker: see copy_in.h. */
#include "dest/postgres/copy_in.h"

#include <stdlib.h>
#include <string.h>

#include "dest/postgres/copy_spool.h"
#include "dest/postgres/stage.h"
#include "pg/conn.h"
#include "state/state.h"
#include "util/buf.h"
#include "util/clock.h"

/* Binary COPY: signature, int32 flags, int32 header-extension length (then that many bytes). */
#define BINARY_HEADER_FIXED 19
static const char binary_empty_header[BINARY_HEADER_FIXED] = "PGCOPY\n\377\r\n";
static const char binary_trailer[2] = {'\377', '\377'};
/* While a COPY is open its connection does not block, and COPY data goes through the
 * session's spool (copy_spool.h, in CopyData messages of 64 kB: the source sends one message
 * per row, and passing each on as it came cost one send() per 8 kB). For SPOOL_AFTER_MS from
 * a batch's start the worker waits for a slow destination as a blocking connection would (the
 * source's data then comes in large reads: spooling from the start cost 30% more CPU in
 * pghost); after that, what the destination cannot take yet is held in memory, so that the
 * source's batch, its own transaction, ends at the source's pace even while the destination
 * stalls (a checkpoint's sync, a lock). The next batch starts once the last one was sent. Past
 * SPOOL_BYTES held (a batch that came out wider than it aimed) the worker waits there and
 * then. */
#define SPOOL_AFTER_MS 100
#define SPOOL_BYTES (2 * (size_t)PGH_COPY_BATCH_BYTES)

/* A batch's mark, kept until the transaction holding its rows commits. */
typedef struct pending_mark {
    int unit;
    int64_t range;
    int nkeys;
    char **last_key; /* owned: nkeys texts, or NULL (no key recorded yet) */
    bool done;
    uint64_t rows;   /* rows of the range's batches since its last progress row */
} pending_mark;

typedef struct copy_in {
    copy_in_ctx ctx;  /* copy */
    PGconn *conn;     /* owned */
    bool resumable;   /* progress rows with the rows they describe */
    int unit;         /* unit of the open COPY; -1 when none is open */
    int table;        /* its configured table index */
    char source[160]; /* the open COPY's source table, for messages */
    bool binary;
    bool transaction;    /* an explicit transaction (BEGIN) is open */
    bool header_sent;    /* binary: the COPY has been given a header */
    int64_t opened_ms;   /* pgh_clock_ms() when the COPY began */
    pgh_buf sql;         /* owned: scratch */
    pgh_copy_spool spool; /* owned: COPY data not yet given to libpq */
    char *merge;         /* owned, NULL without staging: moves the open COPY's staged rows
                            into the destination table (stage.h) */
    pending_mark *marks; /* owned: the batches' marks waiting for the next commit */
    int nmarks;
    int marks_cap;
} copy_in;

static void free_key(char **key, int nkeys)
{
    for (int k = 0; key && k < nkeys; k++)
        free(key[k]);
    free(key);
}

static void drop_marks(copy_in *c)
{
    for (int i = 0; i < c->nmarks; i++)
        free_key(c->marks[i].last_key, c->marks[i].nkeys);
    c->nmarks = 0;
}

/* A copy of key (nkeys texts), or NULL when out of memory. */
static char **copy_key(const char *const *key, int nkeys)
{
    char **out = calloc((size_t)nkeys + 1, sizeof(char *));
    for (int k = 0; out && k < nkeys; k++) {
        out[k] = strdup(key[k]);
        if (out[k] == NULL) {
            free_key(out, nkeys);
            return NULL;
        }
    }
    return out;
}

/* Remember a batch's mark until its rows are committed: one entry per range, the latest wins
 * (an empty last batch keeps the key before it). */
static int keep_mark(copy_in *c, const pgh_copy_mark *m, pgh_error *err)
{
    pending_mark *p = NULL;
    for (int i = 0; i < c->nmarks && p == NULL; i++)
        if (c->marks[i].unit == m->unit && c->marks[i].range == m->range)
            p = &c->marks[i];
    if (p == NULL && c->nmarks == c->marks_cap) {
        int cap = c->marks_cap ? c->marks_cap * 2 : 8;
        pending_mark *grown = realloc(c->marks, (size_t)cap * sizeof(*grown));
        if (grown == NULL)
            return pgh_error_set(err, PGH_ENOMEM, "out of memory");
        c->marks = grown;
        c->marks_cap = cap;
    }
    if (p == NULL) {
        p = &c->marks[c->nmarks++];
        *p = (pending_mark){.unit = m->unit, .range = m->range, .nkeys = m->nkeys};
    }
    p->done = m->done;
    p->rows += m->rows;
    if (m->last_key == NULL)
        return 0;
    char **key = copy_key(m->last_key, m->nkeys);
    if (key == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    free_key(p->last_key, p->nkeys);
    p->last_key = key;
    p->nkeys = m->nkeys;
    return 0;
}

int pgh_postgres__copy_open(void **session, const copy_in_ctx *ctx, bool resumable, pgh_error *err)
{
    *session = NULL;
    copy_in *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    c->ctx = *ctx;
    c->resumable = resumable;
    c->unit = -1;
    pgh_buf_init(&c->sql, 1 << 20);
    c->spool.most = SPOOL_BYTES;
    *session = c;
    int rc =
        pgh_conn_open(&c->conn, ctx->conninfo, PGH_CONN_SQL, "destination", "pghost copy", err);
    if (rc == 0 && ctx->replica_role)
        rc = pgh_conn_exec(c->conn, "SET session_replication_role = replica", err);
    return rc;
}

/* on_conflict_action update | nothing: the staging table, and the statement that moves its
 * rows over when the COPY ends. */
static int start_stage(copy_in *c, const pgh_copy_target *t, char *target, size_t len,
                       pgh_error *err)
{
    const pgh_table_info *dst = c->ctx.tables[t->table];
    free(c->merge);
    c->merge = pgh_postgres__stage_merge_sql(c->conn, dst, t->table, t->columns, t->ncolumns,
                                             c->ctx.on_conflict == PGH_ON_CONFLICT_UPDATE);
    if (c->merge == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    pgh_postgres__stage_name(target, len, t->table);
    return pgh_postgres__stage_create(c->conn, dst, t->table, err);
}

/* COPY <dest or its staging table> (<columns>) FROM STDIN [(FORMAT binary)] */
static int start_copy(copy_in *c, const pgh_copy_target *t, pgh_error *err)
{
    if (t->table < 0 || t->table >= c->ctx.ntables)
        return pgh_error_set(err, PGH_ECONFIG, "copy into table %d of %d", t->table,
                             c->ctx.ntables);
    char stage[64] = "";
    int rc = c->ctx.on_conflict == PGH_ON_CONFLICT_ERROR
                 ? 0
                 : start_stage(c, t, stage, sizeof(stage), err);
    if (rc != 0)
        return rc;
    pgh_buf_reset(&c->sql);
    pgh_buf_printf(&c->sql, "COPY %s (",
                   c->merge ? stage : c->ctx.tables[t->table]->qualified);
    for (int i = 0; i < t->ncolumns; i++) {
        char *q = pgh_conn_ident(c->conn, t->columns[i]);
        if (q == NULL)
            return pgh_error_set(err, PGH_ENOMEM, "out of memory");
        pgh_buf_printf(&c->sql, "%s%s", i ? ", " : "", q);
        free(q);
    }
    pgh_buf_printf(&c->sql, ") FROM STDIN%s", t->binary ? " (FORMAT binary)" : "");
    if (pgh_buf_failed(&c->sql))
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    PGresult *res = PQexec(c->conn, pgh_buf_str(&c->sql));
    rc = PQresultStatus(res) == PGRES_COPY_IN
                 ? 0
                 : pgh_conn_error(err, c->conn, res, "starting COPY on the destination");
    PQclear(res);
    if (rc == 0 && PQsetnonblocking(c->conn, 1) != 0)
        rc = pgh_conn_error(err, c->conn, NULL, "starting COPY on the destination");
    return rc;
}

/* Send everything the COPY holds, waiting for the destination, and block again (so that the
 * statements after the COPY wait for their results as usual). */
static int send_all(copy_in *c, pgh_error *err)
{
    int rc = pgh_copy_spool_drain(&c->spool, c->conn, err);
    if (rc == 0 && PQsetnonblocking(c->conn, 0) != 0)
        rc = pgh_conn_error(err, c->conn, NULL, "sending COPY data to the destination");
    return rc;
}

int pgh_postgres__copy_table(void *session, const pgh_copy_target *t, pgh_error *err)
{
    copy_in *c = session;
    if (c->unit == t->unit) { /* the next batch starts once the last one was sent */
        int rc = pgh_copy_spool_drain(&c->spool, c->conn, err);
        c->spool.wait_until = pgh_clock_ms() + SPOOL_AFTER_MS;
        return rc;
    }
    int rc = c->unit >= 0 ? pgh_postgres__copy_finish(c, err) : 0;
    if (rc == 0 && !c->transaction) {
        rc = pgh_conn_exec(c->conn, "BEGIN", err);
        c->transaction = rc == 0;
    }
    if (rc == 0)
        rc = start_copy(c, t, err);
    if (rc != 0)
        return rc;
    c->unit = t->unit;
    c->table = t->table;
    c->binary = t->binary;
    c->header_sent = false;
    c->opened_ms = pgh_clock_ms();
    c->spool.wait_until = c->opened_ms + SPOOL_AFTER_MS;
    snprintf(c->source, sizeof(c->source), "%s.%s", t->source_schema, t->source_name);
    return 0;
}

/* The length of the binary header at the start of buf (the scanner has checked it). */
static size_t header_length(const char *buf, size_t len)
{
    if (len < BINARY_HEADER_FIXED)
        return len;
    const unsigned char *e = (const unsigned char *)buf + 15;
    uint32_t ext = (uint32_t)e[0] << 24 | (uint32_t)e[1] << 16 | (uint32_t)e[2] << 8 | e[3];
    return ext > len - BINARY_HEADER_FIXED ? len : BINARY_HEADER_FIXED + (size_t)ext;
}

static int put_data(copy_in *c, const char *data, size_t len, pgh_error *err)
{
    return pgh_copy_spool_put(&c->spool, c->conn, data, len, err);
}

int pgh_postgres__copy_data(void *session, const char *data, size_t len, bool has_header,
                            bool has_trailer, pgh_error *err)
{
    copy_in *c = session;
    size_t from = 0;
    size_t to = len;
    if (c->binary) {
        if (has_header && c->header_sent)
            from = header_length(data, len);
        else if (has_header)
            c->header_sent = true;
        if (has_trailer && to - from >= 2)
            to -= 2;
    }
    return to > from ? put_data(c, data + from, to - from, err) : 0;
}

/* End the open COPY successfully; with a transaction open, its rows wait for the COMMIT. */
static int end_copy(copy_in *c, pgh_error *err)
{
    if (c->unit < 0)
        return 0;
    int rc = 0;
    if (c->binary && !c->header_sent)
        rc = put_data(c, binary_empty_header, BINARY_HEADER_FIXED, err);
    if (rc == 0 && c->binary)
        rc = put_data(c, binary_trailer, sizeof(binary_trailer), err);
    if (rc == 0)
        rc = send_all(c, err);
    if (rc == 0 && PQputCopyEnd(c->conn, NULL) != 1)
        rc = pgh_conn_error(err, c->conn, NULL, "ending COPY on the destination");
    if (rc == 0) {
        c->unit = -1;
        rc = pgh_conn_drain(c->conn, err, "copying into the destination");
    }
    if (rc == 0 && c->merge) /* staged: into the table by key, in the same transaction */
        rc = pgh_conn_exec(c->conn, c->merge, err);
    if (rc == 0 && c->merge)
        rc = pgh_postgres__stage_clear(c->conn, c->table, err);
    if (rc != 0) {
        pgh_error_prefix(err, "copy of %s", c->source);
        pgh_postgres__copy_abort(c, "pghost: could not end the copy");
    }
    return rc;
}

/* The pending marks' progress rows, then COMMIT: the rows and their progress together. */
static int commit(copy_in *c, pgh_error *err)
{
    if (!c->transaction)
        return 0;
    int rc = 0;
    for (int i = 0; rc == 0 && c->resumable && i < c->nmarks; i++) {
        const pending_mark *m = &c->marks[i];
        rc = pgh_state_copy_range_save(c->conn, c->ctx.state_schema, c->ctx.slot, m->unit, m->range,
                                       m->nkeys, (const char *const *)m->last_key, m->done, m->rows,
                                       err);
    }
    if (rc == 0)
        rc = pgh_conn_exec(c->conn, "COMMIT", err);
    if (rc != 0)
        return rc; /* the caller aborts: the transaction is rolled back */
    c->transaction = false;
    drop_marks(c);
    return 0;
}

int pgh_postgres__copy_batch_end(void *session, const pgh_copy_mark *mark, pgh_error *err)
{
    copy_in *c = session;
    int rc = keep_mark(c, mark, err);
    if (rc != 0 || c->unit < 0 || pgh_clock_ms() - c->opened_ms < PGH_COPY_IN_COMMIT_MS)
        return rc;
    return pgh_postgres__copy_finish(c, err);
}

int pgh_postgres__copy_finish(void *session, pgh_error *err)
{
    copy_in *c = session;
    int rc = end_copy(c, err);
    return rc == 0 ? commit(c, err) : rc;
}

void pgh_postgres__copy_abort(void *session, const char *why)
{
    copy_in *c = session;
    pgh_copy_spool_discard(&c->spool); /* never sent: the COPY fails */
    if (c->unit >= 0) {
        PQputCopyEnd(c->conn, why ? why : "pghost: copy abandoned");
        pgh_conn_drain(c->conn, NULL, ""); /* libpq's own buffer goes out first */
        c->unit = -1;
    }
    PQsetnonblocking(c->conn, 0);
    if (c->transaction)
        pgh_conn_exec(c->conn, "ROLLBACK", NULL);
    c->transaction = false;
    drop_marks(c); /* their rows are gone */
}

void pgh_postgres__copy_close(void *session)
{
    copy_in *c = session;
    if (c == NULL)
        return;
    pgh_buf_dispose(&c->sql);
    pgh_copy_spool_dispose(&c->spool);
    drop_marks(c);
    free(c->marks);
    free(c->merge);
    PQfinish(c->conn);
    free(c);
}
