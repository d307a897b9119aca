/*
 * Self-test of the integration-test harness (ctest harness_selftest): two real servers, SQL
 * helpers, dump comparison (equal, a changed row, extra rows on either side, an SQL error),
 * restart and crash-restart, child processes, a server that cannot start, and the watchdog:
 * a forked test process that starts a server and dies by SIGKILL must leave no postmaster, no
 * spawned child and no temp dir behind.
 */
#include "pgh_test.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DB "harness_db"

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Whole small file as a string (static buffer), "" when missing. */
static const char *slurp(const char *path)
{
    static char buf[4096];
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return buf;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void check_value(PGconn *c, const char *expected, const char *sql)
{
    char *v = pgh_test_value(c, "%s", sql);
    PGH_CHECK(v != NULL && strcmp(v, expected) == 0, "%s: expected %s, got %s", sql, expected,
              v != NULL ? v : "NULL");
    free(v);
}

static void case_sql_and_dumps(pgh_test_server *a, pgh_test_server *b)
{
    PGH_CHECK(pgh_test_create_db(a, DB) == 0, "create_db on a");
    PGH_CHECK(pgh_test_create_db(b, DB) == 0, "create_db on b");
    PGH_CHECK(pgh_test_create_db(b, DB) != 0, "creating the same database twice must fail");

    PGconn *ca = pgh_test_connect(a, DB);
    PGconn *cb = pgh_test_connect(b, DB);
    check_value(ca, "logical", "SHOW wal_level");
    check_value(ca, "16", "SHOW max_replication_slots");
    check_value(ca, "off", "SHOW fsync");
    check_value(cb, "20", "SHOW max_wal_senders"); /* extra_conf wins over the defaults */
    check_value(ca, "UTF8",
                "SELECT pg_encoding_to_char(encoding) FROM pg_database "
                "WHERE datname = current_database()");
    PGH_CHECK(pgh_test_value(ca, "SELECT NULL") == NULL, "SQL NULL must come back as NULL");

    const char *ddl = "CREATE TABLE t (id int PRIMARY KEY, v text, n numeric);"
                      "INSERT INTO t SELECT g, 'row ' || g || E'\\ttab', g * 1.5 "
                      "FROM generate_series(1, 1000) g;"
                      "UPDATE t SET v = NULL WHERE id = 7";
    pgh_test_exec(ca, "%s", ddl);
    pgh_test_exec(cb, "%s", ddl);

    const char *q = "SELECT * FROM t ORDER BY id";
    char diff[2048];
    long long rows = -1;
    int rc = pgh_test_compare_dumps(ca, q, cb, q, diff, sizeof(diff), &rows);
    PGH_CHECK(rc == 0, "equal tables compare as different (%d): %s", rc, diff);
    PGH_CHECK(rows == 1000, "expected 1000 rows, got %lld", rows);

    pgh_test_exec(cb, "UPDATE t SET v = 'changed' WHERE id = %d", 500);
    rc = pgh_test_compare_dumps(ca, q, cb, q, diff, sizeof(diff), &rows);
    PGH_CHECK(rc == 1, "a changed row must be found (%d)", rc);
    PGH_CHECK(strstr(diff, "row 500 differs") != NULL, "diff: %s", diff);
    PGH_CHECK(strstr(diff, "source:      500\trow 500\\ttab\t750.0") != NULL, "diff: %s", diff);
    PGH_CHECK(strstr(diff, "destination: 500\tchanged\t750.0") != NULL, "diff: %s", diff);
    printf("changed row diff:\n%s\n", diff);

    pgh_test_exec(cb, "UPDATE t SET v = 'row 500' || E'\\ttab' WHERE id = 500;"
                      "DELETE FROM t WHERE id > 990");
    rc = pgh_test_compare_dumps(ca, q, cb, q, diff, sizeof(diff), &rows);
    PGH_CHECK(rc == 1 && strstr(diff, "source has 10 more rows") != NULL, "rc %d diff: %s", rc,
              diff);
    PGH_CHECK(strstr(diff, "first extra row 991: 991\t") != NULL, "diff: %s", diff);
    PGH_CHECK(rows == 1000, "source rows: %lld", rows);
    printf("missing rows diff: %s\n", diff);

    rc = pgh_test_compare_dumps(cb, q, ca, q, diff, sizeof(diff), &rows);
    PGH_CHECK(rc == 1 && strstr(diff, "destination has 10 more rows") != NULL, "diff: %s", diff);

    /* Different queries on each side, long rows cut for display. */
    rc = pgh_test_compare_dumps(ca, "SELECT repeat('x', 5000)", cb, "SELECT repeat('y', 5000)",
                                diff, sizeof(diff), NULL);
    PGH_CHECK(rc == 1 && strstr(diff, "...") != NULL && strlen(diff) < 800, "diff: %s", diff);

    rc = pgh_test_compare_dumps(ca, "SELECT * FROM no_such_table", cb, q, diff, sizeof(diff), NULL);
    PGH_CHECK(rc == -1 && strstr(diff, "no_such_table") != NULL, "rc %d diff: %s", rc, diff);
    rc = pgh_test_compare_dumps(ca, q, cb, "SELECT 1/0", diff, sizeof(diff), NULL);
    PGH_CHECK(rc == -1 && strstr(diff, "division by zero") != NULL, "rc %d diff: %s", rc, diff);
    rc = pgh_test_compare_dumps(ca, "SELECT 1/(g - 5) FROM generate_series(1, 10) g", cb,
                                "SELECT 1 FROM generate_series(1, 10)", diff, sizeof(diff), NULL);
    PGH_CHECK(rc == -1 && strstr(diff, "source failed") != NULL, "rc %d diff: %s", rc, diff);
    /* Both connections must be usable after the errors. */
    check_value(ca, "1000", "SELECT count(*) FROM t");
    check_value(cb, "990", "SELECT count(*) FROM t");

    PQfinish(ca);
    PQfinish(cb);
}

static void case_restart(pgh_test_server *b)
{
    int port = b->port;
    pid_t old_pid = b->pid;
    PGH_CHECK(pgh_test_pid_alive(old_pid), "postmaster %ld must be alive", (long)old_pid);
    PGH_CHECK(pgh_test_server_restart(b) == 0, "restart");
    PGH_CHECK(b->port == port && b->running, "same port after restart");
    PGH_CHECK(b->pid != old_pid && !pgh_test_pid_alive(old_pid), "old postmaster is gone");
    PGconn *c = pgh_test_connect(b, DB);
    check_value(c, "990", "SELECT count(*) FROM t");
    /* synchronous_commit is off in the harness: a commit can still sit in WAL buffers when the
     * server is killed. Turn it on where a test needs the commit to survive a crash. */
    pgh_test_exec(c,
                  "SET synchronous_commit = on; INSERT INTO t VALUES (5000, 'after restart', 0)");
    PQfinish(c);

    /* Crash and recover: the synchronously committed row survives an immediate stop (fsync=off
     * is fine: the OS keeps the page cache). */
    PGH_CHECK(pgh_test_server_kill(b) == 0 && !b->running, "kill");
    PGH_CHECK(pgh_test_server_restart(b) == 0, "restart after kill");
    c = pgh_test_connect(b, DB);
    check_value(c, "after restart", "SELECT v FROM t WHERE id = 5000");
    PQfinish(c);
}

static void case_processes(const pgh_test_server *a)
{
    char out[PGH_TEST_PATH_MAX + 16], err[PGH_TEST_PATH_MAX + 16];
    snprintf(out, sizeof(out), "%s/out.txt", a->dir);
    snprintf(err, sizeof(err), "%s/err.txt", a->dir);
    int code = -1;

    char *ci = pgh_test_conninfo(a, DB);
    const char *psql[] = {"psql", "-X", "-A", "-t", "-d", ci, "-c", "SELECT 40 + 2", NULL};
    PGH_CHECK(pgh_test_run(psql, out, err, 30, &code) == 0 && code == 0, "psql exit %d: %s", code,
              slurp(err));
    PGH_CHECK(strcmp(slurp(out), "42\n") == 0, "psql printed '%s'", slurp(out));
    free(ci);

    const char *sh[] = {"sh", "-c", "echo out; echo err >&2; exit 3", NULL};
    PGH_CHECK(pgh_test_run(sh, out, err, 30, &code) == 0 && code == 3, "exit code %d", code);
    PGH_CHECK(strcmp(slurp(out), "out\n") == 0, "stdout '%s'", slurp(out));
    PGH_CHECK(strcmp(slurp(err), "err\n") == 0, "stderr '%s'", slurp(err));
    PGH_CHECK(pgh_test_run(sh, out, out, 30, &code) == 0 && code == 3, "exit code %d", code);
    PGH_CHECK(strcmp(slurp(out), "out\nerr\n") == 0, "combined '%s'", slurp(out));

    time_t t0 = time(NULL);
    const char *slow[] = {"sleep", "30", NULL};
    PGH_CHECK(pgh_test_run(slow, NULL, NULL, 1, &code) == 1 && code == 128 + SIGKILL,
              "timeout must kill (code %d)", code);
    PGH_CHECK(time(NULL) - t0 < 10, "timeout took %ld s", (long)(time(NULL) - t0));

    const char *bg[] = {"sh", "-c", "sleep 0.2; exit 5", NULL};
    pid_t pid = pgh_test_spawn(bg, NULL, NULL);
    PGH_CHECK(pid > 0 && pgh_test_pid_alive(pid), "spawn");
    PGH_CHECK(pgh_test_wait(pid, 30, &code) == 0 && code == 5, "background exit %d", code);

    pid = pgh_test_spawn(slow, NULL, NULL);
    PGH_CHECK(pid > 0, "spawn sleep");
    kill(pid, SIGTERM);
    PGH_CHECK(pgh_test_wait(pid, 30, &code) == 0 && code == 128 + SIGTERM, "code %d", code);

    const char *missing[] = {"/nonexistent/pghost-no-such-binary", NULL};
    PGH_CHECK(pgh_test_run(missing, NULL, NULL, 5, &code) == -1, "a missing binary is -1");

    int port = pgh_test_free_port();
    PGH_CHECK(port > 0 && port < 65536 && port != a->port, "free port %d", port);
}

static void case_start_failure(void)
{
    if (getenv("PGH_TEST_ALLOW_SKIP") != NULL || getenv("PGH_TEST_KEEP") != NULL) {
        printf("start failure case not run (PGH_TEST_ALLOW_SKIP/PGH_TEST_KEEP set)\n");
        return;
    }
    pgh_test_server bad;
    printf("expecting a failed start with a log tail below:\n");
    fflush(stdout);
    int rc = pgh_test_server_start(&bad, "bad", "no_such_setting_pghost = 1");
    PGH_CHECK(rc != 0 && !bad.running, "a bad setting must fail the start");
    PGH_CHECK(bad.dir[0] != '\0' && !exists(bad.dir), "%s must be removed", bad.dir);
    PGH_CHECK(pgh_test_server_stop(&bad) == 0, "stop after a failed start is a no-op");
}

/* What the victim reports to the parent. */
typedef struct victim_report {
    pid_t postmaster; /* from the harness */
    pid_t child;      /* a spawned `sleep` */
    char dir[PGH_TEST_PATH_MAX];
} victim_report;

static void victim_main(int report_fd, int go_fd) __attribute__((noreturn));
static void victim_main(int report_fd, int go_fd)
{
    pgh_test_server s;
    if (pgh_test_server_start(&s, "victim", NULL) != 0)
        _exit(3);
    const char *slow[] = {"sleep", "60", NULL};
    victim_report r = {.postmaster = s.pid, .child = pgh_test_spawn(slow, NULL, NULL)};
    snprintf(r.dir, sizeof(r.dir), "%s", s.dir);
    if (write(report_fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
        _exit(4);
    char go;
    if (read(go_fd, &go, 1) != 1)
        _exit(5);
    kill(getpid(), SIGKILL); /* as the ctest timeout would */
    _exit(6);
}

static void case_watchdog(void)
{
    int report[2], go[2];
    PGH_CHECK(pipe(report) == 0 && pipe(go) == 0, "pipe");
    fflush(NULL);
    pid_t victim = fork();
    PGH_CHECK(victim >= 0, "fork");
    if (victim == 0) {
        close(report[0]);
        close(go[1]);
        victim_main(report[1], go[0]);
    }
    close(report[1]);
    close(go[0]);

    victim_report r;
    ssize_t n = read(report[0], &r, sizeof(r));
    PGH_CHECK(n == (ssize_t)sizeof(r), "victim did not report (read %zd)", n);
    close(report[0]);

    /* Before: the postmaster named in postmaster.pid runs, the dir exists. */
    char pidfile[PGH_TEST_PATH_MAX + 32];
    snprintf(pidfile, sizeof(pidfile), "%s/data/postmaster.pid", r.dir);
    long pm = strtol(slurp(pidfile), NULL, 10);
    PGH_CHECK(pm > 0 && pm == (long)r.postmaster, "postmaster.pid says %ld, harness %ld", pm,
              (long)r.postmaster);
    PGH_CHECK(pgh_test_pid_alive((pid_t)pm) && exists(r.dir), "victim server is up");
    PGH_CHECK(r.child > 0 && pgh_test_pid_alive(r.child), "victim's child is up");

    PGH_CHECK(write(go[1], "k", 1) == 1, "go");
    close(go[1]);
    int status = 0;
    PGH_CHECK(waitpid(victim, &status, 0) == victim, "waitpid");
    PGH_CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "victim status %d", status);

    /* After: within 10 s the watchdog has stopped the server and removed the dir. */
    bool keep = getenv("PGH_TEST_KEEP") != NULL;
    bool gone = false;
    for (int i = 0; i < 200 && !gone; i++) {
        gone = !pgh_test_pid_alive((pid_t)pm) && !pgh_test_pid_alive(r.child) &&
               (keep || !exists(r.dir));
        if (!gone) {
            struct timespec ts = {0, 50 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    PGH_CHECK(!pgh_test_pid_alive((pid_t)pm), "postmaster %ld survived its test", pm);
    PGH_CHECK(!pgh_test_pid_alive(r.child), "spawned child %ld survived its test", (long)r.child);
    PGH_CHECK(keep || !exists(r.dir), "%s was not removed", r.dir);
}

int main(void)
{
    pgh_test_server a, b;
    PGH_CHECK(pgh_test_server_start(&a, "a", NULL) == 0, "start a");
    PGH_CHECK(pgh_test_server_start(&b, "b", "max_wal_senders = 20") == 0, "start b");
    PGH_CHECK(a.port != b.port && a.running && b.running, "two servers, two ports");
    PGH_CHECK(strncmp(a.dir, "/tmp/pghost-test-", 17) == 0 && exists(a.datadir), "a.dir %s", a.dir);
    printf("servers: a port %d (%s), b port %d (%s)\n", a.port, a.dir, b.port, b.dir);

    case_sql_and_dumps(&a, &b);
    case_restart(&b);
    case_processes(&a);

    char dir_a[PGH_TEST_PATH_MAX];
    snprintf(dir_a, sizeof(dir_a), "%s", a.dir);
    PGH_CHECK(pgh_test_server_stop(&a) == 0 && pgh_test_server_stop(&b) == 0, "stop");
    PGH_CHECK(!a.running && !b.running, "stopped");
    PGH_CHECK(getenv("PGH_TEST_KEEP") != NULL || !exists(dir_a), "%s was not removed", dir_a);
    PGH_CHECK(pgh_test_server_stop(&a) == 0, "a second stop is a no-op");

    case_start_failure();
    case_watchdog();
    printf("harness_selftest: all cases passed\n");
    return 0;
}
