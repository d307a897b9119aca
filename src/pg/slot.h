/*
 * Logical replication slots over an ordinary connection: create, look up, drop, advance.
 * Thread-safe per connection.
 */
#ifndef PGH_PG_SLOT_H
#define PGH_PG_SLOT_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "pghost/error.h"
#include "pghost/lsn.h"

/* Create a logical slot with pgoutput (SQL: pg_create_logical_replication_slot) over an
 * ordinary connection. *out_lsn is the slot's consistent point: every transaction committing
 * after it will be in the stream. Waits for transactions running on the source to finish. */
int pgh_slot_create(pgh_lsn *out_lsn, PGconn *conn, const char *slot, pgh_error *err);

/* The same over a replication session (replication=database), exporting a snapshot:
 * CREATE_REPLICATION_SLOT slot LOGICAL pgoutput (SNAPSHOT 'export'). The snapshot (its name
 * into snapshot, snapshot_len bytes with the NUL) sees exactly the transactions committed
 * before the consistent point; another session takes it with SET TRANSACTION SNAPSHOT, and
 * only while repl stays open and runs nothing else (closing it, or any command on it, ends
 * the snapshot). */
int pgh_slot_create_exported(pgh_lsn *out_lsn, char *snapshot, size_t snapshot_len,
                             PGconn *repl, const char *slot, pgh_error *err);

/* Does a replication slot of this name exist? */
int pgh_slot_exists(bool *out, PGconn *conn, const char *slot, pgh_error *err);

/* A slot as pg_replication_slots shows it. */
typedef struct pgh_slot_usage {
    bool exists;
    bool active;            /* a process streams from it now */
    int active_pid;         /* that process (a walsender's pid), 0 when none */
    int64_t retained_bytes; /* current WAL position - restart_lsn; 0 when unknown */
} pgh_slot_usage;

/* Whether slot exists, is in use and by which process, and the WAL it keeps, into *out
 * (zeroed when it does not exist). The metrics sampler runs it from a side connection. */
int pgh_slot_usage_read(pgh_slot_usage *out, PGconn *conn, const char *slot, pgh_error *err);

/* Drop a slot; a missing slot is not an error when missing_ok. */
int pgh_slot_drop(PGconn *conn, const char *slot, bool missing_ok, pgh_error *err);

/* Move the slot's confirmed position to lsn (the slot must not be in use). */
int pgh_slot_advance(PGconn *conn, const char *slot, pgh_lsn lsn, pgh_error *err);

#endif
