/*
 * The copy units of a run: one per ordinary table, one per leaf partition of a partitioned
 * one (pg/partitions.h). Each unit is copied in its own key ranges and batches, in parallel
 * with the others, and written into the destination table of its configured table.
 */
#ifndef PGH_SOURCE_COPY_UNITS_H
#define PGH_SOURCE_COPY_UNITS_H

#include <libpq-fe.h>

#include "pg/catalog.h"
#include "source/copy.h"

typedef struct copy_units {
    int n;
    pgh_copy_table *units;   /* owned, n entries */
    int *table;              /* owned, n entries: the index of the configured table each unit
                                copies into */
    pgh_table_info **leaves; /* owned, nleaves entries: the leaves units point at */
    int nleaves;
} copy_units;

/* The units of n configured tables (srcs[i] on the source, copied into dests[i], its quoted
 * destination name; both borrowed for the life of the units), in format, except the tables
 * whose text_only[i] is true (text_only may be NULL): in text. keyless false: the tables with
 * a key (the batched copy); true: those without one (source/copy_snapshot.h), one unit each. */
int pgh_copy_units_build(copy_units *out, PGconn *src, pgh_table_info *const *srcs,
                         const char *const *dests, int n, pgh_copy_format_choice format,
                         const bool *text_only, bool keyless, pgh_error *err);
void pgh_copy_units_dispose(copy_units *u);

#endif
