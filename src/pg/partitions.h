/*
 * Partitioned tables on the source.
 *
 * A partitioned table is selected, published and applied through its root (the publication has
 * publish_via_partition_root = true, so the stream names the root). Its copy reads every leaf
 * partition as a unit of its own (source/copy_units.h), on the leaf's primary key: a root's
 * primary key holds the partition key, and every partition has it.
 */
#ifndef PGH_PG_PARTITIONS_H
#define PGH_PG_PARTITIONS_H

#include <libpq-fe.h>

#include "pg/catalog.h"
#include "pghost/error.h"

/* The leaf partitions of a partitioned root, ordered by schema and name (none for a root
 * without partitions). A leaf that is not an ordinary table, or has no primary key or a replica
 * identity without it, is PGH_EPRECOND naming it. A leaf the session's role may not read is
 * read through the root (read_root and read_filter set, catalog.h) when the root is readable,
 * and PGH_EPRECOND naming the GRANT otherwise. *out is owned by the caller
 * (pgh_pg_leaves_free). */
int pgh_pg_partition_leaves(pgh_table_info ***out, int *n, PGconn *src,
                            const pgh_table_info *root, pgh_error *err);
void pgh_pg_leaves_free(pgh_table_info **leaves, int n);

#endif
