/*
 * Types used by the tables, created on the destination before the tables, dependencies first:
 * an array through its element type, a domain after its base type, a composite after its
 * attributes' types, a range after its subtype. A type that exists on the destination (same
 * schema and name) is used as it is. Built-in types (pg_catalog, information_schema) are left
 * alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"
#include "schema/internal.h"

static const char TYPE_SQL[] =
    "SELECT t.typtype, n.nspname, t.typname, t.typelem, "
    "  (t.typelem <> 0 AND t.typsubscript = 'pg_catalog.array_subscript_handler'::regproc), "
    "  t.typbasetype, pg_catalog.format_type(t.typbasetype, t.typtypmod), t.typnotnull, "
    "  pg_catalog.pg_get_expr(t.typdefaultbin, 0), "
    "  EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = "
    "    'pg_catalog.pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e'), "
    "  coalesce((SELECT relkind FROM pg_catalog.pg_class WHERE oid = t.typrelid), ''), "
    "  coalesce(r.rngsubtype, 0), coalesce(r.rngtypid, 0), "
    "  pg_catalog.format_type(r.rngsubtype, NULL) "
    "FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace "
    "LEFT JOIN pg_catalog.pg_range r ON r.rngtypid = t.oid OR r.rngmultitypid = t.oid "
    "WHERE t.oid = $1";

enum { T_TYPE, T_NSP, T_NAME, T_ELEM, T_ISARRAY, T_BASE, T_BASEFMT, T_NOTNULL, T_DEFAULT, T_EXT,
       T_RELKIND, T_RNGSUB, T_RNGTYPE, T_RNGSUBFMT };

static bool seen(schema_ctx *c, uint32_t oid)
{
    for (int i = 0; i < c->ntypes_done; i++)
        if (c->types_done[i] == oid)
            return true;
    return false;
}

static int mark(schema_ctx *c, uint32_t oid, pgh_error *err)
{
    if (c->ntypes_done == c->types_cap) {
        int cap = c->types_cap ? c->types_cap * 2 : 16;
        uint32_t *p = realloc(c->types_done, (size_t)cap * sizeof(*p));
        if (p == NULL)
            return pgh_error_set(err, PGH_ENOMEM, "out of memory");
        c->types_done = p;
        c->types_cap = cap;
    }
    c->types_done[c->ntypes_done++] = oid;
    return 0;
}

static uint32_t oid_of(const char *s)
{
    return (uint32_t)strtoul(s, NULL, 10);
}

static int exists_on_dst(bool *out, PGconn *dst, const char *nsp, const char *name,
                         pgh_error *err)
{
    const char *params[2] = {nsp, name};
    char *v = NULL;
    int rc = pgh_schema__value(&v, dst,
                               "SELECT 1 FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n "
                               "ON n.oid = t.typnamespace WHERE n.nspname = $1 AND t.typname = $2",
                               2, params, err);
    *out = v != NULL;
    free(v);
    return rc;
}

static int enum_body(pgh_buf *b, schema_ctx *c, const char *oid, pgh_error *err)
{
    PGresult *res = NULL;
    const char *params[1] = {oid};
    int rc = pgh_conn_query(&res, c->src,
                            "SELECT enumlabel FROM pg_catalog.pg_enum WHERE enumtypid = $1 "
                            "ORDER BY enumsortorder",
                            1, params, err);
    pgh_buf_puts(b, " AS ENUM (");
    for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
        const char *l = PQgetvalue(res, i, 0);
        char *q = pgh_conn_literal(c->dst, l, strlen(l));
        pgh_buf_printf(b, "%s%s", i ? ", " : "", q ? q : "");
        if (q == NULL)
            rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
        free(q);
    }
    pgh_buf_putc(b, ')');
    PQclear(res);
    return rc;
}

static int domain_body(pgh_buf *b, schema_ctx *c, PGresult *t, const char *oid, pgh_error *err)
{
    int rc = pgh_schema__ensure_type(c, oid_of(PQgetvalue(t, 0, T_BASE)), err);
    if (rc != 0)
        return rc;
    pgh_buf_printf(b, " AS %s", PQgetvalue(t, 0, T_BASEFMT));
    if (!PQgetisnull(t, 0, T_DEFAULT))
        pgh_buf_printf(b, " DEFAULT %s", PQgetvalue(t, 0, T_DEFAULT));
    if (PQgetvalue(t, 0, T_NOTNULL)[0] == 't')
        pgh_buf_puts(b, " NOT NULL");
    PGresult *res = NULL;
    const char *params[1] = {oid};
    rc = pgh_conn_query(&res, c->src,
                        "SELECT conname, pg_catalog.pg_get_constraintdef(oid) "
                        "FROM pg_catalog.pg_constraint WHERE contypid = $1 AND contype = 'c' "
                        "ORDER BY conname",
                        1, params, err);
    for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
        char *q = pgh_conn_ident(c->dst, PQgetvalue(res, i, 0));
        pgh_buf_printf(b, " CONSTRAINT %s %s", q ? q : "", PQgetvalue(res, i, 1));
        if (q == NULL)
            rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
        free(q);
    }
    PQclear(res);
    return rc;
}

static int composite_body(pgh_buf *b, schema_ctx *c, const char *oid, pgh_error *err)
{
    PGresult *res = NULL;
    const char *params[1] = {oid};
    int rc = pgh_conn_query(&res, c->src,
                            "SELECT a.attname, a.atttypid, "
                            "  pg_catalog.format_type(a.atttypid, a.atttypmod) "
                            "FROM pg_catalog.pg_type t JOIN pg_catalog.pg_attribute a "
                            "  ON a.attrelid = t.typrelid "
                            "WHERE t.oid = $1 AND a.attnum > 0 AND NOT a.attisdropped "
                            "ORDER BY a.attnum",
                            1, params, err);
    for (int i = 0; rc == 0 && i < PQntuples(res); i++)
        rc = pgh_schema__ensure_type(c, oid_of(PQgetvalue(res, i, 1)), err);
    pgh_buf_puts(b, " AS (");
    for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
        char *q = pgh_conn_ident(c->dst, PQgetvalue(res, i, 0));
        pgh_buf_printf(b, "%s%s %s", i ? ", " : "", q ? q : "", PQgetvalue(res, i, 2));
        if (q == NULL)
            rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
        free(q);
    }
    pgh_buf_putc(b, ')');
    PQclear(res);
    return rc;
}

/* The statement creating the type described by row 0 of t, into b. */
static int type_statement(pgh_buf *b, schema_ctx *c, PGresult *t, const char *oid,
                          const char *qname, pgh_error *err)
{
    const char *nsp = PQgetvalue(t, 0, T_NSP);
    const char *name = PQgetvalue(t, 0, T_NAME);
    char kind = PQgetvalue(t, 0, T_TYPE)[0];
    const char *relkind = PQgetvalue(t, 0, T_RELKIND);
    bool ext = PQgetvalue(t, 0, T_EXT)[0] == 't';
    if (ext || kind == 'b' || kind == 'p' || (kind == 'c' && strcmp(relkind, "c") != 0))
        return pgh_error_set(err, PGH_EPRECOND,
                             "type %s.%s used by the tables does not exist on the destination "
                             "and pghost cannot create it (%s): create it there first",
                             nsp, name,
                             ext           ? "it belongs to an extension: run CREATE EXTENSION"
                             : kind == 'c' ? "it is the row type of a table"
                                           : "it is a base type");
    pgh_buf_printf(b, "%s %s", kind == 'd' ? "CREATE DOMAIN" : "CREATE TYPE", qname);
    switch (kind) {
    case 'e':
        return enum_body(b, c, oid, err);
    case 'd':
        return domain_body(b, c, t, oid, err);
    case 'c':
        return composite_body(b, c, oid, err);
    case 'r': {
        int rc = pgh_schema__ensure_type(c, oid_of(PQgetvalue(t, 0, T_RNGSUB)), err);
        pgh_buf_printf(b, " AS RANGE (SUBTYPE = %s)", PQgetvalue(t, 0, T_RNGSUBFMT));
        return rc;
    }
    default:
        return pgh_error_set(err, PGH_EPRECOND, "type %s.%s (kind %c) is not supported", nsp,
                             name, kind);
    }
}

static int create_type(schema_ctx *c, PGresult *t, const char *oid, pgh_error *err)
{
    const char *nsp = PQgetvalue(t, 0, T_NSP);
    const char *name = PQgetvalue(t, 0, T_NAME);
    bool exists = false;
    int rc = exists_on_dst(&exists, c->dst, nsp, name, err);
    if (rc != 0 || exists)
        return rc;
    char *qname = pgh_conn_qualified(c->dst, nsp, name);
    if (qname == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    pgh_buf b;
    pgh_buf_init(&b, 0);
    rc = pgh_schema__ensure_schema(c->dst, nsp, err);
    if (rc == 0)
        rc = type_statement(&b, c, t, oid, qname, err);
    if (rc == 0 && pgh_buf_failed(&b))
        rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
    if (rc == 0) {
        rc = pgh_conn_exec(c->dst, pgh_buf_str(&b), err);
        if (rc != 0)
            pgh_error_prefix(err, "creating type %s.%s on the destination", nsp, name);
    }
    pgh_buf_dispose(&b);
    free(qname);
    return rc;
}

int pgh_schema__ensure_type(schema_ctx *c, uint32_t type_oid, pgh_error *err)
{
    if (type_oid == 0 || seen(c, type_oid))
        return 0;
    int rc = mark(c, type_oid, err);
    if (rc != 0)
        return rc;
    char oid[16];
    snprintf(oid, sizeof(oid), "%u", type_oid);
    PGresult *t = NULL;
    const char *params[1] = {oid};
    rc = pgh_conn_query(&t, c->src, TYPE_SQL, 1, params, err);
    if (rc != 0 || PQntuples(t) == 0)
        goto done;
    const char *nsp = PQgetvalue(t, 0, T_NSP);
    if (strcmp(nsp, "pg_catalog") == 0 || strcmp(nsp, "information_schema") == 0)
        goto done;
    if (PQgetvalue(t, 0, T_ISARRAY)[0] == 't') {
        rc = pgh_schema__ensure_type(c, oid_of(PQgetvalue(t, 0, T_ELEM)), err);
        goto done;
    }
    if (PQgetvalue(t, 0, T_TYPE)[0] == 'm') { /* a multirange comes with its range */
        rc = pgh_schema__ensure_type(c, oid_of(PQgetvalue(t, 0, T_RNGTYPE)), err);
        goto done;
    }
    rc = create_type(c, t, oid, err);
done:
    PQclear(t);
    return rc;
}
