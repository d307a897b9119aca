/*
 * The command line without a server (issue 11, finding 6): -V and --version; every command
 * takes --log-level; an option without its value says which value it needs; a connection
 * string that does not parse exits 2 in every command; a configuration file that holds a
 * password and that others may read gets one warning that never shows the password; what a
 * destination needs is checked for the one --to chooses.
 *
 * Runs the pghost binary (PGH_BINARY) with files in a temp dir; no server is started.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pgh_test.h"

static char g_dir[64];

/* <temp dir>/name, malloc'd once per name and kept to the end (few names). */
static const char *path_of(const char *name)
{
    static char *known[8];
    for (int i = 0; i < 8; i++) {
        if (known[i] && strcmp(strrchr(known[i], '/') + 1, name) == 0)
            return known[i];
        if (known[i] == NULL) {
            size_t len = strlen(g_dir) + strlen(name) + 2;
            known[i] = malloc(len);
            PGH_CHECK(known[i] != NULL, "out of memory");
            snprintf(known[i], len, "%s/%s", g_dir, name);
            return known[i];
        }
    }
    pgh_test_fail("too many file names");
}

static char *slurp(const char *file)
{
    FILE *f = fopen(file, "rb");
    PGH_CHECK(f != NULL, "cannot read %s", file);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void write_file(const char *file, const char *text, mode_t mode)
{
    FILE *f = fopen(file, "w");
    PGH_CHECK(f != NULL && fputs(text, f) >= 0 && fclose(f) == 0, "cannot write %s", file);
    PGH_CHECK(chmod(file, mode) == 0, "chmod %s", file);
}

/* Run pghost with args (NULL-terminated, at most 8); returns the exit code; stderr text in
 * *err_text (static), stdout in out.txt. */
static int run(const char **err_text, const char *a0, const char *a1, const char *a2,
               const char *a3, const char *a4)
{
    const char *argv[] = {PGH_BINARY, a0, a1, a2, a3, a4, NULL};
    int code = -1;
    PGH_CHECK(pgh_test_run(argv, path_of("out.txt"), path_of("err.txt"), 60, &code) == 0,
              "pghost %s did not run", a0);
    *err_text = slurp(path_of("err.txt"));
    return code;
}

static void version(void)
{
    const char *err;
    const char *flags[] = {"-V", "--version"};
    for (int i = 0; i < 2; i++) {
        int code = run(&err, flags[i], NULL, NULL, NULL, NULL);
        const char *out = slurp(path_of("out.txt"));
        PGH_CHECK(code == 0 && strncmp(out, "pghost ", 7) == 0, "%s: exit %d, stdout %s", flags[i],
                  code, out);
    }
    puts("ok: -V and --version");
}

/* Every command, with --log-level, on a configuration whose source connection string does
 * not parse: exit 2 and the one line that says so. */
static void bad_connection_every_command(void)
{
    const char *cfg = path_of("bad.yaml");
    write_file(cfg,
               "source_connection: \"host=127.0.0.1 port=1 bogus=2\"\n"
               "destination_connection: \"host=127.0.0.1 port=1\"\n"
               "source_table_name: t\npublication_name: p\n",
               0600);
    const char *cmds[] = {"replicate", "init",   "status",         "teardown",
                          "check",     "verify", "sync-sequences", "snapshot"};
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        const char *err;
        bool snap = strcmp(cmds[i], "snapshot") == 0;
        int code = run(&err, cmds[i], "--log-level", "debug", cfg, snap ? "public.t" : NULL);
        if (strcmp(cmds[i], "check") == 0) /* check lists its problems on stdout */
            err = slurp(path_of("out.txt"));
        PGH_CHECK(code == 2 && strstr(err, "source connection string is not valid") != NULL &&
                      strstr(err, "unknown option") == NULL,
                  "%s: exit %d (want 2), stderr: %s", cmds[i], code, err);
    }
    puts("ok: --log-level taken and a bad connection string exits 2 in every command");
}

static void missing_value(void)
{
    const char *err;
    int code = run(&err, "replicate", path_of("bad.yaml"), "--to", NULL, NULL);
    PGH_CHECK(code == 2 &&
                  strcmp(err, "pghost: --to needs a value (postgres, stdout, file, duckdb or "
                              "webhook): see pghost replicate --help\n") == 0,
              "--to: exit %d, stderr: %s", code, err);
    code = run(&err, "verify", path_of("bad.yaml"), "--jobs", NULL, NULL);
    PGH_CHECK(code == 2 && strstr(err, "--jobs needs a value (a whole number from 1 to") != NULL,
              "--jobs: exit %d, stderr: %s", code, err);
    puts("ok: an option without its value says what value it needs");
}

/* One line on stderr holding want; exit code. */
static void expect(int want_code, const char *want, const char *what, int code, const char *err)
{
    const char *nl = strchr(err, '\n');
    PGH_CHECK(code == want_code && strstr(err, want) != NULL && (nl == NULL || nl[1] == '\0'),
              "%s: exit %d (want %d, and one line saying \"%s\"), stderr: %s", what, code,
              want_code, want, err);
}

/* What a destination needs is checked for the destination --to chooses, not the file's: a file
 * without destination_connection runs with --to stdout (here: as far as the source, which is
 * not there), and each destination's missing key is one line, exit 2. */
static void to_chooses_destination(void)
{
    const char *cfg = path_of("nodest.yaml"), *nats = path_of("apply.yaml");
    write_file(cfg, "source_connection: \"host=127.0.0.1 port=1\"\n"
                    "source_table_name: t\npublication_name: p\n", 0600);
    write_file(nats, "source: nats\nnats_url: nats://127.0.0.1:1\n"
                     "source_table_name: t\npublication_name: p\n", 0600);
    const char *err;
    int code = run(&err, "replicate", cfg, NULL, NULL, NULL);
    expect(2, "destination: postgres (the default) needs destination_connection", "no --to", code,
           err);
    PGH_CHECK(strstr(err, "--to") != NULL, "the message does not name --to: %s", err);
    code = run(&err, "replicate", cfg, "--to", "stdout", NULL);
    expect(1, "cannot connect to the source server", "--to stdout", code, err);
    code = run(&err, "replicate", cfg, "--to", "file", NULL);
    expect(2, "destination: file needs file_directory", "--to file", code, err);
    code = run(&err, "replicate", cfg, "--to", "duckdb", NULL);
    expect(2, "destination: duckdb needs duckdb_path", "--to duckdb", code, err);
    code = run(&err, "replicate", cfg, "--to", "webhook", NULL);
    expect(2, "destination: webhook needs webhook_url", "--to webhook", code, err);
    code = run(&err, "status", cfg, NULL, NULL, NULL); /* never the default server instead */
    expect(2, "needs destination_connection", "status", code, err);
    code = run(&err, "snapshot", cfg, "public.t", NULL, NULL); /* asks the source only */
    expect(1, "cannot connect to the source server", "snapshot", code, err);
    code = run(&err, "apply", nats, NULL, NULL, NULL);
    expect(2, "needs destination_connection", "apply", code, err);
    code = run(&err, "apply", nats, "--to", "file", NULL);
    expect(2, "destination: file needs file_directory", "apply --to file", code, err);
    code = run(&err, "apply", nats, "--to", "stdout", NULL);
    expect(1, "no NATS server answered at nats://127.0.0.1:1", "apply --to stdout", code, err);
    puts("ok: what the destination needs is checked for the one --to chooses");
}

/* A file with a password: warned about at mode 0644, not at 0600, not when the password comes
 * from ${VAR}; the password is never printed. */
static void readable_password(void)
{
    int port = pgh_test_free_port();
    char text[512];
    snprintf(
        text, sizeof(text),
        "source_connection: host=127.0.0.1 port=%d user=u password=secret123 dbname=x "
        "connect_timeout=5\ndestination_connection: host=127.0.0.1 port=1\nsource_table_name: t\n"
        "publication_name: p\n",
        port);
    const char *cfg = path_of("pw.yaml");
    write_file(cfg, text, 0644);
    const char *err;
    run(&err, "status", cfg, NULL, NULL, NULL);
    char want[512];
    snprintf(want, sizeof(want),
             "pghost: warning: %s holds a password and other users may read it (mode 644): run "
             "chmod 600 %s, or take the password from ${VAR} or a .pgpass file\n",
             cfg, cfg);
    PGH_CHECK(strncmp(err, want, strlen(want)) == 0, "0644: stderr:\n%s\nwant first:\n%s", err,
              want);
    PGH_CHECK(strstr(err, "secret123") == NULL, "the password was printed: %s", err);
    PGH_CHECK(chmod(cfg, 0600) == 0, "chmod");
    run(&err, "status", cfg, NULL, NULL, NULL);
    PGH_CHECK(strstr(err, "warning") == NULL &&
                  strstr(err, "cannot connect to the source server") != NULL,
              "0600: stderr: %s", err);
    snprintf(text, sizeof(text),
             "source_connection: host=127.0.0.1 port=%d user=u password=${PGH_TEST_PW} "
             "dbname=x connect_timeout=5\ndestination_connection: host=127.0.0.1 port=1\n"
             "source_table_name: t\npublication_name: p\n",
             port);
    write_file(cfg, text, 0644);
    setenv("PGH_TEST_PW", "secret123", 1);
    run(&err, "status", cfg, NULL, NULL, NULL);
    /* the file loaded (the run got as far as connecting) and said nothing of a password */
    PGH_CHECK(strstr(err, "warning") == NULL && strstr(err, "secret123") == NULL &&
                  strstr(err, "cannot connect to the source server") != NULL,
              "${VAR}: stderr: %s", err);
    puts("ok: a readable file holding a password is warned about, without the password");
}

int main(void)
{
    snprintf(g_dir, sizeof(g_dir), "/tmp/pghost-cli-XXXXXX");
    PGH_CHECK(mkdtemp(g_dir) != NULL, "mkdtemp");
    version();
    bad_connection_every_command();
    missing_value();
    to_chooses_destination();
    readable_password();
    const char *names[] = {"bad.yaml", "pw.yaml", "nodest.yaml", "apply.yaml", "out.txt",
                           "err.txt"};
    for (int i = 0; i < 6; i++)
        unlink(path_of(names[i]));
    rmdir(g_dir);
    puts("PASS");
    return 0;
}
