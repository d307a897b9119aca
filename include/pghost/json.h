/*
 * pghost/json.h - the JSON-lines destination: every existing row and every change of the
 * configured tables as one JSON object per line, for jq, loaders and queues.
 *
 * The line format is docs/json-lines.md. Existing rows are lines with "op":"snapshot", placed
 * in the stream where they are exact, so that applying the lines in order by key rebuilds each
 * table (see pghost/destination.h).
 *
 * Delivery is at least once. flush() writes out and flushes the stream (fsync for a regular
 * file), then records the position in state_file (written to a temporary file, fsynced,
 * renamed), so a restart resumes after the last flushed transaction and carries on with the
 * existing rows where it left them. Lines after that position may come again after a crash;
 * a consumer keeps the highest (commit_lsn, lsn, seq) it applied and skips lines at or below
 * it (docs/json-lines.md).
 */
#ifndef PGHOST_JSON_H
#define PGHOST_JSON_H

#include <stdbool.h>
#include <stdio.h>

#include "pghost/destination.h"
#include "pghost/error.h"
#include "pghost/export.h"

PGH_BEGIN_DECLS

typedef struct pgh_json_opts {
    int version;            /* PGH_JSON_OPTS_VERSION */
    FILE *out;              /* borrowed, never closed: where lines go (the CLI passes stdout).
                               A pipe's reader going away is PGH_ESINK only if the process
                               ignores SIGPIPE, else the signal ends it first */
    const char *out_name;   /* borrowed: names out in messages ("stdout") */
    const char *state_file; /* borrowed, may be NULL: where the position is kept; NULL keeps
                               none (a restart then starts the changes at the slot's confirmed
                               position, and the existing rows over) */
} pgh_json_opts;

#define PGH_JSON_OPTS_VERSION 1
#define PGH_JSON_OPTS_INIT                                                                         \
    {                                                                                              \
        .version = PGH_JSON_OPTS_VERSION, .out_name = "stdout"                                     \
    }

/* A JSON-lines destination. PGH_ECONFIG for a wrong version or no out stream. */
PGH_API int pgh_json_destination_new(pgh_destination **out, const pgh_json_opts *opts,
                                     pgh_error *err);

/* The position a JSON-lines run of slot keeps in state_file, read without opening a
 * destination (pghost check, status): *found is false, and *out untouched, when there is no
 * such file. out->resume is malloc'd or NULL: free() it. PGH_ECONFIG, one line naming the file
 * and what to do, for a file that cannot be read, is not one pghost wrote, or belongs to
 * another slot. */
PGH_API int pgh_json_state_read(pgh_position *out, bool *found, const char *state_file,
                                const char *slot, pgh_error *err);

PGH_END_DECLS

#endif
