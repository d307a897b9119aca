/*
 * One table's CREATE TABLE, from the source's catalogs: the columns the publication publishes
 * (all of them without a column list: published.c) with their types (created first),
 * collations, defaults, NOT NULL, identity and generated columns, the primary key,
 * PARTITION BY and, for a partition, PARTITION OF ... FOR VALUES. Sequences that the defaults
 * call are created before the table (same schema and name as on the source) and, when a column
 * of the table owns one on the source, owned by that column on the destination too. With a
 * column map (rules renaming columns or leaving them out) the columns and the primary key take
 * the destination's names, and the columns left out are not created.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/colmap.h"
#include "pg/conn.h"
#include "schema/internal.h"

static const char TABLE_SQL[] =
    "SELECT c.relkind, pg_catalog.pg_get_partkeydef(c.oid), "
    "  pg_catalog.pg_get_expr(c.relpartbound, c.oid), "
    "  pg_catalog.array_to_string(c.reloptions, ', '), "
    "  (SELECT k.conname FROM pg_catalog.pg_constraint k "
    "    WHERE k.conrelid = c.oid AND k.contype = 'p' AND k.conparentid = 0), "
    "  (SELECT pg_catalog.pg_get_constraintdef(k.oid) FROM pg_catalog.pg_constraint k "
    "    WHERE k.conrelid = c.oid AND k.contype = 'p' AND k.conparentid = 0) "
    "FROM pg_catalog.pg_class c WHERE c.oid = $1";

enum { R_KIND, R_PARTKEY, R_BOUND, R_OPTIONS, R_PKNAME, R_PKDEF };

static const char COLUMNS_SQL[] =
    "SELECT a.attname, a.atttypid, pg_catalog.format_type(a.atttypid, a.atttypmod), "
    "  a.attnotnull, a.attidentity, a.attgenerated, pg_catalog.pg_get_expr(d.adbin, d.adrelid), "
    "  CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation THEN cn.nspname END, "
    "  co.collname, "
    "  s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle, sc.relname "
    "FROM pg_catalog.pg_attribute a "
    "JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
    "LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
    "LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation "
    "LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace "
    "LEFT JOIN pg_catalog.pg_depend dep ON a.attidentity <> '' "
    "  AND dep.classid = 'pg_catalog.pg_class'::regclass AND dep.refobjid = a.attrelid "
    "  AND dep.refobjsubid = a.attnum AND dep.deptype = 'i' "
    "LEFT JOIN pg_catalog.pg_sequence s ON s.seqrelid = dep.objid "
    "LEFT JOIN pg_catalog.pg_class sc ON sc.oid = s.seqrelid "
    "WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped "
    "  AND " PGH_SCHEMA_PUBLISHED_2("a.attname") " ORDER BY a.attnum";

enum { C_NAME, C_TYPE, C_TYPEFMT, C_NOTNULL, C_IDENTITY, C_GENERATED, C_DEFAULT, C_COLLNSP,
       C_COLLNAME, C_START, C_INCR, C_MIN, C_MAX, C_CACHE, C_CYCLE, C_SEQNAME };

/* Sequences the published columns' defaults call, with the column owning each (NULL when not
 * owned by a published column of this table). */
static const char SEQUENCES_SQL[] =
    "SELECT DISTINCT n.nspname, s.relname, pg_catalog.format_type(q.seqtypid, NULL), "
    "  q.seqstart, q.seqincrement, q.seqmin, q.seqmax, q.seqcache, q.seqcycle, "
    "  (SELECT a.attname FROM pg_catalog.pg_depend o JOIN pg_catalog.pg_attribute a "
    "     ON a.attrelid = o.refobjid AND a.attnum = o.refobjsubid "
    "    WHERE o.classid = 'pg_catalog.pg_class'::regclass AND o.objid = s.oid "
    "      AND o.deptype = 'a' AND o.refobjid = $1 AND " PGH_SCHEMA_PUBLISHED_2("a.attname") ") "
    "FROM pg_catalog.pg_attrdef ad "
    "JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_attrdef'::regclass "
    "  AND d.objid = ad.oid AND d.refclassid = 'pg_catalog.pg_class'::regclass "
    "JOIN pg_catalog.pg_class s ON s.oid = d.refobjid AND s.relkind = 'S' "
    "JOIN pg_catalog.pg_namespace n ON n.oid = s.relnamespace "
    "JOIN pg_catalog.pg_sequence q ON q.seqrelid = s.oid "
    "WHERE ad.adrelid = $1 AND " PGH_SCHEMA_PUBLISHED_2(
        "(SELECT a.attname FROM pg_catalog.pg_attribute a "
        "  WHERE a.attrelid = ad.adrelid AND a.attnum = ad.adnum)") " ORDER BY 1, 2";


static void sequence_options(pgh_buf *b, PGresult *r, int row, int first)
{
    pgh_buf_printf(b, " START WITH %s INCREMENT BY %s MINVALUE %s MAXVALUE %s CACHE %s %s",
                   PQgetvalue(r, row, first), PQgetvalue(r, row, first + 1),
                   PQgetvalue(r, row, first + 2), PQgetvalue(r, row, first + 3),
                   PQgetvalue(r, row, first + 4),
                   PQgetvalue(r, row, first + 5)[0] == 't' ? "CYCLE" : "NO CYCLE");
}

/* Create the sequences the defaults call (before the table); owned ones get an OWNED BY
 * statement in *owned (run after the table). */
static int create_sequences(schema_jobs *owned, schema_ctx *c, const char *const params[2],
                            const char *dst_q, const pgh_column_map *map, pgh_error *err)
{
    PGresult *r = NULL;
    int rc = pgh_conn_query(&r, c->src, SEQUENCES_SQL, 2, params, err);
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        char *q = pgh_conn_qualified(c->dst, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
        const char *owner = PQgetisnull(r, i, 9) ? NULL : pgh_colmap_dest(map, PQgetvalue(r, i, 9));
        char *col = owner ? pgh_conn_ident(c->dst, owner) : NULL;
        if (q == NULL || (col == NULL && owner))
            rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
        if (rc == 0)
            rc = pgh_schema__ensure_schema(c->dst, PQgetvalue(r, i, 0), err);
        if (rc == 0) {
            pgh_buf b;
            pgh_buf_init(&b, 0);
            pgh_buf_printf(&b, "CREATE SEQUENCE IF NOT EXISTS %s AS %s", q, PQgetvalue(r, i, 2));
            sequence_options(&b, r, i, 3);
            rc = pgh_conn_exec(c->dst, pgh_buf_str(&b), err);
            pgh_buf_dispose(&b);
        }
        if (rc == 0 && col) {
            pgh_buf b;
            pgh_buf_init(&b, 0);
            pgh_buf_printf(&b, "ALTER SEQUENCE %s OWNED BY %s.%s", q, dst_q, col);
            char *stmt = pgh_buf_take(&b);
            rc = stmt ? pgh_schema__job_add(owned, stmt, PQgetvalue(r, i, 1), err)
                      : pgh_error_set(err, PGH_ENOMEM, "out of memory");
        }
        free(q);
        free(col);
    }
    PQclear(r);
    return rc;
}

static void identity_clause(pgh_buf *b, schema_ctx *c, PGresult *r, int i, const char *dst_schema)
{
    pgh_buf_printf(b, " GENERATED %s AS IDENTITY (",
                   PQgetvalue(r, i, C_IDENTITY)[0] == 'a' ? "ALWAYS" : "BY DEFAULT");
    if (!PQgetisnull(r, i, C_SEQNAME)) {
        char *q = pgh_conn_qualified(c->dst, dst_schema, PQgetvalue(r, i, C_SEQNAME));
        pgh_buf_printf(b, "SEQUENCE NAME %s", q ? q : "");
        if (q == NULL)
            b->failed = true;
        free(q);
        sequence_options(b, r, i, C_START);
    }
    pgh_buf_putc(b, ')');
}

/* One column definition; partitions take their columns from the parent. */
static int column_def(pgh_buf *b, schema_ctx *c, PGresult *r, int i, const char *dst_schema,
                      const char *dst_name, pgh_error *err)
{
    char *name = pgh_conn_ident(c->dst, dst_name);
    if (name == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    pgh_buf_printf(b, "%s %s", name, PQgetvalue(r, i, C_TYPEFMT));
    free(name);
    if (!PQgetisnull(r, i, C_COLLNSP)) {
        char *coll = pgh_conn_qualified(c->dst, PQgetvalue(r, i, C_COLLNSP),
                                        PQgetvalue(r, i, C_COLLNAME));
        pgh_buf_printf(b, " COLLATE %s", coll ? coll : "");
        if (coll == NULL)
            b->failed = true;
        free(coll);
    }
    if (PQgetvalue(r, i, C_GENERATED)[0] == 's')
        pgh_buf_printf(b, " GENERATED ALWAYS AS (%s) STORED", PQgetvalue(r, i, C_DEFAULT));
    else if (PQgetvalue(r, i, C_IDENTITY)[0] != '\0')
        identity_clause(b, c, r, i, dst_schema);
    else if (!PQgetisnull(r, i, C_DEFAULT))
        pgh_buf_printf(b, " DEFAULT %s", PQgetvalue(r, i, C_DEFAULT));
    if (PQgetvalue(r, i, C_NOTNULL)[0] == 't')
        pgh_buf_puts(b, " NOT NULL");
    return 0;
}

/* "PRIMARY KEY (<the key's columns under map's names>)" of the table oid. */
static int mapped_key(pgh_buf *b, schema_ctx *c, const char *oid, const pgh_column_map *map,
                      pgh_error *err)
{
    PGresult *r = NULL;
    const char *params[1] = {oid};
    int rc = pgh_conn_query(&r, c->src,
                            "SELECT a.attname FROM pg_catalog.pg_constraint k "
                            "CROSS JOIN LATERAL unnest(k.conkey) WITH ORDINALITY u(attnum, ord) "
                            "JOIN pg_catalog.pg_attribute a ON a.attrelid = k.conrelid "
                            "  AND a.attnum = u.attnum "
                            "WHERE k.conrelid = $1 AND k.contype = 'p' AND k.conparentid = 0 "
                            "ORDER BY u.ord",
                            1, params, err);
    pgh_buf_puts(b, "PRIMARY KEY (");
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        const char *name = pgh_colmap_dest(map, PQgetvalue(r, i, 0));
        if (name == NULL)
            rc = pgh_error_set(err, PGH_ECONFIG, "key column %s cannot be left out",
                               PQgetvalue(r, i, 0));
        else
            pgh_conn_put_ident(b, c->dst, i ? ", " : "", name);
    }
    pgh_buf_putc(b, ')');
    PQclear(r);
    return rc;
}

/* "(col, ..., CONSTRAINT pk PRIMARY KEY (...))" for a table, "(CONSTRAINT ...)" or "" for a
 * partition. */
static int element_list(pgh_buf *b, schema_ctx *c, PGresult *t, PGresult *cols,
                        const char *dst_schema, bool partition, bool with_key, const char *oid,
                        const pgh_column_map *map, pgh_error *err)
{
    int n = 0;
    int rc = 0;
    pgh_buf_puts(b, partition ? "" : " (");
    for (int i = 0; rc == 0 && !partition && i < PQntuples(cols); i++) {
        const char *name = pgh_colmap_dest(map, PQgetvalue(cols, i, C_NAME));
        if (name == NULL)
            continue; /* left out by the rules */
        rc = pgh_schema__ensure_type(c, (uint32_t)strtoul(PQgetvalue(cols, i, C_TYPE), NULL, 10),
                                     err);
        pgh_buf_puts(b, n++ ? ", " : "");
        if (rc == 0)
            rc = column_def(b, c, cols, i, dst_schema, name, err);
    }
    if (rc == 0 && with_key && !PQgetisnull(t, 0, R_PKNAME)) {
        char *pk = pgh_conn_ident(c->dst, PQgetvalue(t, 0, R_PKNAME));
        pgh_buf_printf(b, "%sCONSTRAINT %s ", n++ ? ", " : (partition ? " (" : ""),
                       pk ? pk : "");
        if (pgh_colmap_changes(map))
            rc = mapped_key(b, c, oid, map, err);
        else
            pgh_buf_puts(b, PQgetvalue(t, 0, R_PKDEF));
        if (pk == NULL)
            rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
        free(pk);
    }
    if (n > 0 || !partition)
        pgh_buf_putc(b, ')');
    return rc;
}

/* params: the table's OID and its published columns (pgh_schema__published). *key_deferred:
 * the table is created without its key (c->defer_keys, an ordinary table, not a partition). */
static int table_statement(pgh_buf *b, bool *key_deferred, schema_ctx *c,
                           const char *const params[2], const char *dst_schema,
                           const char *dst_q, const char *parent_q, const pgh_column_map *map,
                           pgh_error *err)
{
    PGresult *t = NULL;
    PGresult *cols = NULL;
    int rc = pgh_conn_query(&t, c->src, TABLE_SQL, 1, params, err);
    if (rc == 0)
        rc = pgh_conn_query(&cols, c->src, COLUMNS_SQL, 2, params, err);
    if (rc == 0 && PQntuples(t) != 1)
        rc = pgh_error_set(err, PGH_ENOTFOUND, "table %s vanished from the source", params[0]);
    if (rc != 0)
        goto done;
    pgh_buf_printf(b, "CREATE TABLE %s", dst_q);
    if (parent_q)
        pgh_buf_printf(b, " PARTITION OF %s", parent_q);
    *key_deferred = c->defer_keys && parent_q == NULL && PQgetvalue(t, 0, R_KIND)[0] == 'r';
    rc = element_list(b, c, t, cols, dst_schema, parent_q != NULL, !*key_deferred, params[0],
                      map, err);
    if (parent_q)
        pgh_buf_printf(b, " %s", PQgetvalue(t, 0, R_BOUND));
    if (PQgetvalue(t, 0, R_KIND)[0] == 'p')
        pgh_buf_printf(b, " PARTITION BY %s", PQgetvalue(t, 0, R_PARTKEY));
    if (!PQgetisnull(t, 0, R_OPTIONS) && PQgetvalue(t, 0, R_OPTIONS)[0])
        pgh_buf_printf(b, " WITH (%s)", PQgetvalue(t, 0, R_OPTIONS));
done:
    PQclear(t);
    PQclear(cols);
    return rc;
}

int pgh_schema__create_table(bool *key_deferred, schema_ctx *c, uint32_t src_oid,
                             const char *dst_schema, const char *dst_name, const char *parent_q,
                             const pgh_column_map *map, pgh_error *err)
{
    *key_deferred = false;
    char oid[16];
    snprintf(oid, sizeof(oid), "%u", src_oid);
    char *dst_q = pgh_conn_qualified(c->dst, dst_schema, dst_name);
    if (dst_q == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    schema_jobs owned = {0};
    pgh_buf sql;
    pgh_buf_init(&sql, 0);
    char *published = NULL;
    int rc = pgh_schema__published(&published, c->src, oid, c->cfg->publication_name, err);
    const char *params[2] = {oid, published};
    if (rc == 0)
        rc = pgh_schema__ensure_schema(c->dst, dst_schema, err);
    if (rc == 0)
        rc = create_sequences(&owned, c, params, dst_q, map, err);
    if (rc == 0)
        rc = table_statement(&sql, key_deferred, c, params, dst_schema, dst_q, parent_q, map,
                             err);
    if (rc == 0 && pgh_buf_failed(&sql))
        rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
    if (rc == 0)
        rc = pgh_conn_exec(c->dst, pgh_buf_str(&sql), err);
    if (rc == 0 && parent_q == NULL && !*key_deferred)
        rc = pgh_schema__create_key_index(c, oid, dst_q, err);
    for (int i = 0; rc == 0 && i < owned.n; i++)
        rc = pgh_conn_exec(c->dst, owned.sql[i], err);
    if (rc != 0)
        pgh_error_prefix(err, "creating table %s.%s on the destination", dst_schema, dst_name);
    pgh_buf_dispose(&sql);
    pgh_schema__jobs_dispose(&owned);
    free(published);
    free(dst_q);
    return rc;
}

int pgh_schema__add_primary_key(schema_ctx *c, const char *oid, const char *dst_q,
                                const pgh_column_map *map, pgh_error *err)
{
    const char *params[1] = {oid};
    PGresult *t = NULL;
    int rc = pgh_conn_query(&t, c->src, TABLE_SQL, 1, params, err);
    if (rc != 0 || PQntuples(t) != 1 || PQgetisnull(t, 0, R_PKNAME)) {
        PQclear(t);
        return rc;
    }
    char *pk = pgh_conn_ident(c->dst, PQgetvalue(t, 0, R_PKNAME));
    pgh_buf b;
    pgh_buf_init(&b, 0);
    pgh_buf_printf(&b, "ALTER TABLE %s ADD CONSTRAINT %s ", dst_q, pk ? pk : "");
    if (pgh_colmap_changes(map))
        rc = mapped_key(&b, c, oid, map, err);
    else
        pgh_buf_puts(&b, PQgetvalue(t, 0, R_PKDEF));
    if (rc == 0 && (pk == NULL || pgh_buf_failed(&b)))
        rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
    if (rc == 0)
        rc = pgh_schema__dst(c, pgh_buf_str(&b), "the primary key", err);
    pgh_buf_dispose(&b);
    free(pk);
    PQclear(t);
    return rc;
}
