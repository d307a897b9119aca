/*
 * The data files of the file destination: see file_set.h.
 *
 * A file is created with O_EXCL (a name is never reused: the counter only grows), and its
 * directory is fsynced right after, so that a file whose lines are reported durable is itself
 * durable in its directory. A rotated file is written out and fsynced before it is closed.
 */
#include "file_set.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/clock.h"

int pgh_file__failed(const char *dir, const char *name, const char *doing, int errnum,
                     pgh_error *err)
{
    char reason[128] = "unknown error";
    if (errnum != 0)
        strerror_r(errnum, reason, sizeof(reason));
    return pgh_error_set(err, PGH_ESINK,
                         "file %s/%s: %s failed: %s\nHINT: lines up to the last durable position "
                         "are kept; fix the directory and start again to resume after them",
                         dir, name, doing, reason);
}

int pgh_file__sync_dir(const char *dir, const char *sub, pgh_error *err)
{
    char path[4096];
    int n = snprintf(path, sizeof(path), "%s%s%s", dir, sub[0] ? "/" : "", sub);
    if (n < 0 || (size_t)n >= sizeof(path))
        return pgh_error_set(err, PGH_ESINK, "directory %s/%s: path too long", dir, sub);
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return pgh_file__failed(dir, sub, "opening the directory", errno, err);
    int rc = 0;
    if (fsync(fd) != 0 && errno != EINVAL)
        rc = pgh_file__failed(dir, sub, "syncing the directory", errno, err);
    close(fd);
    return rc;
}

/* ---- lifecycle ---- */

int pgh_file__set_init(pgh_file_set *s, const char *dir, pgh_file_layout layout,
                       uint64_t rotate_bytes, int64_t rotate_seconds, size_t max_lines,
                       pgh_error *err)
{
    memset(s, 0, sizeof(*s));
    s->dir = strdup(dir);
    if (s->dir == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "file destination: out of memory");
    s->layout = layout;
    s->rotate_bytes = rotate_bytes;
    s->rotate_ms = rotate_seconds * 1000;
    s->max_lines = max_lines > 0 ? max_lines : 1;
    return 0;
}

static void out_free(pgh_file_out *o)
{
    if (o->fd >= 0)
        close(o->fd);
    free(o->stream);
    free(o->name);
    free(o->buf);
    memset(o, 0, sizeof(*o));
    o->fd = -1;
}

void pgh_file__set_dispose(pgh_file_set *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->nouts; i++)
        out_free(&s->outs[i]);
    free(s->outs);
    free(s->dir);
    memset(s, 0, sizeof(*s));
}

/* ---- names ---- */

/* Append name to b (cap bytes, *n used), bytes outside [A-Za-z0-9_-] as %XX. */
static void put_escaped(char *b, size_t cap, size_t *n, const char *name)
{
    for (const unsigned char *p = (const unsigned char *)name; *p && *n + 4 < cap; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || *p == '_' || *p == '-';
        *n += (size_t)snprintf(b + *n, cap - *n, plain ? "%c" : "%%%02X", *p);
    }
}

int pgh_file__stream_name(char **out, const pgh_file_set *s, const char *schema, const char *table,
                          pgh_error *err)
{
    /* names are at most 63 bytes each in PostgreSQL: 3 * (63 + 63) + 2 fits */
    char b[512] = "";
    size_t n = 0;
    if (s->layout == PGH_FILE_LAYOUT_PER_TABLE) {
        put_escaped(b, sizeof(b), &n, schema ? schema : "");
        b[n++] = '.';
        b[n] = '\0';
        put_escaped(b, sizeof(b), &n, table ? table : "");
    }
    *out = strdup(b);
    return *out ? 0 : pgh_error_set(err, PGH_ENOMEM, "file destination: out of memory");
}

/* ---- one file ---- */

/* Write len bytes of data to o's file. */
static int write_all(const pgh_file_set *s, const pgh_file_out *o, const char *data, size_t len,
                     pgh_error *err)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(o->fd, data + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return pgh_file__failed(s->dir, o->name, "writing", n < 0 ? errno : ENOSPC, err);
        done += (size_t)n;
    }
    return 0;
}

/* Write the whole buffer out. */
static int out_write(const pgh_file_set *s, pgh_file_out *o, pgh_error *err)
{
    int rc = write_all(s, o, o->buf, o->buf_len, err);
    o->buf_len = 0;
    o->buf_lines = 0;
    return rc;
}

/* Write out and fsync: everything appended is durable. */
static int out_sync(const pgh_file_set *s, pgh_file_out *o, pgh_error *err)
{
    int rc = out_write(s, o, err);
    if (rc != 0 || o->durable == o->length)
        return rc;
    if (fsync(o->fd) != 0)
        return pgh_file__failed(s->dir, o->name, "syncing", errno, err);
    o->durable = o->length;
    return 0;
}

/* Close outs[i] durably and remove it from the set. */
static int out_close(pgh_file_set *s, size_t i, pgh_error *err)
{
    int rc = out_sync(s, &s->outs[i], err);
    if (rc != 0)
        return rc;
    out_free(&s->outs[i]);
    s->outs[i] = s->outs[--s->nouts];
    s->changed = true;
    return 0;
}

/* The stream's directory exists (created, and its parent synced, when it did not). */
static int stream_dir(const pgh_file_set *s, const char *stream, pgh_error *err)
{
    if (stream[0] == '\0')
        return 0;
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", s->dir, stream);
    if (mkdir(path, 0755) != 0)
        return errno == EEXIST ? 0 : pgh_file__failed(s->dir, stream, "creating", errno, err);
    return pgh_file__sync_dir(s->dir, "", err);
}

/* Start the stream's next file: created, its directory synced, appended to outs. */
static int out_start(pgh_file_set *s, const char *stream, pgh_lsn first_lsn, pgh_error *err)
{
    if (s->nouts == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        pgh_file_out *grown = realloc(s->outs, cap * sizeof(*grown));
        if (grown == NULL)
            return pgh_error_set(err, PGH_ENOMEM, "file destination: out of memory");
        s->outs = grown;
        s->cap = cap;
    }
    int rc = stream_dir(s, stream, err);
    if (rc != 0)
        return rc;
    pgh_file_out o = {.fd = -1, .opened_ms = pgh_clock_ms()};
    char name[600];
    snprintf(name, sizeof(name), "%s%s%014" PRIu64 "-%016" PRIX64 ".jsonl", stream,
             stream[0] ? "/" : "", s->next_file, (uint64_t)first_lsn);
    o.stream = strdup(stream);
    o.name = strdup(name);
    if (o.stream == NULL || o.name == NULL) {
        out_free(&o);
        return pgh_error_set(err, PGH_ENOMEM, "file destination: out of memory");
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", s->dir, name);
    o.fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (o.fd < 0) {
        rc = pgh_file__failed(s->dir, name, "creating", errno, err);
        out_free(&o);
        return rc;
    }
    s->next_file++;
    s->outs[s->nouts++] = o;
    s->changed = true;
    return pgh_file__sync_dir(s->dir, stream, err);
}

/* ---- appending ---- */

static bool too_old(const pgh_file_set *s, const pgh_file_out *o, int64_t now_ms)
{
    return s->rotate_ms > 0 && now_ms - o->opened_ms >= s->rotate_ms;
}

/* The index of the stream's open file, starting a new one when there is none or the line
 * would take it past a limit. */
static int out_for(size_t *out, pgh_file_set *s, const char *stream, pgh_lsn first_lsn, size_t len,
                   pgh_error *err)
{
    int rc = 0;
    for (size_t i = 0; i < s->nouts; i++) {
        pgh_file_out *o = &s->outs[i];
        if (strcmp(o->stream, stream) != 0)
            continue;
        bool full = o->length > 0 && o->length + len > s->rotate_bytes;
        if (!full && !too_old(s, o, pgh_clock_ms())) {
            *out = i;
            return 0;
        }
        rc = out_close(s, i, err);
        break;
    }
    if (rc == 0)
        rc = out_start(s, stream, first_lsn, err);
    *out = s->nouts - 1;
    return rc;
}

/* Room for len more bytes in o's buffer (len < PGH_FILE_BUFFER_BYTES, buffer written out when
 * it would not fit): grown by doubling from PGH_FILE_BUFFER_MIN_BYTES. */
static int make_room(pgh_file_out *o, size_t len, pgh_error *err)
{
    size_t cap = o->buf_cap ? o->buf_cap : PGH_FILE_BUFFER_MIN_BYTES;
    while (cap < o->buf_len + len)
        cap *= 2;
    if (cap == o->buf_cap)
        return 0;
    char *grown = realloc(o->buf, cap);
    if (grown == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "file destination: out of memory");
    o->buf = grown;
    o->buf_cap = cap;
    return 0;
}

/* Add the line to o's buffer, writing it out at max_lines lines. */
static int buffer_line(const pgh_file_set *s, pgh_file_out *o, const char *line, size_t len,
                       pgh_error *err)
{
    int rc = make_room(o, len, err);
    if (rc != 0)
        return rc;
    memcpy(o->buf + o->buf_len, line, len);
    o->buf_len += len;
    return ++o->buf_lines >= s->max_lines ? out_write(s, o, err) : 0;
}

int pgh_file__append(pgh_file_set *s, const char *stream, pgh_lsn first_lsn, const char *line,
                     size_t len, pgh_error *err)
{
    size_t i = 0;
    int rc = out_for(&i, s, stream, first_lsn, len, err);
    if (rc != 0)
        return rc;
    pgh_file_out *o = &s->outs[i];
    if (o->buf_len + len > PGH_FILE_BUFFER_BYTES)
        rc = out_write(s, o, err);
    if (rc != 0)
        return rc;
    if (len >= PGH_FILE_BUFFER_BYTES) /* a line larger than the buffer goes out on its own */
        rc = write_all(s, o, line, len, err);
    else
        rc = buffer_line(s, o, line, len, err);
    if (rc == 0) {
        o->length += len;
        s->changed = true;
    }
    return rc;
}

/* ---- syncing and the state ---- */

int pgh_file__set_sync(pgh_file_set *s, pgh_error *err)
{
    for (size_t i = 0; i < s->nouts; i++) {
        pgh_file_out *o = &s->outs[i];
        int rc = out_sync(s, o, err);
        if (rc != 0)
            return rc;
        /* memory follows the tables written lately, not every table ever written */
        free(o->buf);
        o->buf = NULL;
        o->buf_cap = 0;
    }
    int64_t now = pgh_clock_ms();
    for (size_t i = s->nouts; i-- > 0;) {
        if (!too_old(s, &s->outs[i], now))
            continue;
        int rc = out_close(s, i, err); /* durable already: closing writes nothing */
        if (rc != 0)
            return rc;
    }
    return 0;
}

int pgh_file__set_state(pgh_json_state_files *out, pgh_file_set *s, pgh_error *err)
{
    memset(out, 0, sizeof(*out));
    out->next_file = s->next_file;
    out->files = calloc(s->nouts + 1, sizeof(*out->files));
    if (out->files == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "file destination: out of memory");
    for (size_t i = 0; i < s->nouts; i++) {
        out->files[i].name = strdup(s->outs[i].name);
        out->files[i].length = s->outs[i].durable;
        out->n++;
        if (out->files[i].name == NULL) {
            pgh_json__state_files_dispose(out);
            return pgh_error_set(err, PGH_ENOMEM, "file destination: out of memory");
        }
    }
    s->changed = false;
    return 0;
}
