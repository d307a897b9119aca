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
#include "source/preflight.h"
#include "init_internal.h"

#include "util/buf.h"
#include "pg/conn.h"
#include "pghost/init.h"
#include "source/tables.h"

static const char TRIGGER_SQL[] =
    "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_event_trigger WHERE evtname = $1 || '_ddl_end')";

/* Start one more problem in problems (they are "; "-separated) and count it. */
static void next_problem(pgh_buf *problems, int *nproblems)
{
    if ((*nproblems)++ > 0)
        pgh_buf_puts(problems, "; ");
}

/* A check's refusal (PGH_EPRECOND, its line in err) becomes one more problem. */
static int add_refusal(pgh_buf *problems, int *nproblems, int rc, pgh_error *err)
{
    if (rc != PGH_EPRECOND)
        return rc;
    next_problem(problems, nproblems);
    pgh_buf_puts(problems, err->message);
    pgh_error_clear(err);
    return 0;
}

/* What is wrong with a found table's key, worded for init's list; the tests are the
 * preflight's (source/preflight.h). */
static int check_key(pgh_buf *problems, int *nproblems, PGconn *src, const pgh_table_info *t,
                     pgh_error *err)
{
    if (pgh_source_check_persistence(t, err) != 0)
        return add_refusal(problems, nproblems, PGH_EPRECOND, err);
    int rc = pgh_source_check_readable(t, src, err);
    if (rc != 0)
        return add_refusal(problems, nproblems, rc, err);
    /* without a key: copied in the slot's snapshot (replicate refuses it where it cannot) */
    if (pgh_source_is_keyless(t))
        return add_refusal(problems, nproblems, pgh_source_check_keyless(t, src, NULL, err), err);
    switch (pgh_source_key_fault(t)) {
    case PGH_KEY_FAULT_NO_KEY:
        next_problem(problems, nproblems);
        pgh_buf_printf(problems,
                       "%s has no primary key (ALTER TABLE %s ADD PRIMARY KEY (...), or "
                       "REPLICA IDENTITY USING INDEX on a unique index of NOT NULL columns)",
                       t->qualified, t->qualified);
        return 0;
    case PGH_KEY_FAULT_REPLIDENT:
        next_problem(problems, nproblems);
        pgh_buf_printf(problems,
                       "%s has REPLICA IDENTITY %s, so its updates and deletes do not carry "
                       "the primary key (ALTER TABLE %s REPLICA IDENTITY DEFAULT)",
                       t->qualified, pgh_source_replident_name(t->replident), t->qualified);
        return 0;
    case PGH_KEY_FAULT_NONE:
        break;
    }
    rc = add_refusal(problems, nproblems, pgh_source_check_key_order(t, src, err), err);
    /* a partitioned table's leaves are copied one by one (partitions.h says why) */
    if (rc == 0)
        rc = add_refusal(problems, nproblems, pgh_source_check_leaves(t, src, err), err);
    return rc;
}

/* Append what is wrong with one table to problems ("" when nothing); *partitioned is set for
 * a partitioned table. */
static int check_table(pgh_buf *problems, int *nproblems, bool *partitioned, PGconn *src,
                       const pgh_table_map *m, pgh_error *err)
{
    pgh_table_info *t = NULL;
    int rc = pgh_catalog_table(&t, src, m->source_schema, m->source_table, err);
    if (rc == PGH_ENOTFOUND) {
        pgh_error_clear(err);
        char *q = pgh_conn_qualified(src, m->source_schema, m->source_table);
        if (q == NULL)
            return pgh_error_set(err, PGH_ENOMEM, "out of memory");
        next_problem(problems, nproblems);
        pgh_buf_printf(problems, "%s does not exist", q);
        free(q);
        return 0;
    }
    if (rc != 0)
        return rc;
    *partitioned = *partitioned || t->relkind == 'p';
    rc = check_key(problems, nproblems, src, t, err);
    pgh_table_info_free(t);
    return rc;
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
