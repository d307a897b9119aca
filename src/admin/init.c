/*
 * pghost init: see include/pghost/init.h.
 *
 * Order: every check first (server, then each selected table), so that a failed check writes
 * nothing; then the publication (init_publication.c); then the DDL capture (ddl_capture.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/ddl_capture.h"
#include "pg/partitions.h"
#include "source/preflight.h"
#include "init_internal.h"

#include "util/buf.h"
#include "pg/conn.h"
#include "pghost/init.h"
#include "source/tables.h"

/* One row per selected table: found, relkind, replica identity, has a primary key. */
static const char TABLE_SQL[] =
    "SELECT c.relkind, c.relreplident, "
    "EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) "
    "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')";

static const char TRIGGER_SQL[] =
    "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_event_trigger WHERE evtname = $1 || '_ddl_end')";

/* A partitioned table's leaves are copied one by one: each needs the root's key and a replica
 * identity that carries it (partitions.h says why). */
static int check_leaves(pgh_buf *problems, int *nproblems, PGconn *src, const pgh_table_map *m,
                        pgh_error *err)
{
    pgh_table_info *root = NULL, **leaves = NULL;
    int n = 0;
    int rc = pgh_catalog_table(&root, src, m->source_schema, m->source_table, err);
    if (rc == 0)
        rc = pgh_pg_partition_leaves(&leaves, &n, src, root, err);
    if (rc == PGH_EPRECOND) {
        pgh_buf_printf(problems, "%s%s", *nproblems > 0 ? "; " : "", err->message);
        (*nproblems)++;
        pgh_error_clear(err);
        rc = 0;
    }
    pgh_pg_leaves_free(leaves, n);
    pgh_table_info_free(root);
    return rc;
}

/* Append what is wrong with one table to problems ("" when nothing); *partitioned is set for
 * a partitioned table. */
static int check_table(pgh_buf *problems, int *nproblems, bool *partitioned, PGconn *src,
                       const pgh_table_map *m, pgh_error *err)
{
    const char *params[2] = {m->source_schema, m->source_table};
    PGresult *res = NULL;
    int before = *nproblems;
    int rc = pgh_conn_query(&res, src, TABLE_SQL, 2, params, err);
    if (rc != 0)
        return rc;
    char *q = pgh_conn_qualified(src, m->source_schema, m->source_table);
    if (q == NULL) {
        PQclear(res);
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    }
    const char *sep = *nproblems > 0 ? "; " : "";
    if (PQntuples(res) == 0) {
        pgh_buf_printf(problems, "%s%s does not exist", sep, q);
        (*nproblems)++;
    } else if (PQgetvalue(res, 0, 2)[0] != 't') {
        pgh_buf_printf(problems,
                       "%s%s has no primary key (ALTER TABLE %s ADD PRIMARY KEY (...), or ADD "
                       "PRIMARY KEY USING INDEX on a unique index of NOT NULL columns)",
                       sep, q, q);
        (*nproblems)++;
    } else if (PQgetvalue(res, 0, 1)[0] == 'n' || PQgetvalue(res, 0, 1)[0] == 'i') {
        pgh_buf_printf(problems,
                       "%s%s has REPLICA IDENTITY %s, so its updates and deletes do not carry "
                       "the primary key (ALTER TABLE %s REPLICA IDENTITY DEFAULT)",
                       sep, q, PQgetvalue(res, 0, 1)[0] == 'n' ? "NOTHING" : "USING INDEX", q);
        (*nproblems)++;
    }
    bool parted = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 'p';
    *partitioned = *partitioned || parted;
    free(q);
    PQclear(res);
    return parted && *nproblems == before ? check_leaves(problems, nproblems, src, m, err) : 0;
}

/* Every selected table exists with a primary key and a replica identity that carries it. */
static int check_tables(bool *any_partitioned, PGconn *src, const pgh_config *cfg, pgh_error *err)
{
    pgh_buf problems;
    pgh_buf_init(&problems, 0);
    int n = 0, rc = 0;
    *any_partitioned = false;
    for (size_t i = 0; rc == 0 && i < cfg->ntables; i++)
        rc = check_table(&problems, &n, any_partitioned, src, &cfg->tables[i], err);
    if (rc == 0 && pgh_buf_failed(&problems))
        rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
    if (rc == 0 && n > 0)
        rc = pgh_error_set(err, PGH_EPRECOND,
                           "%d of the %zu selected source tables cannot be synced (pghost copies "
                           "in primary key order and finds rows by key): %s",
                           n, cfg->ntables, pgh_buf_str(&problems));
    pgh_buf_dispose(&problems);
    return rc;
}

/* A deep copy of the configured entries, for the DDL capture (it follows patterns itself). */
static pgh_table_map *copy_entries(const pgh_config *cfg)
{
    pgh_table_map *t = calloc(cfg->ntables ? cfg->ntables : 1, sizeof(*t));
    bool ok = t != NULL;
    for (size_t i = 0; ok && i < cfg->ntables; i++) {
        t[i].source_schema = strdup(cfg->tables[i].source_schema);
        t[i].source_table = strdup(cfg->tables[i].source_table);
        t[i].dest_schema = strdup(cfg->tables[i].dest_schema);
        t[i].dest_table = strdup(cfg->tables[i].dest_table);
        ok = t[i].source_schema && t[i].source_table && t[i].dest_schema && t[i].dest_table;
    }
    if (ok)
        return t;
    for (size_t i = 0; t && i < cfg->ntables; i++) {
        free(t[i].source_schema);
        free(t[i].source_table);
        free(t[i].dest_schema);
        free(t[i].dest_table);
    }
    free(t);
    return NULL;
}

static void free_entries(pgh_table_map *t, size_t n)
{
    for (size_t i = 0; t && i < n; i++) {
        free(t[i].source_schema);
        free(t[i].source_table);
        free(t[i].dest_schema);
        free(t[i].dest_table);
    }
    free(t);
}

/* The DDL capture over the configured entries: patterns as written when nothing is excluded
 * (new tables that match are then followed too), else the resolved list (the capture knows no
 * excludes). */
static int ddl_capture(pgh_init_result *out, PGconn *src, const pgh_config *cfg,
                       const pgh_table_map *configured, size_t nconfigured, pgh_error *err)
{
    const char *params[1] = {cfg->state_schema};
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, src, TRIGGER_SQL, 1, params, err);
    out->ddl_was_installed = rc == 0 && PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    pgh_config view = *cfg;
    if (cfg->nexclude == 0 && configured != NULL) {
        view.tables = (pgh_table_map *)configured;
        view.ntables = nconfigured;
    }
    if (rc == 0)
        rc = pgh_admin_ddl_capture_install(&out->ddl_installed, src, &view, err);
    if (rc == 0 && !out->ddl_installed)
        snprintf(out->ddl_reason, sizeof(out->ddl_reason),
                 "the source role may not create event triggers (that needs a superuser); run "
                 "DDL on the selected tables on the destination yourself");
    return rc;
}

static int run(pgh_init_result *out, PGconn *src, pgh_config *cfg, pgh_error *err)
{
    pgh_table_map *configured = copy_entries(cfg);
    size_t nconfigured = cfg->ntables;
    bool any_partitioned = false;
    int rc = configured ? pgh_source_check_server(src, cfg, false, err)
                        : pgh_error_set(err, PGH_ENOMEM, "out of memory");
    if (rc == 0)
        rc = pgh_source_check_capacity(&out->slots_free, &out->wal_senders_free, src, cfg, err);
    if (rc == 0)
        rc = pgh_tables_resolve(cfg, src, err);
    out->ntables = (int)cfg->ntables;
    if (rc == 0)
        rc = check_tables(&any_partitioned, src, cfg, err);
    if (rc == 0)
        rc = pgh_init__pub_ensure(out, src, cfg, any_partitioned, err);
    if (rc == 0)
        rc = ddl_capture(out, src, cfg, configured, nconfigured, err);
    free_entries(configured, nconfigured);
    return rc;
}

int pgh_init_run(pgh_init_result *out, const pgh_config *cfg, pgh_error *err)
{
    memset(out, 0, sizeof(*out));
    PGconn *src = NULL;
    pgh_config *own = NULL; /* the caller's configuration is never changed */
    int rc = pgh_config_dup(&own, cfg, err);
    if (rc == 0)
        rc = pgh_conn_open(&src, cfg->source_connection, PGH_CONN_SQL, "source", "pghost init",
                           err);
    if (rc == 0)
        rc = run(out, src, own, err);
    PQfinish(src);
    pgh_config_free(own);
    return rc;
}
