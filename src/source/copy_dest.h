/*
 * Private to the copy: the destination side of one copy worker, a COPY ... FROM STDIN that stays
 * open across the worker's source batches.
 *
 * Each source batch is its own short transaction on the source (that is what keeps the source's
 * xmin moving). The destination has no such need, and every destination COPY has fixed costs:
 * a new bulk-insert buffer ring (16 MB whose buffers the backend touches for the first time:
 * about 4,000 page faults, measured at 0.1-0.2 s of CPU on a 2-core VM), and a commit that
 * waits for its WAL to be flushed. So consecutive batches of one table go into one destination
 * COPY, ended and committed when it has been open for the commit interval (which bounds the
 * destination transaction and the snapshot it holds), when the worker moves to another table,
 * and at the end of the worker. A resumable copy (--follow) writes its progress row in the same
 * transaction as the rows and commits every batch, so that an interrupted run loses at most one
 * batch (a longer interval there would also do; tests such as follow_sigterm_copy expect
 * progress right after the first batch).
 *
 * Binary COPY data starts with a header and ends with a trailer. Every source batch has both;
 * the destination COPY is given the first batch's header only, and one trailer at its end.
 * Text COPY data has neither and is passed on whole.
 */
#ifndef PGH_SOURCE_COPY_DEST_H
#define PGH_SOURCE_COPY_DEST_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/buf.h"
#include "source/copy.h"

#define PGH_COPY_DEST_COMMIT_MS 10000          /* plain copies */
#define PGH_COPY_DEST_RESUMABLE_COMMIT_MS 0    /* resumable copies: every batch */

typedef struct copy_dest {
    PGconn *conn;                /* borrowed: the worker's destination connection */
    const pgh_copy_table *table; /* borrowed: table of the open COPY; NULL when none is open */
    bool transaction;            /* an explicit transaction (BEGIN) is open */
    bool header_sent;            /* binary: the COPY has been given a header */
    int64_t opened_ms;           /* pgh_clock_ms() when the COPY began */
    int64_t commit_ms;           /* the commit interval: set by the worker */
} copy_dest;

/* Make sure a COPY into t is open; a COPY into another table is ended first (which, outside a
 * transaction, commits it). With transaction, BEGIN comes first when no transaction is open,
 * and pgh_copy__dest_commit must follow pgh_copy__dest_end. */
int pgh_copy__dest_open(copy_dest *d, const pgh_copy_table *t, bool transaction, pgh_buf *sql,
                        pgh_error *err);

/* Pass on one CopyData message of a source batch. has_header / has_trailer: the message holds
 * the batch's binary header (at its start) / trailer (its last two bytes), as the scanner found. */
int pgh_copy__dest_put(copy_dest *d, const char *buf, int len, bool has_header, bool has_trailer,
                       pgh_error *err);

/* Has the open COPY been running for the commit interval? */
bool pgh_copy__dest_due(const copy_dest *d);

/* End the open COPY successfully. Without an explicit transaction its rows are now committed;
 * with one, the caller may add statements and must then call pgh_copy__dest_commit. Errors
 * start with "copy of <schema>.<table>": the table of the COPY, which rows of several batches
 * (and ranges) went into. On error the COPY and transaction are abandoned. */
int pgh_copy__dest_end(copy_dest *d, pgh_error *err);
int pgh_copy__dest_commit(copy_dest *d, pgh_error *err);

/* Abandon the open COPY (if any): nothing since the last commit stays. */
void pgh_copy__dest_abort(copy_dest *d, const char *why);

#endif
