/*
 * dest/postgres/sink.h - the apply's own interface: every decoded change through one write
 * function, and flush. The PostgreSQL destination (destination.c) forwards the callbacks of
 * pghost/destination.h to it; nothing outside dest/postgres uses it.
 *
 * Threading: a sink is used by one thread at a time.
 */
#ifndef PGH_DEST_POSTGRES_SINK_H
#define PGH_DEST_POSTGRES_SINK_H

#include "pghost/change.h"
#include "pghost/error.h"
#include "pghost/lsn.h"

typedef struct pgh_sink pgh_sink;

typedef struct pgh_sink_ops {
    const char *name; /* "postgres", "stdout", ... */
    /* Consume one change. Changes borrowed from the decoder are valid during the call only. */
    int (*write)(pgh_sink *sink, const pgh_change *change, pgh_error *err);
    /* Make every transaction written so far durable; *out is the end LSN of the last
     * committed transaction (0 when none). */
    int (*flush)(pgh_sink *sink, pgh_lsn *out, pgh_error *err);
    /* Release everything; an open transaction is rolled back. */
    void (*free)(pgh_sink *sink);
} pgh_sink_ops;

struct pgh_sink {
    const pgh_sink_ops *ops; /* borrowed: static table of the implementation */
};

static inline int pgh_sink_write(pgh_sink *s, const pgh_change *c, pgh_error *err)
{
    return s->ops->write(s, c, err);
}

static inline int pgh_sink_flush(pgh_sink *s, pgh_lsn *out, pgh_error *err)
{
    return s->ops->flush(s, out, err);
}

static inline void pgh_sink_free(pgh_sink *s)
{
    if (s)
        s->ops->free(s);
}

#endif
