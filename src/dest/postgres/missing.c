/* The set of rows the catch-up could not complete: see pghost/apply.h and apply_internal.h. */
#include <stdlib.h>
#include <string.h>

#include "apply_internal.h"

static bool same_key(const pgh_apply_missing *row, const apply_rel *r, const pgh_tuple *tup)
{
    if (row->table != r->map || row->nkeys != r->nkeys)
        return false;
    for (int k = 0; k < r->nkeys; k++) {
        const pgh_value *v = &tup->values[r->key_att[k]];
        if (strlen(row->keys[k]) != v->len || memcmp(row->keys[k], v->data, v->len) != 0)
            return false;
    }
    return true;
}

static void free_row(pgh_apply_missing *row)
{
    for (int k = 0; row->keys && k < row->nkeys; k++)
        free(row->keys[k]);
    free(row->keys);
}

static int find(const missing_set *m, const apply_rel *r, const pgh_tuple *tup)
{
    for (int i = 0; i < m->n; i++)
        if (same_key(&m->rows[i], r, tup))
            return i;
    return -1;
}

int pgh_apply__missing_add(missing_set *m, const apply_rel *r, const pgh_tuple *tup)
{
    if (find(m, r, tup) >= 0)
        return 0;
    if (m->n == m->cap) {
        int cap = m->cap ? m->cap * 2 : 16;
        pgh_apply_missing *rows = realloc(m->rows, (size_t)cap * sizeof(*rows));
        if (rows == NULL)
            return PGH_ENOMEM;
        m->rows = rows;
        m->cap = cap;
    }
    pgh_apply_missing *row = &m->rows[m->n];
    row->table = r->map;
    row->nkeys = r->nkeys;
    row->keys = calloc((size_t)r->nkeys, sizeof(char *));
    if (row->keys == NULL)
        return PGH_ENOMEM;
    for (int k = 0; k < r->nkeys; k++) {
        const pgh_value *v = &tup->values[r->key_att[k]];
        row->keys[k] = strndup(v->data ? v->data : "", v->len);
        if (row->keys[k] == NULL) {
            free_row(row);
            return PGH_ENOMEM;
        }
    }
    m->n++;
    return 0;
}

void pgh_apply__missing_remove(missing_set *m, const apply_rel *r, const pgh_tuple *tup)
{
    if (m->n == 0)
        return;
    int i = find(m, r, tup);
    if (i < 0)
        return;
    free_row(&m->rows[i]);
    m->rows[i] = m->rows[--m->n];
}

void pgh_apply__missing_remove_table(missing_set *m, int table)
{
    for (int i = 0; i < m->n;) {
        if (m->rows[i].table == table) {
            free_row(&m->rows[i]);
            m->rows[i] = m->rows[--m->n];
        } else {
            i++;
        }
    }
}

void pgh_apply__missing_dispose(missing_set *m)
{
    for (int i = 0; i < m->n; i++)
        free_row(&m->rows[i]);
    free(m->rows);
    memset(m, 0, sizeof(*m));
}

void pgh_apply_missing_free(pgh_apply_missing *rows, int count)
{
    for (int i = 0; rows && i < count; i++)
        free_row(&rows[i]);
    free(rows);
}
