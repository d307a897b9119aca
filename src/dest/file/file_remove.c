/*
 * pghost teardown for the file destination: pgh_file_remove of pghost/file.h. Only names pghost
 * writes are removed: the state file, its temporary file, data files (file_set.h) and, one
 * level down, the stream directories they leave empty.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file_set.h"
#include "pghost/file.h"

/* Remove path unless it is missing. */
static int remove_one(const char *dir, const char *rel, pgh_error *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    if (unlink(path) != 0 && errno != ENOENT)
        return pgh_file__failed(dir, rel, "removing", errno, err);
    return 0;
}

/* The data files of dir/sub (sub "" for dir itself, whose stream directories are visited). */
static int remove_data(size_t *removed, const char *dir, const char *sub, pgh_error *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s%s%s", dir, sub[0] ? "/" : "", sub);
    DIR *d = opendir(path);
    if (d == NULL)
        return errno == ENOENT ? 0 : pgh_file__failed(dir, sub, "reading", errno, err);
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        char rel[600];
        snprintf(rel, sizeof(rel), "%s%s%s", sub, sub[0] ? "/" : "", e->d_name);
        uint64_t number = 0;
        struct stat st;
        if (e->d_name[0] == '.')
            continue;
        if (pgh_file__data_file_number(&number, e->d_name)) {
            rc = remove_one(dir, rel, err);
            *removed += rc == 0;
        } else if (sub[0] == '\0' && fstatat(dirfd(d), e->d_name, &st, 0) == 0 &&
                   S_ISDIR(st.st_mode)) {
            rc = remove_data(removed, dir, e->d_name, err);
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            if (rc == 0)
                rmdir(path); /* best effort: a directory holding other files stays */
        }
    }
    closedir(d);
    return rc;
}

int pgh_file_remove(size_t *removed, const char *directory, bool data_files, pgh_error *err)
{
    *removed = 0;
    int rc = remove_one(directory, PGH_FILE_STATE_NAME, err);
    if (rc == 0)
        rc = remove_one(directory, PGH_FILE_STATE_NAME ".tmp", err);
    if (rc == 0 && data_files)
        rc = remove_data(removed, directory, "", err);
    return rc;
}
