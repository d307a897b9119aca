/*
 * The file destination's data files without a server (src/dest/file/file_set.h): stream names,
 * rotation by size and age, the durable lengths a sync records, and putting a directory back to
 * a recorded state after a "crash" (lines appended and a file started after the state, then the
 * set dropped without a sync), plus pgh_file_remove.
 *
 * Each case is its own ctest entry (file.set.<case>, label unit); tests/unit/file.cmake reads the
 * CASES list below.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dest/file/file_set.h"
#include "pghost/file.h"
#include "unit_check.h"

#define CASES(X)                                                                                   \
    X(stream_names)                                                                                \
    X(rotate_by_size)                                                                              \
    X(rotate_by_age)                                                                               \
    X(recover_cuts_back)                                                                           \
    X(recover_refuses_strays)                                                                      \
    X(remove_files)

#define CHECK_OK(call)                                                                             \
    do {                                                                                           \
        pgh_error e_;                                                                              \
        pgh_error_clear(&e_);                                                                      \
        if ((call) != 0) {                                                                         \
            fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #call, e_.message);      \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static char dir[256];

/* A fresh directory for the case (remove_dir removes it at the end). */
static void make_dir(void)
{
    snprintf(dir, sizeof(dir), "/tmp/pgh-file-set-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
}

static void remove_dir(void)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

static long size_of(const char *rel)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* Data files in dir/sub. */
static int count_files(const char *sub)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/%s", dir, sub);
    DIR *d = opendir(path);
    if (d == NULL)
        return 0;
    int n = 0;
    struct dirent *e;
    uint64_t number;
    while ((e = readdir(d)) != NULL)
        n += pgh_file__data_file_number(&number, e->d_name);
    closedir(d);
    return n;
}

/* A line of exactly len bytes, newline included. */
static const char *line_of(size_t len, char c)
{
    static char buf[8192];
    CHECK(len > 1 && len < sizeof(buf));
    memset(buf, c, len - 1);
    buf[len - 1] = '\n';
    buf[len] = '\0';
    return buf;
}

static void append(pgh_file_set *s, const char *stream, size_t len)
{
    pgh_error err;
    pgh_error_clear(&err);
    int rc = pgh_file__append(s, stream, 0x1A2B3C4, line_of(len, 'x'), len, &err);
    if (rc != 0)
        fprintf(stderr, "append: %s\n", err.message);
    CHECK(rc == 0);
}

static void set_open(pgh_file_set *s, pgh_file_layout layout, uint64_t bytes, int64_t seconds)
{
    pgh_error err;
    pgh_error_clear(&err);
    CHECK(pgh_file__set_init(s, dir, layout, bytes, seconds, 100, &err) == 0);
}

static void stream_names(void)
{
    pgh_file_set s;
    make_dir();
    set_open(&s, PGH_FILE_LAYOUT_PER_TABLE, 4096, 0);
    char *name = NULL;
    pgh_error err;
    CHECK(pgh_file__stream_name(&name, &s, "public", "t_1", &err) == 0);
    CHECK(strcmp(name, "public.t_1") == 0);
    free(name);
    CHECK(pgh_file__stream_name(&name, &s, "my.s", "a/b c%", &err) == 0);
    CHECK(strcmp(name, "my%2Es.a%2Fb%20c%25") == 0);
    free(name);
    s.layout = PGH_FILE_LAYOUT_SINGLE;
    CHECK(pgh_file__stream_name(&name, &s, "public", "t", &err) == 0);
    CHECK(strcmp(name, "") == 0);
    free(name);
    pgh_file__set_dispose(&s);
    remove_dir();
}

/* 1000-byte lines into 4096-byte files: 4 lines a file; names numbered and sorted. */
static void rotate_by_size(void)
{
    pgh_file_set s;
    make_dir();
    set_open(&s, PGH_FILE_LAYOUT_PER_TABLE, 4096, 0);
    CHECK_OK(pgh_file__recover(&s, NULL, &e_));
    for (int i = 0; i < 10; i++)
        append(&s, "public.t", 1000);
    CHECK_OK(pgh_file__set_sync(&s, &e_));
    CHECK(count_files("public.t") == 3);
    CHECK(size_of("public.t/00000000000001-0000000001A2B3C4.jsonl") == 4000);
    CHECK(size_of("public.t/00000000000002-0000000001A2B3C4.jsonl") == 4000);
    CHECK(size_of("public.t/00000000000003-0000000001A2B3C4.jsonl") == 2000);
    pgh_json_state_files st;
    CHECK_OK(pgh_file__set_state(&st, &s, &e_));
    CHECK(st.next_file == 4 && st.n == 1 && st.files[0].length == 2000);
    CHECK(strcmp(st.files[0].name, "public.t/00000000000003-0000000001A2B3C4.jsonl") == 0);
    pgh_json__state_files_dispose(&st);
    pgh_file__set_dispose(&s);
    remove_dir();
}

/* A file open for file_rotate_seconds is closed at the next sync; the next line starts one. */
static void rotate_by_age(void)
{
    pgh_file_set s;
    make_dir();
    set_open(&s, PGH_FILE_LAYOUT_SINGLE, 1 << 20, 1);
    CHECK_OK(pgh_file__recover(&s, NULL, &e_));
    append(&s, "", 100);
    CHECK_OK(pgh_file__set_sync(&s, &e_));
    CHECK(s.nouts == 1);
    sleep(1);
    CHECK_OK(pgh_file__set_sync(&s, &e_));
    CHECK(s.nouts == 0);
    append(&s, "", 100);
    CHECK(s.nouts == 1 && count_files("") == 2);
    pgh_file__set_dispose(&s);
    remove_dir();
}

/* State recorded, then more lines, a rotation and a new stream, then a crash (no sync): the
 * recovery cuts the open file back, removes the files started since, keeps the closed ones. */
static void recover_cuts_back(void)
{
    pgh_file_set s;
    make_dir();
    set_open(&s, PGH_FILE_LAYOUT_PER_TABLE, 4096, 0);
    CHECK_OK(pgh_file__recover(&s, NULL, &e_));
    for (int i = 0; i < 6; i++) /* file 1 full (4), file 2 holds 2 */
        append(&s, "public.a", 1000);
    CHECK_OK(pgh_file__set_sync(&s, &e_));
    pgh_json_state_files st;
    CHECK_OK(pgh_file__set_state(&st, &s, &e_));
    CHECK(st.next_file == 3);
    for (int i = 0; i < 4; i++) /* file 2 to 4 lines, then file 3 */
        append(&s, "public.a", 1000);
    append(&s, "public.b", 500);           /* file 4, a new stream */
    CHECK_OK(pgh_file__set_sync(&s, &e_)); /* written, but the state is not updated */
    pgh_file__set_dispose(&s);
    CHECK(size_of("public.a/00000000000002-0000000001A2B3C4.jsonl") == 4000);
    pgh_file_set r;
    set_open(&r, PGH_FILE_LAYOUT_PER_TABLE, 4096, 0);
    CHECK_OK(pgh_file__recover(&r, &st, &e_));
    CHECK(r.next_file == 3);
    CHECK(size_of("public.a/00000000000001-0000000001A2B3C4.jsonl") == 4000);
    CHECK(size_of("public.a/00000000000002-0000000001A2B3C4.jsonl") == 2000);
    CHECK(count_files("public.a") == 2 && count_files("public.b") == 0);
    append(&r, "public.a", 1000); /* a new file, never the cut one */
    CHECK(size_of("public.a/00000000000003-0000000001A2B3C4.jsonl") == 0);
    pgh_json__state_files_dispose(&st);
    pgh_file__set_dispose(&r);
    remove_dir();
}

/* Data files without a state file belong to another run: refused, nothing touched. */
static void recover_refuses_strays(void)
{
    pgh_file_set s;
    make_dir();
    set_open(&s, PGH_FILE_LAYOUT_SINGLE, 4096, 0);
    CHECK_OK(pgh_file__recover(&s, NULL, &e_));
    append(&s, "", 100);
    CHECK_OK(pgh_file__set_sync(&s, &e_));
    pgh_file__set_dispose(&s);
    set_open(&s, PGH_FILE_LAYOUT_SINGLE, 4096, 0);
    pgh_error err;
    pgh_error_clear(&err);
    CHECK(pgh_file__recover(&s, NULL, &err) == PGH_ECONFIG);
    CHECK(strstr(err.message, "holds data files") != NULL);
    CHECK(count_files("") == 1);
    pgh_file__set_dispose(&s);
    remove_dir();
}

/* pgh_file_remove: the state file always, data files only when asked, other files never. */
static void remove_files(void)
{
    pgh_file_set s;
    make_dir();
    set_open(&s, PGH_FILE_LAYOUT_PER_TABLE, 4096, 0);
    CHECK_OK(pgh_file__recover(&s, NULL, &e_));
    append(&s, "public.a", 100);
    append(&s, "public.b", 100);
    CHECK_OK(pgh_file__set_sync(&s, &e_));
    pgh_file__set_dispose(&s);
    char path[600];
    snprintf(path, sizeof(path), "%s/" PGH_FILE_STATE_NAME, dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL && fclose(f) == 0);
    snprintf(path, sizeof(path), "%s/public.b/notes.txt", dir);
    f = fopen(path, "w");
    CHECK(f != NULL && fclose(f) == 0);
    size_t removed = 9;
    CHECK_OK(pgh_file_remove(&removed, dir, false, &e_));
    CHECK(removed == 0 && size_of(PGH_FILE_STATE_NAME) == -1 && count_files("public.a") == 1);
    CHECK_OK(pgh_file_remove(&removed, dir, true, &e_));
    CHECK(removed == 2 && count_files("public.a") == 0 && count_files("public.b") == 0);
    CHECK(size_of("public.a") == -1);          /* left empty: removed */
    CHECK(size_of("public.b/notes.txt") == 0); /* not pghost's: kept */
    remove_dir();
}

typedef struct test_case {
    const char *name;
    void (*fn)(void);
} test_case;

#define ENTRY(name) {#name, name},
static const test_case cases[] = {CASES(ENTRY)};

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s <case>\n", argv[0]);
        return 2;
    }
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (strcmp(cases[i].name, argv[1]) == 0) {
            cases[i].fn();
            return 0;
        }
    }
    fprintf(stderr, "unknown case %s\n", argv[1]);
    return 2;
}
