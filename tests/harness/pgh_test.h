/*
 * pgh_test.h - the harness for integration tests: throwaway PostgreSQL servers, SQL helpers,
 * streaming dump comparison, child processes.
 *
 * A test is one executable (one ctest entry). It starts its own servers with
 * pgh_test_server_start(): initdb into /tmp/pghost-test-XXXXXX, wal_level=logical, a free
 * loopback port picked at run time, the socket directory inside the temp dir. When the test runs
 * as root, initdb/pg_ctl/postgres run through `runuser -u postgres --`.
 *
 * Teardown is guaranteed. At the first server start (or spawn) a watchdog process is started.
 * It holds the read end of a pipe whose write end only the test process holds; when the test
 * process ends in any way (return, exit, abort, sanitizer report, segfault, SIGKILL from the ctest
 * timeout) the watchdog sees EOF, SIGKILLs the processes started with pgh_test_spawn() and not
 * yet waited for, runs `pg_ctl stop -m immediate` for every server still up and removes the temp
 * dirs. It is double-forked into a session of its own (ctest kills the test's whole process tree
 * on timeout, Ctrl-C signals the whole process group) and ignores SIGINT/SIGTERM/SIGHUP. A normal
 * exit, PGH_CHECK and pgh_test_fail clean up synchronously instead.
 *
 * Errors: functions returning int print what went wrong to stderr and return non-zero, so the
 * test decides (usually PGH_CHECK(rc == 0, ...)). Functions returning a pointer or void fail the
 * test themselves (print, clean up, exit 1): a test never checks their result for errors.
 *
 * Environment:
 *   PGH_TEST_ALLOW_SKIP=1  a server that cannot start exits the test with 77 (ctest SKIP) instead
 *                          of failing it. For developers without PostgreSQL; CI never sets it.
 *   PGH_TEST_KEEP=1        keep the temp dirs (data, server.log) and print where they are.
 *   PGH_PG_BINDIR          directory of initdb/pg_ctl; default `pg_config --bindir`, then
 *                          /usr/lib/postgresql/15/bin.
 * The harness unsets PGHOST, PGPORT, PGOPTIONS, PGSERVICE and the like at first use, so neither
 * libpq in the test nor a pghost child picks them up.
 *
 * Single-threaded: call it from the test's main thread only. A process forked by the test may use
 * the harness too; it gets its own watchdog and never touches its parent's servers.
 */
#ifndef PGH_TEST_H
#define PGH_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <libpq-fe.h>

#define PGH_TEST_PATH_MAX 128 /* bytes, for every path below (a unix socket path is <= 107) */
#define PGH_TEST_SKIP 77      /* exit code ctest maps to "skipped" (SKIP_RETURN_CODE 77) */

typedef struct pgh_test_server {
    char name[32];               /* label for messages, from pgh_test_server_start */
    char dir[PGH_TEST_PATH_MAX]; /* temp dir, removed at stop (or failed start); scratch files ok */
    char datadir[PGH_TEST_PATH_MAX]; /* dir/data: PGDATA */
    char sockdir[PGH_TEST_PATH_MAX]; /* dir/sock: unix_socket_directories */
    char logfile[PGH_TEST_PATH_MAX]; /* dir/server.log: the server's stderr */
    int port;                        /* TCP port on 127.0.0.1, same across restarts */
    pid_t pid;                       /* postmaster pid while running, else 0 */
    bool running;                    /* started and not stopped or killed */
} pgh_test_server;

/* ---- failing ---------------------------------------------------------------------------- */

/* Print "FAIL: message" to stderr, stop every server of this process, exit 1. */
void pgh_test_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* If cond is false: print file:line, the condition and the printf-style message, then fail. */
#define PGH_CHECK(cond, ...)                                                                       \
    do {                                                                                           \
        if (!(cond))                                                                               \
            pgh_test__check_failed(__FILE__, __LINE__, #cond, __VA_ARGS__);                        \
    } while (0)

/* A line (cut to 255 bytes; NULL or "" for none) that every later failure prints after its own
 * message, e.g. how to replay the run: its seed and arguments. */
void pgh_test_set_fail_note(const char *note);

void pgh_test__check_failed(const char *file, int line, const char *cond, const char *fmt, ...)
    __attribute__((format(printf, 4, 5), noreturn));

/* ---- servers ---------------------------------------------------------------------------- */

/* Create and start a server; name labels it in messages. extra_conf (may be NULL) is appended to
 * the configuration verbatim, one setting per line, after the harness settings (so it wins).
 * Retries with another port when the chosen one was taken meanwhile. Returns 0, or non-zero after
 * printing the tail of the server log (or exits 77 when PGH_TEST_ALLOW_SKIP=1). */
int pgh_test_server_start(pgh_test_server *s, const char *name, const char *extra_conf);

/* Fast shutdown, then remove the temp dir (kept with PGH_TEST_KEEP=1). Also valid after
 * pgh_test_server_kill() and on a server that failed to start or was stopped: then it only
 * removes what is left. Returns 0, or non-zero if the server would not stop. */
int pgh_test_server_stop(pgh_test_server *s);

/* Fast restart on the same port and data (or plain start after pgh_test_server_kill()).
 * Connections to it are lost. Returns 0, or non-zero after printing the log tail. */
int pgh_test_server_restart(pgh_test_server *s);

/* Immediate shutdown, as in a crash: no checkpoint, the next start runs recovery. The data dir
 * stays, for pgh_test_server_restart(). Returns 0, or non-zero if it did not stop.
 * Note: the harness runs with synchronous_commit=off, so commits made in the last ~200 ms may be
 * lost by a kill; a crash test that needs them durable sets synchronous_commit=on. */
int pgh_test_server_kill(pgh_test_server *s);

/* Create database name (quoted as an identifier) on a running server. Returns 0, or non-zero
 * after printing the SQL error. */
int pgh_test_create_db(const pgh_test_server *s, const char *name);

/* ---- SQL -------------------------------------------------------------------------------- */

/* "host=127.0.0.1 port=N user=postgres dbname=X", malloc'd; the caller frees it. */
char *pgh_test_conninfo(const pgh_test_server *s, const char *dbname);

/* Connect to dbname on s; fails the test on error. The caller PQfinish()es it. */
PGconn *pgh_test_connect(const pgh_test_server *s, const char *dbname);

/* Run printf-formatted SQL (several statements allowed); fails the test with the SQL error. */
void pgh_test_exec(PGconn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Run printf-formatted SQL and return the first column of the first row as a malloc'd string
 * the caller frees, or NULL for SQL NULL. Fails the test on an SQL error or when no row. */
char *pgh_test_value(PGconn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Compare the rows of `COPY (query_a) TO STDOUT` on a (the source) with `COPY (query_b) TO
 * STDOUT` on b (the destination), row by row in text format, in constant memory: one row from
 * each side at a time. Queries should ORDER BY a key. a and b must be different connections.
 * Returns 0 when identical, 1 when not, with the first difference described in diff (row number
 * and both lines, each cut to about 300 bytes, or "source has N more rows"), -1 on an SQL error
 * (described in diff). diff may be NULL; out_rows (may be NULL) gets the source's row count. */
int pgh_test_compare_dumps(PGconn *a, const char *query_a, PGconn *b, const char *query_b,
                           char *diff, size_t diff_len, long long *out_rows);

/* ---- processes -------------------------------------------------------------------------- */

/* A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0), or -1 on error. */
int pgh_test_free_port(void);

/* Start argv[0] (searched in PATH) with argv, stdin from /dev/null and stdout/stderr written to
 * the named files (truncated; NULL inherits the test's; the same name for both appends stderr to
 * stdout). The watchdog SIGKILLs it if the test dies before pgh_test_wait() reaps it. Returns the
 * pid, or -1 after printing why (not found, not executable, a file could not be opened). */
pid_t pgh_test_spawn(const char *const argv[], const char *stdout_file, const char *stderr_file);

/* pgh_test_spawn(), but stdout is appended to stdout_file (created when missing) instead of
 * truncating it: several runs write one output, as `cmd >> file` does. stderr as there. */
pid_t pgh_test_spawn_append(const char *const argv[], const char *stdout_file,
                            const char *stderr_file);

/* Wait up to timeout_s seconds (<= 0: no limit) for pid from pgh_test_spawn(). *exit_code gets
 * the exit status, or 128 + signal number when killed by a signal. Returns 0 when it ended,
 * 1 when it timed out (it is then SIGKILLed and reaped, and *exit_code is 128 + 9), -1 on error. */
int pgh_test_wait(pid_t pid, int timeout_s, int *exit_code);

/* pgh_test_spawn() + pgh_test_wait(): same results; -1 also when it could not start. */
int pgh_test_run(const char *const argv[], const char *stdout_file, const char *stderr_file,
                 int timeout_s, int *exit_code);

/* True while pid exists and is not a zombie (a finished process nobody has reaped yet). */
bool pgh_test_pid_alive(pid_t pid);

#endif
