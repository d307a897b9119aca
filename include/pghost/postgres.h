/*
 * pghost/postgres.h - the PostgreSQL destination: tables on another server, kept equal to the
 * source's by key.
 *
 * Everything comes from the configuration the pipeline opens it with: destination_connection,
 * the table mapping, state_schema (where the position is kept, in the same transaction as the
 * data: exactly once), batch_size (apply_group_max_changes), schema_drift, on_missing_row,
 * on_conflict_action, disable_triggers, create_destination_tables and copy_method. It is a
 * keyed destination with the raw COPY path (pghost/keyed.h): existing rows are copied in
 * parallel batches straight from the source's COPY into the destination's, and changes are
 * applied with prepared, pipelined statements (docs/apply.md). DDL captured on the source is
 * replayed in order with the data (docs/ddl.md).
 *
 * With copy_method: watermarks in the configuration it opens with, it is an event destination
 * instead: table_begin empties a table, table_rows upserts rows by key, and changes take
 * lenient rules until a commit's position has the phase "follow" (strict ones after); the
 * position with its resume token and phase is stored with every destination commit. A caller
 * other than the pipeline (an applier replaying a stream) that feeds existing rows through
 * table_begin/table_rows/table_end opens it with copy_method: watermarks too; otherwise those
 * callbacks fail with PGH_ECONFIG.
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
