/*
 * pghost/stats.h - live counters of a pipeline run, for metrics.
 *
 * The caller owns a pgh_pipeline_stats (zeroed with PGH_PIPELINE_STATS_INIT) and passes it in
 * pgh_pipeline_opts.stats; the run's threads update it with relaxed atomics only (no locks, no
 * allocation), and any other thread may read it at any time, e.g. an HTTP server serving
 * Prometheus metrics (the CLI's --metrics-addr). Rows and bytes copied per table come through
 * the progress callback (pghost/pipeline.h) and the result, not from here.
 *
 * Counters only grow during a run. Gauges (phase, LSNs, commit time, reconnecting) are the
 * latest value written.
 */
#ifndef PGHOST_STATS_H
#define PGHOST_STATS_H

#include <stdint.h>

#include "pghost/export.h"

PGH_BEGIN_DECLS

#ifdef __cplusplus
typedef std::atomic<uint64_t> pgh_counter;
typedef std::atomic<int64_t> pgh_gauge;
#else
typedef _Atomic uint64_t pgh_counter;
typedef _Atomic int64_t pgh_gauge;
#endif

/* Where a run is. */
typedef enum pgh_stats_phase {
    PGH_PHASE_STARTING = 0, /* checks, the slot, reading a recorded position */
    PGH_PHASE_COPY = 1,     /* the existing rows */
    PGH_PHASE_CATCHUP = 2,  /* replaying to the checkpoint */
    PGH_PHASE_INDEXES = 3,  /* the destination's work at the checkpoint */
    PGH_PHASE_FOLLOW = 4,   /* streaming changes after the checkpoint */
    PGH_PHASE_DONE = 5,     /* reached what was asked for */
    PGH_PHASE_FAILED = 6,   /* stopped by an error */
    PGH_PHASE_VERIFY = 7,   /* pghost verify comparing tables */
} pgh_stats_phase;
#define PGH_STATS_NPHASES 8

/* Row changes by kind. */
typedef enum pgh_stats_change {
    PGH_STATS_INSERT = 0,
    PGH_STATS_UPDATE = 1,
    PGH_STATS_DELETE = 2,
    PGH_STATS_TRUNCATE = 3,
} pgh_stats_change;
#define PGH_STATS_NCHANGES 4

/* errors[] is indexed by -code of pghost/error.h (PGH_ECONN -> 2); index 0 is unused. */
#define PGH_STATS_NERRORS 10

/* Tables whose skipped missing rows are counted by name (on_missing_row: skip); beyond this
 * many tables the rest are not shown (the state schema still counts them). */
#define PGH_STATS_MAX_TABLES 64

/* One table's count of changes skipped because their row was missing. The applier thread
 * writes table once, then publishes the entry by raising nmissing (release); readers read
 * nmissing first (acquire), then entries below it. */
typedef struct pgh_stats_table_count {
    char table[160];   /* the destination table, "schema.table" */
    pgh_counter count; /* changes skipped, counted at their destination commit */
} pgh_stats_table_count;

typedef struct pgh_pipeline_stats {
    pgh_counter changes[PGH_STATS_NCHANGES]; /* row changes applied, counted at their commit */
    pgh_counter transactions;                /* source transactions applied; one replayed after
                                                a reconnect (skipped by the destination) once */
    pgh_counter reconnects;                  /* streaming sessions started again after a loss */
    pgh_counter errors[PGH_STATS_NERRORS];   /* errors met, retried or not, by -code */
    pgh_counter applied_lsn;  /* gauge: end of the last source transaction applied (or, idle,
                                 the source position everything before is settled at) */
    pgh_counter received_lsn; /* gauge: the source's WAL end the stream last reported */
    pgh_gauge commit_time_us; /* gauge: the applied transaction's commit, Unix microseconds */
    pgh_gauge phase;          /* gauge: a pgh_stats_phase */
    pgh_gauge reconnecting;   /* gauge: 1 while a lost connection is being retried */
    pgh_counter nmissing;     /* entries of missing[] in use */
    pgh_stats_table_count missing[PGH_STATS_MAX_TABLES]; /* on_missing_row: skip, per table */
} pgh_pipeline_stats;

#define PGH_PIPELINE_STATS_INIT                                                                    \
    {                                                                                              \
        {                                                                                          \
            0                                                                                      \
        }                                                                                          \
    }

/* "starting", "copy", "catchup", "indexes", "follow", "done", "failed", "verify"; "unknown"
 * outside the enum. Static storage. */
PGH_API const char *pgh_stats_phase_name(int phase);

/* The label of errors[i]: "connection", "sql", "protocol", ...; "other" outside the codes. */
PGH_API const char *pgh_stats_error_kind(int i);

/* Count one error of this pghost/error.h code (negative; others are ignored). s may be NULL. */
PGH_API void pgh_stats_count_error(pgh_pipeline_stats *s, int code);

/* Add n skipped missing rows to table's count (the entry is made at its first count). One
 * writer thread only: the applier. s may be NULL. */
PGH_API void pgh_stats_count_missing(pgh_pipeline_stats *s, const char *table, uint64_t n);

PGH_END_DECLS

#endif
