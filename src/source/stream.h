/*
 * pghost/stream.h - the logical replication slot: create, drop, advance, and stream from it.
 *
 * The stream speaks the streaming replication protocol over a replication=database
 * connection: START_REPLICATION ... LOGICAL with pgoutput protocol version 1 and messages on,
 * answering keepalives that ask for a reply and sending a standby status update at least every
 * status_interval_ms, and within a second of a flushed position the server has not heard of
 * (the slot releases WAL promptly). It reports as flushed only what the caller says is durable
 * (pgh_stream_set_flushed), so the source never recycles WAL that was not applied.
 * Single-threaded: one thread owns a pgh_stream.
 */
#ifndef PGHOST_STREAM_H
#define PGHOST_STREAM_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "pghost/change.h"
#include "pghost/config.h"
#include "pghost/error.h"
#include "pghost/lsn.h"

typedef struct pgh_stream pgh_stream;

typedef struct pgh_stream_opts {
    int version;                /* PGH_STREAM_OPTS_VERSION */
    const char *conninfo;       /* borrowed: the source; replication=database is added */
    const char *app_name;       /* borrowed */
    const char *slot;           /* borrowed */
    const char *publication;    /* borrowed */
    pgh_lsn start;              /* 0: from the slot's confirmed position */
    int status_interval_ms;     /* standby status update period */
} pgh_stream_opts;

#define PGH_STREAM_OPTS_VERSION 1
#define PGH_STREAM_OPTS_INIT {PGH_STREAM_OPTS_VERSION, NULL, "pghost stream", NULL, NULL, 0, 10000}

/* Connect and start streaming. */
int pgh_stream_open(pgh_stream **out, const pgh_stream_opts *opts, pgh_error *err);

/* The same from the configuration: its replication connection, slot and publication, from
 * the slot's confirmed position. */
int pgh_stream_open_config(pgh_stream **out, const pgh_config *cfg, const char *app_name,
                           pgh_error *err);

/* The same on conn, a replication session to the source already open (NULL: a new one), which
 * the stream takes whether it succeeds or not; when conn cannot start streaming (it broke while
 * it waited, say), a new session is opened instead. */
int pgh_stream_open_config_on(pgh_stream **out, PGconn *conn, const pgh_config *cfg,
                              const char *app_name, pgh_error *err);

/*
 * Wait up to timeout_ms for the next decoded change. Returns 1 with *out filled (borrowed until
 * the next call), 0 when the time ran out or a signal interrupted the wait (so that a stop
 * request set by a signal handler is seen at once), or an error: PGH_ECONN when the connection
 * broke, PGH_ESQL when the server ended the stream with an error (e.g. the slot was dropped),
 * PGH_EPROTO on a malformed message.
 */
int pgh_stream_next(pgh_stream *s, pgh_change *out, int timeout_ms, pgh_error *err);

/* Everything up to lsn is durable at the destination; reported at the next status update. */
void pgh_stream_set_flushed(pgh_stream *s, pgh_lsn lsn);

/* Send a status update now. */
int pgh_stream_send_status(pgh_stream *s, bool reply_requested, pgh_error *err);

/* The highest WAL position the server said it has sent (from XLogData and keepalives). */
pgh_lsn pgh_stream_server_lsn(const pgh_stream *s);

/* Send a final status update, end the stream and close the connection. NULL is fine. */
void pgh_stream_close(pgh_stream *s);

#endif
