/*
 * Private to the PostgreSQL destination (src/dest/postgres): what its files share besides the
 * apply (apply.h) and the copy sessions (copy_in.h).
 *
 *   destination.c  the pgh_destination_ops and pgh_keyed_ops tables
 *   session.c      the run's table descriptions and the apply session both ways share
 *   watermarks.c   copy_method watermarks: existing rows with the changes (table_begin...)
 *   apply.c ...    changes -> statements (apply.h)
 *   copy_in.c      the copy workers' COPY FROM STDIN sessions
 *   checks.c       the destination half of the preflight
 *   selection.c    the tables of a resumed --follow run
 *   replace.c      rows copied again during the catch-up
 *   sequences.c    sequences at the checkpoint and for pghost sync-sequences
 *   handoff.c      a native subscription taking over the slot
 */
#ifndef PGH_DEST_POSTGRES_DESTINATION_H
#define PGH_DEST_POSTGRES_DESTINATION_H

#include <libpq-fe.h>

#include "dest/postgres/sink.h"
#include "pg/catalog.h"
#include "pghost/config.h"
#include "pghost/keyed.h"
#include "schema/schema.h"

/* The destination's user pointer. */
typedef struct pg_dest {
    const pgh_config *cfg;      /* borrowed from open's info, until close */
    bool follow;
    bool event;                 /* copy_method watermarks: the event path (watermarks.c) */
    PGconn *src;                /* owned: the source (tables, table creation, sequences) */
    PGconn *ctl;                /* owned: the destination (state, checks, replaced rows) */
    bool replica_role;          /* the destination role may skip triggers and FK checks */
    int ntables;
    pgh_table_info **src_tables; /* owned, ntables: prepare's descriptions of both sides */
    pgh_table_info **dst_tables; /* owned */
    pgh_schema_created created; /* owned: tables prepare created (deferred build pending) */
    pgh_schema_created keys;    /* owned: created tables whose key waits for the copy's end */
    pgh_sink *apply;            /* owned: opened at the first change */
    bool catchup;               /* last-write-wins rules for the changes */
    pgh_keyed_stats *stats;     /* owned, ntables: counters of the catch-up */
    pgh_pipeline_stats *live;   /* borrowed from open's info, may be NULL: the run's counters */
    bool *lenient;              /* owned, cfg->ntables (event only): tables whose changes take
                                   the lenient rules of apply.h */
    pgh_column_map **colmaps;   /* owned, ncolmaps (NULL entries: none): the rules' column maps
                                   by table index (pghost/keyed.h, column_map) */
    int ncolmaps;
} pg_dest;

/* session.c: keep the column map of table i (a copy); release them all. The maps as an array
 * of cfg->ntables entries for the schema module: NULL when there are none. */
int pgh_postgres__colmap_set(pg_dest *d, int table, const pgh_column_map *map, pgh_error *err);
void pgh_postgres__colmaps_free(pg_dest *d);
const pgh_column_map *const *pgh_postgres__colmaps(const pg_dest *d);

/* session.c: describe every table on both sides and check the destination's against the
 * source's (empty unless may_hold_rows); release those descriptions; open the apply now. */
int pgh_postgres__check_tables(pg_dest *d, bool may_hold_rows, pgh_error *err);
void pgh_postgres__free_tables(pg_dest *d);
int pgh_postgres__apply(pg_dest *d, pgh_error *err);

/* watermarks.c: copy_method watermarks. open: what the configuration allows there; position:
 * read_position (a run without one checks the tables and records its row); commit: the resume
 * token and phase for the commit's position, and the rules that follow from the phase. */
int pgh_postgres__watermarks_open(pg_dest *d, pgh_error *err);
int pgh_postgres__watermarks_position(pg_dest *d, pgh_position *out, pgh_error *err);
int pgh_postgres__watermarks_commit(pg_dest *d, const pgh_position *after, pgh_error *err);
int pgh_postgres__table_begin(void *user, const pgh_table_rows *t, pgh_error *err);
int pgh_postgres__table_rows(void *user, const pgh_table_rows *t, const pgh_tuple *rows,
                             size_t n, pgh_error *err);
int pgh_postgres__table_end(void *user, const pgh_table_rows *t, pgh_error *err);

/* A copy of fresh with the tables a --follow run recorded at its start (*out NULL when none
 * were), after one warning naming the differences with what fresh's patterns match now. */
int pgh_postgres__resume_tables(pgh_config **out, PGconn *dst, const pgh_config *fresh,
                                pgh_error *err);

/* Replace the row at row's key in dst (the table described by info) with values (upsert of
 * every column), or delete it when ncolumns is 0. One autocommit statement. */
int pgh_postgres__replace_row(PGconn *conn, const pgh_table_info *dst, const pgh_recopy_row *row,
                              const char *const *columns, const char *const *values,
                              int ncolumns, pgh_error *err);

#endif
