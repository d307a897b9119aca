/*
 * The source side of the preflight: what the source server, the publication and each table
 * must offer before a sync may write anything; each failure one line that says what to do.
 * Every statement a message suggests quotes its identifiers with libpq (pgh_conn_ident), so
 * that pasted into psql it does exactly what it says, whatever the names hold.
 */
#include "source/preflight.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"
#include "pg/partitions.h"
#include "pg/slot.h"
#include "pg/sql.h"
#include "util/buf.h"

static const char CAPACITY_SQL[] =
    "SELECT current_setting('max_replication_slots')::int - "
    "(SELECT count(*) FROM pg_catalog.pg_replication_slots), "
    "current_setting('max_wal_senders')::int - (SELECT count(*) FROM pg_catalog.pg_stat_activity "
    "WHERE backend_type = 'walsender'), "
    "EXISTS (SELECT 1 FROM pg_catalog.pg_replication_slots WHERE slot_name = $1), "
    "current_setting('max_replication_slots'), current_setting('max_wal_senders')";

static int out_of_memory(pgh_error *err)
{
    return pgh_error_set(err, PGH_ENOMEM, "out of memory");
}

static int wal_level_refused(const char *v, pgh_error *err)
{
    if (strcmp(v, "logical") == 0)
        return 0;
    return pgh_error_set(err, PGH_EPRECOND,
                         "the source server has wal_level=%s but logical replication needs "
                         "wal_level=logical: run ALTER SYSTEM SET wal_level = logical on the "
                         "source and restart it",
                         v);
}

/* role: the current role's name when it lacks REPLICATION, else "" */
static int role_refused(PGconn *src, const char *role, pgh_error *err)
{
    if (role[0] == '\0')
        return 0;
    char *q = pgh_conn_ident(src, role);
    if (q == NULL)
        return out_of_memory(err);
    int rc = pgh_error_set(err, PGH_EPRECOND,
                           "the source role %s lacks the REPLICATION attribute: run ALTER ROLE %s "
                           "REPLICATION as a superuser, or connect as a role that has it",
                           role, q);
    free(q);
    return rc;
}

static int slot_taken(const pgh_config *cfg, pgh_error *err)
{
    /* slot names hold only [a-z0-9_] (the configuration checks it): safe in a literal */
    return pgh_error_set(err, PGH_EPRECOND,
                         "replication slot %s already exists on the source: set slot_name to "
                         "another name, or drop it with SELECT pg_drop_replication_slot('%s') "
                         "if nothing uses it",
                         cfg->slot_name, cfg->slot_name);
}

#define ROLE_SQL                                                                                   \
    "SELECT CASE WHEN rolreplication OR rolsuper THEN '' ELSE rolname END "                       \
    "FROM pg_catalog.pg_roles WHERE rolname = current_user"

int pgh_source_check_wal_level(PGconn *src, pgh_error *err)
{
    char v[256];
    int rc =
        pgh_pg_query_text(v, sizeof(v), src, "SELECT current_setting('wal_level')", 0, NULL, err);
    return rc != 0 ? rc : wal_level_refused(v, err);
}

int pgh_source_check_role(PGconn *src, pgh_error *err)
{
    char v[256];
    int rc = pgh_pg_query_text(v, sizeof(v), src, ROLE_SQL, 0, NULL, err);
    return rc != 0 ? rc : role_refused(src, v, err);
}

int pgh_source_check_slot_free(PGconn *src, const pgh_config *cfg, pgh_error *err)
{
    bool taken = false;
    int rc = pgh_slot_exists(&taken, src, cfg->slot_name, err);
    return rc == 0 && taken ? slot_taken(cfg, err) : rc;
}

/* The three checks above in one round trip, refused in the same order. */
int pgh_source_check_server(PGconn *src, const pgh_config *cfg, bool slot_must_be_free,
                            pgh_error *err)
{
    const char *params[1] = {cfg->slot_name};
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, src,
                            "SELECT current_setting('wal_level'), (" ROLE_SQL "), "
                            "EXISTS (SELECT 1 FROM pg_catalog.pg_replication_slots "
                            "WHERE slot_name = $1)",
                            1, params, err);
    if (rc == 0)
        rc = wal_level_refused(PQgetvalue(res, 0, 0), err);
    if (rc == 0)
        rc = role_refused(src, PQgetvalue(res, 0, 1), err);
    if (rc == 0 && slot_must_be_free && PQgetvalue(res, 0, 2)[0] == 't')
        rc = slot_taken(cfg, err);
    PQclear(res);
    return rc;
}

int pgh_source_check_capacity(int *slots_free, int *wal_senders_free, PGconn *src,
                              const pgh_config *cfg, pgh_error *err)
{
    const char *params[1] = {cfg->slot_name};
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, src, CAPACITY_SQL, 1, params, err);
    if (rc != 0)
        return rc;
    *slots_free = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
    *wal_senders_free = (int)strtol(PQgetvalue(res, 0, 1), NULL, 10);
    bool slot_exists = PQgetvalue(res, 0, 2)[0] == 't';
    if (*slots_free < 1 && !slot_exists)
        rc = pgh_error_set(err, PGH_EPRECOND,
                           "no free replication slot on the source (max_replication_slots = %s, "
                           "all in use): drop an unused one (see pg_replication_slots) or raise "
                           "max_replication_slots and restart the source",
                           PQgetvalue(res, 0, 3));
    else if (*wal_senders_free < 1)
        rc = pgh_error_set(err, PGH_EPRECOND,
                           "no free WAL sender on the source (max_wal_senders = %s, all in "
                           "use): raise max_wal_senders and restart the source",
                           PQgetvalue(res, 0, 4));
    PQclear(res);
    return rc;
}

int pgh_source_quoted_tables(pgh_buf *out, PGconn *src, const pgh_config *cfg, pgh_error *err)
{
    for (size_t i = 0; i < cfg->ntables; i++) {
        char *q =
            pgh_conn_qualified(src, cfg->tables[i].source_schema, cfg->tables[i].source_table);
        if (q == NULL)
            return out_of_memory(err);
        pgh_buf_printf(out, "%s%s", i > 0 ? ", " : "", q);
        free(q);
    }
    return pgh_buf_failed(out) ? out_of_memory(err) : 0;
}

/* The publication is missing: say so, with the statement that creates it for every table. */
static int publication_missing(PGconn *src, const pgh_config *cfg, const char *qpub, pgh_error *err)
{
    pgh_buf list;
    pgh_buf_init(&list, 1 << 20);
    int rc = pgh_source_quoted_tables(&list, src, cfg, err);
    if (rc == 0)
        rc = pgh_error_set(err, PGH_EPRECOND,
                           "publication %s does not exist on the source: create it with CREATE "
                           "PUBLICATION %s FOR TABLE %s (or run pghost init)",
                           cfg->publication_name, qpub, pgh_buf_str(&list));
    pgh_buf_dispose(&list);
    return rc;
}

int pgh_source_check_publication(PGconn *src, const pgh_config *cfg, pgh_error *err)
{
    const char *params[1] = {cfg->publication_name};
    PGresult *res = NULL;
    char *qpub = pgh_conn_ident(src, cfg->publication_name);
    int rc = qpub ? pgh_conn_query(&res, src,
                                   "SELECT pubinsert, pubupdate, pubdelete, pubtruncate "
                                   "FROM pg_catalog.pg_publication WHERE pubname = $1",
                                   1, params, err)
                  : out_of_memory(err);
    if (rc == 0 && PQntuples(res) == 0)
        rc = publication_missing(src, cfg, qpub, err);
    static const char *ops[] = {"inserts", "updates", "deletes", "truncates"};
    for (int i = 0; rc == 0 && i < 4; i++) {
        if (PQgetvalue(res, 0, i)[0] != 't')
            rc = pgh_error_set(err, PGH_EPRECOND,
                               "publication %s does not publish %s: run ALTER PUBLICATION %s "
                               "SET (publish = 'insert, update, delete, truncate')",
                               cfg->publication_name, ops[i], qpub);
    }
    PQclear(res);
    free(qpub);
    return rc;
}

static bool is_integer_type(uint32_t oid)
{
    return oid == 20 || oid == 21 || oid == 23; /* int8, int2, int4 */
}

pgh_key_fault pgh_source_key_fault(const pgh_table_info *t)
{
    /* USING INDEX: the stream's old keys are that index's columns, which the catalog took as
     * the key (pg/catalog.h); FULL: the old rows are whole, so any unique index on NOT NULL
     * columns finds them (as a native subscriber 16+ does); with DEFAULT or NOTHING another
     * unique index is not in the stream's old keys. */
    if ((t->replident == 'i' && t->key_source == 'i') ||
        (t->replident == 'f' && t->key_source == 'u'))
        return PGH_KEY_FAULT_NONE;
    if (t->nkeys == 0 || t->key_source != 'p')
        return PGH_KEY_FAULT_NO_KEY;
    if (t->replident != 'd' && t->replident != 'f')
        return PGH_KEY_FAULT_REPLIDENT;
    return PGH_KEY_FAULT_NONE;
}

const char *pgh_source_replident_name(char replident)
{
    switch (replident) {
    case 'n':
        return "NOTHING";
    case 'i':
        return "USING INDEX";
    case 'f':
        return "FULL";
    default:
        return "DEFAULT";
    }
}

int pgh_source_check_leaves(const pgh_table_info *t, PGconn *src, pgh_error *err)
{
    if (t->relkind != 'p')
        return 0;
    pgh_table_info **leaves = NULL;
    int n = 0;
    int rc = pgh_pg_partition_leaves(&leaves, &n, src, t, err);
    pgh_pg_leaves_free(leaves, n);
    return rc;
}

int pgh_source_check_persistence(const pgh_table_info *t, pgh_error *err)
{
    if (t->persistence == 'u')
        return pgh_error_set(err, PGH_EPRECOND,
                             "source table %s.%s is unlogged, and PostgreSQL cannot publish the "
                             "changes of an unlogged table: run ALTER TABLE %s SET LOGGED, or "
                             "leave it out of tables",
                             t->schema, t->name, t->qualified);
    if (t->persistence == 't')
        return pgh_error_set(err, PGH_EPRECOND,
                             "source table %s.%s is temporary, and PostgreSQL cannot publish the "
                             "changes of a temporary table: leave it out of tables",
                             t->schema, t->name);
    return 0;
}

int pgh_source_check_readable(const pgh_table_info *t, PGconn *src, pgh_error *err)
{
    char oid[16];
    snprintf(oid, sizeof(oid), "%u", t->oid);
    const char *params[1] = {oid};
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, src,
                            "SELECT pg_catalog.has_table_privilege($1::oid, 'SELECT'), "
                            "pg_catalog.quote_ident(current_user)",
                            1, params, err);
    if (rc == 0 && PQgetvalue(res, 0, 0)[0] != 't')
        rc = pgh_error_set(err, PGH_EPRECOND,
                           "source table %s.%s is not readable by role %s, which copies it: run "
                           "GRANT SELECT ON %s TO %s",
                           t->schema, t->name, PQgetvalue(res, 0, 1), t->qualified,
                           PQgetvalue(res, 0, 1));
    PQclear(res);
    return rc;
}

int pgh_source_check_table_key(const pgh_table_info *t, PGconn *src, const pgh_config *cfg,
                               const char *keyless_refusal, pgh_error *err)
{
    int rc = pgh_source_check_persistence(t, err);
    if (rc == 0)
        rc = pgh_source_check_readable(t, src, err);
    if (rc != 0)
        return rc;
    if (pgh_source_is_keyless(t))
        return pgh_source_check_keyless(t, src, keyless_refusal, err);
    switch (pgh_source_key_fault(t)) {
    case PGH_KEY_FAULT_NO_KEY:
        return pgh_error_set(err, PGH_EPRECOND,
                             "source table %s.%s has no primary key and REPLICA IDENTITY %s: "
                             "pghost copies in key order and finds rows by key when replaying "
                             "changes; run ALTER TABLE %s ADD PRIMARY KEY (...), or ALTER "
                             "TABLE %s REPLICA IDENTITY USING INDEX <a unique index on NOT NULL "
                             "columns>",
                             t->schema, t->name, pgh_source_replident_name(t->replident),
                             t->qualified, t->qualified);
    case PGH_KEY_FAULT_REPLIDENT:
        return pgh_error_set(err, PGH_EPRECOND,
                             "source table %s.%s has REPLICA IDENTITY %s, so updates and deletes "
                             "do not carry its primary key: run ALTER TABLE %s REPLICA "
                             "IDENTITY DEFAULT",
                             t->schema, t->name, pgh_source_replident_name(t->replident),
                             t->qualified);
    case PGH_KEY_FAULT_NONE:
        break;
    }
    if (!cfg->copy_use_keyset_pagination &&
        (t->nkeys != 1 || !is_integer_type(t->cols[t->key_cols[0]].type_oid)))
        return pgh_error_set(err, PGH_EPRECOND,
                             "copy_use_keyset_pagination: false needs a single integer primary "
                             "key, but %s.%s has another key: use keyset pagination (the default)",
                             t->schema, t->name);
    rc = pgh_source_check_key_order(t, src, err);
    return rc != 0 ? rc : pgh_source_check_leaves(t, src, err);
}

/* A partitioned root: the stream must name the root (publish_via_partition_root);
 * pg_publication_tables lists the root only then. */
static int check_via_root(const pgh_table_info *t, PGconn *src, const pgh_config *cfg,
                          const char *qpub, pgh_error *err)
{
    char v[8];
    const char *params[1] = {cfg->publication_name};
    int rc = pgh_pg_query_text(v, sizeof(v), src,
                               "SELECT pubviaroot FROM pg_catalog.pg_publication "
                               "WHERE pubname = $1",
                               1, params, err);
    if (rc == 0 && strcmp(v, "t") != 0)
        return pgh_error_set(err, PGH_EPRECOND,
                             "source table %s.%s is partitioned and publication %s publishes "
                             "changes under the partitions' names: run ALTER PUBLICATION %s SET "
                             "(publish_via_partition_root = true)",
                             t->schema, t->name, cfg->publication_name, qpub);
    return rc;
}

int pgh_source_check_table_published(const pgh_table_info *t, PGconn *src, const pgh_config *cfg,
                                     pgh_error *err)
{
    char *qpub = pgh_conn_ident(src, cfg->publication_name);
    if (qpub == NULL)
        return out_of_memory(err);
    /* A root published without publish_via_partition_root is listed by its leaves only: say
     * that first, rather than asking to add a table that is already there. */
    int rc = t->relkind == 'p' ? check_via_root(t, src, cfg, qpub, err) : 0;
    char v[16];
    const char *params[3] = {cfg->publication_name, t->schema, t->name};
    if (rc == 0)
        rc = pgh_pg_query_text(v, sizeof(v), src,
                               "SELECT count(*) FROM pg_catalog.pg_publication_tables "
                               "WHERE pubname = $1 AND schemaname = $2 AND tablename = $3",
                               3, params, err);
    if (rc == 0 && strcmp(v, "0") == 0)
        rc = pgh_error_set(err, PGH_EPRECOND,
                           "source table %s.%s is not in publication %s: run ALTER PUBLICATION "
                           "%s ADD TABLE %s",
                           t->schema, t->name, cfg->publication_name, qpub, t->qualified);
    free(qpub);
    return rc;
}

int pgh_source_check_table(const pgh_table_info *t, PGconn *src, const pgh_config *cfg,
                           const char *keyless_refusal, pgh_error *err)
{
    int rc = pgh_source_check_table_key(t, src, cfg, keyless_refusal, err);
    if (rc == 0)
        rc = pgh_source_check_table_published(t, src, cfg, err);
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
