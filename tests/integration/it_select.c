/*
 * Table selection, partitioned tables, pghost init and teardown, against real servers.
 *
 *   patterns    wildcards and excludes select exactly the expected tables (the list is
 *               asserted, partitions never appear), a second resolve changes nothing, a
 *               pattern matching nothing fails with its line; then a sync of the selection
 *               (publication made by pgh_init_run) ends with every table equal (full dumps).
 *   partitions  a range-partitioned source (with a default partition) under writers that
 *               insert, delete, update values and keys, move rows between partitions and
 *               rewrite TOASTed values, synced into a partitioned destination with other
 *               bounds, then (a second run) into a plain table: full ordered dumps equal.
 *   init        the binary: init lists every table without a usable key and writes nothing;
 *               on a fresh source it creates the publication (tables and options asserted) and
 *               the DDL capture; a second init changes nothing; a table created later that a
 *               pattern matches is added; a user's publication is never changed; teardown
 *               drops what init created and keeps the user's; replicate with a pattern
 *               matching nothing exits 2 with its line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "it_common.h"
#include "pghost/init.h"
#include "source/tables.h"

/* ---- patterns ----------------------------------------------------------------------------- */

static void create_selection_tables(PGconn *c, bool with_rows)
{
    pgh_test_exec(c, "CREATE SCHEMA sales; "
                     "CREATE TABLE public.a (id int PRIMARY KEY, v text); "
                     "CREATE TABLE public.b (id bigint PRIMARY KEY, n numeric); "
                     "CREATE TABLE public.tmp_1 (id int PRIMARY KEY); "
                     "CREATE TABLE public.tmp_2 (id int PRIMARY KEY); "
                     "CREATE TABLE public.events (id int, day int, PRIMARY KEY (id, day)) "
                     "  PARTITION BY RANGE (day); "
                     "CREATE TABLE public.events_1 PARTITION OF public.events "
                     "  FOR VALUES FROM (0) TO (100); "
                     "CREATE TABLE public.events_d PARTITION OF public.events DEFAULT; "
                     "CREATE TABLE sales.order_2023 (id int PRIMARY KEY, total int); "
                     "CREATE TABLE sales.order_2024 (id int PRIMARY KEY, total int); "
                     "CREATE TABLE sales.customers (id int PRIMARY KEY, name text); "
                     "CREATE TABLE sales.orders_archive (id int PRIMARY KEY)");
    if (!with_rows)
        return;
    pgh_test_exec(c,
                  "INSERT INTO public.a SELECT g, 'a' || g FROM generate_series(1, 3000) g; "
                  "INSERT INTO public.b SELECT g, g / 7.0 FROM generate_series(1, 2000) g; "
                  "INSERT INTO public.events SELECT g, g %% 250 FROM generate_series(1, 4000) g; "
                  "INSERT INTO sales.order_2023 SELECT g, g * 3 FROM generate_series(1, 1500) g; "
                  "INSERT INTO sales.order_2024 SELECT g, g * 5 FROM generate_series(1, 1700) g; "
                  "INSERT INTO sales.customers SELECT g, 'c' || g FROM generate_series(1, 900) g");
}

/* "ss.st>ds.dt" for every table of cfg, comma-separated. */
static void list_tables(char *out, size_t len, const pgh_config *cfg)
{
    out[0] = '\0';
    for (size_t i = 0; i < cfg->ntables; i++) {
        const pgh_table_map *m = &cfg->tables[i];
        size_t at = strlen(out);
        snprintf(out + at, len - at, "%s%s.%s>%s.%s", i ? "," : "", m->source_schema,
                 m->source_table, m->dest_schema, m->dest_table);
    }
}

static const char PATTERN_YAML[] = "source_connection: ${SRC}\n"
                                   "destination_connection: ${DST}\n"
                                   "publication_name: selpub\n"
                                   "copy_batch_size: 400\n"
                                   "tables:\n"
                                   "  - public.*\n"
                                   "  - sales.order_*\n"
                                   "  - source_schema_name: sales\n"
                                   "    source_table_name: customers\n"
                                   "    destination_table_name: clients\n"
                                   "  - public.a\n"
                                   "exclude_tables: [public.tmp_*]\n";

static void check_no_match(pgh_run_pair *p)
{
    pgh_config *cfg = it_config(p, "source_connection: ${SRC}\n"
                                   "destination_connection: ${DST}\n"
                                   "publication_name: selpub\n"
                                   "tables:\n"
                                   "  - public.a\n"
                                   "  - sales.nothing_*\n");
    pgh_error err;
    pgh_error_clear(&err);
    int rc = pgh_tables_resolve(cfg, p->s, &err);
    PGH_CHECK(rc == PGH_ECONFIG, "a pattern matching nothing resolved (%d)", rc);
    PGH_CHECK(strcmp(err.message,
                     "test.yaml:6: the pattern sales.nothing_* matches no table on the source "
                     "(ordinary and partitioned tables; partitions are selected through their "
                     "root): fix the pattern or remove the entry") == 0,
              "message: %s", err.message);
    pgh_config_free(cfg);
    puts("ok: a pattern matching nothing names its line");
}

static void sync_and_compare(pgh_run_pair *p, pgh_config *cfg)
{
    it_sync_opts o = {0};
    o.config = cfg;
    pgh_pipeline_result r;
    pgh_error err;
    pgh_error_clear(&err);
    int rc = it_sync(&r, &o, &err);
    PGH_CHECK(rc == 0, "replicate: %s", err.message);
    pgh_pipeline_result_dispose(&r);
    for (size_t i = 0; i < cfg->ntables; i++) {
        const pgh_table_map *m = &cfg->tables[i];
        char src[160], dst[160];
        snprintf(src, sizeof(src), "%s.%s", m->source_schema, m->source_table);
        snprintf(dst, sizeof(dst), "%s.%s", m->dest_schema, m->dest_table);
        long long rows = it_compare_table(p, src, dst, "1");
        PGH_CHECK(rows > 0, "%s: no rows compared", src);
    }
}

static void case_patterns(void)
{
    pgh_run_pair p;
    pgh_run_pair_start(&p, NULL, NULL);
    create_selection_tables(p.s, true);
    create_selection_tables(p.d, false);
    pgh_test_exec(p.d, "ALTER TABLE sales.customers RENAME TO clients");
    check_no_match(&p);

    pgh_config *cfg = it_config(&p, PATTERN_YAML);
    pgh_error err;
    pgh_error_clear(&err);
    PGH_CHECK(pgh_tables_resolve(cfg, p.s, &err) == 0, "resolve: %s", err.message);
    char got[2048];
    list_tables(got, sizeof(got), cfg);
    /* File order; a pattern's matches by name; public.a from its own entry, once; no
     * partitions, no excluded table, no table the patterns do not match. */
    const char *want = "public.b>public.b,public.events>public.events,"
                       "sales.order_2023>sales.order_2023,sales.order_2024>sales.order_2024,"
                       "sales.customers>sales.clients,public.a>public.a";
    PGH_CHECK(strcmp(got, want) == 0, "selection:\n  got:  %s\n  want: %s", got, want);
    PGH_CHECK(pgh_tables_resolve(cfg, p.s, &err) == 0, "second resolve: %s", err.message);
    list_tables(got, sizeof(got), cfg);
    PGH_CHECK(strcmp(got, want) == 0, "a second resolve changed the selection: %s", got);
    puts("ok: wildcards and excludes select exactly the expected tables");

    pgh_init_result ir;
    PGH_CHECK(pgh_init_run(&ir, cfg, &err) == 0, "init: %s", err.message);
    PGH_CHECK(ir.publication == PGH_INIT_PUB_CREATED && ir.ntables == 6, "init: %d %d",
              (int)ir.publication, ir.ntables);
    sync_and_compare(&p, cfg);
    it_check_no_slots(&p);
    pgh_config_free(cfg);
    puts("ok: the selected tables synced equal");
    pgh_run_pair_stop(&p);
}

/* ---- partitions --------------------------------------------------------------------------- */

#define NWRITERS 3

/* One random statement: ids 1..N, k spread over every partition (0..399, default >= 300). */
static void random_sql(char *out, size_t len, pgh_run_writer *w)
{
    int id = (int)(rand_r(&w->seed) % 6000) + 1;
    int k = (int)(rand_r(&w->seed) % 400);
    switch (rand_r(&w->seed) % 7) {
    case 0:
        snprintf(out, len, "INSERT INTO m VALUES (%d, %d, 'n' || %d) ON CONFLICT DO NOTHING",
                 id + 6000, k, id);
        break;
    case 1:
        snprintf(out, len, "DELETE FROM m WHERE id = %d", id);
        break;
    case 2: /* moves the row to another partition (the partition key changes) */
        snprintf(out, len, "UPDATE m SET k = %d WHERE id = %d", k, id);
        break;
    case 3: /* a key change inside the row's partition; big values stay unchanged */
        snprintf(out, len,
                 "UPDATE m SET id = id + 20000 WHERE id = %d AND NOT EXISTS "
                 "(SELECT 1 FROM m WHERE id = %d + 20000)",
                 id, id);
        break;
    case 4: /* rewrite a TOASTed value */
        snprintf(out, len,
                 "UPDATE m SET big = (SELECT string_agg(md5(random()::text), '') FROM "
                 "generate_series(1, 80)) WHERE id = %d",
                 id);
        break;
    default:
        snprintf(out, len, "UPDATE m SET v = v || 'u' WHERE id = %d", id);
        break;
    }
}

/* One random statement; unique violations of a concurrent move are expected (not counted). */
static bool write_one(PGconn *conn, pgh_run_writer *w, void *payload)
{
    (void)payload;
    char sql[512];
    random_sql(sql, sizeof(sql), w);
    return pgh_run_sql_ok(conn, sql);
}

/* NWRITERS writers as fast as they can, each on one connection (it ends if that is lost). */
static void writers_start(pgh_run_writers *ws, const char *conninfo, unsigned seed)
{
    pgh_run_writers_opts o = {.conninfo = conninfo,
                              .threads = NWRITERS,
                              .seed = seed,
                              .pause_ms = 0,
                              .reconnect_ms = -1,
                              .write = write_one};
    pgh_run_writers_start(ws, &o);
}

/* before_checkpoint: the writers ran during the whole copy; stop them now. */
static int writers_stop(void *payload, pgh_error *err)
{
    (void)err;
    pgh_run_writers *ws = payload;
    if (!ws->running)
        return 0;
    long ops = pgh_run_writers_stop(ws);
    printf("writers: %ld statements during the copy\n", ops);
    PGH_CHECK(ops > 100, "the writers did too little (%ld statements)", ops);
    /* After the copy, before the checkpoint: the root is emptied and refilled, so the catch-up
     * replays a TRUNCATE of a partitioned table (into a partitioned and a plain one). */
    PGconn *c = PQconnectdb(ws->opts.conninfo);
    PGresult *r = PQexec(c, "BEGIN; TRUNCATE m; INSERT INTO m SELECT g, (g * 3) % 400, 'r' || g "
                            "FROM generate_series(1, 3000) g; COMMIT");
    PGH_CHECK(PQresultStatus(r) == PGRES_COMMAND_OK, "truncate: %s", PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    return 0;
}

static void create_partitioned_source(PGconn *s)
{
    pgh_test_exec(s, "CREATE TABLE m (id int, k int, v text, big text, PRIMARY KEY (id, k)) "
                     "  PARTITION BY RANGE (k); "
                     "CREATE TABLE m_0 PARTITION OF m FOR VALUES FROM (0) TO (100); "
                     "CREATE TABLE m_1 PARTITION OF m FOR VALUES FROM (100) TO (200); "
                     "CREATE TABLE m_2 PARTITION OF m FOR VALUES FROM (200) TO (300); "
                     "CREATE TABLE m_def PARTITION OF m DEFAULT; "
                     "ALTER TABLE m_1 ALTER COLUMN big SET STORAGE EXTERNAL; "
                     "INSERT INTO m SELECT g, (g * 7) %% 400, 'v' || g, "
                     "  CASE WHEN g %% 10 = 0 THEN (SELECT string_agg(md5(g::text || x), '') "
                     "  FROM generate_series(1, 80) x) END FROM generate_series(1, 6000) g");
    /* Unique per id too, so that the writers' key moves stay simple. */
    pgh_test_exec(s, "CREATE UNIQUE INDEX ON m_0 (id); CREATE UNIQUE INDEX ON m_1 (id)");
}

static void sync_partitioned(pgh_run_pair *p, const char *dest_table, unsigned seed)
{
    char yaml[1024];
    snprintf(yaml, sizeof(yaml),
             "source_connection: ${SRC}\ndestination_connection: ${DST}\n"
             "publication_name: partpub\ncopy_batch_size: 300\ncopy_worker_count: 3\n"
             "tables:\n  - source_table_name: m\n    destination_table_name: %s\n",
             dest_table);
    pgh_config *cfg = it_config(p, yaml);
    pgh_error err;
    pgh_error_clear(&err);
    PGH_CHECK(pgh_tables_resolve(cfg, p->s, &err) == 0, "resolve: %s", err.message);
    pgh_init_result ir;
    PGH_CHECK(pgh_init_run(&ir, cfg, &err) == 0, "init: %s", err.message);
    char *viaroot = pgh_test_value(p->s, "SELECT pubviaroot FROM pg_publication "
                                         "WHERE pubname = 'partpub'");
    PGH_CHECK(strcmp(viaroot, "t") == 0, "publish_via_partition_root is %s", viaroot);
    free(viaroot);
    pgh_run_writers ws = {0};
    writers_start(&ws, p->src_conninfo, seed);
    it_sync_opts o = {0};
    o.config = cfg;
    o.before_checkpoint = writers_stop;
    o.before_checkpoint_payload = &ws;
    pgh_pipeline_result r;
    int rc = it_sync(&r, &o, &err);
    writers_stop(&ws, &err);
    PGH_CHECK(rc == 0, "replicate into %s: %s", dest_table, err.message);
    PGH_CHECK(r.tables[0].applied.truncates == 1, "%llu truncates replayed into %s, want 1",
              (unsigned long long)r.tables[0].applied.truncates, dest_table);
    pgh_pipeline_result_dispose(&r);
    char q[256];
    snprintf(q, sizeof(q), "SELECT id, k, v, big FROM %s ORDER BY id, k", dest_table);
    char diff[1024];
    long long rows = 0;
    int cmp = pgh_test_compare_dumps(p->s, "SELECT id, k, v, big FROM m ORDER BY id, k", p->d, q,
                                     diff, sizeof(diff), &rows);
    PGH_CHECK(cmp == 0, "m and %s differ: %s", dest_table, diff);
    PGH_CHECK(rows > 1000, "only %lld rows", rows);
    printf("ok: partitioned m synced into %s under writers (%lld rows equal)\n", dest_table, rows);
    it_check_no_slots(p);
    pgh_config_free(cfg);
}

/* A publication that names partitions by their own names is refused with what to run. */
static void check_not_via_root(pgh_run_pair *p)
{
    pgh_test_exec(p->s, "CREATE PUBLICATION leafpub FOR TABLE m");
    pgh_config *cfg = it_config(p, "source_connection: ${SRC}\ndestination_connection: ${DST}\n"
                                   "publication_name: leafpub\nsource_table_name: m\n");
    it_sync_opts o = {0};
    o.config = cfg;
    pgh_pipeline_result r;
    pgh_error err;
    pgh_error_clear(&err);
    int rc = it_sync(&r, &o, &err);
    pgh_pipeline_result_dispose(&r);
    PGH_CHECK(
        rc == PGH_EPRECOND &&
            strcmp(err.message,
                   "source table public.m is partitioned and publication leafpub publishes "
                   "changes under the partitions' names: run ALTER PUBLICATION \"leafpub\" SET "
                   "(publish_via_partition_root = true)") == 0,
        "not via root (%d): %s", rc, err.message);
    pgh_test_exec(p->s, "DROP PUBLICATION leafpub");
    pgh_config_free(cfg);
    it_check_no_slots(p);
    puts("ok: a publication without publish_via_partition_root is refused with what to run");
}

static void case_partitions(void)
{
    pgh_run_pair p;
    pgh_run_pair_start(&p, NULL, NULL);
    create_partitioned_source(p.s);
    /* Other bounds than the source's, so that rows land in other partitions. */
    pgh_test_exec(p.d,
                  "CREATE TABLE m (id int, k int, v text, big text, PRIMARY KEY (id, k)) "
                  "  PARTITION BY RANGE (k); "
                  "CREATE TABLE m_low PARTITION OF m FOR VALUES FROM (0) TO (150); "
                  "CREATE TABLE m_rest PARTITION OF m DEFAULT; "
                  "CREATE TABLE m_plain (id int, k int, v text, big text, PRIMARY KEY (id, k))");
    check_not_via_root(&p);
    sync_partitioned(&p, "m", 101);
    char *leaf = pgh_test_value(p.d, "SELECT count(*) > 0 FROM ONLY m_low");
    PGH_CHECK(strcmp(leaf, "t") == 0, "the destination's partitions got no rows");
    free(leaf);
    sync_partitioned(&p, "m_plain", 202);
    pgh_run_pair_stop(&p);
}

/* ---- init and teardown (the binary) ------------------------------------------------------- */

typedef struct cli {
    pgh_run_pair p;
    pgh_run r;       /* run N: <source dir>/selN.yaml, and selN.out with stdout and stderr */
    const char *out; /* what the last run printed: valid until the next pgh_run_stdout() */
} cli;

/* Run `pghost <cmd> CONFIG` with yaml to its end (60 s at most); returns the exit code, output in
 * c->out (stdout then stderr). */
static int run(cli *c, const char *cmd, const char *yaml)
{
    pgh_run_write_config(&c->r, "source_connection: %s\ndestination_connection: %s\n%s",
                         c->p.src_conninfo, c->p.dst_conninfo, yaml);
    int code = pgh_run_exec(&c->r, 60, cmd, NULL);
    c->out = pgh_run_stdout(&c->r, 0);
    return code;
}

static char *value(cli *c, const char *sql)
{
    return pgh_test_value(c->p.s, "%s", sql);
}

static void expect_value(cli *c, const char *sql, const char *want, const char *what)
{
    char *got = value(c, sql);
    PGH_CHECK(got && strcmp(got, want) == 0, "%s: got %s, want %s", what, got ? got : "NULL", want);
    free(got);
}

static const char PUB_TABLES[] =
    "SELECT coalesce(string_agg(schemaname || '.' || tablename, ',' ORDER BY schemaname, "
    "tablename), '') FROM pg_publication_tables WHERE pubname = 'initpub'";

static const char INIT_YAML[] = "publication_name: initpub\n"
                                "tables: [app.*, public.parted]\n"
                                "exclude_tables: [app.scratch]\n";

static void init_refuses_bad_tables(cli *c)
{
    int code = run(c, "init", INIT_YAML);
    const char *want =
        "pghost: 3 of the 6 selected source tables cannot be synced (pghost copies in primary "
        "key order and finds rows by key): \"app\".\"noident\" has REPLICA IDENTITY NOTHING, so "
        "its updates and deletes do not carry the primary key (ALTER TABLE \"app\".\"noident\" "
        "REPLICA IDENTITY DEFAULT); \"app\".\"nokey\" has no primary key (ALTER TABLE "
        "\"app\".\"nokey\" ADD PRIMARY KEY (...), or REPLICA IDENTITY USING INDEX on a unique "
        "index of NOT NULL columns); partition public.parted_2 of public.parted has REPLICA "
        "IDENTITY NOTHING, so its updates and deletes do not carry the primary key: run ALTER "
        "TABLE \"public\".\"parted_2\" REPLICA IDENTITY DEFAULT\n";
    PGH_CHECK(code == 3 && strcmp(c->out, want) == 0, "init with bad tables (%d):\n%s", code,
              c->out);
    expect_value(c, "SELECT count(*) FROM pg_publication", "0", "a publication was created");
    puts("ok: init lists every table without a usable key, writes nothing");
}

static void init_creates_then_no_op(cli *c)
{
    int code = run(c, "init", INIT_YAML);
    PGH_CHECK(code == 0 && strstr(c->out, "publication initpub: created for 4 table(s)") &&
                  strstr(c->out, "the source is ready"),
              "first init (%d):\n%s", code, c->out);
    expect_value(c, PUB_TABLES, "app.extra,app.items,app.orders,public.parted",
                 "publication tables");
    expect_value(c,
                 "SELECT pubinsert AND pubupdate AND pubdelete AND pubtruncate AND pubviaroot "
                 "AND NOT puballtables FROM pg_publication WHERE pubname = 'initpub'",
                 "t", "publication options");
    expect_value(c, "SELECT count(*) FROM pg_event_trigger", "2", "DDL capture triggers");
    PGH_CHECK(strstr(c->out, "DDL capture: installed"), "DDL capture: %s", c->out);
    code = run(c, "init", INIT_YAML);
    PGH_CHECK(code == 0 && strstr(c->out, "already covers every selected table") &&
                  strstr(c->out, "nothing changed"),
              "second init (%d):\n%s", code, c->out);
    expect_value(c, PUB_TABLES, "app.extra,app.items,app.orders,public.parted",
                 "publication tables after a second init");
    puts("ok: init creates the publication and DDL capture; a second init changes nothing");
    pgh_test_exec(c->p.s, "CREATE TABLE app.later (id int PRIMARY KEY)");
    code = run(c, "init", INIT_YAML);
    PGH_CHECK(code == 0 && strstr(c->out, "publication initpub: 1 table(s) added"),
              "init after a new table (%d):\n%s", code, c->out);
    expect_value(c, PUB_TABLES, "app.extra,app.items,app.later,app.orders,public.parted",
                 "publication tables after a new table");
    puts("ok: a new table a pattern matches is added to pghost's publication");
}

static void users_publication(cli *c)
{
    pgh_test_exec(c->p.s, "CREATE PUBLICATION userpub FOR TABLE app.orders");
    int code = run(c, "init", "publication_name: userpub\ntables: [app.orders, app.items]\n");
    PGH_CHECK(code == 3 && strcmp(c->out, "pghost: publication userpub exists (not created by "
                                          "pghost) and lacks 1 of the selected tables: run ALTER "
                                          "PUBLICATION \"userpub\" ADD TABLE "
                                          "\"app\".\"items\"\n") == 0,
              "init on a user's publication (%d):\n%s", code, c->out);
    code = run(c, "init", "publication_name: userpub\nslot_name: usr\ntables: [app.orders]\n");
    PGH_CHECK(code == 0 && strstr(c->out, "not created by pghost, left as it is"),
              "init on a complete user's publication (%d):\n%s", code, c->out);
    code = run(c, "teardown", "publication_name: userpub\nslot_name: usr\ntables: [app.orders]\n");
    PGH_CHECK(code == 0 && strstr(c->out, "publication userpub: kept (pghost did not create it)"),
              "teardown with a user's publication (%d):\n%s", code, c->out);
    expect_value(c, "SELECT count(*) FROM pg_publication WHERE pubname = 'userpub'", "1",
                 "the user's publication");
    puts("ok: a user's publication is reported, never changed, and kept by teardown");
}

static void teardown_reverts(cli *c)
{
    int code = run(c, "teardown", INIT_YAML);
    PGH_CHECK(code == 0 && strstr(c->out, "publication initpub: dropped (pghost init created it)"),
              "teardown (%d):\n%s", code, c->out);
    expect_value(c, "SELECT count(*) FROM pg_publication WHERE pubname = 'initpub'", "0",
                 "publication after teardown");
    expect_value(c, "SELECT count(*) FROM pg_event_trigger", "0", "event triggers after teardown");
    code = run(c, "teardown", INIT_YAML);
    PGH_CHECK(code == 0 && strstr(c->out, "publication initpub: not there (nothing to do)"),
              "second teardown (%d):\n%s", code, c->out);
    puts("ok: teardown drops the publication and DDL capture init created; again: no-op");
}

static void replicate_no_match(cli *c)
{
    int code = run(c, "replicate",
                   "publication_name: initpub\ntables:\n  - app.orders\n"
                   "  - app.nothing_*\n");
    char want[1024];
    snprintf(want, sizeof(want),
             "pghost: %s:6: the pattern app.nothing_* matches no table on the source "
             "(ordinary and partitioned tables; partitions are selected through their root): "
             "fix the pattern or remove the entry\n",
             c->r.cfg);
    PGH_CHECK(code == 2 && strcmp(c->out, want) == 0,
              "replicate, pattern matching nothing (%d):\n%s", code, c->out);
    puts("ok: replicate with a pattern matching nothing exits 2 naming its line");
}

static void case_init(void)
{
    cli c = {0};
    pgh_run_pair_start(&c.p, NULL, NULL);
    pgh_run_init(&c.r, &c.p, PGH_BINARY, "sel", NULL);
    c.r.merge_stderr = true;
    pgh_test_exec(c.p.s,
                  "CREATE SCHEMA app; "
                  "CREATE TABLE app.orders (id int PRIMARY KEY, v text); "
                  "CREATE TABLE app.items (a int, b text, PRIMARY KEY (a, b)); "
                  "CREATE TABLE app.nokey (v text); "
                  "CREATE TABLE app.extra (id int PRIMARY KEY); "
                  "CREATE TABLE app.noident (id int PRIMARY KEY); "
                  "ALTER TABLE app.noident REPLICA IDENTITY NOTHING; "
                  "CREATE TABLE app.scratch (v text); "
                  "CREATE TABLE public.parted (id int, d int, PRIMARY KEY (id, d)) "
                  "  PARTITION BY LIST (d); "
                  "CREATE TABLE public.parted_1 PARTITION OF public.parted FOR VALUES IN (1); "
                  "CREATE TABLE public.parted_2 PARTITION OF public.parted FOR VALUES IN (2); "
                  "ALTER TABLE public.parted_2 REPLICA IDENTITY NOTHING");
    init_refuses_bad_tables(&c);
    pgh_test_exec(c.p.s, "DROP TABLE app.nokey, app.noident; "
                         "ALTER TABLE public.parted_2 REPLICA IDENTITY DEFAULT");
    init_creates_then_no_op(&c);
    users_publication(&c);
    teardown_reverts(&c);
    replicate_no_match(&c);
    pgh_run_pair_stop(&c.p);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s patterns|partitions|init\n", argv[0]);
        return 2;
    }
    if (strcmp(argv[1], "patterns") == 0)
        case_patterns();
    else if (strcmp(argv[1], "partitions") == 0)
        case_partitions();
    else if (strcmp(argv[1], "init") == 0)
        case_init();
    else
        return 2;
    return 0;
}
