/* Text parameters for prepared statements: see apply_internal.h. */
#include <stdlib.h>
#include <string.h>

#include "apply_internal.h"

void pgh_apply__params_init(apply_params *p)
{
    memset(p, 0, sizeof(*p));
    pgh_buf_init(&p->data, 0);
}

void pgh_apply__params_dispose(apply_params *p)
{
    pgh_buf_dispose(&p->data);
    free(p->offsets);
    free(p->nulls);
    free(p->atts);
    free(p->values);
    memset(p, 0, sizeof(*p));
}

void pgh_apply__params_reset(apply_params *p)
{
    pgh_buf_reset(&p->data);
    p->n = 0;
}

static bool grow(apply_params *p)
{
    int cap = p->cap ? p->cap * 2 : 32;
    size_t *offsets = realloc(p->offsets, (size_t)cap * sizeof(*offsets));
    if (offsets == NULL)
        return false;
    p->offsets = offsets;
    bool *nulls = realloc(p->nulls, (size_t)cap * sizeof(*nulls));
    if (nulls == NULL)
        return false;
    p->nulls = nulls;
    short *atts = realloc(p->atts, (size_t)cap * sizeof(*atts));
    if (atts == NULL)
        return false;
    p->atts = atts;
    const char **values = realloc(p->values, (size_t)cap * sizeof(*values));
    if (values == NULL)
        return false;
    p->values = values;
    p->cap = cap;
    return true;
}

int pgh_apply__params_add(apply_params *p, const pgh_value *v, int att)
{
    if (p->n == p->cap && !grow(p))
        return 0;
    bool is_null = v == NULL || v->kind == PGH_VALUE_NULL;
    p->nulls[p->n] = is_null;
    p->atts[p->n] = (short)att;
    p->offsets[p->n] = p->data.len;
    if (!is_null) {
        pgh_buf_append(&p->data, v->data, v->len);
        pgh_buf_putc(&p->data, '\0');
    }
    if (pgh_buf_failed(&p->data))
        return 0;
    return ++p->n;
}

const char *const *pgh_apply__params_finish(apply_params *p)
{
    if (p->n == 0 && p->cap == 0 && !grow(p))
        return NULL;
    for (int i = 0; i < p->n; i++)
        p->values[i] = p->nulls[i] ? NULL : p->data.data + p->offsets[i];
    return p->values;
}
