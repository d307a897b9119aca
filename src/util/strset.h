/*
 * util/strset.h - a set of byte strings (open addressing, FNV-1a), for keys seen in a window.
 *
 * Members are copied in; the set grows as needed and never shrinks until reset or disposed.
 * Not thread-safe.
 */
#ifndef PGH_UTIL_STRSET_H
#define PGH_UTIL_STRSET_H

#include <stdbool.h>
#include <stddef.h>

typedef struct pgh_strset_entry {
    char *data; /* owned, NULL for an empty slot */
    size_t len;
} pgh_strset_entry;

typedef struct pgh_strset {
    pgh_strset_entry *slots; /* owned */
    size_t cap;              /* a power of two, or 0 */
    size_t n;                /* members */
} pgh_strset;

/* Caller owns the struct (zeroed is an empty set). */
void pgh_strset_init(pgh_strset *s);
void pgh_strset_dispose(pgh_strset *s);
void pgh_strset_reset(pgh_strset *s);

/* Add a member (no-op when present). Returns false when out of memory. */
bool pgh_strset_add(pgh_strset *s, const char *data, size_t len);
bool pgh_strset_has(const pgh_strset *s, const char *data, size_t len);

#endif
