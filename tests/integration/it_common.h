/*
 * Shared pieces of the sync integration tests: a source/destination pair of throwaway servers,
 * running pghost's sync in-process, and comparing whole tables by full ordered dumps.
 */
#ifndef PGH_IT_COMMON_H
#define PGH_IT_COMMON_H

#include <libpq-fe.h>

#include "pgh_test.h"
#include "pghost/config.h"
#include "pghost/pghost.h"

typedef struct it_pair {
    pgh_test_server src;
    pgh_test_server dst;
    char *src_conninfo; /* owned */
    char *dst_conninfo; /* owned */
    PGconn *s;          /* owned: to the source */
    PGconn *d;          /* owned: to the destination */
} it_pair;

/* Start both servers; extra_conf as in pgh_test_server_start (applied to both). */
void it_pair_start(it_pair *p, const char *extra_conf);
void it_pair_stop(it_pair *p);

/* Parse YAML text with ${SRC} and ${DST} expanded to the pair's connection strings. */
pgh_config *it_config(const it_pair *p, const char *yaml);

/* Compare "SELECT * FROM table ORDER BY order_by" on both sides; fails the test on a difference
 * and returns the number of rows. */
long long it_compare_table(it_pair *p, const char *src_table, const char *dst_table,
                           const char *order_by);

/* Fail the test if any replication slot is left on the source. */
void it_check_no_slots(it_pair *p);

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

/* Milliseconds since an arbitrary start (monotonic). */
double it_now_ms(void);

#endif
