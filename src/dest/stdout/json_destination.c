/*
 * The JSON-lines destination of pghost/json.h: the pgh_destination_ops over the writer of
 * json_lines.c and the state file of json_state.c.
 *
 * An event destination (flags 0): lines go out as the calls come, and the position becomes
 * durable at flush, after the lines (at least once). Positions: commit and write_position set
 * the pending position (a deep copy: the pipeline's is borrowed for the call); flush writes it
 * to the state file when it differs from the one stored there; read_position reads the stored
 * one back, which is then both pending and stored (it is durable already).
 */
#include "pghost/json.h"

#include <stdlib.h>
#include <string.h>

#include "dest/json/json_lines.h"
#include "dest/json/json_position.h"
#include "dest/json/json_state.h"

typedef struct json_dest {
    FILE *out;            /* borrowed from the options: never closed here */
    char *out_name;       /* owned copy, NULL when none was given */
    char *state_file;     /* owned copy, NULL: no state kept */
    bool is_open;         /* between open and close */
    pgh_json_lines w;     /* owned insides, set up at open; tables borrowed from the config */
    char *slot;           /* owned copy of info->slot, NULL when none */
    pgh_position pending; /* resume owned: the position of the last commit or write_position */
    pgh_position stored;  /* resume owned: the position the state file holds */
    pgh_lsn durable;      /* what flush reports: lsn of the last position made durable */
} json_dest;

/* ---- positions ---- */

/* Write pending to the state file; it is then the stored position, durable. */
static int store_pending(json_dest *d, pgh_error *err)
{
    int rc = pgh_json__state_write(d->state_file, d->slot, &d->pending, NULL, err);
    if (rc == 0)
        rc = pgh_json__position_set(&d->stored, &d->pending, err);
    if (rc == 0)
        d->durable = d->stored.lsn;
    return rc;
}

/* ---- open, close, destroy ---- */

/* 0 when calls may write: the destination is open and its output has not failed. */
static int ready(const json_dest *d, pgh_error *err)
{
    if (!d->is_open)
        return pgh_error_set(err, PGH_EPROTO, "JSON destination: called while not open");
    return pgh_json__check(&d->w, err);
}

static int dest_open(void *user, const pgh_destination_info *info, pgh_error *err)
{
    json_dest *d = user;
    if (d->is_open)
        return pgh_error_set(err, PGH_EPROTO, "JSON destination: opened twice");
    if (info == NULL || info->config == NULL)
        return pgh_error_set(err, PGH_ECONFIG, "JSON destination: opened without a configuration");
    if (d->state_file != NULL && info->slot == NULL)
        return pgh_error_set(err, PGH_ECONFIG,
                             "JSON destination: state file %s needs a slot name to be tied to",
                             d->state_file);
    if (info->slot != NULL) {
        d->slot = strdup(info->slot);
        if (d->slot == NULL)
            return pgh_error_set(err, PGH_ENOMEM, "JSON destination: out of memory");
    }
    pgh_json__init(&d->w, d->out, d->out_name);
    d->w.tables = info->config->tables;
    d->w.ntables = info->config->ntables;
    d->durable = 0;
    d->is_open = true;
    return pgh_json__start(&d->w, err);
}

static void dest_close(void *user)
{
    json_dest *d = user;
    if (d->is_open)
        pgh_json__dispose(&d->w);
    memset(&d->w, 0, sizeof(d->w));
    free(d->slot);
    d->slot = NULL;
    pgh_json__position_dispose(&d->pending);
    pgh_json__position_dispose(&d->stored);
    d->durable = 0;
    d->is_open = false;
}

static void dest_destroy(void *user)
{
    json_dest *d = user;
    if (d == NULL)
        return;
    dest_close(d);
    free(d->out_name);
    free(d->state_file);
    free(d);
}

/* ---- positions ---- */

static int dest_read_position(void *user, pgh_position *out, pgh_error *err)
{
    json_dest *d = user;
    int rc = ready(d, err);
    if (rc != 0 || d->state_file == NULL)
        return rc;
    pgh_position pos = {0};
    bool found = false;
    rc = pgh_json__state_read(&pos, &found, d->state_file, d->slot, NULL, err);
    if (rc != 0 || !found)
        return rc;
    rc = pgh_json__position_set(&d->pending, &pos, err);
    if (rc == 0)
        rc = pgh_json__position_set(&d->stored, &pos, err);
    if (rc != 0) {
        free(pos.resume);
        return rc;
    }
    d->durable = pos.lsn;
    *out = pos; /* resume now the caller's */
    return 0;
}

static int dest_write_position(void *user, const pgh_position *pos, pgh_error *err)
{
    json_dest *d = user;
    int rc = ready(d, err);
    if (rc == 0)
        rc = pgh_json__flush(&d->w, err);
    if (rc == 0)
        rc = pgh_json__position_set(&d->pending, pos, err);
    if (rc != 0)
        return rc;
    if (d->state_file == NULL) {
        d->durable = d->pending.lsn;
        return 0;
    }
    return store_pending(d, err);
}

static int dest_flush(void *user, pgh_lsn *durable, pgh_error *err)
{
    json_dest *d = user;
    *durable = d->durable;
    int rc = ready(d, err);
    if (rc == 0)
        rc = pgh_json__flush(&d->w, err);
    if (rc != 0)
        return rc;
    if (d->state_file == NULL)
        d->durable = d->pending.lsn;
    else if (!pgh_json__position_equal(&d->pending, &d->stored))
        rc = store_pending(d, err);
    *durable = d->durable;
    return rc;
}

/* ---- existing rows ---- */

static int dest_table_begin(void *user, const pgh_table_rows *t, pgh_error *err)
{
    json_dest *d = user;
    int rc = ready(d, err);
    if (rc == 0)
        rc = pgh_json__table_begin(&d->w, t, err);
    return pgh_json__at_lsn(rc, t ? t->lsn : 0, err);
}

static int dest_table_rows(void *user, const pgh_table_rows *t, const pgh_tuple *rows, size_t n,
                           pgh_error *err)
{
    json_dest *d = user;
    int rc = ready(d, err);
    if (rc == 0)
        rc = pgh_json__table_rows(&d->w, t, rows, n, err);
    return pgh_json__at_lsn(rc, t ? t->lsn : 0, err);
}

static int dest_table_end(void *user, const pgh_table_rows *t, pgh_error *err)
{
    json_dest *d = user;
    int rc = ready(d, err);
    if (rc == 0)
        rc = pgh_json__table_end(&d->w, t, err);
    return pgh_json__at_lsn(rc, t ? t->lsn : 0, err);
}

/* ---- the stream ---- */

static int dest_begin(void *user, const pgh_change *c, pgh_error *err)
{
    json_dest *d = user;
    int rc = ready(d, err);
    if (rc == 0)
        rc = pgh_json__expect_kind(c, PGH_CHANGE_BEGIN, "JSON destination", "begin", err);
    if (rc == 0)
        rc = pgh_json__begin(&d->w, c, err);
    return pgh_json__at_lsn(rc, c->wal_start, err);
}

/* RELATION, TYPE and logical messages write nothing: the lines name their table and columns. */
static int dest_nothing(void *user, const pgh_change *c, pgh_error *err)
{
    return ready(user, err);
}

static int dest_change(void *user, const pgh_change *c, pgh_error *err)
{
    json_dest *d = user;
    int rc = ready(d, err);
    if (rc == 0 && c->kind != PGH_CHANGE_INSERT && c->kind != PGH_CHANGE_UPDATE &&
        c->kind != PGH_CHANGE_DELETE)
        rc = pgh_json__expect_kind(c, PGH_CHANGE_INSERT, "JSON destination", "change", err);
    if (rc == 0)
        rc = pgh_json__row(&d->w, c, err);
    return pgh_json__at_lsn(rc, c->wal_start, err);
}

static int dest_truncate(void *user, const pgh_change *c, pgh_error *err)
{
    json_dest *d = user;
    int rc = ready(d, err);
    if (rc == 0)
        rc = pgh_json__expect_kind(c, PGH_CHANGE_TRUNCATE, "JSON destination", "truncate", err);
    if (rc == 0)
        rc = pgh_json__truncate(&d->w, c, err);
    return pgh_json__at_lsn(rc, c->wal_start, err);
}

static int dest_commit(void *user, const pgh_change *c, const pgh_position *after, pgh_error *err)
{
    json_dest *d = user;
    int rc = ready(d, err);
    if (rc == 0)
        rc = pgh_json__expect_kind(c, PGH_CHANGE_COMMIT, "JSON destination", "commit", err);
    if (rc == 0 && after == NULL)
        rc = pgh_error_set(err, PGH_EPROTO, "JSON destination: commit without a position");
    if (rc == 0)
        rc = pgh_json__commit(&d->w, c, err);
    if (rc == 0)
        rc = pgh_json__position_set(&d->pending, after, err);
    return pgh_json__at_lsn(rc, c->wal_start, err);
}

static const pgh_destination_ops JSON_DESTINATION_OPS = {
    .version = PGH_DESTINATION_OPS_VERSION,
    .name = "stdout",
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

/* strdup that keeps NULL; false when out of memory. */
static bool dup_opt(char **out, const char *s)
{
    *out = s ? strdup(s) : NULL;
    return s == NULL || *out != NULL;
}

int pgh_json_destination_new(pgh_destination **out, const pgh_json_opts *opts, pgh_error *err)
{
    *out = NULL;
    if (opts == NULL || opts->version != PGH_JSON_OPTS_VERSION)
        return pgh_error_set(err, PGH_ECONFIG,
                             "JSON destination: options version %d, expected %d (start from "
                             "PGH_JSON_OPTS_INIT)",
                             opts ? opts->version : 0, PGH_JSON_OPTS_VERSION);
    if (opts->out == NULL)
        return pgh_error_set(err, PGH_ECONFIG, "JSON destination: no output stream");
    json_dest *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "JSON destination: out of memory");
    d->out = opts->out;
    if (!dup_opt(&d->out_name, opts->out_name) || !dup_opt(&d->state_file, opts->state_file)) {
        dest_destroy(d);
        return pgh_error_set(err, PGH_ENOMEM, "JSON destination: out of memory");
    }
    return pgh_destination_new(out, &JSON_DESTINATION_OPS, d, err); /* destroys d on failure */
}

int pgh_json_state_read(pgh_position *out, bool *found, const char *state_file, const char *slot,
                        pgh_error *err)
{
    return pgh_json__state_read(out, found, state_file, slot, NULL, err);
}
