/*
 * pghost/conn.h - opening PostgreSQL connections the way pghost needs them, and turning libpq
 * failures into pgh_error records.
 *
 * Every connection pghost opens gets the same session settings, so that values move between
 * servers in a form that reads back exactly: DateStyle=ISO, IntervalStyle=postgres,
 * extra_float_digits=3, bytea_output=hex, lc_monetary=C, client_encoding=UTF8. A connection string may be a libpq
 * key=value string or a URI; passwords never appear in any message (pgh_conninfo_mask).
 * Thread-safe: every function works on the connection it is given only.
 */
#ifndef PGHOST_CONN_H
#define PGHOST_CONN_H

#include <libpq-fe.h>

#include "pghost/error.h"
#include "util/buf.h"

typedef enum pgh_conn_kind {
    PGH_CONN_SQL = 0,         /* an ordinary session */
    PGH_CONN_REPLICATION = 1, /* a logical replication session (replication=database) */
} pgh_conn_kind;

/*
 * Open a connection. role names the side in messages ("source", "destination"); app_name
 * becomes application_name unless the string sets one. On failure *out is NULL and err says
 * which server could not be reached, with the password masked (PGH_ECONN), or that the string
 * does not parse (PGH_ECONFIG).
 */
int pgh_conn_open(PGconn **out, const char *conninfo, pgh_conn_kind kind, const char *role,
                  const char *app_name, pgh_error *err);

/*
 * The same in the background, for a connection needed a little later: pgh_conn_open_start
 * begins opening it on a thread of its own (it fails only when out of memory or threads);
 * pgh_conn_open_finish waits for it and gives what pgh_conn_open would have (the connection,
 * or its error) and frees the opening; pgh_conn_open_cancel waits for it and closes it. Exactly
 * one of the two is called for every opening started. role must outlive the connection.
 */
typedef struct pgh_conn_opening pgh_conn_opening;
int pgh_conn_open_start(pgh_conn_opening **out, const char *conninfo, pgh_conn_kind kind,
                        const char *role, const char *app_name, pgh_error *err);
int pgh_conn_open_finish(PGconn **out, pgh_conn_opening *o, pgh_error *err);
void pgh_conn_open_cancel(pgh_conn_opening *o);

/* A copy of conninfo with any password replaced by "********"; caller frees. Never NULL
 * unless out of memory. Unparseable strings come back as "(unparseable connection string)". */
char *pgh_conninfo_mask(const char *conninfo);

/* Run one statement that returns no rows (or whose rows are ignored). */
int pgh_conn_exec(PGconn *conn, const char *sql, pgh_error *err);

/* Run one statement with text parameters and return its result (caller PQclear()s) when it is
 * PGRES_TUPLES_OK or PGRES_COMMAND_OK. */
int pgh_conn_query(PGresult **out, PGconn *conn, const char *sql, int nparams,
                   const char *const *params, pgh_error *err);

/* Fill err from a failed result (or from the connection when res is NULL): the server's
 * primary message, SQLSTATE, and PGH_ECONN when the connection is gone, else PGH_ESQL. */
int pgh_conn_error(pgh_error *err, PGconn *conn, const PGresult *res, const char *what);

/* Read the remaining results of a sent statement (after a COPY, say): 0 when all succeeded,
 * else the first failure in err (may be NULL) prefixed by what. */
int pgh_conn_drain(PGconn *conn, pgh_error *err, const char *what);

/* Wait until a nonblocking connection's socket takes more data, reading what the server sends
 * meanwhile, or timeout_ms (-1: no limit) passed; 0 then, else the failure in err prefixed by
 * what. */
int pgh_conn_wait_writable(PGconn *conn, int timeout_ms, pgh_error *err, const char *what);

/* Send everything a nonblocking connection still holds, waiting for its socket as long as
 * that takes; 0 when all is sent, else the failure in err prefixed by what. */
int pgh_conn_flush_wait(PGconn *conn, pgh_error *err, const char *what);

/* Quote an identifier with PQescapeIdentifier into a malloc'd string; NULL on failure. */
char *pgh_conn_ident(PGconn *conn, const char *name);

/* Append before, then name quoted with PQescapeIdentifier, to b; a failure (out of memory)
 * fails b (pgh_buf_failed). */
void pgh_conn_put_ident(pgh_buf *b, PGconn *conn, const char *before, const char *name);

/* "schema"."name", quoted; malloc'd; NULL on failure. */
char *pgh_conn_qualified(PGconn *conn, const char *schema, const char *name);

/* Quote a literal with PQescapeLiteral into a malloc'd string; NULL on failure. */
char *pgh_conn_literal(PGconn *conn, const char *value, size_t len);

#endif
