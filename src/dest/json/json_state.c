/*
 * The JSON-lines destination's state file: see json_state.h.
 *
 * jansson builds and parses the object, so any resume token (quotes, newlines, any UTF-8)
 * round-trips exactly. The replacement follows the usual durable-rename steps: write and fsync
 * the temporary file, rename it over the old one, fsync the directory so the rename itself
 * survives a crash.
 */
#include "json_state.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- writing ---- */

/* PGH_ESINK: "state file P: <doing> failed: <reason>", one line. */
static int write_failed(const char *path, const char *doing, int errnum, pgh_error *err)
{
    char reason[128] = "unknown error";
    if (errnum != 0)
        strerror_r(errnum, reason, sizeof(reason));
    return pgh_error_set(err, PGH_ESINK, "state file %s: %s failed: %s", path, doing, reason);
}

void pgh_json__state_files_dispose(pgh_json_state_files *f)
{
    if (f == NULL)
        return;
    for (size_t i = 0; i < f->n; i++)
        free(f->files[i].name);
    free(f->files);
    memset(f, 0, sizeof(*f));
}

/* Add "next_file" and "files" to obj; false when out of memory (or a name is not UTF-8). */
static bool add_files(json_t *obj, const pgh_json_state_files *files)
{
    json_t *map = json_object();
    bool ok = map != NULL && json_object_set_new(obj, "next_file",
                                                 json_integer((json_int_t)files->next_file)) == 0;
    for (size_t i = 0; ok && i < files->n; i++)
        ok = json_object_set_new(map, files->files[i].name,
                                 json_integer((json_int_t)files->files[i].length)) == 0;
    if (!ok) {
        json_decref(map);
        return false;
    }
    return json_object_set_new(obj, "files", map) == 0;
}

/* *out: the file's text (malloc'd), one line ending in a newline. */
static int state_text(char **out, const char *path, const char *slot, const pgh_position *pos,
                      const pgh_json_state_files *files, json_t *extra, pgh_error *err)
{
    *out = NULL;
    char lsn[32];
    char checkpoint[32];
    char phase[PGH_POSITION_PHASE_MAX];
    snprintf(lsn, sizeof(lsn), PGH_LSN_FMT, PGH_LSN_ARGS(pos->lsn));
    snprintf(checkpoint, sizeof(checkpoint), PGH_LSN_FMT, PGH_LSN_ARGS(pos->checkpoint));
    snprintf(phase, sizeof(phase), "%.*s", (int)(sizeof(phase) - 1), pos->phase);
    json_error_t jerr;
    json_t *obj = json_pack_ex(&jerr, 0, "{s:i,s:s,s:s,s:s,s:s,s:s?}", "version",
                               PGH_JSON_STATE_VERSION, "slot", slot, "lsn", lsn, "checkpoint",
                               checkpoint, "phase", phase, "resume", pos->resume);
    if (obj == NULL) /* a resume token or slot name that is not UTF-8 */
        return pgh_error_set(err, PGH_ESINK, "state file %s: the position cannot be written: %s",
                             path, jerr.text);
    if ((files != NULL && !add_files(obj, files)) ||
        (extra != NULL && json_object_update_missing(obj, extra) != 0)) {
        json_decref(obj);
        return pgh_error_set(err, PGH_ENOMEM, "state file %s: out of memory", path);
    }
    char *text = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    size_t len = text ? strlen(text) : 0;
    char *line = text ? realloc(text, len + 2) : NULL;
    if (line == NULL) {
        free(text);
        return pgh_error_set(err, PGH_ENOMEM, "state file %s: out of memory", path);
    }
    memcpy(line + len, "\n", 2);
    *out = line;
    return 0;
}

/* Write text to a new file at tmp and make it durable. */
static int write_synced(const char *tmp, const char *text, pgh_error *err)
{
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        return write_failed(tmp, "creating", errno, err);
    size_t len = strlen(text);
    int rc = 0;
    errno = 0;
    if (fwrite(text, 1, len, f) != len || fflush(f) != 0)
        rc = write_failed(tmp, "writing", errno, err);
    else if (fsync(fileno(f)) != 0)
        rc = write_failed(tmp, "syncing", errno, err);
    if (fclose(f) != 0 && rc == 0)
        rc = write_failed(tmp, "closing", errno, err);
    return rc;
}

/* fsync the directory holding path, so that a rename into it is durable. Some file systems
 * cannot sync a directory (EINVAL) and need not: PostgreSQL's fsync_fname ignores it too. */
static int sync_dir_of(const char *path, pgh_error *err)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash == NULL   ? strdup(".")
                : slash == path ? strdup("/")
                                : strndup(path, (size_t)(slash - path));
    if (dir == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "state file %s: out of memory", path);
    int rc = 0;
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        rc = write_failed(path, "opening its directory", errno, err);
    else if (fsync(fd) != 0 && errno != EINVAL)
        rc = write_failed(path, "syncing its directory", errno, err);
    if (fd >= 0)
        close(fd);
    free(dir);
    return rc;
}

static int write_state(const char *path, const char *slot, const pgh_position *pos,
                       const pgh_json_state_files *files, json_t *extra, pgh_error *err)
{
    char *text = NULL;
    char *tmp = NULL;
    int rc = 0;
    size_t tmp_len = strlen(path) + sizeof(".tmp");
    tmp = malloc(tmp_len);
    if (tmp == NULL) {
        rc = pgh_error_set(err, PGH_ENOMEM, "state file %s: out of memory", path);
        goto done;
    }
    snprintf(tmp, tmp_len, "%s.tmp", path);
    rc = state_text(&text, path, slot, pos, files, extra, err);
    if (rc != 0)
        goto done;
    rc = write_synced(tmp, text, err);
    if (rc != 0) {
        unlink(tmp); /* best effort: a stale .tmp is harmless, it is never read */
        goto done;
    }
    if (rename(tmp, path) != 0) {
        rc = write_failed(path, "replacing it", errno, err);
        unlink(tmp);
        goto done;
    }
    rc = sync_dir_of(path, err);
done:
    free(text);
    free(tmp);
    return rc;
}

int pgh_json__state_write(const char *path, const char *slot, const pgh_position *pos,
                          const pgh_json_state_files *files, pgh_error *err)
{
    return write_state(path, slot, pos, files, NULL, err);
}

int pgh_json__state_write_extra(const char *path, const char *slot, const pgh_position *pos,
                                json_t *extra, pgh_error *err)
{
    return write_state(path, slot, pos, NULL, extra, err);
}

/* ---- reading ---- */

#define STATE_HINT                                                                                 \
    "\nHINT: the file is written by pghost only; restore it, or delete it to start over (the "     \
    "existing rows are then written again)"

/* The members of a parsed state file, borrowed from the json object. */
typedef struct state_fields {
    int version;
    const char *slot;
    const char *lsn;
    const char *checkpoint;
    const char *phase;
    json_t *resume; /* string or null */
} state_fields;

/* Check and convert f into *out (out->resume malloc'd). */
static int take_fields(pgh_position *out, const state_fields *f, const char *path, const char *slot,
                       pgh_error *err)
{
    if (f->version != PGH_JSON_STATE_VERSION)
        return pgh_error_set(
            err, PGH_ECONFIG,
            "state file %s has version %d; this pghost reads version %d" STATE_HINT, path,
            f->version, PGH_JSON_STATE_VERSION);
    if (strcmp(f->slot, slot) != 0)
        return pgh_error_set(err, PGH_ECONFIG,
                             "state file %s belongs to slot %s, not %s: it holds the position of "
                             "another replication\nHINT: give each slot its own state file, or "
                             "delete %s to start slot %s over (its existing rows are then "
                             "written again)",
                             path, f->slot, slot, path, slot);
    pgh_position pos = {0};
    if (pgh_lsn_parse(&pos.lsn, f->lsn) != 0 || pgh_lsn_parse(&pos.checkpoint, f->checkpoint) != 0)
        return pgh_error_set(err, PGH_ECONFIG,
                             "state file %s is garbled: lsn \"%s\" or checkpoint \"%s\" is not an "
                             "LSN" STATE_HINT,
                             path, f->lsn, f->checkpoint);
    if (strlen(f->phase) >= sizeof(pos.phase))
        return pgh_error_set(err, PGH_ECONFIG,
                             "state file %s is garbled: phase \"%.32s\" is too long" STATE_HINT,
                             path, f->phase);
    memcpy(pos.phase, f->phase, strlen(f->phase) + 1);
    if (json_is_string(f->resume)) {
        /* A C string cannot hold a NUL: a token with one is not a token pghost wrote. */
        if (strlen(json_string_value(f->resume)) != json_string_length(f->resume))
            return pgh_error_set(err, PGH_ECONFIG,
                                 "state file %s is garbled: resume holds a NUL" STATE_HINT, path);
        pos.resume = strdup(json_string_value(f->resume));
        if (pos.resume == NULL)
            return pgh_error_set(err, PGH_ENOMEM, "state file %s: out of memory", path);
    } else if (!json_is_null(f->resume)) {
        return pgh_error_set(err, PGH_ECONFIG,
                             "state file %s is garbled: resume is neither a string nor "
                             "null" STATE_HINT,
                             path);
    }
    *out = pos;
    return 0;
}

/* "next_file" and "files" of obj into *out (empty when obj has neither). */
static int take_files(pgh_json_state_files *out, json_t *obj, const char *path, pgh_error *err)
{
    json_t *next = json_object_get(obj, "next_file");
    json_t *map = json_object_get(obj, "files");
    pgh_json_state_files f = {0};
    if (next == NULL && map == NULL) {
        *out = f;
        return 0;
    }
    if (!json_is_integer(next) || json_integer_value(next) < 0 || !json_is_object(map))
        return pgh_error_set(err, PGH_ECONFIG,
                             "state file %s is garbled: next_file or files is missing or not a "
                             "number and an object" STATE_HINT,
                             path);
    f.next_file = (uint64_t)json_integer_value(next);
    f.files = calloc(json_object_size(map) + 1, sizeof(*f.files));
    if (f.files == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "state file %s: out of memory", path);
    const char *name;
    json_t *len;
    json_object_foreach(map, name, len)
    {
        if (!json_is_integer(len) || json_integer_value(len) < 0) {
            pgh_json__state_files_dispose(&f);
            return pgh_error_set(err, PGH_ECONFIG,
                                 "state file %s is garbled: the length of %s is not a "
                                 "number" STATE_HINT,
                                 path, name);
        }
        f.files[f.n].name = strdup(name);
        f.files[f.n].length = (uint64_t)json_integer_value(len);
        if (f.files[f.n++].name == NULL) {
            pgh_json__state_files_dispose(&f);
            return pgh_error_set(err, PGH_ENOMEM, "state file %s: out of memory", path);
        }
    }
    *out = f;
    return 0;
}

static int read_state(pgh_position *out, bool *found, pgh_json_state_files *files,
                      json_t **extra, const char *path, const char *slot, pgh_error *err)
{
    *found = false;
    if (extra != NULL)
        *extra = NULL;
    FILE *f = fopen(path, "r");
    if (f == NULL && errno == ENOENT)
        return 0;
    if (f == NULL) {
        char reason[128] = "unknown error";
        strerror_r(errno, reason, sizeof(reason));
        return pgh_error_set(err, PGH_ECONFIG, "cannot read state file %s: %s", path, reason);
    }
    json_error_t jerr;
    json_t *obj = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
    fclose(f);
    if (obj == NULL)
        return pgh_error_set(err, PGH_ECONFIG, "state file %s is garbled: line %d: %s" STATE_HINT,
                             path, jerr.line, jerr.text);
    state_fields fields = {0};
    int rc = json_unpack_ex(obj, &jerr, 0, "{s:i,s:s,s:s,s:s,s:s,s:o}", "version", &fields.version,
                            "slot", &fields.slot, "lsn", &fields.lsn, "checkpoint",
                            &fields.checkpoint, "phase", &fields.phase, "resume", &fields.resume);
    if (rc != 0)
        rc = pgh_error_set(err, PGH_ECONFIG, "state file %s is garbled: %s" STATE_HINT, path,
                           jerr.text);
    else
        rc = take_fields(out, &fields, path, slot, err);
    if (rc == 0 && files != NULL) {
        rc = take_files(files, obj, path, err);
        if (rc != 0) {
            free(out->resume);
            out->resume = NULL;
        }
    }
    if (rc == 0 && extra != NULL)
        *extra = json_incref(obj);
    json_decref(obj);
    *found = rc == 0;
    return rc;
}

int pgh_json__state_read(pgh_position *out, bool *found, const char *path, const char *slot,
                         pgh_json_state_files *files, pgh_error *err)
{
    return read_state(out, found, files, NULL, path, slot, err);
}

int pgh_json__state_read_extra(pgh_position *out, bool *found, json_t **extra, const char *path,
                               const char *slot, pgh_error *err)
{
    return read_state(out, found, NULL, extra, path, slot, err);
}
