/*
 * One DuckDB database file and one connection to it, over the functions of duckdb_api.h: open,
 * run SQL, read a value back, quote names. Every failure becomes a pgh_error naming the file
 * and quoting DuckDB's message.
 */
#ifndef PGH_DEST_DUCKDB_CONN_H
#define PGH_DEST_DUCKDB_CONN_H

#include <stdbool.h>

#include "duckdb_api.h"
#include "util/buf.h"

typedef struct duck_conn {
    const duck_api *api;  /* borrowed: process-wide (duckdb_api.h) */
    duck_database db;     /* owned, NULL when closed */
    duck_connection conn; /* owned, NULL when closed */
    char *path;           /* owned copy of the file name, for messages */
} duck_conn;

/* Load the library (library NULL: the default search) and open (creating when missing) the
 * database file at path. PGH_ENOTFOUND when no library loads, PGH_ESINK when the file cannot be
 * opened (DuckDB's reason in the message: locked by another process, not a DuckDB file...). */
int pgh_duckdb__conn_open(duck_conn *c, const char *path, const char *library, pgh_error *err);
void pgh_duckdb__conn_close(duck_conn *c); /* accepts a closed or zeroed one */

/* Run sql, discarding any result. PGH_ESINK with what + DuckDB's message on failure. */
int pgh_duckdb__exec(duck_conn *c, const char *sql, const char *what, pgh_error *err);

/* Run a query returning at most one row; *out gets a malloc'd copy of each of the first n
 * columns (NULL for SQL NULL), all NULL when no row came. *found tells whether a row came. */
int pgh_duckdb__query_row(char **out, int n, bool *found, duck_conn *c, const char *sql,
                          const char *what, pgh_error *err);

/* A name quoted for DuckDB SQL ("a""b"), appended to b. */
void pgh_duckdb__ident(pgh_buf *b, const char *name);
/* A string literal ('it''s'), appended to b: for names of pghost's own (slot names). */
void pgh_duckdb__literal(pgh_buf *b, const char *s);

#endif
