/*
 * The replication stream: see include/pghost/stream.h.
 *
 *   client                                   server (walsender)
 *   START_REPLICATION SLOT s LOGICAL 0/0 (..) ->
 *                                         <- CopyBothResponse
 *                                         <- CopyData 'w' XLogData (pgoutput message)
 *                                         <- CopyData 'k' keepalive (reply requested?)
 *   CopyData 'r' standby status update    ->
 *   CopyDone                              ->  (on close)
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/buf.h"
#include "util/clock.h"
#include "pg/conn.h"
#include "pg/sqlstate.h"
#include "decode/decode.h"
#include "pghost/log.h"
#include "source/stream.h"

#define STATUS_PROMPT_MS 1000

struct pgh_stream {
    PGconn *conn;            /* owned */
    pgh_decoder *decoder;    /* owned */
    char *current;           /* owned (PQfreemem): the message the last change points into */
    pgh_lsn server_lsn;      /* highest wal_end seen */
    pgh_lsn received;        /* highest XLogData start seen */
    pgh_lsn flushed;         /* durable at the destination, as told by the caller */
    pgh_lsn reported;        /* the flushed position the last status update carried */
    int status_interval_ms;
    int64_t last_status_ms;  /* monotonic time of the last status update */
};


static int start_sql(pgh_buf *sql, PGconn *conn, const pgh_stream_opts *o)
{
    char *slot = pgh_conn_ident(conn, o->slot);
    char *pub = pgh_conn_ident(conn, o->publication);
    char *pub_lit = pub ? pgh_conn_literal(conn, pub, strlen(pub)) : NULL;
    int rc = (slot && pub_lit) ? 0 : PGH_ENOMEM;
    if (rc == 0)
        pgh_buf_printf(sql,
                       "START_REPLICATION SLOT %s LOGICAL " PGH_LSN_FMT
                       " (proto_version '1', publication_names %s, messages 'true')",
                       slot, PGH_LSN_ARGS(o->start), pub_lit);
    free(slot);
    free(pub);
    free(pub_lit);
    return rc == 0 && pgh_buf_failed(sql) ? PGH_ENOMEM : rc;
}

static int open_once(pgh_stream **out, const pgh_stream_opts *opts, PGconn *conn,
                     pgh_error *err);

/* A previous session's walsender may not have noticed yet that its client is gone (after a
 * crash or kill): the slot then reads as active (55006) for a moment. Retry for up to 15 s. */
int pgh_stream_open(pgh_stream **out, const pgh_stream_opts *opts, pgh_error *err)
{
    *out = NULL;
    if (opts == NULL || opts->version != PGH_STREAM_OPTS_VERSION)
        return pgh_error_set(err, PGH_ECONFIG,
                             "stream options of version %d, this library takes version %d: "
                             "initialise them with PGH_STREAM_OPTS_INIT",
                             opts ? opts->version : -1, PGH_STREAM_OPTS_VERSION);
    for (int attempt = 0;; attempt++) {
        int rc = open_once(out, opts, NULL, err);
        if (rc == 0 || !pgh_pg_error_is(err, PGH_SQLSTATE_OBJECT_IN_USE) || attempt >= 75)
            return rc;
        pgh_log(PGH_LOG_DEBUG, "stream", "slot %s still in use; retrying", opts->slot);
        pgh_error_clear(err);
        pgh_sleep_ms(200);
    }
}

/* The session given first; when it cannot start streaming (it broke while it waited, the slot
 * is still held), a new one as pgh_stream_open does it. */
static int open_on(pgh_stream **out, const pgh_stream_opts *opts, PGconn *conn, pgh_error *err)
{
    *out = NULL;
    if (conn == NULL)
        return pgh_stream_open(out, opts, err);
    pgh_error e;
    pgh_error_clear(&e);
    if (open_once(out, opts, conn, &e) == 0)
        return 0;
    pgh_log(PGH_LOG_INFO, "stream", "the replication session kept open cannot stream (%s); "
                                    "opening a new one", e.message);
    return pgh_stream_open(out, opts, err);
}

int pgh_stream_open_config(pgh_stream **out, const pgh_config *cfg, const char *app_name,
                           pgh_error *err)
{
    return pgh_stream_open_config_on(out, NULL, cfg, app_name, err);
}

int pgh_stream_open_config_on(pgh_stream **out, PGconn *conn, const pgh_config *cfg,
                              const char *app_name, pgh_error *err)
{
    pgh_stream_opts so = PGH_STREAM_OPTS_INIT;
    so.conninfo = pgh_config_replication_conninfo(cfg);
    so.slot = cfg->slot_name;
    so.publication = cfg->publication_name;
    so.app_name = app_name;
    return open_on(out, &so, conn, err);
}

/* conn: a replication session to stream on (taken: closed on failure), or NULL for a new one. */
static int open_once(pgh_stream **out, const pgh_stream_opts *opts, PGconn *conn,
                     pgh_error *err)
{
    *out = NULL;
    pgh_stream *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        PQfinish(conn);
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    }
    s->conn = conn;
    s->status_interval_ms = opts->status_interval_ms > 0 ? opts->status_interval_ms : 10000;
    s->flushed = opts->start;
    pgh_buf sql;
    pgh_buf_init(&sql, 0);
    int rc = pgh_decoder_new(&s->decoder);
    if (rc != 0)
        pgh_error_set(err, rc, "out of memory");
    if (rc == 0 && s->conn == NULL)
        rc = pgh_conn_open(&s->conn, opts->conninfo, PGH_CONN_REPLICATION, "source",
                           opts->app_name, err);
    if (rc == 0) {
        rc = start_sql(&sql, s->conn, opts);
        if (rc != 0)
            pgh_error_set(err, rc, "out of memory");
    }
    if (rc == 0) {
        PGresult *res = PQexec(s->conn, pgh_buf_str(&sql));
        if (PQresultStatus(res) != PGRES_COPY_BOTH) {
            rc = pgh_conn_error(err, s->conn, res, "starting replication");
            pgh_error_prefix(err, "slot %s", opts->slot);
        }
        PQclear(res);
    }
    pgh_buf_dispose(&sql);
    if (rc != 0) {
        pgh_stream_close(s);
        return rc;
    }
    s->last_status_ms = pgh_clock_ms();
    *out = s;
    return 0;
}

void pgh_stream_set_flushed(pgh_stream *s, pgh_lsn lsn)
{
    if (lsn > s->flushed)
        s->flushed = lsn;
}

pgh_lsn pgh_stream_server_lsn(const pgh_stream *s)
{
    return s->server_lsn;
}

int pgh_stream_send_status(pgh_stream *s, bool reply_requested, pgh_error *err)
{
    uint8_t msg[PGH_REPL_STATUS_LEN];
    pgh_lsn written = s->received > s->flushed ? s->received : s->flushed;
    size_t len = pgh_repl_status_build(msg, written, s->flushed, s->flushed, pgh_pg_now_us(),
                                       reply_requested);
    if (PQputCopyData(s->conn, (const char *)msg, (int)len) != 1 || PQflush(s->conn) != 0)
        return pgh_conn_error(err, s->conn, NULL, "sending a status update to the source");
    s->last_status_ms = pgh_clock_ms();
    s->reported = s->flushed;
    return 0;
}

/* Milliseconds until the next status update is due: every status_interval_ms, and within
 * STATUS_PROMPT_MS of a flushed position the server has not heard of (the slot then releases
 * WAL about a second after the destination made it durable, not up to ten seconds later). */
static int64_t status_due_in(const pgh_stream *s, int64_t now)
{
    int64_t period = s->flushed > s->reported && s->status_interval_ms > STATUS_PROMPT_MS
                         ? STATUS_PROMPT_MS
                         : s->status_interval_ms;
    return period - (now - s->last_status_ms);
}

/* The server ended COPY BOTH: read why. */
static int stream_ended(pgh_stream *s, pgh_error *err)
{
    int rc = 0;
    PGresult *res;
    while ((res = PQgetResult(s->conn)) != NULL) {
        if (rc == 0 && PQresultStatus(res) != PGRES_COMMAND_OK &&
            PQresultStatus(res) != PGRES_COPY_OUT)
            rc = pgh_conn_error(err, s->conn, res, "the replication stream ended");
        PQclear(res);
    }
    if (rc == 0)
        rc = pgh_error_set(err, PGH_ECONN, "the source ended the replication stream");
    return rc;
}

/* Wait for the socket to become readable or until timeout_ms; *interrupted (may be NULL) tells
 * whether a signal cut the wait short. */
static int wait_readable(pgh_stream *s, int timeout_ms, bool *interrupted, pgh_error *err)
{
    struct pollfd pfd = {.fd = PQsocket(s->conn), .events = POLLIN};
    int n = poll(&pfd, 1, timeout_ms);
    if (interrupted)
        *interrupted = n < 0 && errno == EINTR;
    if (n < 0 && errno != EINTR)
        return pgh_error_set(err, PGH_ECONN, "waiting for the source: %s", strerror(errno));
    if (n > 0 && PQconsumeInput(s->conn) != 1)
        return pgh_conn_error(err, s->conn, NULL, "reading from the source");
    return 0;
}

/* Handle one CopyData message; 1 when *out holds a change. */
static int handle_message(pgh_stream *s, pgh_change *out, char *buf, int len, pgh_error *err)
{
    pgh_repl_msg msg;
    int rc = pgh_repl_msg_parse(&msg, (const uint8_t *)buf, (size_t)len, err);
    if (rc != 0)
        return rc;
    if (msg.wal_end > s->server_lsn)
        s->server_lsn = msg.wal_end;
    if (msg.kind == 'k')
        return msg.reply_requested ? pgh_stream_send_status(s, false, err) : 0;
    if (msg.wal_start > s->received)
        s->received = msg.wal_start;
    rc = pgh_decoder_feed(s->decoder, out, msg.payload, msg.payload_len, msg.wal_start, err);
    if (rc != 0)
        err->lsn = msg.wal_start;
    return rc == 0 ? 1 : rc;
}

int pgh_stream_next(pgh_stream *s, pgh_change *out, int timeout_ms, pgh_error *err)
{
    PQfreemem(s->current);
    s->current = NULL;
    int64_t deadline = pgh_clock_ms() + timeout_ms;
    for (;;) {
        int64_t now = pgh_clock_ms();
        if (status_due_in(s, now) <= 0) {
            int rc = pgh_stream_send_status(s, false, err);
            if (rc != 0)
                return rc;
        }
        char *buf = NULL;
        int n = PQgetCopyData(s->conn, &buf, 1);
        if (n > 0) {
            int rc = handle_message(s, out, buf, n, err);
            if (rc == 1) {
                s->current = buf; /* the change points into it */
                return 1;
            }
            PQfreemem(buf);
            if (rc != 0)
                return rc;
            continue;
        }
        if (n == -1)
            return stream_ended(s, err);
        if (n == -2)
            return pgh_conn_error(err, s->conn, NULL, "reading the replication stream");
        if (now >= deadline)
            return 0;
        int64_t wait = deadline - now;
        int64_t to_status = status_due_in(s, now);
        if (to_status < wait)
            wait = to_status < 0 ? 0 : to_status;
        bool interrupted = false;
        int rc = wait_readable(s, (int)wait, &interrupted, err);
        if (rc != 0 || interrupted)
            return rc; /* a signal (SIGTERM): the caller sees its stop request now */
    }
}

void pgh_stream_close(pgh_stream *s)
{
    if (s == NULL)
        return;
    PQfreemem(s->current);
    if (s->conn && PQstatus(s->conn) == CONNECTION_OK) {
        pgh_error ignored;
        pgh_error_clear(&ignored);
        pgh_stream_send_status(s, false, &ignored);
        PQputCopyEnd(s->conn, NULL);
        PQflush(s->conn);
        /* Drain what the server still sends until it acknowledges the end of the stream. */
        char *buf = NULL;
        int64_t until = pgh_clock_ms() + 1000;
        while (pgh_clock_ms() < until) {
            int n = PQgetCopyData(s->conn, &buf, 1);
            if (n > 0) {
                PQfreemem(buf);
                continue;
            }
            if (n != 0)
                break;
            if (wait_readable(s, 100, NULL, &ignored) != 0)
                break;
        }
        PGresult *res;
        while ((res = PQgetResult(s->conn)) != NULL)
            PQclear(res);
    }
    PQfinish(s->conn);
    pgh_decoder_free(s->decoder);
    free(s);
}
