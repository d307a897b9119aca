/*
 * dest/json/json_position.h - deep copies of pgh_position, for the destinations that keep one
 * past the call that handed it over (private to dest/stdout/ and dest/file/).
 */
#ifndef PGH_DEST_JSON_JSON_POSITION_H
#define PGH_DEST_JSON_JSON_POSITION_H

#include <stdbool.h>

#include "pghost/destination.h"
#include "pghost/error.h"

/* Free p->resume and zero *p. */
void pgh_json__position_dispose(pgh_position *p);

/* Replace *dst with a deep copy of *src (the phase bounded, resume duplicated). PGH_ENOMEM
 * (then *dst is unchanged). */
int pgh_json__position_set(pgh_position *dst, const pgh_position *src, pgh_error *err);

/* Whether a and b hold the same position, resume token included. */
bool pgh_json__position_equal(const pgh_position *a, const pgh_position *b);

#endif
