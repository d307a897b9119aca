/*
 * sink/json_value.h - PostgreSQL text values as JSON, typed by type OID (private to sink/).
 *
 * The typing rules are those documented in pghost/json_sink.h. Every function appends to a
 * pgh_buf whose sticky failure state the caller checks once per line.
 */
#ifndef PGH_SINK_JSON_VALUE_H
#define PGH_SINK_JSON_VALUE_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "pghost/change.h"
#include "pghost/error.h"

/* PostgreSQL's built-in type OIDs (pg_type.dat) that get a JSON type of their own. */
#define PGH_OID_BOOL 16
#define PGH_OID_INT8 20
#define PGH_OID_INT2 21
#define PGH_OID_INT4 23
#define PGH_OID_OID 26
#define PGH_OID_JSON 114
#define PGH_OID_FLOAT4 700
#define PGH_OID_FLOAT8 701
#define PGH_OID_NUMERIC 1700
#define PGH_OID_JSONB 3802

/* Append len bytes of UTF-8 escaped for the inside of a JSON string (no quotes), so that a
 * string can be assembled from pieces. Returns 0, or PGH_ESINK (nothing appended) when the bytes
 * are not valid UTF-8. */
int pgh_sink__json_escape(pgh_buf *b, const char *s, size_t len, pgh_error *err);

/* The same between double quotes: one JSON string. */
int pgh_sink__json_string(pgh_buf *b, const char *s, size_t len, pgh_error *err);

/* Append the value of a column of type type_oid: null for NULL, else typed as documented.
 * Returns 0; PGH_ESINK for text that is not valid UTF-8 or a binary-format value (the stream
 * must be in text format); PGH_EPROTO for a value that was not sent ('u': the caller leaves
 * those out); PGH_ENOMEM when jansson runs out of memory. */
int pgh_sink__json_value(pgh_buf *b, uint32_t type_oid, const pgh_value *v, pgh_error *err);

#endif
