/*
 * Configuration through the real binary, against real servers (issue 11).
 *
 *   password  finding 5: a role whose password holds a space, quotes, a backslash, '=', '@' and
 *             text that looks like another parameter, checked by scram-sha-256 (a pg_hba.conf
 *             line of the test's own before the harness's trust lines). ${VAR} in
 *             source_connection carries it: pghost status connects. With a wrong password of
 *             the same kind it fails, and neither password appears in anything pghost printed.
 *
 *   sources   configuration without a file (issue 11): the same sync configured by a file, by
 *             flags alone and by PGH_CFG_ variables alone, each into its own destination
 *             database, gives each the source's rows (full ordered dumps of the selected tables;
 *             the unselected one stays empty). Precedence: a file, PGH_CFG_ variables and flags
 *             that disagree: the flags win over the environment, which wins over the file. An
 *             unknown PGH_CFG_ variable is refused (exit 2), naming it.
 *
 * Usage: it_conf CASE
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgh_run.h"

typedef struct ctx {
    pgh_run_pair p;
    pgh_run r; /* runs write <source dir>/runN.out and runN.err */
} ctx;

static const char PASSWORD[] = "pa ss'wo\\rd=x sslmode=evil '@/:?";
static const char WRONG[] = "wr0ng 'gu3ss\\ zq=1";

/* Let role pwuser in only with its password (scram-sha-256) over TCP. */
static void require_password(ctx *c)
{
    char *lit = PQescapeLiteral(c->p.s, PASSWORD, strlen(PASSWORD));
    PGH_CHECK(lit != NULL, "PQescapeLiteral");
    pgh_test_exec(c->p.s,
                  "SET password_encryption = 'scram-sha-256';"
                  "CREATE ROLE pwuser LOGIN SUPERUSER PASSWORD %s",
                  lit);
    PQfreemem(lit);
    char path[PGH_RUN_FILE_MAX];
    snprintf(path, sizeof(path), "%s/pg_hba.conf", c->p.src.datadir);
    char *old = pgh_run_read_file(path);
    FILE *f = fopen(path, "w");
    PGH_CHECK(f != NULL, "cannot write %s", path);
    fprintf(f, "host all pwuser 127.0.0.1/32 scram-sha-256\n%s", old);
    fclose(f);
    free(old);
    char *ok = pgh_test_value(c->p.s, "SELECT pg_reload_conf()");
    free(ok);
}

/* True when text holds any run of 5 bytes of secret: a fragment of it was printed. */
static bool leaks(const char *text, const char *secret)
{
    size_t n = strlen(secret);
    for (size_t i = 0; i + 5 <= n; i++) {
        char part[6];
        memcpy(part, secret + i, 5);
        part[5] = '\0';
        if (strstr(text, part) != NULL)
            return true;
    }
    return false;
}

static void check_no_leak(ctx *c, const char *secret)
{
    const char *out = pgh_run_stdout(&c->r, 0);
    PGH_CHECK(!leaks(out, secret), "stdout shows part of a password: %s", out);
    const char *err = pgh_run_stderr(&c->r, 0);
    PGH_CHECK(!leaks(err, secret), "stderr shows part of a password: %s", err);
}

static void case_password(ctx *c)
{
    require_password(c);
    pgh_run_write_config(&c->r,
                         "source_connection: host=127.0.0.1 port=%d dbname=postgres user=pwuser "
                         "password=${PGH_IT_PASSWORD}\n"
                         "destination_connection: %s\npublication_name: pub\n"
                         "source_table_name: t\n",
                         c->p.src.port, c->p.dst_conninfo);
    setenv("PGH_IT_PASSWORD", PASSWORD, 1);
    int code = pgh_run_exec(&c->r, 60, "status", NULL);
    PGH_CHECK(code == 0 && strstr(pgh_run_stdout(&c->r, 0), "does not exist on the source"),
              "status with the password (%d): %s%s", code, pgh_run_stdout(&c->r, 0),
              pgh_run_stderr(&c->r, 0));
    check_no_leak(c, PASSWORD);
    puts("a password with spaces, quotes, a backslash and '=' authenticates");
    setenv("PGH_IT_PASSWORD", WRONG, 1);
    code = pgh_run_exec(&c->r, 60, "status", NULL);
    PGH_CHECK(code == 1 && strstr(pgh_run_stderr(&c->r, 0), "password authentication failed") &&
                  strstr(pgh_run_stderr(&c->r, 0), "password=********"),
              "status with a wrong password (%d): %s", code, pgh_run_stderr(&c->r, 0));
    check_no_leak(c, WRONG);
    check_no_leak(c, PASSWORD);
    unsetenv("PGH_IT_PASSWORD");
    puts("a wrong password fails, and no password is printed");
}

/* Run the binary with argv (no config file appended): its exit code; output in <dir>/<name>.out
 * and .err. */
static int run_argv(ctx *c, const char *name, const char *const *argv, char **out_err)
{
    char out[PGH_RUN_FILE_MAX], err[PGH_RUN_FILE_MAX];
    snprintf(out, sizeof(out), "%s/%s.out", c->p.src.dir, name);
    snprintf(err, sizeof(err), "%s/%s.err", c->p.src.dir, name);
    int code = -1;
    PGH_CHECK(pgh_test_run(argv, out, err, 120, &code) == 0, "%s did not end", name);
    *out_err = pgh_run_read_file(err);
    return code;
}

static const char *const TABLES[] = {"a", "b", "c"};

static void setup_sources(ctx *c)
{
    for (int i = 0; i < 3; i++) {
        pgh_test_exec(c->p.s, "CREATE TABLE %s (id bigint PRIMARY KEY, v text)", TABLES[i]);
        pgh_test_exec(c->p.s,
                      "INSERT INTO %s SELECT g, md5(g::text) FROM generate_series(1, 3000) g",
                      TABLES[i]);
    }
    for (int n = 1; n <= 7; n++) {
        char db[16];
        snprintf(db, sizeof(db), "db%d", n);
        PGH_CHECK(pgh_test_create_db(&c->p.dst, db) == 0, "create %s", db);
        PGconn *d = pgh_test_connect(&c->p.dst, db);
        for (int i = 0; i < 3; i++)
            pgh_test_exec(d, "CREATE TABLE %s (id bigint PRIMARY KEY, v text)", TABLES[i]);
        pgh_test_exec(d, "CREATE TABLE a_copy (id bigint PRIMARY KEY, v text)");
        PQfinish(d);
        pgh_test_exec(c->p.s, "CREATE PUBLICATION pub%d FOR ALL TABLES", n);
    }
}

/* db<n> holds the source's rows in each table of want ("ab": a and b) and none in the others. */
static void expect_db(ctx *c, int n, const char *want)
{
    char db[16];
    snprintf(db, sizeof(db), "db%d", n);
    PGconn *d = pgh_test_connect(&c->p.dst, db);
    for (int i = 0; i < 3; i++) {
        char q[128], diff[1024];
        bool selected = strchr(want, TABLES[i][0]) != NULL;
        snprintf(q, sizeof(q), "SELECT * FROM %s %s ORDER BY id", TABLES[i],
                 selected ? "" : "WHERE false");
        char qd[128];
        snprintf(qd, sizeof(qd), "SELECT * FROM %s ORDER BY id", TABLES[i]);
        long long rows = 0;
        int rc = pgh_test_compare_dumps(c->p.s, q, d, qd, diff, sizeof(diff), &rows);
        PGH_CHECK(rc == 0, "%s.%s differs from the source%s: %s", db, TABLES[i],
                  selected ? "" : " (should be empty)", diff);
        printf("%s.%s: %lld rows equal\n", db, TABLES[i], rows);
    }
    PQfinish(d);
}

static char *dst_db(ctx *c, const char *db)
{
    return pgh_test_conninfo(&c->p.dst, db);
}

/* Exclusions by flag and by environment, and a table written into another name by flag. */
static void sources_exclude_and_rename(ctx *c)
{
    char *d5 = dst_db(c, "db5"), *d6 = dst_db(c, "db6"), *d7 = dst_db(c, "db7");
    char *err = NULL;
    unsetenv("PGH_CFG_DESTINATION_CONNECTION");
    unsetenv("PGH_CFG_PUBLICATION_NAME");
    unsetenv("PGH_CFG_TABLES");
    const char *flags[] = {PGH_BINARY,        "replicate",   "--no-progress",
                           "--source",        c->p.src_conninfo,
                           "--destination",   d5,            "--publication",
                           "pub5",            "--table",     "public.*",
                           "--exclude-table", "public.c",    NULL};
    int code = run_argv(c, "exclude_flag", flags, &err);
    PGH_CHECK(code == 0, "replicate --exclude-table (%d): %s", code, err);
    free(err);
    expect_db(c, 5, "ab");
    setenv("PGH_CFG_SOURCE_CONNECTION", c->p.src_conninfo, 1);
    setenv("PGH_CFG_DESTINATION_CONNECTION", d6, 1);
    setenv("PGH_CFG_PUBLICATION_NAME", "pub6", 1);
    setenv("PGH_CFG_TABLES", "public.a public.b public.c", 1);
    setenv("PGH_CFG_EXCLUDE_TABLES", "public.b", 1);
    const char *bare[] = {PGH_BINARY, "replicate", "--no-progress", NULL};
    code = run_argv(c, "excluded_named", bare, &err);
    PGH_CHECK(code == 2 && strstr(err, "table public.b is named and also excluded"),
              "a table both named and excluded (%d): %s", code, err);
    free(err);
    setenv("PGH_CFG_TABLES", "public.*", 1);
    code = run_argv(c, "exclude_env", bare, &err);
    PGH_CHECK(code == 0, "replicate with PGH_CFG_EXCLUDE_TABLES (%d): %s", code, err);
    free(err);
    expect_db(c, 6, "ac");
    unsetenv("PGH_CFG_EXCLUDE_TABLES");
    const char *renamed[] = {PGH_BINARY, "replicate",   "--no-progress", "--destination", d7,
                             "--publication", "pub7",   "--table",       "public.a=public.a_copy",
                             NULL};
    code = run_argv(c, "rename", renamed, &err);
    PGH_CHECK(code == 0, "replicate --table public.a=public.a_copy (%d): %s", code, err);
    free(err);
    expect_db(c, 7, "");
    PGconn *d = pgh_test_connect(&c->p.dst, "db7");
    char diff[1024];
    long long rows = 0;
    PGH_CHECK(pgh_test_compare_dumps(c->p.s, "SELECT * FROM a ORDER BY id", d,
                                     "SELECT * FROM a_copy ORDER BY id", diff, sizeof(diff),
                                     &rows) == 0,
              "db7.a_copy differs from the source's a: %s", diff);
    printf("db7.a_copy: %lld rows equal to the source's a\n", rows);
    PQfinish(d);
    unsetenv("PGH_CFG_SOURCE_CONNECTION");
    unsetenv("PGH_CFG_DESTINATION_CONNECTION");
    unsetenv("PGH_CFG_PUBLICATION_NAME");
    unsetenv("PGH_CFG_TABLES");
    puts("--exclude-table, PGH_CFG_EXCLUDE_TABLES and --table SRC=DEST work");
    free(d5);
    free(d6);
    free(d7);
}

static void case_sources(ctx *c)
{
    setup_sources(c);
    char *d1 = dst_db(c, "db1"), *d2 = dst_db(c, "db2"), *d3 = dst_db(c, "db3"),
         *d4 = dst_db(c, "db4");
    char *err = NULL;
    /* 1: a file */
    pgh_run_write_config(&c->r,
                         "source_connection: %s\ndestination_connection: %s\n"
                         "publication_name: pub1\ntables: [public.a, public.b]\n",
                         c->p.src_conninfo, d1);
    int code = pgh_run_exec(&c->r, 120, "replicate", "--no-progress", NULL);
    PGH_CHECK(code == 0, "replicate with a file (%d): %s", code, pgh_run_stderr(&c->r, 0));
    expect_db(c, 1, "ab");
    /* 2: flags alone */
    const char *flags[] = {
        PGH_BINARY,      "replicate", "--no-progress", "--source", c->p.src_conninfo,
        "--destination", d2,          "--publication", "pub2",     "--table",
        "public.a",      "--table",   "public.b",      NULL};
    code = run_argv(c, "flags", flags, &err);
    PGH_CHECK(code == 0, "replicate by flags (%d): %s", code, err);
    free(err);
    expect_db(c, 2, "ab");
    /* 3: environment alone */
    setenv("PGH_CFG_SOURCE_CONNECTION", c->p.src_conninfo, 1);
    setenv("PGH_CFG_DESTINATION_CONNECTION", d3, 1);
    setenv("PGH_CFG_PUBLICATION_NAME", "pub3", 1);
    setenv("PGH_CFG_TABLES", "public.a, public.b", 1);
    setenv("PGH_CFG_COPY_BATCH_SIZE", "500", 1);
    const char *bare[] = {PGH_BINARY, "replicate", "--no-progress", NULL};
    code = run_argv(c, "env", bare, &err);
    PGH_CHECK(code == 0, "replicate by the environment (%d): %s", code, err);
    free(err);
    expect_db(c, 3, "ab");
    puts("a file, flags alone and the environment alone give the same destination");
    /* 4: precedence. The file names a destination database that does not exist, the table c
     * and pub1; the environment another missing database, the table a and pub4; the flags db4
     * and the table b. */
    pgh_run_write_config(&c->r,
                         "source_connection: %s\ndestination_connection: dbname=nosuch1\n"
                         "publication_name: pub1\ntables: [public.c]\n",
                         c->p.src_conninfo);
    setenv("PGH_CFG_DESTINATION_CONNECTION", "dbname=nosuch2 host=/nonexistent", 1);
    setenv("PGH_CFG_PUBLICATION_NAME", "pub4", 1);
    setenv("PGH_CFG_TABLES", "public.a", 1);
    const char *mixed[] = {PGH_BINARY,      "replicate", "--no-progress",
                           "--destination", d4,          "--table",
                           "public.b",      c->r.cfg,    NULL};
    code = run_argv(c, "mixed", mixed, &err);
    PGH_CHECK(code == 0, "replicate with a file, the environment and flags (%d): %s", code, err);
    free(err);
    expect_db(c, 4, "b");
    puts("flags win over the environment, which wins over the file");
    /* 5: an unknown variable of the prefix */
    setenv("PGH_CFG_TABELS", "public.a", 1);
    code = run_argv(c, "unknown", mixed, &err);
    PGH_CHECK(code == 2 && strstr(err, "PGH_CFG_TABELS is not a configuration key") &&
                  strchr(err, '\n') == err + strlen(err) - 1,
              "an unknown PGH_CFG_ variable (%d): %s", code, err);
    free(err);
    puts("an unknown PGH_CFG_ variable is refused");
    unsetenv("PGH_CFG_TABELS");
    sources_exclude_and_rename(c);
    const char *vars[] = {"SOURCE_CONNECTION", "DESTINATION_CONNECTION",
                          "PUBLICATION_NAME",  "TABLES",
                          "COPY_BATCH_SIZE",   "TABELS"};
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        char name[64];
        snprintf(name, sizeof(name), "PGH_CFG_%s", vars[i]);
        unsetenv(name);
    }
    free(d1);
    free(d2);
    free(d3);
    free(d4);
}

int main(int argc, char **argv)
{
    PGH_CHECK(argc == 2, "usage: it_conf CASE");
    ctx c;
    memset(&c, 0, sizeof(c));
    pgh_run_pair_start(&c.p, NULL, NULL);
    pgh_run_init(&c.r, &c.p, PGH_BINARY, "run", "conf.yaml");
    if (strcmp(argv[1], "password") == 0)
        case_password(&c);
    else if (strcmp(argv[1], "sources") == 0)
        case_sources(&c);
    else
        pgh_test_fail("unknown case %s", argv[1]);
    pgh_run_pair_stop(&c.p);
    puts("PASS");
    return 0;
}
