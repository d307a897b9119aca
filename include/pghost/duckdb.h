/*
 * pghost/duckdb.h - the DuckDB destination: each configured table materialised in one DuckDB
 * database file, kept equal to the source table, exactly once.
 *
 * libduckdb is loaded at run time (dlopen): pghost needs it only when this destination is
 * used. library names it; NULL searches, in order, the copy scripts/install-deps.sh installs
 * (/usr/local/lib/pghost-duckdb/node_modules/@duckdb/node-bindings-linux-x64/libduckdb.so),
 * /usr/local/lib/libduckdb.so, /usr/lib/libduckdb.so, then "libduckdb.so" through the dynamic
 * loader (LD_LIBRARY_PATH, ld.so.cache).
 *
 * Tables: created from the source's columns (types mapped as docs/destinations.md says) with a
 * PRIMARY KEY from the source's; dropped and created again when a table's existing rows start
 * (a first run, or a reload). Existing rows and changes are appended to a staging table and
 * applied in batches per table by key (delete + insert), a batch ending at
 * apply_group_max_changes rows or apply_group_max_delay_ms.
 *
 * Exactly once (PGH_DEST_TRANSACTIONAL): each batch commits in one DuckDB transaction together
 * with the position, kept in the table "_pghost_position" of the same file (one row per slot);
 * a restart skips the source transactions the file holds.
 *
 * DuckDB allows one writing process per file: a run holds it open until it ends.
 */
#ifndef PGHOST_DUCKDB_H
#define PGHOST_DUCKDB_H

#include <stdbool.h>

#include "pghost/destination.h"
#include "pghost/error.h"
#include "pghost/export.h"

PGH_BEGIN_DECLS

typedef struct pgh_duckdb_opts {
    int version;         /* PGH_DUCKDB_OPTS_VERSION */
    const char *path;    /* borrowed, required: the database file (created when missing) */
    const char *library; /* borrowed, may be NULL: libduckdb's path (see above) */
} pgh_duckdb_opts;

#define PGH_DUCKDB_OPTS_VERSION 1
#define PGH_DUCKDB_OPTS_INIT {.version = PGH_DUCKDB_OPTS_VERSION}

/* A DuckDB destination; nothing is opened until the pipeline opens it. PGH_ECONFIG for a wrong
 * version or no path. */
PGH_API int pgh_duckdb_destination_new(pgh_destination **out, const pgh_duckdb_opts *opts,
                                       pgh_error *err);

/* The position slot's runs keep in the file (pghost status), read without a pipeline: *found is
 * false when the file or its position is missing. out->resume is malloc'd or NULL: free() it.
 * PGH_ENOTFOUND when libduckdb cannot be loaded, PGH_ESINK when the file cannot be read (held
 * by a running pghost, say). */
PGH_API int pgh_duckdb_position_read(pgh_position *out, bool *found, const pgh_duckdb_opts *opts,
                                     const char *slot, pgh_error *err);

PGH_END_DECLS

#endif
