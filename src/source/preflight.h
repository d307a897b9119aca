/*
 * The source side of the preflight: every check that must pass on the source before a sync
 * writes anything. Each failure is PGH_EPRECOND with one line saying what is wrong and what to
 * run. One short query per check; no transaction is held.
 */
#ifndef PGH_SOURCE_PREFLIGHT_H
#define PGH_SOURCE_PREFLIGHT_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "pg/catalog.h"
#include "pghost/config.h"
#include "pghost/error.h"

/* wal_level, the REPLICATION attribute and (when slot_must_be_free) the slot name. */
int pgh_source_check_server(PGconn *src, const pgh_config *cfg, bool slot_must_be_free,
                            pgh_error *err);

/* The publication exists and publishes every kind of change. */
int pgh_source_check_publication(PGconn *src, const pgh_config *cfg, pgh_error *err);

/* A table can be synced: a primary key and a replica identity that carries it, a key keyset
 * pagination can use, its partitions published through the root, and it is in the
 * publication. */
int pgh_source_check_table(const pgh_table_info *t, PGconn *src, const pgh_config *cfg,
                           pgh_error *err);

/* A replication session can be opened with the configured connection. */
int pgh_source_check_replication_connection(const pgh_config *cfg, pgh_error *err);

#endif
