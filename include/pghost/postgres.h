/*
 * pghost/postgres.h - the PostgreSQL destination: tables on another server, kept equal to the
 * source's by key.
 *
 * Everything comes from the configuration the pipeline opens it with: destination_connection,
 * the table mapping, state_schema (where the position is kept, in the same transaction as the
 * data: exactly once), apply_group_max_changes, schema_drift and create_destination_tables. It
 * is a keyed destination with the raw COPY path (pghost/keyed.h): existing rows are copied in
 * parallel batches straight from the source's COPY into the destination's, and changes are
 * applied with prepared, pipelined statements (docs/apply.md). DDL captured on the source is
 * replayed in order with the data (docs/ddl.md).
 */
#ifndef PGHOST_POSTGRES_H
#define PGHOST_POSTGRES_H

#include "pghost/config.h"
#include "pghost/destination.h"
#include "pghost/error.h"
#include "pghost/export.h"

PGH_BEGIN_DECLS

/* A PostgreSQL destination (connects when the pipeline opens it). */
PGH_API int pgh_postgres_destination_new(pgh_destination **out, pgh_error *err);

/*
 * Hand cfg's slot, positioned at a sync's checkpoint, to a native subscription: CREATE
 * SUBSCRIPTION name on the destination with create_slot = false, copy_data = false.
 */
PGH_API int pgh_postgres_handoff(const pgh_config *cfg, const char *subscription,
                                 pgh_error *err);

PGH_END_DECLS

#endif
