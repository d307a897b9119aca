/*
 * The publication's view of a table: the row filter and column list a native subscriber would
 * honour (PostgreSQL 15, pg_publication_tables.rowfilter and .attnames).
 *
 * The replicate preflight narrows every run table's description with it, so that the copy, the
 * re-copy by key and the event path's chunks read exactly the rows and columns the stream will
 * send: the columns outside the list are dropped from the description, and the filter is kept
 * as SQL text (deparsed by the server, not user input) for the copy to AND with its keyset
 * predicate. A table listed several times (one publication can hold it once; the rule is
 * PostgreSQL's for several) gets the OR of the filters and the union of the columns.
 *
 * Refused (PGH_EPRECOND, one line with the fix): a column list without every key column. A
 * partitioned table's entry (published through its root) holds for every leaf: the copy of a
 * leaf takes the root's filter and columns (pgh_source_publication_inherit).
 */
#ifndef PGH_SOURCE_PUBLICATION_H
#define PGH_SOURCE_PUBLICATION_H

#include <libpq-fe.h>

#include "pg/catalog.h"
#include "pghost/error.h"

/* Narrow t to what publication publishes of it: sets t->row_filter (owned by t) and drops the
 * columns outside its column list. A table the publication does not list, or a server before
 * PostgreSQL 15, leaves t as it is. One query on src. */
int pgh_source_publication_narrow(pgh_table_info *t, PGconn *src, const char *publication,
                                  pgh_error *err);

/* A leaf of the partitioned root: the root's (narrowed) row filter and columns, as the root's
 * publication entry publishes the leaf's rows. */
int pgh_source_publication_inherit(pgh_table_info *leaf, const pgh_table_info *root,
                                   pgh_error *err);

#endif
