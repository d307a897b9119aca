/*
 * The destination connection in libpq pipeline mode: see apply_internal.h.
 *
 * Statements are sent without waiting; a Sync goes out every PIPE_SYNC_EVERY statements (or
 * PIPE_SYNC_BYTES of parameters), and once more than PIPE_MAX_SYNCS Syncs are unanswered the
 * results up to the oldest one are read. So at most about PIPE_SYNC_EVERY * (PIPE_MAX_SYNCS + 1)
 * statements are in flight, the queue of what they were is a fixed ring, and libpq's buffers
 * stay small whatever the size of the source transaction.
 *
 * Result stream per statement: its result (COMMAND_OK or TUPLES_OK), then NULL. After an error
 * the server skips everything up to the next Sync (PIPELINE_ABORTED); a Sync answers
 * PIPELINE_SYNC with no NULL after it. A Sync inside BEGIN ... COMMIT does not end the
 * transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apply_internal.h"
#include "pg/conn.h"
#include "pghost/log.h"

#define PIPE_SYNC_EVERY 256
#define PIPE_SYNC_BYTES (256 * 1024)
#define PIPE_MAX_SYNCS 3
#define PIPE_RING (PIPE_SYNC_EVERY * (PIPE_MAX_SYNCS + 2) + PIPE_MAX_SYNCS + 2)

int pgh_apply__pipe_init(apply_pipe *p, PGconn *conn, pipe_result_fn done, void *payload,
                         pgh_error *err)
{
    memset(p, 0, sizeof(*p));
    p->conn = conn;
    p->done = done;
    p->payload = payload;
    p->ops = calloc(PIPE_RING, sizeof(*p->ops));
    p->cap = PIPE_RING;
    pgh_buf_init(&p->keys, 0);
    return p->ops ? 0 : pgh_error_set(err, PGH_ENOMEM, "out of memory");
}

void pgh_apply__pipe_dispose(apply_pipe *p)
{
    free(p->ops);
    pgh_buf_dispose(&p->keys);
    memset(p, 0, sizeof(*p));
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Queue op; at trace, with its statement's name and the time it went out. */
static void push(apply_pipe *p, const pipe_op *op, const char *stmt_name)
{
    pipe_op *q = &p->ops[(p->head + p->n) % p->cap];
    *q = *op;
    p->n++;
    if (op->kind == PIPE_OP_SYNC || !pgh_log_enabled(PGH_LOG_TRACE))
        return;
    snprintf(q->stmt, sizeof(q->stmt), "%s", stmt_name ? stmt_name : "");
    q->sent_ns = now_ns();
}

void pgh_apply__pipe_keys_trim(apply_pipe *p)
{
    size_t from = p->keys.len;
    for (int i = 0; i < p->n; i++) {
        const pipe_op *op = &p->ops[(p->head + i) % p->cap];
        if (op->keys_n > 0 && op->keys_at < from)
            from = op->keys_at;
    }
    if (from == 0)
        return;
    size_t keep = p->keys.len - from;
    if (keep > 0)
        memmove(p->keys.data, p->keys.data + from, keep);
    p->keys.len = keep;
    if (p->keys.data)
        p->keys.data[keep] = '\0';
    for (int i = 0; i < p->n; i++) {
        pipe_op *op = &p->ops[(p->head + i) % p->cap];
        if (op->keys_n > 0)
            op->keys_at -= (uint32_t)from;
    }
}

static const char *op_kind_name(pipe_op_kind k)
{
    static const char *const names[] = {"plain",    "insert", "update", "delete",
                                        "position", "commit", "sync"};
    return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}

/* At trace: the statement (its name and table; never its values) and how long from its send
 * to its result, which in pipeline mode includes waiting behind the statements before it. */
static void trace_op(const pipe_op *op, uint64_t rows)
{
    char table[132] = "";
    if (op->rel && op->rel->dst)
        snprintf(table, sizeof(table), "%s.%s", op->rel->dst->schema, op->rel->dst->name);
    pgh_log_at(PGH_LOG_TRACE, "apply", table[0] ? table : NULL, op->lsn,
               "statement %s (%s)%s%s: %llu rows, %.3f ms from send to result (pipelined)",
               op->stmt[0] ? op->stmt : "sql", op_kind_name(op->kind), table[0] ? " on " : "",
               table, (unsigned long long)rows, (double)(now_ns() - op->sent_ns) / 1e6);
}

static int failed(apply_pipe *p, int rc)
{
    p->failed = true;
    return rc;
}

static int send_sync(apply_pipe *p, pgh_error *err)
{
    if (PQpipelineSync(p->conn) != 1)
        return failed(p, pgh_conn_error(err, p->conn, NULL, "sending to the destination"));
    pipe_op sync = {.kind = PIPE_OP_SYNC};
    push(p, &sync, NULL);
    p->syncs++;
    p->since_sync = 0;
    p->bytes_since_sync = 0;
    return 0;
}

/* The error of a failed statement, named by its relation and change. */
static int op_error(apply_pipe *p, const pipe_op *op, const PGresult *res, pgh_error *err)
{
    int rc = pgh_conn_error(err, p->conn, res, op->what ? op->what : "applying a change");
    if (op->rel != NULL && op->rel->dst != NULL)
        pgh_apply__name_failure(err, op->rel, op->prepared, &op->key, op->merged,
                                op->keys_n ? (const pipe_key *)(p->keys.data + op->keys_at)
                                           : NULL,
                                res);
    if (op->lsn)
        err->lsn = op->lsn;
    return failed(p, rc);
}

/* Read the result of the oldest statement (and the NULL after it) and hand it over. */
static int read_op(apply_pipe *p, const pipe_op *op, pgh_error *err)
{
    PGresult *res = PQgetResult(p->conn);
    ExecStatusType st = PQresultStatus(res);
    if (res == NULL || (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)) {
        int rc = op_error(p, op, res, err);
        PQclear(res);
        return rc;
    }
    int rc = 0;
    if (op->kind == PIPE_OP_COMMIT && strcmp(PQcmdStatus(res), "COMMIT") != 0)
        rc = failed(p, pgh_error_set(err, PGH_ESINK, "the destination rolled back a transaction "
                                                     "instead of committing it"));
    uint64_t rows = strtoull(PQcmdTuples(res), NULL, 10);
    if (op->sent_ns)
        trace_op(op, rows);
    PQclear(res);
    res = PQgetResult(p->conn);
    if (res != NULL) {
        PQclear(res);
        return failed(p, pgh_error_set(err, PGH_EPROTO, "unexpected extra result from the "
                                                        "destination"));
    }
    if (rc == 0 && p->done)
        rc = p->done(p->payload, op, rows, err);
    return rc != 0 ? failed(p, rc) : 0;
}

/* Read the result of the oldest entry of the ring (a statement or a Sync); *sync: it was a
 * Sync. */
static int read_next(apply_pipe *p, bool *sync, pgh_error *err)
{
    pipe_op op = p->ops[p->head];
    p->head = (p->head + 1) % p->cap;
    p->n--;
    *sync = op.kind == PIPE_OP_SYNC;
    if (!*sync)
        return read_op(p, &op, err);
    PGresult *res = PQgetResult(p->conn);
    ExecStatusType st = PQresultStatus(res);
    PQclear(res);
    p->syncs--;
    if (st != PGRES_PIPELINE_SYNC)
        return failed(p, pgh_conn_error(err, p->conn, NULL, "reading from the destination"));
    return 0;
}

/* Read results up to and including the oldest Sync. */
static int read_to_sync(apply_pipe *p, pgh_error *err)
{
    bool sync = false;
    int rc = 0;
    while (rc == 0 && !sync && p->n > 0)
        rc = read_next(p, &sync, err);
    return rc;
}

static int enter(apply_pipe *p, pgh_error *err)
{
    if (p->failed)
        return pgh_error_set(err, PGH_ESINK, "the destination apply failed earlier");
    if (p->on)
        return 0;
    if (PQenterPipelineMode(p->conn) != 1)
        return failed(p, pgh_conn_error(err, p->conn, NULL, "entering pipeline mode"));
    p->on = true;
    return 0;
}

/* After a send: a Sync when enough went out, and read back while too many are unanswered. */
static int after_send(apply_pipe *p, size_t bytes, pgh_error *err)
{
    p->since_sync++;
    p->bytes_since_sync += bytes;
    int rc = 0;
    if (p->since_sync >= PIPE_SYNC_EVERY || p->bytes_since_sync >= PIPE_SYNC_BYTES)
        rc = send_sync(p, err);
    while (rc == 0 && p->syncs > PIPE_MAX_SYNCS)
        rc = read_to_sync(p, err);
    return rc;
}

int pgh_apply__pipe_send(apply_pipe *p, const pipe_op *op, const char *stmt_name, int nparams,
                         const char *const *values, size_t bytes, pgh_error *err)
{
    int rc = enter(p, err);
    if (rc != 0)
        return rc;
    if (p->n + 2 > p->cap) /* cannot happen with the limits above */
        return failed(p, pgh_error_set(err, PGH_ESINK, "apply pipeline queue full"));
    if (PQsendQueryPrepared(p->conn, stmt_name, nparams, values, NULL, NULL, 0) != 1)
        return op_error(p, op, NULL, err);
    push(p, op, stmt_name);
    return after_send(p, bytes, err);
}

int pgh_apply__pipe_send_sql(apply_pipe *p, const pipe_op *op, const char *sql, pgh_error *err)
{
    int rc = enter(p, err);
    if (rc != 0)
        return rc;
    if (p->n + 2 > p->cap)
        return failed(p, pgh_error_set(err, PGH_ESINK, "apply pipeline queue full"));
    if (PQsendQueryParams(p->conn, sql, 0, NULL, NULL, NULL, NULL, 0) != 1)
        return op_error(p, op, NULL, err);
    push(p, op, NULL);
    return after_send(p, strlen(sql), err);
}

int pgh_apply__pipe_sync(apply_pipe *p, pgh_error *err)
{
    if (p->failed)
        return pgh_error_set(err, PGH_ESINK, "the destination apply failed earlier");
    return p->on && p->since_sync > 0 ? send_sync(p, err) : 0;
}

int pgh_apply__pipe_wait(apply_pipe *p, pgh_error *err)
{
    int rc = pgh_apply__pipe_sync(p, err);
    while (rc == 0 && p->n > 0)
        rc = read_to_sync(p, err);
    return rc;
}

int pgh_apply__pipe_poll(apply_pipe *p, bool *idle, pgh_error *err)
{
    *idle = false;
    if (p->failed)
        return pgh_error_set(err, PGH_ESINK, "the destination apply failed earlier");
    if (p->n > 0 && PQconsumeInput(p->conn) != 1)
        return failed(p, pgh_conn_error(err, p->conn, NULL, "reading from the destination"));
    int rc = 0;
    bool sync = false;
    /* Not busy: the next result is complete, and reading it (and the NULL after a statement's)
     * does not block. */
    while (rc == 0 && p->n > 0 && !PQisBusy(p->conn))
        rc = read_next(p, &sync, err);
    *idle = rc == 0 && p->n == 0;
    return rc;
}

int pgh_apply__pipe_leave(apply_pipe *p, pgh_error *err)
{
    int rc = pgh_apply__pipe_wait(p, err);
    if (rc != 0 || !p->on)
        return rc;
    if (PQexitPipelineMode(p->conn) != 1)
        return failed(p, pgh_conn_error(err, p->conn, NULL, "leaving pipeline mode"));
    p->on = false;
    return 0;
}
