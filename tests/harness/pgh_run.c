/* Running pghost in integration tests: see pgh_run.h for the contract. */
#include "pgh_run.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POLL_MS 100    /* interval of the waits for the follow phase and for fences */
#define KILL_WAIT_S 10 /* how long pgh_run_kill waits for the killed process */

/* ---- time and randomness ---------------------------------------------------------------- */

void pgh_run_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

double pgh_run_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

uint64_t pgh_run_random(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

/* ---- the pair of servers ---------------------------------------------------------------- */

void pgh_run_pair_start(pgh_run_pair *p, const char *src_conf, const char *dst_conf)
{
    memset(p, 0, sizeof(*p));
    PGH_CHECK(pgh_test_server_start(&p->src, "source", src_conf) == 0, "source");
    PGH_CHECK(pgh_test_server_start(&p->dst, "destination", dst_conf) == 0, "destination");
    p->src_conninfo = pgh_test_conninfo(&p->src, "postgres");
    p->dst_conninfo = pgh_test_conninfo(&p->dst, "postgres");
    p->s = pgh_test_connect(&p->src, "postgres");
    p->d = pgh_test_connect(&p->dst, "postgres");
}

void pgh_run_source_start(pgh_run_pair *p, const char *src_conf)
{
    memset(p, 0, sizeof(*p));
    PGH_CHECK(pgh_test_server_start(&p->src, "source", src_conf) == 0, "source");
    p->src_conninfo = pgh_test_conninfo(&p->src, "postgres");
    p->s = pgh_test_connect(&p->src, "postgres");
}

void pgh_run_pair_stop(pgh_run_pair *p)
{
    PQfinish(p->s);
    PQfinish(p->d);
    free(p->src_conninfo);
    free(p->dst_conninfo);
    p->s = p->d = NULL;
    p->src_conninfo = p->dst_conninfo = NULL;
    pgh_test_server_stop(&p->dst);
    pgh_test_server_stop(&p->src);
}

long long pgh_run_compare(const pgh_run_pair *p, const char *src_query, const char *dst_query,
                          const char *log)
{
    const char *dq = dst_query ? dst_query : src_query;
    char diff[2048];
    long long rows = 0;
    int rc = pgh_test_compare_dumps(p->s, src_query, p->d, dq, diff, sizeof(diff), &rows);
    PGH_CHECK(rc == 0, "the destination differs (%s): %s%s%s", dq, diff,
              log ? "\npghost's log:\n" : "", log ? log : "");
    printf("%s: %lld rows equal\n", dq, rows);
    return rows;
}

/* True when the destination has table pghost.<name>. */
static bool state_table_exists(const pgh_run_pair *p, const char *name)
{
    char *v = pgh_test_value(p->d, "SELECT to_regclass('pghost.%s') IS NOT NULL", name);
    bool there = strcmp(v, "t") == 0;
    free(v);
    return there;
}

char *pgh_run_phase(const pgh_run_pair *p)
{
    if (!state_table_exists(p, "state"))
        return strdup("none");
    return pgh_test_value(p->d, "SELECT coalesce(max(phase), 'none') FROM pghost.state");
}

/* ---- runs of the pghost binary ---------------------------------------------------------- */

/* snprintf into a path buffer; fails the test when the path does not fit. */
static void put_path(char *dst, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put_path(char *dst, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(dst, PGH_RUN_FILE_MAX, fmt, ap);
    va_end(ap);
    PGH_CHECK(n >= 0 && n < PGH_RUN_FILE_MAX, "path too long: %s...", dst);
}

void pgh_run_init(pgh_run *r, const pgh_run_pair *pair, const char *binary, const char *stem,
                  const char *config)
{
    memset(r, 0, sizeof(*r));
    r->pair = pair;
    r->binary = binary;
    PGH_CHECK(strlen(stem) < sizeof(r->stem), "stem %s is too long", stem);
    snprintf(r->stem, sizeof(r->stem), "%s", stem);
    r->config_per_run = config == NULL;
    if (config)
        put_path(r->cfg, "%s/%s", pair->src.dir, config);
}

void pgh_run_write_config(pgh_run *r, const char *fmt, ...)
{
    if (r->config_per_run)
        put_path(r->cfg, "%s/%s%d.yaml", r->pair->src.dir, r->stem, r->n + 1);
    FILE *f = fopen(r->cfg, "w");
    PGH_CHECK(f != NULL, "cannot write %s", r->cfg);
    va_list ap;
    va_start(ap, fmt);
    int n = vfprintf(f, fmt, ap);
    va_end(ap);
    PGH_CHECK(fclose(f) == 0 && n >= 0, "cannot write %s", r->cfg);
}

/* The path of run n's stdout ("out") or stderr ("err") file. */
static void run_path(char *dst, const pgh_run *r, int n, const char *ext)
{
    if (r->merge_stderr)
        ext = "out";
    put_path(dst, "%s/%s%d.%s", r->pair->src.dir, r->stem, n, ext);
}

static pid_t vspawn(pgh_run *r, const char *cmd, va_list ap)
{
    const char *argv[PGH_RUN_ARGS_MAX + 4] = {r->binary, cmd};
    int argc = 2;
    for (const char *a = va_arg(ap, const char *); a != NULL; a = va_arg(ap, const char *)) {
        PGH_CHECK(argc < PGH_RUN_ARGS_MAX + 2, "more than %d arguments", PGH_RUN_ARGS_MAX);
        argv[argc++] = a;
    }
    argv[argc++] = r->cfg;
    argv[argc] = NULL;
    PGH_CHECK(r->n < PGH_RUN_MAX, "more than %d runs", PGH_RUN_MAX);
    r->n++;
    run_path(r->out, r, r->n, "out");
    run_path(r->err, r, r->n, "err");
    pid_t pid;
    if (r->append_out[0] != '\0') {
        snprintf(r->out, sizeof(r->out), "%s", r->append_out);
        pid = pgh_test_spawn_append(argv, r->out, r->err);
    } else {
        pid = pgh_test_spawn(argv, r->out, r->err);
    }
    PGH_CHECK(pid > 0, "cannot start pghost %s", cmd);
    r->pids[r->n - 1] = pid;
    return pid;
}

pid_t pgh_run_spawn(pgh_run *r, const char *cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    pid_t pid = vspawn(r, cmd, ap);
    va_end(ap);
    return pid;
}

int pgh_run_exec(pgh_run *r, int timeout_s, const char *cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    pid_t pid = vspawn(r, cmd, ap);
    va_end(ap);
    return pgh_run_wait(r, pid, timeout_s);
}

int pgh_run_number(const pgh_run *r, pid_t pid)
{
    for (int n = r->n; n > 0; n--)
        if (r->pids[n - 1] == pid)
            return n;
    return r->n;
}

int pgh_run_wait(const pgh_run *r, pid_t pid, int timeout_s)
{
    int code = -1;
    int rc = pgh_test_wait(pid, timeout_s, &code);
    PGH_CHECK(rc == 0, "pghost (run %d) did not exit within %d s: %s", pgh_run_number(r, pid),
              timeout_s, pgh_run_stderr(r, pgh_run_number(r, pid)));
    return code;
}

void pgh_run_stop(const pgh_run *r, pid_t pid, int timeout_s)
{
    kill(pid, SIGTERM);
    int code = -1;
    int rc = pgh_test_wait(pid, timeout_s, &code);
    PGH_CHECK(rc == 0, "pghost did not exit within %d s of SIGTERM", timeout_s);
    PGH_CHECK(code == 0, "pghost exited %d after SIGTERM: %s", code,
              pgh_run_stderr(r, pgh_run_number(r, pid)));
}

void pgh_run_kill(pid_t pid)
{
    kill(pid, SIGKILL);
    int code = 0;
    pgh_test_wait(pid, KILL_WAIT_S, &code);
}

/* Read path into buf (size bytes with the NUL); fails the test if it cannot be opened. */
static const char *read_into(char *buf, size_t size, const char *path)
{
    FILE *f = fopen(path, "r");
    PGH_CHECK(f != NULL, "cannot open %s", path);
    size_t n = fread(buf, 1, size - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

const char *pgh_run_stdout(const pgh_run *r, int n)
{
    static char buf[PGH_RUN_READ_MAX];
    char path[PGH_RUN_FILE_MAX];
    run_path(path, r, n > 0 ? n : r->n, "out");
    return read_into(buf, sizeof(buf), path);
}

const char *pgh_run_stderr(const pgh_run *r, int n)
{
    static char buf[PGH_RUN_READ_MAX];
    char path[PGH_RUN_FILE_MAX];
    run_path(path, r, n > 0 ? n : r->n, "err");
    return read_into(buf, sizeof(buf), path);
}

char *pgh_run_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    PGH_CHECK(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    PGH_CHECK(n >= 0, "cannot read %s", path);
    char *s = malloc((size_t)n + 1);
    PGH_CHECK(s && fread(s, 1, (size_t)n, f) == (size_t)n, "cannot read %s", path);
    s[n] = '\0';
    fclose(f);
    return s;
}

int pgh_run_count_lines(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof(line), f))
        n += needle == NULL || strstr(line, needle) != NULL;
    fclose(f);
    return n;
}

/* ---- waiting ---------------------------------------------------------------------------- */

bool pgh_run_poll(const pgh_run *r, pid_t pid, PGconn *conn, int tries, int interval_ms,
                  const char *sql)
{
    for (int i = 0; i < tries; i++) {
        char *v = pgh_test_value(conn, "%s", sql);
        bool done = v != NULL && strcmp(v, "t") == 0;
        free(v);
        if (done)
            return true;
        PGH_CHECK(pid <= 0 || pgh_test_pid_alive(pid), "pghost exited: %s",
                  pgh_run_stderr(r, pgh_run_number(r, pid)));
        pgh_run_sleep_ms(interval_ms);
    }
    return false;
}

void pgh_run_wait_follow(const pgh_run *r, pid_t pid)
{
    const pgh_run_pair *p = r->pair;
    for (int i = 0; i < PGH_RUN_FOLLOW_WAIT_S * (1000 / POLL_MS); i++) {
        bool ready = state_table_exists(p, "state");
        if (ready) {
            char *n = pgh_test_value(p->d, "SELECT count(*) FROM pghost.state "
                                           "WHERE phase = 'follow'");
            ready = strcmp(n, "1") == 0;
            free(n);
        }
        if (ready)
            return;
        PGH_CHECK(pgh_test_pid_alive(pid), "pghost exited before following: %s",
                  pgh_run_stderr(r, pgh_run_number(r, pid)));
        pgh_run_sleep_ms(POLL_MS);
    }
    pgh_test_fail("pghost did not reach the follow phase in %d s", PGH_RUN_FOLLOW_WAIT_S);
}

void pgh_run_fence(const pgh_run *r, pid_t pid, int timeout_s, const char *write_sql,
                   const char *seen_sql)
{
    pgh_test_exec(r->pair->s, "%s", write_sql);
    if (!pgh_run_poll(r, pid, r->pair->d, timeout_s * (1000 / POLL_MS), POLL_MS, seen_sql))
        pgh_test_fail("the fence (%s) did not arrive within %d s: %s", write_sql, timeout_s,
                      r->n > 0 ? pgh_run_stderr(r, 0) : "");
}

void pgh_run_fence_value(const pgh_run *r, pid_t pid, const char *table, int key, int value,
                         const char *note)
{
    char write_sql[512], seen_sql[512];
    int n1 = note ? snprintf(write_sql, sizeof(write_sql),
                             "INSERT INTO %s (id, v, note) VALUES (%d, %d, '%s') ON CONFLICT "
                             "(id) DO UPDATE SET v = excluded.v",
                             table, key, value, note)
                  : snprintf(write_sql, sizeof(write_sql),
                             "INSERT INTO %s (id, v) VALUES (%d, %d) ON CONFLICT (id) DO UPDATE "
                             "SET v = excluded.v",
                             table, key, value);
    int n2 =
        snprintf(seen_sql, sizeof(seen_sql),
                 "SELECT coalesce((SELECT v FROM %s WHERE id = %d), -1) = %d", table, key, value);
    PGH_CHECK(n1 > 0 && (size_t)n1 < sizeof(write_sql) && n2 > 0 && (size_t)n2 < sizeof(seen_sql),
              "table name too long: %s", table);
    pgh_run_fence(r, pid, PGH_RUN_FENCE_WAIT_S, write_sql, seen_sql);
}

/* ---- writer threads --------------------------------------------------------------------- */

bool pgh_run_sql_ok(PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    return ok;
}

static void *writer_main(void *arg)
{
    pgh_run_writer *w = arg;
    const pgh_run_writers_opts *o = &w->pool->opts;
    bool once = o->reconnect_ms < 0;
    PGconn *conn = once ? PQconnectdb(o->conninfo) : NULL;
    if (once && PQstatus(conn) != CONNECTION_OK)
        fprintf(stderr, "writer %d: %s", w->index, PQerrorMessage(conn));
    while (!atomic_load(&w->pool->stop)) {
        if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
            if (once)
                break;
            PQfinish(conn);
            conn = PQconnectdb(o->conninfo);
            if (PQstatus(conn) != CONNECTION_OK) {
                pgh_run_sleep_ms(o->reconnect_ms);
                continue;
            }
        }
        if (o->write(conn, w, o->payload))
            atomic_fetch_add(&w->ok, 1);
        else
            atomic_fetch_add(&w->bad, 1);
        if (o->pause_ms > 0)
            pgh_run_sleep_ms(o->pause_ms);
    }
    PQfinish(conn);
    return NULL;
}

void pgh_run_writers_start(pgh_run_writers *ws, const pgh_run_writers_opts *opts)
{
    PGH_CHECK(!ws->running, "the writers are running already");
    PGH_CHECK(opts->threads >= 1 && opts->threads <= PGH_RUN_WRITERS_MAX && opts->write,
              "bad writer options (%d threads)", opts->threads);
    ws->opts = *opts;
    atomic_store(&ws->stop, 0);
    for (int i = 0; i < opts->threads; i++) {
        pgh_run_writer *w = &ws->w[i];
        w->index = i;
        w->seed = opts->seed + (unsigned)i;
        w->rng = 0x9E3779B97F4A7C15ULL * (uint64_t)(w->seed + 1u);
        w->mark = -1;
        atomic_store(&w->ok, 0);
        atomic_store(&w->bad, 0);
        w->pool = ws;
        PGH_CHECK(pthread_create(&w->thread, NULL, writer_main, w) == 0, "writer thread");
    }
    ws->running = true;
}

long pgh_run_writers_stop(pgh_run_writers *ws)
{
    if (ws->running) {
        atomic_store(&ws->stop, 1);
        for (int i = 0; i < ws->opts.threads; i++)
            pthread_join(ws->w[i].thread, NULL);
        ws->running = false;
    }
    return pgh_run_writers_ok(ws);
}

long pgh_run_writers_ok(pgh_run_writers *ws)
{
    long n = 0;
    for (int i = 0; i < ws->opts.threads; i++)
        n += atomic_load(&ws->w[i].ok);
    return n;
}

long pgh_run_writers_bad(pgh_run_writers *ws)
{
    long n = 0;
    for (int i = 0; i < ws->opts.threads; i++)
        n += atomic_load(&ws->w[i].bad);
    return n;
}
