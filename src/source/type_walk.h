/*
 * Which column of a source table holds a type, or a type inside it, that lacks what pghost
 * needs of it (source/type_walk.c): key_order.c asks it of the primary key's columns
 * (ordering), keyless.c of every column of a table without a key (equality).
 */
#ifndef PGH_SOURCE_TYPE_WALK_H
#define PGH_SOURCE_TYPE_WALK_H

#include <libpq-fe.h>
#include <stdint.h>

#include "pghost/pghost.h"

typedef enum {
    PGH_TYPE_NEED_ORDER,   /* the primary key's columns, in key order: a default btree class */
    PGH_TYPE_NEED_EQUALITY /* every column, in attnum order: a default btree or hash class */
} pgh_type_need;

/* Walk the columns of table oid into domains (their base type), arrays (their element) and
 * composites (their fields); ranges and enums need nothing more. The first column with a type
 * lacking the operator class: *column and *type point into buf (both NULL when none lacks
 * it). A type with a binary-coercible cast to one that has the class counts as having it. */
int pgh_source__type_lacking(const char **column, const char **type, char *buf, size_t len,
                             PGconn *src, uint32_t oid, pgh_type_need need, pgh_error *err);

#endif
