/*
 * The file destination of pghost/file.h: the pgh_destination_ops over the JSON-lines writer
 * (dest/json/json_lines.c, whose lines come here through its emit callback), the data files of
 * file_set.c and the state file of dest/json/json_state.c.
 *
 * An event destination (flags 0) that is nonetheless exactly once: open puts the directory back
 * to the state file (file_recover.c), so the lines that a restart delivers again are exactly
 * the ones that were cut away. The slot may confirm less than the state file holds (it hears
 * of a flush a little later), so a restart can also be sent transactions the files hold
 * already: those whose commit LSN is below the stored position (its end LSN) are skipped whole,
 * which is the consumer's rule of docs/json-lines.md applied before writing. Positions: commit and
 * write_position set the pending position; flush syncs the files and then writes pending, with
 * every open file's durable length, to the state file; read_position hands back what open read
 * there.
 */
#include "pghost/file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dest/json/json_lines.h"
#include "dest/json/json_position.h"
#include "dest/json/json_state.h"
#include "file_set.h"

typedef struct file_dest {
    char *directory;      /* owned copy of the option */
    char *state_path;     /* owned: <directory>/pghost.state */
    pgh_file_opts opts;   /* directory borrowed from the field above */
    bool is_open;         /* between open and close */
    pgh_json_lines w;     /* owned insides, set up at open; tables borrowed from the config */
    pgh_file_set set;     /* owned insides, set up at open */
    char *slot;           /* owned copy of info->slot */
    bool has_state;       /* open found a state file */
    pgh_position pending; /* resume owned: the position of the last commit or write_position */
    pgh_position stored;  /* resume owned: the position the state file holds */
    pgh_lsn durable;      /* what flush reports */
    pgh_lsn txn_lsn;      /* commit LSN of the open transaction: names the files it starts */
    bool skip_txn;        /* the open transaction is held durably already: write nothing */
    char *last_schema;    /* owned: the table of the last line ... */
    char *last_table;     /* owned */
    char *last_stream;    /* owned: ... and its stream (pgh_file__stream_name) */
} file_dest;

/* ---- where a line goes ---- */

static bool same_name(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

/* *out (borrowed from d): the stream of rel's lines, cached for the next line of the table. */
static int stream_of(const char **out, file_dest *d, const pgh_relation *rel, pgh_error *err)
{
    if (d->last_stream && same_name(d->last_schema, rel->nspname) &&
        same_name(d->last_table, rel->relname)) {
        *out = d->last_stream;
        return 0;
    }
    free(d->last_schema);
    free(d->last_table);
    free(d->last_stream);
    d->last_stream = NULL;
    d->last_schema = strdup(rel->nspname ? rel->nspname : "");
    d->last_table = strdup(rel->relname ? rel->relname : "");
    if (d->last_schema == NULL || d->last_table == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "file destination: out of memory");
    int rc = pgh_file__stream_name(&d->last_stream, &d->set, d->last_schema, d->last_table, err);
    *out = d->last_stream;
    return rc;
}

/* The writer's emit callback: the line to its table's file. */
static int emit(void *payload, const pgh_relation *rel, const char *line, size_t len,
                const pgh_json_line_pos *pos, pgh_error *err)
{
    (void)pos;
    file_dest *d = payload;
    const char *stream = NULL;
    int rc = stream_of(&stream, d, rel, err);
    if (rc == 0)
        rc = pgh_file__append(&d->set, stream, d->txn_lsn, line, len, err);
    return rc;
}

/* ---- the state file ---- */

/* Sync the files, then record pending with their durable lengths; pending is then stored. */
static int store_pending(file_dest *d, pgh_error *err)
{
    pgh_json_state_files files = {0};
    int rc = pgh_file__set_sync(&d->set, err);
    if (rc == 0)
        rc = pgh_file__set_state(&files, &d->set, err);
    if (rc == 0)
        rc = pgh_json__state_write(d->state_path, d->slot, &d->pending, &files, err);
    if (rc == 0)
        rc = pgh_json__position_set(&d->stored, &d->pending, err);
    if (rc == 0) {
        d->durable = d->stored.lsn;
        d->has_state = true;
    }
    pgh_json__state_files_dispose(&files);
    return rc;
}

/* Read the state file and put the directory back to it. */
static int restore(file_dest *d, pgh_error *err)
{
    pgh_position pos = {0};
    pgh_json_state_files files = {0};
    bool found = false;
    int rc = pgh_json__state_read(&pos, &found, d->state_path, d->slot, &files, err);
    if (rc == 0)
        rc = pgh_file__recover(&d->set, found ? &files : NULL, err);
    if (rc == 0 && found)
        rc = pgh_json__position_set(&d->stored, &pos, err);
    if (rc == 0 && found)
        rc = pgh_json__position_set(&d->pending, &pos, err);
    if (rc == 0) {
        d->has_state = found;
        d->durable = pos.lsn;
    }
    free(pos.resume);
    pgh_json__state_files_dispose(&files);
    return rc;
}

/* ---- open, close, destroy ---- */

static int ready(const file_dest *d, pgh_error *err)
{
    if (!d->is_open)
        return pgh_error_set(err, PGH_EPROTO, "file destination: called while not open");
    return pgh_json__check(&d->w, err);
}

static int dest_open(void *user, const pgh_destination_info *info, pgh_error *err)
{
    file_dest *d = user;
    if (d->is_open)
        return pgh_error_set(err, PGH_EPROTO, "file destination: opened twice");
    if (info == NULL || info->config == NULL || info->slot == NULL)
        return pgh_error_set(err, PGH_ECONFIG,
                             "file destination: opened without a configuration or a slot name");
    const pgh_config *cfg = info->config;
    d->slot = strdup(info->slot);
    if (d->slot == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "file destination: out of memory");
    int rc =
        pgh_file__set_init(&d->set, d->directory, d->opts.layout, (uint64_t)d->opts.rotate_bytes,
                           d->opts.rotate_seconds, (size_t)cfg->apply_group_max_changes, err);
    pgh_json__init(&d->w, NULL, d->directory);
    d->w.emit = emit;
    d->w.emit_payload = d;
    d->w.tables = cfg->tables;
    d->w.ntables = cfg->ntables;
    d->is_open = true;
    return rc == 0 ? restore(d, err) : rc;
}

static void dest_close(void *user)
{
    file_dest *d = user;
    if (d->is_open) {
        pgh_json__dispose(&d->w);
        pgh_file__set_dispose(&d->set); /* what flush did not sync is cut back at open */
    }
    memset(&d->w, 0, sizeof(d->w));
    memset(&d->set, 0, sizeof(d->set));
    free(d->slot);
    free(d->last_schema);
    free(d->last_table);
    free(d->last_stream);
    d->slot = d->last_schema = d->last_table = d->last_stream = NULL;
    pgh_json__position_dispose(&d->pending);
    pgh_json__position_dispose(&d->stored);
    d->durable = 0;
    d->has_state = false;
    d->is_open = false;
}

static void dest_destroy(void *user)
{
    file_dest *d = user;
    if (d == NULL)
        return;
    dest_close(d);
    free(d->directory);
    free(d->state_path);
    free(d);
}

/* ---- positions ---- */

static int dest_read_position(void *user, pgh_position *out, pgh_error *err)
{
    file_dest *d = user;
    int rc = ready(d, err);
    if (rc != 0 || !d->has_state)
        return rc;
    pgh_position copy = {0};
    rc = pgh_json__position_set(&copy, &d->stored, err);
    if (rc == 0)
        *out = copy; /* resume now the caller's */
    return rc;
}

static int dest_write_position(void *user, const pgh_position *pos, pgh_error *err)
{
    file_dest *d = user;
    int rc = ready(d, err);
    if (rc == 0)
        rc = pgh_json__position_set(&d->pending, pos, err);
    return rc == 0 ? store_pending(d, err) : rc;
}

static int dest_flush(void *user, pgh_lsn *durable, pgh_error *err)
{
    file_dest *d = user;
    *durable = d->durable;
    int rc = ready(d, err);
    if (rc == 0)
        rc = pgh_file__set_sync(&d->set, err);
    if (rc == 0 && (d->set.changed || !pgh_json__position_equal(&d->pending, &d->stored)))
        rc = store_pending(d, err);
    *durable = d->durable;
    return rc;
}

/* ---- rows and changes: the writer's, through emit ---- */

/* 0 when the call may write, 1 when it is part of a transaction the files hold already (write
 * nothing), else the error. */
static int may_write(const file_dest *d, pgh_error *err)
{
    int rc = ready(d, err);
    return rc == 0 && d->skip_txn ? 1 : rc;
}

static int dest_table_begin(void *user, const pgh_table_rows *t, pgh_error *err)
{
    file_dest *d = user;
    int rc = may_write(d, err);
    if (rc > 0)
        return 0;
    return pgh_json__at_lsn(rc == 0 ? pgh_json__table_begin(&d->w, t, err) : rc, t ? t->lsn : 0, err);
}

static int dest_table_rows(void *user, const pgh_table_rows *t, const pgh_tuple *rows, size_t n,
                           pgh_error *err)
{
    file_dest *d = user;
    int rc = may_write(d, err);
    if (rc > 0)
        return 0;
    return pgh_json__at_lsn(rc == 0 ? pgh_json__table_rows(&d->w, t, rows, n, err) : rc, t ? t->lsn : 0, err);
}

static int dest_table_end(void *user, const pgh_table_rows *t, pgh_error *err)
{
    file_dest *d = user;
    int rc = may_write(d, err);
    if (rc > 0)
        return 0;
    return pgh_json__at_lsn(rc == 0 ? pgh_json__table_end(&d->w, t, err) : rc, t ? t->lsn : 0, err);
}

static int dest_begin(void *user, const pgh_change *c, pgh_error *err)
{
    file_dest *d = user;
    int rc = ready(d, err);
    if (rc == 0)
        rc = pgh_json__expect_kind(c, PGH_CHANGE_BEGIN, "file destination", "begin", err);
    if (rc == 0) {
        d->txn_lsn = c->u.begin.final_lsn;
        /* a transaction that committed before the stored one ended is in the files already */
        d->skip_txn = d->has_state && c->u.begin.final_lsn < d->stored.lsn;
        rc = pgh_json__begin(&d->w, c, err);
    }
    return pgh_json__at_lsn(rc, c->wal_start, err);
}

/* RELATION, TYPE and logical messages write nothing: the lines name their table and columns. */
static int dest_nothing(void *user, const pgh_change *c, pgh_error *err)
{
    (void)c;
    return ready(user, err);
}

static int dest_change(void *user, const pgh_change *c, pgh_error *err)
{
    file_dest *d = user;
    int rc = may_write(d, err);
    if (rc > 0)
        return 0;
    if (rc == 0 && c->kind != PGH_CHANGE_INSERT && c->kind != PGH_CHANGE_UPDATE &&
        c->kind != PGH_CHANGE_DELETE)
        rc = pgh_json__expect_kind(c, PGH_CHANGE_INSERT, "file destination", "change", err);
    if (rc == 0)
        rc = pgh_json__row(&d->w, c, err);
    return pgh_json__at_lsn(rc, c->wal_start, err);
}

static int dest_truncate(void *user, const pgh_change *c, pgh_error *err)
{
    file_dest *d = user;
    int rc = may_write(d, err);
    if (rc > 0)
        return 0;
    if (rc == 0)
        rc = pgh_json__expect_kind(c, PGH_CHANGE_TRUNCATE, "file destination", "truncate", err);
    if (rc == 0)
        rc = pgh_json__truncate(&d->w, c, err);
    return pgh_json__at_lsn(rc, c->wal_start, err);
}

static int dest_commit(void *user, const pgh_change *c, const pgh_position *after, pgh_error *err)
{
    file_dest *d = user;
    int rc = ready(d, err);
    if (rc == 0)
        rc = pgh_json__expect_kind(c, PGH_CHANGE_COMMIT, "file destination", "commit", err);
    if (rc == 0 && after == NULL)
        rc = pgh_error_set(err, PGH_EPROTO, "file destination: commit without a position");
    if (rc == 0)
        rc = pgh_json__commit(&d->w, c, err);
    /* a skipped transaction's position is behind the stored one: keep that */
    if (rc == 0 && !d->skip_txn)
        rc = pgh_json__position_set(&d->pending, after, err);
    d->skip_txn = false;
    return pgh_json__at_lsn(rc, c->wal_start, err);
}

static const pgh_destination_ops FILE_DESTINATION_OPS = {
    .version = PGH_DESTINATION_OPS_VERSION,
    .name = "file",
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

/* *out: <directory>/pghost.state, malloc'd; NULL when out of memory. */
static char *state_path_of(const char *directory)
{
    size_t len = strlen(directory) + sizeof("/" PGH_FILE_STATE_NAME);
    char *path = malloc(len);
    if (path != NULL)
        snprintf(path, len, "%s/" PGH_FILE_STATE_NAME, directory);
    return path;
}

static int check_opts(const pgh_file_opts *opts, pgh_error *err)
{
    if (opts == NULL || opts->version != PGH_FILE_OPTS_VERSION)
        return pgh_error_set(err, PGH_ECONFIG,
                             "file destination: options version %d, expected %d (start from "
                             "PGH_FILE_OPTS_INIT)",
                             opts ? opts->version : 0, PGH_FILE_OPTS_VERSION);
    if (opts->directory == NULL || opts->directory[0] == '\0')
        return pgh_error_set(err, PGH_ECONFIG,
                             "file destination: no directory: set file_directory");
    if (opts->rotate_bytes < PGH_CONFIG_MIN_FILE_ROTATE_BYTES || opts->rotate_seconds < 0)
        return pgh_error_set(err, PGH_ECONFIG,
                             "file destination: rotate_bytes must be at least %d and "
                             "rotate_seconds at least 0",
                             PGH_CONFIG_MIN_FILE_ROTATE_BYTES);
    return 0;
}

int pgh_file_destination_new(pgh_destination **out, const pgh_file_opts *opts, pgh_error *err)
{
    *out = NULL;
    int rc = check_opts(opts, err);
    if (rc != 0)
        return rc;
    file_dest *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "file destination: out of memory");
    d->directory = strdup(opts->directory);
    d->state_path = state_path_of(opts->directory);
    if (d->directory == NULL || d->state_path == NULL) {
        dest_destroy(d);
        return pgh_error_set(err, PGH_ENOMEM, "file destination: out of memory");
    }
    d->opts = *opts;
    d->opts.directory = d->directory;
    return pgh_destination_new(out, &FILE_DESTINATION_OPS, d, err); /* destroys d on failure */
}

int pgh_file_state_read(pgh_position *out, bool *found, const char *directory, const char *slot,
                        pgh_error *err)
{
    char *path = state_path_of(directory);
    if (path == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    int rc = pgh_json__state_read(out, found, path, slot, NULL, err);
    free(path);
    return rc;
}
