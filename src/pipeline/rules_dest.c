/*
 * The rules between the pipeline and the destination: a destination of its own that runs every
 * row through the table's plan (rules/plan.h) and hands the result to the real destination.
 * The real destination sees each table as the rules make it (columns renamed, left out, hashed
 * ones as text), through a relation the plan owns. A keyed destination's copy and recopies go
 * through rules_keyed.c; its plans are compiled for it (keys and columns kept).
 *
 * Filters follow PostgreSQL's row filters for publications (docs/rules.md):
 *   INSERT, existing rows   kept when the new row matches
 *   UPDATE                  old matches, new matches        UPDATE
 *                           old matches, new does not       DELETE (by key)
 *                           old does not, new matches       INSERT (the whole new row)
 *                           neither                         dropped
 *                           old unknown (not sent): the new row decides, UPDATE or DELETE
 *   DELETE                  kept when the old row matches; a row that does not carry the
 *                           filtered column (a key-only old row) is dropped unless the filter
 *                           has allow_empty_deletes (pg_flo's rule)
 */
#include <stdlib.h>
#include <string.h>

#include "pg/colmap.h"
#include "rules_dest.h"

/* The plan compiled at the start for rel's table, or NULL. */
static const pgh_rules_plan *start_plan(const rules_dest *d, const pgh_relation *rel)
{
    for (int i = 0; i < d->ntables; i++) {
        const pgh_relation *t = d->table_plans[i] ? pgh_rules__plan_relation(d->table_plans[i])
                                                  : NULL;
        if (t && strcmp(t->nspname, rel->nspname) == 0 && strcmp(t->relname, rel->relname) == 0)
            return d->table_plans[i];
    }
    return NULL;
}

/* A relation from the stream. Under REPLICA IDENTITY FULL it flags every column as a key
 * column; the rules' key checks need the table's own key, from the catalog at the start. */
static int compile_stream(pgh_rules_plan **out, rules_dest *d, const pgh_relation *rel,
                          pgh_error *err)
{
    const pgh_rules_plan *sp = start_plan(d, rel);
    if (rel->replident != 'f' || sp == NULL)
        return pgh_rules__compile(out, d->rules, rel, d->keyed, err);
    pgh_relation own = *rel;
    own.cols = calloc((size_t)rel->ncols + 1, sizeof(*own.cols));
    if (own.cols == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    const pgh_relation *keys = pgh_rules__plan_relation(sp);
    for (int i = 0; i < rel->ncols; i++) { /* by source name: keys may be renamed */
        int j = pgh_rules__plan_column(sp, rel->cols[i].name);
        int k = j >= 0 ? pgh_rules__plan_out_of(sp, j) : -1;
        own.cols[i] = rel->cols[i];
        own.cols[i].is_key = k >= 0 && keys->cols[k].is_key;
    }
    int rc = pgh_rules__compile(out, d->rules, &own, d->keyed, err);
    if (rc == 0 && *out)
        pgh_rules__plan_keys_as(*out, rel); /* the destination sees the stream's flags */
    free(own.cols);
    return rc;
}

/* The plan of rel (compiled on first sight), NULL when its table has no rules. */
static int plan_of(const pgh_rules_plan **out, rules_dest *d, const pgh_relation *rel,
                   pgh_error *err)
{
    for (size_t i = 0; i < d->nplans; i++) {
        if (d->plans[i].src == rel && d->plans[i].oid == rel->oid) {
            *out = d->plans[i].plan;
            return 0;
        }
    }
    if (d->nplans == d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 16;
        plan_entry *p = realloc(d->plans, cap * sizeof(*p));
        if (p == NULL)
            return pgh_error_set(err, PGH_ENOMEM, "out of memory");
        d->plans = p;
        d->cap = cap;
    }
    plan_entry *e = &d->plans[d->nplans];
    int rc = compile_stream(&e->plan, d, rel, err);
    if (rc != 0)
        return rc;
    e->oid = rel->oid;
    e->src = rel;
    d->nplans++;
    *out = e->plan;
    return 0;
}

/* A relation replaced (or one whose memory may be reused): forget its plans. */
static void forget(rules_dest *d, uint32_t oid)
{
    size_t k = 0;
    for (size_t i = 0; i < d->nplans; i++) {
        if (d->plans[i].oid == oid)
            pgh_rules__plan_free(d->plans[i].plan);
        else
            d->plans[k++] = d->plans[i];
    }
    d->nplans = k;
}

static void forget_all(rules_dest *d)
{
    for (size_t i = 0; i < d->nplans; i++)
        pgh_rules__plan_free(d->plans[i].plan);
    d->nplans = 0;
}

static int fwd_open(void *user, const pgh_destination_info *info, pgh_error *err)
{
    rules_dest *d = user;
    return d->real->open(d->user, info, err);
}

static void fwd_close(void *user)
{
    rules_dest *d = user;
    if (d->real->close)
        d->real->close(d->user);
}

static int fwd_read_position(void *user, pgh_position *out, pgh_error *err)
{
    rules_dest *d = user;
    return d->real->read_position ? d->real->read_position(d->user, out, err) : 0;
}

static int fwd_write_position(void *user, const pgh_position *pos, pgh_error *err)
{
    rules_dest *d = user;
    return d->real->write_position ? d->real->write_position(d->user, pos, err) : 0;
}

static int fwd_begin(void *user, const pgh_change *c, pgh_error *err)
{
    rules_dest *d = user;
    return d->real->begin ? d->real->begin(d->user, c, err) : 0;
}

static int fwd_message(void *user, const pgh_change *c, pgh_error *err)
{
    rules_dest *d = user;
    return d->real->message ? d->real->message(d->user, c, err) : 0;
}

static int fwd_truncate(void *user, const pgh_change *c, pgh_error *err)
{
    rules_dest *d = user;
    return d->real->truncate ? d->real->truncate(d->user, c, err) : 0;
}

static int fwd_commit(void *user, const pgh_change *c, const pgh_position *after,
                      pgh_error *err)
{
    rules_dest *d = user;
    return d->real->commit(d->user, c, after, err);
}

static int fwd_flush(void *user, pgh_lsn *durable, pgh_error *err)
{
    rules_dest *d = user;
    return d->real->flush ? d->real->flush(d->user, durable, err) : 0;
}

static int on_relation(void *user, const pgh_change *c, pgh_error *err)
{
    rules_dest *d = user;
    pgh_change out = *c;
    if (c->kind == PGH_CHANGE_RELATION) {
        const pgh_rules_plan *p = NULL;
        forget(d, c->u.relation.rel->oid);
        int rc = plan_of(&p, d, c->u.relation.rel, err);
        if (rc != 0)
            return rc;
        if (p)
            out.u.relation.rel = pgh_rules__plan_relation(p);
    }
    return d->real->relation ? d->real->relation(d->user, &out, err) : 0;
}

/* The table as the destination sees it. */
static int table_as_seen(pgh_table_rows *out, rules_dest *d, const pgh_table_rows *t,
                         const pgh_rules_plan **p, pgh_error *err)
{
    *out = *t;
    int rc = plan_of(p, d, t->table, err);
    if (rc == 0 && *p)
        out->table = pgh_rules__plan_relation(*p);
    return rc;
}

static int on_table_begin(void *user, const pgh_table_rows *t, pgh_error *err)
{
    rules_dest *d = user;
    pgh_table_rows seen;
    const pgh_rules_plan *p = NULL;
    int rc = table_as_seen(&seen, d, t, &p, err);
    if (rc == 0 && d->real->table_begin)
        rc = d->real->table_begin(d->user, &seen, err);
    return rc;
}

static int on_table_end(void *user, const pgh_table_rows *t, pgh_error *err)
{
    rules_dest *d = user;
    pgh_table_rows seen;
    const pgh_rules_plan *p = NULL;
    int rc = table_as_seen(&seen, d, t, &p, err);
    if (rc == 0 && d->real->table_end)
        rc = d->real->table_end(d->user, &seen, err);
    return rc;
}

static int reserve_rows(rules_dest *d, size_t n, pgh_error *err)
{
    if (d->nrows >= n)
        return 0;
    pgh_rules_row *rows = realloc(d->rows, n * sizeof(*rows));
    if (rows)
        d->rows = rows;
    pgh_tuple *tuples = rows ? realloc(d->tuples, n * sizeof(*tuples)) : NULL;
    if (tuples == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    d->tuples = tuples;
    for (size_t i = d->nrows; i < n; i++)
        pgh_rules_row_init(&d->rows[i]);
    d->nrows = n;
    return 0;
}

/* Existing rows: the kept ones go on in runs, each run with the chunk index of its first. */
static int on_table_rows(void *user, const pgh_table_rows *t, const pgh_tuple *rows, size_t n,
                         pgh_error *err)
{
    rules_dest *d = user;
    pgh_table_rows seen;
    const pgh_rules_plan *p = NULL;
    int rc = table_as_seen(&seen, d, t, &p, err);
    if (rc != 0 || d->real->table_rows == NULL)
        return rc;
    if (p == NULL)
        return d->real->table_rows(d->user, t, rows, n, err);
    rc = reserve_rows(d, n, err);
    size_t run = 0; /* rows kept since the last one dropped */
    for (size_t i = 0; rc == 0 && i <= n; i++) {
        bool keep = i < n && pgh_rules__match(p, PGH_RULES_INSERT, &rows[i], false, NULL) ==
                                 PGH_RULES_MATCH;
        if (keep) {
            rc = pgh_rules__transform(&d->rows[run], p, PGH_RULES_INSERT, &rows[i], NULL, err);
            d->tuples[run] = d->rows[run].tuple;
            run++;
            continue;
        }
        if (run > 0) {
            seen.first_row = t->first_row + (uint32_t)(i - run);
            rc = d->real->table_rows(d->user, &seen, d->tuples, run, err);
        }
        run = 0;
    }
    return rc;
}


static int send(rules_dest *d, const pgh_change *c, pgh_error *err)
{
    return d->real->change(d->user, c, err);
}

static int on_insert(rules_dest *d, const pgh_change *c, const pgh_rules_plan *p,
                     pgh_error *err)
{
    const pgh_tuple *nt = &c->u.insert.newtup;
    if (pgh_rules__match(p, PGH_RULES_INSERT, nt, false, NULL) != PGH_RULES_MATCH)
        return 0;
    int rc = pgh_rules__transform(&d->row_new, p, PGH_RULES_INSERT, nt, NULL, err);
    pgh_change out = *c;
    out.u.insert.rel = pgh_rules__plan_relation(p);
    out.u.insert.newtup = d->row_new.tuple;
    return rc == 0 ? send(d, &out, err) : rc;
}

/* A DELETE of the row whose old row or key is old (key_only: a key), as the rules make it. */
static int send_delete(rules_dest *d, const pgh_change *c, const pgh_rules_plan *p,
                       const pgh_tuple *old, char old_kind, pgh_error *err)
{
    int rc = pgh_rules__transform(&d->row_old, p, PGH_RULES_DELETE, old, NULL, err);
    pgh_change out = {.kind = PGH_CHANGE_DELETE, .wal_start = c->wal_start};
    out.u.del.rel = pgh_rules__plan_relation(p);
    out.u.del.old_kind = old_kind;
    out.u.del.oldtup = d->row_old.tuple;
    return rc == 0 ? send(d, &out, err) : rc;
}

static int on_delete(rules_dest *d, const pgh_change *c, const pgh_rules_plan *p,
                     pgh_error *err)
{
    const pgh_tuple *old = &c->u.del.oldtup;
    bool key_only = c->u.del.old_kind != 'O';
    if (pgh_rules__match(p, PGH_RULES_DELETE, old, key_only, NULL) != PGH_RULES_MATCH)
        return 0; /* not matching, or unknown: pg_flo drops it (allow_empty_deletes keeps) */
    return send_delete(d, c, p, old, c->u.del.old_kind, err);
}

/* An UPDATE passed on as one (old and new rows transformed). */
static int send_update(rules_dest *d, const pgh_change *c, const pgh_rules_plan *p,
                       pgh_error *err)
{
    const pgh_tuple *old = c->u.update.old_kind ? &c->u.update.oldtup : NULL;
    int rc = pgh_rules__transform(&d->row_new, p, PGH_RULES_UPDATE, &c->u.update.newtup, NULL,
                                  err);
    if (rc == 0 && old)
        rc = pgh_rules__transform(&d->row_old, p, PGH_RULES_UPDATE, old, NULL, err);
    pgh_change out = *c;
    out.u.update.rel = pgh_rules__plan_relation(p);
    out.u.update.newtup = d->row_new.tuple;
    if (old)
        out.u.update.oldtup = d->row_old.tuple;
    return rc == 0 ? send(d, &out, err) : rc;
}

/* A row that starts matching: an INSERT of the whole new row (its unchanged TOAST values
 * taken from the old row when that was sent whole). */
static int send_insert(rules_dest *d, const pgh_change *c, const pgh_rules_plan *p,
                       pgh_error *err)
{
    const pgh_tuple *fill = c->u.update.old_kind == 'O' ? &c->u.update.oldtup : NULL;
    int rc = pgh_rules__transform(&d->row_new, p, PGH_RULES_INSERT, &c->u.update.newtup, fill,
                                  err);
    pgh_change out = {.kind = PGH_CHANGE_INSERT, .wal_start = c->wal_start};
    out.u.insert.rel = pgh_rules__plan_relation(p);
    out.u.insert.newtup = d->row_new.tuple;
    return rc == 0 ? send(d, &out, err) : rc;
}

/* What an UPDATE becomes under the filters (the table at the top of this file). */
typedef enum update_verdict {
    VERDICT_UPDATE,
    VERDICT_INSERT,
    VERDICT_DELETE,
    VERDICT_DROP,
} update_verdict;

static update_verdict verdict(const pgh_change *c, const pgh_rules_plan *p)
{
    if (!pgh_rules__plan_filters(p, PGH_RULES_UPDATE))
        return VERDICT_UPDATE;
    char kind = c->u.update.old_kind;
    const pgh_tuple *nt = &c->u.update.newtup;
    /* The old row: sent whole ('O'), its key ('K'), or nothing (the key did not change). */
    const pgh_tuple *ot = kind ? &c->u.update.oldtup : nt;
    bool key_only = kind != 'O';
    pgh_rules_match newm =
        pgh_rules__match(p, PGH_RULES_UPDATE, nt, false, kind == 'O' ? ot : NULL);
    pgh_rules_match oldm = pgh_rules__match(p, PGH_RULES_UPDATE, ot, key_only, NULL);
    if (newm == PGH_RULES_UNKNOWN) /* a filtered unchanged TOAST value: it did not change */
        newm = oldm;
    if (newm == PGH_RULES_MATCH)
        return oldm == PGH_RULES_NOMATCH ? VERDICT_INSERT : VERDICT_UPDATE;
    if (newm == PGH_RULES_UNKNOWN)
        return VERDICT_UPDATE;
    return oldm == PGH_RULES_NOMATCH ? VERDICT_DROP : VERDICT_DELETE;
}

static int on_update(rules_dest *d, const pgh_change *c, const pgh_rules_plan *p,
                     pgh_error *err)
{
    char kind = c->u.update.old_kind;
    switch (verdict(c, p)) {
    case VERDICT_UPDATE:
        return send_update(d, c, p, err);
    case VERDICT_INSERT:
        return send_insert(d, c, p, err);
    case VERDICT_DELETE:
        return send_delete(d, c, p, kind ? &c->u.update.oldtup : &c->u.update.newtup,
                           kind == 'O' ? 'O' : 'K', err);
    default:
        return 0;
    }
}

static bool lacks_values(const pgh_tuple *t)
{
    for (int i = 0; i < t->natts; i++)
        if (t->values[i].kind == PGH_VALUE_UNCHANGED)
            return true;
    return false;
}

int pgh_pipeline__rules_enters(bool *out, pipe_run *r, const pgh_change *c, pgh_error *err)
{
    rules_dest *d = r->rules;
    *out = false;
    if (d == NULL || c->kind != PGH_CHANGE_UPDATE || c->u.update.old_kind == 'O' ||
        !lacks_values(&c->u.update.newtup))
        return 0;
    const pgh_rules_plan *p = NULL;
    int rc = plan_of(&p, d, c->u.update.rel, err);
    if (rc == 0 && p)
        *out = verdict(c, p) == VERDICT_INSERT;
    return rc;
}

static int on_change(void *user, const pgh_change *c, pgh_error *err)
{
    rules_dest *d = user;
    const pgh_relation *rel = c->kind == PGH_CHANGE_INSERT   ? c->u.insert.rel
                              : c->kind == PGH_CHANGE_UPDATE ? c->u.update.rel
                                                             : c->u.del.rel;
    const pgh_rules_plan *p = NULL;
    int rc = plan_of(&p, d, rel, err);
    if (rc != 0 || p == NULL)
        return rc != 0 ? rc : send(d, c, err);
    switch (c->kind) {
    case PGH_CHANGE_INSERT:
        return on_insert(d, c, p, err);
    case PGH_CHANGE_UPDATE:
        return on_update(d, c, p, err);
    default:
        return on_delete(d, c, p, err);
    }
}

int pgh_pipeline__rules_wrap(pipe_run *r, const pgh_rules *rules, pgh_error *err)
{
    rules_dest *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    d->rules = rules;
    d->real = r->ops;
    d->user = r->user;
    d->ops = (pgh_destination_ops){
        .version = PGH_DESTINATION_OPS_VERSION, .name = r->ops->name, .flags = r->ops->flags,
        .open = fwd_open, .close = fwd_close, .read_position = fwd_read_position,
        .write_position = fwd_write_position, .table_begin = on_table_begin,
        .table_rows = on_table_rows, .table_end = on_table_end, .begin = fwd_begin,
        .relation = on_relation, .message = fwd_message, .change = on_change,
        .truncate = fwd_truncate, .commit = fwd_commit, .flush = fwd_flush};
    if (r->ops->keyed) {
        d->keyed = true;
        pgh_pipeline__rules_keyed_ops(d);
        d->ops.keyed = &d->keyed_ops;
    }
    pgh_rules_row_init(&d->row_new);
    pgh_rules_row_init(&d->row_old);
    pgh_rules_row_init(&d->recopy);
    r->rules = d;
    r->ops = &d->ops;
    r->user = d;
    return 0;
}

void pgh_pipeline__rules_unwrap(pipe_run *r)
{
    rules_dest *d = r->rules;
    if (d == NULL)
        return;
    r->ops = d->real;
    r->user = d->user;
    r->rules = NULL;
    forget_all(d);
    free(d->plans);
    for (int i = 0; i < d->ntables; i++)
        pgh_rules__plan_free(d->table_plans[i]);
    free(d->table_plans);
    pgh_rules_row_dispose(&d->row_new);
    pgh_rules_row_dispose(&d->row_old);
    pgh_rules_row_dispose(&d->recopy);
    for (size_t i = 0; i < d->nrows; i++)
        pgh_rules_row_dispose(&d->rows[i]);
    free(d->rows);
    free(d->tuples);
    free(d);
}

/* A keyed destination learns the columns the rules rename and leave out (pghost/keyed.h). */
static int tell_columns(rules_dest *d, int table, const pgh_table_info *t, pgh_error *err)
{
    pgh_column_map map = pgh_rules__plan_colmap(d->table_plans[table]);
    if (map.ncolumns == 0)
        return 0;
    if (d->real->keyed->column_map == NULL)
        return pgh_error_set(err, PGH_ECONFIG, "the rules of %s.%s rename or leave out "
                             "columns, which destination %s cannot take: keep its columns",
                             t->schema, t->name, d->real->name);
    return d->real->keyed->column_map(d->user, table, &map, err);
}

/* Compile the rules against each table of the run; a keyed destination keeps the plans (its
 * copy sessions and recopies use them by table index). */
static int compile_tables(rules_dest *d, pipe_run *r, pgh_error *err)
{
    int n = r->tables.n;
    d->table_plans = calloc((size_t)n + 1, sizeof(*d->table_plans));
    if (d->table_plans == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    d->ntables = n;
    int rc = 0;
    for (int i = 0; rc == 0 && i < n; i++) {
        pgh_relation rel;
        rc = pgh_colmap_relation(&rel, r->tables.src[i], err);
        if (rc == 0)
            rc = pgh_rules__compile(&d->table_plans[i], d->rules, &rel, d->keyed, err);
        free(rel.cols);
        if (rc == 0 && d->table_plans[i] && d->keyed &&
            r->cfg->copy_format == PGH_COPY_FORMAT_BINARY)
            rc = pgh_error_set(err, PGH_ECONFIG, "copy_format binary: the rules of %s.%s work on "
                               "text rows: use copy_format auto or text",
                               r->tables.src[i]->schema, r->tables.src[i]->name);
        if (rc == 0 && d->table_plans[i] && d->keyed)
            rc = tell_columns(d, i, r->tables.src[i], err);
    }
    return rc;
}

int pgh_pipeline__rules_check(pipe_run *r, pgh_error *err)
{
    rules_dest *d = r->rules;
    int n = r->tables.n;
    const char **schemas = calloc((size_t)n + 1, sizeof(char *));
    const char **names = calloc((size_t)n + 1, sizeof(char *));
    int rc = schemas && names ? 0 : pgh_error_set(err, PGH_ENOMEM, "out of memory");
    for (int i = 0; rc == 0 && i < n; i++) {
        schemas[i] = r->tables.src[i]->schema;
        names[i] = r->tables.src[i]->name;
    }
    if (rc == 0)
        rc = pgh_rules__check_tables(d->rules, schemas, names, (size_t)n, err);
    free(schemas);
    free(names);
    for (int i = 0; i < d->ntables; i++)
        pgh_rules__plan_free(d->table_plans[i]);
    free(d->table_plans);
    d->table_plans = NULL;
    d->ntables = 0;
    return rc == 0 ? compile_tables(d, r, err) : rc;
}
