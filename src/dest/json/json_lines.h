/*
 * dest/json/json_lines.h - the JSON-lines writer (private to the JSON-lines destinations).
 *
 * Builds one line per row change, TRUNCATEd table and existing row, in the format of
 * docs/json-lines.md, and writes each with one fwrite, or hands it to an emit callback. Three
 * destinations share it: stdout (pghost/json.h, lines to a FILE *), files (pghost/file.h, lines
 * through emit, routed to the file of their table) and the webhook (pghost/webhook.h, lines
 * through emit, batched into requests).
 *
 * The writer keeps the open transaction's BEGIN fields (they repeat on every line), the end LSN
 * of the last COMMIT, and a sticky failure flag: after a write or flush failure every call
 * fails with PGH_ESINK, because the output is incomplete. One thread at a time.
 */
#ifndef PGH_DEST_JSON_JSON_LINES_H
#define PGH_DEST_JSON_JSON_LINES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pghost/change.h"
#include "pghost/config.h"
#include "pghost/destination.h"
#include "pghost/error.h"
#include "util/buf.h"

/* Where a line stands in the stream (docs/json-lines.md): lines compare by (commit_lsn, lsn,
 * seq), strictly increasing within a run. */
typedef struct pgh_json_line_pos {
    pgh_lsn commit_lsn; /* the transaction's commit LSN ("commit_lsn") */
    pgh_lsn lsn;        /* the change's or watermark's LSN ("lsn") */
    uint64_t seq;       /* "seq", 0 for lines that have none */
} pgh_json_line_pos;

/* Where a finished line goes instead of out: rel is the table the line names (borrowed), line
 * the whole line with its newline (len bytes, not NUL-terminated, borrowed for the call), pos
 * its position. 0, or a negative PGH_E* with err set (the writer then fails as it does for a
 * failed write). */
typedef int (*pgh_json_emit_fn)(void *payload, const pgh_relation *rel, const char *line,
                                size_t len, const pgh_json_line_pos *pos, pgh_error *err);

typedef struct pgh_json_lines {
    FILE *out;                    /* borrowed: where lines go, never closed here; NULL with emit */
    pgh_json_emit_fn emit;        /* NULL: lines go to out */
    void *emit_payload;           /* borrowed: passed to emit */
    const pgh_relation *line_rel; /* borrowed: the table of the line being built */
    pgh_json_line_pos at;         /* the position of the line being built */
    const char *out_name;         /* borrowed: names out in messages */
    const pgh_table_map *tables;  /* borrowed: only these source tables are written */
    size_t ntables;               /* entries in tables; 0 writes every table */
    pgh_buf line;                 /* owned: the line being built, reused */
    bool in_txn;                  /* between BEGIN and COMMIT */
    char txn_fields[160];         /* ,"commit_lsn":..,"commit_time":..,"xid":.. of the open txn */
    pgh_lsn written;              /* end LSN of the last COMMIT whose lines were all written */
    pgh_lsn flushed;              /* end LSN of the last COMMIT whose lines were all flushed */
    bool failed;                  /* a write or flush failed: the output is incomplete, stop */
} pgh_json_lines;

/* Set up w (caller owns the struct) to write to out (NULL: set emit before the first line); no
 * table filter yet. */
void pgh_json__init(pgh_json_lines *w, FILE *out, const char *out_name);
/* Release w's insides; w can be initialised again. */
void pgh_json__dispose(pgh_json_lines *w);

/* Before the first line: when out is a regular file positioned at its end (appended to) whose
 * last byte is not a newline, the torn last line of a run that was killed, write a newline so
 * that the lines of this run start on a line of their own. PGH_ESINK when that write fails. */
int pgh_json__start(pgh_json_lines *w, pgh_error *err);

/* PGH_ESINK when an earlier write or flush failed, else 0. */
int pgh_json__check(const pgh_json_lines *w, pgh_error *err);

/* BEGIN: remember the transaction's fields. COMMIT: move `written` to its end LSN. */
int pgh_json__begin(pgh_json_lines *w, const pgh_change *c, pgh_error *err);
int pgh_json__commit(pgh_json_lines *w, const pgh_change *c, pgh_error *err);

/* One line for an INSERT, UPDATE or DELETE of a listed table (nothing for other tables). */
int pgh_json__row(pgh_json_lines *w, const pgh_change *c, pgh_error *err);
/* One line per listed table of a TRUNCATE. */
int pgh_json__truncate(pgh_json_lines *w, const pgh_change *c, pgh_error *err);

/* Existing rows of t->table (nothing when the table is not listed): the "snapshot_start" line
 * (with "reload":true when t->reload), one "snapshot" line per row (PGH_ESINK for a row holding
 * a value that was not sent), the "snapshot_end" line. */
int pgh_json__table_begin(pgh_json_lines *w, const pgh_table_rows *t, pgh_error *err);
int pgh_json__table_rows(pgh_json_lines *w, const pgh_table_rows *t, const pgh_tuple *rows,
                         size_t n, pgh_error *err);
int pgh_json__table_end(pgh_json_lines *w, const pgh_table_rows *t, pgh_error *err);

/* fflush the stream, fsync it when it is a regular file; `flushed` becomes `written`. With emit
 * the callback's owner makes lines durable: this only checks the sticky failure. */
int pgh_json__flush(pgh_json_lines *w, pgh_error *err);

/* For the destinations' callbacks: rc, after naming lsn in a failure that names no LSN yet. */
int pgh_json__at_lsn(int rc, pgh_lsn lsn, pgh_error *err);
/* 0 when c is of kind want, else PGH_EPROTO naming the destination and its callback. */
int pgh_json__expect_kind(const pgh_change *c, pgh_change_kind want, const char *destination,
                          const char *callback, pgh_error *err);

#endif
