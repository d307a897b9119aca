/*
 * SQL helpers every subsystem uses on a libpq connection: one-value queries, the superuser
 * check, the ONLY keyword a table needs.
 *
 * Thread-safe per connection. Errors are recorded in the caller's pgh_error (pg/conn.h).
 */
#ifndef PGH_PG_SQL_H
#define PGH_PG_SQL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "pg/catalog.h"
#include "pg/sqlstate.h"
#include "pghost/error.h"
#include "util/buf.h"

/* Run a query and copy the first column of its first row into out (NUL-terminated, cut to
 * out_len); "" when there is no row. */
int pgh_pg_query_text(char *out, size_t out_len, PGconn *conn, const char *sql, int nparams,
                      const char *const *params, pgh_error *err);

/* The session's role is a superuser (so it may SET session_replication_role = replica: no
 * triggers or foreign-key actions while pghost writes, as PostgreSQL's own apply does). */
int pgh_pg_is_superuser(bool *out, PGconn *conn, pgh_error *err);

/* "ONLY " for an ordinary table, "" for a partitioned one (ONLY on a root reads no row and
 * cannot be truncated). */
const char *pgh_pg_only(const pgh_table_info *t);

/* Append where a copy reads t from: "ONLY <t>", or for a partition read through its root,
 * "<root>" (the caller then filters by t->read_filter: pgh_pg_put_read_filter). */
void pgh_pg_put_read_from(pgh_buf *b, const pgh_table_info *t);

/* Append " WHERE (<t->read_filter>)" for a partition read through its root and return 1 (one
 * condition written); append nothing and return 0 otherwise. */
int pgh_pg_put_read_filter(pgh_buf *b, const pgh_table_info *t);

#endif
