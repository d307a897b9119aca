/*
 * pgh_run.h - what integration tests do around pghost: a source and a destination server, the
 * runs of the pghost binary (a config file, one stdout and one stderr file per run), waiting for
 * the follow phase, fences, stopping, reading what a run printed, comparing dumps, and writer
 * threads that change the source meanwhile.
 *
 * Built on pgh_test.h, with its error rule: functions returning void or a pointer fail the test
 * themselves (print, stop the servers, exit 1), so a test never checks them for errors; a bool
 * or a number is an outcome the test judges.
 *
 * Files: a runner keeps its config file and run N's <stem>N.out and <stem>N.err in the source
 * server's temp dir, removed with it (kept with PGH_TEST_KEEP=1).
 *
 * Threads: call everything from the test's main thread, except pgh_run_sleep_ms(),
 * pgh_run_random() and pgh_run_sql_ok(), which write functions use on writer threads, and
 * pgh_run_writers_ok/bad(), which only read counters. A writer thread runs only the test's write
 * function, on a connection of its own; a write function must not fail the test (PGH_CHECK).
 *
 * Linking: the pgh_run library (tests/harness/harness.cmake), with pgh_test_harness and Threads.
 */
#ifndef PGH_RUN_H
#define PGH_RUN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <libpq-fe.h>

#include "pgh_test.h"

#define PGH_RUN_READ_MAX (1 << 20) /* bytes: pgh_run_stdout/stderr return at most this minus 1 */
#define PGH_RUN_FILE_MAX (PGH_TEST_PATH_MAX + 32) /* bytes, for a config or output file's path */
#define PGH_RUN_MAX 256           /* runs of one runner whose pid is remembered for messages */
#define PGH_RUN_ARGS_MAX 16       /* arguments of one run, besides the binary and the config */
#define PGH_RUN_WRITERS_MAX 8     /* threads of one pgh_run_writers */
#define PGH_RUN_FOLLOW_WAIT_S 120 /* how long pgh_run_wait_follow waits (polls every 100 ms) */
#define PGH_RUN_FENCE_WAIT_S 120  /* how long pgh_run_fence_value waits (polls every 100 ms) */

/* ---- time and randomness ---------------------------------------------------------------- */

/* Sleep ms milliseconds (0: return at once). */
void pgh_run_sleep_ms(int ms);

/* Milliseconds since an arbitrary start (monotonic clock). */
double pgh_run_now_ms(void);

/* One xorshift64 step: advances *state (never 0) and returns the new value. */
uint64_t pgh_run_random(uint64_t *state);

/* ---- the pair of servers ---------------------------------------------------------------- */

typedef struct pgh_run_pair {
    pgh_test_server src;
    pgh_test_server dst;
    char *src_conninfo; /* owned: the source's postgres database */
    char *dst_conninfo; /* owned: the destination's postgres database */
    PGconn *s;          /* owned: to the source; a test may replace it (after a restart) */
    PGconn *d;          /* owned: to the destination; likewise */
} pgh_run_pair;

/* Start a source and a destination server (extra_conf as in pgh_test_server_start, per server,
 * NULL for none) and connect to each. */
void pgh_run_pair_start(pgh_run_pair *p, const char *src_conf, const char *dst_conf);

/* Start the source server only (for destinations that are not a server: stdout, files); dst
 * stays unstarted, dst_conninfo and d NULL. */
void pgh_run_source_start(pgh_run_pair *p, const char *src_conf);

/* Close the connections, free the strings, stop the destination and then the source. */
void pgh_run_pair_stop(pgh_run_pair *p);

/* Compare src_query's rows on the source with dst_query's (NULL: the same query) on the
 * destination, as full dumps in order (pgh_test_compare_dumps). Fails the test on a difference,
 * naming it, followed by log when not NULL (a run's stderr). Prints "DST_QUERY: N rows equal"
 * and returns N, the source's row count. */
long long pgh_run_compare(const pgh_run_pair *p, const char *src_query, const char *dst_query,
                          const char *log);

/* The phase pghost recorded on the destination (max(phase) of pghost.state), or "none" when
 * there is no pghost.state or no row in it. malloc'd; the caller frees it. */
char *pgh_run_phase(const pgh_run_pair *p);

/* ---- runs of the pghost binary ---------------------------------------------------------- */

typedef struct pgh_run {
    const pgh_run_pair *pair;   /* borrowed: files go in pair->src.dir, waits read pair->d */
    const char *binary;         /* borrowed: the pghost executable (PGH_BINARY) */
    char stem[16];              /* run N writes <stem>N.out and <stem>N.err */
    bool config_per_run;        /* the config file is <stem>N.yaml, written for run N */
    bool merge_stderr;          /* may be set after init: stderr goes to the .out file too */
    char cfg[PGH_RUN_FILE_MAX]; /* the config file's path: the next run's last argument */
    char out[PGH_RUN_FILE_MAX]; /* the last run's stdout file */
    char err[PGH_RUN_FILE_MAX]; /* the last run's stderr file (= out with merge_stderr) */
    int n;                      /* runs started so far: the last run's N, 0 before the first */
    pid_t pids[PGH_RUN_MAX];    /* pids[N - 1]: run N's process, to show its stderr */
    /* May be set after init: when not empty, every run's stdout is appended to this file
     * (`>>`, so out names it; pgh_run_stdout() does not read it) instead of <stem>N.out. */
    char append_out[PGH_RUN_FILE_MAX];
} pgh_run;

/* Set r up to run binary against pair. config names the config file in the source's temp dir
 * ("follow.yaml"), or is NULL for one file per run: each pgh_run_write_config() then writes
 * <stem>N.yaml for the next run N. */
void pgh_run_init(pgh_run *r, const pgh_run_pair *pair, const char *binary, const char *stem,
                  const char *config);

/* Write the config file (r->cfg) from printf-style text, replacing it. */
void pgh_run_write_config(pgh_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Start `binary cmd ARGS... CONFIG`: ARGS are the arguments up to the first NULL (so a last,
 * optional one may be NULL), CONFIG is r->cfg. stdin is /dev/null; stdout and stderr go to run
 * N's files (N = ++r->n). The harness watchdog SIGKILLs it if the test dies first. Returns the
 * pid, for pgh_run_wait/stop/kill. */
pid_t pgh_run_spawn(pgh_run *r, const char *cmd, ...) __attribute__((sentinel));

/* pgh_run_spawn(), then wait up to timeout_s for the run to end; returns its exit code. Fails the
 * test if it is still running then. */
int pgh_run_exec(pgh_run *r, int timeout_s, const char *cmd, ...) __attribute__((sentinel));

/* Wait up to timeout_s for pid (from pgh_run_spawn) to exit and return its exit code (128 +
 * the signal's number when a signal ended it). Fails the test, SIGKILLing pid, if it is still
 * running then. */
int pgh_run_wait(const pgh_run *r, pid_t pid, int timeout_s);

/* Stop pid as an operator would: SIGTERM. Fails the test unless it exits 0 within timeout_s,
 * showing its stderr. */
void pgh_run_stop(const pgh_run *r, pid_t pid, int timeout_s);

/* SIGKILL pid, as in a crash, and reap it (waiting up to 10 s; the outcome is not checked). */
void pgh_run_kill(pid_t pid);

/* The whole text run n (1..r->n; 0: the last run) wrote on stdout, or on stderr, cut to
 * PGH_RUN_READ_MAX - 1 bytes. Points into a static buffer, one per function, valid until the
 * next call of the same function. Fails the test if the file cannot be read. */
const char *pgh_run_stdout(const pgh_run *r, int n);
const char *pgh_run_stderr(const pgh_run *r, int n);

/* The run that pid belongs to (1..r->n), or r->n when it is none of r's. */
int pgh_run_number(const pgh_run *r, pid_t pid);

/* The whole content of path, malloc'd and NUL-terminated; the caller frees it. Fails the test if
 * the file cannot be read. */
char *pgh_run_read_file(const char *path);

/* Lines of path that contain needle (every line when needle is NULL); 0 when path is missing.
 * Lines are read 4 KiB at a time: a longer line counts as several. */
int pgh_run_count_lines(const char *path, const char *needle);

/* ---- waiting ---------------------------------------------------------------------------- */

/* Run sql (one row, one boolean) on conn every interval_ms, up to tries times, until it returns
 * true; returns whether it did. pid > 0: fail the test, with run pid's stderr, as soon as pid
 * has exited. r may be NULL when pid is 0. */
bool pgh_run_poll(const pgh_run *r, pid_t pid, PGconn *conn, int tries, int interval_ms,
                  const char *sql);

/* Wait up to PGH_RUN_FOLLOW_WAIT_S until the destination records that pghost follows (one row
 * of pghost.state in phase follow: the sync is done). Fails the test when pid exits first
 * (showing its stderr) or on the timeout. */
void pgh_run_wait_follow(const pgh_run *r, pid_t pid);

/* A fence: run write_sql on the source, written last, then poll seen_sql (one boolean) on the
 * destination every 100 ms until it is true. pghost applies in commit order, so everything
 * committed before the fence has been applied too. pid > 0: fail as soon as pid has exited.
 * Fails the test after timeout_s, showing the last run's stderr. */
void pgh_run_fence(const pgh_run *r, pid_t pid, int timeout_s, const char *write_sql,
                   const char *seen_sql);

/* The usual fence: upsert the row id = key with v = value (and note = 'note' unless note is
 * NULL) into table on the source, then wait up to PGH_RUN_FENCE_WAIT_S until the destination's
 * table has v = value at id = key. As pgh_run_fence otherwise. */
void pgh_run_fence_value(const pgh_run *r, pid_t pid, const char *table, int key, int value,
                         const char *note);

/* ---- writer threads --------------------------------------------------------------------- */

typedef struct pgh_run_writer pgh_run_writer;

/* One write (usually one transaction) on conn, by writer w; returns true to count it as done,
 * false as failed. Runs on w's thread: it may touch only w, conn and what payload says. */
typedef bool (*pgh_run_write_fn)(PGconn *conn, pgh_run_writer *w, void *payload);

typedef struct pgh_run_writers_opts {
    const char *conninfo;   /* borrowed until pgh_run_writers_stop: where the writers connect */
    int threads;            /* 1..PGH_RUN_WRITERS_MAX */
    unsigned seed;          /* writer i's seed is seed + i */
    int pause_ms;           /* sleep after each write; 0 for none */
    int reconnect_ms;       /* >= 0: reconnect when the connection is lost, sleeping this long
                               after a failed attempt; -1: one connection, and a writer ends when
                               it is lost (or cannot be made: then it prints why) */
    pgh_run_write_fn write; /* required */
    void *payload;          /* borrowed until pgh_run_writers_stop: passed to write */
} pgh_run_writers_opts;

struct pgh_run_writer {
    int index;       /* 0..threads-1 */
    unsigned seed;   /* opts.seed + index, for rand_r() */
    uint64_t rng;    /* for pgh_run_random(): 0x9E3779B97F4A7C15 * (seed + 1) at the start */
    long mark;       /* the write function's own, -1 at the start */
    atomic_long ok;  /* writes that returned true */
    atomic_long bad; /* writes that returned false */
    pthread_t thread;
    const struct pgh_run_writers *pool; /* borrowed: the writers this one belongs to */
};

typedef struct pgh_run_writers {
    pgh_run_writers_opts opts; /* a copy of what pgh_run_writers_start got */
    pgh_run_writer w[PGH_RUN_WRITERS_MAX];
    atomic_int stop;
    bool running; /* started and not stopped yet */
} pgh_run_writers;

/* Start opts->threads writers, each looping: (re)connect as opts say, write, pause, until
 * stopped. ws may be reused after pgh_run_writers_stop(); its counts start at 0 again. */
void pgh_run_writers_start(pgh_run_writers *ws, const pgh_run_writers_opts *opts);

/* Stop the writers and wait for them (nothing happens when they are not running). Returns the
 * writes that returned true, all writers together. */
long pgh_run_writers_stop(pgh_run_writers *ws);

/* Writes so far that returned true / false, all writers together; also while they run. */
long pgh_run_writers_ok(pgh_run_writers *ws);
long pgh_run_writers_bad(pgh_run_writers *ws);

/* Run sql on conn; true when it succeeded as a command (PGRES_COMMAND_OK). For write functions:
 * it never fails the test. */
bool pgh_run_sql_ok(PGconn *conn, const char *sql);

#endif
