/*
 * pghost/sequences.h - setting the destination's sequences from the source (for a cutover).
 *
 * The sequences of a selected table are those owned by one of its columns (serial, identity) and
 * those its column defaults call with nextval('...'). Each is set on the destination with
 * setval(value, is_called) from the source's current last_value and is_called, so the next
 * nextval() on the destination returns what it would have returned on the source. A destination
 * sequence is found through the same column of the destination table (owned or in its default).
 * Setting is idempotent. replicate does the same at the end of its catch-up.
 */
#ifndef PGHOST_SEQUENCES_H
#define PGHOST_SEQUENCES_H

#include <stdbool.h>
#include <stdint.h>

#include "pghost/config.h"
#include "pghost/error.h"
#include "pghost/export.h"

PGH_BEGIN_DECLS

/* One sequence handled (all strings borrowed for the duration of the callback). */
typedef struct pgh_sequence_set {
    const char *table;           /* schema.name on the source */
    const char *column;          /* the column that owns or uses it */
    const char *source_sequence; /* qualified, quoted as the source names it */
    const char *dest_sequence;   /* the same on the destination; NULL when it has none there */
    const char *last_value;      /* the source's last_value, as text */
    bool is_called;              /* the source's is_called */
} pgh_sequence_set;

typedef void (*pgh_sequence_fn)(const pgh_sequence_set *s, void *payload);

/*
 * Connect to both servers, resolve the configured tables, and set every sequence of every table.
 * fn (may be NULL) is called once per sequence, after it was set (or skipped, dest_sequence
 * NULL). *set_count gets the number set. A missing table is PGH_EPRECOND.
 */
PGH_API int pgh_sequences_sync(int *set_count, const pgh_config *cfg, pgh_sequence_fn fn, void *payload,
                       pgh_error *err);

PGH_END_DECLS

#endif
