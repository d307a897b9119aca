/*
 * Issue 11, findings 1 and 3, and pghost check, against real servers:
 *  - hints: every statement a preflight message suggests, pasted into the source, does exactly
 *    what it says for tables named `x; drop table canary; --` and `MixedCase` (the canary
 *    table survives, the statement succeeds, and it names every table);
 *  - a destination whose primary key differs from the source's (order, columns) is refused
 *    before anything is written, exit 3, one line naming both keys;
 *  - pghost check: exit 0 on a clean setup; several problems at once (wal_level, a missing
 *    publication, a table without key, a destination key mismatch) all listed, exit 3; the
 *    catalogs of both servers are the same before and after each run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pgh_run.h"

#define INJECT "x; drop table canary; --"

typedef struct ctx {
    pgh_run_pair p;
    pgh_test_server old; /* wal_level=replica */
    PGconn *o;           /* to old */
    pgh_run r;           /* one config per run */
} ctx;

/* The last line of text that starts with "pghost: ", into out. */
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

/* The text of line from after `start` up to `end` (or the line's end when end is NULL). */
static void between(char *out, size_t len, const char *line, const char *start, const char *end)
{
    const char *a = strstr(line, start);
    PGH_CHECK(a != NULL, "no \"%s\" in: %s", start, line);
    a += strlen(start);
    const char *b = end ? strstr(a, end) : a + strlen(a);
    PGH_CHECK(b != NULL, "no \"%s\" in: %s", end, line);
    snprintf(out, len, "%.*s", (int)(b - a), a);
}

/* Run the suggested statement on the source as psql would send it (a simple query, so that
 * anything after a ';' would run too); it must succeed and leave the canary table alone. */
static void paste(ctx *c, const char *what, const char *stmt)
{
    PGresult *res = PQexec(c->p.s, stmt);
    PGH_CHECK(PQresultStatus(res) == PGRES_COMMAND_OK, "%s: `%s` failed: %s", what, stmt,
              PQresultErrorMessage(res));
    PQclear(res);
    char *canary = pgh_test_value(c->p.s, "SELECT to_regclass('public.canary') IS NOT NULL");
    PGH_CHECK(strcmp(canary, "t") == 0, "%s: `%s` dropped the canary table", what, stmt);
    free(canary);
    printf("ok: %s: %s\n", what, stmt);
}

/* Run pghost replicate on yaml; expect exit 3; the last error line into line. */
static void refused(ctx *c, char *line, size_t len, const char *yaml)
{
    pgh_run_write_config(&c->r, "%s", yaml);
    int code = pgh_run_exec(&c->r, 120, "replicate", "--no-progress", NULL);
    last_error_line(line, len, pgh_run_stderr(&c->r, 0));
    PGH_CHECK(code == 3, "exit %d, expected 3: %s", code, pgh_run_stderr(&c->r, 0));
}

static void hints(ctx *c)
{
    pgh_test_exec(c->p.s, "CREATE TABLE canary (id int PRIMARY KEY); "
                          "CREATE TABLE \"" INJECT "\" (id int PRIMARY KEY); "
                          "CREATE TABLE \"MixedCase\" (id int PRIMARY KEY); "
                          "CREATE TABLE \"Odd; drop table canary; --\" (id int PRIMARY KEY); "
                          "ALTER TABLE \"Odd; drop table canary; --\" REPLICA IDENTITY NOTHING");
    char yaml[2048], line[4096], stmt[4096];
    snprintf(yaml, sizeof(yaml),
             "source_connection: %s\ndestination_connection: %s\npublication_name: Hint Pub\n"
             "tables:\n  - source_table_name: \"" INJECT "\"\n  - source_table_name: MixedCase\n",
             c->p.src_conninfo, c->p.dst_conninfo);
    refused(c, line, sizeof(line), yaml);
    between(stmt, sizeof(stmt), line, "create it with ", " (or run pghost init)");
    paste(c, "CREATE PUBLICATION", stmt);
    char *n = pgh_test_value(c->p.s, "SELECT count(*) FROM pg_publication_tables WHERE pubname "
                                     "= 'Hint Pub' AND tablename IN ('" INJECT "', 'MixedCase')");
    PGH_CHECK(strcmp(n, "2") == 0, "the statement named %s of the 2 tables", n);
    free(n);

    /* a table not in the publication, then a replica identity that lacks the key */
    pgh_test_exec(c->p.s, "ALTER PUBLICATION \"Hint Pub\" DROP TABLE \"MixedCase\"");
    refused(c, line, sizeof(line), yaml);
    between(stmt, sizeof(stmt), line, ": run ", NULL);
    paste(c, "ALTER PUBLICATION ADD TABLE", stmt);
    snprintf(yaml, sizeof(yaml),
             "source_connection: %s\ndestination_connection: %s\npublication_name: Hint Pub\n"
             "source_table_name: \"Odd; drop table canary; --\"\n",
             c->p.src_conninfo, c->p.dst_conninfo);
    refused(c, line, sizeof(line), yaml);
    between(stmt, sizeof(stmt), line, ": run ", NULL);
    paste(c, "ALTER TABLE REPLICA IDENTITY", stmt);
    n = pgh_test_value(c->p.s, "SELECT relreplident FROM pg_class WHERE relname = "
                               "'Odd; drop table canary; --'");
    PGH_CHECK(strcmp(n, "d") == 0, "replica identity is %s after the statement", n);
    free(n);
}

/* Nothing of a refused run is left: no slot, no state schema, no row. */
static void nothing_written(ctx *c, const char *table)
{
    char *v = pgh_test_value(c->p.s, "SELECT count(*) FROM pg_replication_slots");
    PGH_CHECK(strcmp(v, "0") == 0, "%s: a slot was left behind", table);
    free(v);
    v = pgh_test_value(c->p.d,
                       "SELECT (SELECT count(*) FROM %s) + "
                       "(SELECT count(*) FROM pg_namespace WHERE nspname = 'pghost')",
                       table);
    PGH_CHECK(strcmp(v, "0") == 0, "%s: something was written to the destination", table);
    free(v);
}

static void key_case(ctx *c, const char *table, const char *want)
{
    char yaml[2048], line[4096];
    snprintf(yaml, sizeof(yaml),
             "source_connection: %s\ndestination_connection: %s\npublication_name: keypub\n"
             "source_table_name: %s\n",
             c->p.src_conninfo, c->p.dst_conninfo, table);
    refused(c, line, sizeof(line), yaml);
    PGH_CHECK(strcmp(line, want) == 0, "%s:\n  got:  %s\n  want: %s", table, line, want);
    nothing_written(c, table);
    printf("ok: %s refused: %s\n", table, line);
}

static void key_mismatch(ctx *c)
{
    pgh_test_exec(c->p.s, "CREATE TABLE korder (a int, b int, v text, PRIMARY KEY (a, b)); "
                          "INSERT INTO korder SELECT g, g, 'v' FROM generate_series(1, 50) g; "
                          "CREATE TABLE kcols (a int PRIMARY KEY, b int NOT NULL, v text); "
                          "INSERT INTO kcols SELECT g, g, 'v' FROM generate_series(1, 50) g; "
                          "CREATE PUBLICATION keypub FOR TABLE korder, kcols");
    pgh_test_exec(c->p.d, "CREATE TABLE korder (a int, b int, v text, PRIMARY KEY (b, a)); "
                          "CREATE TABLE kcols (a int, b int, v text, PRIMARY KEY (a, b))");
    key_case(c, "korder",
             "pghost: destination table public.korder has key (b, a) but source table "
             "public.korder has (a, b): pghost finds rows by the source's key; give the "
             "destination table the same primary key, or a unique index on those NOT NULL "
             "columns in the same order (its REPLICA IDENTITY USING INDEX if it has several)");
    key_case(c, "kcols",
             "pghost: destination table public.kcols has key (a, b) but source table "
             "public.kcols has (a): pghost finds rows by the source's key; give the destination "
             "table the same primary key, or a unique index on those NOT NULL columns in the "
             "same order (its REPLICA IDENTITY USING INDEX if it has several)");
}

/* What pghost check must not change, on one server: slots, publications and their tables,
 * schemas, event triggers, relations. malloc'd. */
static char *catalogs(PGconn *conn)
{
    return pgh_test_value(
        conn, "SELECT concat_ws(' | ', "
              "coalesce((SELECT string_agg(slot_name, ',' ORDER BY slot_name) "
              "FROM pg_replication_slots), '-'), "
              "coalesce((SELECT string_agg(pubname || ':' || pubinsert || pubupdate || pubdelete "
              "|| pubtruncate || pubviaroot, ',' ORDER BY pubname) FROM pg_publication), '-'), "
              "coalesce((SELECT string_agg(pubname || '/' || schemaname || '.' || tablename, ',' "
              "ORDER BY 1) FROM pg_publication_tables), '-'), "
              "coalesce((SELECT string_agg(nspname, ',' ORDER BY nspname) FROM pg_namespace), "
              "'-'), "
              "coalesce((SELECT string_agg(evtname, ',' ORDER BY evtname) FROM pg_event_trigger),"
              " '-'), "
              "(SELECT string_agg(oid::regclass::text || ':' || relkind::text, ',' ORDER BY "
              "oid::regclass::text) FROM pg_class WHERE relnamespace = 'public'::regnamespace))");
}

/* Run pghost check on yaml; returns the exit code; the catalogs of src and d must not change. */
static int check(ctx *c, PGconn *src, const char *yaml)
{
    char *s0 = catalogs(src), *d0 = catalogs(c->p.d);
    pgh_run_write_config(&c->r, "%s", yaml);
    int code = pgh_run_exec(&c->r, 120, "check", NULL);
    char *s1 = catalogs(src), *d1 = catalogs(c->p.d);
    PGH_CHECK(strcmp(s0, s1) == 0, "check changed the source:\n  %s\n  %s", s0, s1);
    PGH_CHECK(strcmp(d0, d1) == 0, "check changed the destination:\n  %s\n  %s", d0, d1);
    free(s0);
    free(s1);
    free(d0);
    free(d1);
    return code;
}

static void check_clean(ctx *c)
{
    pgh_test_exec(c->p.s, "CREATE TABLE good (id int PRIMARY KEY, v text); "
                          "INSERT INTO good SELECT g, 'v' FROM generate_series(1, 100) g; "
                          "CREATE PUBLICATION goodpub FOR TABLE good");
    pgh_test_exec(c->p.d, "CREATE TABLE good (id int PRIMARY KEY, v text)");
    char yaml[2048];
    snprintf(yaml, sizeof(yaml),
             "source_connection: %s\ndestination_connection: %s\npublication_name: goodpub\n"
             "source_table_name: good\n",
             c->p.src_conninfo, c->p.dst_conninfo);
    int code = check(c, c->p.s, yaml);
    const char *out = pgh_run_stdout(&c->r, 0);
    PGH_CHECK(code == 0 && strstr(out, "no problem found: a run would start") != NULL &&
                  strstr(out, "problem 1") == NULL,
              "clean: exit %d:\n%s%s", code, out, pgh_run_stderr(&c->r, 0));
    /* the harness's destination is on this machine and pghost connects as a superuser: the
     * free space of its data directory is compared with the source tables' size */
    char want[PGH_TEST_PATH_MAX + 64];
    snprintf(want, sizeof(want), " MB free in %s (the selected source tables take ",
             c->p.dst.datadir);
    PGH_CHECK(strstr(out, "destination disk: ") != NULL && strstr(out, want) != NULL &&
                  strstr(out, "MB on the source (with indexes and TOAST)") != NULL,
              "clean: no free-space comparison (\"%s\"):\n%s", want, out);
    puts("ok: check on a clean setup exits 0 and compares the destination's free space");
}

/* A role that may not read data_directory: the free space could not be checked, said so. */
static void check_disk_unchecked(ctx *c)
{
    pgh_test_exec(c->p.d, "CREATE ROLE nosettings LOGIN; GRANT SELECT ON good TO nosettings");
    char yaml[2048];
    snprintf(yaml, sizeof(yaml),
             "source_connection: %s\ndestination_connection: %s user=nosettings\n"
             "publication_name: goodpub\nsource_table_name: good\ndisable_triggers: false\n",
             c->p.src_conninfo, c->p.dst_conninfo);
    int code = check(c, c->p.s, yaml);
    const char *out = pgh_run_stdout(&c->r, 0);
    PGH_CHECK(code == 0 && strstr(out, "destination disk: free space could not be checked (the "
                                       "destination role may not read data_directory (that "
                                       "needs superuser or pg_read_all_settings))") != NULL,
              "disk unchecked: exit %d:\n%s%s", code, out, pgh_run_stderr(&c->r, 0));
    pgh_test_exec(c->p.d, "REVOKE SELECT ON good FROM nosettings; DROP ROLE nosettings");
    puts("ok: check says when the destination's free space cannot be seen");
}

/* The slot's active flag, "t" or "f", until it is want (or 10 s). */
static void wait_slot_active(ctx *c, const char *slot, const char *want)
{
    for (int i = 0; i < 500; i++) {
        char *v = pgh_test_value(c->p.s,
                                 "SELECT active FROM pg_replication_slots WHERE slot_name = '%s'",
                                 slot);
        bool done = strcmp(v, want) == 0;
        free(v);
        if (done)
            return;
        pgh_run_sleep_ms(20);
    }
    pgh_test_fail("slot %s: active did not become %s", slot, want);
}

/* A slot of the configuration's name: unused, a pending run with the WAL it retains (exit 0);
 * in use by a replication connection the test holds open, a problem naming its PID (exit 3). */
static void check_slot(ctx *c)
{
    char yaml[2048];
    snprintf(yaml, sizeof(yaml),
             "source_connection: %s\ndestination_connection: %s\npublication_name: goodpub\n"
             "slot_name: checkslot\nsource_table_name: good\n",
             c->p.src_conninfo, c->p.dst_conninfo);
    pgh_test_exec(c->p.s, "SELECT pg_create_logical_replication_slot('checkslot', 'pgoutput'); "
                          "INSERT INTO good SELECT g, 'w' FROM generate_series(101, 2000) g");
    int code = check(c, c->p.s, yaml);
    const char *out = pgh_run_stdout(&c->r, 0);
    PGH_CHECK(code == 0 && strstr(out, "source: replication slot checkslot exists and is not in "
                                       "use: a resumable run is pending (pghost replicate "
                                       "resumes it, pghost teardown drops it); it retains ") !=
                               NULL &&
                  strstr(out, " MB of WAL on the source\n") != NULL,
              "inactive slot: exit %d:\n%s%s", code, out, pgh_run_stderr(&c->r, 0));
    puts("ok: check reports an unused slot as a pending run");

    char ci[2048];
    snprintf(ci, sizeof(ci), "%s replication=database", c->p.src_conninfo);
    PGconn *repl = PQconnectdb(ci);
    PGH_CHECK(PQstatus(repl) == CONNECTION_OK, "replication connection: %s",
              PQerrorMessage(repl));
    PGresult *res = PQexec(repl, "START_REPLICATION SLOT checkslot LOGICAL 0/0 "
                                 "(proto_version '1', publication_names 'goodpub')");
    PGH_CHECK(PQresultStatus(res) == PGRES_COPY_BOTH, "START_REPLICATION: %s",
              PQerrorMessage(repl));
    PQclear(res);
    wait_slot_active(c, "checkslot", "t");
    char *pid = pgh_test_value(
        c->p.s, "SELECT active_pid FROM pg_replication_slots WHERE slot_name = 'checkslot'");
    code = check(c, c->p.s, yaml);
    out = pgh_run_stdout(&c->r, 0);
    char want[512];
    snprintf(want, sizeof(want),
             ": replication slot checkslot is in use by another process (PID %s on the source): "
             "a run of this configuration is going on, or another client streams from the slot; "
             "stop that process first (SELECT pg_terminate_backend(%s) on the source ends its "
             "session), or set slot_name to another name\n",
             pid, pid);
    PGH_CHECK(code == 3 && strstr(out, want) != NULL, "active slot: exit %d, want \"%s\":\n%s%s",
              code, want, out, pgh_run_stderr(&c->r, 0));
    free(pid);
    PQfinish(repl);
    wait_slot_active(c, "checkslot", "f");
    pgh_test_exec(c->p.s, "SELECT pg_drop_replication_slot('checkslot')");
    puts("ok: check reports a slot in use by another process");
}

/* destination: stdout: the state file instead of a destination server. */
static void check_stdout(ctx *c)
{
    char state[PGH_TEST_PATH_MAX + 16], yaml[2048];
    snprintf(state, sizeof(state), "%s/std.state", c->p.src.dir);
    snprintf(yaml, sizeof(yaml),
             "source_connection: %s\ndestination: stdout\npublication_name: goodpub\n"
             "slot_name: stdslot\nstate_file: %s\nsource_table_name: good\n",
             c->p.src_conninfo, state);
    int code = check(c, c->p.s, yaml);
    const char *out = pgh_run_stdout(&c->r, 0);
    char want[sizeof(state) + 128];
    snprintf(want, sizeof(want),
             "destination: stdout; state file %s: none yet, a run starts from the beginning\n",
             state);
    PGH_CHECK(code == 0 && strstr(out, want) != NULL, "stdout, no state: exit %d:\n%s%s", code,
              out, pgh_run_stderr(&c->r, 0));

    static const char line[] = "{\"version\":1,\"slot\":\"%s\",\"lsn\":\"0/16B37D0\","
                               "\"checkpoint\":\"0/16B0000\",\"phase\":\"follow\","
                               "\"resume\":null}\n";
    FILE *f = fopen(state, "w");
    PGH_CHECK(f != NULL, "cannot write %s", state);
    fprintf(f, line, "otherslot");
    fclose(f);
    code = check(c, c->p.s, yaml);
    out = pgh_run_stdout(&c->r, 0);
    snprintf(want, sizeof(want), ": state file %s belongs to slot otherslot, not stdslot", state);
    PGH_CHECK(code == 2 && strstr(out, want) != NULL, "stdout, other slot: exit %d:\n%s%s", code,
              out, pgh_run_stderr(&c->r, 0));

    f = fopen(state, "w");
    PGH_CHECK(f != NULL, "cannot write %s", state);
    fprintf(f, line, "stdslot");
    fclose(f);
    code = check(c, c->p.s, yaml);
    out = pgh_run_stdout(&c->r, 0);
    snprintf(want, sizeof(want),
             "destination: stdout; state file %s: a run of this slot is recorded there, the "
             "next run resumes it\n",
             state);
    PGH_CHECK(code == 0 && strstr(out, want) != NULL && strstr(out, "destination table") == NULL,
              "stdout, our state: exit %d:\n%s%s", code, out, pgh_run_stderr(&c->r, 0));
    unlink(state);
    puts("ok: check reads destination: stdout's state file");
}

static void expect_listed(const char *out, const char *what, const char *text)
{
    PGH_CHECK(strstr(out, text) != NULL, "%s is not listed; want \"%s\" in:\n%s", what, text, out);
}

/* The source is the wal_level=replica server: wal_level, no publication, a table without key
 * (and missing on the destination), a destination key that differs, all in one run. */
static void check_problems(ctx *c)
{
    pgh_test_exec(c->o, "CREATE TABLE good (id int PRIMARY KEY, v text); "
                        "CREATE TABLE nokey (id int, v text); "
                        "CREATE TABLE korder (a int, b int, v text, PRIMARY KEY (a, b))");
    char *old_ci = pgh_test_conninfo(&c->old, "postgres");
    char yaml[2048];
    snprintf(yaml, sizeof(yaml),
             "source_connection: %s\ndestination_connection: %s\npublication_name: nopub\n"
             "tables: [good, nokey, korder]\n",
             old_ci, c->p.dst_conninfo);
    free(old_ci);
    int code = check(c, c->o, yaml);
    const char *out = pgh_run_stdout(&c->r, 0);
    PGH_CHECK(code == 3, "problems: exit %d, expected 3:\n%s%s", code, out,
              pgh_run_stderr(&c->r, 0));
    expect_listed(out, "wal_level",
                  ": the source server has wal_level=replica but logical replication needs "
                  "wal_level=logical: run ALTER SYSTEM SET wal_level = logical on the source and "
                  "restart it\n");
    expect_listed(out, "the publication",
                  ": publication nopub does not exist on the source: create it with CREATE "
                  "PUBLICATION \"nopub\" FOR TABLE \"public\".\"good\", \"public\".\"nokey\", "
                  "\"public\".\"korder\" (or run pghost init)\n");
    expect_listed(out, "the table without key",
                  ": source table public.nokey has no primary key and REPLICA IDENTITY DEFAULT: "
                  "pghost copies in key order");
    expect_listed(out, "the destination key",
                  ": destination table public.korder has key (b, a) but source table "
                  "public.korder has (a, b)");
    expect_listed(out, "the missing destination table",
                  ": destination table public.nokey does not exist: create it with the same "
                  "columns and primary key as the source table, or set "
                  "create_destination_tables: true\n");
    expect_listed(out, "the count", "5 problem(s) found: a run would not start\n");
    PGH_CHECK(strstr(pgh_run_stderr(&c->r, 0), "pghost: 5 problem(s) found") != NULL, "stderr: %s",
              pgh_run_stderr(&c->r, 0));
    printf("ok: check lists every problem:\n%s", out);
}

/* it_check [hints|keys|check]: one part only (all without an argument). */
int main(int argc, char **argv)
{
    const char *only = argc > 1 ? argv[1] : "";
    bool all = only[0] == '\0';
    ctx c = {0};
    pgh_run_pair_start(&c.p, NULL, NULL);
    PGH_CHECK(pgh_test_server_start(&c.old, "replica-level", "wal_level = replica") == 0, "old");
    c.o = pgh_test_connect(&c.old, "postgres");
    pgh_run_init(&c.r, &c.p, PGH_BINARY, "case", NULL);
    if (all || strcmp(only, "hints") == 0)
        hints(&c);
    if (all || strcmp(only, "keys") == 0)
        key_mismatch(&c);
    if (all || strcmp(only, "check") == 0) {
        check_clean(&c);
        check_disk_unchecked(&c);
        check_slot(&c);
        check_stdout(&c);
        check_problems(&c);
    }
    PQfinish(c.o);
    pgh_test_server_stop(&c.old);
    pgh_run_pair_stop(&c.p);
    puts("PASS");
    return 0;
}
