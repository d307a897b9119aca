/*
 * pghost/schema.h - creating the destination tables from the source's definitions
 * (create_destination_tables: true, replicate --create-tables).
 *
 * Two steps, around the copy:
 *   1. pgh_schema_create, before the slot and the copy, in the caller's open destination
 *      transaction (all or nothing): the schemas, the enum, domain, composite and range types
 *      the tables use (arrays of them and types they are built from included, dependencies
 *      first), the sequences their defaults call, and every missing table with its columns,
 *      types, collations, defaults, NOT NULL, identity and generated columns and its primary
 *      key. A partitioned table gets its PARTITION BY and every partition (PARTITION OF ...
 *      FOR VALUES ...). With a record_schema and on_conflict_action error, an ordinary table
 *      is created without its primary key and key index: pgh_schema_build_keys adds them after
 *      the copy, before the catch-up (step 1b). Configured tables that exist already are compared with the source
 *      (columns, types, primary key) and a difference fails with one line naming it; an
 *      existing table is never altered.
 *   2. pgh_schema_build_deferred, after the copy and the catch-up: the other indexes and the
 *      unique, exclusion and check constraints (several at a time, on parallel destination
 *      sessions with a raised maintenance_work_mem), then the foreign keys (added NOT VALID,
 *      then validated in parallel). Only on tables step 1 created. Idempotent: what exists
 *      already on the destination is skipped, so an interrupted build is finished by a re-run.
 *
 * Definitions are read from the source's catalogs with pg_get_indexdef, pg_get_constraintdef,
 * pg_get_expr and format_type, under search_path = pg_catalog so that every name they print is
 * schema-qualified. Table names follow the configured mapping (source -> destination) in every
 * statement, foreign-key references included; types, sequences, indexes and constraints keep
 * their source names. Not created: triggers, rules, policies, views, functions, comments,
 * grants, statistics objects, tablespaces.
 *
 * Threading: one caller; build_deferred starts and joins its own threads, each with its own
 * connection.
 */
#ifndef PGHOST_SCHEMA_H
#define PGHOST_SCHEMA_H

#include <libpq-fe.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "pghost/config.h"
#include "pghost/error.h"
#include "pghost/keyed.h"

/* maintenance_work_mem of the sessions building deferred indexes and constraints. */
#define PGH_SCHEMA_MAINTENANCE_WORK_MEM "512MB"

/* A table pghost created: a configured table, or a partition of one. */
typedef struct pgh_schema_table {
    char *source_schema; /* owned */
    char *source_name;   /* owned */
    char *dest_schema;   /* owned */
    char *dest_name;     /* owned */
} pgh_schema_table;

/* The tables one run created, partitions after their parents. */
typedef struct pgh_schema_created {
    int n;
    pgh_schema_table *tables; /* owned, n entries */
} pgh_schema_created;

/* Release the insides; the struct is left empty. Accepts NULL. */
void pgh_schema_created_dispose(pgh_schema_created *c);

/*
 * Step 1, on dst inside a transaction the caller opened (and commits or rolls back). Creates
 * what is missing for cfg->tables; fills *out with the tables created. A configured table
 * missing on the source is left alone (preflight reports it). An existing destination table
 * that differs from the source is PGH_EPRECOND. When record_schema is not NULL the created
 * tables are also recorded in <record_schema>.schema_pending under slot, in the same
 * transaction, for pgh_schema_pending_read after an interruption; tables an earlier run
 * recorded there for slot are added to *out (their deferred build is still to do).
 */
int pgh_schema_create(pgh_schema_created *out, PGconn *src, PGconn *dst, const pgh_config *cfg,
                      const char *record_schema, const char *slot, pgh_error *err);

/* pgh_schema_create in a destination transaction of its own that stays open, so that the
 * preflight's destination checks see the new tables and a failed check leaves nothing:
 * BEGIN on dst and create; then pgh_schema_end COMMITs when rc is 0, else ROLLs BACK (returns
 * rc, or the COMMIT's failure). maps: NULL, or cfg->ntables entries (NULL entries: the
 * source's columns): configured table i is created, and an existing one checked, with its
 * columns as maps[i] renames them and leaves them out (its primary key under the new names;
 * a generated column, a partition key or a key index other than the primary key that names
 * a changed column makes the CREATE fail, naming it). */
int pgh_schema_begin(pgh_schema_created *out, PGconn *src, PGconn *dst, const pgh_config *cfg,
                     const pgh_column_map *const *maps, const char *record_schema,
                     pgh_error *err);
int pgh_schema_end(PGconn *dst, int rc, pgh_error *err);

/* The tables recorded by pgh_schema_create for slot and not yet finished (empty when none). */
int pgh_schema_pending_read(pgh_schema_created *out, PGconn *dst, const char *record_schema,
                            const char *slot, pgh_error *err);

/* Forget the slot's record (after the deferred build); drops the table when empty. */
int pgh_schema_pending_clear(PGconn *dst, const char *record_schema, const char *slot,
                             pgh_error *err);

/*
 * End the destination sessions that an interrupted deferred build for slot left running (a
 * killed client's statement runs on to its end, holding its locks, and commits), and wait for
 * those that cannot be ended. pgh_schema_build_deferred does it too; a resumed run calls it
 * first, before anything it does could queue behind their locks.
 */
int pgh_schema_end_orphans(PGconn *dst, const char *slot, pgh_error *err);

/* The tables created without their key whose key is not built yet (empty when none), in
 * <record_schema>.key_pending, visible in the creating transaction too. */
int pgh_schema_keys_pending(pgh_schema_created *out, PGconn *dst, const char *record_schema,
                            const char *slot, pgh_error *err);

/* Step 1b, after the copy and before the catch-up: build every key pending for cfg's slot
 * (ALTER TABLE ... ADD CONSTRAINT ... PRIMARY KEY, or the key index and its REPLICA IDENTITY
 * as step 1 would have), each in one destination transaction with its record's removal, so a
 * re-run finishes what an interrupted one left. *built: keys built. dst must be idle (no open
 * transaction); src is used in a read-only transaction of its own. A duplicate key fails with
 * the destination table named. */
int pgh_schema_build_keys(int *built, PGconn *src, PGconn *dst, const pgh_config *cfg,
                          const pgh_column_map *const *maps, pgh_error *err);

typedef struct pgh_schema_build_opts {
    int version;                 /* PGH_SCHEMA_BUILD_OPTS_VERSION */
    const pgh_config *config;    /* borrowed: connections and the table mapping */
    int sessions;                /* parallel destination sessions, >= 1 */
    atomic_int *cancel;          /* borrowed, may be NULL: non-zero stops between objects */
    const pgh_column_map *const *maps; /* borrowed, may be NULL: as for pgh_schema_begin; an
                                          index or constraint naming a column renamed or left
                                          out is not built (a warning names it) */
} pgh_schema_build_opts;

#define PGH_SCHEMA_BUILD_OPTS_VERSION 1
#define PGH_SCHEMA_BUILD_OPTS_INIT {PGH_SCHEMA_BUILD_OPTS_VERSION, NULL, 4, NULL, NULL}

/*
 * Step 2: build the deferred indexes and constraints of the created tables. *built (may be
 * NULL) gets the number of objects built (skipped ones not counted). A foreign key whose
 * referenced table is neither configured nor created is left out with a warning in the log.
 * First ends the destination sessions an interrupted build for the same slot left running
 * (and waits for those it cannot end), so that none of them commits an object meanwhile.
 */
int pgh_schema_build_deferred(int *built, const pgh_schema_created *tables,
                              const pgh_schema_build_opts *o, pgh_error *err);

#endif
