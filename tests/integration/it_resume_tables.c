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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgh_run.h"

typedef struct ctx {
    pgh_run_pair p;
    pgh_run r; /* runs write <source dir>/runN.out and runN.err */
} ctx;

static const char TABLE_DDL[] = "(id bigint PRIMARY KEY, v int NOT NULL, note text)";

static void setup(ctx *c)
{
    pgh_run_pair_start(&c->p, NULL, NULL);
    for (int i = 0; i < 2; i++) {
        const char *t = i ? "t_b" : "t_a";
        pgh_test_exec(c->p.s, "CREATE TABLE public.%s %s", t, TABLE_DDL);
        pgh_test_exec(c->p.d, "CREATE TABLE public.%s %s", t, TABLE_DDL);
        pgh_test_exec(c->p.s,
                      "INSERT INTO public.%s SELECT g, %d, md5(g::text) "
                      "FROM generate_series(1, 5000) g",
                      t, i);
    }
    /* FOR ALL TABLES: a table created later is published at once, as the silent loss needs. */
    pgh_test_exec(c->p.s, "CREATE PUBLICATION pub FOR ALL TABLES");
    pgh_run_init(&c->r, &c->p, PGH_BINARY, "run", "resume.yaml");
    pgh_run_write_config(&c->r,
                         "source_connection: %s\ndestination_connection: %s\npublication_name: "
                         "pub\ntables: [public.t_*]\ncopy_batch_size: 1000\ncopy_worker_count: 2\n",
                         c->p.src_conninfo, c->p.dst_conninfo);
}

static pid_t spawn_follow(ctx *c)
{
    return pgh_run_spawn(&c->r, "replicate", "--no-progress", "--follow", NULL);
}

/* SIGTERM: exit 0 within 5 s. */
#define STOP_WAIT_S 5

/* Changes to both followed tables, several transactions. */
static void write_followed(ctx *c, int round)
{
    for (int i = 0; i < 2; i++) {
        const char *t = i ? "t_b" : "t_a";
        pgh_test_exec(c->p.s,
                      "INSERT INTO public.%s SELECT g, %d, 'r' FROM "
                      "generate_series(%d, %d) g",
                      t, round, 10000 + round * 100, 10000 + round * 100 + 49);
        pgh_test_exec(c->p.s, "UPDATE public.%s SET v = v + 10, note = 'u%d' WHERE id %% 7 = %d", t,
                      round, round % 7);
        pgh_test_exec(c->p.s, "DELETE FROM public.%s WHERE id %% 11 = %d", t, round % 11);
    }
}

/* A fence on t_b (the last followed table) arrives: everything before it has; compare both. */
static void fence_and_compare(ctx *c, int fence)
{
    pgh_run_fence_value(&c->r, 0, "public.t_b", -1, fence, "fence");
    pgh_run_compare(&c->p, "SELECT * FROM public.t_a ORDER BY id", NULL, NULL);
    pgh_run_compare(&c->p, "SELECT * FROM public.t_b ORDER BY id", NULL, NULL);
}

static void case_new_table(ctx *c)
{
    pid_t pid = spawn_follow(c);
    pgh_run_wait_follow(&c->r, pid);
    fence_and_compare(c, 1);
    pgh_run_stop(&c->r, pid, STOP_WAIT_S);

    /* While stopped: a new matching table with rows, and writes to the followed ones. */
    pgh_test_exec(c->p.s, "CREATE TABLE public.t_new %s", TABLE_DDL);
    pgh_test_exec(c->p.d, "CREATE TABLE public.t_new %s", TABLE_DDL);
    pgh_test_exec(c->p.s,
                  "INSERT INTO public.t_new SELECT g, 7, 'n' FROM generate_series(1, 300) g");
    write_followed(c, 2);

    pid = spawn_follow(c);
    int resumed_run = c->r.n;
    pgh_run_sleep_ms(1000);
    pgh_test_exec(c->p.s, "INSERT INTO public.t_new SELECT g, 8, 'm' FROM "
                          "generate_series(301, 400) g");
    write_followed(c, 3);
    fence_and_compare(c, 2);
    pgh_run_stop(&c->r, pid, STOP_WAIT_S);

    char *n = pgh_test_value(c->p.d, "SELECT count(*) FROM public.t_new");
    PGH_CHECK(strcmp(n, "0") == 0, "t_new, never copied, got %s rows from the stream", n);
    free(n);
    const char *err = pgh_run_stderr(&c->r, resumed_run);
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
    pgh_test_exec(c->p.d, "CREATE TABLE pghost.ddl_tables (slot text, idx int, origin_schema "
                          "text, origin_table text, source_schema text, source_table text, "
                          "dest_schema text NOT NULL, dest_table text NOT NULL, "
                          "PRIMARY KEY (slot, idx))");
    char *slot = pgh_test_value(c->p.d, "SELECT slot_name FROM pghost.state");
    pgh_test_exec(c->p.d,
                  "INSERT INTO pghost.ddl_tables VALUES ('%s', 0, 'public', 't_a', "
                  "'public', 't_a', 'public', 't_a')",
                  slot);
    free(slot);
    n = pgh_test_value(c->p.d, "SELECT count(*) FROM pghost.selected_tables");
    PGH_CHECK(strcmp(n, "2") == 0, "pghost.selected_tables holds %s rows, not 2", n);
    free(n);
    int code = pgh_run_exec(&c->r, 60, "teardown", NULL);
    PGH_CHECK(code == 0, "teardown failed: %s", pgh_run_stderr(&c->r, 0));
    n = pgh_test_value(c->p.d, "SELECT count(*) FROM pg_catalog.pg_namespace WHERE nspname = "
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
    pgh_run_pair_stop(&c.p);
    puts("PASS");
    return 0;
}
