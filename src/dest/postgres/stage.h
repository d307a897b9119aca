/*
 * The staging tables of on_conflict_action update | nothing (stage.c): a copy session COPYs a
 * table's rows into pg_temp.pghost_stage_<table index>, then moves them into the destination
 * table by key with one statement per ended COPY.
 */
#ifndef PGH_DEST_POSTGRES_STAGE_H
#define PGH_DEST_POSTGRES_STAGE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "pg/catalog.h"
#include "pghost/error.h"

/* "pg_temp.pghost_stage_<table>" into out. */
void pgh_postgres__stage_name(char *out, size_t len, int table);

/* Create the session's staging table for dst (LIKE dst: its columns and types) if missing. */
int pgh_postgres__stage_create(PGconn *conn, const pgh_table_info *dst, int table, pgh_error *err);

/* Empty the staging table (after its rows moved over). */
int pgh_postgres__stage_clear(PGconn *conn, int table, pgh_error *err);

/* "INSERT INTO dst (columns) OVERRIDING SYSTEM VALUE SELECT columns FROM stage ON CONFLICT
 * (key) DO UPDATE SET <other columns> = EXCLUDED... (update) | DO NOTHING",
 * malloc'd; NULL when out of memory. */
char *pgh_postgres__stage_merge_sql(PGconn *conn, const pgh_table_info *dst, int table,
                                    const char *const *columns, int ncolumns, bool update);

#endif
