/*
 * The JSON-lines destination: see include/pghost/json_sink.h for the format and the contract.
 *
 * Per change: BEGIN records the transaction's fields (preformatted, they repeat on every line);
 * a row change or TRUNCATE is built whole in one reused buffer and written with one fwrite;
 * COMMIT moves the position that flush() confirms once fflush() has succeeded. Values are typed
 * in json_value.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "json_value.h"
#include "dest/stdout/json_sink.h"

/* A line buffer grown past this by one big row is released after the line, so one large value
 * does not pin its memory for the rest of the run. */
#define LINE_KEEP_BYTES ((size_t)1 << 20)

/* Seconds from 1970-01-01 to 2000-01-01, PostgreSQL's epoch. */
#define PG_EPOCH_UNIX_SECS INT64_C(946684800)

typedef struct json_sink {
    pgh_sink base;
    pgh_json_sink_opts opts; /* copy; pointers borrowed (see the header) */
    pgh_buf line;            /* owned: the line being built, reused */
    bool in_txn;             /* between BEGIN and COMMIT */
    char txn_fields[160];    /* ,"commit_lsn":..,"commit_time":..,"xid":.. of the open txn */
    pgh_lsn written;         /* end LSN of the last COMMIT whose lines were all written */
    pgh_lsn flushed;         /* end LSN of the last COMMIT whose lines were all flushed */
    bool failed;             /* a write or flush failed: the output is incomplete, stop */
} json_sink;

/* The parts of an INSERT, UPDATE or DELETE that shape its line. */
typedef struct row_change {
    const pgh_relation *rel; /* borrowed from the change */
    const char *op;          /* "insert", "update", "delete" */
    const pgh_tuple *newtup; /* borrowed; NULL for DELETE */
    const pgh_tuple *oldtup; /* borrowed; NULL when no old row was sent */
    char old_kind;           /* 'K', 'O', or 0 when no old row was sent */
} row_change;

/* ---- the output stream ---- */

static const char *out_name(const json_sink *s)
{
    return s->opts.out_name ? s->opts.out_name : "the output";
}

/* Record a failed write, flush or sync (errnum from errno, 0 when unknown); the sink stops. */
static int stream_failed(json_sink *s, const char *doing, int errnum, pgh_error *err)
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

static int already_failed(const json_sink *s, pgh_error *err)
{
    return pgh_error_set(err, PGH_ESINK, "writing to %s failed earlier; nothing more is written",
                         out_name(s));
}

/* Terminate the line and hand it to stdio in one fwrite. */
static int emit_line(json_sink *s, pgh_error *err)
{
    pgh_buf_putc(&s->line, '\n');
    if (pgh_buf_failed(&s->line))
        return pgh_error_set(err, PGH_ENOMEM, "out of memory building a JSON line (%zu bytes)",
                             s->line.len);
    errno = 0;
    size_t n = fwrite(s->line.data, 1, s->line.len, s->opts.out);
    int rc = n == s->line.len ? 0 : stream_failed(s, "writing to", errno, err);
    if (s->line.cap > LINE_KEEP_BYTES) {
        pgh_buf_dispose(&s->line);
        pgh_buf_init(&s->line, 0);
    }
    return rc;
}

/* fsync when the output is a regular file: flush() promises durability, and the source will
 * release the WAL once the position is confirmed. Pipes and terminals have nothing to sync. */
static int sync_if_file(json_sink *s, pgh_error *err)
{
    int fd = fileno(s->opts.out);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    if (fsync(fd) != 0)
        return stream_failed(s, "syncing", errno, err);
    return 0;
}

/* ---- line pieces ---- */

static bool is_mapped(const json_sink *s, const pgh_relation *rel)
{
    if (s->opts.ntables == 0)
        return true;
    const char *nsp = rel->nspname ? rel->nspname : "";
    const char *name = rel->relname ? rel->relname : "";
    for (int i = 0; i < s->opts.ntables; i++) {
        const pgh_table_map *t = &s->opts.tables[i];
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

static int on_begin(json_sink *s, const pgh_change *c)
{
    char when[96];
    format_time(when, sizeof(when), c->u.begin.commit_time);
    snprintf(s->txn_fields, sizeof(s->txn_fields),
             ",\"commit_lsn\":\"" PGH_LSN_FMT "\",\"commit_time\":%s,\"xid\":%u",
             PGH_LSN_ARGS(c->u.begin.final_lsn), when, (unsigned)c->u.begin.xid);
    /* A BEGIN while one is open: the stream restarted inside a transaction (reconnect). Its
     * lines are out already and come again; the new BEGIN's fields win. */
    s->in_txn = true;
    return 0;
}

static int on_commit(json_sink *s, const pgh_change *c, pgh_error *err)
{
    if (!s->in_txn)
        return pgh_error_set(err, PGH_EPROTO, "COMMIT at " PGH_LSN_FMT " without a BEGIN",
                             PGH_LSN_ARGS(c->wal_start));
    s->in_txn = false;
    s->written = c->u.commit.end_lsn;
    return 0;
}

/* Start a line: {"table":"nsp.rel","op":"...","lsn":"X/X" and the transaction's fields. */
static int put_head(json_sink *s, const pgh_relation *rel, const char *op, pgh_lsn lsn,
                    pgh_error *err)
{
    const char *nsp = rel->nspname ? rel->nspname : "";
    const char *name = rel->relname ? rel->relname : "";
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
    return 0;
}

/* "name":value for column i; first says whether a comma goes before it. */
static int put_member(json_sink *s, const pgh_relation *rel, int i, const pgh_value *v, bool first,
                      pgh_error *err)
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
static int put_object(json_sink *s, const char *name, const pgh_relation *rel, const pgh_tuple *tup,
                      const pgh_tuple *fallback, bool keys_only, pgh_error *err)
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
static int put_unchanged(json_sink *s, const pgh_relation *rel, const pgh_tuple *tup,
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
static int put_row_body(json_sink *s, const row_change *r, pgh_error *err)
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

static int on_row(json_sink *s, const pgh_change *c, pgh_error *err)
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
static int on_truncate(json_sink *s, const pgh_change *c, pgh_error *err)
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
        pgh_buf_printf(&s->line, ",\"cascade\":%s,\"restart_identity\":%s}",
                       cascade ? "true" : "false", restart ? "true" : "false");
        rc = emit_line(s, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- the pgh_sink operations ---- */

static int dispatch(json_sink *s, const pgh_change *c, pgh_error *err)
{
    switch (c->kind) {
    case PGH_CHANGE_BEGIN:
        return on_begin(s, c);
    case PGH_CHANGE_COMMIT:
        return on_commit(s, c, err);
    case PGH_CHANGE_INSERT:
    case PGH_CHANGE_UPDATE:
    case PGH_CHANGE_DELETE:
        return on_row(s, c, err);
    case PGH_CHANGE_TRUNCATE:
        return on_truncate(s, c, err);
    case PGH_CHANGE_RELATION:
    case PGH_CHANGE_TYPE:
    case PGH_CHANGE_ORIGIN:
    case PGH_CHANGE_MESSAGE:
        return 0;
    }
    return pgh_error_set(err, PGH_EPROTO, "unknown change kind %d", (int)c->kind);
}

static int sink_write(pgh_sink *sink, const pgh_change *c, pgh_error *err)
{
    json_sink *s = (json_sink *)sink;
    if (s->failed)
        return already_failed(s, err);
    int rc = dispatch(s, c, err);
    if (rc != 0 && err != NULL && err->lsn == 0)
        err->lsn = c->wal_start;
    return rc;
}

static int sink_flush(pgh_sink *sink, pgh_lsn *out, pgh_error *err)
{
    json_sink *s = (json_sink *)sink;
    *out = s->flushed;
    if (s->failed)
        return already_failed(s, err);
    errno = 0;
    if (fflush(s->opts.out) != 0 || ferror(s->opts.out))
        return stream_failed(s, "flushing", errno, err);
    int rc = sync_if_file(s, err);
    if (rc != 0)
        return rc;
    s->flushed = s->written;
    *out = s->flushed;
    return 0;
}

static void sink_free(pgh_sink *sink)
{
    json_sink *s = (json_sink *)sink;
    if (s == NULL)
        return;
    pgh_buf_dispose(&s->line);
    free(s); /* the stream is borrowed: the caller closes it */
}

static const pgh_sink_ops JSON_OPS = {"json", sink_write, sink_flush, sink_free};

int pgh_json_sink_open(pgh_sink **out, const pgh_json_sink_opts *opts, pgh_error *err)
{
    *out = NULL;
    if (opts == NULL || opts->version != PGH_JSON_SINK_OPTS_VERSION)
        return pgh_error_set(err, PGH_ECONFIG,
                             "JSON destination: options version %d, expected %d (start from "
                             "PGH_JSON_SINK_OPTS_INIT)",
                             opts ? opts->version : 0, PGH_JSON_SINK_OPTS_VERSION);
    if (opts->out == NULL)
        return pgh_error_set(err, PGH_ECONFIG, "JSON destination: no output stream");
    if (opts->ntables < 0 || (opts->ntables > 0 && opts->tables == NULL))
        return pgh_error_set(err, PGH_ECONFIG, "JSON destination: a table list of %d entries",
                             opts->ntables);
    json_sink *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    s->base.ops = &JSON_OPS;
    s->opts = *opts;
    pgh_buf_init(&s->line, 0);
    *out = &s->base;
    return 0;
}
