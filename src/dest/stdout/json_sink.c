/*
 * The JSON-lines pgh_sink (json_sink.h): the pipeline's interface of today, over the writer of
 * json_lines.c. It stays until the pipeline speaks pghost/destination.h
 * (json_destination.c) everywhere.
 */
#include "dest/stdout/json_sink.h"

#include <stdlib.h>

#include "json_lines.h"

typedef struct json_sink {
    pgh_sink base;
    pgh_json_lines w; /* owned insides; its pointers borrowed from the options */
} json_sink;

static int dispatch(pgh_json_lines *w, const pgh_change *c, pgh_error *err)
{
    switch (c->kind) {
    case PGH_CHANGE_BEGIN:
        return pgh_json__begin(w, c, err);
    case PGH_CHANGE_COMMIT:
        return pgh_json__commit(w, c, err);
    case PGH_CHANGE_INSERT:
    case PGH_CHANGE_UPDATE:
    case PGH_CHANGE_DELETE:
        return pgh_json__row(w, c, err);
    case PGH_CHANGE_TRUNCATE:
        return pgh_json__truncate(w, c, err);
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
    int rc = pgh_json__check(&s->w, err);
    if (rc != 0)
        return rc;
    rc = dispatch(&s->w, c, err);
    if (rc != 0 && err != NULL && err->lsn == 0)
        err->lsn = c->wal_start;
    return rc;
}

static int sink_flush(pgh_sink *sink, pgh_lsn *out, pgh_error *err)
{
    json_sink *s = (json_sink *)sink;
    int rc = pgh_json__flush(&s->w, err);
    *out = s->w.flushed;
    return rc;
}

static void sink_free(pgh_sink *sink)
{
    json_sink *s = (json_sink *)sink;
    if (s == NULL)
        return;
    pgh_json__dispose(&s->w);
    free(s);
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
    pgh_json__init(&s->w, opts->out, opts->out_name);
    s->w.tables = opts->tables;
    s->w.ntables = (size_t)opts->ntables;
    *out = &s->base;
    return 0;
}
