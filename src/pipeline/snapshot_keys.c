/*
 * Keys of the existing rows and of the changes, as one comparable byte string each: per key
 * column its length and its text (the source's text output, which the stream and a SELECT both
 * give in the session settings every pghost connection has). See snapshot.h.
 */
#include <stdlib.h>
#include <string.h>

#include "snapshot.h"

void pgh_snapshot__keys_free(char **keys, int n)
{
    for (int i = 0; keys && i < n; i++)
        free(keys[i]);
    free(keys);
}

char **pgh_snapshot__keys_dup(const char *const *keys, int n)
{
    char **out = calloc((size_t)n + 1, sizeof(char *));
    for (int i = 0; out && i < n; i++) {
        out[i] = strdup(keys[i]);
        if (out[i] == NULL) {
            pgh_snapshot__keys_free(out, i);
            return NULL;
        }
    }
    return out;
}

static void put_part(pgh_buf *buf, const char *data, size_t len)
{
    pgh_buf_printf(buf, "%zu:", len);
    pgh_buf_append(buf, data, len);
}

void pgh_snapshot__keymap(snap_keymap *m, const snapshot *s, const pgh_relation *rel)
{
    memset(m, 0, sizeof(*m));
    m->rel_oid = rel->oid;
    m->rel = rel;
    m->table = -1;
    for (int t = 0; t < s->ntables; t++) {
        const pgh_table_info *info = s->tables[t].info;
        if (info == NULL || strcmp(info->schema, rel->nspname) != 0 ||
            strcmp(info->name, rel->relname) != 0)
            continue;
        m->nkeys = info->nkeys < 32 ? info->nkeys : 32;
        for (int k = 0; k < m->nkeys; k++) {
            const char *name = info->cols[info->key_cols[k]].name;
            m->att[k] = -1;
            for (int a = 0; a < rel->ncols; a++)
                if (strcmp(rel->cols[a].name, name) == 0)
                    m->att[k] = a;
        }
        m->table = t;
        return;
    }
}

bool pgh_snapshot__tuple_key(pgh_buf *buf, const snap_keymap *m, const pgh_tuple *tup)
{
    pgh_buf_reset(buf);
    for (int k = 0; k < m->nkeys; k++) {
        int a = m->att[k];
        if (a < 0 || a >= tup->natts)
            return false;
        const pgh_value *v = &tup->values[a];
        if (v->kind == PGH_VALUE_UNCHANGED || v->kind == PGH_VALUE_BINARY)
            return false;
        if (v->kind == PGH_VALUE_NULL)
            pgh_buf_puts(buf, "n;");
        else
            put_part(buf, v->data, v->len);
    }
    return !pgh_buf_failed(buf);
}

void pgh_snapshot__row_key(pgh_buf *buf, const snap_table *t, PGresult *rows, int i)
{
    pgh_buf_reset(buf);
    for (int k = 0; k < t->nkeys; k++) {
        int a = t->key_att[k];
        if (PQgetisnull(rows, i, a))
            pgh_buf_puts(buf, "n;");
        else
            put_part(buf, PQgetvalue(rows, i, a), (size_t)PQgetlength(rows, i, a));
    }
}

int pgh_snapshot__relation(snap_table *t, pgh_error *err)
{
    const pgh_table_info *info = t->info;
    pgh_relation *rel = &t->rel;
    rel->oid = info->oid;
    rel->nspname = strdup(info->schema);
    rel->relname = strdup(info->name);
    rel->replident = info->replident;
    rel->cols = calloc((size_t)info->ncols + 1, sizeof(*rel->cols));
    if (rel->nspname == NULL || rel->relname == NULL || rel->cols == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    for (int i = 0; i < info->ncols; i++) {
        const pgh_table_column *c = &info->cols[i];
        if (c->generated)
            continue;
        pgh_column *col = &rel->cols[rel->ncols++];
        col->name = strdup(c->name);
        col->type_oid = c->type_oid;
        col->typmod = c->typmod;
        col->is_key = c->key_position > 0;
        if (col->name == NULL)
            return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    }
    t->nkeys = info->nkeys < 32 ? info->nkeys : 32;
    for (int k = 0; k < t->nkeys; k++) {
        const char *name = info->cols[info->key_cols[k]].name;
        for (int a = 0; a < rel->ncols; a++)
            if (strcmp(rel->cols[a].name, name) == 0)
                t->key_att[k] = a;
    }
    return 0;
}

void pgh_snapshot__relation_dispose(snap_table *t)
{
    pgh_relation *rel = &t->rel;
    for (int i = 0; rel->cols && i < rel->ncols; i++)
        free(rel->cols[i].name);
    free(rel->cols);
    free(rel->nspname);
    free(rel->relname);
    memset(rel, 0, sizeof(*rel));
}
