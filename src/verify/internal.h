/*
 * Private to pghost verify (src/core/verify*.c):
 *   verify.c          orchestration: connect, describe tables, workers, result
 *   verify_plan.c     key ranges: sampled chunk boundaries, WHERE clauses, splitting a range
 *   verify_scan.c     the first pass of single-key tables: one sequential scan, totals per chunk
 *   verify_hash.c     the per-row hash expression, and hashing a range on one or both servers
 *   verify_narrow.c   a chunk whose sums differ is split down to keys and diffed
 *   verify_report.c   the differing keys found, kept per table (thread-safe), and the result
 *   verify_recheck.c  re-reading differing keys after the destination caught up (live source)
 *
 * A range is a pair of boundaries, each an array of nkeys SQL literals (quoted by
 * PQescapeLiteral) or NULL for "unbounded": lo <= key < hi, compared as a row.
 */
#ifndef PGH_CORE_VERIFY_INTERNAL_H
#define PGH_CORE_VERIFY_INTERNAL_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>

#include "util/buf.h"
#include "pg/catalog.h"
#include "source/copy.h"
#include "pghost/verify.h"

#define VERIFY_CHUNK_ROWS 20000  /* target rows per chunk of the first pass */
#define VERIFY_MAX_CHUNKS 4096   /* per table */
#define VERIFY_LEAF_ROWS 20000   /* a range this small is diffed key by key (a differing chunk
                                    of the usual size is read at once: about 1 MB per side) */
#define VERIFY_SPLIT_PARTS 16    /* a larger differing range is split into this many */

/* One key that differs, as found (values owned). */
typedef struct verify_found {
    pgh_verify_kind kind;
    char **values;  /* owned: nkeys texts */
    char *src_hash; /* owned: the row's hash on the source, NULL when missing there */
    char *dst_hash; /* owned: the same on the destination */
} verify_found;

/* Totals of one chunk on one server, from a scan. */
typedef struct verify_acc {
    long long rows;
    __int128 mixed;
    __int128 plain;
} verify_acc;

typedef struct verify_table {
    pgh_table_info *src; /* owned */
    pgh_table_info *dst; /* owned */
    char *src_hash;      /* owned: per-row hash expression, for the source's columns */
    char *dst_hash;      /* owned: the same on the destination */
    char *keys;          /* owned: "k1", "k2" (quoted, same names on both sides) */
    char *keys_text;     /* owned: "k1"::text AS pgh_k1, ...: aliased, so that ORDER BY "k1"
                            still means the column, not its text */
    int nbounds;
    char ***bounds;      /* owned: chunk boundaries, nbounds arrays of nkeys literals */
    /* results, shared by the workers */
    pthread_mutex_t lock;
    atomic_llong src_rows;
    atomic_llong dst_rows;
    atomic_int chunks_differing;
    int nfound;
    int found_cap;
    verify_found *found; /* owned, guarded by lock */
    bool truncated;      /* guarded by lock */
    int keep_keys;       /* keys kept before truncating */
    /* first pass by one sequential scan (verify_scan.c) instead of one index range per chunk */
    bool scan;           /* this table's first pass is a scan */
    verify_acc *src_acc; /* owned: nchunks totals, guarded by lock */
    verify_acc *dst_acc; /* owned: the same on the destination */
    pgh_verify_stats *stats; /* borrowed from the options, may be NULL */
    /* no key (REPLICA IDENTITY FULL, rows may repeat): compared whole (whole.c), never planned
     * into chunks */
    bool keyless;
    bool differs;        /* keyless: the two sides' rows differ as multisets */
} verify_table;

/* Add n to a counter of t->stats (nothing without stats). */
#define VERIFY_COUNT(t, field, n)                                                                  \
    do {                                                                                           \
        if ((t)->stats)                                                                            \
            atomic_fetch_add_explicit(&(t)->stats->field, (uint64_t)(n), memory_order_relaxed);    \
    } while (0)

typedef struct verify_range {
    char *const *lo; /* borrowed, NULL when unbounded */
    char *const *hi; /* borrowed, NULL when unbounded */
} verify_range;

/* Count and sums of one range on one server (sums as the server's numeric text). */
typedef struct verify_sum {
    long long rows;
    char mixed[64];
    char plain[64];
} verify_sum;

/* ---- verify_plan.c ---- */

/* Sample the source's keys and cut the table into chunks of about VERIFY_CHUNK_ROWS rows. */
int pgh_verify__plan(verify_table *t, PGconn *src, int jobs, pgh_error *err);
/* Chunks of a planned table: nbounds + 1. */
int pgh_verify__nchunks(const verify_table *t);
verify_range pgh_verify__chunk(const verify_table *t, int i);
/* "ONLY " for a plain table, "" for a partitioned one (its rows are in its partitions). */
const char *pgh_verify__only(const pgh_table_info *t);
/* Append " WHERE <range>" (nothing when unbounded) to sql, and on the source side the
 * publication's row filter (the destination holds only the rows it passes). */
void pgh_verify__where(pgh_buf *sql, const verify_table *t, const pgh_table_info *side,
                       const verify_range *r);
/* Boundaries cutting r into about parts ranges of equal rows, read from the table side on
 * conn (rows: that side's count in r). *out: *n arrays of nkeys literals (free with
 * pgh_copy_bounds_free). */
int pgh_verify__split(char ****out, int *n, PGconn *conn, const pgh_table_info *side,
                      const verify_table *t, const verify_range *r, long long rows, int parts,
                      pgh_error *err);

/* ---- verify_hash.c ---- */

/* Build t->src_hash, t->dst_hash, t->keys and t->keys_text. */
int pgh_verify__hash_exprs(verify_table *t, PGconn *conn, pgh_error *err);
/* Count and sums of each range, on both servers at once (one query per server). */
int pgh_verify__sums(verify_sum *src_out, verify_sum *dst_out, PGconn *src, PGconn *dst,
                     const verify_table *t, const verify_range *ranges, int nranges,
                     pgh_error *err);
/* Keys (as text, columns 0..nkeys-1) and row hash (column nkeys) of every row in r, on both
 * servers at once. The caller PQclear()s both results. */
int pgh_verify__rows(PGresult **src_out, PGresult **dst_out, PGconn *src, PGconn *dst,
                     const verify_table *t, const verify_range *r, pgh_error *err);
/* The same for the rows with the given keys (nkeys texts each). */
int pgh_verify__rows_by_key(PGresult **src_out, PGresult **dst_out, PGconn *src, PGconn *dst,
                            const verify_table *t, char **const *keys, int nkeys_rows,
                            pgh_error *err);

/* Send one query to each server, then wait for both results (PGRES_TUPLES_OK, caller
 * PQclear()s them). The servers work at the same time. */
int pgh_verify__query_both(PGresult **src_out, PGresult **dst_out, PGconn *src, PGconn *dst,
                           const pgh_buf *src_sql, const pgh_buf *dst_sql, pgh_error *err);

/* ---- verify_scan.c ---- */

/* Decide whether the table's first pass is a scan (a single key column of a built-in type
 * without collation on both servers, more than one chunk) and prepare it. */
int pgh_verify__scan_prepare(verify_table *t, pgh_error *err);
/* Scan the table on both servers at once, adding each chunk's totals. */
int pgh_verify__scan(PGconn *src, PGconn *dst, verify_table *t, pgh_error *err);
/* After the scan: compare chunk i's totals and narrow it down when they differ. */
int pgh_verify__scan_chunk(PGconn *src, PGconn *dst, verify_table *t, int chunk,
                           pgh_error *err);

/* ---- verify_narrow.c ---- */

/* Narrow a range whose numbers differ (s, d: its rows on each side) down to keys. */
int pgh_verify__narrow(PGconn *src, PGconn *dst, verify_table *t, const verify_range *r,
                       const verify_sum *s, const verify_sum *d, pgh_error *err);

/* Compare one chunk; when it differs, narrow it down and record the differing keys. */
int pgh_verify__compare_chunk(PGconn *src, PGconn *dst, verify_table *t, const verify_range *r,
                              pgh_error *err);
/* Diff two row sets of pgh_verify__rows shape, recording each differing key. */
int pgh_verify__diff_rows(verify_table *t, PGresult *src, PGresult *dst, pgh_error *err);

/* ---- verify_report.c ---- */

/* Record a differing key (copied). Returns PGH_ENOMEM or 0; past keep_keys the table is only
 * marked truncated. */
int pgh_verify__found_add(verify_table *t, pgh_verify_kind kind, PGresult *res, int row,
                          const char *src_hash, const char *dst_hash);
/* The table has collected as many keys as it keeps (narrowing further is pointless). */
bool pgh_verify__found_full(verify_table *t);
void pgh_verify__found_clear(verify_found *f, int nkeys);
/* A key reported missing in one chunk and extra in another (collations that order keys
 * differently on the two servers) is one key: merged into different, or dropped when equal. */
void pgh_verify__found_merge(verify_table *t);
/* Move the findings into a public table result (max_keys listed, sorted). */
int pgh_verify__table_result(pgh_verify_table *out, verify_table *t, int max_keys,
                             pgh_error *err);

/* ---- whole.c ---- */

/* Tables without a key: the count and both sums of the row hash over the whole table on each
 * side (a multiset's invariants: twins count twice, order does not matter), into
 * t->src_rows, t->dst_rows and t->differs. On a live source, differing ones are compared again
 * each time the destination caught up with the source, for up to seconds (*rechecked: at least
 * once). */
int pgh_verify__whole(bool *rechecked, verify_table *tables, int ntables, PGconn *src,
                      PGconn *dst, const pgh_config *cfg, double seconds, pgh_error *err);

/* ---- verify_recheck.c ---- */

/* Seconds on a monotonic clock. */
double pgh_verify__now_s(void);
/* Is slot in use (something applies changes to the destination)? */
int pgh_verify__slot_active(bool *active, PGconn *src, const char *slot, pgh_error *err);
/* Wait until the destination has what the source committed before now (the slot confirmed it,
 * or pghost's position row passed it); *caught_up false when the deadline came first. */
int pgh_verify__wait_caught_up(bool *caught_up, PGconn *src, PGconn *dst, const pgh_config *cfg,
                               double deadline, pgh_error *err);

/* Live source: read every differing key again after the slot caught up with the source, and
 * keep only keys that still differ. *rechecked: at least one round ran after a catch-up. */
int pgh_verify__recheck(bool *rechecked, verify_table *tables, int ntables, PGconn *src,
                        PGconn *dst, const pgh_config *cfg, double seconds, pgh_error *err);

#endif
