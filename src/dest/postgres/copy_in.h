/*
 * The PostgreSQL destination's copy sessions (pghost/keyed.h): one per copy worker, each with
 * its own destination connection, holding a COPY ... FROM STDIN open across the worker's
 * source batches.
 *
 * Each source batch is its own short transaction on the source (that is what keeps the source's
 * xmin moving). The destination has no such need, and every destination COPY has fixed costs:
 * a new bulk-insert buffer ring (16 MB whose buffers the backend touches for the first time:
 * about 4,000 page faults, measured at 0.1-0.2 s of CPU on a 2-core VM), and a commit that
 * waits for its WAL to be flushed. So consecutive batches of one copy unit go into one
 * destination COPY, ended and committed when it has been open for the commit interval (which
 * bounds the destination transaction and the snapshot it holds), when the worker moves to
 * another unit, and at the end of the worker. The COPY runs inside an explicit transaction;
 * each batch's mark (its range, last key, done) waits in the session until that transaction
 * ends, and a resumable session writes the marks' progress rows just before the COMMIT, so the
 * rows and the progress that describes them become durable together and an interrupted run
 * loses at most one commit interval of each worker's copy.
 *
 * Binary COPY data starts with a header and ends with a trailer. Every source batch has both;
 * the destination COPY is given the first batch's header only, and one trailer at its end.
 * Text COPY data has neither and is passed on whole.
 */
#ifndef PGH_DEST_POSTGRES_COPY_IN_H
#define PGH_DEST_POSTGRES_COPY_IN_H

#include <stdbool.h>

#include "pg/catalog.h"
#include "pghost/config.h"
#include "pghost/keyed.h"

#define PGH_COPY_IN_COMMIT_MS 10000 /* plain copies: commit about this often */

/* What a session needs from its destination; every pointer borrowed for the session's life. */
typedef struct copy_in_ctx {
    const char *conninfo;           /* the destination */
    bool replica_role;              /* SET session_replication_role = replica */
    pgh_table_info *const *tables;  /* destination tables, by configured table index */
    int ntables;
    const char *state_schema;       /* resumable copies: where progress is recorded */
    const char *slot;
    pgh_on_conflict_action on_conflict; /* error: COPY into the table; update, nothing: COPY
                                           into a staging table (stage.h), then one upsert or
                                           insert-if-missing per ended COPY */
} copy_in_ctx;

int pgh_postgres__copy_open(void **session, const copy_in_ctx *ctx, bool resumable,
                            pgh_error *err);
int pgh_postgres__copy_table(void *session, const pgh_copy_target *t, pgh_error *err);
int pgh_postgres__copy_data(void *session, const char *data, size_t len, bool has_header,
                            bool has_trailer, pgh_error *err);
int pgh_postgres__copy_batch_end(void *session, const pgh_copy_mark *mark, pgh_error *err);
int pgh_postgres__copy_finish(void *session, pgh_error *err);
void pgh_postgres__copy_abort(void *session, const char *why);
void pgh_postgres__copy_close(void *session);

#endif
