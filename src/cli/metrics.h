/*
 * --metrics-addr HOST:PORT: Prometheus metrics and health endpoints of a long-running command.
 *
 *   GET /metrics   the text exposition format (util/prom.h): the run's pgh_pipeline_stats,
 *                  rows and bytes copied per table, the slot's retained WAL; for pghost
 *                  verify its pgh_verify_stats instead (metrics_verify.c)
 *   GET /healthz   200 while the process runs
 *   GET /readyz    200 while copying, catching up, following or done; 503 while starting,
 *                  reconnecting or failed
 *
 * The run updates m->stats with atomics (pghost/stats.h); the copy's rows per table come from
 * the progress callback (pgh_cli_metrics_tables, a mutex taken every progress_ms, not per row).
 * A side thread reads the slot's retained WAL from pg_replication_slots every
 * PGH_CLI_SLOT_POLL_MS on a connection of its own (metrics.c: the registry; http.c: the
 * server). libmicrohttpd serves from its own thread;
 * only the CLI links it.
 */
#ifndef PGH_CLI_METRICS_H
#define PGH_CLI_METRICS_H

#include "pghost/config.h"
#include "pghost/pipeline.h"
#include "pghost/stats.h"
#include "pghost/verify.h"
#include "util/buf.h"

#define PGH_CLI_SLOT_POLL_MS 5000

typedef struct pgh_cli_metrics pgh_cli_metrics;

/* The registry, with no server yet. slot_conninfo / slot: where to read the slot's retained WAL
 * (both borrowed until _free; NULL: no such metric, e.g. for verify). NULL when out of memory. */
pgh_cli_metrics *pgh_cli_metrics_new(const char *slot_conninfo, const char *slot);

/* Stop the server and the side thread, free everything. NULL is fine. */
void pgh_cli_metrics_free(pgh_cli_metrics *m);

/* Serve on addr ("HOST:PORT", "[V6]:PORT" or ":PORT" for every interface) and start the slot
 * thread. Returns 0, or -1 after printing a one-line error (bad address, port taken). */
int pgh_cli_metrics_serve(pgh_cli_metrics *m, const char *addr);

/* The counters the run updates: pass as pgh_pipeline_opts.stats. */
pgh_pipeline_stats *pgh_cli_metrics_stats(pgh_cli_metrics *m);

/* Make this a verify run's registry: /metrics shows the counters returned (pass them as
 * pgh_verify_opts.stats), and /readyz follows their phase. Call before serving. */
pgh_verify_stats *pgh_cli_metrics_verify(pgh_cli_metrics *m);

/* Rows and bytes copied so far per table (from a progress callback, or a result's totals):
 * each counter keeps the largest value seen, so it never goes down. */
void pgh_cli_metrics_table(pgh_cli_metrics *m, const char *table, uint64_t rows, uint64_t bytes);

/* The exposition text into b. */
void pgh_cli_metrics_render(pgh_cli_metrics *m, pgh_buf *b);

/* Is the run ready (see /readyz)? */
bool pgh_cli_metrics_ready(pgh_cli_metrics *m);

#endif
