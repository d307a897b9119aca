/*
 * The PostgreSQL destination's tables before a sync: checked against the source, and emptied
 * on request (--truncate-destination).
 */
#ifndef PGH_DEST_POSTGRES_CHECKS_H
#define PGH_DEST_POSTGRES_CHECKS_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "pg/catalog.h"
#include "pghost/config.h"
#include "pghost/error.h"

/* The destination table has the copied columns of src with the same types and the same primary
 * key (columns and order), and is empty unless may_hold_rows. PGH_EPRECOND naming every difference
 * otherwise. */
int pgh_postgres_check_table(const pgh_table_info *src, const pgh_table_info *dst, PGconn *conn,
                             bool may_hold_rows, pgh_error *err);

/* disable_triggers: SET session_replication_role = replica on conn; a role that may not gets
 * PGH_EPRECOND, one line naming the role and the ways out (a superuser, GRANT SET ON PARAMETER,
 * or disable_triggers: false). */
int pgh_postgres_replica_role(PGconn *conn, pgh_error *err);

/* dst holds no row: PGH_EPRECOND "destination table s.t is not empty: <fix>" otherwise. */
int pgh_postgres_check_empty(const pgh_table_info *dst, PGconn *conn, const char *fix,
                             pgh_error *err);

/* A type that differs between the two sides (pgh_catalog_type_converts) converts through its
 * text form only: PGH_EPRECOND naming the column when the copy is in binary format (binary COPY
 * data holds the source type's bytes); auto copies such a table in text
 * (pgh_postgres_types_differ). */
int pgh_postgres_check_copy_format(const pgh_table_info *src, const pgh_table_info *dst,
                                   pgh_copy_format_choice format, pgh_error *err);

/* The first copied column of src whose type differs on dst, or NULL. */
const char *pgh_postgres_types_differ(const pgh_table_info *src, const pgh_table_info *dst);

/* TRUNCATE each of the n tables. */
int pgh_postgres_truncate(PGconn *dst, pgh_table_info *const *tables, int n, pgh_error *err);

#endif
