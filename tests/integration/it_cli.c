/*
 * The command line against bad input: every preflight failure and configuration error gives
 * one exact line and a non-zero exit, writes nothing (no slot, no row), and never shows a
 * password. Then the good path: --truncate-destination, and --keep-slot handing the slot to a
 * native subscription that carries on from the checkpoint.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgh_run.h"

typedef struct ctx {
    pgh_run_pair p;
    pgh_test_server old; /* wal_level=replica */
    pgh_run r;           /* run N: <source dir>/caseN.yaml, caseN.out, caseN.err */
} ctx;

/* The last line of text that starts with "pghost: " (copied into out). */
static void last_error_line(char *out, size_t len, const char *text)
{
    out[0] = '\0';
    for (const char *p = text; p && *p;) {
        const char *eol = strchr(p, '\n');
        size_t l = eol ? (size_t)(eol - p) : strlen(p);
        if (strncmp(p, "pghost: ", 8) == 0)
            snprintf(out, len, "%.*s", (int)l, p);
        p = eol ? eol + 1 : NULL;
    }
}

/* Run pghost replicate (with extra_arg when not NULL) on a config body, to its end (120 s at
 * most); returns the exit code. The config is c->r.cfg, the output run c->r.n's files. */
static int run_pghost(ctx *c, const char *yaml, const char *extra_arg)
{
    pgh_run_write_config(&c->r, "%s", yaml);
    return pgh_run_exec(&c->r, 120, "replicate", "--no-progress", extra_arg, NULL);
}

static void check_nothing_written(ctx *c, const char *what)
{
    char *slots = pgh_test_value(c->p.s, "SELECT count(*) FROM pg_replication_slots "
                                         "WHERE slot_name <> 'taken'");
    PGH_CHECK(strcmp(slots, "0") == 0, "%s: a slot was left behind", what);
    char *rows = pgh_test_value(c->p.d, "SELECT count(*) FROM good");
    PGH_CHECK(strcmp(rows, "0") == 0, "%s: rows were written to the destination", what);
    free(slots);
    free(rows);
}

/* Expect pghost to fail with exit code `code` and this exact last error line. A "%P" in
 * expected stands for the config file's path. */
static void expect_failure(ctx *c, const char *name, const char *yaml, int code,
                           const char *expected)
{
    char line[4096], want[4096];
    int got = run_pghost(c, yaml, NULL);
    const char *text = pgh_run_stderr(&c->r, 0);
    last_error_line(line, sizeof(line), text);
    const char *p = strstr(expected, "%P");
    if (p)
        snprintf(want, sizeof(want), "%.*s%s%s", (int)(p - expected), expected, c->r.cfg, p + 2);
    else
        snprintf(want, sizeof(want), "%s", expected);
    PGH_CHECK(strcmp(line, want) == 0, "%s:\n  got:  %s\n  want: %s", name, line, want);
    PGH_CHECK(got == code, "%s: exit code %d, expected %d", name, got, code);
    PGH_CHECK(strstr(text, "secret123") == NULL, "%s: the password was printed", name);
    check_nothing_written(c, name);
    printf("ok: %s\n", name);
}

static void setup(ctx *c)
{
    pgh_run_pair_start(&c->p, NULL, NULL);
    PGH_CHECK(pgh_test_server_start(&c->old, "replica-level", "wal_level = replica") == 0, "old");
    pgh_run_init(&c->r, &c->p, PGH_BINARY, "case", NULL);
    pgh_test_exec(c->p.s, "CREATE TABLE good (id int PRIMARY KEY, v text); "
                          "INSERT INTO good SELECT g, 'v' || g FROM generate_series(1, 100) g; "
                          "CREATE TABLE nopk (id int, v text); "
                          "CREATE TABLE notpub (id int PRIMARY KEY, v text); "
                          "CREATE TABLE riidx (id int PRIMARY KEY, v text NOT NULL UNIQUE); "
                          "ALTER TABLE riidx REPLICA IDENTITY NOTHING; "
                          "CREATE TABLE mism (id int PRIMARY KEY, a int, b text); "
                          "CREATE PUBLICATION pub FOR TABLE good, nopk, riidx, mism; "
                          "CREATE ROLE norepl LOGIN");
    pgh_test_exec(c->p.s, "SELECT pg_create_logical_replication_slot('taken', 'pgoutput')");
    pgh_test_exec(c->p.d, "CREATE TABLE good (id int PRIMARY KEY, v text); "
                          "CREATE TABLE notempty (id int PRIMARY KEY, v text); "
                          "INSERT INTO notempty VALUES (1, 'x'); "
                          "CREATE TABLE mism (id int PRIMARY KEY, a bigint, c text)");
}

/* A config: the good table into the destination's good table, with extra lines. */
static const char *config(ctx *c, const char *source, const char *extra)
{
    static char yaml[4096];
    snprintf(yaml, sizeof(yaml),
             "source_connection: %s\ndestination_connection: %s\npublication_name: pub\n%s",
             source ? source : c->p.src_conninfo, c->p.dst_conninfo, extra);
    return yaml;
}

static void preflight_cases(ctx *c)
{
    char ci[512], want[1024];
    int port = pgh_test_free_port();
    snprintf(ci, sizeof(ci), "host=127.0.0.1 port=%d user=postgres password=secret123 "
                             "dbname=postgres connect_timeout=5", port);
    char line[4096];
    int code = run_pghost(c, config(c, ci, "source_table_name: good\n"), NULL);
    const char *text = pgh_run_stderr(&c->r, 0);
    last_error_line(line, sizeof(line), text);
    /* libpq's own message follows, and the string comes back in libpq's order of keys. */
    const char *prefix = "pghost: cannot connect to the source server (";
    snprintf(want, sizeof(want), "port=%d", port);
    PGH_CHECK(strncmp(line, prefix, strlen(prefix)) == 0 && strstr(line, want) &&
                  strstr(line, "password=********") && strstr(line, "Connection refused"),
              "unreachable: got: %s", line);
    PGH_CHECK(strstr(text, "secret123") == NULL, "unreachable: the password was printed");
    PGH_CHECK(code == 1, "unreachable: exit code %d", code);
    check_nothing_written(c, "unreachable");
    puts("ok: unreachable source, password masked");

    char *old_ci = pgh_test_conninfo(&c->old, "postgres");
    expect_failure(c, "wal_level", config(c, old_ci, "source_table_name: good\n"), 3,
                   "pghost: the source server has wal_level=replica but logical replication "
                   "needs wal_level=logical: run ALTER SYSTEM SET wal_level = logical on the "
                   "source and restart it");
    free(old_ci);
    snprintf(ci, sizeof(ci), "host=127.0.0.1 port=%d user=norepl dbname=postgres", c->p.src.port);
    expect_failure(c, "no REPLICATION", config(c, ci, "source_table_name: good\n"), 3,
                   "pghost: the source role norepl lacks the REPLICATION attribute: run ALTER "
                   "ROLE \"norepl\" REPLICATION as a superuser, or connect as a role that has "
                   "it");
    expect_failure(c, "slot taken", config(c, NULL, "source_table_name: good\nslot_name: taken\n"),
                   3,
                   "pghost: replication slot taken already exists on the source: set slot_name "
                   "to another name, or drop it with SELECT pg_drop_replication_slot('taken') if "
                   "nothing uses it");
    snprintf(ci, sizeof(ci), "%s", c->p.src_conninfo);
    snprintf(want, sizeof(want),
             "source_connection: %s\ndestination_connection: %s\npublication_name: nopub\n"
             "source_table_name: good\n",
             c->p.src_conninfo, c->p.dst_conninfo);
    expect_failure(c, "publication missing", want, 3,
                   "pghost: publication nopub does not exist on the source: create it with "
                   "CREATE PUBLICATION \"nopub\" FOR TABLE \"public\".\"good\" (or run pghost "
                   "init)");
    expect_failure(c, "not in publication", config(c, NULL, "source_table_name: notpub\n"), 3,
                   "pghost: source table public.notpub is not in publication pub: run ALTER "
                   "PUBLICATION \"pub\" ADD TABLE \"public\".\"notpub\"");
    expect_failure(c, "no primary key", config(c, NULL, "source_table_name: nopk\n"), 3,
                   "pghost: source table public.nopk has no primary key and REPLICA IDENTITY "
                   "DEFAULT: pghost copies in key order and finds rows by key when replaying "
                   "changes; run ALTER TABLE \"public\".\"nopk\" ADD PRIMARY KEY (...), or "
                   "ALTER TABLE \"public\".\"nopk\" REPLICA IDENTITY USING INDEX <a unique "
                   "index on NOT NULL columns>");
    expect_failure(c, "replica identity", config(c, NULL, "source_table_name: riidx\n"), 3,
                   "pghost: source table public.riidx has REPLICA IDENTITY NOTHING, so "
                   "updates and deletes do not carry its primary key: run ALTER TABLE "
                   "\"public\".\"riidx\" REPLICA IDENTITY DEFAULT");
    expect_failure(c, "source table missing", config(c, NULL, "source_table_name: nothere\n"), 3,
                   "pghost: source table public.nothere does not exist");
    expect_failure(c, "destination missing",
                   config(c, NULL, "source_table_name: good\ndestination_table_name: nothere\n"),
                   3,
                   "pghost: destination table public.nothere does not exist: create it with the "
                   "same columns and primary key as the source table");
    expect_failure(c, "destination not empty",
                   config(c, NULL, "source_table_name: good\ndestination_table_name: notempty\n"),
                   3,
                   "pghost: destination table public.notempty is not empty: pass "
                   "--truncate-destination to empty it first, or point pghost at an empty table");
    expect_failure(c, "columns differ", config(c, NULL, "source_table_name: mism\n"), 3,
                   "pghost: columns of public.mism do not match public.mism: column b (text) is "
                   "missing on the destination");
}

static void config_cases(ctx *c)
{
    expect_failure(c, "unknown key", config(c, NULL, "source_table_name: good\ncopy_batch_sise: 5\n"),
                   2, "pghost: %P:5: unknown key \"copy_batch_sise\"; did you mean "
                      "\"copy_batch_size\"?");
    expect_failure(c, "wrong type",
                   config(c, NULL, "source_table_name: good\ncopy_worker_count: ten\n"), 2,
                   "pghost: %P:5: copy_worker_count: expected an integer from 1 to 64, got "
                   "\"ten\"");
    expect_failure(c, "unknown key in tables",
                   config(c, NULL, "tables:\n  - source_table_name: good\n    destination_tabel: x\n"),
                   2, "pghost: %P:6: unknown key \"tables[0].destination_tabel\"; did you mean "
                      "\"destination_table_name\"?");
}

static void compare(ctx *c, const char *src_table, const char *dst_table)
{
    char qa[256], qb[256];
    snprintf(qa, sizeof(qa), "SELECT * FROM %s ORDER BY id", src_table);
    snprintf(qb, sizeof(qb), "SELECT * FROM %s ORDER BY id", dst_table);
    pgh_run_compare(&c->p, qa, qb, NULL);
}

static void truncate_case(ctx *c)
{
    int code = run_pghost(c,
                          config(c, NULL,
                                 "source_table_name: good\n"
                                 "destination_table_name: notempty\n"),
                          "--truncate-destination");
    PGH_CHECK(code == 0, "--truncate-destination: exit %d: %s", code, pgh_run_stderr(&c->r, 0));
    compare(c, "good", "notempty");
    puts("ok: --truncate-destination");
}

/* --keep-slot: the slot stays at the checkpoint and a native subscription takes it over. */
static void keep_slot_case(ctx *c)
{
    pgh_test_exec(c->p.s, "CREATE PUBLICATION pub_good FOR TABLE good");
    char yaml[2048];
    snprintf(yaml, sizeof(yaml),
             "source_connection: %s\ndestination_connection: %s\npublication_name: pub_good\n"
             "source_table_name: good\nslot_name: handoff\n",
             c->p.src_conninfo, c->p.dst_conninfo);
    int code = run_pghost(c, yaml, "--keep-slot");
    PGH_CHECK(code == 0, "--keep-slot: exit %d: %s", code, pgh_run_stderr(&c->r, 0));
    const char *printed = pgh_run_stdout(&c->r, 0);
    const char *cp = strstr(printed, "checkpoint LSN: ");
    PGH_CHECK(cp != NULL, "no checkpoint LSN printed: %s", printed);
    PGH_CHECK(strstr(printed, "CREATE SUBSCRIPTION handoff CONNECTION") != NULL,
              "no subscription instructions: %s", printed);
    char lsn[32];
    PGH_CHECK(sscanf(cp + 16, "%31s", lsn) == 1, "bad checkpoint line");
    char *at_checkpoint =
        pgh_test_value(c->p.s,
                       "SELECT confirmed_flush_lsn = '%s'::pg_lsn FROM pg_replication_slots "
                       "WHERE slot_name = 'handoff'",
                       lsn);
    PGH_CHECK(strcmp(at_checkpoint, "t") == 0, "the kept slot is not at checkpoint %s", lsn);
    free(at_checkpoint);
    compare(c, "good", "good");
    /* Changes made after pghost exited arrive through the subscription. */
    pgh_test_exec(c->p.s,
                  "INSERT INTO good VALUES (1000, 'after'); "
                  "UPDATE good SET v = 'changed' WHERE id = 1; DELETE FROM good WHERE id = 2");
    /* Run the statement pghost printed, as printed (the servers trust, so no password). */
    char stmt[2048];
    const char *from = strstr(printed, "CREATE SUBSCRIPTION");
    const char *to = from ? strchr(from, ';') : NULL;
    PGH_CHECK(to != NULL, "no complete CREATE SUBSCRIPTION statement: %s", printed);
    snprintf(stmt, sizeof(stmt), "%.*s", (int)(to - from), from);
    pgh_test_exec(c->p.d, "%s", stmt);
    /* Wait (up to 2 minutes: a loaded machine starts apply workers slowly) for the last of the
     * three changes, then compare everything. */
    bool arrived =
        pgh_run_poll(&c->r, 0, c->p.d, 1200, 100, "SELECT count(*) = 1 FROM good WHERE id = 1000");
    if (!arrived) {
        char *st = pgh_test_value(c->p.d, "SELECT coalesce(string_agg(format('%%s pid=%%s "
                                          "received=%%s', subname, pid, received_lsn), '; '), "
                                          "'no worker') FROM pg_stat_subscription");
        pgh_test_fail("the subscription did not apply the changes: %s", st);
    }
    compare(c, "good", "good");
    pgh_test_exec(c->p.d, "DROP SUBSCRIPTION handoff");
    puts("ok: --keep-slot hands over to a native subscription");
}

/* A clash on a secondary unique constraint during the catch-up is an error, never a silently
 * dropped row (review finding: ON CONFLICT without a target swallowed it). */
static void unique_clash_case(ctx *c)
{
    pgh_test_exec(c->p.s, "CREATE TABLE uq (id int PRIMARY KEY, email text UNIQUE); "
                          "CREATE PUBLICATION pub_uq FOR TABLE uq");
    pgh_test_exec(c->p.d, "CREATE TABLE uq (id int PRIMARY KEY, email text UNIQUE)");
    char yaml[2048], hook[1024];
    snprintf(yaml, sizeof(yaml),
             "source_connection: %s\ndestination_connection: %s\npublication_name: pub_uq\n"
             "source_table_name: uq\nslot_name: uq\n",
             c->p.src_conninfo, c->p.dst_conninfo);
    /* After the copy: the destination holds email x at another key, the source inserts x. */
    snprintf(hook, sizeof(hook),
             "--before-checkpoint=psql -X -q -h 127.0.0.1 -p %d -U postgres -d postgres -c "
             "\"INSERT INTO uq VALUES (2, 'x')\" && psql -X -q -h 127.0.0.1 -p %d -U postgres "
             "-d postgres -c \"INSERT INTO uq VALUES (1, 'x')\"",
             c->p.dst.port, c->p.src.port);
    int code = run_pghost(c, yaml, hook);
    const char *text = pgh_run_stderr(&c->r, 0);
    PGH_CHECK(code == 1 && strstr(text, "duplicate key value violates unique constraint"),
              "a unique clash was not reported (exit %d): %s", code, text);
    /* Every run is resumable: the slot stays for the re-run, and the log says how to drop it. */
    char *slots = pgh_test_value(c->p.s, "SELECT count(*) FROM pg_replication_slots "
                                         "WHERE slot_name = 'uq'");
    PGH_CHECK(strcmp(slots, "1") == 0 && strstr(text, "run the same command again to resume") &&
                  strstr(text, "pghost teardown"),
              "the failed run did not keep its slot for a re-run, or did not say so: %s", text);
    free(slots);
    pgh_test_exec(c->p.s, "SELECT pg_drop_replication_slot('uq')");
    puts("ok: a clash on another unique constraint fails the run");
}

/* A key move re-copied during the catch-up must not fire ON DELETE CASCADE on the destination
 * (review finding: DELETE + INSERT wiped the children). */
static void cascade_case(ctx *c)
{
    const char *ddl = "CREATE TABLE parent (id int PRIMARY KEY, big text); "
                      "CREATE TABLE child (id int PRIMARY KEY, pid int REFERENCES parent ON "
                      "UPDATE CASCADE ON DELETE CASCADE)";
    pgh_test_exec(c->p.s, "%s", ddl);
    pgh_test_exec(c->p.d, "%s", ddl);
    pgh_test_exec(c->p.s,
                  "INSERT INTO parent SELECT g, (SELECT string_agg(md5(g::text || i::text), "
                  "'') FROM generate_series(1, 300) i) FROM generate_series(1, 10) g; "
                  "INSERT INTO child VALUES (1, 5), (2, 5), (3, 5); "
                  "CREATE PUBLICATION pub_fk FOR TABLE parent, child");
    char yaml[2048], hook[512];
    snprintf(yaml, sizeof(yaml),
             "source_connection: %s\ndestination_connection: %s\npublication_name: pub_fk\n"
             "slot_name: fk\ntables:\n  - source_table_name: parent\n"
             "  - source_table_name: child\n",
             c->p.src_conninfo, c->p.dst_conninfo);
    snprintf(hook, sizeof(hook),
             "--before-checkpoint=psql -X -q -h 127.0.0.1 -p %d -U postgres -d postgres -c "
             "\"UPDATE parent SET id = 1005 WHERE id = 5\"",
             c->p.src.port);
    int code = run_pghost(c, yaml, hook);
    PGH_CHECK(code == 0, "cascade run failed (%d): %s", code, pgh_run_stderr(&c->r, 0));
    PGH_CHECK(strstr(pgh_run_stdout(&c->r, 0), "1 rows copied again") != NULL,
              "the moved row was not re-copied: %s", pgh_run_stdout(&c->r, 0));
    compare(c, "parent", "parent");
    compare(c, "child", "child");
    puts("ok: re-copying a moved row fires no cascade");
}

int main(void)
{
    ctx c = {0};
    setup(&c);
    preflight_cases(&c);
    config_cases(&c);
    truncate_case(&c);
    keep_slot_case(&c);
    unique_clash_case(&c);
    cascade_case(&c);
    pgh_test_server_stop(&c.old);
    pgh_run_pair_stop(&c.p);
    puts("PASS");
    return 0;
}
