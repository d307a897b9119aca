/*
 * Putting the directory back to its last durable state when the file destination opens: see
 * pgh_file__recover in file_set.h.
 *
 * Why this gives exactly once: the pipeline resumes right after the position of the state file,
 * so every line written after that state was written will come again. Those lines are the bytes
 * past each open file's recorded length and the files numbered from the recorded next_file on
 * (started after the state); both go. What stays is every line up to the position, once.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file_set.h"
#include "pghost/file.h"
#include "pghost/log.h"

#define NUMBER_DIGITS 14

bool pgh_file__data_file_number(uint64_t *out, const char *name)
{
    size_t len = strlen(name);
    if (len != NUMBER_DIGITS + 1 + 16 + 6 || name[NUMBER_DIGITS] != '-' ||
        strcmp(name + len - 6, ".jsonl") != 0)
        return false;
    uint64_t n = 0;
    for (int i = 0; i < NUMBER_DIGITS; i++) {
        if (name[i] < '0' || name[i] > '9')
            return false;
        n = n * 10 + (uint64_t)(name[i] - '0');
    }
    *out = n;
    return true;
}

static const pgh_json_state_file *listed(const pgh_json_state_files *state, const char *rel)
{
    for (size_t i = 0; i < state->n; i++)
        if (strcmp(state->files[i].name, rel) == 0)
            return &state->files[i];
    return NULL;
}

/* Cut the file at path (rel in messages) back to length bytes, durably. */
static int cut_back(const pgh_file_set *s, const char *path, const char *rel, uint64_t size,
                    uint64_t length, pgh_error *err)
{
    if (size < length)
        return pgh_error_set(err, PGH_ECONFIG,
                             "file %s/%s holds %" PRIu64 " bytes, fewer than the %" PRIu64
                             " the state file says were durable: it was changed by something "
                             "other than pghost\nHINT: restore the file, or start over in an "
                             "empty file_directory",
                             s->dir, rel, size, length);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return pgh_file__failed(s->dir, rel, "opening", errno, err);
    int rc = 0;
    if (ftruncate(fd, (off_t)length) != 0)
        rc = pgh_file__failed(s->dir, rel, "cutting back", errno, err);
    else if (fsync(fd) != 0)
        rc = pgh_file__failed(s->dir, rel, "syncing", errno, err);
    close(fd);
    if (rc == 0)
        pgh_log(PGH_LOG_INFO, "file",
                "cut %s back from %" PRIu64 " to %" PRIu64 " bytes (lines after the last "
                "durable position, which come again)",
                rel, size, length);
    return rc;
}

typedef struct scan {
    pgh_file_set *s;                   /* borrowed */
    const pgh_json_state_files *state; /* borrowed, NULL: no state file */
    char first_found[600];             /* a data file found without a state file */
    bool removed;                      /* a file was removed from the directory scanned */
} scan;

/* One data file (rel: relative to the set's directory). */
static int one_file(scan *sc, const char *rel, uint64_t number, pgh_error *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", sc->s->dir, rel);
    if (sc->state == NULL) {
        if (sc->first_found[0] == '\0')
            snprintf(sc->first_found, sizeof(sc->first_found), "%s", rel);
        return 0;
    }
    if (number >= sc->state->next_file) {
        if (unlink(path) != 0)
            return pgh_file__failed(sc->s->dir, rel, "removing", errno, err);
        pgh_log(PGH_LOG_INFO, "file",
                "removed %s (started after the last durable position; its lines come again)", rel);
        sc->removed = true;
        return 0;
    }
    const pgh_json_state_file *f = listed(sc->state, rel);
    struct stat st;
    if (f == NULL || stat(path, &st) != 0 || (uint64_t)st.st_size == f->length)
        return 0; /* a complete file, or already at its durable length */
    return cut_back(sc->s, path, rel, (uint64_t)st.st_size, f->length, err);
}

/* Every entry of dir/sub (sub "" for the directory itself): data files, and one level of
 * stream directories below the top. */
static int scan_dir(scan *sc, const char *sub, pgh_error *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s%s%s", sc->s->dir, sub[0] ? "/" : "", sub);
    DIR *d = opendir(path);
    if (d == NULL)
        return pgh_file__failed(sc->s->dir, sub, "reading the directory", errno, err);
    int rc = 0;
    bool removed_before = sc->removed;
    sc->removed = false;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char rel[600];
        snprintf(rel, sizeof(rel), "%s%s%s", sub, sub[0] ? "/" : "", e->d_name);
        uint64_t number = 0;
        struct stat st;
        if (pgh_file__data_file_number(&number, e->d_name))
            rc = one_file(sc, rel, number, err);
        else if (sub[0] == '\0' && fstatat(dirfd(d), e->d_name, &st, 0) == 0 && S_ISDIR(st.st_mode))
            rc = scan_dir(sc, e->d_name, err);
    }
    closedir(d);
    if (rc == 0 && sc->removed)
        rc = pgh_file__sync_dir(sc->s->dir, sub, err);
    sc->removed = removed_before;
    return rc;
}

/* The directory exists: created (one level, its parent synced) when missing. */
static int make_dir(const pgh_file_set *s, pgh_error *err)
{
    if (mkdir(s->dir, 0755) == 0)
        return pgh_file__sync_dir(s->dir, "..", err);
    if (errno != EEXIST)
        return pgh_file__failed(s->dir, "", "creating the directory", errno, err);
    struct stat st;
    if (stat(s->dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return pgh_error_set(err, PGH_ECONFIG,
                             "file_directory %s is not a directory: name a directory (it is "
                             "created when missing)",
                             s->dir);
    return 0;
}

int pgh_file__recover(pgh_file_set *s, const pgh_json_state_files *state, pgh_error *err)
{
    int rc = make_dir(s, err);
    scan sc = {.s = s, .state = state};
    if (rc == 0)
        rc = scan_dir(&sc, "", err);
    if (rc != 0)
        return rc;
    if (state == NULL && sc.first_found[0] != '\0')
        return pgh_error_set(err, PGH_ECONFIG,
                             "file_directory %s holds data files (%s, ...) but no state file "
                             "(" PGH_FILE_STATE_NAME
                             "): they are from another run\nHINT: move them "
                             "away or delete them, or restore the state file, then start again",
                             s->dir, sc.first_found);
    s->next_file = state && state->next_file > 0 ? state->next_file : 1;
    return 0;
}
