/*
 * Step 1 of creating the destination tables (pghost/schema.h): check the configured tables that
 * exist on the destination, then create the missing ones in configuration order, each
 * partitioned table followed by its partitions, all in the caller's destination transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/catalog.h"
#include "pg/colmap.h"
#include "pg/conn.h"
#include "pghost/log.h"
#include "schema/internal.h"
#include "source/publication.h"
#include "state/state.h"


/* The primary key's column names, comma-separated, into b. */
static void key_names(pgh_buf *b, const pgh_table_info *t)
{
    for (int k = 0; k < t->nkeys; k++)
        pgh_buf_printf(b, "%s%s", k ? ", " : "", t->cols[t->key_cols[k]].name);
}

/* An existing destination table must have the source's (published) columns (as map makes
 * them), types and primary key; one an interrupted run created without its key (key_pending:
 * the key is built after the copy) has no key yet. */
static int check_existing(PGconn *src, PGconn *dst, const char *publication,
                          const pgh_table_map *m, const pgh_column_map *map, bool key_pending,
                          pgh_error *err)
{
    pgh_table_info *s = NULL;
    pgh_table_info *d = NULL;
    int rc = pgh_catalog_table(&s, src, m->source_schema, m->source_table, err);
    /* refused here (a column list without the key) is the preflight's refusal, as it is */
    int refused = rc == 0 && publication
                      ? pgh_source_publication_narrow(s, src, publication, err)
                      : 0;
    if (refused != 0) {
        pgh_table_info_free(s);
        return refused;
    }
    if (rc == 0)
        rc = pgh_colmap_apply(s, map, err);
    if (rc == 0)
        rc = pgh_catalog_table(&d, dst, m->dest_schema, m->dest_table, err);
    if (rc == 0)
        rc = pgh_catalog_compare_columns(s, d, err);
    if (rc == 0 && !(key_pending && d->nkeys == 0)) {
        pgh_buf a, b;
        pgh_buf_init(&a, 0);
        pgh_buf_init(&b, 0);
        key_names(&a, s);
        key_names(&b, d);
        if (strcmp(pgh_buf_str(&a), pgh_buf_str(&b)) != 0)
            rc = pgh_error_set(err, PGH_EPRECOND,
                               "primary key of %s.%s is (%s) but the source's is (%s)",
                               m->dest_schema, m->dest_table, pgh_buf_str(&b), pgh_buf_str(&a));
        pgh_buf_dispose(&a);
        pgh_buf_dispose(&b);
    }
    if (rc == PGH_EPRECOND)
        pgh_error_prefix(err, "destination table %s.%s exists and differs from the source (pghost "
                              "never alters an existing table: fix or drop it, or map the table "
                              "to a new name)",
                         m->dest_schema, m->dest_table);
    pgh_table_info_free(s);
    pgh_table_info_free(d);
    return rc;
}

/* The source table's OID ("" when it is missing), and whether an ancestor (a partitioned table
 * it is a partition of) is configured too, so that it is created through that ancestor. */
static int source_table(char **oid, bool *via_ancestor, PGconn *src, const pgh_config *cfg,
                        const pgh_table_map *m, pgh_error *err)
{
    const char *params[2] = {m->source_schema, m->source_table};
    PGresult *res = NULL;
    *oid = NULL;
    *via_ancestor = false;
    int rc = pgh_conn_query(&res, src,
                            "SELECT c.oid, an.nspname, ac.relname "
                            "FROM pg_catalog.pg_class c "
                            "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                            "LEFT JOIN LATERAL pg_catalog.pg_partition_ancestors(c.oid) a(relid) "
                            "  ON a.relid <> c.oid "
                            "LEFT JOIN pg_catalog.pg_class ac ON ac.oid = a.relid "
                            "LEFT JOIN pg_catalog.pg_namespace an ON an.oid = ac.relnamespace "
                            "WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')",
                            2, params, err);
    for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
        const char *ds, *dn;
        if (!PQgetisnull(res, i, 1) &&
            pgh_schema__map(&ds, &dn, NULL, cfg, PQgetvalue(res, i, 1), PQgetvalue(res, i, 2)))
            *via_ancestor = true;
    }
    if (rc == 0 && PQntuples(res) > 0) {
        *oid = strdup(PQgetvalue(res, 0, 0));
        if (*oid == NULL)
            rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
    }
    PQclear(res);
    return rc;
}

/* Create the table, then (partitioned) each of its partitions, recursively. */
static int create_tree(schema_ctx *c, const char *oid, const char *src_schema,
                       const char *src_name, const char *dst_schema, const char *dst_name,
                       const char *parent_q, pgh_error *err)
{
    const pgh_column_map *map =
        parent_q ? NULL : pgh_schema__map_of(c->cfg, c->maps, src_schema, src_name);
    bool key_deferred = false;
    int rc = pgh_schema__create_table(&key_deferred, c, (uint32_t)strtoul(oid, NULL, 10),
                                      dst_schema, dst_name, parent_q, map, err);
    if (rc == 0)
        rc = pgh_schema__add(c->out, src_schema, src_name, dst_schema, dst_name, err);
    pgh_table_map rec = {(char *)src_schema, (char *)src_name, (char *)dst_schema,
                         (char *)dst_name};
    if (rc == 0 && key_deferred)
        rc = pgh_state_key_pending_add(c->dst, c->record_schema, c->slot, &rec, err);
    if (rc != 0)
        return rc;
    pgh_log(PGH_LOG_INFO, "schema", "created table %s.%s%s", dst_schema, dst_name,
            parent_q ? " (a partition)"
                     : key_deferred ? " (its key is built after the copy)" : "");
    PGresult *res = NULL;
    const char *params[1] = {oid};
    rc = pgh_conn_query(&res, c->src,
                        "SELECT c.oid, n.nspname, c.relname FROM pg_catalog.pg_inherits i "
                        "JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid "
                        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                        "WHERE i.inhparent = $1 AND c.relispartition ORDER BY n.nspname, c.relname",
                        1, params, err);
    char *me = rc == 0 ? pgh_conn_qualified(c->dst, dst_schema, dst_name) : NULL;
    if (rc == 0 && me == NULL)
        rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
    for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
        const char *ps = PQgetvalue(res, i, 1);
        const char *pn = PQgetvalue(res, i, 2);
        const char *ds = dst_schema;
        const char *dn = pn;
        pgh_schema__map(&ds, &dn, NULL, c->cfg, ps, pn);
        rc = create_tree(c, PQgetvalue(res, i, 0), ps, pn, ds, dn, me, err);
    }
    free(me);
    PQclear(res);
    return rc;
}

/* Whether dst_schema.dst_name is in the list. */
static bool listed(const pgh_schema_created *l, const char *dst_schema, const char *dst_name)
{
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->tables[i].dest_schema, dst_schema) == 0 &&
            strcmp(l->tables[i].dest_name, dst_name) == 0)
            return true;
    return false;
}

/* Which configured tables to create: NULL entries are left alone (missing on the source,
 * existing on the destination, or created through a configured ancestor). */
static int plan(char **oids, schema_ctx *c, pgh_error *err)
{
    pgh_schema_created keys = {0};
    int rc = c->record_schema
                 ? pgh_schema_keys_pending(&keys, c->dst, c->record_schema, c->slot, err)
                 : 0;
    for (size_t i = 0; rc == 0 && i < c->cfg->ntables; i++) {
        const pgh_table_map *m = &c->cfg->tables[i];
        bool via_ancestor = false;
        bool exists = false;
        rc = source_table(&oids[i], &via_ancestor, c->src, c->cfg, m, err);
        if (rc == 0 && oids[i])
            rc = pgh_schema__relation_exists(&exists, c->dst, m->dest_schema, m->dest_table, err);
        if (rc == 0 && oids[i] && exists)
            rc = check_existing(c->src, c->dst, c->cfg->publication_name, m,
                                c->maps ? c->maps[i] : NULL,
                                listed(&keys, m->dest_schema, m->dest_table), err);
        if (exists || via_ancestor) {
            free(oids[i]);
            oids[i] = NULL;
        }
    }
    pgh_schema_created_dispose(&keys);
    return rc;
}

/* pgh_schema_create, the tables' columns as maps make them (schema.h). */
static int create_mapped(pgh_schema_created *out, PGconn *src, PGconn *dst,
                         const pgh_config *cfg, const pgh_column_map *const *maps,
                         const char *record_schema, const char *slot, pgh_error *err)
{
    memset(out, 0, sizeof(*out));
    /* A unique index maintained by every copied row costs more than building it once after
     * the copy; on_conflict_action update|nothing needs it during the copy (ON CONFLICT). */
    schema_ctx c = {.src = src, .dst = dst, .cfg = cfg, .maps = maps, .out = out,
                    .defer_keys = record_schema != NULL &&
                                  cfg->copy_method == PGH_COPY_METHOD_PARALLEL &&
                                  cfg->on_conflict_action == PGH_ON_CONFLICT_ERROR,
                    .record_schema = record_schema, .slot = slot};
    char **oids = calloc(cfg->ntables + 1, sizeof(*oids));
    if (oids == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    int rc = pgh_conn_exec(src, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err);
    bool src_txn = rc == 0;
    if (rc == 0)
        rc = pgh_conn_exec(dst, "SET LOCAL client_min_messages = warning", err);
    if (rc == 0)
        rc = plan(oids, &c, err);
    /* From here on every name the source prints is schema-qualified. */
    if (rc == 0)
        rc = pgh_conn_exec(src, "SET LOCAL search_path = pg_catalog", err);
    for (size_t i = 0; rc == 0 && i < cfg->ntables; i++) {
        const pgh_table_map *m = &cfg->tables[i];
        if (oids[i])
            rc = create_tree(&c, oids[i], m->source_schema, m->source_table, m->dest_schema,
                             m->dest_table, NULL, err);
    }
    if (rc == 0 && record_schema)
        rc = pgh_schema__pending_record(out, dst, record_schema, slot, err);
    if (src_txn)
        pgh_conn_exec(src, rc == 0 ? "COMMIT" : "ROLLBACK", rc == 0 ? err : NULL);
    for (size_t i = 0; i < cfg->ntables; i++)
        free(oids[i]);
    free(oids);
    free(c.types_done);
    return rc;
}

int pgh_schema_create(pgh_schema_created *out, PGconn *src, PGconn *dst, const pgh_config *cfg,
                      const char *record_schema, const char *slot, pgh_error *err)
{
    return create_mapped(out, src, dst, cfg, NULL, record_schema, slot, err);
}

int pgh_schema_begin(pgh_schema_created *out, PGconn *src, PGconn *dst, const pgh_config *cfg,
                     const pgh_column_map *const *maps, const char *record_schema,
                     pgh_error *err)
{
    memset(out, 0, sizeof(*out));
    int rc = pgh_conn_exec(dst, "BEGIN", err);
    if (rc == 0)
        rc = create_mapped(out, src, dst, cfg, maps, record_schema, cfg->slot_name, err);
    return rc;
}

int pgh_schema_end(PGconn *dst, int rc, pgh_error *err)
{
    if (PQtransactionStatus(dst) == PQTRANS_IDLE)
        return rc;
    if (rc != 0) {
        pgh_conn_exec(dst, "ROLLBACK", NULL);
        return rc;
    }
    return pgh_conn_exec(dst, "COMMIT", err);
}
