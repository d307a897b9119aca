/*
 * The source side of the preflight: every check that must pass on the source before a sync
 * writes anything. Each failure is PGH_EPRECOND with one line saying what is wrong and what to
 * run; every suggested statement quotes its identifiers with libpq's escaping. One short query
 * per check; no transaction is held; nothing is written.
 *
 * Callers: the replicate preflight (pipeline/preflight.c) stops at the first failure; pghost
 * init and pghost check (admin/) call the checks one by one, to list every problem.
 */
#ifndef PGH_SOURCE_PREFLIGHT_H
#define PGH_SOURCE_PREFLIGHT_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "pg/catalog.h"
#include "pghost/config.h"
#include "pghost/error.h"
#include "util/buf.h"

/* wal_level is logical. */
int pgh_source_check_wal_level(PGconn *src, pgh_error *err);

/* The session's role has REPLICATION or is a superuser. */
int pgh_source_check_role(PGconn *src, pgh_error *err);

/* No replication slot named cfg->slot_name exists. */
int pgh_source_check_slot_free(PGconn *src, const pgh_config *cfg, pgh_error *err);

/* wal_level, the REPLICATION attribute and (when slot_must_be_free) the slot name. */
int pgh_source_check_server(PGconn *src, const pgh_config *cfg, bool slot_must_be_free,
                            pgh_error *err);

/* A free replication slot (unless cfg's slot exists already) and a free WAL sender; the free
 * counts go to *slots_free and *wal_senders_free also when the check fails. */
int pgh_source_check_capacity(int *slots_free, int *wal_senders_free, PGconn *src,
                              const pgh_config *cfg, pgh_error *err);

/* The publication exists and publishes every kind of change. A missing one is reported with
 * the CREATE PUBLICATION that names every configured table. */
int pgh_source_check_publication(PGconn *src, const pgh_config *cfg, pgh_error *err);

/* What keeps a table's key from serving a sync: nothing (a primary key with REPLICA IDENTITY
 * DEFAULT or FULL, or REPLICA IDENTITY USING INDEX, whose index is then the key), no key (no
 * primary key and another replica identity), or a replica identity that does not carry the
 * primary key (NOTHING). The one test of both; pgh_source_check_table_key and pghost init word
 * the answer each their way. */
typedef enum pgh_key_fault {
    PGH_KEY_FAULT_NONE,
    PGH_KEY_FAULT_NO_KEY,
    PGH_KEY_FAULT_REPLIDENT
} pgh_key_fault;
pgh_key_fault pgh_source_key_fault(const pgh_table_info *t);

/* How a replica identity is spelled in ALTER TABLE: "NOTHING", "USING INDEX", "DEFAULT" or
 * "FULL". */
const char *pgh_source_replident_name(char replident);

/* A partitioned table's leaves can be copied one by one: each is an ordinary table with the
 * root's key and a replica identity that carries it (pg/partitions.h). 0 for any other table. */
int pgh_source_check_leaves(const pgh_table_info *t, PGconn *src, pgh_error *err);

/* The table is permanent: PostgreSQL publishes no change of an unlogged or temporary table.
 * Otherwise PGH_EPRECOND saying so, with ALTER TABLE ... SET LOGGED as the fix. */
int pgh_source_check_persistence(const pgh_table_info *t, pgh_error *err);
/* The session's role may read the table (SELECT); otherwise PGH_EPRECOND naming the GRANT.
 * A partitioned root's leaves are read through it when the role may not read them. */
int pgh_source_check_readable(const pgh_table_info *t, PGconn *src, pgh_error *err);
/* Every key column's type (and every type inside it: a domain's base, an array's element, a
 * composite's fields) has equality and ordering, a default btree operator class; otherwise
 * PGH_EPRECOND naming the column and the type (source/key_order.c). */
int pgh_source_check_key_order(const pgh_table_info *t, PGconn *src, pgh_error *err);
/* A table's key can be used: a primary key and a replica identity that carries it, a key
 * keyset pagination can use, a permanent table the role may read, key types that are ordered,
 * and (partitioned) leaves that are copyable. A table without a key (REPLICA IDENTITY FULL, no
 * usable unique index) is checked by pgh_source_check_keyless with keyless_refusal. */
int pgh_source_check_table_key(const pgh_table_info *t, PGconn *src, const pgh_config *cfg,
                               const char *keyless_refusal, pgh_error *err);

/* source/keyless.c: tables without a key (docs/sync.md). A table with REPLICA IDENTITY FULL
 * and no key (no primary key nor usable unique index): copied once in the slot's exported
 * snapshot, its changes matched on the whole old row. */
bool pgh_source_is_keyless(const pgh_table_info *t);
/* Why such tables cannot be synced with this configuration (a static phrase), or NULL when
 * they can: the postgres destination, copy_method parallel on the keyed path (keyed_path: not
 * --changes-only), on_conflict_action error, no rules. */
const char *pgh_source_keyless_refusal(const pgh_config *cfg, bool keyed_path, bool rules);
/* A keyless table can be synced: refusal is NULL (else PGH_EPRECOND with it), the table is not
 * partitioned, and every column's type has equality (else PGH_EPRECOND naming the column). */
int pgh_source_check_keyless(const pgh_table_info *t, PGconn *src, const char *refusal,
                             pgh_error *err);

/* The table's changes reach the stream: it is in the publication, and a partitioned table is
 * published through its root. Assumes the publication exists. */
int pgh_source_check_table_published(const pgh_table_info *t, PGconn *src, const pgh_config *cfg,
                                     pgh_error *err);

/* Both of the above, key first. */
int pgh_source_check_table(const pgh_table_info *t, PGconn *src, const pgh_config *cfg,
                           const char *keyless_refusal, pgh_error *err);

/* A replication session can be opened with the configured connection. */
int pgh_source_check_replication_connection(const pgh_config *cfg, pgh_error *err);

/* Append every configured source table, quoted ("s"."t", comma-separated), to out. */
int pgh_source_quoted_tables(pgh_buf *out, PGconn *src, const pgh_config *cfg, pgh_error *err);

#endif
