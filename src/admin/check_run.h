/*
 * Private to pghost check (check.c, check_dest.c, check_disk.c): the state of one check run,
 * and the one way a check reports a problem (check_run.c).
 */
#ifndef PGH_ADMIN_CHECK_RUN_H
#define PGH_ADMIN_CHECK_RUN_H

#include <libpq-fe.h>

#include "admin/check.h"
#include "pg/catalog.h"

typedef struct check_run {
    pgh_check_result *out;       /* borrowed: the caller's result */
    pgh_config *cfg;             /* owned: a copy, its patterns resolved */
    const pgh_rules *rules;      /* borrowed, may be NULL: the configuration's rules file */
    pgh_check_problem_fn fn;     /* borrowed */
    void *payload;               /* borrowed */
    PGconn *src;                 /* owned; NULL when the source cannot be reached */
    pgh_table_info **src_tables; /* owned: cfg->ntables entries, NULL where not found */
    int nsrc_tables;             /* entries of src_tables */
    bool fatal;                  /* out of memory: stop */
} check_run;

/* check_run.c: hand a failed check's message (err) to the callback, unless rc is 0; clears err. Returns
 * whether the check passed. PGH_ENOMEM is no problem to report: it sets c->fatal. */
bool pgh_check__note(check_run *c, int rc, pgh_error *err);

/* check_dest.c: the destination's checks: reachable, and each table found on the source there with the
 * same columns and key, and empty unless may_hold_rows or a run of the slot is recorded. */
void pgh_check__destination(check_run *c, bool may_hold_rows, pgh_error *err);

/* check_disk.c: the destination's free disk space against 1.2 x c->out->source_bytes, when
 * dst runs on this machine and its role may read data_directory; fills c->out's disk fields
 * and reports too little space as a problem. */
void pgh_check__disk(check_run *c, PGconn *dst, pgh_error *err);

#endif
