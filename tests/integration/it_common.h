/*
 * Shared pieces of the sync integration tests that run pghost's sync in-process: its config for
 * a pair of throwaway servers (pgh_run_pair, tests/harness/pgh_run.h), and comparing whole
 * tables by full ordered dumps.
 */
#ifndef PGH_IT_COMMON_H
#define PGH_IT_COMMON_H

#include <libpq-fe.h>

#include "pgh_run.h"
#include "pghost/config.h"
#include "pghost/pghost.h"

/* Parse YAML text with ${SRC} and ${DST} expanded to the pair's connection strings. */
pgh_config *it_config(const pgh_run_pair *p, const char *yaml);

/* Compare "SELECT * FROM table ORDER BY order_by" on both sides; fails the test on a difference
 * and returns the number of rows. */
long long it_compare_table(const pgh_run_pair *p, const char *src_table, const char *dst_table,
                           const char *order_by);

/* Fail the test if any replication slot is left on the source. */
void it_check_no_slots(const pgh_run_pair *p);

/* What it_sync runs: the sync as `pghost replicate` runs it, in-process. */
typedef struct it_sync_opts {
    const pgh_config *config; /* borrowed; patterns allowed (the source resolves them) */
    int (*before_checkpoint)(void *payload, pgh_error *err); /* may be NULL */
    void *before_checkpoint_payload;
} it_sync_opts;

/* Open the source and a PostgreSQL destination for o->config and run the pipeline until the
 * checkpoint (existing rows and changes). out is filled as far as it got; dispose it with
 * pgh_pipeline_result_dispose either way. Returns the pipeline's code. */
int it_sync(pgh_pipeline_result *out, const it_sync_opts *o, pgh_error *err);


#endif
