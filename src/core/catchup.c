/*
 * The catch-up: replay the slot from its start into the destination until the checkpoint
 * transaction commits. The checkpoint is a transactional logical message written after the
 * copy, so it arrives after every transaction that any copy batch could have seen.
 */
#include <string.h>
#include <time.h>

#include "core_internal.h"
#include "pghost/log.h"
#include "pghost/stream.h"

#define CATCHUP_WAIT_MS 250

static bool is_marker(const pgh_change *c, const char *marker)
{
    return c->kind == PGH_CHANGE_MESSAGE &&
           (c->u.message.flags & PGH_MESSAGE_TRANSACTIONAL) &&
           strcmp(c->u.message.prefix, PGH_CHECKPOINT_PREFIX) == 0 &&
           c->u.message.len == strlen(marker) &&
           memcmp(c->u.message.content, marker, c->u.message.len) == 0;
}

static bool is_row_change(const pgh_change *c)
{
    return c->kind == PGH_CHANGE_INSERT || c->kind == PGH_CHANGE_UPDATE ||
           c->kind == PGH_CHANGE_DELETE || c->kind == PGH_CHANGE_TRUNCATE;
}

/* Read and apply until the marker's transaction commits. */
static int replay(pgh_lsn *out_lsn, uint64_t *changes, pgh_stream *s, pgh_sink *sink,
                  const pgh_replicate_opts *o, const char *marker, pgh_lsn marker_lsn,
                  pgh_error *err)
{
    bool marker_seen = false;
    for (;;) {
        if (o->cancel && atomic_load(o->cancel))
            return pgh_error_set(err, PGH_ECANCELED, "catch-up canceled");
        pgh_change c;
        int rc = pgh_stream_next(s, &c, CATCHUP_WAIT_MS, err);
        if (rc < 0)
            return rc;
        if (rc == 0) {
            if (o->catchup_progress)
                o->catchup_progress(0, marker_lsn, o->progress_payload);
            continue;
        }
        if (is_row_change(&c))
            (*changes)++;
        if (is_marker(&c, marker))
            marker_seen = true;
        rc = pgh_sink_write(sink, &c, err);
        if (rc != 0) {
            if (err->lsn == 0)
                err->lsn = c.wal_start;
            return rc;
        }
        if (o->catchup_progress && c.kind == PGH_CHANGE_COMMIT)
            o->catchup_progress(c.u.commit.commit_lsn, marker_lsn, o->progress_payload);
        if (c.kind == PGH_CHANGE_COMMIT) {
            pgh_lsn flushed = 0;
            rc = pgh_sink_flush(sink, &flushed, err);
            if (rc != 0)
                return rc;
            pgh_stream_set_flushed(s, flushed);
            if (marker_seen) {
                *out_lsn = c.u.commit.end_lsn;
                return 0;
            }
        }
    }
}

int pgh_core__catchup(pgh_lsn *out_lsn, uint64_t *changes, pgh_sink *sink,
                      const pgh_replicate_opts *o, const char *marker, pgh_lsn marker_lsn,
                      pgh_error *err)
{
    const pgh_config *cfg = o->config;
    pgh_stream_opts so = PGH_STREAM_OPTS_INIT;
    so.conninfo = pgh_replicate_replication_conninfo(cfg);
    so.slot = cfg->slot_name;
    so.publication = cfg->publication_name;
    so.app_name = "pghost catch-up";
    pgh_stream *s = NULL;
    int rc = pgh_stream_open(&s, &so, err);
    if (rc == 0)
        rc = replay(out_lsn, changes, s, sink, o, marker, marker_lsn, err);
    if (rc == 0)
        rc = pgh_stream_send_status(s, false, err);
    pgh_stream_close(s);
    return rc;
}
