/*
 * What every step of the table creation shares: the list of created tables, the table mapping,
 * one-value queries and CREATE SCHEMA (schema/internal.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"
#include "schema/internal.h"

int pgh_schema__value(char **out, PGconn *conn, const char *sql, int nparams,
                      const char *const *params, pgh_error *err)
{
    *out = NULL;
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, conn, sql, nparams, params, err);
    if (rc == 0 && PQntuples(res) > 0 && !PQgetisnull(res, 0, 0)) {
        *out = strdup(PQgetvalue(res, 0, 0));
        if (*out == NULL)
            rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
    }
    PQclear(res);
    return rc;
}

int pgh_schema__relation_exists(bool *out, PGconn *conn, const char *schema, const char *name,
                                pgh_error *err)
{
    const char *params[2] = {schema, name};
    char *v = NULL;
    int rc = pgh_schema__value(&v, conn,
                               "SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace "
                               "n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2",
                               2, params, err);
    *out = v != NULL;
    free(v);
    return rc;
}

void pgh_schema_created_dispose(pgh_schema_created *c)
{
    if (c == NULL)
        return;
    for (int i = 0; i < c->n; i++) {
        free(c->tables[i].source_schema);
        free(c->tables[i].source_name);
        free(c->tables[i].dest_schema);
        free(c->tables[i].dest_name);
    }
    free(c->tables);
    c->tables = NULL;
    c->n = 0;
}

int pgh_schema__add(pgh_schema_created *c, const char *src_schema, const char *src_name,
                    const char *dst_schema, const char *dst_name, pgh_error *err)
{
    pgh_schema_table *p = realloc(c->tables, (size_t)(c->n + 1) * sizeof(*p));
    if (p == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    c->tables = p;
    pgh_schema_table *t = &p[c->n];
    t->source_schema = strdup(src_schema);
    t->source_name = strdup(src_name);
    t->dest_schema = strdup(dst_schema);
    t->dest_name = strdup(dst_name);
    c->n++;
    if (!t->source_schema || !t->source_name || !t->dest_schema || !t->dest_name)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    return 0;
}

bool pgh_schema__map(const char **dst_schema, const char **dst_name,
                     const pgh_schema_created *created, const pgh_config *cfg,
                     const char *src_schema, const char *src_name)
{
    for (int i = 0; created && i < created->n; i++) {
        const pgh_schema_table *t = &created->tables[i];
        if (strcmp(t->source_schema, src_schema) == 0 && strcmp(t->source_name, src_name) == 0) {
            *dst_schema = t->dest_schema;
            *dst_name = t->dest_name;
            return true;
        }
    }
    for (size_t i = 0; cfg && i < cfg->ntables; i++) {
        const pgh_table_map *m = &cfg->tables[i];
        if (strcmp(m->source_schema, src_schema) == 0 && strcmp(m->source_table, src_name) == 0) {
            *dst_schema = m->dest_schema;
            *dst_name = m->dest_table;
            return true;
        }
    }
    return false;
}

const pgh_column_map *pgh_schema__map_of(const pgh_config *cfg, const pgh_column_map *const *maps,
                                         const char *src_schema, const char *src_name)
{
    for (size_t i = 0; maps && i < cfg->ntables; i++) {
        const pgh_table_map *m = &cfg->tables[i];
        if (strcmp(m->source_schema, src_schema) == 0 && strcmp(m->source_table, src_name) == 0)
            return maps[i];
    }
    return NULL;
}

int pgh_schema__ensure_schema(PGconn *dst, const char *schema, pgh_error *err)
{
    char *q = pgh_conn_ident(dst, schema);
    if (q == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    char *sql = NULL;
    int rc = 0;
    size_t len = strlen(q) + 64;
    sql = malloc(len);
    if (sql == NULL)
        rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
    if (rc == 0) {
        snprintf(sql, len, "CREATE SCHEMA IF NOT EXISTS %s", q);
        rc = pgh_conn_exec(dst, sql, err);
        if (rc != 0)
            pgh_error_prefix(err, "creating schema %s on the destination", schema);
    }
    free(sql);
    free(q);
    return rc;
}
