/*
 * dest/postgres/session.c - what both ways into the PostgreSQL destination share: the run's
 * table descriptions (both sides, checked) and the apply session, opened at the first change.
 * destination.c (the keyed sync and the changes) and watermarks.c (copy_method watermarks)
 * call it; it calls neither.
 */
#include <stdlib.h>
#include <string.h>

#include "dest/postgres/apply.h"
#include "dest/postgres/checks.h"
#include "dest/postgres/destination.h"
#include "pg/catalog.h"
#include "pg/colmap.h"
#include "source/publication.h"
#include "state/state.h"

void pgh_postgres__free_tables(pg_dest *d)
{
    for (int i = 0; i < d->ntables; i++) {
        pgh_table_info_free(d->src_tables ? d->src_tables[i] : NULL);
        pgh_table_info_free(d->dst_tables ? d->dst_tables[i] : NULL);
    }
    free(d->src_tables);
    free(d->dst_tables);
    free(d->stats);
    d->src_tables = d->dst_tables = NULL;
    d->stats = NULL;
    d->ntables = 0;
}

int pgh_postgres__colmap_set(pg_dest *d, int table, const pgh_column_map *map, pgh_error *err)
{
    if (table < 0)
        return pgh_error_set(err, PGH_ECONFIG, "a column map for table %d", table);
    int n = table + 1 > (int)d->cfg->ntables ? table + 1 : (int)d->cfg->ntables;
    if (n > d->ncolmaps) { /* at least cfg->ntables entries, as schema.h wants */
        pgh_column_map **grown = realloc(d->colmaps, (size_t)n * sizeof(*grown));
        if (grown == NULL)
            return pgh_error_set(err, PGH_ENOMEM, "out of memory");
        for (int i = d->ncolmaps; i < n; i++)
            grown[i] = NULL;
        d->colmaps = grown;
        d->ncolmaps = n;
    }
    pgh_colmap_free(d->colmaps[table]);
    d->colmaps[table] = pgh_colmap_dup(map);
    return d->colmaps[table] ? 0 : pgh_error_set(err, PGH_ENOMEM, "out of memory");
}

void pgh_postgres__colmaps_free(pg_dest *d)
{
    for (int i = 0; i < d->ncolmaps; i++)
        pgh_colmap_free(d->colmaps[i]);
    free(d->colmaps);
    d->colmaps = NULL;
    d->ncolmaps = 0;
}

const pgh_column_map *const *pgh_postgres__colmaps(const pg_dest *d)
{
    return d->ncolmaps ? (const pgh_column_map *const *)d->colmaps : NULL;
}

static const pgh_column_map *colmap_of(const pg_dest *d, size_t table)
{
    return table < (size_t)d->ncolmaps ? d->colmaps[table] : NULL;
}

/* Catch-up: last write wins, nothing recorded. Following: strict, the position recorded with
 * every commit, and what the destination holds already skipped. */
static int open_apply(pg_dest *d, pgh_error *err)
{
    const pgh_config *cfg = d->cfg;
    pgh_apply_opts ao = PGH_APPLY_OPTS_INIT;
    ao.conninfo = cfg->destination_connection;
    ao.tables = cfg->tables;
    ao.ntables = (int)cfg->ntables;
    ao.replica_role = d->replica_role;
    ao.group_max_changes = (int)cfg->apply_group_max_changes;
    ao.mode = d->catchup ? PGH_APPLY_CATCHUP : PGH_APPLY_STRICT;
    if (!d->catchup) {
        ao.app_name = "pghost follow";
        ao.schema_drift = cfg->schema_drift;
        ao.on_missing_row = cfg->on_missing_row;
        ao.stats = d->live;
    }
    if (d->event) { /* existing rows come with the changes: the position always kept */
        ao.lenient = d->lenient;
        ao.with_resume = true;
    }
    if (!d->catchup && (d->follow || d->event)) {
        pgh_state st;
        int rc = pgh_state_read(&st, d->ctl, cfg->state_schema, cfg->slot_name, err);
        if (rc == 0 && !st.found)
            rc = pgh_error_set(err, PGH_EPRECOND,
                               "%s.state has no position for slot %s: the sync did not finish; "
                               "run pghost teardown, then pghost replicate --follow again",
                               cfg->state_schema, cfg->slot_name);
        if (rc != 0)
            return rc;
        ao.state_schema = cfg->state_schema;
        ao.slot = cfg->slot_name;
        ao.skip_before = st.applied_lsn;
    }
    return pgh_apply_open(&d->apply, &ao, err);
}

int pgh_postgres__apply(pg_dest *d, pgh_error *err)
{
    return d->apply ? 0 : open_apply(d, err);
}

static int load_table(pgh_table_info **out, PGconn *conn, const char *side, const char *schema,
                      const char *name, pgh_error *err)
{
    int rc = pgh_catalog_table(out, conn, schema, name, err);
    if (rc == PGH_ENOTFOUND) {
        pgh_error_clear(err);
        return pgh_error_set(err, PGH_EPRECOND, "%s table %s.%s does not exist%s", side, schema,
                             name,
                             strcmp(side, "destination") == 0
                                 ? ": create it with the same columns and primary key as the "
                                   "source table"
                                 : "");
    }
    return rc;
}

/* A table created without its key (pghost/schema.h, step 1b) is described with the key it
 * gets after the copy: the source's key columns, by name. */
static int assume_key(pg_dest *d, const pgh_table_info *src, pgh_table_info *dst,
                      pgh_error *err)
{
    bool pending = false;
    for (int i = 0; i < d->keys.n && !pending; i++)
        pending = strcmp(d->keys.tables[i].dest_schema, dst->schema) == 0 &&
                  strcmp(d->keys.tables[i].dest_name, dst->name) == 0;
    if (!pending || src->nkeys == 0 || dst->nkeys > 0)
        return 0;
    int *cols = calloc((size_t)src->nkeys, sizeof(int));
    if (cols == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    for (int k = 0; k < src->nkeys; k++) {
        cols[k] = pgh_table_column_index(dst, src->cols[src->key_cols[k]].name);
        if (cols[k] < 0) {
            free(cols);
            return 0; /* the column checks name what is wrong */
        }
        dst->cols[cols[k]].key_position = k + 1;
    }
    free(dst->key_cols);
    dst->key_cols = cols;
    dst->nkeys = src->nkeys;
    dst->key_source = src->key_source == 'p' ? 'p' : 'i';
    return 0;
}

/* Describe every table on both sides and check the destination's against the source's. Without
 * a source session (pghost apply reads a NATS stream) the destination's tables only. */
int pgh_postgres__check_tables(pg_dest *d, bool may_hold_rows, pgh_error *err)
{
    const pgh_config *cfg = d->cfg;
    pgh_postgres__free_tables(d);
    d->ntables = (int)cfg->ntables;
    d->src_tables = calloc(cfg->ntables + 1, sizeof(*d->src_tables));
    d->dst_tables = calloc(cfg->ntables + 1, sizeof(*d->dst_tables));
    d->stats = calloc(cfg->ntables + 1, sizeof(*d->stats));
    if (d->src_tables == NULL || d->dst_tables == NULL || d->stats == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < cfg->ntables; i++) {
        const pgh_table_map *m = &cfg->tables[i];
        if (d->src != NULL)
            rc = load_table(&d->src_tables[i], d->src, "source", m->source_schema,
                            m->source_table, err);
        if (rc == 0 && d->src) /* the columns the publication sends, the rows its filter passes */
            rc = pgh_source_publication_narrow(d->src_tables[i], d->src, cfg->publication_name,
                                               err);
        if (rc == 0 && d->src) /* as the rules rename them and leave them out */
            rc = pgh_colmap_apply(d->src_tables[i], colmap_of(d, i), err);
        if (rc == 0)
            rc = load_table(&d->dst_tables[i], d->ctl, "destination", m->dest_schema,
                            m->dest_table, err);
        if (rc == 0 && d->src)
            rc = assume_key(d, d->src_tables[i], d->dst_tables[i], err);
        if (rc == 0 && d->src)
            rc = pgh_postgres_check_table(d->src_tables[i], d->dst_tables[i], d->ctl,
                                          may_hold_rows, err);
        if (rc == 0 && d->src)
            rc = pgh_postgres_check_copy_format(d->src_tables[i], d->dst_tables[i],
                                                cfg->copy_format, err);
    }
    return rc;
}
