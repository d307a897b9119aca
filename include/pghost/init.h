/*
 * pghost/init.h - `pghost init`: make the source ready for a sync, idempotently.
 *
 * pgh_init_run checks the source (wal_level, a free replication slot and WAL sender, the
 * REPLICATION attribute, a usable key and replica identity on every selected table) and only
 * when every check passes writes: the publication when it is missing (FOR TABLE the selected
 * tables WITH (publish_via_partition_root = true), marked as pghost's by its comment, so that
 * pghost teardown drops it and nothing else), the selected tables missing from a publication
 * pghost created, and the DDL capture (event triggers) when the source role may create it.
 * A publication someone else created is never changed: what it lacks is reported with the
 * statement to run. Running it again changes nothing.
 */
#ifndef PGHOST_INIT_H
#define PGHOST_INIT_H

#include <stdbool.h>

#include "pghost/config.h"
#include "pghost/error.h"
#include "pghost/export.h"

PGH_BEGIN_DECLS

/* The comment pghost puts on a publication it created; teardown drops only those. */
#define PGH_INIT_PUBLICATION_MARK "created by pghost init for slot "

typedef enum pgh_init_publication {
    PGH_INIT_PUB_CREATED = 0, /* created by this run */
    PGH_INIT_PUB_EXTENDED,    /* pghost's own, the missing tables added by this run */
    PGH_INIT_PUB_UNCHANGED,   /* already there and covering every selected table */
} pgh_init_publication;

typedef struct pgh_init_result {
    int wal_senders_free; /* max_wal_senders minus WAL senders running */
    int slots_free;       /* max_replication_slots minus slots that exist */
    int ntables;          /* tables selected (patterns expanded) */
    int tables_added;     /* tables added to the publication (EXTENDED) */
    pgh_init_publication publication;
    bool publication_ours;  /* the publication carries pghost's mark */
    bool ddl_installed;     /* the DDL capture is in place after the run */
    bool ddl_was_installed; /* ... and was already before it */
    char ddl_reason[256];   /* why it is not installed, when it is not */
} pgh_init_result;

/*
 * Run the checks and create what is missing, for cfg (its patterns are expanded against the
 * source, on a copy: cfg is never changed). A failed check is PGH_EPRECOND, a pattern matching nothing PGH_ECONFIG,
 * both with one line saying what to do, and nothing written. Tables lacking a usable key are
 * all listed in the one message, each with the statement that fixes it.
 */
PGH_API int pgh_init_run(pgh_init_result *out, const pgh_config *cfg, pgh_error *err);

PGH_END_DECLS

#endif
