/*
 * pghost/lsn.h - WAL positions.
 *
 * An LSN is a 64-bit byte position in the WAL. It is printed only through PGH_LSN_FMT /
 * PGH_LSN_ARGS, in PostgreSQL's "X/X" form, so every message reads the same.
 */
#ifndef PGHOST_LSN_H
#define PGHOST_LSN_H

#include <stdint.h>
#include "pghost/export.h"

PGH_BEGIN_DECLS

typedef uint64_t pgh_lsn;

#define PGH_LSN_INVALID ((pgh_lsn)0)
#define PGH_LSN_FMT "%X/%X"
#define PGH_LSN_ARGS(lsn) (unsigned)((uint64_t)(lsn) >> 32), (unsigned)((uint64_t)(lsn) & 0xffffffffu)

/* Parse "X/X" into *out. Returns 0, or PGH_ECONFIG when text is not an LSN. */
PGH_API int pgh_lsn_parse(pgh_lsn *out, const char *text);

PGH_END_DECLS

#endif
