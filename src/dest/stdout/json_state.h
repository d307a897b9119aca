/*
 * dest/stdout/json_state.h - the JSON-lines destination's state file (private to dest/stdout/).
 *
 * One JSON object on one line, the position the destination's lines are durable up to:
 *
 *   {"version":1,"slot":"pghost_app","lsn":"0/16B37D0","checkpoint":"0/16B0000",
 *    "phase":"follow","resume":null}
 *
 * Written to "<path>.tmp", flushed and fsynced, renamed over path, and the directory fsynced:
 * a crash leaves either the old file or the new one, never a mix. Read back when the
 * destination opens; the slot ties the file to one replication slot.
 */
#ifndef PGH_DEST_STDOUT_JSON_STATE_H
#define PGH_DEST_STDOUT_JSON_STATE_H

#include <jansson.h>

#include "pghost/destination.h"
#include "pghost/error.h"

#define PGH_JSON_STATE_VERSION 1

/* Replace the file at path with pos for slot, durably. PGH_ESINK (one line naming the file and
 * the system's reason) or PGH_ENOMEM on failure; the old file is then left as it was. */
int pgh_json__state_write(const char *path, const char *slot, const pgh_position *pos,
                          pgh_error *err);

/* The same, with the members of the object extra (borrowed, may be NULL) added after the
 * position's: another destination keeps its own fields in the same file (the webhook one). */
int pgh_json__state_write_extra(const char *path, const char *slot, const pgh_position *pos,
                                json_t *extra, pgh_error *err);

/* Read the file at path into *out (out->resume malloc'd or NULL: the caller frees it with
 * free()). *found is false, and *out untouched, when there is no file. PGH_ECONFIG for a file
 * that cannot be read, is not one pghost wrote, or belongs to another slot than slot. */
int pgh_json__state_read(pgh_position *out, bool *found, const char *path, const char *slot,
                         pgh_error *err);

/* The same; *extra (may be NULL) gets the whole object read (a new reference: json_decref it)
 * when *found, else NULL. */
int pgh_json__state_read_extra(pgh_position *out, bool *found, json_t **extra, const char *path,
                               const char *slot, pgh_error *err);

#endif
