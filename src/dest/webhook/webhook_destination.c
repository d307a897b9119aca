/*
 * The webhook destination of pghost/webhook.h: the JSON-lines writer of dest/stdout hands each
 * line to on_line, which batches it; batches go out through webhook_http.c; positions are kept
 * in the state file of webhook_state.c.
 *
 * Positions. `pending` is the last commit (or write_position) seen; `stored` what the state file
 * holds. A batch always holds every line received and not yet accepted, so once it is accepted
 * every commit received so far is delivered: flush sends what is pending, then stores `pending`
 * and reports it durable. The marks (acked, inflight) make a restart resend the batch that was in
 * flight under the same key and skip what was accepted after the stored position: see
 * webhook_state.h and the "Webhook" section of docs/destinations.md.
 */
#include "pghost/webhook.h"

#include <stdlib.h>
#include <string.h>

#include "dest/json/json_lines.h"
#include "util/clock.h"
#include "webhook_batch.h"
#include "webhook_http.h"
#include "webhook_state.h"

/* A restart's in-flight batch being rebuilt is held at flush while its lines came less than
 * this long ago; the pipeline's idle flush comes after 250 ms without a message. */
#define REBUILD_WAIT_MS 200

typedef struct webhook_dest {
    pgh_webhook_opts opts;                     /* strings borrowed from the owned copies below */
    char *url, *secret, *ca_file, *state_file; /* owned copies of the options' strings */
    bool is_open;                              /* between open and close */
    bool failed;                               /* a batch was refused: nothing more is sent */
    pgh_json_lines w;                          /* owned insides; lines go to on_line */
    pgh_webhook_http http;                     /* owned insides */
    pgh_webhook_batch b;                       /* owned insides: the batch being filled */
    char *slot;                                /* owned copy of info->slot */
    pgh_webhook_marks marks; /* acked: the last accepted line; inflight: a restart's range to
                                rebuild (has_inflight while it is being rebuilt) */
    bool marks_read;         /* read_position took the marks from the file once */
    pgh_position pending;    /* resume owned: the last commit's or write_position's position */
    pgh_position stored;     /* resume owned: what the state file holds */
    pgh_lsn durable;         /* what flush reports */
} webhook_dest;

/* ---- positions ---- */

static void position_dispose(pgh_position *p)
{
    free(p->resume);
    memset(p, 0, sizeof(*p));
}

static int position_set(pgh_position *dst, const pgh_position *src, pgh_error *err)
{
    char *resume = NULL;
    if (src->resume != NULL) {
        resume = strdup(src->resume);
        if (resume == NULL)
            return pgh_error_set(err, PGH_ENOMEM, "webhook: out of memory");
    }
    position_dispose(dst);
    dst->lsn = src->lsn;
    dst->checkpoint = src->checkpoint;
    snprintf(dst->phase, sizeof(dst->phase), "%.*s", (int)(sizeof(dst->phase) - 1), src->phase);
    dst->resume = resume;
    return 0;
}

static bool position_equal(const pgh_position *a, const pgh_position *b)
{
    if (a->lsn != b->lsn || a->checkpoint != b->checkpoint ||
        strncmp(a->phase, b->phase, sizeof(a->phase)) != 0)
        return false;
    if (a->resume == NULL || b->resume == NULL)
        return a->resume == b->resume;
    return strcmp(a->resume, b->resume) == 0;
}

/* ---- sending a batch ---- */

/* POST the batch under the key of first..last (its range); on a 2xx every line so far is
 * delivered: acked moves to last. The range is in the state file before the POST. */
static int send_range(webhook_dest *d, const pgh_json_line_pos *first,
                      const pgh_json_line_pos *last, pgh_error *err)
{
    char key[PGH_WEBHOOK_KEY_MAX];
    char *body = NULL;
    size_t len = 0;
    d->b.first = *first;
    d->b.last = *last;
    pgh_webhook__batch_key(key, d->slot, first, last);
    pgh_webhook_marks marks = d->marks;
    marks.has_inflight = true;
    marks.inflight_first = *first;
    marks.inflight_last = *last;
    int rc = pgh_webhook__state_write(d->state_file, d->slot, &d->stored, &marks, err);
    if (rc == 0)
        rc = pgh_webhook__batch_body(&body, &len, &d->b, key, d->slot, err);
    if (rc == 0)
        rc = pgh_webhook__http_post(&d->http, body, len, key, err);
    free(body);
    if (rc != 0) {
        d->failed = true;
        return rc;
    }
    d->marks.has_acked = true;
    d->marks.acked = *last;
    d->marks.has_inflight = false;
    pgh_webhook__batch_clear(&d->b);
    return 0;
}

/* Send what the batch holds, under its own range. */
static int send_batch(webhook_dest *d, pgh_error *err)
{
    if (d->b.count == 0)
        return 0;
    pgh_json_line_pos first = d->b.first, last = d->b.last;
    return send_range(d, &first, &last, err);
}

/* A restart's in-flight batch, rebuilt: send it under its recorded range; acked moves to the
 * range's end, so its lines that came again are never sent twice. */
static int send_rebuilt(webhook_dest *d, pgh_error *err)
{
    d->marks.has_inflight = false;
    if (d->b.count == 0)
        return 0;
    pgh_json_line_pos first = d->marks.inflight_first, last = d->marks.inflight_last;
    return send_range(d, &first, &last, err);
}

/*
 * Rebuilding a restart's in-flight batch (marks.has_inflight): its lines come again in the
 * same order, at the same positions (existing rows of a chunk read again come at the same
 * watermark), so the batch is complete once a line past its last position came, its last line
 * came, or the transaction of its last line committed (commit_lsn past it: nothing at or
 * before it can come any more). Until then neither size, nor time, nor flush cuts it.
 */
static int rebuild_line(webhook_dest *d, const char *line, size_t len, const pgh_json_line_pos *pos,
                        pgh_error *err)
{
    int past = pgh_webhook__pos_cmp(pos, &d->marks.inflight_last);
    int rc = past > 0 ? send_rebuilt(d, err) : 0;
    if (rc == 0)
        rc = pgh_webhook__batch_add(&d->b, line, len, pos, pgh_clock_ms(), err);
    if (rc == 0 && past == 0)
        rc = send_rebuilt(d, err);
    return rc;
}

/* pgh_json_emit_fn: batch the line (without its newline); send when the batch is full or old
 * enough. */
static int on_line(void *payload, const pgh_relation *rel, const char *line, size_t len,
                   const pgh_json_line_pos *pos, pgh_error *err)
{
    webhook_dest *d = payload;
    (void)rel;
    if (len > 0 && line[len - 1] == '\n')
        len--;
    if (d->marks.has_acked && pgh_webhook__pos_cmp(pos, &d->marks.acked) <= 0)
        return 0; /* accepted before the restart */
    if (d->marks.has_inflight)
        return rebuild_line(d, line, len, pos, err);
    int64_t now = pgh_clock_ms();
    int rc = pgh_webhook__batch_add(&d->b, line, len, pos, now, err);
    if (rc != 0)
        return rc;
    if ((int64_t)d->b.count >= d->opts.max_events || now - d->b.started_ms >= d->opts.max_delay_ms)
        return send_batch(d, err);
    return 0;
}

/* Everything received is sent: store pending. */
static int store_pending(webhook_dest *d, pgh_error *err)
{
    int rc = pgh_webhook__state_write(d->state_file, d->slot, &d->pending, &d->marks, err);
    if (rc == 0)
        rc = position_set(&d->stored, &d->pending, err);
    if (rc == 0)
        d->durable = d->stored.lsn;
    return rc;
}

/* ---- open, close, destroy ---- */

static int ready(const webhook_dest *d, pgh_error *err)
{
    if (!d->is_open)
        return pgh_error_set(err, PGH_EPROTO, "webhook destination: called while not open");
    if (d->failed)
        return pgh_error_set(err, PGH_ESINK,
                             "webhook destination: a batch failed earlier; "
                             "nothing more is sent");
    return 0;
}

static int dest_open(void *user, const pgh_destination_info *info, pgh_error *err)
{
    webhook_dest *d = user;
    if (d->is_open)
        return pgh_error_set(err, PGH_EPROTO, "webhook destination: opened twice");
    if (info == NULL || info->config == NULL || info->slot == NULL)
        return pgh_error_set(err, PGH_ECONFIG,
                             "webhook destination: opened without a configuration or a slot");
    d->slot = strdup(info->slot);
    if (d->slot == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "webhook: out of memory");
    pgh_json__init(&d->w, NULL, "the webhook"); /* the URL may hold credentials */
    d->w.emit = on_line;
    d->w.emit_payload = d;
    d->w.tables = info->config->tables;
    d->w.ntables = info->config->ntables;
    pgh_webhook__batch_init(&d->b);
    d->is_open = true;
    d->failed = false;
    d->marks_read = false;
    d->marks = (pgh_webhook_marks){0};
    d->durable = 0;
    return pgh_webhook__http_init(&d->http, &d->opts, err);
}

static void dest_close(void *user)
{
    webhook_dest *d = user;
    if (d->is_open) {
        pgh_json__dispose(&d->w);
        pgh_webhook__batch_dispose(&d->b);
        pgh_webhook__http_dispose(&d->http);
    }
    memset(&d->w, 0, sizeof(d->w));
    free(d->slot);
    d->slot = NULL;
    position_dispose(&d->pending);
    position_dispose(&d->stored);
    d->is_open = false;
}

static void dest_destroy(void *user)
{
    webhook_dest *d = user;
    if (d == NULL)
        return;
    dest_close(d);
    free(d->url);
    if (d->secret)
        memset(d->secret, 0, strlen(d->secret));
    free(d->secret);
    free(d->ca_file);
    free(d->state_file);
    free(d);
}

/* ---- positions ---- */

/* The stored position. The marks are taken from the file at the first call only: a later call
 * (the pipeline resuming after a lost source connection) keeps this run's, which are newer; the
 * lines of the batch being filled come again, so it is emptied. */
static int dest_read_position(void *user, pgh_position *out, pgh_error *err)
{
    webhook_dest *d = user;
    int rc = ready(d, err);
    if (rc != 0)
        return rc;
    pgh_position pos = {0};
    pgh_webhook_marks marks;
    bool found = false;
    rc = pgh_webhook__state_read(&pos, &marks, &found, d->state_file, d->slot, err);
    if (rc != 0)
        return rc;
    if (!d->marks_read && found)
        d->marks = marks;
    d->marks_read = true;
    pgh_webhook__batch_clear(&d->b);
    if (!found)
        return 0;
    rc = position_set(&d->pending, &pos, err);
    if (rc == 0)
        rc = position_set(&d->stored, &pos, err);
    if (rc != 0) {
        free(pos.resume);
        return rc;
    }
    d->durable = pos.lsn;
    *out = pos;
    return 0;
}

/* A phase change is durable at once: a rebuild not complete yet is sent as far as it came,
 * under its own range (its other lines then follow under other keys). */
static int dest_write_position(void *user, const pgh_position *pos, pgh_error *err)
{
    webhook_dest *d = user;
    int rc = ready(d, err);
    if (rc == 0 && d->marks.has_inflight && d->b.count > 0)
        d->marks.has_inflight = false;
    if (rc == 0)
        rc = send_batch(d, err);
    if (rc == 0)
        rc = position_set(&d->pending, pos, err);
    return rc != 0 ? rc : store_pending(d, err);
}

/* Send what is pending and store the last commit. While a rebuild is not complete and its
 * lines keep coming, they stay pending and the durable position stays where it was (flush
 * comes between transactions; the rebuild completes at the latest at the commit of its last
 * line's transaction). Once no line came for REBUILD_WAIT_MS the stream has nothing more for
 * it (the pipeline may then confirm the server's position to the slot): it is sent as far as
 * it came, under its own range. */
static int dest_flush(void *user, pgh_lsn *durable, pgh_error *err)
{
    webhook_dest *d = user;
    *durable = d->durable;
    int rc = ready(d, err);
    if (rc != 0)
        return rc;
    if (d->marks.has_inflight && d->b.count > 0) {
        if (pgh_clock_ms() - d->b.last_ms < REBUILD_WAIT_MS)
            return 0;
        d->marks.has_inflight = false;
    }
    rc = send_batch(d, err);
    if (rc == 0 && !position_equal(&d->pending, &d->stored))
        rc = store_pending(d, err);
    *durable = d->durable;
    return rc;
}

/* ---- rows and changes: the JSON-lines writer ---- */

static int dest_table_begin(void *user, const pgh_table_rows *t, pgh_error *err)
{
    webhook_dest *d = user;
    int rc = ready(d, err);
    return pgh_json__at_lsn(rc ? rc : pgh_json__table_begin(&d->w, t, err), t ? t->lsn : 0, err);
}

static int dest_table_rows(void *user, const pgh_table_rows *t, const pgh_tuple *rows, size_t n,
                           pgh_error *err)
{
    webhook_dest *d = user;
    int rc = ready(d, err);
    return pgh_json__at_lsn(rc ? rc : pgh_json__table_rows(&d->w, t, rows, n, err), t ? t->lsn : 0, err);
}

static int dest_table_end(void *user, const pgh_table_rows *t, pgh_error *err)
{
    webhook_dest *d = user;
    int rc = ready(d, err);
    return pgh_json__at_lsn(rc ? rc : pgh_json__table_end(&d->w, t, err), t ? t->lsn : 0, err);
}

static int dest_begin(void *user, const pgh_change *c, pgh_error *err)
{
    webhook_dest *d = user;
    int rc = ready(d, err);
    if (rc == 0 && c->kind != PGH_CHANGE_BEGIN)
        rc = pgh_error_set(err, PGH_EPROTO, "webhook destination: begin with a '%c' message",
                           (char)c->kind);
    return pgh_json__at_lsn(rc ? rc : pgh_json__begin(&d->w, c, err), c->wal_start, err);
}

static int dest_nothing(void *user, const pgh_change *c, pgh_error *err)
{
    (void)c;
    return ready(user, err);
}

static int dest_change(void *user, const pgh_change *c, pgh_error *err)
{
    webhook_dest *d = user;
    int rc = ready(d, err);
    if (rc == 0 && c->kind != PGH_CHANGE_INSERT && c->kind != PGH_CHANGE_UPDATE &&
        c->kind != PGH_CHANGE_DELETE)
        rc = pgh_error_set(err, PGH_EPROTO, "webhook destination: change with a '%c' message",
                           (char)c->kind);
    return pgh_json__at_lsn(rc ? rc : pgh_json__row(&d->w, c, err), c->wal_start, err);
}

static int dest_truncate(void *user, const pgh_change *c, pgh_error *err)
{
    webhook_dest *d = user;
    int rc = ready(d, err);
    if (rc == 0 && c->kind != PGH_CHANGE_TRUNCATE)
        rc = pgh_error_set(err, PGH_EPROTO, "webhook destination: truncate with a '%c' message",
                           (char)c->kind);
    return pgh_json__at_lsn(rc ? rc : pgh_json__truncate(&d->w, c, err), c->wal_start, err);
}

static int dest_commit(void *user, const pgh_change *c, const pgh_position *after, pgh_error *err)
{
    webhook_dest *d = user;
    int rc = ready(d, err);
    if (rc == 0 && (c->kind != PGH_CHANGE_COMMIT || after == NULL))
        rc = pgh_error_set(err, PGH_EPROTO, "webhook destination: commit without a position");
    if (rc == 0)
        rc = pgh_json__commit(&d->w, c, err);
    if (rc == 0 && d->marks.has_inflight && d->w.at.commit_lsn >= d->marks.inflight_last.commit_lsn)
        rc = send_rebuilt(d, err); /* nothing at or before its last line can come any more */
    if (rc == 0)
        rc = position_set(&d->pending, after, err);
    return pgh_json__at_lsn(rc, c->wal_start, err);
}

static const pgh_destination_ops WEBHOOK_DESTINATION_OPS = {
    .version = PGH_DESTINATION_OPS_VERSION,
    .name = "webhook",
    .flags = 0, /* an event destination: neither keyed nor transactional */
    .open = dest_open,
    .close = dest_close,
    .destroy = dest_destroy,
    .read_position = dest_read_position,
    .write_position = dest_write_position,
    .table_begin = dest_table_begin,
    .table_rows = dest_table_rows,
    .table_end = dest_table_end,
    .begin = dest_begin,
    .relation = dest_nothing,
    .message = dest_nothing,
    .change = dest_change,
    .truncate = dest_truncate,
    .commit = dest_commit,
    .flush = dest_flush,
    .keyed = NULL,
};

/* ---- construction ---- */

static int check_opts(const pgh_webhook_opts *o, pgh_error *err)
{
    if (o == NULL || o->version != PGH_WEBHOOK_OPTS_VERSION)
        return pgh_error_set(err, PGH_ECONFIG,
                             "webhook destination: options version %d, expected %d (start from "
                             "PGH_WEBHOOK_OPTS_INIT)",
                             o ? o->version : 0, PGH_WEBHOOK_OPTS_VERSION);
    if (o->url == NULL || o->url[0] == '\0')
        return pgh_error_set(err, PGH_ECONFIG,
                             "destination: webhook needs webhook_url (the endpoint batches are "
                             "POSTed to)");
    if (o->state_file == NULL || o->state_file[0] == '\0')
        return pgh_error_set(err, PGH_ECONFIG, "webhook destination: no state file");
    if (o->timeout_ms < 1 || o->max_retries < 0 || o->retry_base_ms < 0 ||
        o->retry_max_ms < o->retry_base_ms || o->max_events < 1 || o->max_delay_ms < 0)
        return pgh_error_set(err, PGH_ECONFIG,
                             "webhook destination: timeout_ms must be >= 1, max_retries and "
                             "retry_base_ms >= 0, retry_max_ms >= retry_base_ms, max_events >= 1");
    return 0;
}

static bool dup_opt(char **out, const char *s)
{
    *out = s ? strdup(s) : NULL;
    return s == NULL || *out != NULL;
}

int pgh_webhook_destination_new(pgh_destination **out, const pgh_webhook_opts *opts, pgh_error *err)
{
    *out = NULL;
    int rc = check_opts(opts, err);
    if (rc != 0)
        return rc;
    webhook_dest *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "webhook: out of memory");
    d->opts = *opts;
    if (!dup_opt(&d->url, opts->url) || !dup_opt(&d->secret, opts->secret) ||
        !dup_opt(&d->ca_file, opts->ca_file) || !dup_opt(&d->state_file, opts->state_file)) {
        dest_destroy(d);
        return pgh_error_set(err, PGH_ENOMEM, "webhook: out of memory");
    }
    d->opts.url = d->url;
    d->opts.secret = d->secret;
    d->opts.ca_file = d->ca_file;
    d->opts.state_file = d->state_file;
    return pgh_destination_new(out, &WEBHOOK_DESTINATION_OPS, d, err);
}
