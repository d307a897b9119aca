/*
 * pghost verify and pghost sync-sequences, through the real binary.
 *
 *   kinds      equal tables exit 0; then one difference of each kind (missing, extra, changed by
 *              one byte, NULL instead of '') in an int-keyed and a composite-keyed table: the
 *              exact keys and kinds are listed (text and JSON) and verify exits 1; --max-keys
 *              cuts the list and says so
 *   errors     a missing table, a table without a primary key, a bad option: one line, exit 3/2
 *   big        a 1,000,000-row table with one byte changed in one row, plus one missing and one
 *              extra row: exactly those three keys
 *   live       pghost replicate --follow runs while a writer changes rows: verify reports no
 *              difference (keys re-checked after the slot caught up); with the follower
 *              stopped, a row changed on the destination is reported
 *   sequences  sync-sequences sets owned (serial, identity) and default-used sequences, also
 *              with is_called false, and is idempotent: nextval() then agrees on both sides
 *
 * Usage: it_verify CASE
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgh_run.h"

typedef struct ctx {
    pgh_run_pair p;
    pgh_run r; /* runs write <source dir>/runN.out and runN.err */
    pgh_run_writers writers;
} ctx;

static void setup(ctx *c)
{
    pgh_run_pair_start(&c->p, NULL, NULL);
    pgh_run_init(&c->r, &c->p, PGH_BINARY, "run", "verify.yaml");
}

/* Run the same SQL on both servers. */
static void both(ctx *c, const char *sql)
{
    pgh_test_exec(c->p.s, "%s", sql);
    pgh_test_exec(c->p.d, "%s", sql);
}

static void write_config(ctx *c, const char *tables)
{
    pgh_run_write_config(
        &c->r,
        "source_connection: %s\ndestination_connection: %s\npublication_name: pub\n"
        "copy_worker_count: 4\n%s",
        c->p.src_conninfo, c->p.dst_conninfo, tables);
}

/* Run pghost CMD [args...] CONFIG to its end (300 s at most); returns the exit code. The
 * arguments given are a prefix of a1, a2, a3 (the rest NULL). */
static int run_pghost(ctx *c, const char *cmd, const char *a1, const char *a2, const char *a3)
{
    return pgh_run_exec(&c->r, 300, cmd, a1, a2, a3, NULL);
}

/* The lines of the last run's stdout that start with two spaces (the listed keys), joined. */
static const char *key_lines(ctx *c)
{
    static char keys[65536];
    keys[0] = '\0';
    const char *text = pgh_run_stdout(&c->r, 0);
    for (const char *p = text; *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p + 1) : strlen(p);
        if (strncmp(p, "  ", 2) == 0)
            strncat(keys, p, len < sizeof(keys) - strlen(keys) - 1 ? len : 0);
        p += len;
    }
    return keys;
}

static void expect_keys(ctx *c, const char *what, int code, int want_code, const char *want)
{
    const char *got = key_lines(c);
    PGH_CHECK(code == want_code, "%s: exit %d, expected %d\nstdout:\n%s\nstderr:\n%s", what, code,
              want_code, pgh_run_stdout(&c->r, 0), pgh_run_stderr(&c->r, 0));
    PGH_CHECK(strcmp(got, want) == 0, "%s: keys differ\n--- got:\n%s--- want:\n%s", what, got,
              want);
    printf("ok: %s\n", what);
}

static void case_kinds(ctx *c)
{
    both(c, "CREATE TABLE t_int (id int PRIMARY KEY, v text, n numeric, g int GENERATED ALWAYS "
            "AS (id * 2) STORED);"
            "INSERT INTO t_int SELECT i, CASE WHEN i = 1500 THEN '' ELSE md5(i::text) END, "
            "i / 7.0 FROM generate_series(1, 40000) i;"
            "CREATE TABLE t_comp (a text, b int, payload text, PRIMARY KEY (a, b));"
            "INSERT INTO t_comp SELECT 'k' || (i % 1000), i / 1000, repeat('p', i % 50) "
            "FROM generate_series(1, 30000) i;"
            "CREATE TABLE t_part (id int PRIMARY KEY, v text) PARTITION BY RANGE (id);"
            "CREATE TABLE t_part_1 PARTITION OF t_part FOR VALUES FROM (0) TO (500);"
            "CREATE TABLE t_part_2 PARTITION OF t_part FOR VALUES FROM (500) TO (MAXVALUE);"
            "INSERT INTO t_part SELECT i, 'p' || i FROM generate_series(1, 1000) i;"
            "ANALYZE t_int; ANALYZE t_comp; ANALYZE t_part");
    write_config(c, "tables:\n  - source_table_name: t_int\n  - source_table_name: t_comp\n"
                    "  - source_table_name: t_part\n");
    int code = run_pghost(c, "verify", NULL, NULL, NULL);
    expect_keys(c, "equal tables", code, 0, "");
    PGH_CHECK(strstr(pgh_run_stdout(&c->r, 0), "verify: all 3 tables are equal\n") != NULL &&
                  strstr(pgh_run_stdout(&c->r, 0),
                         "public.t_part -> public.t_part: equal (1000 rows on the "
                         "source, 1000 on the destination"),
              "summary: %s", pgh_run_stdout(&c->r, 0));

    pgh_test_exec(c->p.d, "DELETE FROM t_int WHERE id = 42;"
                          "INSERT INTO t_int VALUES (100001, 'x', 1);"
                          "UPDATE t_int SET v = overlay(v placing 'Z' from 5 for 1) WHERE id = 7;"
                          "UPDATE t_int SET v = NULL WHERE id = 1500;"
                          "UPDATE t_int SET n = 3.0 WHERE id = 21;" /* 3 vs 3.0: same value */
                          "DELETE FROM t_comp WHERE a = 'k17' AND b = 3;"
                          "INSERT INTO t_comp VALUES ('zz', 1, 'new');"
                          "UPDATE t_comp SET payload = overlay(payload placing 'q' from 2 for 1) "
                          "WHERE a = 'k5' AND b = 2;"
                          "UPDATE t_part SET v = 'P700' WHERE id = 700");
    code = run_pghost(c, "verify", "--recheck-seconds", "0", NULL);
    expect_keys(c, "one of each kind", code, 1,
                "  missing    Key (id)=(42)\n"
                "  extra      Key (id)=(100001)\n"
                "  different  Key (id)=(7)\n"
                "  different  Key (id)=(21)\n"
                "  different  Key (id)=(1500)\n"
                "  missing    Key (a, b)=(k17, 3)\n"
                "  extra      Key (a, b)=(zz, 1)\n"
                "  different  Key (a, b)=(k5, 2)\n"
                "  different  Key (id)=(700)\n");
    PGH_CHECK(strstr(pgh_run_stdout(&c->r, 0), "verify: 3 of 3 tables differ\n") != NULL,
              "summary: %s", pgh_run_stdout(&c->r, 0));

    code = run_pghost(c, "verify", "--json", NULL, NULL);
    const char *json = pgh_run_stdout(&c->r, 0);
    PGH_CHECK(code == 1, "json: exit %d", code);
    PGH_CHECK(strstr(json, "{\"kind\":\"missing\",\"key\":{\"id\":\"42\"}},"
                           "{\"kind\":\"extra\",\"key\":{\"id\":\"100001\"}},"
                           "{\"kind\":\"different\",\"key\":{\"id\":\"7\"}}") &&
                  strstr(json, "{\"kind\":\"missing\",\"key\":{\"a\":\"k17\",\"b\":\"3\"}}") &&
                  strstr(json, "\"equal\":false") && strstr(json, "\"source_rows\":40000,"
                                                                  "\"destination_rows\":40000"),
              "json: %s", json);
    printf("ok: --json\n");

    code = run_pghost(c, "verify", "--max-keys", "2", NULL);
    expect_keys(c, "--max-keys 2", code, 1,
                "  missing    Key (id)=(42)\n"
                "  extra      Key (id)=(100001)\n"
                "  ... more keys differ (at most 2 are listed: --max-keys)\n"
                "  missing    Key (a, b)=(k17, 3)\n"
                "  extra      Key (a, b)=(zz, 1)\n"
                "  ... more keys differ (at most 2 are listed: --max-keys)\n"
                "  different  Key (id)=(700)\n");

    /* A difference in a generated column alone is not one (generated columns are skipped). */
    both(c, "CREATE TABLE t_gen (id int PRIMARY KEY, v int)");
    pgh_test_exec(c->p.s, "ALTER TABLE t_gen ADD COLUMN w int GENERATED ALWAYS AS (v + 1) STORED");
    pgh_test_exec(c->p.d, "ALTER TABLE t_gen ADD COLUMN w int GENERATED ALWAYS AS (v + 2) STORED");
    both(c, "INSERT INTO t_gen SELECT i, i FROM generate_series(1, 100) i");
    write_config(c, "source_table_name: t_gen\n");
    code = run_pghost(c, "verify", NULL, NULL, NULL);
    expect_keys(c, "generated columns skipped", code, 0, "");
}

static void expect_error(ctx *c, const char *what, int code, int want_code, const char *line)
{
    const char *err = pgh_run_stderr(&c->r, 0);
    PGH_CHECK(code == want_code, "%s: exit %d, expected %d: %s", what, code, want_code, err);
    PGH_CHECK(strstr(err, line) != NULL, "%s: stderr lacks \"%s\":\n%s", what, line, err);
    PGH_CHECK(pgh_run_stdout(&c->r, 0)[0] == '\0', "%s: printed on stdout: %s", what,
              pgh_run_stdout(&c->r, 0));
    printf("ok: %s\n", what);
}

static void case_errors(ctx *c)
{
    both(c, "CREATE TABLE nopk (id int, v text); CREATE TABLE good (id int PRIMARY KEY, v text)");
    pgh_test_exec(c->p.s, "CREATE TABLE onlysrc (id int PRIMARY KEY)");
    write_config(c, "source_table_name: onlysrc\n");
    expect_error(c, "missing destination table", run_pghost(c, "verify", NULL, NULL, NULL), 3,
                 "pghost: destination table public.onlysrc does not exist\n");
    write_config(c, "source_table_name: nothere\n");
    expect_error(c, "missing source table", run_pghost(c, "verify", NULL, NULL, NULL), 3,
                 "pghost: source table public.nothere does not exist\n");
    write_config(c, "source_table_name: nopk\n");
    expect_error(c, "no primary key", run_pghost(c, "verify", NULL, NULL, NULL), 3,
                 "pghost: source table public.nopk has no primary key: verify compares rows by "
                 "key ranges; add one\n");
    write_config(c, "source_table_name: good\n");
    expect_error(c, "bad option", run_pghost(c, "verify", "--max-keys", "0", NULL), 2,
                 "pghost: --max-keys must be a whole number from 1 to 1000000, not \"0\"\n");
    expect_error(c, "unknown option", run_pghost(c, "verify", "--frobnicate", NULL, NULL), 2,
                 "pghost: unknown option \"--frobnicate\" for verify: see pghost verify --help\n");
    write_config(c, "source_table_name: onlysrc\n");
    expect_error(c, "sync-sequences: missing table",
                 run_pghost(c, "sync-sequences", NULL, NULL, NULL), 3,
                 "pghost: destination table public.onlysrc does not exist\n");
}

static void case_big(ctx *c)
{
    both(c, "CREATE TABLE big (id bigint PRIMARY KEY, a int, note text)");
    const char *load = "INSERT INTO big SELECT i, i % 97, md5(i::text) || md5((i + 1)::text) "
                       "FROM generate_series(1, 1000000) i";
    both(c, load);
    both(c, "VACUUM ANALYZE big");
    pgh_test_exec(c->p.d, "UPDATE big SET note = overlay(note placing 'X' from 33 for 1) "
                          "WHERE id = 654321;"
                          "DELETE FROM big WHERE id = 999999;"
                          "INSERT INTO big VALUES (1000007, 0, '')");
    write_config(c, "source_table_name: big\n");
    double t0 = pgh_run_now_ms();
    int code = run_pghost(c, "verify", NULL, NULL, NULL);
    double t1 = pgh_run_now_ms();
    expect_keys(c, "1,000,000 rows, one byte changed", code, 1,
                "  missing    Key (id)=(999999)\n"
                "  extra      Key (id)=(1000007)\n"
                "  different  Key (id)=(654321)\n");
    printf("verify of 1,000,000 rows took %.2f s\n", (t1 - t0) / 1000.0);

    /* Statistics from when the table was small: one chunk of 100,000 rows, more than a leaf, so
     * it is split (from the destination's keys, which has more rows) before keys are read. */
    both(c, "CREATE TABLE stale (id int PRIMARY KEY, v text) WITH (autovacuum_enabled = off);"
            "INSERT INTO stale SELECT i, md5(i::text) FROM generate_series(1, 1000) i;"
            "ANALYZE stale;"
            "INSERT INTO stale SELECT i, md5(i::text) FROM generate_series(1001, 100000) i");
    pgh_test_exec(c->p.d, "DELETE FROM stale WHERE id = 50000;"
                          "UPDATE stale SET v = upper(v) WHERE id = 77777;"
                          "INSERT INTO stale VALUES (100001, 'a'), (100002, 'b'), (100003, 'c')");
    write_config(c, "source_table_name: stale\n");
    code = run_pghost(c, "verify", "--log-level", "debug", NULL);
    expect_keys(c, "a 100,000-row chunk split down to its keys", code, 1,
                "  missing    Key (id)=(50000)\n"
                "  extra      Key (id)=(100001)\n"
                "  extra      Key (id)=(100002)\n"
                "  extra      Key (id)=(100003)\n"
                "  different  Key (id)=(77777)\n");
    PGH_CHECK(strstr(pgh_run_stdout(&c->r, 0),
                     "(100000 rows on the source, 100002 on the destination; 1 of "
                     "1 chunks differ)"),
              "stale: %s", pgh_run_stdout(&c->r, 0));
    PGH_CHECK(
        strstr(pgh_run_stderr(&c->r, 0), "public.stale: splitting a range of 100002 rows in 17"),
        "the chunk was not split: %s", pgh_run_stderr(&c->r, 0));
}

/* A random single-row change on the source, its own transaction; counted whether or not it
 * succeeded. */
static bool write_one(PGconn *conn, pgh_run_writer *w, void *payload)
{
    (void)payload;
    uint64_t r = pgh_run_random(&w->rng);
    long long k = (long long)(r % 25000) + 1;
    char sql[256];
    switch (r % 3) {
    case 0:
        snprintf(sql, sizeof(sql), "INSERT INTO t VALUES (%lld, 1, 'i') ON CONFLICT DO NOTHING", k);
        break;
    case 1:
        snprintf(sql, sizeof(sql), "UPDATE t SET v = v + 1 WHERE id = %lld", k);
        break;
    default:
        snprintf(sql, sizeof(sql), "DELETE FROM t WHERE id = %lld", k);
    }
    pgh_run_sql_ok(conn, sql);
    return true;
}

static void case_live(ctx *c)
{
    both(c, "CREATE TABLE t (id bigint PRIMARY KEY, v int NOT NULL, note text)");
    pgh_test_exec(c->p.s, "INSERT INTO t SELECT g, 0, md5(g::text) FROM generate_series(1, 20000) "
                          "g; CREATE PUBLICATION pub FOR TABLE t");
    write_config(c, "source_table_name: t\ncopy_batch_size: 5000\n");
    pid_t pid = pgh_run_spawn(&c->r, "replicate", "--follow", "--no-progress", NULL);
    pgh_run_wait_follow(&c->r, pid);
    /* One writer on one connection (it ends if that is lost), 1 ms between writes. */
    pgh_run_writers_opts wo = {.conninfo = c->p.src_conninfo,
                               .threads = 1,
                               .seed = 0,
                               .pause_ms = 1,
                               .reconnect_ms = -1,
                               .write = write_one};
    pgh_run_writers_start(&c->writers, &wo);
    pgh_run_sleep_ms(500);
    int code = run_pghost(c, "verify", "--recheck-seconds", "30", "--log-level=info");
    long writes_during = pgh_run_writers_ok(&c->writers);
    pgh_run_writers_stop(&c->writers);
    expect_keys(c, "live source, follower running", code, 0, "");
    PGH_CHECK(writes_during > 100, "the writer made only %ld changes", writes_during);
    printf("(%ld source writes while verifying; %s)\n", writes_during,
           strstr(pgh_run_stderr(&c->r, 0), "re-check") ? "keys were re-checked"
                                                        : "no key needed a "
                                                          "re-check");

    /* Let the follower apply everything (a fence row arrives last), then stop it. */
    pgh_run_fence(&c->r, 0, 60, "INSERT INTO t VALUES (-1, 0, 'fence')",
                  "SELECT count(*) = 1 FROM t WHERE id = -1");
    pgh_run_stop(&c->r, pid, 10);
    pgh_test_exec(c->p.d, "UPDATE t SET note = 'changed' WHERE id = (SELECT max(id) FROM t)");
    char *id = pgh_test_value(c->p.d, "SELECT 'Key (id)=(' || max(id) || ')' FROM t");
    char want[256];
    snprintf(want, sizeof(want), "  different  %s\n", id);
    free(id);
    code = run_pghost(c, "verify", NULL, NULL, NULL);
    expect_keys(c, "follower stopped, destination changed", code, 1, want);
    code = pgh_run_exec(&c->r, 60, "teardown", NULL);
    PGH_CHECK(code == 0, "teardown");
}

/* nextval() of a sequence on both servers must agree. */
static void expect_nextval(ctx *c, const char *seq)
{
    char *a = pgh_test_value(c->p.s, "SELECT nextval('%s')", seq);
    char *b = pgh_test_value(c->p.d, "SELECT nextval('%s')", seq);
    PGH_CHECK(strcmp(a, b) == 0, "nextval('%s'): source %s, destination %s", seq, a, b);
    printf("ok: nextval('%s') = %s on both\n", seq, a);
    free(a);
    free(b);
}

static void case_sequences(ctx *c)
{
    both(c, "CREATE TABLE s1 (id serial PRIMARY KEY, v text);"
            "CREATE SEQUENCE shared_seq START 1000;"
            "CREATE TABLE s2 (id int PRIMARY KEY DEFAULT nextval('shared_seq'), v text);"
            "CREATE TABLE s3 (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, v text);"
            "CREATE SEQUENCE other_seq;"
            "CREATE TABLE s4 (id int PRIMARY KEY, n int DEFAULT nextval('other_seq'))");
    pgh_test_exec(c->p.s, "INSERT INTO s1 (v) SELECT 'x' FROM generate_series(1, 17);"
                          "INSERT INTO s2 (v) SELECT 'x' FROM generate_series(1, 23);"
                          "INSERT INTO s3 (v) SELECT 'x' FROM generate_series(1, 31);"
                          "SELECT setval('other_seq', 500, false)");
    write_config(c, "tables:\n  - source_table_name: s1\n  - source_table_name: s2\n"
                    "  - source_table_name: s3\n  - source_table_name: s4\n");
    for (int round = 0; round < 2; round++) {
        int code = run_pghost(c, "sync-sequences", NULL, NULL, NULL);
        const char *out = pgh_run_stdout(&c->r, 0);
        PGH_CHECK(code == 0, "sync-sequences: exit %d: %s", code, pgh_run_stderr(&c->r, 0));
        PGH_CHECK(strstr(out, "public.s1.id: public.s1_id_seq -> public.s1_id_seq = 17 "
                              "(is_called true)\n") &&
                      strstr(out, "public.s2.id: public.shared_seq -> public.shared_seq = 1022 "
                                  "(is_called true)\n") &&
                      strstr(out, "public.s3.id: public.s3_id_seq -> public.s3_id_seq = 31 "
                                  "(is_called true)\n") &&
                      strstr(out, "public.s4.n: public.other_seq -> public.other_seq = 500 "
                                  "(is_called false)\n") &&
                      strstr(out, "sync-sequences: 4 sequences set on the destination\n"),
                  "sync-sequences output:\n%s", out);
    }
    printf("ok: sync-sequences twice\n");
    expect_nextval(c, "s1_id_seq");
    expect_nextval(c, "shared_seq");
    expect_nextval(c, "s3_id_seq");
    expect_nextval(c, "other_seq");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: it_verify kinds|errors|big|live|sequences\n");
        return 2;
    }
    ctx c;
    memset(&c, 0, sizeof(c));
    setup(&c);
    if (strcmp(argv[1], "kinds") == 0)
        case_kinds(&c);
    else if (strcmp(argv[1], "errors") == 0)
        case_errors(&c);
    else if (strcmp(argv[1], "big") == 0)
        case_big(&c);
    else if (strcmp(argv[1], "live") == 0)
        case_live(&c);
    else if (strcmp(argv[1], "sequences") == 0)
        case_sequences(&c);
    else
        pgh_test_fail("unknown case %s", argv[1]);
    pgh_run_pair_stop(&c.p);
    printf("PASS: %s\n", argv[1]);
    return 0;
}
