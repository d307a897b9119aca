/*
 * dest/nats/apply_txn.c - pghost apply's messages into destination calls (apply.c has the
 * consumer and the run; the rules are at the top of apply.c).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "apply_internal.h"
#include "pghost/log.h"

/* ---- relations, by subject ---- */

static rel_entry *rel_find(applier *a, const char *subject)
{
    for (size_t i = 0; i < a->nrels; i++)
        if (strcmp(a->rels[i].subject, subject) == 0)
            return &a->rels[i];
    return NULL;
}

/* Remember rel for subject; *changed when it differs from what was there. */
static int rel_put(rel_entry **out, applier *a, const char *subject, const pgh_relation *rel,
                   pgh_error *err)
{
    rel_entry *e = rel_find(a, subject);
    if (e == NULL) {
        rel_entry *grown = realloc(a->rels, (a->nrels + 1) * sizeof(*grown));
        if (grown == NULL)
            return pgh_error_set(err, PGH_ENOMEM, "out of memory");
        a->rels = grown;
        e = &a->rels[a->nrels];
        memset(e, 0, sizeof(*e));
        e->subject = strdup(subject);
        if (e->subject == NULL)
            return pgh_error_set(err, PGH_ENOMEM, "out of memory");
        a->nrels++;
    } else if (pgh_bus__rel_equal(&e->rel, rel)) {
        *out = e;
        return 0;
    }
    pgh_relation copy;
    if (pgh_bus__rel_copy(&copy, rel) != 0)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    pgh_bus__rel_dispose(&e->rel);
    e->rel = copy;
    e->delivered = false;
    *out = e;
    return 0;
}

/* Hand e's description to the destination when it has not seen it. */
static int deliver_rel(applier *a, rel_entry *e, pgh_error *err)
{
    if (e->delivered || a->ops->relation == NULL)
        return 0;
    pgh_change c = {.kind = PGH_CHANGE_RELATION};
    c.u.relation.rel = &e->rel;
    int rc = a->ops->relation(a->user, &c, err);
    e->delivered = rc == 0;
    return rc;
}

/* ---- transactions ---- */

/* Hand the TRUNCATE gathered so far to the destination as one call. */
static int flush_truncate(applier *a, pgh_error *err)
{
    if (a->ntrunc == 0)
        return 0;
    const pgh_relation **rels = calloc(a->ntrunc, sizeof(*rels));
    if (rels == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    for (size_t i = 0; i < a->ntrunc; i++)
        rels[i] = &a->rels[a->trunc_rel[i]].rel;
    a->trunc.u.truncate.nrels = (uint32_t)a->ntrunc;
    a->trunc.u.truncate.rels = rels;
    a->ntrunc = 0;
    int rc = a->ops->truncate ? a->ops->truncate(a->user, &a->trunc, err) : 0;
    free(rels);
    return rc;
}

/* One table's T: gathered with the T messages of the same TRUNCATE (same WAL start). */
static int gather_truncate(applier *a, const pgh_change *t, size_t rel, pgh_error *err)
{
    int rc = 0;
    if (a->ntrunc > 0 && a->trunc.wal_start != t->wal_start)
        rc = flush_truncate(a, err);
    if (rc == 0 && a->ntrunc == a->cap_trunc) {
        size_t n = a->cap_trunc ? a->cap_trunc * 2 : 8;
        size_t *grown = realloc(a->trunc_rel, n * sizeof(*grown));
        if (grown == NULL)
            return pgh_error_set(err, PGH_ENOMEM, "out of memory");
        a->trunc_rel = grown;
        a->cap_trunc = n;
    }
    if (rc == 0) {
        if (a->ntrunc == 0)
            a->trunc = *t;
        a->trunc_rel[a->ntrunc++] = rel;
    }
    return rc;
}

static int begin_txn(applier *a, const pgh_bus_msg *m, pgh_error *err)
{
    pgh_change b = {.kind = PGH_CHANGE_BEGIN};
    if (m->kind == PGH_BUS_BEGIN)
        b = m->change;
    b.u.begin.final_lsn = m->id.txn;
    a->open = true;
    a->cur = m->id.txn;
    return a->ops->begin ? a->ops->begin(a->user, &b, err) : 0;
}

/* Commit the open transaction; c NULL: one whose C never came (position unchanged); phase:
 * the capture's after the commit (NULL: unchanged). */
static int commit_txn(applier *a, const pgh_change *c, const char *phase, pgh_error *err)
{
    int rc = flush_truncate(a, err);
    if (rc != 0)
        return rc;
    pgh_change synth = {.kind = PGH_CHANGE_COMMIT};
    synth.u.commit.commit_lsn = a->applied;
    synth.u.commit.end_lsn = a->applied;
    if (c == NULL)
        c = &synth;
    char resume[64];
    snprintf(resume, sizeof(resume), "nats:%" PRIu64, a->seq);
    if (phase != NULL && phase[0] != '\0')
        snprintf(a->phase, sizeof(a->phase), "%s", phase);
    pgh_position after = {.lsn = c->u.commit.end_lsn, .resume = resume};
    snprintf(after.phase, sizeof(after.phase), "%s", a->phase[0] ? a->phase : "follow");
    rc = a->ops->commit(a->user, c, &after, err);
    a->open = false;
    if (rc == 0) {
        a->applied = c->u.commit.end_lsn > a->applied ? c->u.commit.end_lsn : a->applied;
        a->dirty = true;
    }
    return rc;
}

/* The table index of rel in the configuration, or -1. */
static int table_index(const applier *a, const pgh_relation *rel)
{
    for (size_t i = 0; i < a->cfg->ntables; i++) {
        const pgh_table_map *t = &a->cfg->tables[i];
        if (strcmp(t->source_schema, rel->nspname) == 0 &&
            strcmp(t->source_table, rel->relname) == 0)
            return (int)i;
    }
    return -1;
}

static int deliver_table(applier *a, pgh_bus_msg *m, pgh_error *err)
{
    m->table.table_index = table_index(a, &m->rel);
    if (m->table.table_index < 0)
        return 0; /* not one of this applier's tables */
    switch (m->kind) {
    case PGH_BUS_TABLE_BEGIN:
        return a->ops->table_begin ? a->ops->table_begin(a->user, &m->table, err) : 0;
    case PGH_BUS_TABLE_ROWS:
        return a->ops->table_rows ? a->ops->table_rows(a->user, &m->table, m->rows, m->nrows, err)
                                  : 0;
    default:
        return a->ops->table_end ? a->ops->table_end(a->user, &m->table, err) : 0;
    }
}

/* A row change or truncate, on the relation its subject described last. */
static int deliver_row(applier *a, pgh_bus_msg *m, const char *subject, pgh_error *err)
{
    rel_entry *e = rel_find(a, subject);
    if (e == NULL)
        return pgh_error_set(err, PGH_EPROTO,
                             "stream message %" PRIu64 " on %s: a change before any description "
                             "of its table",
                             a->seq, subject);
    int rc = deliver_rel(a, e, err);
    if (rc != 0)
        return rc;
    pgh_change *c = &m->change;
    if (m->kind == PGH_BUS_TRUNCATE)
        return gather_truncate(a, c, (size_t)(e - a->rels), err);
    rc = flush_truncate(a, err);
    if (rc != 0)
        return rc;
    switch (m->kind) {
    case PGH_BUS_INSERT:
        c->u.insert.rel = &e->rel;
        break;
    case PGH_BUS_UPDATE:
        c->u.update.rel = &e->rel;
        break;
    case PGH_BUS_DELETE:
        c->u.del.rel = &e->rel;
        break;
    default:
        return pgh_error_set(err, PGH_EPROTO, "stream message %" PRIu64 ": not a row change",
                             a->seq);
    }
    return a->ops->change(a->user, c, err);
}

/* Deliver m, inside the open transaction. */
static int deliver(applier *a, pgh_bus_msg *m, const char *subject, pgh_error *err)
{
    rel_entry *e = NULL;
    int rc = 0;
    switch (m->kind) {
    case PGH_BUS_BEGIN:
    case PGH_BUS_RELATION:
        if (m->has_rel)
            rc = rel_put(&e, a, subject, &m->rel, err);
        return rc == 0 && e != NULL ? deliver_rel(a, e, err) : rc;
    case PGH_BUS_MESSAGE:
        rc = flush_truncate(a, err);
        return rc == 0 && a->ops->message ? a->ops->message(a->user, &m->change, err) : rc;
    case PGH_BUS_TABLE_BEGIN:
    case PGH_BUS_TABLE_ROWS:
    case PGH_BUS_TABLE_END:
        rc = flush_truncate(a, err);
        return rc == 0 ? deliver_table(a, m, err) : rc;
    case PGH_BUS_COMMIT:
        return commit_txn(a, &m->change, m->pos.phase, err);
    default:
        return deliver_row(a, m, subject, err);
    }
}

/* Decide what m is (see the top of the file) and deliver it. */
int pgh_nats__apply_one(applier *a, pgh_bus_msg *m, const char *subject, pgh_error *err)
{
    if (m->kind == PGH_BUS_POSITION || m->id.txn < a->applied)
        return 0;
    bool repeat = m->id.txn < a->last.txn ||
                  (m->id.txn == a->last.txn && m->id.idx <= a->last.idx);
    if (repeat)
        return 0;
    int rc = 0;
    if (a->open && m->id.txn != a->cur) {
        pgh_log(PGH_LOG_WARN, "apply",
                "transaction " PGH_LSN_FMT " ended without its commit message (a capture "
                "stopped in its middle): committed as it came",
                PGH_LSN_ARGS(a->cur));
        rc = commit_txn(a, NULL, NULL, err);
    }
    if (rc == 0 && !a->open) {
        if (m->kind == PGH_BUS_COMMIT) { /* a C whose data went before a restart: nothing */
            a->last = m->id;
            return 0;
        }
        rc = begin_txn(a, m, err);
    }
    if (rc == 0)
        rc = deliver(a, m, subject, err);
    if (rc == 0)
        a->last = m->id;
    return rc;
}
