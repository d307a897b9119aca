/*
 * The integration-test harness: see pgh_test.h for the contract.
 *
 * Processes while a test runs (root case):
 *
 *   test process
 *    |-- runuser -u postgres -- initdb / pg_ctl ... (short-lived)
 *    `-- processes from pgh_test_spawn()
 *   postmaster: pg_ctl starts it in a session of its own; it is orphaned (init's) once pg_ctl
 *               exits
 *   watchdog:   double-forked, so init's too, in a session of its own; blocks in read() on the
 *               pipe, and EOF means the test process is gone
 *
 * Nothing long-lived may be a descendant of the test process: on a timeout ctest (kwsys) SIGKILLs
 * the test's whole process tree, found through parent pids, and that must not take the watchdog
 * along (nor the postmasters, which the watchdog stops cleanly).
 *
 * The watchdog pipe carries one line per event, each shorter than PIPE_BUF so writes are atomic:
 * "S<dir>" server temp dir created, "s<dir>" removed, "P<pid>" process spawned, "p<pid>" reaped.
 */
#include "pgh_test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_SERVERS 32      /* live server temp dirs per test process */
#define MAX_CHILDREN 64     /* spawned processes not yet waited for */
#define LOG_TAIL_BYTES 6000 /* how much of a log to print when a server fails */
#define DIFF_LINE_MAX 300   /* bytes of each row shown in a dump difference */
#define PG_START_TIMEOUT_S 60
#define PG_TOOL_TIMEOUT_S 120 /* initdb, pg_ctl: bounded so a hang cannot eat the ctest timeout */
#define PORT_ATTEMPTS 8

/* Everything the harness remembers. Reset in a forked child at its first harness call, so a
 * child never believes it owns its parent's servers or watchdog. */
static struct {
    pid_t owner;                    /* the process this state belongs to; 0 before the first call */
    bool atexit_set;                /* the atexit handler is installed (inherited across fork) */
    int watch_fd;                   /* write end of the watchdog pipe, -1 when no watchdog yet */
    bool root;                      /* running as root: PostgreSQL tools go through runuser */
    char bindir[PGH_TEST_PATH_MAX]; /* initdb/pg_ctl directory, "" until resolved */
    char servers[MAX_SERVERS][PGH_TEST_PATH_MAX]; /* live temp dirs, "" for a free slot */
    pid_t children[MAX_CHILDREN];                 /* spawned, not yet reaped, 0 = free */
} H = {.watch_fd = -1};

static void cleanup_all(void);
static int resolve_bindir(bool quiet);

/* ---- small utilities ------------------------------------------------------------------- */

static bool env_is_1(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && strcmp(v, "1") == 0;
}

/* vsnprintf into a fresh malloc'd string; fails the test when out of memory. */
static char *vformat(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
static char *vformat(const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        pgh_test_fail("bad format string \"%s\"", fmt);
    char *s = malloc((size_t)n + 1);
    if (s == NULL)
        pgh_test_fail("out of memory");
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

/* snprintf that tolerates a NULL/zero-length destination. */
static void put(char *dst, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void put(char *dst, size_t len, const char *fmt, ...)
{
    if (dst == NULL || len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, len, fmt, ap);
    va_end(ap);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static bool is_executable(const char *dir, const char *tool)
{
    char path[PGH_TEST_PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/%s", dir, tool);
    return access(path, X_OK) == 0;
}

/* Remove a file or a whole tree (never following symlinks). Returns 0, -1 if anything stayed. */
static int rm_tree_at(int parent_fd, const char *name)
{
    struct stat st;
    if (fstatat(parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode))
        return (unlinkat(parent_fd, name, 0) == 0 || errno == ENOENT) ? 0 : -1;

    int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    DIR *d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return -1;
    }
    int rc = 0;
    for (;;) {
        struct dirent *e = readdir(d);
        if (e == NULL)
            break;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (rm_tree_at(fd, e->d_name) != 0)
            rc = -1;
    }
    closedir(d);
    if (unlinkat(parent_fd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
        rc = -1;
    return rc;
}

/* Remove a server's temp dir, or with PGH_TEST_KEEP=1 say where it stays. */
static void remove_or_keep(const char *dir)
{
    if (env_is_1("PGH_TEST_KEEP")) {
        fprintf(stderr, "pgh_test: kept %s (PGH_TEST_KEEP=1)\n", dir);
        return;
    }
    if (rm_tree_at(AT_FDCWD, dir) != 0)
        fprintf(stderr, "pgh_test: could not remove %s: %s\n", dir, strerror(errno));
}

/* Print the last LOG_TAIL_BYTES of a file to stderr, starting at a line boundary. */
static void print_tail(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "pgh_test: (no %s)\n", path);
        return;
    }
    fprintf(stderr, "---- end of %s ----\n", path);
    bool cut = false;
    if (fseek(f, 0, SEEK_END) == 0 && ftell(f) > LOG_TAIL_BYTES) {
        fseek(f, -LOG_TAIL_BYTES, SEEK_END);
        cut = true;
    } else {
        rewind(f);
    }
    char line[1024];
    bool at_line_start = !cut;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (at_line_start)
            fputs(line, stderr);
        at_line_start = at_line_start || strchr(line, '\n') != NULL;
    }
    fprintf(stderr, "---- (end) ----\n");
    fclose(f);
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

/* Does the file contain needle at or after byte offset? */
static bool file_contains_from(const char *path, long offset, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;
    fseek(f, offset, SEEK_SET);
    char line[2048];
    bool found = false;
    while (!found && fgets(line, sizeof(line), f) != NULL)
        found = strstr(line, needle) != NULL;
    fclose(f);
    return found;
}

/* First line of postmaster.pid, or 0 when there is none. */
static pid_t read_postmaster_pid(const char *datadir)
{
    char path[PGH_TEST_PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/postmaster.pid", datadir);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    char line[64] = "";
    pid_t pid = 0;
    if (fgets(line, sizeof(line), f) != NULL) {
        char *end = NULL;
        long v = strtol(line, &end, 10);
        if (end != line && v > 0)
            pid = (pid_t)v;
    }
    fclose(f);
    return pid;
}

bool pgh_test_pid_alive(pid_t pid)
{
    if (pid <= 0 || (kill(pid, 0) != 0 && errno != EPERM))
        return false;
    /* A zombie still answers kill(); /proc tells "Z". */
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return errno != ENOENT;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *paren = strrchr(buf, ')');
    return !(paren != NULL && paren[1] == ' ' && paren[2] == 'Z');
}

/* Reap pid if it is our child, waiting up to timeout_ms (after a SIGKILL). */
static void reap_quietly(pid_t pid, long timeout_ms)
{
    if (pid <= 0)
        return;
    long long deadline = now_ms() + timeout_ms;
    for (;;) {
        pid_t r = waitpid(pid, NULL, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR) || now_ms() > deadline)
            return;
        sleep_ms(5);
    }
}

/* ---- processes ------------------------------------------------------------------------- */

/* Why a child could not exec, sent back over a CLOEXEC pipe. */
typedef struct exec_failure {
    int stage; /* 1 stdout file, 2 stderr file, 3 chdir, 4 exec */
    int err;   /* errno */
} exec_failure;

static int open_output(const char *path, bool append)
{
    return open(path, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0644);
}

static void child_setup_and_exec(const char *const argv[], const char *out, const char *err,
                                 const char *cwd, bool append_out, int report_fd)
{
    exec_failure f = {0, 0};
    static const int sigs[] = {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        signal(sigs[i], SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    int nul = open("/dev/null", O_RDONLY);
    if (nul >= 0) {
        dup2(nul, STDIN_FILENO);
        close(nul);
    }
    if (out != NULL) {
        int fd = open_output(out, append_out);
        if (fd < 0) {
            f = (exec_failure){1, errno};
            goto failed;
        }
        if (fd != STDOUT_FILENO) {
            dup2(fd, STDOUT_FILENO);
            close(fd);
        }
    }
    if (err != NULL && out != NULL && strcmp(err, out) == 0) {
        dup2(STDOUT_FILENO, STDERR_FILENO);
    } else if (err != NULL) {
        int fd = open_output(err, false);
        if (fd < 0) {
            f = (exec_failure){2, errno};
            goto failed;
        }
        if (fd != STDERR_FILENO) {
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
    }
    if (cwd != NULL && chdir(cwd) != 0) {
        f = (exec_failure){3, errno};
        goto failed;
    }
    execvp(argv[0], (char *const *)argv);
    f = (exec_failure){4, errno};
failed:
    if (write(report_fd, &f, sizeof(f)) < 0) {
        /* nothing left to tell anyone */
    }
    _exit(127);
}

/* fork + exec; returns the pid, or -1 with the reason in why. No watchdog bookkeeping. */
static pid_t spawn_raw(const char *const argv[], const char *out, const char *err, const char *cwd,
                       bool append_out, char *why, size_t why_len)
{
    int pfd[2];
    if (pipe(pfd) != 0) {
        put(why, why_len, "pipe: %s", strerror(errno));
        return -1;
    }
    fcntl(pfd[0], F_SETFD, FD_CLOEXEC);
    fcntl(pfd[1], F_SETFD, FD_CLOEXEC);
    fflush(NULL); /* or buffered output would be written twice */
    pid_t pid = fork();
    if (pid < 0) {
        put(why, why_len, "fork: %s", strerror(errno));
        close(pfd[0]);
        close(pfd[1]);
        return -1;
    }
    if (pid == 0) {
        close(pfd[0]);
        child_setup_and_exec(argv, out, err, cwd, append_out, pfd[1]);
    }
    close(pfd[1]);
    exec_failure f;
    ssize_t n;
    do {
        n = read(pfd[0], &f, sizeof(f));
    } while (n < 0 && errno == EINTR);
    close(pfd[0]);
    if (n == (ssize_t)sizeof(f)) {
        static const char *const stage[] = {"?", "open stdout file", "open stderr file", "chdir",
                                            "exec"};
        put(why, why_len, "%s: %s (%s)", argv[0], strerror(f.err),
            stage[f.stage >= 1 && f.stage <= 4 ? f.stage : 0]);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        return -1;
    }
    return pid;
}

static int decode_status(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return 255;
}

/* Wait for pid: 0 ended (*code set), 1 timed out (killed, reaped, *code = 137), -1 error. */
static int wait_raw(pid_t pid, long timeout_ms, int *code)
{
    int status = 0;
    long long deadline = now_ms() + timeout_ms;
    long step = 1;
    for (;;) {
        pid_t r = waitpid(pid, &status, timeout_ms > 0 ? WNOHANG : 0);
        if (r == pid) {
            *code = decode_status(status);
            return 0;
        }
        if (r < 0 && errno != EINTR)
            return -1;
        if (r == 0 && now_ms() >= deadline) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            *code = 128 + SIGKILL;
            return 1;
        }
        if (r == 0) {
            sleep_ms(step);
            step = step < 20 ? step * 2 : 20;
        }
    }
}

/* Run a PostgreSQL tool from bindir (through runuser when root) with cwd /tmp, all output to
 * out_file. Returns its exit code, or -1 when it could not run or timed out. */
static int pg_tool(const char *tool, const char *const args[], const char *out_file, int timeout_s)
{
    char path[PGH_TEST_PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/%s", H.bindir, tool);
    const char *argv[32];
    size_t n = 0;
    if (H.root) {
        argv[n++] = access("/usr/sbin/runuser", X_OK) == 0 ? "/usr/sbin/runuser" : "runuser";
        argv[n++] = "-u";
        argv[n++] = "postgres";
        argv[n++] = "--";
    }
    argv[n++] = path;
    for (size_t i = 0; args[i] != NULL && n < sizeof(argv) / sizeof(argv[0]) - 1; i++)
        argv[n++] = args[i];
    argv[n] = NULL;

    char why[256];
    pid_t pid = spawn_raw(argv, out_file, out_file, "/tmp", false, why, sizeof(why));
    if (pid < 0) {
        fprintf(stderr, "pgh_test: cannot run %s: %s\n", tool, why);
        return -1;
    }
    int code = 0;
    int rc = wait_raw(pid, (long)timeout_s * 1000, &code);
    if (rc == 1)
        fprintf(stderr, "pgh_test: %s did not finish within %d s, killed\n", tool, timeout_s);
    return rc == 0 ? code : -1;
}

/* Is pid a postgres process? (A stale postmaster.pid may name a pid reused by another program,
 * which must never be killed.) */
static bool is_postgres(pid_t pid)
{
    char path[64], comm[32] = "";
    snprintf(path, sizeof(path), "/proc/%ld/comm", (long)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;
    if (fgets(comm, sizeof(comm), f) == NULL)
        comm[0] = '\0';
    fclose(f);
    return strncmp(comm, "postgres", 8) == 0;
}

/* pg_ctl stop -m immediate, then SIGKILL the postmaster if it is somehow still there. */
static void stop_immediate(const char *datadir)
{
    pid_t pid = read_postmaster_pid(datadir);
    if (pid == 0)
        return;
    const char *args[] = {"-D", datadir, "-w", "-t", "30", "-m", "immediate", "stop", NULL};
    pg_tool("pg_ctl", args, "/dev/null", 60);
    if (pgh_test_pid_alive(pid) && is_postgres(pid))
        kill(pid, SIGKILL);
}

/* ---- watchdog -------------------------------------------------------------------------- */

typedef struct watch_list {
    char dirs[MAX_SERVERS][PGH_TEST_PATH_MAX];
    pid_t pids[MAX_CHILDREN];
} watch_list;

static void watch_apply(watch_list *w, const char *line)
{
    const char *arg = line + 1;
    if (line[0] == 'S' || line[0] == 's') {
        for (int i = 0; i < MAX_SERVERS; i++) {
            bool match = strcmp(w->dirs[i], arg) == 0;
            if (line[0] == 's' && match) {
                w->dirs[i][0] = '\0';
                return;
            }
            if (line[0] == 'S' && w->dirs[i][0] == '\0') {
                snprintf(w->dirs[i], sizeof(w->dirs[i]), "%s", arg);
                return;
            }
        }
    } else if (line[0] == 'P' || line[0] == 'p') {
        pid_t pid = (pid_t)strtol(arg, NULL, 10);
        for (int i = 0; i < MAX_CHILDREN; i++) {
            if (line[0] == 'p' && w->pids[i] == pid) {
                w->pids[i] = 0;
                return;
            }
            if (line[0] == 'P' && w->pids[i] == 0) {
                w->pids[i] = pid;
                return;
            }
        }
    }
}

/* The watchdog process: collect events until EOF, then clean up whatever is left. */
static void watchdog_main(int rfd, pid_t test_pid) __attribute__((noreturn));
static void watchdog_main(int rfd, pid_t test_pid)
{
    setsid(); /* out of the test's process group: a group-wide kill must not take us along */
    static const int ignore[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGTSTP};
    for (size_t i = 0; i < sizeof(ignore) / sizeof(ignore[0]); i++)
        signal(ignore[i], SIG_IGN);
    long max_fd = sysconf(_SC_OPEN_MAX);
    if (max_fd < 0 || max_fd > 65536)
        max_fd = 65536;
    for (int fd = 3; fd < max_fd; fd++)
        if (fd != rfd)
            close(fd);
    int nul = open("/dev/null", O_RDONLY);
    if (nul >= 0) {
        dup2(nul, STDIN_FILENO);
        close(nul);
    }

    static watch_list w; /* static: zeroed, and off the stack */
    char buf[4 * PGH_TEST_PATH_MAX];
    size_t have = 0;
    for (;;) {
        ssize_t n = read(rfd, buf + have, sizeof(buf) - 1 - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        have += (size_t)n;
        buf[have] = '\0';
        char *start = buf;
        for (;;) {
            char *nl = strchr(start, '\n');
            if (nl == NULL)
                break;
            *nl = '\0';
            watch_apply(&w, start);
            start = nl + 1;
        }
        have = (size_t)(buf + have - start);
        memmove(buf, start, have);
        if (have == sizeof(buf) - 1)
            have = 0; /* a line longer than any we send: drop it */
    }

    for (int i = 0; i < MAX_CHILDREN; i++) {
        if (w.pids[i] <= 0 || !pgh_test_pid_alive(w.pids[i]))
            continue;
        if (kill(w.pids[i], SIGKILL) == 0)
            fprintf(stderr, "pgh_test watchdog: test process %ld ended, killed its child %ld\n",
                    (long)test_pid, (long)w.pids[i]);
    }
    for (int i = 0; i < MAX_SERVERS; i++) {
        if (w.dirs[i][0] == '\0')
            continue;
        char datadir[PGH_TEST_PATH_MAX + 8];
        snprintf(datadir, sizeof(datadir), "%s/data", w.dirs[i]);
        fprintf(stderr, "pgh_test watchdog: test process %ld ended, stopping server in %s\n",
                (long)test_pid, w.dirs[i]);
        stop_immediate(datadir);
        remove_or_keep(w.dirs[i]);
    }
    _exit(0);
}

/* Send one event line to the watchdog (if there is one). */
static void tell_watchdog(char kind, const char *arg)
{
    if (H.watch_fd < 0)
        return;
    char line[PGH_TEST_PATH_MAX + 8];
    int n = snprintf(line, sizeof(line), "%c%s\n", kind, arg);
    if (n < 0 || (size_t)n >= sizeof(line))
        return;
    /* A dead watchdog must not kill the test with SIGPIPE: ignore it just for this write. */
    struct sigaction ign = {.sa_handler = SIG_IGN}, old;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGPIPE, &ign, &old);
    ssize_t w;
    do {
        w = write(H.watch_fd, line, (size_t)n);
    } while (w < 0 && errno == EINTR);
    sigaction(SIGPIPE, &old, NULL);
    if (w != n)
        fprintf(stderr, "pgh_test: lost contact with the watchdog: %s\n", strerror(errno));
}

static void ensure_watchdog(void)
{
    if (H.watch_fd >= 0)
        return;
    resolve_bindir(true); /* the watchdog needs pg_ctl too; it inherits what we found */
    int pfd[2];
    if (pipe(pfd) != 0)
        pgh_test_fail("watchdog pipe: %s", strerror(errno));
    /* CLOEXEC on both: no exec'd program (pg_ctl, pghost) may hold the write end, or the
     * watchdog would not see EOF while it runs. */
    fcntl(pfd[0], F_SETFD, FD_CLOEXEC);
    fcntl(pfd[1], F_SETFD, FD_CLOEXEC);
    fflush(NULL);
    pid_t test_pid = getpid();
    pid_t mid = fork();
    if (mid < 0)
        pgh_test_fail("watchdog fork: %s", strerror(errno));
    if (mid == 0) {
        /* Double fork: the watchdog is orphaned at once, out of the test's process tree. */
        pid_t w = fork();
        if (w == 0) {
            close(pfd[1]);
            watchdog_main(pfd[0], test_pid);
        }
        _exit(w < 0 ? 1 : 0);
    }
    close(pfd[0]);
    int status = 0;
    while (waitpid(mid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        pgh_test_fail("watchdog fork failed");
    H.watch_fd = pfd[1];
}

/* ---- process state --------------------------------------------------------------------- */

static void at_exit_cleanup(void)
{
    cleanup_all();
}

/* First harness call in this process (or in a forked child): reset state, set up. */
static void ensure_init(void)
{
    pid_t self = getpid();
    if (H.owner == self)
        return;
    if (H.watch_fd >= 0)
        close(H.watch_fd); /* the parent's watchdog: must see EOF when the parent ends */
    H.watch_fd = -1;
    memset(H.servers, 0, sizeof(H.servers));
    memset(H.children, 0, sizeof(H.children));
    H.owner = self;
    H.root = geteuid() == 0;

    /* Tests pass every connection parameter explicitly; keep the caller's libpq environment
     * out of the tests and of the pghost processes they start. */
    static const char *const pgenv[] = {"PGHOST",
                                        "PGHOSTADDR",
                                        "PGPORT",
                                        "PGUSER",
                                        "PGDATABASE",
                                        "PGPASSWORD",
                                        "PGPASSFILE",
                                        "PGSERVICE",
                                        "PGSERVICEFILE",
                                        "PGOPTIONS",
                                        "PGSSLMODE",
                                        "PGGSSENCMODE",
                                        "PGTARGETSESSIONATTRS",
                                        "PGCLIENTENCODING",
                                        "PGDATESTYLE",
                                        "PGTZ",
                                        "PGDATA",
                                        "PGAPPNAME",
                                        "PGCONNECT_TIMEOUT"};
    for (size_t i = 0; i < sizeof(pgenv) / sizeof(pgenv[0]); i++)
        unsetenv(pgenv[i]);

    if (!H.atexit_set) {
        atexit(at_exit_cleanup);
        H.atexit_set = true;
    }
}

/* Find initdb/pg_ctl once. Returns 0, or -1 (explained on stderr unless quiet). */
static int resolve_bindir(bool quiet)
{
    if (H.bindir[0] != '\0')
        return 0;
    const char *env = getenv("PGH_PG_BINDIR");
    if (env != NULL && env[0] != '\0') {
        if (!is_executable(env, "initdb") || !is_executable(env, "pg_ctl")) {
            if (!quiet)
                fprintf(stderr, "pgh_test: PGH_PG_BINDIR=%s has no initdb/pg_ctl\n", env);
            return -1;
        }
        snprintf(H.bindir, sizeof(H.bindir), "%s", env);
        return 0;
    }
    char line[PGH_TEST_PATH_MAX] = "";
    FILE *p = popen("pg_config --bindir 2>/dev/null", "r");
    if (p != NULL) {
        if (fgets(line, sizeof(line), p) == NULL)
            line[0] = '\0';
        pclose(p);
        line[strcspn(line, "\r\n")] = '\0';
    }
    if (line[0] != '\0' && is_executable(line, "initdb") && is_executable(line, "pg_ctl")) {
        snprintf(H.bindir, sizeof(H.bindir), "%s", line);
        return 0;
    }
    const char *fallback = "/usr/lib/postgresql/15/bin";
    if (is_executable(fallback, "initdb") && is_executable(fallback, "pg_ctl")) {
        snprintf(H.bindir, sizeof(H.bindir), "%s", fallback);
        return 0;
    }
    if (!quiet)
        fprintf(stderr,
                "pgh_test: no initdb/pg_ctl found (pg_config --bindir, %s); install "
                "postgresql-15 (scripts/install-deps.sh) or set PGH_PG_BINDIR\n",
                fallback);
    return -1;
}

static void track_server(const char *dir, bool add)
{
    for (int i = 0; i < MAX_SERVERS; i++) {
        if (add && H.servers[i][0] == '\0') {
            snprintf(H.servers[i], sizeof(H.servers[i]), "%s", dir);
            tell_watchdog('S', dir);
            return;
        }
        if (!add && strcmp(H.servers[i], dir) == 0) {
            H.servers[i][0] = '\0';
            tell_watchdog('s', dir);
            return;
        }
    }
    if (add)
        pgh_test_fail("more than %d servers at once", MAX_SERVERS);
}

static void track_child(pid_t pid, bool add)
{
    char arg[32];
    snprintf(arg, sizeof(arg), "%ld", (long)pid);
    for (int i = 0; i < MAX_CHILDREN; i++) {
        if (H.children[i] == (add ? 0 : pid)) {
            H.children[i] = add ? pid : 0;
            tell_watchdog(add ? 'P' : 'p', arg);
            return;
        }
    }
    if (add)
        fprintf(stderr, "pgh_test: more than %d children; %ld is not watched\n", MAX_CHILDREN,
                (long)pid);
}

/* Kill this process's children and stop its servers now (fail, skip and exit paths). */
static void cleanup_all(void)
{
    if (H.owner != getpid())
        return; /* a forked child that never used the harness: nothing here is its own */
    for (int i = 0; i < MAX_CHILDREN; i++) {
        if (H.children[i] > 0) {
            kill(H.children[i], SIGKILL);
            reap_quietly(H.children[i], 2000);
            track_child(H.children[i], false);
        }
    }
    for (int i = 0; i < MAX_SERVERS; i++) {
        if (H.servers[i][0] == '\0')
            continue;
        char dir[PGH_TEST_PATH_MAX], datadir[PGH_TEST_PATH_MAX + 8];
        snprintf(dir, sizeof(dir), "%s", H.servers[i]);
        snprintf(datadir, sizeof(datadir), "%s/data", dir);
        stop_immediate(datadir);
        remove_or_keep(dir);
        track_server(dir, false);
    }
}

/* ---- failing --------------------------------------------------------------------------- */

static char fail_note[256]; /* pgh_test_set_fail_note's, printed when the test fails */

void pgh_test_set_fail_note(const char *note)
{
    snprintf(fail_note, sizeof(fail_note), "%s", note ? note : "");
}

static void fail_exit(int code) __attribute__((noreturn));
static void fail_exit(int code)
{
    if (fail_note[0] != '\0')
        fprintf(stderr, "%s\n", fail_note);
    cleanup_all();
    fflush(NULL);
    /* _exit: no atexit handlers (done above) and no LeakSanitizer report about what a failing
     * test still held, which would only bury the real message. */
    _exit(code);
}

void pgh_test_fail(const char *fmt, ...)
{
    fflush(stdout);
    va_list ap;
    va_start(ap, fmt);
    fputs("FAIL: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fail_exit(1);
}

void pgh_test__check_failed(const char *file, int line, const char *cond, const char *fmt, ...)
{
    fflush(stdout);
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL %s:%d: (%s) ", file, line, cond);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fail_exit(1);
}

/* ---- servers --------------------------------------------------------------------------- */

static int write_conf(const pgh_test_server *s, const char *extra_conf)
{
    char path[PGH_TEST_PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/pghost_test.conf", s->datadir);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "pgh_test: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    fprintf(f,
            "# written by tests/harness/pgh_test.c, included from postgresql.conf\n"
            "listen_addresses = '127.0.0.1'\n"
            "port = %d\n"
            "unix_socket_directories = '%s'\n"
            "wal_level = logical\n"
            "max_replication_slots = 16\n"
            "max_wal_senders = 16\n"
            "fsync = off\n"
            "synchronous_commit = off\n"
            "full_page_writes = off\n"
            "shared_buffers = 128MB\n"
            "max_connections = 100\n"
            "logging_collector = off\n"
            "log_line_prefix = '%%m [%%p] %%q%%a '\n",
            s->port, s->sockdir);
    if (extra_conf != NULL)
        fprintf(f, "# extra_conf from the test\n%s\n", extra_conf);
    if (fclose(f) != 0)
        return -1;
    if (H.root) {
        struct passwd *pw = getpwnam("postgres");
        if (pw != NULL && chown(path, pw->pw_uid, pw->pw_gid) != 0)
            return -1;
    }
    return 0;
}

/* pg_ctl start with the configuration already written. Returns pg_ctl's exit code or -1. */
static int pg_ctl_start(pgh_test_server *s)
{
    char out[PGH_TEST_PATH_MAX + 16];
    snprintf(out, sizeof(out), "%s/pg_ctl.log", s->dir);
    const char *args[] = {"-D", s->datadir, "-l", s->logfile, "-w", "-t", "60", "start", NULL};
    int rc = pg_tool("pg_ctl", args, out, PG_START_TIMEOUT_S + 30);
    if (rc == 0) {
        s->pid = read_postmaster_pid(s->datadir);
        s->running = true;
    }
    return rc;
}

/* Report a failed start; removes the temp dir; exits 77 when skipping is allowed. */
static int start_failed(pgh_test_server *s, const char *what, const char *log)
{
    fprintf(stderr, "pgh_test: could not start PostgreSQL server '%s': %s\n", s->name, what);
    if (log != NULL)
        print_tail(log);
    if (s->dir[0] != '\0') {
        char pgctl_log[PGH_TEST_PATH_MAX + 16];
        snprintf(pgctl_log, sizeof(pgctl_log), "%s/pg_ctl.log", s->dir);
        if (file_size(pgctl_log) > 0)
            print_tail(pgctl_log);
        stop_immediate(s->datadir);
        remove_or_keep(s->dir);
        track_server(s->dir, false);
    }
    s->running = false;
    s->pid = 0;
    if (env_is_1("PGH_TEST_ALLOW_SKIP")) {
        fprintf(stderr, "SKIP: PostgreSQL cannot start here and PGH_TEST_ALLOW_SKIP=1\n");
        fail_exit(PGH_TEST_SKIP);
    }
    fprintf(stderr, "pgh_test: (a developer without PostgreSQL may set PGH_TEST_ALLOW_SKIP=1 to "
                    "skip instead; CI never does)\n");
    return -1;
}

/* mkdtemp + layout + ownership. Returns 0 or -1 (message printed). */
static int make_dirs(pgh_test_server *s)
{
    char tmpl[] = "/tmp/pghost-test-XXXXXX";
    if (mkdtemp(tmpl) == NULL) {
        fprintf(stderr, "pgh_test: mkdtemp: %s\n", strerror(errno));
        return -1;
    }
    snprintf(s->dir, sizeof(s->dir), "%s", tmpl);
    track_server(s->dir, true);
    snprintf(s->datadir, sizeof(s->datadir), "%s/data", tmpl);
    snprintf(s->sockdir, sizeof(s->sockdir), "%s/sock", tmpl);
    snprintf(s->logfile, sizeof(s->logfile), "%s/server.log", tmpl);
    if (mkdir(s->sockdir, 0700) != 0) {
        fprintf(stderr, "pgh_test: mkdir %s: %s\n", s->sockdir, strerror(errno));
        return -1;
    }
    if (H.root) {
        struct passwd *pw = getpwnam("postgres");
        if (pw == NULL) {
            fprintf(stderr, "pgh_test: running as root but there is no postgres user\n");
            return -1;
        }
        if (chown(s->dir, pw->pw_uid, pw->pw_gid) != 0 ||
            chown(s->sockdir, pw->pw_uid, pw->pw_gid) != 0) {
            fprintf(stderr, "pgh_test: chown %s: %s\n", s->dir, strerror(errno));
            return -1;
        }
    }
    return 0;
}

static int append_include(const pgh_test_server *s)
{
    char path[PGH_TEST_PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/postgresql.conf", s->datadir);
    FILE *f = fopen(path, "a");
    if (f == NULL)
        return -1;
    fputs("\ninclude = 'pghost_test.conf'\n", f);
    return fclose(f) == 0 ? 0 : -1;
}

int pgh_test_server_start(pgh_test_server *s, const char *name, const char *extra_conf)
{
    ensure_init();
    memset(s, 0, sizeof(*s));
    snprintf(s->name, sizeof(s->name), "%s", name != NULL ? name : "server");
    if (resolve_bindir(false) != 0)
        return start_failed(s, "no PostgreSQL binaries", NULL);
    ensure_watchdog();
    if (make_dirs(s) != 0)
        return start_failed(s, "could not create its directory", NULL);

    char initdb_log[PGH_TEST_PATH_MAX + 16];
    snprintf(initdb_log, sizeof(initdb_log), "%s/initdb.log", s->dir);
    const char *initdb_args[] = {"-D",       s->datadir, "--no-sync", "-A",         "trust", "-U",
                                 "postgres", "-E",       "UTF8",      "--locale=C", NULL};
    if (pg_tool("initdb", initdb_args, initdb_log, PG_TOOL_TIMEOUT_S) != 0)
        return start_failed(s, "initdb failed", initdb_log);
    if (append_include(s) != 0)
        return start_failed(s, "could not edit postgresql.conf", NULL);

    for (int attempt = 1;; attempt++) {
        s->port = pgh_test_free_port();
        if (s->port < 0 || write_conf(s, extra_conf) != 0)
            return start_failed(s, "could not pick a port or write the configuration", NULL);
        long log_offset = file_size(s->logfile);
        if (pg_ctl_start(s) == 0)
            return 0;
        stop_immediate(s->datadir); /* in case pg_ctl gave up on a postmaster still starting */
        bool port_taken = file_contains_from(s->logfile, log_offset, "already in use");
        if (!port_taken || attempt == PORT_ATTEMPTS)
            return start_failed(s, "pg_ctl start failed", s->logfile);
        fprintf(stderr, "pgh_test: port %d was taken meanwhile, trying another\n", s->port);
    }
}

/* pg_ctl stop in the given mode and reap the postmaster. Returns pg_ctl's exit code or -1. */
static int pg_ctl_stop(pgh_test_server *s, const char *mode)
{
    const char *args[] = {"-D", s->datadir, "-w", "-t", "60", "-m", mode, "stop", NULL};
    int rc = pg_tool("pg_ctl", args, "/dev/null", PG_START_TIMEOUT_S + 30);
    if (rc != 0) {
        fprintf(stderr, "pgh_test: pg_ctl stop -m %s of '%s' failed\n", mode, s->name);
        stop_immediate(s->datadir);
    }
    s->running = false;
    s->pid = 0;
    return rc;
}

int pgh_test_server_stop(pgh_test_server *s)
{
    ensure_init();
    int rc = 0;
    if (s->running)
        rc = pg_ctl_stop(s, "fast");
    if (s->dir[0] != '\0') {
        bool tracked = false;
        for (int i = 0; i < MAX_SERVERS; i++)
            tracked = tracked || strcmp(H.servers[i], s->dir) == 0;
        if (tracked) {
            remove_or_keep(s->dir);
            track_server(s->dir, false);
        }
    }
    return rc;
}

int pgh_test_server_kill(pgh_test_server *s)
{
    ensure_init();
    if (!s->running) {
        fprintf(stderr, "pgh_test: kill: server '%s' is not running\n", s->name);
        return -1;
    }
    return pg_ctl_stop(s, "immediate");
}

int pgh_test_server_restart(pgh_test_server *s)
{
    ensure_init();
    if (s->dir[0] == '\0' || s->datadir[0] == '\0') {
        fprintf(stderr, "pgh_test: restart: server '%s' was never started\n", s->name);
        return -1;
    }
    if (s->running && pg_ctl_stop(s, "fast") != 0)
        return -1;
    long log_offset = file_size(s->logfile);
    if (pg_ctl_start(s) != 0) {
        fprintf(stderr, "pgh_test: restart of '%s' on port %d failed\n", s->name, s->port);
        if (file_contains_from(s->logfile, log_offset, "already in use"))
            fprintf(stderr, "pgh_test: another process took port %d meanwhile\n", s->port);
        print_tail(s->logfile);
        return -1;
    }
    return 0;
}

/* ---- SQL ------------------------------------------------------------------------------- */

char *pgh_test_conninfo(const pgh_test_server *s, const char *dbname)
{
    /* Quote the value for conninfo: '...' with \ and ' escaped. */
    size_t len = strlen(dbname);
    char *q = malloc(2 * len + 3);
    if (q == NULL)
        pgh_test_fail("out of memory");
    size_t j = 0;
    q[j++] = '\'';
    for (size_t i = 0; i < len; i++) {
        if (dbname[i] == '\'' || dbname[i] == '\\')
            q[j++] = '\\';
        q[j++] = dbname[i];
    }
    q[j++] = '\'';
    q[j] = '\0';
    size_t cap = j + 96;
    char *ci = malloc(cap);
    if (ci == NULL)
        pgh_test_fail("out of memory");
    snprintf(ci, cap, "host=127.0.0.1 port=%d user=postgres dbname=%s", s->port, q);
    free(q);
    return ci;
}

PGconn *pgh_test_connect(const pgh_test_server *s, const char *dbname)
{
    ensure_init();
    char *ci = pgh_test_conninfo(s, dbname);
    PGconn *c = PQconnectdb(ci);
    free(ci);
    if (PQstatus(c) != CONNECTION_OK) {
        char msg[1024];
        snprintf(msg, sizeof(msg), "%s", c != NULL ? PQerrorMessage(c) : "out of memory");
        PQfinish(c);
        pgh_test_fail("cannot connect to server '%s' (port %d) database \"%s\": %s", s->name,
                      s->port, dbname, msg);
    }
    return c;
}

/* Run sql; fail the test (showing the SQL) unless the status fits. The caller frees sql and
 * PQclear()s the result. */
static PGresult *exec_checked(PGconn *c, const char *sql, bool want_rows)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    bool ok = want_rows
                  ? st == PGRES_TUPLES_OK
                  : (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY);
    if (!ok) {
        fflush(stdout);
        fprintf(stderr, "pgh_test: SQL failed: %.1000s\n", sql);
        if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH)
            pgh_test_fail("COPY and replication commands are not for pgh_test_exec/value");
        pgh_test_fail("%s", PQerrorMessage(c));
    }
    return r;
}

void pgh_test_exec(PGconn *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *sql = vformat(fmt, ap);
    va_end(ap);
    PQclear(exec_checked(c, sql, false));
    free(sql);
}

char *pgh_test_value(PGconn *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *sql = vformat(fmt, ap);
    va_end(ap);
    PGresult *r = exec_checked(c, sql, true);
    if (PQntuples(r) < 1 || PQnfields(r) < 1)
        pgh_test_fail("pgh_test_value: no row from: %.1000s", sql);
    char *v = NULL;
    if (!PQgetisnull(r, 0, 0)) {
        v = strdup(PQgetvalue(r, 0, 0));
        if (v == NULL)
            pgh_test_fail("out of memory");
    }
    PQclear(r);
    free(sql);
    return v;
}

int pgh_test_create_db(const pgh_test_server *s, const char *name)
{
    ensure_init();
    char *ci = pgh_test_conninfo(s, "postgres");
    PGconn *c = PQconnectdb(ci);
    free(ci);
    int rc = -1;
    char *ident = NULL;
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "pgh_test: create_db: cannot connect to '%s': %s", s->name,
                c != NULL ? PQerrorMessage(c) : "out of memory\n");
        goto done;
    }
    ident = PQescapeIdentifier(c, name, strlen(name));
    if (ident == NULL) {
        fprintf(stderr, "pgh_test: create_db: %s", PQerrorMessage(c));
        goto done;
    }
    char sql[512];
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", ident);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) == PGRES_COMMAND_OK)
        rc = 0;
    else
        fprintf(stderr, "pgh_test: %s on '%s' failed: %s", sql, s->name, PQerrorMessage(c));
    PQclear(r);
done:
    PQfreemem(ident);
    PQfinish(c);
    return rc;
}

/* ---- dump comparison ------------------------------------------------------------------- */

/* Copy a COPY text row for display: no trailing newline, at most DIFF_LINE_MAX bytes. */
static void show_row(char *dst, size_t dst_len, const char *row, int len)
{
    int n = len;
    if (n > 0 && row[n - 1] == '\n')
        n--;
    bool cut = n > DIFF_LINE_MAX;
    snprintf(dst, dst_len, "%.*s%s", cut ? DIFF_LINE_MAX : n, row, cut ? "..." : "");
}

static int copy_begin(PGconn *c, const char *query, const char *side, char *diff, size_t diff_len)
{
    size_t cap = strlen(query) + 32;
    char *sql = malloc(cap);
    if (sql == NULL) {
        put(diff, diff_len, "out of memory");
        return -1;
    }
    snprintf(sql, cap, "COPY (%s) TO STDOUT", query);
    PGresult *r = PQexec(c, sql);
    free(sql);
    int rc = 0;
    if (PQresultStatus(r) != PGRES_COPY_OUT) {
        put(diff, diff_len, "%s query failed: %s", side, PQerrorMessage(c));
        rc = -1;
    }
    PQclear(r);
    return rc;
}

/* Next row of a COPY OUT: 1 row in *row (PQfreemem it), 0 finished cleanly, -1 error. */
static int copy_next(PGconn *c, char **row, int *len)
{
    *row = NULL;
    int n = PQgetCopyData(c, row, 0);
    if (n >= 0) {
        *len = n;
        return 1;
    }
    if (n == -2)
        return -1;
    int rc = 0;
    for (;;) {
        PGresult *r = PQgetResult(c);
        if (r == NULL)
            break;
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            rc = -1;
        PQclear(r);
    }
    return rc;
}

/* Read a COPY OUT to its end, discarding rows (after an error on the other side). */
static void copy_drain(PGconn *c)
{
    char *row;
    int len;
    while (copy_next(c, &row, &len) == 1)
        PQfreemem(row);
}

int pgh_test_compare_dumps(PGconn *a, const char *query_a, PGconn *b, const char *query_b,
                           char *diff, size_t diff_len, long long *out_rows)
{
    put(diff, diff_len, "%s", "");
    if (out_rows != NULL)
        *out_rows = 0;
    if (a == b) {
        put(diff, diff_len, "compare_dumps needs two different connections");
        return -1;
    }
    if (copy_begin(a, query_a, "source", diff, diff_len) != 0)
        return -1;
    if (copy_begin(b, query_b, "destination", diff, diff_len) != 0) {
        copy_drain(a);
        return -1;
    }

    long long na = 0, nb = 0, extra_at = 0;
    bool a_done = false, b_done = false, differ = false;
    char shown_a[DIFF_LINE_MAX + 8] = "", shown_b[DIFF_LINE_MAX + 8] = "";
    while (!a_done || !b_done) {
        char *ra = NULL, *rb = NULL;
        int la = 0, lb = 0, st;
        if (!a_done) {
            st = copy_next(a, &ra, &la);
            if (st < 0) {
                put(diff, diff_len, "source failed after %lld rows: %s", na, PQerrorMessage(a));
                if (!b_done)
                    copy_drain(b);
                return -1;
            }
            a_done = st == 0;
            na += st;
        }
        if (!b_done) {
            st = copy_next(b, &rb, &lb);
            if (st < 0) {
                PQfreemem(ra);
                put(diff, diff_len, "destination failed after %lld rows: %s", nb,
                    PQerrorMessage(b));
                if (!a_done)
                    copy_drain(a);
                return -1;
            }
            b_done = st == 0;
            nb += st;
        }
        if (!differ && extra_at == 0 && ra != NULL && rb != NULL &&
            (la != lb || memcmp(ra, rb, (size_t)la) != 0)) {
            differ = true;
            show_row(shown_a, sizeof(shown_a), ra, la);
            show_row(shown_b, sizeof(shown_b), rb, lb);
            put(diff, diff_len, "row %lld differs:\n  source:      %s\n  destination: %s", na,
                shown_a, shown_b);
        } else if (!differ && extra_at == 0 && (ra == NULL) != (rb == NULL)) {
            extra_at = ra != NULL ? na : nb;
            show_row(shown_a, sizeof(shown_a), ra != NULL ? ra : rb, ra != NULL ? la : lb);
        }
        PQfreemem(ra);
        PQfreemem(rb);
    }
    if (out_rows != NULL)
        *out_rows = na;
    if (extra_at > 0) {
        bool src_more = na > nb;
        put(diff, diff_len,
            "%s has %lld more rows (source %lld, destination %lld); first extra "
            "row %lld: %s",
            src_more ? "source" : "destination", src_more ? na - nb : nb - na, na, nb, extra_at,
            shown_a);
    } else if (differ && na != nb) {
        size_t used = strlen(diff != NULL ? diff : "");
        if (diff != NULL && used < diff_len)
            put(diff + used, diff_len - used,
                "\n  and row counts differ: source %lld, "
                "destination %lld",
                na, nb);
    }
    return differ || extra_at > 0 ? 1 : 0;
}

/* ---- processes (public) ---------------------------------------------------------------- */

int pgh_test_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    socklen_t len = sizeof(sa);
    int port = -1;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

static pid_t spawn_tracked(const char *const argv[], const char *stdout_file,
                           const char *stderr_file, bool append_out)
{
    ensure_init();
    ensure_watchdog();
    char why[512];
    pid_t pid = spawn_raw(argv, stdout_file, stderr_file, NULL, append_out, why, sizeof(why));
    if (pid < 0) {
        fprintf(stderr, "pgh_test: cannot start %s\n", why);
        return -1;
    }
    track_child(pid, true);
    return pid;
}

pid_t pgh_test_spawn(const char *const argv[], const char *stdout_file, const char *stderr_file)
{
    return spawn_tracked(argv, stdout_file, stderr_file, false);
}

pid_t pgh_test_spawn_append(const char *const argv[], const char *stdout_file,
                            const char *stderr_file)
{
    return spawn_tracked(argv, stdout_file, stderr_file, true);
}

int pgh_test_wait(pid_t pid, int timeout_s, int *exit_code)
{
    ensure_init();
    int code = 0;
    int rc = wait_raw(pid, timeout_s > 0 ? (long)timeout_s * 1000 : 0, &code);
    if (rc < 0) {
        fprintf(stderr, "pgh_test: waitpid %ld: %s\n", (long)pid, strerror(errno));
        return -1;
    }
    track_child(pid, false);
    if (exit_code != NULL)
        *exit_code = code;
    return rc;
}

int pgh_test_run(const char *const argv[], const char *stdout_file, const char *stderr_file,
                 int timeout_s, int *exit_code)
{
    pid_t pid = pgh_test_spawn(argv, stdout_file, stderr_file);
    if (pid < 0)
        return -1;
    int rc = pgh_test_wait(pid, timeout_s, exit_code);
    if (rc == 1)
        fprintf(stderr, "pgh_test: %s did not finish within %d s, killed\n", argv[0], timeout_s);
    return rc;
}
