/*
 * The copy's destination side: consecutive source batches share one destination COPY.
 *
 *   splice     several tables (binary, text, empty, and one whose last batch is empty) copied by
 *              two workers in tiny batches, so that each destination COPY receives many source
 *              batches and workers move between tables: the tables end equal (full ordered
 *              dumps), and the destination committed a handful of transactions, not one per batch.
 *   dest_fail  a key already on the destination: the copy fails with the server's message, and
 *              the destination keeps only what it had (the failed COPY is rolled back whole).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "it_common.h"
#include "pghost/postgres.h"
#include "source/copy.h"

#define NTABLES 4

static const char *const TABLES[NTABLES] = {"t_bin", "t_text", "t_empty", "t_exact"};

static void create_tables(PGconn *c)
{
    pgh_test_exec(c, "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy'); "
                     "CREATE TABLE t_bin (id int PRIMARY KEY, v text, b bytea); "
                     "CREATE TABLE t_text (a int, b text, m mood, PRIMARY KEY (a, b)); "
                     "CREATE TABLE t_empty (id bigint PRIMARY KEY, v text); "
                     "CREATE TABLE t_exact (id int PRIMARY KEY, v numeric)");
}

static void fill_source(PGconn *s)
{
    pgh_test_exec(s, "INSERT INTO t_bin SELECT g, CASE WHEN g %% 13 = 0 THEN NULL ELSE "
                     "repeat(md5(g::text), g %% 5) END, decode(md5(g::text), 'hex') "
                     "FROM generate_series(1, 1003) g; "
                     "INSERT INTO t_text SELECT g / 3, 'k' || g, (ARRAY['sad','ok','happy'])"
                     "[1 + g %% 3]::mood FROM generate_series(1, 517) g; "
                     "INSERT INTO t_exact SELECT g, g / 7.0 FROM generate_series(1, 70) g; "
                     "ANALYZE");
}

/* Committed transactions of the current database on c, as the statistics have them. */
static long long commits(PGconn *c)
{
    pgh_test_exec(c, "SELECT pg_stat_clear_snapshot()");
    char *v = pgh_test_value(c, "SELECT xact_commit FROM pg_stat_database "
                                "WHERE datname = current_database()");
    long long n = atoll(v);
    free(v);
    return n;
}

typedef struct copy_case {
    pgh_table_info *src[NTABLES];
    pgh_table_info *dst[NTABLES];
    pgh_copy_table tables[NTABLES];
    const char *names[NTABLES];
    int ntables;
} copy_case;

static void load_case(copy_case *cc, pgh_run_pair *p, const char *const *names, int n)
{
    memset(cc, 0, sizeof(*cc));
    cc->ntables = n;
    pgh_error err = {0};
    for (int i = 0; i < n; i++) {
        PGH_CHECK(pgh_catalog_table(&cc->src[i], p->s, "public", names[i], &err) == 0, "%s",
                  err.message);
        PGH_CHECK(pgh_catalog_table(&cc->dst[i], p->d, "public", names[i], &err) == 0, "%s",
                  err.message);
        PGH_CHECK(pgh_copy_table_init(&cc->tables[i], cc->src[i], cc->dst[i]->qualified, i,
                                      pgh_copy_choose_format(cc->src[i], PGH_COPY_FORMAT_AUTO)) ==
                      0,
                  "out of memory");
        cc->names[i] = names[i];
    }
}

static void free_case(copy_case *cc)
{
    for (int i = 0; i < cc->ntables; i++) {
        pgh_copy_table_dispose(&cc->tables[i]);
        pgh_table_info_free(cc->src[i]);
        pgh_table_info_free(cc->dst[i]);
    }
}

/* The copy into the PostgreSQL destination's copy sessions (pghost/keyed.h), opened and
 * prepared as a pipeline would (the tables may hold rows: dest_fail puts one there). */
static int run_copy(copy_case *cc, pgh_run_pair *p, int workers, int batch,
                    long long *commits_out, pgh_error *err)
{
    char yaml[1024];
    int len = snprintf(yaml, sizeof(yaml), "source_connection: ${SRC}\n"
                                           "destination_connection: ${DST}\n"
                                           "publication_name: copyperf\ntables:\n");
    for (int i = 0; i < cc->ntables; i++)
        len += snprintf(yaml + len, sizeof(yaml) - (size_t)len, "  - public.%s\n", cc->names[i]);
    pgh_config *cfg = it_config(p, yaml);
    pgh_destination *d = NULL;
    PGH_CHECK(pgh_postgres_destination_new(&d, err) == 0, "destination: %s", err->message);
    const pgh_destination_ops *ops = pgh_destination_ops_of(d);
    void *user = pgh_destination_user(d);
    pgh_destination_info info = {.config = cfg, .slot = cfg->slot_name};
    int rc = ops->open(user, &info, err);
    if (rc == 0)
        rc = ops->keyed->prepare(user, true, false, err);
    pgh_copy_opts o = PGH_COPY_OPTS_INIT;
    o.source_conninfo = p->src_conninfo;
    o.workers = workers;
    o.batch_rows = batch;
    o.keyed = ops->keyed;
    o.user = user;
    long long before = commits(p->d); /* the copy's own, not the destination's checks */
    if (rc == 0)
        rc = pgh_copy_run(cc->tables, cc->ntables, &o, err);
    if (commits_out)
        *commits_out = commits(p->d) - before;
    ops->close(user);
    pgh_destination_free(d);
    pgh_config_free(cfg);
    return rc;
}

static void case_splice(pgh_run_pair *p)
{
    copy_case cc;
    load_case(&cc, p, TABLES, NTABLES);
    PGH_CHECK(cc.tables[0].format == PGH_COPY_BINARY && cc.tables[1].format == PGH_COPY_TEXT,
              "formats: t_bin %d, t_text %d", cc.tables[0].format, cc.tables[1].format);
    long long copy_commits = 0;
    pgh_error err = {0};
    PGH_CHECK(run_copy(&cc, p, 2, 7, &copy_commits, &err) == 0, "copy: %s", err.message);
    long long batches = 0;
    for (int i = 0; i < NTABLES; i++)
        batches += (long long)atomic_load(&cc.tables[i].batches);
    const char *order[NTABLES] = {"id", "a, b", "id", "id"};
    for (int i = 0; i < NTABLES; i++)
        it_compare_table(p, TABLES[i], TABLES[i], order[i]);
    /* Two workers, four tables: at most one destination COPY per worker and table (plus the
     * statistics query's own transactions), against ~230 source batches. */
    PGH_CHECK(batches > 200, "only %lld batches: the case does not exercise the splicing",
              batches);
    PGH_CHECK(copy_commits <= 2 * NTABLES + 4,
              "%lld destination commits for %lld batches: batches are not sharing COPYs",
              copy_commits, batches);
    printf("splice: %lld batches in %lld destination commits, tables equal\n", batches,
           copy_commits);
    free_case(&cc);
}

static void case_dest_fail(pgh_run_pair *p)
{
    pgh_test_exec(p->d, "INSERT INTO t_bin VALUES (900, 'already here', NULL)");
    copy_case cc;
    load_case(&cc, p, TABLES, 1);
    pgh_error err = {0};
    int rc = run_copy(&cc, p, 1, 50, NULL, &err);
    PGH_CHECK(rc == PGH_ESQL, "copy over an existing key returned %d (%s)", rc, err.message);
    PGH_CHECK(strncmp(err.message, "copy of public.t_bin: ", 22) == 0 &&
                  strstr(err.message, "duplicate key") != NULL,
              "unclear error: %s", err.message);
    char *n = pgh_test_value(p->d, "SELECT count(*) || ' ' || min(v) FROM t_bin");
    PGH_CHECK(strcmp(n, "1 already here") == 0, "destination after the failed copy: %s", n);
    free(n);
    printf("dest_fail: %s; the destination kept only its own row\n", err.message);
    free_case(&cc);
}

int main(int argc, char **argv)
{
    if (argc != 2)
        pgh_test_fail("usage: it_copyperf splice|dest_fail");
    pgh_run_pair p;
    pgh_run_pair_start(&p, NULL, NULL);
    create_tables(p.s);
    create_tables(p.d);
    fill_source(p.s);
    if (strcmp(argv[1], "splice") == 0)
        case_splice(&p);
    else if (strcmp(argv[1], "dest_fail") == 0)
        case_dest_fail(&p);
    else
        pgh_test_fail("unknown case %s", argv[1]);
    pgh_run_pair_stop(&p);
    puts("PASS");
    return 0;
}
