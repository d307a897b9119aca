/*
 * The JSON-lines writer: see json_lines.h, and docs/json-lines.md for the format.
 *
 * Per change: BEGIN records the transaction's fields (preformatted, they repeat on every line);
 * a row change or TRUNCATE is built whole in one reused buffer and written with one fwrite;
 * COMMIT moves the position that a flush confirms once fflush() has succeeded. Values are typed
 * in json_value.c.
 */
#include "json_lines.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "json_value.h"

/* A line buffer grown past this by one big row is released after the line, so one large value
 * does not pin its memory for the rest of the run. */
#define LINE_KEEP_BYTES ((size_t)1 << 20)

/* Seconds from 1970-01-01 to 2000-01-01, PostgreSQL's epoch. */
#define PG_EPOCH_UNIX_SECS INT64_C(946684800)

/* The parts of an INSERT, UPDATE or DELETE that shape its line. */
typedef struct row_change {
    const pgh_relation *rel; /* borrowed from the change */
    const char *op;          /* "insert", "update", "delete" */
    const pgh_tuple *newtup; /* borrowed; NULL for DELETE */
    const pgh_tuple *oldtup; /* borrowed; NULL when no old row was sent */
    char old_kind;           /* 'K', 'O', or 0 when no old row was sent */
} row_change;

/* ---- the output stream ---- */

static const char *out_name(const pgh_json_lines *s)
{
    return s->out_name ? s->out_name : "the output";
}

/* Record a failed write, flush or sync (errnum from errno, 0 when unknown); the sink stops. */
static int stream_failed(pgh_json_lines *s, const char *doing, int errnum, pgh_error *err)
{
    char reason[128] = "unknown error";
    if (errnum != 0)
        strerror_r(errnum, reason, sizeof(reason));
    s->failed = true;
    if (errnum == EPIPE)
        return pgh_error_set(err, PGH_ESINK,
                             "%s was closed: %s\nDETAIL: the program reading the JSON lines "
                             "stopped reading.\nHINT: transactions up to the last confirmed "
                             "position were delivered; start again with a reader and pghost "
                             "resumes after them.",
                             out_name(s), reason);
    return pgh_error_set(err, PGH_ESINK,
                         "%s %s failed: %s\nHINT: transactions up to the last confirmed position "
                         "were delivered; fix the output and start again to resume after them.",
                         doing, out_name(s), reason);
}

int pgh_json__check(const pgh_json_lines *s, pgh_error *err)
{
    if (!s->failed)
        return 0;
    return pgh_error_set(err, PGH_ESINK, "writing to %s failed earlier; nothing more is written",
                         out_name(s));
}

/* Terminate the line and hand it to stdio in one fwrite. */
static int emit_line(pgh_json_lines *s, pgh_error *err)
{
    pgh_buf_putc(&s->line, '\n');
    if (pgh_buf_failed(&s->line))
        return pgh_error_set(err, PGH_ENOMEM, "out of memory building a JSON line (%zu bytes)",
                             s->line.len);
    int rc = 0;
    if (s->emit != NULL) {
        rc = s->emit(s->emit_payload, s->line_rel, s->line.data, s->line.len, &s->at, err);
        s->failed = rc != 0;
    } else {
        errno = 0;
        size_t n = fwrite(s->line.data, 1, s->line.len, s->out);
        rc = n == s->line.len ? 0 : stream_failed(s, "writing to", errno, err);
    }
    if (s->line.cap > LINE_KEEP_BYTES) {
        pgh_buf_dispose(&s->line);
        pgh_buf_init(&s->line, 0);
    }
    return rc;
}

/* fsync when the output is a regular file: flush() promises durability, and the source will
 * release the WAL once the position is confirmed. Pipes and terminals have nothing to sync. */
static int sync_if_file(pgh_json_lines *s, pgh_error *err)
{
    if (s->out == NULL)
        return 0;
    int fd = fileno(s->out);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    if (fsync(fd) != 0)
        return stream_failed(s, "syncing", errno, err);
    return 0;
}

/* The last byte of the regular file open on fd (size bytes), through a second, read-only
 * descriptor when fd is write-only (`>>`); false when it cannot be read. */
static bool last_byte(char *out, int fd, off_t size)
{
    if (pread(fd, out, 1, size - 1) == 1)
        return true;
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    int rfd = open(path, O_RDONLY | O_CLOEXEC);
    if (rfd < 0)
        return false;
    bool ok = pread(rfd, out, 1, size - 1) == 1;
    close(rfd);
    return ok;
}

int pgh_json__start(pgh_json_lines *s, pgh_error *err)
{
    if (s->out == NULL)
        return 0;
    int fd = fileno(s->out);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0)
        return 0;
    int flags = fcntl(fd, F_GETFL);
    bool at_end = (flags >= 0 && (flags & O_APPEND)) || lseek(fd, 0, SEEK_CUR) == st.st_size;
    char last = '\n';
    if (!at_end || !last_byte(&last, fd, st.st_size) || last == '\n')
        return 0;
    /* a run killed in the middle of a line: end that line, so that ours start on their own */
    errno = 0;
    if (fputc('\n', s->out) == EOF || fflush(s->out) != 0)
        return stream_failed(s, "writing to", errno, err);
    return 0;
}

/* ---- line pieces ---- */

static bool is_mapped(const pgh_json_lines *s, const pgh_relation *rel)
{
    if (s->ntables == 0)
        return true;
    const char *nsp = rel->nspname ? rel->nspname : "";
    const char *name = rel->relname ? rel->relname : "";
    for (size_t i = 0; i < s->ntables; i++) {
        const pgh_table_map *t = &s->tables[i];
        if (t->source_schema && t->source_table && strcmp(t->source_schema, nsp) == 0 &&
            strcmp(t->source_table, name) == 0)
            return true;
    }
    return false;
}

/* "commit_time" value from microseconds since 2000-01-01 UTC: "2026-11-23T19:04:05.123456Z". */
static void format_time(char *out, size_t outlen, int64_t pg_usecs)
{
    int64_t secs = pg_usecs / 1000000;
    int64_t usecs = pg_usecs % 1000000;
    if (usecs < 0) {
        usecs += 1000000;
        secs -= 1;
    }
    time_t t = (time_t)(secs + PG_EPOCH_UNIX_SECS);
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL) {
        snprintf(out, outlen, "null");
        return;
    }
    snprintf(out, outlen, "\"%04d-%02d-%02dT%02d:%02d:%02d.%06dZ\"", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)usecs);
}

int pgh_json__begin(pgh_json_lines *s, const pgh_change *c, pgh_error *err)
{
    char when[96];
    format_time(when, sizeof(when), c->u.begin.commit_time);
    snprintf(s->txn_fields, sizeof(s->txn_fields),
             ",\"commit_lsn\":\"" PGH_LSN_FMT "\",\"commit_time\":%s,\"xid\":%u",
             PGH_LSN_ARGS(c->u.begin.final_lsn), when, (unsigned)c->u.begin.xid);
    s->at.commit_lsn = c->u.begin.final_lsn;
    /* A BEGIN while one is open: the stream restarted inside a transaction (reconnect). Its
     * lines are out already and come again; the new BEGIN's fields win. */
    s->in_txn = true;
    return 0;
}

int pgh_json__commit(pgh_json_lines *s, const pgh_change *c, pgh_error *err)
{
    if (!s->in_txn)
        return pgh_error_set(err, PGH_EPROTO, "COMMIT at " PGH_LSN_FMT " without a BEGIN",
                             PGH_LSN_ARGS(c->wal_start));
    s->in_txn = false;
    s->written = c->u.commit.end_lsn;
    return 0;
}

/* Start a line: {"table":"nsp.rel","op":"...","lsn":"X/X" and the transaction's fields. */
static int put_head(pgh_json_lines *s, const pgh_relation *rel, const char *op, pgh_lsn lsn,
                    pgh_error *err)
{
    const char *nsp = rel->nspname ? rel->nspname : "";
    const char *name = rel->relname ? rel->relname : "";
    s->line_rel = rel;
    pgh_buf_reset(&s->line);
    pgh_buf_puts(&s->line, "{\"table\":\"");
    int rc = pgh_sink__json_escape(&s->line, nsp, strlen(nsp), err);
    pgh_buf_putc(&s->line, '.');
    if (rc == 0)
        rc = pgh_sink__json_escape(&s->line, name, strlen(name), err);
    if (rc != 0) {
        pgh_error_prefix(err, "table name");
        return rc;
    }
    pgh_buf_printf(&s->line, "\",\"op\":\"%s\",\"lsn\":\"" PGH_LSN_FMT "\"%s", op,
                   PGH_LSN_ARGS(lsn), s->txn_fields);
    s->at.lsn = lsn;
    s->at.seq = 0;
    return 0;
}

/* "name":value for column i; first says whether a comma goes before it. */
static int put_member(pgh_json_lines *s, const pgh_relation *rel, int i, const pgh_value *v,
                      bool first, pgh_error *err)
{
    const pgh_column *col = &rel->cols[i];
    const char *name = col->name ? col->name : "";
    if (!first)
        pgh_buf_putc(&s->line, ',');
    int rc = pgh_sink__json_string(&s->line, name, strlen(name), err);
    pgh_buf_putc(&s->line, ':');
    if (rc == 0)
        rc = pgh_sink__json_value(&s->line, col->type_oid, v, err);
    if (rc != 0)
        pgh_error_prefix(err, "%s.%s column %s", rel->nspname, rel->relname, name);
    return rc;
}

/* ,"name":{...}: the values of tup that were sent, only the key columns when keys_only. A key
 * value not sent in tup is taken from fallback when it has one (not sent = not changed). */
static int put_object(pgh_json_lines *s, const char *name, const pgh_relation *rel,
                      const pgh_tuple *tup, const pgh_tuple *fallback, bool keys_only,
                      pgh_error *err)
{
    pgh_buf_printf(&s->line, ",\"%s\":{", name);
    bool first = true;
    for (int i = 0; i < tup->natts; i++) {
        const pgh_value *v = &tup->values[i];
        if (keys_only && !rel->cols[i].is_key)
            continue;
        if (v->kind == PGH_VALUE_UNCHANGED && fallback)
            v = &fallback->values[i];
        if (v->kind == PGH_VALUE_UNCHANGED)
            continue;
        int rc = put_member(s, rel, i, v, first, err);
        if (rc != 0)
            return rc;
        first = false;
    }
    pgh_buf_putc(&s->line, '}');
    return 0;
}

/* ,"unchanged":["a","b"] for the values of tup that were not sent; nothing when none. */
static int put_unchanged(pgh_json_lines *s, const pgh_relation *rel, const pgh_tuple *tup,
                         pgh_error *err)
{
    int n = 0;
    for (int i = 0; i < tup->natts; i++) {
        if (tup->values[i].kind != PGH_VALUE_UNCHANGED)
            continue;
        const char *name = rel->cols[i].name ? rel->cols[i].name : "";
        pgh_buf_puts(&s->line, n++ ? "," : ",\"unchanged\":[");
        int rc = pgh_sink__json_string(&s->line, name, strlen(name), err);
        if (rc != 0) {
            pgh_error_prefix(err, "%s.%s column name", rel->nspname, rel->relname);
            return rc;
        }
    }
    if (n > 0)
        pgh_buf_putc(&s->line, ']');
    return 0;
}

/* ---- row changes ---- */

static bool same_value(const pgh_value *a, const pgh_value *b)
{
    return a->kind == b->kind && a->len == b->len &&
           (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

/* An UPDATE whose old row (sent as 'K' or 'O') has another key than the new row: the row
 * moved. Key values not sent in the new row did not change. */
static bool key_moved(const row_change *r)
{
    if (r->newtup == NULL || r->oldtup == NULL)
        return false;
    for (int i = 0; i < r->rel->ncols; i++) {
        const pgh_value *o = &r->oldtup->values[i];
        const pgh_value *n = &r->newtup->values[i];
        if (!r->rel->cols[i].is_key || o->kind == PGH_VALUE_UNCHANGED ||
            n->kind == PGH_VALUE_UNCHANGED)
            continue;
        if (!same_value(o, n))
            return true;
    }
    return false;
}

static row_change row_of(const pgh_change *c)
{
    row_change r = {0};
    if (c->kind == PGH_CHANGE_INSERT) {
        r = (row_change){c->u.insert.rel, "insert", &c->u.insert.newtup, NULL, 0};
    } else if (c->kind == PGH_CHANGE_UPDATE) {
        r = (row_change){c->u.update.rel, "update", &c->u.update.newtup, NULL,
                         c->u.update.old_kind};
        if (r.old_kind != 0)
            r.oldtup = &c->u.update.oldtup;
    } else {
        r = (row_change){c->u.del.rel, "delete", NULL, &c->u.del.oldtup, c->u.del.old_kind};
    }
    return r;
}

/* The decoder hands over what pgoutput sent; a row that does not match its relation cannot be
 * named column by column, and is a protocol error rather than a guess. */
static int check_row(const row_change *r, pgh_lsn lsn, pgh_error *err)
{
    if (r->rel == NULL)
        return pgh_error_set(err, PGH_EPROTO, "row change at " PGH_LSN_FMT " without a relation",
                             PGH_LSN_ARGS(lsn));
    const pgh_tuple *tups[2] = {r->newtup, r->oldtup};
    for (int t = 0; t < 2; t++) {
        if (tups[t] != NULL && tups[t]->natts != r->rel->ncols)
            return pgh_error_set(err, PGH_EPROTO,
                                 "%s.%s: %s at " PGH_LSN_FMT " has %u values for %u columns",
                                 r->rel->nspname, r->rel->relname, r->op, PGH_LSN_ARGS(lsn),
                                 (unsigned)tups[t]->natts, (unsigned)r->rel->ncols);
    }
    if (r->newtup == NULL && r->oldtup == NULL)
        return pgh_error_set(err, PGH_EPROTO, "%s.%s: delete at " PGH_LSN_FMT " without a row",
                             r->rel->nspname, r->rel->relname, PGH_LSN_ARGS(lsn));
    return 0;
}

/* The members after the head: key, old_key, new, old, unchanged (see the header). */
static int put_row_body(pgh_json_lines *s, const row_change *r, pgh_error *err)
{
    int rc;
    if (r->newtup != NULL)
        rc = put_object(s, "key", r->rel, r->newtup, r->oldtup, true, err);
    else
        rc = put_object(s, "key", r->rel, r->oldtup, NULL, true, err);
    if (rc == 0 && key_moved(r))
        rc = put_object(s, "old_key", r->rel, r->oldtup, NULL, true, err);
    if (rc == 0 && r->newtup != NULL)
        rc = put_object(s, "new", r->rel, r->newtup, NULL, false, err);
    if (rc == 0 && r->old_kind == 'O')
        rc = put_object(s, "old", r->rel, r->oldtup, NULL, false, err);
    if (rc == 0 && r->newtup != NULL)
        rc = put_unchanged(s, r->rel, r->newtup, err);
    return rc;
}

int pgh_json__row(pgh_json_lines *s, const pgh_change *c, pgh_error *err)
{
    row_change r = row_of(c);
    int rc = check_row(&r, c->wal_start, err);
    if (rc != 0 || !is_mapped(s, r.rel))
        return rc;
    if (!s->in_txn)
        return pgh_error_set(err, PGH_EPROTO, "%s.%s: %s at " PGH_LSN_FMT " outside a transaction",
                             r.rel->nspname, r.rel->relname, r.op, PGH_LSN_ARGS(c->wal_start));
    rc = put_head(s, r.rel, r.op, c->wal_start, err);
    if (rc == 0)
        rc = put_row_body(s, &r, err);
    if (rc == 0) {
        pgh_buf_putc(&s->line, '}');
        rc = emit_line(s, err);
    }
    return rc;
}

/* One line per mapped table of the TRUNCATE. */
int pgh_json__truncate(pgh_json_lines *s, const pgh_change *c, pgh_error *err)
{
    bool cascade = (c->u.truncate.options & PGH_TRUNCATE_CASCADE) != 0;
    bool restart = (c->u.truncate.options & PGH_TRUNCATE_RESTART_IDENTITY) != 0;
    for (uint32_t i = 0; i < c->u.truncate.nrels; i++) {
        const pgh_relation *rel = c->u.truncate.rels[i];
        if (rel == NULL)
            return pgh_error_set(err, PGH_EPROTO, "TRUNCATE at " PGH_LSN_FMT " without a relation",
                                 PGH_LSN_ARGS(c->wal_start));
        if (!is_mapped(s, rel))
            continue;
        if (!s->in_txn)
            return pgh_error_set(err, PGH_EPROTO,
                                 "%s.%s: truncate at " PGH_LSN_FMT " outside a transaction",
                                 rel->nspname, rel->relname, PGH_LSN_ARGS(c->wal_start));
        int rc = put_head(s, rel, "truncate", c->wal_start, err);
        if (rc != 0)
            return rc;
        /* seq: the table's index in the message, so that each line has its own position
         * (commit_lsn, lsn, seq) although they share the TRUNCATE's lsn. */
        pgh_buf_printf(&s->line, ",\"seq\":%u,\"cascade\":%s,\"restart_identity\":%s}", (unsigned)i,
                       cascade ? "true" : "false", restart ? "true" : "false");
        s->at.seq = i;
        rc = emit_line(s, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- existing rows ---- */

/* *out: whether the lines of a table_* call are written (t->table is listed). Fails for a call
 * without a table or outside a transaction. */
static int wanted(bool *out, const pgh_json_lines *s, const pgh_table_rows *t, const char *op,
                  pgh_error *err)
{
    *out = false;
    if (t == NULL || t->table == NULL)
        return pgh_error_set(err, PGH_EPROTO, "%s without a table", op);
    const pgh_relation *rel = t->table;
    if (!is_mapped(s, rel))
        return 0;
    if (!s->in_txn)
        return pgh_error_set(err, PGH_EPROTO, "%s.%s: %s at " PGH_LSN_FMT " outside a transaction",
                             rel->nspname, rel->relname, op, PGH_LSN_ARGS(t->lsn));
    *out = true;
    return 0;
}

/* {head,"seq":0[,"reload":true]}: where a table's existing rows start or end. */
static int put_mark(pgh_json_lines *s, const pgh_table_rows *t, const char *op, bool reload,
                    pgh_error *err)
{
    bool write = false;
    int rc = wanted(&write, s, t, op, err);
    if (rc != 0 || !write)
        return rc;
    rc = put_head(s, t->table, op, t->lsn, err);
    if (rc != 0)
        return rc;
    /* snapshot_end shares the last chunk's position: it comes after that chunk's rows */
    pgh_buf_printf(&s->line, ",\"seq\":%llu%s}", (unsigned long long)t->first_row,
                   reload ? ",\"reload\":true" : "");
    s->at.seq = t->first_row;
    return emit_line(s, err);
}

int pgh_json__table_begin(pgh_json_lines *s, const pgh_table_rows *t, pgh_error *err)
{
    return put_mark(s, t, "snapshot_start", t != NULL && t->reload, err);
}

int pgh_json__table_end(pgh_json_lines *s, const pgh_table_rows *t, pgh_error *err)
{
    return put_mark(s, t, "snapshot_end", false, err);
}

/* An existing row is read whole: one value per column, each of them sent. */
static int check_existing(const pgh_relation *rel, const pgh_tuple *row, pgh_lsn lsn,
                          pgh_error *err)
{
    if (row->natts != rel->ncols)
        return pgh_error_set(err, PGH_EPROTO,
                             "%s.%s: existing row at " PGH_LSN_FMT " has %u values for %u columns",
                             rel->nspname, rel->relname, PGH_LSN_ARGS(lsn), (unsigned)row->natts,
                             (unsigned)rel->ncols);
    for (int i = 0; i < row->natts; i++) {
        if (row->values[i].kind == PGH_VALUE_UNCHANGED)
            return pgh_error_set(err, PGH_ESINK,
                                 "%s.%s: existing row at " PGH_LSN_FMT " has no value for column "
                                 "%s (unchanged TOAST)\nDETAIL: existing rows are delivered "
                                 "whole; this is a bug in the pipeline",
                                 rel->nspname, rel->relname, PGH_LSN_ARGS(lsn),
                                 rel->cols[i].name ? rel->cols[i].name : "");
    }
    return 0;
}

int pgh_json__table_rows(pgh_json_lines *s, const pgh_table_rows *t, const pgh_tuple *rows,
                         size_t n, pgh_error *err)
{
    bool write = false;
    int rc = wanted(&write, s, t, "snapshot", err);
    if (rc != 0 || !write)
        return rc;
    const pgh_relation *rel = t->table;
    for (size_t i = 0; i < n; i++) {
        rc = check_existing(rel, &rows[i], t->lsn, err);
        if (rc == 0)
            rc = put_head(s, rel, "snapshot", t->lsn, err);
        if (rc != 0)
            return rc;
        /* seq: the row's index in its chunk, so rows sharing the watermark's lsn each have
         * their own position. */
        pgh_buf_printf(&s->line, ",\"seq\":%llu", (unsigned long long)t->first_row + i);
        s->at.seq = t->first_row + i;
        rc = put_object(s, "key", rel, &rows[i], NULL, true, err);
        if (rc == 0)
            rc = put_object(s, "new", rel, &rows[i], NULL, false, err);
        if (rc != 0)
            return rc;
        pgh_buf_putc(&s->line, '}');
        rc = emit_line(s, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- lifecycle and flush ---- */

void pgh_json__init(pgh_json_lines *s, FILE *out, const char *name)
{
    memset(s, 0, sizeof(*s));
    s->out = out;
    s->out_name = name;
    pgh_buf_init(&s->line, 0);
}

void pgh_json__dispose(pgh_json_lines *s)
{
    if (s == NULL)
        return;
    pgh_buf_dispose(&s->line); /* the stream is borrowed: its owner closes it */
}

int pgh_json__flush(pgh_json_lines *s, pgh_error *err)
{
    int rc = pgh_json__check(s, err);
    if (rc != 0 || s->out == NULL)
        return rc;
    errno = 0;
    if (fflush(s->out) != 0 || ferror(s->out))
        return stream_failed(s, "flushing", errno, err);
    rc = sync_if_file(s, err);
    if (rc != 0)
        return rc;
    s->flushed = s->written;
    return 0;
}

int pgh_json__at_lsn(int rc, pgh_lsn lsn, pgh_error *err)
{
    if (rc != 0 && err != NULL && err->lsn == 0)
        err->lsn = lsn;
    return rc;
}

int pgh_json__expect_kind(const pgh_change *c, pgh_change_kind want, const char *destination,
                          const char *callback, pgh_error *err)
{
    if (c->kind == want)
        return 0;
    return pgh_error_set(err, PGH_EPROTO, "%s: %s called with a '%c' message", destination,
                         callback, (char)c->kind);
}
