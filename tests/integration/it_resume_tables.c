/*
 * A resumed --follow run works on the tables its first run selected (src/core/selection_store.c),
 * through the real binary: tables: [public.t_*] selects t_a and t_b; pghost follows, is stopped
 * (SIGTERM), a third matching table t_new gets rows on the source (it exists, empty, on the
 * destination too, as a prepared schema would have it), and the same command resumes. The
 * resumed run must warn naming t_new, leave t_new untouched on the destination (it was never
 * copied: applying only its changes would leave it silently incomplete), and go on with t_a
 * and t_b: writes made while stopped and after arrive, full ordered dumps equal. Then teardown
 * leaves nothing of pghost on the destination (state schema, recorded tables, DDL mapping).
 *
 * Usage: it_resume_tables CASE   (new_table)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pgh_test.h"

typedef struct ctx {
    pgh_test_server src;
    pgh_test_server dst;
    char *src_ci;
    char *dst_ci;
    PGconn *s;
    PGconn *d;
    char cfg[256];
    int run; /* pghost runs so far, for log file names */
} ctx;

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static const char TABLE_DDL[] = "(id bigint PRIMARY KEY, v int NOT NULL, note text)";

static void setup(ctx *c)
{
    PGH_CHECK(pgh_test_server_start(&c->src, "source", NULL) == 0, "source");
    PGH_CHECK(pgh_test_server_start(&c->dst, "destination", NULL) == 0, "destination");
    c->src_ci = pgh_test_conninfo(&c->src, "postgres");
    c->dst_ci = pgh_test_conninfo(&c->dst, "postgres");
    c->s = pgh_test_connect(&c->src, "postgres");
    c->d = pgh_test_connect(&c->dst, "postgres");
    for (int i = 0; i < 2; i++) {
        const char *t = i ? "t_b" : "t_a";
        pgh_test_exec(c->s, "CREATE TABLE public.%s %s", t, TABLE_DDL);
        pgh_test_exec(c->d, "CREATE TABLE public.%s %s", t, TABLE_DDL);
        pgh_test_exec(c->s, "INSERT INTO public.%s SELECT g, %d, md5(g::text) "
                            "FROM generate_series(1, 5000) g", t, i);
    }
    /* FOR ALL TABLES: a table created later is published at once, as the silent loss needs. */
    pgh_test_exec(c->s, "CREATE PUBLICATION pub FOR ALL TABLES");
    snprintf(c->cfg, sizeof(c->cfg), "%s/resume.yaml", c->src.dir);
    FILE *f = fopen(c->cfg, "w");
    PGH_CHECK(f != NULL, "config");
    fprintf(f,
            "source_connection: %s\ndestination_connection: %s\npublication_name: pub\n"
            "tables: [public.t_*]\ncopy_batch_size: 1000\ncopy_worker_count: 2\n",
            c->src_ci, c->dst_ci);
    fclose(f);
}

static void teardown(ctx *c)
{
    PQfinish(c->s);
    PQfinish(c->d);
    free(c->src_ci);
    free(c->dst_ci);
    pgh_test_server_stop(&c->dst);
    pgh_test_server_stop(&c->src);
}

static pid_t spawn_pghost(ctx *c, const char *cmd, const char *extra)
{
    char out[256], err[256];
    c->run++;
    snprintf(out, sizeof(out), "%s/run%d.out", c->src.dir, c->run);
    snprintf(err, sizeof(err), "%s/run%d.err", c->src.dir, c->run);
    bool replicate = strcmp(cmd, "replicate") == 0;
    const char *argv[] = {PGH_BINARY, cmd, replicate ? "--no-progress" : c->cfg,
                          replicate ? c->cfg : extra, extra, NULL};
    pid_t pid = pgh_test_spawn(argv, out, err);
    PGH_CHECK(pid > 0, "cannot start pghost");
    return pid;
}

static const char *run_stderr(ctx *c, int run)
{
    static char buf[65536];
    char path[256];
    snprintf(path, sizeof(path), "%s/run%d.err", c->src.dir, run);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    return buf;
}

static void wait_following(ctx *c, pid_t pid)
{
    for (int i = 0; i < 1200; i++) {
        char *n = pgh_test_value(c->d, "SELECT to_regclass('pghost.state') IS NOT NULL");
        bool ready = strcmp(n, "t") == 0;
        free(n);
        if (ready) {
            n = pgh_test_value(c->d, "SELECT count(*) FROM pghost.state WHERE phase = 'follow'");
            ready = strcmp(n, "1") == 0;
            free(n);
        }
        if (ready)
            return;
        PGH_CHECK(pgh_test_pid_alive(pid), "pghost exited before following: %s",
                  run_stderr(c, c->run));
        sleep_ms(100);
    }
    pgh_test_fail("pghost did not reach the follow phase in 120 s");
}

/* SIGTERM: exit 0 within 5 s. */
static void stop_pghost(ctx *c, pid_t pid)
{
    kill(pid, SIGTERM);
    int code = -1;
    PGH_CHECK(pgh_test_wait(pid, 5, &code) == 0, "pghost did not exit within 5 s of SIGTERM");
    PGH_CHECK(code == 0, "pghost exited %d after SIGTERM: %s", code, run_stderr(c, c->run));
}

/* Changes to both followed tables, several transactions. */
static void write_followed(ctx *c, int round)
{
    for (int i = 0; i < 2; i++) {
        const char *t = i ? "t_b" : "t_a";
        pgh_test_exec(c->s, "INSERT INTO public.%s SELECT g, %d, 'r' FROM "
                            "generate_series(%d, %d) g",
                      t, round, 10000 + round * 100, 10000 + round * 100 + 49);
        pgh_test_exec(c->s, "UPDATE public.%s SET v = v + 10, note = 'u%d' WHERE id %% 7 = %d",
                      t, round, round % 7);
        pgh_test_exec(c->s, "DELETE FROM public.%s WHERE id %% 11 = %d", t, round % 11);
    }
}

/* A fence on t_b (the last followed table) arrives: everything before it has; compare both. */
static void fence_and_compare(ctx *c, int fence)
{
    pgh_test_exec(c->s, "INSERT INTO public.t_b VALUES (-1, %d, 'fence') ON CONFLICT (id) DO "
                        "UPDATE SET v = excluded.v", fence);
    for (int i = 0; i < 1200; i++) {
        char *v = pgh_test_value(c->d, "SELECT coalesce((SELECT v FROM t_b WHERE id = -1), -1)");
        bool arrived = atoi(v) == fence;
        free(v);
        if (arrived) {
            for (int k = 0; k < 2; k++) {
                char q[128];
                snprintf(q, sizeof(q), "SELECT * FROM public.%s ORDER BY id", k ? "t_b" : "t_a");
                char diff[2048];
                long long rows = 0;
                int rc = pgh_test_compare_dumps(c->s, q, c->d, q, diff, sizeof(diff), &rows);
                PGH_CHECK(rc == 0, "%s differs after fence %d: %s", k ? "t_b" : "t_a", fence,
                          diff);
                printf("fence %d: %s: %lld rows equal\n", fence, k ? "t_b" : "t_a", rows);
            }
            return;
        }
        sleep_ms(100);
    }
    pgh_test_fail("fence %d did not arrive within 120 s: %s", fence, run_stderr(c, c->run));
}

static void case_new_table(ctx *c)
{
    pid_t pid = spawn_pghost(c, "replicate", "--follow");
    wait_following(c, pid);
    fence_and_compare(c, 1);
    stop_pghost(c, pid);

    /* While stopped: a new matching table with rows, and writes to the followed ones. */
    pgh_test_exec(c->s, "CREATE TABLE public.t_new %s", TABLE_DDL);
    pgh_test_exec(c->d, "CREATE TABLE public.t_new %s", TABLE_DDL);
    pgh_test_exec(c->s, "INSERT INTO public.t_new SELECT g, 7, 'n' FROM generate_series(1, 300) g");
    write_followed(c, 2);

    pid = spawn_pghost(c, "replicate", "--follow");
    int resumed_run = c->run;
    sleep_ms(1000);
    pgh_test_exec(c->s, "INSERT INTO public.t_new SELECT g, 8, 'm' FROM "
                        "generate_series(301, 400) g");
    write_followed(c, 3);
    fence_and_compare(c, 2);
    stop_pghost(c, pid);

    char *n = pgh_test_value(c->d, "SELECT count(*) FROM public.t_new");
    PGH_CHECK(strcmp(n, "0") == 0, "t_new, never copied, got %s rows from the stream", n);
    free(n);
    const char *err = run_stderr(c, resumed_run);
    const char *warn = strstr(err, "resumes with the tables its sync started with");
    PGH_CHECK(warn != NULL, "the resumed run did not warn: %s", err);
    const char *eol = strchr(warn, '\n');
    int len = eol ? (int)(eol - warn) : (int)strlen(warn);
    char line[1024];
    snprintf(line, sizeof(line), "%.*s", len, warn);
    PGH_CHECK(strstr(line, "not followed: public.t_new ") != NULL &&
                  strstr(line, "pghost teardown, then pghost replicate") != NULL,
              "the warning does not name public.t_new and the way to include it: %s", line);
    PGH_CHECK(strstr(line, "t_a") == NULL && strstr(line, "t_b") == NULL,
              "the warning names a followed table: %s", line);
    printf("resumed run warned about t_new; t_new untouched on the destination\n");

    /* The DDL apply's mapping lives in the state schema too (src/apply/ddl.c creates it at the
     * first replicated DDL): teardown must remove it with the rest. */
    pgh_test_exec(c->d, "CREATE TABLE pghost.ddl_tables (slot text, idx int, origin_schema "
                        "text, origin_table text, source_schema text, source_table text, "
                        "dest_schema text NOT NULL, dest_table text NOT NULL, "
                        "PRIMARY KEY (slot, idx))");
    char *slot = pgh_test_value(c->d, "SELECT slot_name FROM pghost.state");
    pgh_test_exec(c->d, "INSERT INTO pghost.ddl_tables VALUES ('%s', 0, 'public', 't_a', "
                        "'public', 't_a', 'public', 't_a')", slot);
    free(slot);
    n = pgh_test_value(c->d, "SELECT count(*) FROM pghost.selected_tables");
    PGH_CHECK(strcmp(n, "2") == 0, "pghost.selected_tables holds %s rows, not 2", n);
    free(n);
    pid = spawn_pghost(c, "teardown", NULL);
    int code = -1;
    PGH_CHECK(pgh_test_wait(pid, 60, &code) == 0 && code == 0, "teardown failed: %s",
              run_stderr(c, c->run));
    n = pgh_test_value(c->d, "SELECT count(*) FROM pg_catalog.pg_namespace WHERE nspname = "
                             "'pghost'");
    PGH_CHECK(strcmp(n, "0") == 0, "teardown left the pghost schema on the destination");
    free(n);
    printf("teardown left nothing of pghost on the destination\n");
}

int main(int argc, char **argv)
{
    PGH_CHECK(argc == 2, "usage: it_resume_tables CASE");
    ctx c;
    memset(&c, 0, sizeof(c));
    setup(&c);
    if (strcmp(argv[1], "new_table") == 0)
        case_new_table(&c);
    else
        pgh_test_fail("unknown case %s", argv[1]);
    teardown(&c);
    puts("PASS");
    return 0;
}
