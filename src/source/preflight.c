/*
 * The source side of the preflight: what the source server, the publication and each table
 * must offer before a sync may write anything; each failure one line that says what to do.
 */
#include "source/preflight.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"
#include "pg/partitions.h"
#include "pg/slot.h"
#include "pg/sql.h"

int pgh_source_check_server(PGconn *src, const pgh_config *cfg, bool slot_must_be_free,
                                  pgh_error *err)
{
    char v[256];
    int rc = pgh_pg_query_text(v, sizeof(v), src, "SELECT current_setting('wal_level')", 0, NULL, err);
    if (rc == 0 && strcmp(v, "logical") != 0)
        return pgh_error_set(err, PGH_EPRECOND,
                             "the source server has wal_level=%s but logical replication needs "
                             "wal_level=logical: run ALTER SYSTEM SET wal_level = logical on the "
                             "source and restart it",
                             v);
    if (rc == 0)
        rc = pgh_pg_query_text(v, sizeof(v), src,
                         "SELECT CASE WHEN rolreplication OR rolsuper THEN 'yes' ELSE rolname END "
                         "FROM pg_catalog.pg_roles WHERE rolname = current_user",
                         0, NULL, err);
    if (rc == 0 && strcmp(v, "yes") != 0)
        return pgh_error_set(err, PGH_EPRECOND,
                             "the source role %s lacks the REPLICATION attribute: run ALTER ROLE "
                             "%s REPLICATION as a superuser, or connect as a role that has it",
                             v, v);
    if (rc != 0 || !slot_must_be_free)
        return rc;
    bool taken = false;
    rc = pgh_slot_exists(&taken, src, cfg->slot_name, err);
    if (rc == 0 && taken)
        return pgh_error_set(err, PGH_EPRECOND,
                             "replication slot %s already exists on the source: set slot_name to "
                             "another name, or drop it with SELECT pg_drop_replication_slot('%s') "
                             "if nothing uses it",
                             cfg->slot_name, cfg->slot_name);
    return rc;
}

int pgh_source_check_publication(PGconn *src, const pgh_config *cfg, pgh_error *err)
{
    const char *params[1] = {cfg->publication_name};
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, src,
                            "SELECT pubinsert, pubupdate, pubdelete, pubtruncate "
                            "FROM pg_catalog.pg_publication WHERE pubname = $1",
                            1, params, err);
    if (rc != 0)
        return rc;
    if (PQntuples(res) == 0) {
        PQclear(res);
        const pgh_table_map *t = &cfg->tables[0];
        return pgh_error_set(err, PGH_EPRECOND,
                             "publication %s does not exist on the source: create it with CREATE "
                             "PUBLICATION %s FOR TABLE %s.%s",
                             cfg->publication_name, cfg->publication_name, t->source_schema,
                             t->source_table);
    }
    static const char *ops[] = {"inserts", "updates", "deletes", "truncates"};
    for (int i = 0; i < 4; i++) {
        if (PQgetvalue(res, 0, i)[0] != 't') {
            PQclear(res);
            return pgh_error_set(err, PGH_EPRECOND,
                                 "publication %s does not publish %s: run ALTER PUBLICATION %s "
                                 "SET (publish = 'insert, update, delete, truncate')",
                                 cfg->publication_name, ops[i], cfg->publication_name);
        }
    }
    PQclear(res);
    return 0;
}

static bool is_integer_type(uint32_t oid)
{
    return oid == 20 || oid == 21 || oid == 23; /* int8, int2, int4 */
}

/* A partitioned root: the stream must name the root (publish_via_partition_root), and every
 * leaf must be copyable (partitions.h). pg_publication_tables lists the root only then. */
static int check_partitioned(const pgh_table_info *t, PGconn *src, const pgh_config *cfg,
                             pgh_error *err)
{
    char v[8];
    const char *params[1] = {cfg->publication_name};
    int rc = pgh_pg_query_text(v, sizeof(v), src,
                         "SELECT pubviaroot FROM pg_catalog.pg_publication WHERE pubname = $1", 1,
                         params, err);
    if (rc == 0 && strcmp(v, "t") != 0)
        return pgh_error_set(err, PGH_EPRECOND,
                             "source table %s.%s is partitioned and publication %s publishes "
                             "changes under the partitions' names: run ALTER PUBLICATION %s SET "
                             "(publish_via_partition_root = true)",
                             t->schema, t->name, cfg->publication_name, cfg->publication_name);
    pgh_table_info **leaves = NULL;
    int n = 0;
    if (rc == 0)
        rc = pgh_pg_partition_leaves(&leaves, &n, src, t, err);
    pgh_pg_leaves_free(leaves, n);
    return rc;
}

int pgh_source_check_table(const pgh_table_info *t, PGconn *src, const pgh_config *cfg,
                              pgh_error *err)
{
    if (t->nkeys == 0)
        return pgh_error_set(err, PGH_EPRECOND,
                             "source table %s.%s has no primary key: pghost copies in key order "
                             "and finds rows by key when replaying changes; add one (a unique "
                             "index on NOT NULL columns becomes one with ALTER TABLE ... ADD "
                             "PRIMARY KEY USING INDEX)",
                             t->schema, t->name);
    if (t->replident != 'd' && t->replident != 'f')
        return pgh_error_set(err, PGH_EPRECOND,
                             "source table %s.%s has REPLICA IDENTITY %s, so updates and deletes "
                             "do not carry its primary key: run ALTER TABLE %s.%s REPLICA "
                             "IDENTITY DEFAULT",
                             t->schema, t->name, t->replident == 'n' ? "NOTHING" : "USING INDEX",
                             t->schema, t->name);
    if (!cfg->copy_use_keyset_pagination &&
        (t->nkeys != 1 || !is_integer_type(t->cols[t->key_cols[0]].type_oid)))
        return pgh_error_set(err, PGH_EPRECOND,
                             "copy_use_keyset_pagination: false needs a single integer primary "
                             "key, but %s.%s has another key: use keyset pagination (the default)",
                             t->schema, t->name);
    /* A root published without publish_via_partition_root is listed by its leaves only: say
     * that first, rather than asking to add a table that is already there. */
    if (t->relkind == 'p') {
        int prc = check_partitioned(t, src, cfg, err);
        if (prc != 0)
            return prc;
    }
    char v[16];
    const char *params[3] = {cfg->publication_name, t->schema, t->name};
    int rc = pgh_pg_query_text(v, sizeof(v), src,
                         "SELECT count(*) FROM pg_catalog.pg_publication_tables "
                         "WHERE pubname = $1 AND schemaname = $2 AND tablename = $3",
                         3, params, err);
    if (rc == 0 && strcmp(v, "0") == 0)
        return pgh_error_set(err, PGH_EPRECOND,
                             "source table %s.%s is not in publication %s: run ALTER PUBLICATION "
                             "%s ADD TABLE %s.%s",
                             t->schema, t->name, cfg->publication_name, cfg->publication_name,
                             t->schema, t->name);
    return rc;
}

int pgh_source_check_replication_connection(const pgh_config *cfg, pgh_error *err)
{
    PGconn *repl = NULL;
    int rc = pgh_conn_open(&repl, pgh_config_replication_conninfo(cfg), PGH_CONN_REPLICATION,
                           "source (replication)", "pghost preflight", err);
    PQfinish(repl);
    return rc;
}
