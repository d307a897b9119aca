/*
 * on_missing_row: skip: the strict apply's UPDATEs and DELETEs that found no row, logged,
 * counted per table, and recorded in <state_schema>.missing_rows in the destination transaction
 * that records the position (see apply_internal.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply_internal.h"
#include "pghost/log.h"
#include "util/buf.h"

/* The entry of r's table, made when new; NULL when out of memory. */
static skip_count *entry(missing_skips *s, const apply_rel *r)
{
    for (int i = 0; i < s->n; i++)
        if (s->t[i].map == r->map)
            return &s->t[i];
    if (s->n == s->cap) {
        int cap = s->cap ? s->cap * 2 : 4;
        skip_count *t = realloc(s->t, (size_t)cap * sizeof(*t));
        if (t == NULL)
            return NULL;
        s->t = t;
        s->cap = cap;
    }
    skip_count *e = &s->t[s->n++];
    memset(e, 0, sizeof(*e));
    e->map = r->map;
    snprintf(e->table, sizeof(e->table), "%s.%s", r->dst->schema, r->dst->name);
    return e;
}

int pgh_apply__skips_note(missing_skips *s, const apply_rel *r, bool update, pgh_lsn lsn,
                          pgh_error *err)
{
    skip_count *e = entry(s, r);
    if (e == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    e->open++;
    char keys[512];
    pgh_buf b;
    pgh_buf_init(&b, sizeof(keys));
    for (int k = 0; k < r->dst->nkeys; k++)
        pgh_buf_printf(&b, "%s%s", k ? ", " : "", r->dst->cols[r->dst->key_cols[k]].name);
    snprintf(keys, sizeof(keys), "%s",
             r->keyless ? "none: matched on every column"
                        : (pgh_buf_failed(&b) ? "..." : pgh_buf_str(&b)));
    pgh_buf_dispose(&b);
    pgh_log(PGH_LOG_WARN, "apply",
            "%s: %s at " PGH_LSN_FMT " found no row (key %s); skipped (on_missing_row: skip)",
            e->table, update ? "UPDATE" : "DELETE", PGH_LSN_ARGS(lsn), keys);
    return 0;
}

#define MISSING_PARAMS 3

int pgh_apply__skips_commit(missing_skips *s, apply_pipe *p, const char *stmt, const char *slot,
                            pgh_lsn lsn, pgh_error *err)
{
    for (int i = 0; i < s->n; i++) {
        skip_count *e = &s->t[i];
        if (e->open == 0)
            continue;
        if (stmt != NULL) {
            char n[24];
            snprintf(n, sizeof(n), "%llu", (unsigned long long)e->open);
            const char *params[MISSING_PARAMS] = {slot, e->table, n};
            pipe_op op = {.kind = PIPE_OP_PLAIN,
                          .lsn = lsn,
                          .what = "recording the changes skipped for missing rows"};
            int rc = pgh_apply__pipe_send(p, &op, stmt, MISSING_PARAMS, params, 0, err);
            if (rc != 0)
                return rc;
        }
        e->committing += e->open;
        e->open = 0;
    }
    return 0;
}

void pgh_apply__skips_committed(missing_skips *s, pgh_apply_stats *stats, pgh_pipeline_stats *live)
{
    for (int i = 0; i < s->n; i++) {
        skip_count *e = &s->t[i];
        if (e->committing == 0)
            continue;
        stats[e->map].missing_skipped += e->committing;
        pgh_stats_count_missing(live, e->table, e->committing);
        e->committing = 0;
    }
}

void pgh_apply__skips_dispose(missing_skips *s)
{
    free(s->t);
    memset(s, 0, sizeof(*s));
}
