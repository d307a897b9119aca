/*
 * pghost/verify.h - compare the selected tables between the source and the destination, and
 * name the rows that differ.
 *
 * Each table's key space is cut into chunks (key ranges sampled from the source, open at both
 * ends). Worker threads take chunks one at a time and ask both servers at once for the chunk's
 * row count and two sums of a 64-bit per-row hash; only the numbers cross the network. A chunk
 * whose numbers differ is split into sub-ranges until it is small, then its keys and row hashes
 * are read from both sides and compared: every key is missing (on the destination), extra (only
 * on the destination) or different. docs/verify.md has the hash and its guarantees.
 *
 * On a live source the destination lags: keys found different are read again from both sides
 * once the destination has applied the source's position (pghost's position row there, or the
 * configured slot's confirmed position), for up to recheck_seconds, and only keys that still
 * differ are reported.
 *
 * Threading: pgh_verify_run starts opts->jobs threads, each with one connection per server, and
 * returns when all have stopped. The result belongs to the caller.
 */
#ifndef PGHOST_VERIFY_H
#define PGHOST_VERIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "pghost/config.h"
#include "pghost/error.h"
#include "pghost/export.h"
#include "pghost/stats.h"

PGH_BEGIN_DECLS

#define PGH_VERIFY_DEFAULT_MAX_KEYS 100
#define PGH_VERIFY_DEFAULT_RECHECK_SECONDS 10.0

typedef enum pgh_verify_kind {
    PGH_VERIFY_MISSING = 0,   /* on the source, not on the destination */
    PGH_VERIFY_EXTRA = 1,     /* on the destination only */
    PGH_VERIFY_DIFFERENT = 2, /* on both, with different values */
} pgh_verify_kind;

/* "missing", "extra" or "different". */
PGH_API const char *pgh_verify_kind_name(pgh_verify_kind kind);

typedef struct pgh_verify_key {
    pgh_verify_kind kind;
    char **values; /* owned: the key's column values as text, nkeys entries */
} pgh_verify_key;

typedef struct pgh_verify_table {
    char *source;        /* owned: schema.name on the source */
    char *destination;   /* owned: schema.name on the destination */
    int nkeys;           /* primary key columns */
    char **key_names;    /* owned: nkeys column names */
    int64_t source_rows; /* rows counted on the source (sum over chunks) */
    int64_t dest_rows;   /* rows counted on the destination */
    int chunks;          /* chunks compared */
    int chunks_differing;
    int nfound;          /* keys listed in found */
    pgh_verify_key *found; /* owned: differing keys, sorted by kind then key text */
    bool truncated;      /* more keys differ than max_keys: the list is incomplete */
    bool keyless;        /* no key (REPLICA IDENTITY FULL, rows may repeat): compared whole, as
                            multisets of rows (count and hash sums); nkeys and nfound are 0 */
    bool differs;        /* keyless: the two sides' rows differ (which rows is not known) */
} pgh_verify_table;

typedef struct pgh_verify_result {
    int ntables;
    pgh_verify_table *tables; /* owned, in the configuration's order */
    bool equal;               /* every table equal */
    bool rechecked;           /* differing keys were read again after the slot caught up */
} pgh_verify_result;

/* Live counters of a verify run, for metrics (the CLI's --metrics-addr): the caller owns it
 * (zeroed), the workers update it with relaxed atomics, any thread may read it at any time.
 * Counters only grow. */
typedef struct pgh_verify_stats {
    pgh_counter ranges;         /* key ranges (chunks) whose numbers were compared */
    pgh_counter rows;           /* source rows in those ranges */
    pgh_counter differences[3]; /* keys found differing, by pgh_verify_kind, as the comparison
                                   finds them (before a re-check drops keys applied since) */
    pgh_counter errors[PGH_STATS_NERRORS]; /* the run's error, by -code (pghost/stats.h) */
    pgh_gauge phase; /* a pgh_stats_phase: STARTING (connecting, describing, sampling),
                        VERIFY, then DONE or FAILED */
} pgh_verify_stats;

typedef struct pgh_verify_opts {
    int version;            /* PGH_VERIFY_OPTS_VERSION */
    const pgh_config *config; /* borrowed: never changed; patterns are resolved on a copy */
    int jobs;               /* worker threads, >= 1; 0 takes config->copy_worker_count */
    int max_keys;           /* keys listed per table, >= 1 */
    double recheck_seconds; /* how long differing keys are re-checked; 0 disables */
    pgh_cancel_flag *cancel;     /* borrowed, may be NULL: non-zero stops the run (PGH_ECANCELED) */
    pgh_verify_stats *stats;     /* borrowed, may be NULL: live counters (version 2) */
} pgh_verify_opts;

#define PGH_VERIFY_OPTS_VERSION 2
#define PGH_VERIFY_OPTS_INIT                                                                       \
    {                                                                                              \
        PGH_VERIFY_OPTS_VERSION, NULL, 0, PGH_VERIFY_DEFAULT_MAX_KEYS,                             \
            PGH_VERIFY_DEFAULT_RECHECK_SECONDS, NULL, NULL                                         \
    }

/*
 * Compare every configured table. Returns 0 when the comparison ran to the end, whatever it
 * found (out->equal says); PGH_ENOTFOUND / PGH_EPRECOND when a table is missing, has no primary
 * key, or lacks a column on the destination (nothing was compared); another code when a server
 * failed. out is filled only on success; free it with pgh_verify_result_dispose.
 */
PGH_API int pgh_verify_run(pgh_verify_result *out, const pgh_verify_opts *opts, pgh_error *err);

PGH_API void pgh_verify_result_dispose(pgh_verify_result *r);

PGH_END_DECLS

#endif
