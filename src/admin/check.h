/*
 * pghost check: everything a run checks before it writes, on both servers and every selected
 * table, without writing anything anywhere (no slot, no publication, no state schema, no
 * table). Unlike a run, it does not stop at the first problem: every problem is handed to the
 * caller's callback, one line each, with what to do.
 *
 * It calls the checks the runs call (source/preflight.h, dest/postgres/checks.h), so it says
 * what a run would say. Besides: a replication slot of the configuration's name in use by
 * another process is a problem (an unused one is a pending run: reported in the result); with
 * destination: stdout the state file (cfg->state_file, when set) is read instead of a
 * destination server; and the destination's free disk space is compared with 1.2 x the size
 * of the source tables where it can be seen (check_disk.c). Called by the command line (cli/cmd_check.c); single-threaded.
 */
#ifndef PGH_ADMIN_CHECK_H
#define PGH_ADMIN_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "pghost/config.h"
#include "pghost/error.h"
#include "pghost/rules.h"

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
    int64_t source_bytes; /* pg_total_relation_size() of the selected source tables found
                             (a partitioned table's leaves; indexes and TOAST included);
                             -1 when unknown */
    bool slot_exists;     /* cfg's replication slot exists on the source */
    bool slot_active;     /* ... and a process streams from it (reported as a problem) */
    int64_t slot_retained_bytes; /* WAL the slot keeps on the source (pg_wal_lsn_diff of the
                                    current WAL position and its restart_lsn) */
    bool resuming; /* the destination (or destination: stdout's state file) records a run of
                      this slot (rows may be there) */
    /* The destination's free disk space, seen only when its server runs on this machine and
     * its role may read data_directory: free bytes there, or -1 and why not. */
    int64_t dest_free_bytes;
    char dest_data_dir[256];
    char disk_unchecked[256]; /* "" when checked */
} pgh_check_result;

/* Run every check; report each problem through on_problem. may_hold_rows: the run will pass
 * --truncate-destination, so rows in the destination tables are not a problem. rules (may be
 * NULL): cfg's rules file; with the PostgreSQL destination each table's rules are checked
 * against its columns as a run does, and the destination table is compared with the table as
 * they make it (columns renamed, left out). Returns 0 when the checks ran (see
 * out->problems), PGH_ENOMEM otherwise. cfg is not changed. */
int pgh_check_run(pgh_check_result *out, const pgh_config *cfg, const pgh_rules *rules,
                  bool may_hold_rows,
                  pgh_check_problem_fn on_problem, void *payload, pgh_error *err);

#endif
