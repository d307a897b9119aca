/*
 * Private to the destination-table creation (the files of src/schema): see schema.h.
 *
 *   types.c     types used by the tables, dependencies first (enum, domain, composite, range;
 *               arrays through their element type)
 *   tables.c    one table's CREATE TABLE (columns, identity, generated, primary key,
 *               partitioning) and the sequences its defaults call
 *   create.c    step 1: the order, the checks of existing tables, the mapping
 *   pending.c   the record of created tables, for an interrupted --follow run
 *   key_index.c the key index of a created table (not its primary key), created with it
 *               or, with the key deferred, after the copy
 *   key.c       the keys deferred to after the copy: which tables, and building them
 *   deferred.c  step 2: reading the deferred indexes and constraints from the source
 *   build.c     running statements on several destination sessions at once
 * Source reads run with search_path = pg_catalog, so that names printed by format_type,
 * pg_get_expr, pg_get_indexdef and pg_get_constraintdef are schema-qualified.
 */
#ifndef PGH_SCHEMA_INTERNAL_H
#define PGH_SCHEMA_INTERNAL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdint.h>

#include "pghost/config.h"
#include "util/buf.h"
#include "schema/schema.h"

/* What creating needs; every pointer borrowed. */
typedef struct schema_ctx {
    PGconn *src;              /* in a read-only transaction, search_path = pg_catalog */
    PGconn *dst;              /* in the caller's transaction */
    const pgh_config *cfg;
    const pgh_column_map *const *maps; /* NULL, or cfg->ntables entries (see schema.h) */
    bool defer_keys;          /* ordinary tables are created without their key (key.c) */
    const char *record_schema; /* NULL, or where created tables are recorded (schema.h) */
    const char *slot;
    pgh_schema_created *out;  /* tables created so far */
    struct schema_jobs *later; /* NULL: destination statements run at once (pgh_schema__dst);
                                  else they are added here, to run once the source's
                                  transaction has ended */
    uint32_t *types_done;     /* owned: type OIDs already handled */
    int ntypes_done;
    int types_cap;
} schema_ctx;

/* Make sure the type (source OID) exists on the destination, creating it and what it is built
 * from when missing. Built-in types are left alone; a missing base type that pghost cannot
 * create (an extension's, a C type) is PGH_EPRECOND. */
int pgh_schema__ensure_type(schema_ctx *c, uint32_t type_oid, pgh_error *err);

/* published.c: the columns publication publishes of the source table oid (decimal), as a text
 * array ("{a,b}", for a text[] parameter), or NULL when every column is (no entry, no column
 * list, a server before PostgreSQL 15). The statements reading columns, sequences, indexes and
 * constraints take it as $2 and leave out what needs an unpublished column. */
int pgh_schema__published(char **out, PGconn *src, const char *oid, const char *publication,
                          pgh_error *err);
/* The SQL condition "column name expr is published" for those statements. */
#define PGH_SCHEMA_PUBLISHED_2(name) "($2::text[] IS NULL OR " name " = ANY ($2::text[]))"

/* CREATE SCHEMA IF NOT EXISTS on the destination. */
int pgh_schema__ensure_schema(PGconn *dst, const char *schema, pgh_error *err);

/* Create the table (source OID) as dst_schema.dst_name, after its types and sequences; a
 * partition is created PARTITION OF parent_q (quoted destination name) when parent_q is not
 * NULL. map (may be NULL): its columns renamed and left out (schema.h). *key_deferred: with
 * c->defer_keys an ordinary table (not partitioned, not a partition) is created without its
 * primary key and key index, which pgh_schema_build_keys adds after the copy. */
int pgh_schema__create_table(bool *key_deferred, schema_ctx *c, uint32_t src_oid,
                             const char *dst_schema, const char *dst_name, const char *parent_q,
                             const pgh_column_map *map, pgh_error *err);

/* ALTER TABLE dst_q ADD CONSTRAINT <the source's primary key> (source table oid, decimal; its
 * columns under map's names); nothing when the source table has no primary key. */
int pgh_schema__add_primary_key(schema_ctx *c, const char *oid, const char *dst_q,
                                const pgh_column_map *map, pgh_error *err);

/* The map of the configured table src_schema.src_name, or NULL. */
const pgh_column_map *pgh_schema__map_of(const pgh_config *cfg, const pgh_column_map *const *maps,
                                         const char *src_schema, const char *src_name);

/* When the source table's (src_oid, decimal) key is a unique index other than its primary key
 * (pg/catalog.h): create that unique index on dst_q (the quoted destination table) and make it
 * the destination's replica identity, so both sides have the same key. */
int pgh_schema__create_key_index(schema_ctx *c, const char *src_oid, const char *dst_q,
                                 pgh_error *err);

/* One row of a query as text: the first column of the first row, malloc'd into *out (NULL when
 * no row or SQL NULL). */
int pgh_schema__value(char **out, PGconn *conn, const char *sql, int nparams,
                      const char *const *params, pgh_error *err);
/* Whether a relation (table, index, ...) schema.name exists on conn. */
int pgh_schema__relation_exists(bool *out, PGconn *conn, const char *schema, const char *name,
                                pgh_error *err);

/* Append the table mapping: destination schema and name of a source table, from the created
 * tables, then the configured ones. False when neither holds it. */
bool pgh_schema__map(const char **dst_schema, const char **dst_name,
                     const pgh_schema_created *created, const pgh_config *cfg,
                     const char *src_schema, const char *src_name);

/* Add a table to a created list (strings copied). */
int pgh_schema__add(pgh_schema_created *c, const char *src_schema, const char *src_name,
                    const char *dst_schema, const char *dst_name, pgh_error *err);

/* Record the created tables c in <schema>.schema_pending for slot (in dst's transaction),
 * after what an earlier run recorded for slot, and add those earlier tables to c: a run
 * killed after creating its tables but before recording its phase left them there (existing
 * now, they are not created again), and their deferred build is still to do. */
int pgh_schema__pending_record(pgh_schema_created *c, PGconn *dst, const char *schema,
                               const char *slot, pgh_error *err);

/* A list of statements to run, each job on one session: a job's statements run in order. */
typedef struct schema_jobs {
    int n;
    int cap;
    char **sql;   /* owned, n entries: one job each; statements separated by "\n;\n" */
    char **what;  /* owned, n entries: for messages ("index idx on public.t") */
} schema_jobs;

int pgh_schema__job_add(schema_jobs *j, char *sql_take, const char *what, pgh_error *err);

/* Run sql on c->dst, or add it to c->later (one job per statement, what naming it). */
int pgh_schema__dst(schema_ctx *c, const char *sql, const char *what, pgh_error *err);
void pgh_schema__jobs_dispose(schema_jobs *j);

/* Run every job, up to sessions at a time, each session with maintenance_work_mem raised and
 * holding the slot's build lock (shared). Stops at the first failure (err names the object). */
int pgh_schema__jobs_run(const schema_jobs *j, const char *dest_conninfo, const char *slot,
                         int sessions, atomic_int *cancel, pgh_error *err);

/* Every destination session building for slot holds its build lock (an advisory lock,
 * shared): that is how pgh_schema_end_orphans finds the sessions of a killed run (it ends
 * them with pg_terminate_backend, then takes the lock exclusively once, to wait for any left). */
int pgh_schema__build_lock(PGconn *dst, const char *slot, pgh_error *err);

#endif
