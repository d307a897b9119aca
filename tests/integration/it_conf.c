/*
 * Configuration through the real binary, against real servers (issue 11).
 *
 *   password  finding 5: a role whose password holds a space, quotes, a backslash, '=', '@' and
 *             text that looks like another parameter, checked by scram-sha-256 (a pg_hba.conf
 *             line of the test's own before the harness's trust lines). ${VAR} in
 *             source_connection carries it: pghost status connects. With a wrong password of
 *             the same kind it fails, and neither password appears in anything pghost printed.
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

int main(int argc, char **argv)
{
    PGH_CHECK(argc == 2, "usage: it_conf CASE");
    ctx c;
    memset(&c, 0, sizeof(c));
    pgh_run_pair_start(&c.p, NULL, NULL);
    pgh_run_init(&c.r, &c.p, PGH_BINARY, "run", "conf.yaml");
    if (strcmp(argv[1], "password") == 0)
        case_password(&c);
    else
        pgh_test_fail("unknown case %s", argv[1]);
    pgh_run_pair_stop(&c.p);
    puts("PASS");
    return 0;
}
