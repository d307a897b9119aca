/*
 * pghost/file.h - the file destination: every existing row and every change of the configured
 * tables as JSON lines (docs/json-lines.md, the stdout format exactly) in files of a directory,
 * rotated by size and age.
 *
 * Layout (docs/destinations.md): with PGH_FILE_LAYOUT_PER_TABLE each table has a directory
 * <directory>/<schema>.<table>/ (bytes other than letters, digits, '_' and '-' written %XX);
 * with PGH_FILE_LAYOUT_SINGLE the files are in <directory> itself. A file is named
 * NNNNNNNNNNNNNN-LLLLLLLLLLLLLLLL.jsonl: its number (14 digits, one counter for the whole
 * destination, so names sort in the order the files were started) and the commit LSN of its
 * first line (16 hex digits). Lines of one stream, read file by file in name order, are in
 * stream order.
 *
 * Durability: flush writes out the buffered lines, fsyncs every file written since the last
 * flush (and a directory after a file was created in it), then records the position and the
 * durable length of every open file in <directory>/pghost.state (temporary file, fsync, rename,
 * fsync of the directory). Opening the destination cuts each file back to the length recorded
 * there and removes files started after it, so a restart resumes exactly where the durable
 * lines end: a consumer that reads every file in order sees each line exactly once.
 *
 * Threading: one pipeline thread, as every destination (pghost/destination.h).
 */
#ifndef PGHOST_FILE_H
#define PGHOST_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pghost/config.h"
#include "pghost/destination.h"
#include "pghost/error.h"
#include "pghost/export.h"

PGH_BEGIN_DECLS

/* The state file's name inside the directory. */
#define PGH_FILE_STATE_NAME "pghost.state"

typedef struct pgh_file_opts {
    int version;            /* PGH_FILE_OPTS_VERSION */
    const char *directory;  /* borrowed, required: created (one level) when missing */
    int64_t rotate_bytes;   /* a file is not grown past this (one longer line gets a file of its
                               own); at least PGH_CONFIG_MIN_FILE_ROTATE_BYTES */
    int64_t rotate_seconds; /* a file open this long is closed at its next line or flush; 0:
                               never */
    pgh_file_layout layout; /* per table (default) or one stream */
} pgh_file_opts;

#define PGH_FILE_OPTS_VERSION 1
#define PGH_FILE_OPTS_INIT                                                                         \
    {                                                                                              \
        .version = PGH_FILE_OPTS_VERSION, .rotate_bytes = PGH_CONFIG_DEFAULT_FILE_ROTATE_BYTES,    \
        .rotate_seconds = PGH_CONFIG_DEFAULT_FILE_ROTATE_SECONDS,                                  \
        .layout = PGH_FILE_LAYOUT_PER_TABLE                                                        \
    }

/* A file destination. PGH_ECONFIG for a wrong version, no directory or a rotate_bytes below
 * the minimum. Lines are buffered in memory up to the configuration's apply_group_max_changes
 * lines (or 1 MiB) per file before they are written out. */
PGH_API int pgh_file_destination_new(pgh_destination **out, const pgh_file_opts *opts,
                                     pgh_error *err);

/* The position a file destination of slot keeps in directory, read without opening it (pghost
 * check, status): *found is false, and *out untouched, when there is no state file.
 * out->resume is malloc'd or NULL: free() it. PGH_ECONFIG as pgh_json_state_read. */
PGH_API int pgh_file_state_read(pgh_position *out, bool *found, const char *directory,
                                const char *slot, pgh_error *err);

/* pghost teardown: remove directory's state file (and a temporary one left by a crash) and,
 * when data_files, every data file of the layout above and the stream directories left empty;
 * anything else in the directory stays. *removed: the data files removed. Missing files are
 * no error. PGH_ESINK naming what could not be removed (what was removed before stays so). */
PGH_API int pgh_file_remove(size_t *removed, const char *directory, bool data_files,
                            pgh_error *err);

PGH_END_DECLS

#endif
