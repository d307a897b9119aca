/*
 * The position in the DuckDB file: table "_pghost_position", one row per slot (slot, lsn,
 * checkpoint, phase, resume, written_at), written in the transaction of the data it describes.
 */
#ifndef PGH_DEST_DUCKDB_POSITION_H
#define PGH_DEST_DUCKDB_POSITION_H

#include <stdbool.h>

#include "duckdb_conn.h"
#include "pghost/destination.h"

#define PGH_DUCKDB_POSITION_TABLE "_pghost_position"

/* Create the table when missing. */
int pgh_duckdb__position_setup(duck_conn *c, pgh_error *err);
/* Store pos for slot (in the caller's transaction, when one is open). */
int pgh_duckdb__position_write(duck_conn *c, const char *slot, const pgh_position *pos,
                               pgh_error *err);
/* Read slot's position: *found false (out untouched) when there is none, or no table. */
int pgh_duckdb__position_read(pgh_position *out, bool *found, duck_conn *c, const char *slot,
                              pgh_error *err);

#endif
