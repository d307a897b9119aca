/* The relation cache: see relcache.h. */
#include "decode/relcache.h"

#include <stdlib.h>
#include <string.h>

#include "pghost/error.h"

void pgh_decode__relcache_init(pgh_relcache *c)
{
    memset(c, 0, sizeof(*c));
}

void pgh_decode__relcache_dispose(pgh_relcache *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->cap; i++)
        free(c->slots[i]);
    free(c->slots);
    memset(c, 0, sizeof(*c));
}

/* OIDs are mostly consecutive but can differ only in their high bits: mix all 32 bits into the
 * low ones before masking (the murmur3 finalizer). */
static size_t slot_of(uint32_t oid, size_t cap)
{
    uint32_t h = oid;
    h ^= h >> 16;
    h *= UINT32_C(0x85ebca6b);
    h ^= h >> 13;
    h *= UINT32_C(0xc2b2ae35);
    h ^= h >> 16;
    return (size_t)h & (cap - 1);
}

const pgh_relation *pgh_decode__relcache_get(const pgh_relcache *c, uint32_t oid)
{
    if (c->cap == 0)
        return NULL;
    /* Terminates: the table is never more than half full. */
    for (size_t i = slot_of(oid, c->cap);; i = (i + 1) & (c->cap - 1)) {
        const pgh_relation *rel = c->slots[i];
        if (rel == NULL || rel->oid == oid)
            return rel;
    }
}

/* Place rel in slots (cap a power of two, a free slot guaranteed); returns the replaced entry. */
static pgh_relation *place(pgh_relation **slots, size_t cap, pgh_relation *rel)
{
    size_t i = slot_of(rel->oid, cap);
    while (slots[i] != NULL && slots[i]->oid != rel->oid)
        i = (i + 1) & (cap - 1);
    pgh_relation *old = slots[i];
    slots[i] = rel;
    return old;
}

static int grow(pgh_relcache *c)
{
    size_t cap = c->cap ? c->cap * 2 : 64;
    /* 64-bit size_t and uint32 OIDs: at most 2^32 entries, cap * 2 cannot overflow. */
    pgh_relation **slots = calloc(cap, sizeof(*slots));
    if (slots == NULL)
        return PGH_ENOMEM;
    for (size_t i = 0; i < c->cap; i++) {
        if (c->slots[i] != NULL)
            place(slots, cap, c->slots[i]);
    }
    free(c->slots);
    c->slots = slots;
    c->cap = cap;
    return 0;
}

int pgh_decode__relcache_put(pgh_relcache *c, pgh_relation *rel)
{
    if ((c->count + 1) * 2 > c->cap && grow(c) != 0) {
        free(rel);
        return PGH_ENOMEM;
    }
    pgh_relation *old = place(c->slots, c->cap, rel);
    if (old == NULL)
        c->count++;
    free(old);
    return 0;
}

/* The column array starts right after the relation in the same block. */
_Static_assert(sizeof(pgh_relation) % _Alignof(pgh_column) == 0,
               "pgh_column array after pgh_relation would be misaligned");

pgh_relation *pgh_decode__relation_alloc(uint16_t ncols, size_t str_bytes, char **strings_out)
{
    size_t cols_off = sizeof(pgh_relation);
    size_t strs_off = cols_off + (size_t)ncols * sizeof(pgh_column);
    if (str_bytes > SIZE_MAX - strs_off)
        return NULL;
    char *block = calloc(1, strs_off + str_bytes);
    if (block == NULL)
        return NULL;
    pgh_relation *rel = (pgh_relation *)(void *)block;
    rel->ncols = ncols;
    rel->cols = (pgh_column *)(void *)(block + cols_off);
    *strings_out = block + strs_off;
    return rel;
}
