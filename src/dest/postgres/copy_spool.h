/*
 * COPY data on its way to a destination whose connection does not block (copy_in.c): the data
 * goes to libpq 64 kB at a time, only once libpq has sent what it held before. Until a
 * deadline the caller sets, put waits for the destination as a blocking connection would (the
 * source then waits too, and its data comes in large reads); after it, what the destination
 * cannot take yet waits here, in a queue of 64 kB chunks, and put returns at once.
 *
 * Why not leave it all to libpq: a nonblocking connection's output buffer grows to hold
 * whatever is given, and every partial send moves the rest of that buffer to its start, so
 * megabytes waiting there cost a copy of themselves per send (measured: 40% more CPU in pghost
 * for a copy of 10,000,000 rows). Here libpq holds at most one chunk.
 *
 * Not thread-safe: one per copy session. Zero-initialised, it is empty and ready.
 */
#ifndef PGH_DEST_POSTGRES_COPY_SPOOL_H
#define PGH_DEST_POSTGRES_COPY_SPOOL_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "pghost/error.h"

#define PGH_COPY_SPOOL_CHUNK 65536 /* bytes per CopyData message to the destination */

typedef struct pgh_copy_chunk pgh_copy_chunk;

typedef struct pgh_copy_spool {
    pgh_copy_chunk *head;  /* owned: full chunks waiting, head first to the server */
    pgh_copy_chunk *tail;
    pgh_copy_chunk *fill;  /* owned: the chunk being filled, not queued yet; NULL when none */
    pgh_copy_chunk *spare; /* owned: one sent chunk kept for the next fill */
    size_t queued;         /* bytes in head..tail */
    size_t most;           /* queued past this, put waits for the destination (0: never) */
    int64_t wait_until;    /* pgh_clock_ms(): before it, put waits for the destination; 0:
                              never (only past most) */
} pgh_copy_spool;

/* Add COPY data: gathered into chunks; a full chunk goes to libpq when it has room; else put
 * waits for room until s->wait_until, then leaves it in the queue; past s->most queued bytes
 * it waits for the destination to take them, whatever the clock. */
int pgh_copy_spool_put(pgh_copy_spool *s, PGconn *conn, const char *data, size_t len,
                       pgh_error *err);

/* Give everything to the destination, waiting as long as that takes, and flush libpq. */
int pgh_copy_spool_drain(pgh_copy_spool *s, PGconn *conn, pgh_error *err);

/* Forget what was not given to libpq yet (the COPY is failed anyway). */
void pgh_copy_spool_discard(pgh_copy_spool *s);

/* Free everything; s is empty and reusable afterwards. */
void pgh_copy_spool_dispose(pgh_copy_spool *s);

#endif
