/* Columns renamed and left out by rules: see colmap.h. */
#include "pg/colmap.h"

#include <stdlib.h>
#include <string.h>

const char *pgh_colmap_dest(const pgh_column_map *m, const char *source)
{
    for (int i = 0; m && i < m->ncolumns; i++) {
        if (strcmp(m->source[i], source) == 0)
            return m->dest[i];
    }
    return source;
}

bool pgh_colmap_changes(const pgh_column_map *m)
{
    for (int i = 0; m && i < m->ncolumns; i++) {
        if (m->dest[i] == NULL || strcmp(m->dest[i], m->source[i]) != 0)
            return true;
    }
    return false;
}

static void free_column(pgh_table_column *c)
{
    free(c->name);
    free(c->type_name);
    free(c->cast_name);
}

int pgh_colmap_apply(pgh_table_info *t, const pgh_column_map *m, pgh_error *err)
{
    if (m == NULL)
        return 0;
    int kept = 0;
    for (int i = 0; i < t->ncols; i++) {
        const char *to = pgh_colmap_dest(m, t->cols[i].name);
        if (to == NULL && t->cols[i].key_position > 0)
            return pgh_error_set(err, PGH_ECONFIG, "key column %s of %s.%s cannot be left out",
                                 t->cols[i].name, t->schema, t->name);
        if (to == NULL) {
            free_column(&t->cols[i]);
            continue;
        }
        if (to != t->cols[i].name) {
            char *name = strdup(to);
            if (name == NULL)
                return pgh_error_set(err, PGH_ENOMEM, "out of memory");
            free(t->cols[i].name);
            t->cols[i].name = name;
        }
        t->cols[kept] = t->cols[i];
        if (t->cols[kept].key_position > 0)
            t->key_cols[t->cols[kept].key_position - 1] = kept;
        kept++;
    }
    t->ncols = kept;
    return 0;
}

int pgh_colmap_relation(pgh_relation *rel, const pgh_table_info *t, pgh_error *err)
{
    *rel = (pgh_relation){.oid = t->oid, .nspname = t->schema, .relname = t->name,
                          .replident = t->replident};
    rel->cols = calloc((size_t)t->ncols + 1, sizeof(*rel->cols));
    if (rel->cols == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    for (int i = 0; i < t->ncols; i++) {
        if (t->cols[i].generated)
            continue;
        rel->cols[rel->ncols++] = (pgh_column){.name = t->cols[i].name,
                                               .type_oid = t->cols[i].type_oid, .typmod = -1,
                                               .is_key = t->cols[i].key_position > 0};
    }
    return 0;
}

pgh_column_map *pgh_colmap_dup(const pgh_column_map *m)
{
    pgh_column_map *c = calloc(1, sizeof(*c));
    char **src = calloc((size_t)m->ncolumns + 1, sizeof(char *));
    char **dst = calloc((size_t)m->ncolumns + 1, sizeof(char *));
    bool ok = c && src && dst;
    if (c) {
        c->source = (const char *const *)src;
        c->dest = (const char *const *)dst;
    }
    for (int i = 0; ok && i < m->ncolumns; i++) {
        c->ncolumns = i + 1;
        src[i] = strdup(m->source[i]);
        dst[i] = m->dest[i] ? strdup(m->dest[i]) : NULL;
        ok = src[i] && (dst[i] || !m->dest[i]);
    }
    if (ok)
        return c;
    if (c == NULL) {
        free(src);
        free(dst);
    }
    pgh_colmap_free(c);
    return NULL;
}

void pgh_colmap_free(pgh_column_map *m)
{
    if (m == NULL)
        return;
    for (int i = 0; i < m->ncolumns; i++) {
        free((char *)m->source[i]);
        free((char *)m->dest[i]);
    }
    free((void *)m->source);
    free((void *)m->dest);
    free(m);
}
