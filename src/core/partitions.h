/*
 * Private to src/core: partitioned source tables.
 *
 * A partitioned table is selected, published and applied through its root (the publication has
 * publish_via_partition_root = true, so the stream names the root). Its copy reads every leaf
 * partition as a copy unit of its own, in parallel, each with its own key ranges and keyset
 * batches on the leaf's primary key (a root's primary key holds the partition key, and every
 * partition has it), and writes into the destination table of the root, which routes rows to
 * its own partitions when it is partitioned too, or holds them all when it is not.
 */
#ifndef PGH_CORE_PARTITIONS_H
#define PGH_CORE_PARTITIONS_H

#include <libpq-fe.h>

#include "core_internal.h"
#include "pghost/copy.h"

/* The leaf partitions of a partitioned root, ordered by schema and name (none for a root
 * without partitions). A leaf that is not an ordinary table, or has no primary key or a replica
 * identity without it, is PGH_EPRECOND naming it. *out is owned by the caller
 * (pgh_core__leaves_free). */
int pgh_core__partition_leaves(pgh_table_info ***out, int *n, PGconn *src,
                               const pgh_table_info *root, pgh_error *err);
void pgh_core__leaves_free(pgh_table_info **leaves, int n);

/* The copy units of a run: one per ordinary table, one per leaf of a partitioned one. */
typedef struct copy_units {
    int n;
    pgh_copy_table *units;   /* owned, n entries */
    int *table;              /* owned, n entries: the run_tables index each unit copies into */
    pgh_table_info **leaves; /* owned, nleaves entries: the leaves units point at */
    int nleaves;
} copy_units;

int pgh_core__copy_units_build(copy_units *out, PGconn *src, const run_tables *t,
                               pgh_copy_format_choice format, pgh_error *err);
void pgh_core__copy_units_dispose(copy_units *u);

/* "ONLY " for an ordinary table, "" for a partitioned one (ONLY on a root reads no row and
 * cannot be truncated). */
const char *pgh_core__only(const pgh_table_info *t);

#endif
