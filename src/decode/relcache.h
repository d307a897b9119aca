/*
 * decode/relcache.h - the decoder's relation cache: source relation OID -> pgh_relation.
 *
 * pgoutput announces each relation with a Relation message before the first change that uses it
 * (and again after its definition changes), then names it only by OID. The cache owns every
 * pgh_relation in it. Entries are never removed one by one, only replaced (a newer Relation
 * message for the same OID) or freed all together, so the table needs no tombstones.
 *
 * A relation and everything it points to (columns, names) live in one allocation, freed with
 * free(); pgh_decode__relation_alloc makes that block.
 */
#ifndef PGH_DECODE_RELCACHE_H
#define PGH_DECODE_RELCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "pghost/change.h"

typedef struct pgh_relcache {
    pgh_relation **slots; /* owned: cap entries, open addressing, NULL when empty */
    size_t cap;           /* 0 or a power of two */
    size_t count;         /* occupied slots; kept at most cap / 2 */
} pgh_relcache;

void pgh_decode__relcache_init(pgh_relcache *c);
/* Free every cached relation and the table. */
void pgh_decode__relcache_dispose(pgh_relcache *c);

/* The relation cached for oid, or NULL. Borrowed until replaced or disposed. */
const pgh_relation *pgh_decode__relcache_get(const pgh_relcache *c, uint32_t oid);

/*
 * Cache rel (ownership moves to the cache, also on failure), replacing and freeing any relation
 * with the same OID. Returns 0 or PGH_ENOMEM.
 */
int pgh_decode__relcache_put(pgh_relcache *c, pgh_relation *rel);

/*
 * Allocate one zeroed block for a relation with ncols columns and str_bytes bytes of names
 * (NULs included). The relation's cols points into the block and *strings_out at the free space
 * for the names. Returns NULL when out of memory. Free the block with free().
 */
pgh_relation *pgh_decode__relation_alloc(uint16_t ncols, size_t str_bytes, char **strings_out);

#endif
