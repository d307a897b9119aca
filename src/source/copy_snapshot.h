/*
 * source/copy_snapshot.h - the copy of tables without a key (source/keyless.c), in the
 * snapshot a replication slot exported when it was created (docs/sync.md).
 *
 * One source session: BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION
 * SNAPSHOT; then each table whole in one COPY (text format) into one copy session of the
 * destination (pghost/keyed.h), whose rows are committed together at the end; then COMMIT. A
 * failure leaves nothing of them on the destination. The session holds the source's xmin for
 * the copy's whole duration. Runs on the caller's thread.
 */
#ifndef PGH_SOURCE_COPY_SNAPSHOT_H
#define PGH_SOURCE_COPY_SNAPSHOT_H

#include <stdatomic.h>

#include "source/copy.h"

typedef struct pgh_copy_snapshot_opts {
    const char *source_conninfo; /* borrowed */
    const char *app_name;        /* borrowed */
    const char *snapshot;        /* borrowed: the exported snapshot's name */
    const pgh_keyed_ops *keyed;  /* borrowed: the destination's copy sessions */
    void *user;                  /* borrowed: the destination's user pointer for keyed */
    atomic_int *cancel;          /* borrowed, may be NULL: non-zero stops the copy */
    int first_unit;              /* the copy target's unit of tables[0]; the others follow */
    /* Called once the snapshot is taken (may be NULL): the exporting session may end. */
    void (*imported)(void *payload);
    void *payload;
} pgh_copy_snapshot_opts;

/* Copy the n tables (each counted in its rows, bytes and ranges); 0, or the first error. */
int pgh_copy_snapshot_run(pgh_copy_table *tables, int n, const pgh_copy_snapshot_opts *opts,
                          pgh_error *err);

#endif
