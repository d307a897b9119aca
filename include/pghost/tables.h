/*
 * pghost/tables.h - the configured tables made concrete against the source.
 *
 * tables: entries may name tables by pattern (wildcards) and exclude_tables removes some; a
 * partitioned table is selected through its root. Every command that works on "the selected
 * tables" calls pgh_tables_resolve once, right after connecting to the source, and from then on
 * uses cfg->tables, which then lists concrete tables only (source and destination names), in a
 * stable order.
 */
#ifndef PGHOST_TABLES_H
#define PGHOST_TABLES_H

#include <libpq-fe.h>

#include "pghost/config.h"
#include "pghost/error.h"

/* Replace pattern entries of cfg->tables by the matching tables of the source (minus the
 * excluded ones). A pattern that matches nothing is PGH_ECONFIG with a message naming it. */
int pgh_tables_resolve(pgh_config *cfg, PGconn *src, pgh_error *err);

#endif
