/* A set of byte strings: see strset.h. */
#include "util/strset.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t hash(const char *data, size_t len)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)data[i];
        h *= 1099511628211ULL;
    }
    return h;
}

void pgh_strset_init(pgh_strset *s)
{
    memset(s, 0, sizeof(*s));
}

void pgh_strset_reset(pgh_strset *s)
{
    for (size_t i = 0; i < s->cap; i++) {
        free(s->slots[i].data);
        s->slots[i].data = NULL;
    }
    s->n = 0;
}

void pgh_strset_dispose(pgh_strset *s)
{
    pgh_strset_reset(s);
    free(s->slots);
    memset(s, 0, sizeof(*s));
}

/* The slot holding data, or the empty slot where it would go. */
static pgh_strset_entry *find(const pgh_strset *s, const char *data, size_t len)
{
    size_t mask = s->cap - 1;
    for (size_t i = hash(data, len) & mask;; i = (i + 1) & mask) {
        pgh_strset_entry *e = &s->slots[i];
        if (e->data == NULL || (e->len == len && memcmp(e->data, data, len) == 0))
            return e;
    }
}

static bool grow(pgh_strset *s)
{
    size_t cap = s->cap ? s->cap * 2 : 64;
    pgh_strset_entry *old = s->slots;
    size_t old_cap = s->cap;
    s->slots = calloc(cap, sizeof(*s->slots));
    if (s->slots == NULL) {
        s->slots = old;
        return false;
    }
    s->cap = cap;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].data)
            *find(s, old[i].data, old[i].len) = old[i];
    free(old);
    return true;
}

bool pgh_strset_add(pgh_strset *s, const char *data, size_t len)
{
    if ((s->n + 1) * 2 > s->cap && !grow(s))
        return false;
    pgh_strset_entry *e = find(s, data, len);
    if (e->data)
        return true;
    e->data = malloc(len ? len : 1);
    if (e->data == NULL)
        return false;
    memcpy(e->data, data, len);
    e->len = len;
    s->n++;
    return true;
}

bool pgh_strset_has(const pgh_strset *s, const char *data, size_t len)
{
    return s->cap != 0 && find(s, data, len)->data != NULL;
}
