/*
 * The destination's sequences set from the source's (the end of a sync's catch-up; pghost
 * sync-sequences is pghost/sequences.h): see sequences.c.
 */
#ifndef PGH_DEST_POSTGRES_SEQUENCES_H
#define PGH_DEST_POSTGRES_SEQUENCES_H

#include <libpq-fe.h>

#include "pg/catalog.h"
#include "pghost/error.h"

/* Set every sequence of the n copied tables (srcs[i] copied into dsts[i]) that is owned by a
 * column or called by a column default with nextval(), on dst from src. set_count: one count
 * per table. */
int pgh_postgres_sync_sequences(int *set_count, PGconn *src, PGconn *dst,
                                pgh_table_info *const *srcs, pgh_table_info *const *dsts, int n,
                                pgh_error *err);

#endif
