/*
 * The rules in front of a keyed destination's copy + catch-up (pghost/keyed.h): the copy
 * sessions see text COPY rows (tables with rules are copied in text: needs_text), and each row
 * is parsed, filtered, transformed and written again before the real session gets it; rows
 * copied again (replace_row) go through the same plan, and one that no longer passes is
 * removed. The catch-up's changes go through rules_dest.c's change callback. Plans for keyed
 * destinations keep key values as they are (rules/plan.h), but may rename columns (keys
 * included) and leave some out: the real destination then sees the destination's names in the
 * copy's column list (the columns left out dropped from each row), in the recopied rows'
 * columns and in their keys, while the pipeline reads the source by the source's names
 * (take_recopy hands it the source's key names, replace_row turns them back). Everything else
 * is passed on as is.
 */
#include <stdlib.h>
#include <string.h>

#include "rules_dest.h"

typedef struct rsession {
    rules_dest *d;               /* borrowed */
    void *real;                  /* owned (copy_close): the real destination's session */
    const pgh_rules_plan *plan;  /* borrowed: the current table's, NULL: rows pass as they are */
    int *inv;                    /* owned, nsrc: the copy column of each source column, or -1 */
    int nsrc;
    pgh_rules_fields fields;     /* one row's fields */
    pgh_value *src;              /* owned, nsrc: one row in the source's column order */
    int *emit;                   /* owned, nemit: per column passed on, the plan relation's
                                    column (>= 0) or the copy's field -1 - emit[i] as it came */
    const char **names;          /* owned array, nemit: their names at the destination */
    pgh_value *outv;             /* owned, nemit: one row passed on */
    int nemit;
    pgh_rules_row row;
    pgh_buf out;                 /* the rows passed on */
} rsession;

static const pgh_keyed_ops *real_keyed(const rules_dest *d)
{
    return d->real->keyed;
}

static const pgh_rules_plan *table_plan(const rules_dest *d, int table)
{
    return table >= 0 && table < d->ntables ? d->table_plans[table] : NULL;
}

static int s_copy_open(void *user, void **session, bool resumable, pgh_error *err)
{
    rules_dest *d = user;
    rsession *s = calloc(1, sizeof(*s));
    *session = s;
    if (s == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    s->d = d;
    pgh_rules_fields_init(&s->fields);
    pgh_rules_row_init(&s->row);
    pgh_buf_init(&s->out, 0);
    return real_keyed(d)->copy_open(d->user, &s->real, resumable, err);
}

static void s_copy_close(void *session)
{
    rsession *s = session;
    if (s == NULL)
        return;
    if (s->real)
        real_keyed(s->d)->copy_close(s->real);
    free(s->inv);
    free(s->src);
    free(s->emit);
    free(s->names);
    free(s->outv);
    pgh_rules_fields_dispose(&s->fields);
    pgh_rules_row_dispose(&s->row);
    pgh_buf_dispose(&s->out);
    free(s);
}

static void s_copy_abort(void *session, const char *why)
{
    rsession *s = session;
    if (s && s->real)
        real_keyed(s->d)->copy_abort(s->real, why);
}

static int s_copy_finish(void *session, pgh_error *err)
{
    rsession *s = session;
    return real_keyed(s->d)->copy_finish(s->real, err);
}

static int s_copy_batch_end(void *session, const pgh_copy_mark *mark, pgh_error *err)
{
    rsession *s = session;
    return real_keyed(s->d)->copy_batch_end(s->real, mark, err);
}

/* Where each source column is in the copy's columns, and which columns go on, named as the
 * destination has them. */
static int map_columns(rsession *s, const pgh_copy_target *t, pgh_error *err)
{
    free(s->inv);
    free(s->src);
    free(s->emit);
    free(s->names);
    free(s->outv);
    s->nsrc = pgh_rules__plan_colmap(s->plan).ncolumns;
    if (s->nsrc == 0) /* the plan keeps every column: its relation has the source's */
        s->nsrc = pgh_rules__plan_relation(s->plan)->ncols;
    s->inv = calloc((size_t)s->nsrc + 1, sizeof(int));
    s->src = calloc((size_t)s->nsrc + 1, sizeof(pgh_value));
    s->emit = calloc((size_t)t->ncolumns + 1, sizeof(int));
    s->names = calloc((size_t)t->ncolumns + 1, sizeof(char *));
    s->outv = calloc((size_t)t->ncolumns + 1, sizeof(pgh_value));
    s->nemit = 0;
    if (!s->inv || !s->src || !s->emit || !s->names || !s->outv)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    for (int j = 0; j < s->nsrc; j++)
        s->inv[j] = -1;
    const pgh_relation *out = pgh_rules__plan_relation(s->plan);
    for (int i = 0; i < t->ncolumns; i++) {
        int j = pgh_rules__plan_column(s->plan, t->columns[i]);
        int k = j >= 0 ? pgh_rules__plan_out_of(s->plan, j) : -1;
        if (j >= 0)
            s->inv[j] = i;
        if (j >= 0 && k < 0)
            continue; /* left out */
        s->emit[s->nemit] = k >= 0 ? k : -1 - i;
        s->names[s->nemit++] = k >= 0 ? out->cols[k].name : t->columns[i];
    }
    return 0;
}

static int s_copy_table(void *session, const pgh_copy_target *t, pgh_error *err)
{
    rsession *s = session;
    s->plan = table_plan(s->d, t->table);
    int rc = 0;
    if (s->plan && t->binary)
        rc = pgh_error_set(err, PGH_ECONFIG, "the rules of %s.%s need its copy in text format",
                           t->source_schema, t->source_name);
    if (rc == 0 && s->plan)
        rc = map_columns(s, t, err);
    pgh_copy_target seen = *t;
    if (s->plan) { /* the destination's names */
        seen.columns = s->names;
        seen.ncolumns = s->nemit;
    }
    return rc == 0 ? real_keyed(s->d)->copy_table(s->real, &seen, err) : rc;
}

/* One text row through the plan: appended to s->out when it passes. */
static int copy_row(rsession *s, const char *line, size_t len, pgh_error *err)
{
    int rc = pgh_rules__copy_parse(&s->fields, line, len, err);
    if (rc != 0)
        return rc;
    for (int j = 0; j < s->nsrc; j++) {
        int i = s->inv[j];
        s->src[j] = i >= 0 && (size_t)i < s->fields.n ? s->fields.values[i]
                                                     : (pgh_value){.kind = PGH_VALUE_NULL};
    }
    pgh_tuple t = {.natts = (uint16_t)s->nsrc, .values = s->src};
    if (pgh_rules__match(s->plan, PGH_RULES_INSERT, &t, false, NULL) != PGH_RULES_MATCH)
        return 0;
    rc = pgh_rules__transform(&s->row, s->plan, PGH_RULES_INSERT, &t, NULL, err);
    if (rc != 0)
        return rc;
    /* in the order of the destination's column list */
    for (int m = 0; m < s->nemit; m++) {
        int k = s->emit[m];
        size_t raw = (size_t)(-1 - k);
        s->outv[m] = k >= 0 ? s->row.tuple.values[k]
                     : raw < s->fields.n ? s->fields.values[raw]
                                         : (pgh_value){.kind = PGH_VALUE_NULL};
    }
    pgh_rules__copy_encode(&s->out, s->outv, (size_t)s->nemit);
    return 0;
}

static int s_copy_data(void *session, const char *data, size_t len, bool has_header,
                       bool has_trailer, pgh_error *err)
{
    rsession *s = session;
    if (s->plan == NULL)
        return real_keyed(s->d)->copy_data(s->real, data, len, has_header, has_trailer, err);
    pgh_buf_reset(&s->out);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < len;) {
        const char *nl = memchr(data + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - data) : len;
        rc = copy_row(s, data + i, end - i, err);
        i = end + 1;
    }
    if (rc == 0 && pgh_buf_failed(&s->out))
        rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
    if (rc != 0 || s->out.len == 0)
        return rc;
    return real_keyed(s->d)->copy_data(s->real, s->out.data, s->out.len, has_header, has_trailer,
                                       err);
}

/* name under map: a source column's destination name (to_dest), or a destination column's
 * source name; name itself when map does not rename it. */
static const char *map_name(const pgh_column_map *map, const char *name, bool to_dest)
{
    for (int i = 0; i < map->ncolumns; i++) {
        const char *from = to_dest ? map->source[i] : map->dest[i];
        if (from && strcmp(from, name) == 0)
            return to_dest ? map->dest[i] : map->source[i];
    }
    return name;
}

/* The source's current row through the plan: replaced transformed (under the destination's
 * column names), or removed when it no longer passes the filters. */
static int replace_planned(rules_dest *d, const pgh_rules_plan *p, const pgh_recopy_row *row,
                           const char *const *columns, const char *const *values, int ncolumns,
                           pgh_error *err)
{
    const pgh_relation *rel = pgh_rules__plan_relation(p);
    pgh_column_map map = pgh_rules__plan_colmap(p);
    int nsrc = map.ncolumns ? map.ncolumns : rel->ncols;
    pgh_value *src = calloc((size_t)nsrc + 1, sizeof(*src));
    const char **out = calloc((size_t)rel->ncols + 1, sizeof(*out));
    const char **names = calloc((size_t)rel->ncols + 1, sizeof(*names));
    const char **keys = calloc((size_t)row->nkeys + 1, sizeof(*keys));
    int rc = src && out && names && keys ? 0 : pgh_error_set(err, PGH_ENOMEM, "out of memory");
    for (int k = 0; rc == 0 && k < ncolumns; k++) {
        int at = pgh_rules__plan_column(p, columns[k]);
        if (at >= 0 && values[k])
            src[at] = (pgh_value){.kind = PGH_VALUE_TEXT, .len = (uint32_t)strlen(values[k]),
                                  .data = values[k]};
    }
    pgh_tuple t = {.natts = (uint16_t)nsrc, .values = src};
    bool keep = rc == 0 && ncolumns > 0 &&
                pgh_rules__match(p, PGH_RULES_INSERT, &t, false, NULL) == PGH_RULES_MATCH;
    if (keep)
        rc = pgh_rules__transform(&d->recopy, p, PGH_RULES_INSERT, &t, NULL, err);
    for (int k = 0; rc == 0 && keep && k < rel->ncols; k++) {
        const pgh_value *v = &d->recopy.tuple.values[k];
        names[k] = rel->cols[k].name;
        out[k] = v->kind == PGH_VALUE_TEXT ? v->data : NULL;
    }
    pgh_recopy_row seen = *row; /* its key under the destination's names */
    for (int k = 0; rc == 0 && k < row->nkeys; k++)
        keys[k] = map_name(&map, row->key_names[k], true);
    seen.key_names = (char **)keys;
    if (rc == 0)
        rc = real_keyed(d)->replace_row(d->user, &seen, names, out, keep ? rel->ncols : 0, err);
    free(src);
    free(out);
    free(names);
    free(keys);
    return rc;
}

static int k_replace_row(void *user, const pgh_recopy_row *row, const char *const *columns,
                         const char *const *values, int ncolumns, pgh_error *err)
{
    rules_dest *d = user;
    const pgh_rules_plan *p = table_plan(d, row->table);
    if (p == NULL)
        return real_keyed(d)->replace_row(d->user, row, columns, values, ncolumns, err);
    return replace_planned(d, p, row, columns, values, ncolumns, err);
}

/* The rows to copy again, their keys under the source's names (the pipeline reads them
 * there). */
static int k_take_recopy(void *user, pgh_recopy_row **rows, int *n, pgh_error *err)
{
    rules_dest *d = user;
    int rc = real_keyed(d)->take_recopy(d->user, rows, n, err);
    for (int i = 0; rc == 0 && i < *n; i++) {
        const pgh_rules_plan *p = table_plan(d, (*rows)[i].table);
        pgh_column_map map = p ? pgh_rules__plan_colmap(p) : (pgh_column_map){0};
        for (int k = 0; rc == 0 && k < (*rows)[i].nkeys; k++) {
            char **name = &(*rows)[i].key_names[k];
            const char *src = map_name(&map, *name, false);
            char *copy = src == *name ? *name : strdup(src);
            if (copy == NULL)
                rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
            else if (copy != *name) {
                free(*name);
                *name = copy;
            }
        }
    }
    return rc;
}

static bool k_needs_text(void *user, int table)
{
    rules_dest *d = user;
    return table_plan(d, table) != NULL ||
           (real_keyed(d)->needs_text && real_keyed(d)->needs_text(d->user, table));
}

/* ---- passed on as they are ---- */

static int k_prepare(void *user, bool resuming, bool truncate, pgh_error *err)
{
    rules_dest *d = user;
    return real_keyed(d)->prepare(d->user, resuming, truncate, err);
}

static int k_resume_tables(void *user, const pgh_config *fresh, pgh_config **out, pgh_error *err)
{
    rules_dest *d = user;
    return real_keyed(d)->resume_tables(d->user, fresh, out, err);
}

static int k_start(void *user, const pgh_position *pos, const pgh_config *cfg, pgh_error *err)
{
    rules_dest *d = user;
    return real_keyed(d)->start(d->user, pos, cfg, err);
}

static int k_plan_load(void *user, bool *found, const pgh_copy_plan_reader *r, pgh_error *err)
{
    rules_dest *d = user;
    return real_keyed(d)->plan_load(d->user, found, r, err);
}

static int k_plan_save(void *user, const pgh_copy_plan_unit *units, int n, pgh_error *err)
{
    rules_dest *d = user;
    return real_keyed(d)->plan_save(d->user, units, n, err);
}

static void k_set_catchup(void *user, bool catchup)
{
    rules_dest *d = user;
    real_keyed(d)->set_catchup(d->user, catchup);
}

static int k_copy_done(void *user, pgh_error *err)
{
    rules_dest *d = user;
    return real_keyed(d)->copy_done(d->user, err);
}

static int k_checkpoint(void *user, pgh_lsn checkpoint, pgh_error *err)
{
    rules_dest *d = user;
    return real_keyed(d)->checkpoint(d->user, checkpoint, err);
}

static bool k_stats(void *user, int table, pgh_keyed_stats *out)
{
    rules_dest *d = user;
    return real_keyed(d)->stats(d->user, table, out);
}

static int k_forget(void *user, pgh_error *err)
{
    rules_dest *d = user;
    return real_keyed(d)->forget(d->user, err);
}

#define OURS(field, fn) (k->field ? fn : NULL)

void pgh_pipeline__rules_keyed_ops(rules_dest *d)
{
    const pgh_keyed_ops *k = real_keyed(d);
    d->keyed_ops = (pgh_keyed_ops){
        .version = k->version,
        .prepare = OURS(prepare, k_prepare),
        .resume_tables = OURS(resume_tables, k_resume_tables),
        .start = OURS(start, k_start),
        .plan_load = OURS(plan_load, k_plan_load),
        .plan_save = OURS(plan_save, k_plan_save),
        .copy_open = OURS(copy_open, s_copy_open),
        .copy_table = OURS(copy_table, s_copy_table),
        .copy_data = OURS(copy_data, s_copy_data),
        .copy_batch_end = OURS(copy_batch_end, s_copy_batch_end),
        .copy_finish = OURS(copy_finish, s_copy_finish),
        .copy_abort = OURS(copy_abort, s_copy_abort),
        .copy_close = OURS(copy_close, s_copy_close),
        .set_catchup = OURS(set_catchup, k_set_catchup),
        .take_recopy = OURS(take_recopy, k_take_recopy),
        .replace_row = OURS(replace_row, k_replace_row),
        .copy_done = OURS(copy_done, k_copy_done),
        .checkpoint = OURS(checkpoint, k_checkpoint),
        .stats = OURS(stats, k_stats),
        .forget = OURS(forget, k_forget),
        .needs_text = k_needs_text,
        .column_map = NULL, /* the rules are the only maps: rules_dest.c tells the real one */
    };
}
