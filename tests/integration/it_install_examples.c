/*
 * The library as a user gets it: `cmake --install` of this build into a temp prefix, the two
 * examples compiled against it with `cc ... $(pkg-config --cflags --libs pghost)` (shared, and
 * stdout_pipeline also against libpghost.a with `pkg-config --static`), then run against a
 * throwaway source:
 *
 *   stdout_pipeline  one "op":"snapshot" line per row, keys exactly the table's, nothing else
 *                    of the table's rows, no slot left behind
 *   count_destination  run 1 counts the existing rows; after inserts, updates and deletes, run 2
 *                    reports the counts of run 1 plus exactly those changes (persisted in its
 *                    file) and a position further on, equal to where its slot was confirmed;
 *                    run 3, with nothing new, changes no count
 *
 * Built by tests/integration/install_examples.cmake, which passes the build's paths.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pgh_test.h"

#define ROWS 7       /* existing rows of public.items: ids 3, 6, ... 3 * ROWS */
#define CMD_MAX 4096 /* bytes of one shell command */

typedef struct ctx {
    pgh_test_server s;
    PGconn *conn;
    char *conninfo;                      /* owned */
    char prefix[PGH_TEST_PATH_MAX + 16]; /* where the build is installed */
    char bin[PGH_TEST_PATH_MAX + 16];    /* where the examples are built and write their files */
} ctx;

/* The whole content of path, malloc'd ("" when it cannot be read). */
static char *slurp(const char *path)
{
    char *text = NULL;
    size_t cap = 0;
    FILE *f = fopen(path, "r");
    if (f == NULL || getdelim(&text, &cap, '\0', f) < 0) {
        free(text);
        text = strdup("");
    }
    if (f)
        fclose(f);
    return text;
}

/* Run a shell command, its output to <bin>/<name>.out; fail the test unless it exits 0. */
static void shell(const ctx *c, const char *name, const char *cmd)
{
    char out[PGH_TEST_PATH_MAX + 64];
    snprintf(out, sizeof(out), "%s/%s.out", c->bin, name);
    const char *argv[] = {"sh", "-c", cmd, NULL};
    int code = -1;
    if (pgh_test_run(argv, out, out, 300, &code) != 0 || code != 0)
        pgh_test_fail("%s: exit %d: %s\n%s", name, code, cmd, slurp(out));
}

/* Install the build, then compile both examples against it (shared, with an rpath), and
 * stdout_pipeline once more against the static library. */
static void install_and_build(const ctx *c)
{
    char cmd[CMD_MAX];
    snprintf(cmd, sizeof(cmd), "'%s' --install '%s' --prefix '%s'", PGH_CMAKE, PGH_BUILD_DIR,
             c->prefix);
    shell(c, "install", cmd);
    snprintf(cmd, sizeof(cmd), "%s/%s/pkgconfig", c->prefix, PGH_LIBDIR);
    PGH_CHECK(setenv("PKG_CONFIG_PATH", cmd, 1) == 0, "setenv");

    const char *examples[] = {"stdout_pipeline", "count_destination"};
    for (int i = 0; i < 2; i++) {
        snprintf(cmd, sizeof(cmd),
                 "%s %s '%s/examples/%s.c' -o '%s/%s' $(pkg-config --cflags --libs pghost) "
                 "-Wl,-rpath,\"$(pkg-config --variable=libdir pghost)\"",
                 PGH_CC, PGH_EXAMPLE_FLAGS, PGH_SOURCE_DIR, examples[i], c->bin, examples[i]);
        shell(c, examples[i], cmd);
    }
    /* Against the archive (-l:libpghost.a): what it needs comes from pghost.pc alone, its
     * Libs.private (pkgconf's depth 2: pghost itself) and its Requires.private, those modules
     * linked shared. (`pkg-config --static --libs pghost` goes on into libpq's own static
     * needs, libpgcommon and libpgport, which Debian's libpq-dev does not ship.) The result
     * must not need libpghost.so. */
    snprintf(cmd, sizeof(cmd),
             "pkg-config --static --libs pghost | grep -q -- -lyaml && "
             "own=\"$(pkg-config --static --maximum-traverse-depth=2 --libs pghost)\" && "
             "deps=\"$(pkg-config --libs $(pkg-config --print-requires-private pghost))\" && "
             "%s %s '%s/examples/stdout_pipeline.c' -o '%s/stdout_pipeline_static' "
             "$(pkg-config --cflags pghost) $(echo \"$own \" | sed 's/-lpghost /-l:libpghost.a /') "
             "$deps && ! readelf -d '%s/stdout_pipeline_static' | grep -F libpghost",
             PGH_CC, PGH_EXAMPLE_FLAGS, PGH_SOURCE_DIR, c->bin, c->bin);
    shell(c, "stdout_pipeline_static", cmd);
    printf("ok: installed into %s, examples built (shared and static)\n", c->prefix);
}

/* Run bin/<exe> CONNINFO PUBLICATION public.items [FILE]; its stdout to <bin>/<out>.out. */
static const char *run_example(const ctx *c, const char *exe, const char *pub, const char *file,
                               const char *out)
{
    static char path[PGH_TEST_PATH_MAX + 64];
    char prog[PGH_TEST_PATH_MAX + 64], err[PGH_TEST_PATH_MAX + 64];
    snprintf(prog, sizeof(prog), "%s/%s", c->bin, exe);
    snprintf(path, sizeof(path), "%s/%s.out", c->bin, out);
    snprintf(err, sizeof(err), "%s/%s.err", c->bin, out);
    const char *argv[] = {prog, c->conninfo, pub, "public.items", file, NULL};
    int code = -1;
    PGH_CHECK(pgh_test_run(argv, path, err, 120, &code) == 0 && code == 0,
              "%s exited %d; its stderr is in %s", out, code, err);
    return path;
}

/* The snapshot lines of stdout_pipeline's output: exactly ROWS, of public.items, whose keys are
 * the ids 3, 6, ... and whose rows are the table's. Nothing else may carry a row. */
static void check_snapshot_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    PGH_CHECK(f != NULL, "cannot read %s", path);
    char *line = NULL;
    size_t cap = 0;
    int seen[ROWS] = {0}, n = 0, starts = 0, ends = 0;
    while (getline(&line, &cap, f) > 0) {
        json_error_t jerr;
        json_t *o = json_loads(line, 0, &jerr);
        PGH_CHECK(o != NULL, "not JSON: %s", line);
        const char *table = json_string_value(json_object_get(o, "table"));
        const char *op = json_string_value(json_object_get(o, "op"));
        PGH_CHECK(table && strcmp(table, "public.items") == 0, "a line of another table: %s", line);
        PGH_CHECK(op != NULL, "no op: %s", line);
        starts += strcmp(op, "snapshot_start") == 0;
        ends += strcmp(op, "snapshot_end") == 0;
        if (strcmp(op, "snapshot") == 0) {
            json_t *key = json_object_get(o, "key");
            json_int_t id = json_integer_value(json_object_get(key, "id"));
            PGH_CHECK(json_object_size(key) == 1 && id % 3 == 0 && id >= 3 && id <= 3 * ROWS &&
                          !seen[id / 3 - 1]++,
                      "unexpected or repeated key: %s", line);
            char want[32];
            snprintf(want, sizeof(want), "v%lld", (long long)id);
            const char *v = json_string_value(json_object_get(json_object_get(o, "new"), "v"));
            PGH_CHECK(v && strcmp(v, want) == 0, "row %lld: v is not %s: %s", (long long)id, want,
                      line);
            n++;
        } else {
            PGH_CHECK(strcmp(op, "snapshot_start") == 0 || strcmp(op, "snapshot_end") == 0,
                      "a change where only existing rows were expected: %s", line);
        }
        json_decref(o);
    }
    free(line);
    fclose(f);
    PGH_CHECK(n == ROWS && starts == 1 && ends == 1,
              "%s: %d snapshot lines (want %d), %d snapshot_start, %d snapshot_end", path, n, ROWS,
              starts, ends);
}

static void stdout_pipeline(const ctx *c, const char *exe)
{
    check_snapshot_lines(run_example(c, exe, "pub_stdout", NULL, exe));
    char *slots = pgh_test_value(c->conn, "SELECT count(*) FROM pg_replication_slots");
    PGH_CHECK(strcmp(slots, "0") == 0, "%s left %s slots behind", exe, slots);
    free(slots);
    printf("ok: %s: %d snapshot lines, the table's keys\n", exe, ROWS);
}

/* Run count_destination (run n); it must print exactly `want` ("public.items: ...") and its file
 * must hold the same counts on its one table line. Returns the position the file holds (its first
 * word), malloc'd. */
static char *count_run(const ctx *c, int n, const char *want, const char *want_line)
{
    char file[PGH_TEST_PATH_MAX + 64], out[16];
    snprintf(file, sizeof(file), "%s/counts.txt", c->bin);
    snprintf(out, sizeof(out), "count%d", n);
    const char *path = run_example(c, "count_destination", "pub_count", file, out);
    char *printed = slurp(path), *kept = slurp(file);
    PGH_CHECK(strcmp(printed, want) == 0, "run %d printed:\n%s\nexpected:\n%s", n, printed, want);
    /* "<lsn> <phase>\n<token>\n<table line>\n": the counts come after the second newline. */
    const char *nl = strchr(kept, '\n'), *counts = nl ? strchr(nl + 1, '\n') : NULL;
    PGH_CHECK(counts && strcmp(counts + 1, want_line) == 0, "run %d: %s holds:\n%s\nexpected:\n%s",
              n, file, kept, want_line);
    char *lsn = strndup(kept, strcspn(kept, " "));
    free(printed);
    free(kept);
    printf("ok: count_destination run %d: %s", n, want);
    return lsn;
}

/* The position the file keeps must be where the slot was confirmed (the pipeline confirms what
 * flush reported durable), and further than `before` when given. */
static void check_position(const ctx *c, const char *lsn, const char *before)
{
    char *same = pgh_test_value(c->conn,
                                "SELECT confirmed_flush_lsn = '%s' FROM pg_replication_slots "
                                "WHERE slot_name = 'pghost_pub_count'",
                                lsn);
    PGH_CHECK(strcmp(same, "t") == 0, "the slot was not confirmed at the file's position %s", lsn);
    free(same);
    if (before) {
        char *later = pgh_test_value(c->conn, "SELECT '%s'::pg_lsn > '%s'", lsn, before);
        PGH_CHECK(strcmp(later, "t") == 0, "position %s is not past %s", lsn, before);
        free(later);
    }
}

static void count_destination(const ctx *c)
{
    char *lsn1 = count_run(c, 1, "public.items: 7 rows, 0 inserts, 0 updates, 0 deletes\n",
                           "public.items 7 0 0 0\n");
    check_position(c, lsn1, NULL);
    pgh_test_exec(c->conn, "INSERT INTO items VALUES (100, 'v100'), (101, 'v101'), (102, 'v102');"
                           "UPDATE items SET v = 'w' WHERE id IN (3, 101);"
                           "DELETE FROM items WHERE id = 6;");
    char *end = pgh_test_value(c->conn, "SELECT pg_current_wal_lsn()");
    char *lsn2 = count_run(c, 2, "public.items: 7 rows, 3 inserts, 2 updates, 1 deletes\n",
                           "public.items 7 3 2 1\n");
    check_position(c, lsn2, lsn1);
    check_position(c, lsn2, end);
    char *lsn3 = count_run(c, 3, "public.items: 7 rows, 3 inserts, 2 updates, 1 deletes\n",
                           "public.items 7 3 2 1\n");
    check_position(c, lsn3, NULL);
    pgh_test_exec(c->conn, "SELECT pg_drop_replication_slot('pghost_pub_count')");
    free(lsn1);
    free(lsn2);
    free(lsn3);
    free(end);
}

int main(void)
{
    ctx c = {0};
    PGH_CHECK(pgh_test_server_start(&c.s, "source", NULL) == 0, "source server");
    snprintf(c.prefix, sizeof(c.prefix), "%s/prefix", c.s.dir);
    snprintf(c.bin, sizeof(c.bin), "%s/bin", c.s.dir);
    PGH_CHECK(mkdir(c.bin, 0755) == 0, "mkdir %s", c.bin);
    install_and_build(&c);

    PGH_CHECK(pgh_test_create_db(&c.s, "examples") == 0, "create database");
    c.conninfo = pgh_test_conninfo(&c.s, "examples");
    c.conn = pgh_test_connect(&c.s, "examples");
    pgh_test_exec(c.conn,
                  "CREATE TABLE items (id int PRIMARY KEY, v text);"
                  "INSERT INTO items SELECT 3 * g, 'v' || 3 * g FROM generate_series(1, %d) g;"
                  "CREATE TABLE other (id int PRIMARY KEY, v text);"
                  "INSERT INTO other VALUES (1, 'not configured');"
                  "CREATE PUBLICATION pub_stdout FOR TABLE items, other;"
                  "CREATE PUBLICATION pub_count FOR TABLE items;",
                  ROWS);

    stdout_pipeline(&c, "stdout_pipeline");
    stdout_pipeline(&c, "stdout_pipeline_static");
    count_destination(&c);

    PQfinish(c.conn);
    free(c.conninfo);
    PGH_CHECK(pgh_test_server_stop(&c.s) == 0, "stop");
    printf("ok: install_examples\n");
    return 0;
}
