/*
 * pghost check: everything a run checks before it writes, on both servers and every selected
 * table, without writing anything anywhere (no slot, no publication, no state schema, no
 * table). Unlike a run, it does not stop at the first problem: every problem is handed to the
 * caller's callback, one line each, with what to do.
 *
 * It calls the checks the runs call (source/preflight.h, dest/postgres/checks.h), so it says
 * what a run would say. Called by the command line (cli/cmd_check.c); single-threaded.
 */
#ifndef PGH_ADMIN_CHECK_H
#define PGH_ADMIN_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "pghost/config.h"
#include "pghost/error.h"

/* One problem: code is the PGH_E... a run would fail with (PGH_EPRECOND mostly, PGH_ECONFIG
 * for a configuration error, PGH_ECONN for a server that cannot be reached); message is one
 * line, borrowed for the call. */
typedef void (*pgh_check_problem_fn)(int code, const char *message, void *payload);

typedef struct pgh_check_result {
    int problems;         /* problems reported */
    bool config_problem;  /* one of them is PGH_ECONFIG */
    int ntables;          /* tables selected (patterns resolved); 0 when unknown */
    int slots_free;       /* free replication slots on the source; -1 when unknown */
    int wal_senders_free; /* free WAL senders on the source; -1 when unknown */
    int64_t source_bytes; /* pg_table_size() of the selected source tables found */
    bool resuming;        /* the destination records a run of this slot (rows may be there) */
} pgh_check_result;

/* Run every check; report each problem through on_problem. may_hold_rows: the run will pass
 * --truncate-destination, so rows in the destination tables are not a problem. Returns 0 when
 * the checks ran (see out->problems), PGH_ENOMEM otherwise. cfg is not changed. */
int pgh_check_run(pgh_check_result *out, const pgh_config *cfg, bool may_hold_rows,
                  pgh_check_problem_fn on_problem, void *payload, pgh_error *err);

#endif
