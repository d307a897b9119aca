/*
 * dest/json/json_state.h - the state file of the JSON-lines destinations (private to
 * dest/stdout/, dest/file/ and dest/webhook/).
 *
 * One JSON object on one line, the position the destination's lines are durable up to:
 *
 *   {"version":1,"slot":"pghost_app","lsn":"0/16B37D0","checkpoint":"0/16B0000",
 *    "phase":"follow","resume":null}
 *
 * The file destination adds its data files: the number the next new file gets, and the durable
 * length of each file still open (names relative to its directory):
 *
 *   ...,"next_file":12,"files":{"public.t/00000000000011-0000000001A2B3C4.jsonl":65536}}
 *
 * Written to "<path>.tmp", flushed and fsynced, renamed over path, and the directory fsynced:
 * a crash leaves either the old file or the new one, never a mix. Read back when the
 * destination opens; the slot ties the file to one replication slot.
 */
#ifndef PGH_DEST_JSON_JSON_STATE_H
#define PGH_DEST_JSON_JSON_STATE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "pghost/destination.h"
#include "pghost/error.h"

#define PGH_JSON_STATE_VERSION 1

/* One data file of the file destination and its durable length in bytes. */
typedef struct pgh_json_state_file {
    char *name;      /* owned: relative to the destination's directory */
    uint64_t length; /* bytes of whole lines made durable */
} pgh_json_state_file;

/* The file destination's data files, as its state file records them. */
typedef struct pgh_json_state_files {
    uint64_t next_file;         /* the number the next data file gets */
    size_t n;                   /* entries in files */
    pgh_json_state_file *files; /* owned (names too), n entries */
} pgh_json_state_files;

/* Free f's insides; f is then empty (next_file 0). */
void pgh_json__state_files_dispose(pgh_json_state_files *f);

/* Replace the file at path with pos for slot (and files, when not NULL), durably. PGH_ESINK (one
 * line naming the file and the system's reason) or PGH_ENOMEM on failure; the old file is then
 * left as it was. */
int pgh_json__state_write(const char *path, const char *slot, const pgh_position *pos,
                          const pgh_json_state_files *files, pgh_error *err);

/* The same, with the members of the object extra (borrowed, may be NULL) added after the
 * position's: another destination keeps its own fields in the same file (the webhook one). */
int pgh_json__state_write_extra(const char *path, const char *slot, const pgh_position *pos,
                                json_t *extra, pgh_error *err);

/* Read the file at path into *out (out->resume malloc'd or NULL: the caller frees it with
 * free()) and, when files is not NULL, its data files into *files (empty, next_file 0, when the
 * state file has none; the caller disposes of it). *found is false, and *out and *files
 * untouched, when there is no file. PGH_ECONFIG for a file that cannot be read, is not one
 * pghost wrote, or belongs to another slot than slot. */
int pgh_json__state_read(pgh_position *out, bool *found, const char *path, const char *slot,
                         pgh_json_state_files *files, pgh_error *err);

/* The same without files; *extra (may be NULL) gets the whole object read (a new reference:
 * json_decref it) when *found, else NULL. */
int pgh_json__state_read_extra(pgh_position *out, bool *found, json_t **extra, const char *path,
                               const char *slot, pgh_error *err);

#endif
