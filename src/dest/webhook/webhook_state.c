/* The webhook destination's state file: see webhook_state.h. */
#include "webhook_state.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "dest/json/json_state.h"

static json_t *pos_json(const pgh_json_line_pos *p)
{
    char commit_lsn[32], lsn[32];
    snprintf(commit_lsn, sizeof(commit_lsn), PGH_LSN_FMT, PGH_LSN_ARGS(p->commit_lsn));
    snprintf(lsn, sizeof(lsn), PGH_LSN_FMT, PGH_LSN_ARGS(p->lsn));
    return json_pack("{s:s,s:s,s:I}", "commit_lsn", commit_lsn, "lsn", lsn, "seq",
                     (json_int_t)p->seq);
}

/* {"webhook":{...}} for marks; NULL when out of memory. */
static json_t *marks_json(const pgh_webhook_marks *m)
{
    json_t *acked = m->has_acked ? pos_json(&m->acked) : json_null();
    json_t *inflight = m->has_inflight
                           ? json_pack("{s:o,s:o}", "first", pos_json(&m->inflight_first), "last",
                                       pos_json(&m->inflight_last))
                           : json_null();
    if (acked == NULL || inflight == NULL) {
        json_decref(acked);
        json_decref(inflight);
        return NULL;
    }
    return json_pack("{s:{s:o,s:o}}", "webhook", "acked", acked, "inflight", inflight);
}

int pgh_webhook__state_write(const char *path, const char *slot, const pgh_position *pos,
                             const pgh_webhook_marks *marks, pgh_error *err)
{
    json_t *extra = marks_json(marks);
    if (extra == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "state file %s: out of memory", path);
    int rc = pgh_json__state_write_extra(path, slot, pos, extra, err);
    json_decref(extra);
    return rc;
}

/* *out from {"commit_lsn":..,"lsn":..,"seq":..}; false when it is not one. */
static bool pos_from(pgh_json_line_pos *out, json_t *o)
{
    const char *commit_lsn = NULL, *lsn = NULL;
    json_int_t seq = 0;
    if (json_unpack(o, "{s:s,s:s,s:I}", "commit_lsn", &commit_lsn, "lsn", &lsn, "seq", &seq) != 0 ||
        seq < 0)
        return false;
    out->seq = (uint64_t)seq;
    return pgh_lsn_parse(&out->commit_lsn, commit_lsn) == 0 && pgh_lsn_parse(&out->lsn, lsn) == 0;
}

static int marks_from(pgh_webhook_marks *m, json_t *state, const char *path, pgh_error *err)
{
    json_t *w = json_object_get(state, "webhook");
    if (w == NULL)
        return 0;
    json_t *acked = json_object_get(w, "acked");
    json_t *inflight = json_object_get(w, "inflight");
    bool ok = json_is_object(w);
    if (ok && acked && !json_is_null(acked))
        ok = m->has_acked = pos_from(&m->acked, acked);
    if (ok && inflight && !json_is_null(inflight))
        ok = m->has_inflight = pos_from(&m->inflight_first, json_object_get(inflight, "first")) &&
                               pos_from(&m->inflight_last, json_object_get(inflight, "last"));
    if (ok)
        return 0;
    return pgh_error_set(err, PGH_ECONFIG,
                         "state file %s is garbled: its \"webhook\" member is not one pghost "
                         "wrote; restore the file, or delete it to start over (the existing rows "
                         "are then sent again)",
                         path);
}

int pgh_webhook__state_read(pgh_position *out, pgh_webhook_marks *marks, bool *found,
                            const char *path, const char *slot, pgh_error *err)
{
    json_t *state = NULL;
    *marks = (pgh_webhook_marks){0};
    int rc = pgh_json__state_read_extra(out, found, &state, path, slot, err);
    if (rc == 0 && *found)
        rc = marks_from(marks, state, path, err);
    if (rc != 0 && *found) {
        free(out->resume);
        out->resume = NULL;
        *found = false;
    }
    json_decref(state);
    return rc;
}
