/*
 * pg/colmap.h - a table's columns as rules rename them and leave some out (pghost/keyed.h,
 * pgh_column_map), for the code that describes or creates destination tables from the
 * source's catalog: the destination's checks and the table creation.
 */
#ifndef PGH_PG_COLMAP_H
#define PGH_PG_COLMAP_H

#include "pg/catalog.h"
#include "pghost/change.h"
#include "pghost/keyed.h"

/* The destination's name of source column source under m (m may be NULL): the new name, the
 * same name when m does not list it, or NULL when m leaves it out. */
const char *pgh_colmap_dest(const pgh_column_map *m, const char *source);

/* Whether m (may be NULL) renames or leaves out any column. */
bool pgh_colmap_changes(const pgh_column_map *m);

/* t (a source table's description) as the destination sees it under m: its columns renamed,
 * the ones left out removed (key positions renumbered). A key column left out is
 * PGH_ECONFIG (rules refuse that before). m NULL: t stays as it is. */
int pgh_colmap_apply(pgh_table_info *t, const pgh_column_map *m, pgh_error *err);

/* t (a source table's description) as the stream describes it: its columns but the generated
 * ones, in attnum order, is_key on its key; typmod -1. rel->cols is owned by the caller
 * (free); every name is borrowed from t. */
int pgh_colmap_relation(pgh_relation *rel, const pgh_table_info *t, pgh_error *err);

/* A deep copy of m (pgh_colmap_free); NULL when out of memory. */
pgh_column_map *pgh_colmap_dup(const pgh_column_map *m);
void pgh_colmap_free(pgh_column_map *m);

#endif
