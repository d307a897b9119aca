/*
 * pghost/lifecycle.h - what `pghost status` shows and what `pghost teardown` removes.
 */
#ifndef PGHOST_LIFECYCLE_H
#define PGHOST_LIFECYCLE_H

#include <stdbool.h>
#include <stdint.h>

#include "pghost/config.h"
#include "pghost/error.h"
#include "pghost/export.h"

PGH_BEGIN_DECLS

/* The position pghost keeps on the destination for the slot. */
typedef struct pgh_status_state {
    bool found;             /* a position row exists for the slot */
    char phase[48];         /* "copy", "catchup", "indexes", "follow", "snapshot" ... */
    pgh_lsn applied_lsn;    /* end LSN of the last source transaction applied */
    pgh_lsn checkpoint_lsn; /* where the sync ended */
} pgh_status_state;

/* Copy progress of one table of a resumable run. */
typedef struct pgh_status_table {
    char name[160];         /* destination table, "schema"."name" */
    int64_t ranges_total;   /* key ranges planned */
    int64_t ranges_done;    /* key ranges copied completely */
    int64_t rows_copied;    /* rows copied and committed so far, every range together */
} pgh_status_table;

#define PGH_STATUS_MAX_TABLES 64

/* Changes skipped while following because their row was missing (on_missing_row: skip). */
typedef struct pgh_status_missing {
    char name[160];  /* destination table, schema.name */
    int64_t skipped; /* UPDATEs and DELETEs skipped, committed with the position */
} pgh_status_missing;

typedef struct pgh_status {
    bool slot_exists;
    bool slot_active;       /* a walsender is streaming from it */
    int slot_active_pid;    /* that walsender's pid, 0 when inactive */
    pgh_lsn restart_lsn;    /* oldest WAL the slot keeps */
    pgh_lsn confirmed_lsn;  /* confirmed_flush_lsn */
    pgh_lsn source_lsn;     /* pg_current_wal_lsn() on the source */
    int64_t retained_bytes; /* WAL the slot holds back: source_lsn - restart_lsn */
    pgh_status_state state; /* the destination's position row */
    int ntables;            /* tables with a saved copy plan (at most PGH_STATUS_MAX_TABLES) */
    pgh_status_table tables[PGH_STATUS_MAX_TABLES];
    int nmissing;           /* tables with skipped missing rows (<state_schema>.missing_rows) */
    pgh_status_missing missing[PGH_STATUS_MAX_TABLES];
} pgh_status;

/* Read the slot on the source and the position on the destination. */
PGH_API int pgh_status_read(pgh_status *out, const pgh_config *cfg, pgh_error *err);

/* What pgh_teardown removed (false: it was not there, or is not pghost's). */
typedef struct pgh_teardown_result {
    bool slot_dropped;        /* the replication slot on the source */
    bool publication_dropped; /* the publication pghost init created */
    bool publication_kept;    /* a publication of that name exists that pghost did not create */
    bool state_dropped;       /* the position row on the destination */
    bool source_skipped;      /* force: the source could not be reached; nothing on it was
                                 dropped */
    bool destination_skipped; /* force: the destination's position could not be read; it was
                                 not dropped */
    char skipped_reason[512]; /* with a side skipped: why (one line, password masked) */
} pgh_teardown_result;

/*
 * Remove what pghost created for this configuration: the replication slot on the source, the
 * publication when pghost init created it (never one the user made), the DDL capture, and the
 * position row (then the state table and schema when nothing else is in them) on the
 * destination (with destination: stdout there is none: the caller owns the state file).
 * Idempotent: what is already gone is skipped.
 *
 * Both sides are opened, and the destination's position read, before anything is dropped: when
 * either fails nothing is dropped and err says which side and what to do, since a slot dropped
 * while the position cannot be read leaves a stopped --follow run unable to resume. With force,
 * the side that can be reached is cleaned all the same and out says which side was skipped and
 * why (an error only when neither can be reached). A slot in use (an applier is running) is not
 * dropped, and then nothing is: PGH_EPRECOND naming the pid.
 */
PGH_API int pgh_teardown(pgh_teardown_result *out, const pgh_config *cfg, bool force,
                         pgh_error *err);

PGH_END_DECLS

#endif
