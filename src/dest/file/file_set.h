/*
 * dest/file/file_set.h - the data files of the file destination (private to dest/file/).
 *
 * A set holds one open file per stream (a table's directory, or the directory itself for the
 * single layout), appends lines to it through a buffer, rotates it by size and age, and makes
 * everything written durable on request. Every file it starts gets the next number of one
 * counter (next_file), which the state file records: files at or above the recorded number
 * were started after the last durable state.
 *
 * Lengths: `length` counts every byte appended (buffered or written), `durable` the bytes
 * fsynced. Closing a file (rotation) writes it out and fsyncs it first; closing the set
 * discards what is buffered and syncs nothing (what was not flushed is cut back on the next
 * open: file_recover.c).
 *
 * One thread at a time.
 */
#ifndef PGH_DEST_FILE_FILE_SET_H
#define PGH_DEST_FILE_FILE_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dest/json/json_state.h"
#include "pghost/config.h"
#include "pghost/error.h"
#include "pghost/lsn.h"

/* Lines are written out once a file's buffer would hold more than this many bytes. A buffer
 * grows from PGH_FILE_BUFFER_MIN_BYTES as needed and is released at each sync, so memory
 * follows the files written since the last flush. */
#define PGH_FILE_BUFFER_BYTES ((size_t)1 << 20)
#define PGH_FILE_BUFFER_MIN_BYTES ((size_t)16 << 10)

typedef struct pgh_file_out {
    char *stream; /* owned: the stream's directory name ("" for the single layout) */
    char *name;   /* owned: path relative to the set's directory */
    int fd;       /* owned, -1 when closed */
    char *buf;    /* owned: lines not written out yet (buf_len bytes) */
    size_t buf_len;
    size_t buf_cap;    /* bytes allocated at buf (0: none) */
    size_t buf_lines;  /* lines in buf */
    uint64_t length;   /* bytes appended since the file was started */
    uint64_t durable;  /* bytes fsynced */
    int64_t opened_ms; /* pgh_clock_ms() when started */
} pgh_file_out;

typedef struct pgh_file_set {
    char *dir; /* owned: the destination's directory */
    pgh_file_layout layout;
    uint64_t rotate_bytes;
    int64_t rotate_ms;  /* 0: never by age */
    size_t max_lines;   /* buffered lines per file before they are written out */
    uint64_t next_file; /* the number the next file gets */
    pgh_file_out *outs; /* owned: the open files, nouts entries (cap allocated) */
    size_t nouts, cap;
    bool changed; /* a line was appended or a file started or closed since the last
                     pgh_file__set_state */
} pgh_file_set;

/* Set up s (caller owns the struct) for dir, with nothing open. PGH_ENOMEM. */
int pgh_file__set_init(pgh_file_set *s, const char *dir, pgh_file_layout layout,
                       uint64_t rotate_bytes, int64_t rotate_seconds, size_t max_lines,
                       pgh_error *err);
/* Close every file without syncing (buffered lines are dropped) and release s's insides. */
void pgh_file__set_dispose(pgh_file_set *s);

/* The stream a table's lines go to: "<schema>.<table>" with bytes other than letters, digits,
 * '_' and '-' written %XX (per table), or "" (single). *out malloc'd. PGH_ENOMEM. */
int pgh_file__stream_name(char **out, const pgh_file_set *s, const char *schema, const char *table,
                          pgh_error *err);

/* Append one line (with its newline) to the stream's open file, starting one first when there
 * is none, when it is older than the age limit, or when the line would take it past
 * rotate_bytes. first_lsn names a new file (the commit LSN of its first line). PGH_ESINK
 * naming the file on a failed write, create or sync. */
int pgh_file__append(pgh_file_set *s, const char *stream, pgh_lsn first_lsn, const char *line,
                     size_t len, pgh_error *err);

/* Write out every buffer, fsync every file with bytes not durable yet, then close the files
 * past the age limit (they are durable). PGH_ESINK naming the file. */
int pgh_file__set_sync(pgh_file_set *s, pgh_error *err);

/* *out: next_file and the durable length of every open file (names copied), for the state
 * file; clears `changed`. Call after pgh_file__set_sync. PGH_ENOMEM. */
int pgh_file__set_state(pgh_json_state_files *out, pgh_file_set *s, pgh_error *err);

/* Make the directory hold exactly what state describes (NULL: no state file): files listed
 * are cut back to their durable length, files numbered at or above its next_file are removed,
 * the others (complete files) kept; next_file is taken over. Without a state, a directory that
 * already holds data files is refused (PGH_ECONFIG): they belong to an earlier run. Nothing may
 * be open. The directory is created (one level) when missing. PGH_ESINK, PGH_ECONFIG. */
int pgh_file__recover(pgh_file_set *s, const pgh_json_state_files *state, pgh_error *err);

/* The number of a data file's name (NNNNNNNNNNNNNN-LLLLLLLLLLLLLLLL.jsonl); false for any other
 * name. */
bool pgh_file__data_file_number(uint64_t *out, const char *name);

/* PGH_ESINK: "file D/N: <doing> failed: <reason>" (errnum from errno). */
int pgh_file__failed(const char *dir, const char *name, const char *doing, int errnum,
                     pgh_error *err);

/* fsync the directory dir/sub (sub may be ""). Ignores EINVAL (file systems that cannot sync a
 * directory need not). PGH_ESINK. */
int pgh_file__sync_dir(const char *dir, const char *sub, pgh_error *err);

#endif
