/*
 * pghost/tables.h - the configured tables made concrete against the source.
 *
 * tables: entries may name tables by pattern (wildcards, see pghost/config.h) and
 * exclude_tables removes some of their matches; a partitioned table is selected through its
 * root, never through its partitions. Every command that works on "the selected tables" calls
 * pgh_tables_resolve once, right after connecting to the source, and from then on uses
 * cfg->tables, which then lists concrete tables only (source and destination names), in a
 * stable order: file order, each pattern's matches sorted by schema and name. A table named by
 * an entry of its own comes from that entry only; a table several patterns match, once.
 */
#ifndef PGHOST_TABLES_H
#define PGHOST_TABLES_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "pghost/config.h"
#include "pghost/error.h"

/* Replace pattern entries of cfg->tables (and cfg->table_lines) by the matching tables of the
 * source, minus the excluded ones, and set cfg->tables_resolved. A pattern that matches no
 * table, or two tables that would land in one destination, is PGH_ECONFIG with one line naming
 * the entry's line in the file. Without patterns, and when already resolved, nothing changes
 * (no query is sent). */
int pgh_tables_resolve(pgh_config *cfg, PGconn *src, pgh_error *err);

/* The same over a short connection of its own to cfg->source_connection (for callers that
 * hold none yet, such as the command line before pgh_replicate_run). */
int pgh_tables_resolve_at_source(pgh_config *cfg, pgh_error *err);

/* True when an entry of cfg->tables still holds a pattern. */
bool pgh_tables_has_patterns(const pgh_config *cfg);

#endif
