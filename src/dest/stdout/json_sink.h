/*
 * dest/stdout/json_sink.h - the JSON-lines destination as a pgh_sink: one JSON object per row
 * change, one per line. Superseded by pghost/json.h (pgh_json_destination_new, which adds the
 * existing rows and the state file); kept until the pipeline uses that everywhere. Both share
 * the writer of json_lines.c; the full format is docs/json-lines.md.
 *
 * Made for piping into other tools (jq, loaders, queues). The CLI opens it on stdout; the core
 * feeds it decoded changes through the pgh_sink interface (pghost/sink.h) in stream order and
 * calls pgh_sink_flush() to learn which position it may confirm.
 *
 * Output: every INSERT, UPDATE and DELETE of a mapped table becomes one line; a TRUNCATE becomes
 * one line per mapped table it names. BEGIN, COMMIT, RELATION, TYPE, ORIGIN and MESSAGE write
 * nothing. Lines are UTF-8, compact (no spaces, no newline inside), keys in this order:
 *
 *   {"table":"public.t","op":"update","lsn":"0/16B3748","commit_lsn":"0/16B37A0",
 *    "commit_time":"2026-11-23T19:04:05.123456Z","xid":742,"key":{"id":2},"old_key":{"id":1},
 *    "new":{"id":2,"v":"x"},"old":{...},"unchanged":["big"]}
 *
 *   table        source schema and table, joined by '.' as sent (not quoted)
 *   op           "insert", "update", "delete" or "truncate"
 *   lsn          WAL position of the change ("X/X")
 *   commit_lsn   position of the commit record of the transaction (from BEGIN)
 *   commit_time  commit time, UTC, ISO 8601 with microseconds (from BEGIN)
 *   xid          transaction id (from BEGIN)
 *   key          the replica identity columns (the primary key, or every column under REPLICA
 *                IDENTITY FULL): from the new row for insert and update, from the old row for
 *                delete; {} when the table has no replica identity. A key column of an update
 *                whose value was not sent (unchanged TOAST) is taken from the old row when that
 *                was sent, else left out
 *   old_key      update only: the key of the old row, when the source sent it ('K' or 'O') and
 *                it differs from "key" (the update moved the row)
 *   new          insert and update: every column of the new row except unchanged TOAST values
 *   old          update and delete: the whole old row, only under REPLICA IDENTITY FULL ('O');
 *                columns whose value was not sent are left out
 *   unchanged    update: names of the columns whose value was not sent because it did not
 *                change (unchanged TOAST, 'u'); omitted when there are none
 *   truncate lines carry table, op, lsn, commit_lsn, commit_time, xid, then "seq":N (the
 *                table's 0-based index in the TRUNCATE message, tables not written included),
 *                "cascade":bool,"restart_identity":bool
 *
 * Values are typed by the column's type OID, losing no precision:
 *   bool                       true / false
 *   int2, int4, int8, oid      JSON integers (the whole int64 range)
 *   float4, float8             the number exactly as PostgreSQL printed it, when finite
 *                              (so it reads back to the same double; "-0" is written -0.0,
 *                              which parsers keep negative); "NaN", "Infinity", "-Infinity"
 *                              as strings
 *   numeric                    a string ("123.4500", "NaN"): arbitrary precision survives
 *   json, jsonb                the JSON value itself, with whitespace outside strings removed
 *                              and every other byte as sent (numbers keep all their digits);
 *                              a value jansson cannot parse (e.g. a number beyond double range)
 *                              becomes a string
 *   anything else              a string holding the type's text output exactly as sent
 *                              (timestamps, uuid, bytea as \x hex, arrays, enums, ...)
 *   NULL                       null
 * Strings are escaped per RFC 8259 (", \, control characters); non-ASCII stays UTF-8. A text
 * value that is not valid UTF-8 (a source database in another encoding) is an error
 * (PGH_ESINK), never silently altered.
 *
 * Delivery: each line is built whole and handed to stdio with one fwrite, so lines are never
 * interleaved or cut by pghost itself. pgh_sink_flush() fflush()es the stream, fsync()s it when
 * it is a regular file, and returns the end LSN of the last COMMIT written: only transactions
 * whose lines all reached the stream are confirmed. Lines of the open transaction may already
 * be out: after a restart they are written again (at-least-once; a consumer dedupes on
 * commit_lsn + lsn). A write or flush failure (the reader closed the pipe, disk full) is
 * PGH_ESINK and sticks: the sink cannot continue. Freeing the sink cannot take back lines of an
 * open transaction.
 *
 * Memory: one line buffer, reused; nothing grows with the transaction. The sink keeps the open
 * transaction's BEGIN fields and nothing else between changes.
 *
 * Threading: one thread at a time (as every pgh_sink).
 */
#ifndef PGHOST_JSON_SINK_H
#define PGHOST_JSON_SINK_H

#include <stdio.h>

#include "pghost/config.h"
#include "pghost/error.h"
#include "pghost/sink.h"

typedef struct pgh_json_sink_opts {
    int version;                 /* PGH_JSON_SINK_OPTS_VERSION */
    FILE *out;                   /* borrowed, valid while open: where lines go (the CLI passes
                                    stdout); never closed by the sink. A pipe's reader going
                                    away is reported as PGH_ESINK only if the process ignores
                                    SIGPIPE (the CLI's job), else the signal ends it first */
    const pgh_table_map *tables; /* borrowed, valid while open: only changes of tables whose
                                    source_schema and source_table are listed are written */
    int ntables;                 /* entries in tables; 0 writes every table */
    const char *out_name;        /* borrowed: names out in error messages ("stdout") */
} pgh_json_sink_opts;

#define PGH_JSON_SINK_OPTS_VERSION 1
#define PGH_JSON_SINK_OPTS_INIT                                                                    \
    {                                                                                              \
        PGH_JSON_SINK_OPTS_VERSION, NULL, NULL, 0, "stdout"                                        \
    }

/*
 * Open a JSON-lines destination writing to opts->out. On success *out is the new sink (free with
 * pgh_sink_free); on failure *out is NULL and err says why: PGH_ECONFIG for bad options (wrong
 * version, no stream, ntables < 0), PGH_ENOMEM.
 */
int pgh_json_sink_open(pgh_sink **out, const pgh_json_sink_opts *opts, pgh_error *err);

#endif
