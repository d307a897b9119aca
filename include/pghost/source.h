/*
 * pghost/source.h - a PostgreSQL source: its connections, publication, slot, table selection
 * and copy options, all from a configuration (pghost/config.h).
 *
 * pgh_source_open checks nothing on the source but the tables: it connects once, expands the
 * table patterns of the configuration against the source's catalogs, and keeps the result. The
 * configuration itself is never changed: the source works on its own resolved copy. The
 * pipeline (pghost/pipeline.h) does the rest: preflight, slot, copy, stream.
 *
 * Threading: a source is used by one pipeline run at a time; it holds no connection between
 * calls.
 */
#ifndef PGHOST_SOURCE_H
#define PGHOST_SOURCE_H

#include "pghost/config.h"
#include "pghost/error.h"
#include "pghost/export.h"

PGH_BEGIN_DECLS

typedef struct pgh_source pgh_source;

/*
 * A source for cfg (borrowed; it must outlive the source). A pattern that matches no table is
 * PGH_ECONFIG (one line naming its place in the file); an unreachable server PGH_ECONN. Free
 * with pgh_source_close.
 */
PGH_API int pgh_source_open(pgh_source **out, const pgh_config *cfg, pgh_error *err);
PGH_API void pgh_source_close(pgh_source *s);

/* The configuration with every table pattern replaced by the tables it matched (owned by the
 * source, valid until pgh_source_close). */
PGH_API const pgh_config *pgh_source_config(const pgh_source *s);

PGH_END_DECLS

#endif
