/*
 * tests/fuzz/corpus_driver.c - run a libFuzzer target over saved inputs, without libFuzzer.
 *
 * Linked with one fuzz target (any file defining LLVMFuzzerTestOneInput) into "<name>_corpus",
 * so that every corpus also runs as an ordinary ctest entry on any compiler, and under ASan
 * when the build has PGH_SANITIZE=ON.
 *
 *   usage: <name>_corpus <dir-or-file>...
 *
 * Directories are read one level deep, in name order, skipping dot files. Each input is handed
 * over in a buffer of exactly its size so that ASan sees any read past the end. Exits non-zero
 * when an input cannot be read or when no input was found (a wrong path must not pass quietly);
 * a failing input crashes or aborts inside the target, which ctest reports with its name below.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Read path into a new buffer of exactly its size (*out, free()); 0 or -1. */
static int read_input(const char *path, uint8_t **out, size_t *len)
{
    struct stat st;
    FILE *f = fopen(path, "rb");
    *out = NULL;
    if (f == NULL || fstat(fileno(f), &st) != 0 || st.st_size < 0) {
        if (f != NULL)
            fclose(f);
        return -1;
    }
    *len = (size_t)st.st_size;
    *out = malloc(*len > 0 ? *len : 1);
    int rc = *out != NULL && fread(*out, 1, *len, f) == *len ? 0 : -1;
    fclose(f);
    if (rc != 0) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

static int run_file(const char *path)
{
    uint8_t *data = NULL;
    size_t len = 0;
    if (read_input(path, &data, &len) != 0) {
        fprintf(stderr, "cannot read %s\n", path);
        return -1;
    }
    fprintf(stderr, "running %s (%zu bytes)\n", path, len);
    LLVMFuzzerTestOneInput(data, len);
    free(data);
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Run every regular file in dir; adds the number run to *count. */
static int run_dir(const char *dir, size_t *count)
{
    DIR *d = opendir(dir);
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    if (d == NULL) {
        fprintf(stderr, "cannot open directory %s\n", dir);
        return -1;
    }
    for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **grown = realloc(names, cap * sizeof(*names));
            if (grown == NULL) {
                rc = -1;
                break;
            }
            names = grown;
        }
        size_t need = strlen(dir) + strlen(e->d_name) + 2;
        names[n] = malloc(need);
        if (names[n] == NULL) {
            rc = -1;
            break;
        }
        snprintf(names[n++], need, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    if (n > 0)
        qsort(names, n, sizeof(*names), by_name);
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (rc == 0 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
            rc = run_file(names[i]);
            *count += rc == 0;
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    size_t count = 0;
    if (argc < 2) {
        fprintf(stderr, "usage: %s <corpus-dir-or-file>...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        struct stat st;
        int rc;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "cannot find %s\n", argv[i]);
            return 1;
        }
        if (S_ISDIR(st.st_mode)) {
            rc = run_dir(argv[i], &count);
        } else {
            rc = run_file(argv[i]);
            count += rc == 0;
        }
        if (rc != 0)
            return 1;
    }
    if (count == 0) {
        fprintf(stderr, "no inputs found\n");
        return 1;
    }
    fprintf(stderr, "ran %zu inputs\n", count);
    return 0;
}
