/*
 * Private to the PostgreSQL destination (src/dest/postgres): what its files share besides the
 * apply (apply.h) and the copy sessions (copy_in.h).
 *
 *   destination.c  the pgh_destination_ops and pgh_keyed_ops tables, the run's tables
 *   apply.c ...    changes -> statements (apply.h)
 *   copy_in.c      the copy workers' COPY FROM STDIN sessions
 *   checks.c       the destination half of the preflight
 *   selection.c    the tables of a resumed --follow run
 *   replace.c      rows copied again during the catch-up
 *   sequences.c    sequences at the checkpoint and for pghost sync-sequences
 *   handoff.c      a native subscription taking over the slot
 */
#ifndef PGH_DEST_POSTGRES_DESTINATION_H
#define PGH_DEST_POSTGRES_DESTINATION_H

#include <libpq-fe.h>

#include "pg/catalog.h"
#include "pghost/config.h"
#include "pghost/keyed.h"

/* A copy of fresh with the tables a --follow run recorded at its start (*out NULL when none
 * were), after one warning naming the differences with what fresh's patterns match now. */
int pgh_postgres__resume_tables(pgh_config **out, PGconn *dst, const pgh_config *fresh,
                                pgh_error *err);

/* Replace the row at row's key in dst (the table described by info) with values (upsert of
 * every column), or delete it when ncolumns is 0. One autocommit statement. */
int pgh_postgres__replace_row(PGconn *conn, const pgh_table_info *dst, const pgh_recopy_row *row,
                              const char *const *columns, const char *const *values,
                              int ncolumns, pgh_error *err);

#endif
