/*
 * pghost/state.h - pghost's position, kept on the destination.
 *
 * One row per slot in <state_schema>.state: the phase ("follow"), the end LSN of the last
 * source transaction applied, and the checkpoint the sync reached. The apply writes applied_lsn
 * in the same destination transaction as the data, so after any crash the row says exactly
 * which source transactions are on the destination: a restart skips those and applies the
 * rest, never one twice.
 */
#ifndef PGHOST_STATE_H
#define PGHOST_STATE_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "pghost/error.h"
#include "pghost/lsn.h"

typedef struct pgh_state {
    bool found;             /* a row exists for the slot */
    char phase[16];         /* "follow" */
    pgh_lsn applied_lsn;    /* end LSN of the last source transaction applied */
    pgh_lsn checkpoint_lsn; /* where the sync ended */
} pgh_state;

/* Create the schema and table if missing. */
int pgh_state_ensure(PGconn *dst, const char *schema, pgh_error *err);

/* Read the slot's row; out->found is false when there is none (or no table). */
int pgh_state_read(pgh_state *out, PGconn *dst, const char *schema, const char *slot,
                   pgh_error *err);

/* Insert or replace the slot's row. */
int pgh_state_write(PGconn *dst, const char *schema, const char *slot, const pgh_state *st,
                    pgh_error *err);

/* Statement text that sets applied_lsn ($1) for slot_name ($2); malloc'd. */
char *pgh_state_update_sql(PGconn *dst, const char *schema);

/* Delete the slot's row, then drop the table and schema when nothing else is in them.
 * Idempotent. */
int pgh_state_drop(PGconn *dst, const char *schema, const char *slot, pgh_error *err);

#endif
