/*
 * PostgreSQL column types -> DuckDB column types, and the SQL expression that turns a value's
 * PostgreSQL text form (staged as VARCHAR) into the DuckDB type. The table is in
 * docs/destinations.md ("## DuckDB"); a type without its own row is stored as VARCHAR holding
 * the PostgreSQL text form, which round-trips exactly (cast it back in PostgreSQL).
 */
#ifndef PGH_DEST_DUCKDB_TYPES_H
#define PGH_DEST_DUCKDB_TYPES_H

#include <stdint.h>

#include "util/buf.h"

/* The DuckDB type for a source column ("DECIMAL(12,3)", "VARCHAR", ...), into b. */
void pgh_duckdb__type_name(pgh_buf *b, uint32_t type_oid, int32_t typmod);

/* The expression converting the VARCHAR expression `text` (an SQL fragment: a column of the
 * staging table) to that type, into b. */
void pgh_duckdb__type_load(pgh_buf *b, uint32_t type_oid, int32_t typmod, const char *text);

#endif
