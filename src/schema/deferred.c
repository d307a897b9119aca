/*
 * Step 2 of creating the destination tables (pghost/schema.h): the indexes and constraints
 * built after the copy and the catch-up, on the tables step 1 created.
 *
 *   1. indexes (not those of a constraint, nor a partition's index attached to its parent's)
 *      and unique, exclusion and check constraints: in parallel
 *   2. foreign keys: added NOT VALID in one transaction on one session (adding takes locks on
 *      both tables, so parallel adds could deadlock), then validated in parallel (VALIDATE
 *      locks only the referencing table against other writers and scans it)
 * Definitions come from pg_get_indexdef / pg_get_constraintdef with search_path = pg_catalog;
 * the table names in them are replaced by the mapped destination names: the part of the
 * definition before the name is recomputed on the source and checked to be exactly what the
 * server printed, so the replacement never guesses. Objects that exist already on the
 * destination (by name) are skipped: a re-run finishes an interrupted build. Under a
 * publication column list, indexes and constraints that use an unpublished column are left out
 * (the table was created without it: published.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/catalog.h"
#include "pg/colmap.h"
#include "pg/conn.h"
#include "pghost/log.h"
#include "schema/internal.h"

static const char INDEX_SQL[] =
    "SELECT ic.relname, i.indisunique, "
    "  left(pg_catalog.pg_get_indexdef(i.indexrelid), length(p.prefix)) = p.prefix, "
    "  substr(pg_catalog.pg_get_indexdef(i.indexrelid), length(p.prefix) + 1), i.indexrelid "
    "FROM pg_catalog.pg_index i "
    "JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid "
    "JOIN pg_catalog.pg_class tc ON tc.oid = i.indrelid "
    "JOIN pg_catalog.pg_namespace tn ON tn.oid = tc.relnamespace "
    "CROSS JOIN LATERAL (SELECT 'CREATE ' || CASE WHEN i.indisunique THEN 'UNIQUE ' ELSE '' END "
    "  || 'INDEX ' || quote_ident(ic.relname) || ' ON ' "
    "  || CASE WHEN ic.relkind = 'I' THEN 'ONLY ' ELSE '' END "
    "  || quote_ident(tn.nspname) || '.' || quote_ident(tc.relname) || ' USING ' AS prefix) p "
    "WHERE i.indrelid = $1 AND NOT i.indisprimary "
    "  AND i.indexrelid IS DISTINCT FROM " PGH_CATALOG_KEY_INDEX_OF_1 " "
    "  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k WHERE k.conindid = i.indexrelid "
    "    AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u', 'x')) "
    "  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_inherits h WHERE h.inhrelid = i.indexrelid) "
    "  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a "
    "    WHERE a.attrelid = i.indrelid AND a.attnum > 0 "
    "      AND NOT " PGH_SCHEMA_PUBLISHED_2("a.attname")
    "      AND (a.attnum = ANY (i.indkey::int2[]) OR EXISTS (SELECT 1 FROM pg_catalog.pg_depend d "
    "        WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = i.indexrelid "
    "          AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid = i.indrelid "
    "          AND d.refobjsubid = a.attnum))) "
    "ORDER BY ic.relname";

static const char CONSTRAINT_SQL[] =
    "SELECT k.conname, k.contype, pg_catalog.pg_get_constraintdef(k.oid), k.convalidated, "
    "  rn.nspname, rc.relname, "
    "  left(pg_catalog.pg_get_constraintdef(k.oid), length(p.prefix)) = p.prefix, "
    "  substr(pg_catalog.pg_get_constraintdef(k.oid), length(p.prefix) + 1), h.head, k.oid "
    "FROM pg_catalog.pg_constraint k "
    "LEFT JOIN pg_catalog.pg_class rc ON rc.oid = k.confrelid "
    "LEFT JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace "
    "CROSS JOIN LATERAL (SELECT 'FOREIGN KEY (' || (SELECT string_agg(quote_ident(a.attname), "
    "    ', ' ORDER BY u.ord) FROM unnest(k.conkey) WITH ORDINALITY u(attnum, ord) "
    "    JOIN pg_catalog.pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum) "
    "  || ')' AS head) h "
    "CROSS JOIN LATERAL (SELECT h.head || ' REFERENCES ' || quote_ident(rn.nspname) || '.' "
    "  || quote_ident(rc.relname) || '(' AS prefix) p "
    "WHERE k.conrelid = $1 AND k.contype IN ('u', 'x', 'c', 'f') AND k.conislocal "
    "  AND k.conparentid = 0 AND (k.contype <> 'u' "
    "    OR k.conindid IS DISTINCT FROM " PGH_CATALOG_KEY_INDEX_OF_1 ") "
    "  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a WHERE a.attrelid = k.conrelid "
    "    AND a.attnum = ANY (k.conkey) AND NOT " PGH_SCHEMA_PUBLISHED_2("a.attname") ") "
    "ORDER BY k.contype, k.conname";

enum { K_NAME, K_TYPE, K_DEF, K_VALID, K_REFNSP, K_REFNAME, K_PREFIX_OK, K_TAIL, K_HEAD, K_OID };

/* The columns of table (OID) an index or constraint (OID object) depends on. */
static const char DEPENDS_SQL[] =
    "SELECT a.attname FROM pg_catalog.pg_depend p "
    "JOIN pg_catalog.pg_attribute a ON a.attrelid = p.refobjid AND a.attnum = p.refobjsubid "
    "WHERE p.objid = $1 AND p.refobjid = $2 AND p.refobjsubid > 0";

/* The three lists of statements, and what names them. */
typedef struct deferred {
    PGconn *src;                        /* owned: search_path = pg_catalog */
    PGconn *dst;                        /* owned */
    const pgh_schema_created *created;  /* borrowed */
    const pgh_config *cfg;              /* borrowed */
    const pgh_column_map *const *maps;  /* borrowed, may be NULL (schema.h) */
    schema_jobs build;                  /* indexes, unique/exclusion/check constraints */
    schema_jobs fk_add;                 /* foreign keys, added NOT VALID */
    schema_jobs fk_validate;            /* then validated */
} deferred;

static int add_job(schema_jobs *j, pgh_buf *b, const char *what, pgh_error *err)
{
    char *sql = pgh_buf_take(b);
    if (sql == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    return pgh_schema__job_add(j, sql, what, err);
}

/* *valid is "t" or "f" when the constraint exists on the destination table, else NULL. */
static int constraint_state(char **valid, PGconn *dst, const pgh_schema_table *t,
                            const char *name, pgh_error *err)
{
    const char *params[3] = {t->dest_schema, t->dest_name, name};
    return pgh_schema__value(valid, dst,
                             "SELECT k.convalidated FROM pg_catalog.pg_constraint k "
                             "JOIN pg_catalog.pg_class c ON c.oid = k.conrelid "
                             "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                             "WHERE n.nspname = $1 AND c.relname = $2 AND k.conname = $3",
                             3, params, err);
}

/* Whether the object (OID) depends on a column of table t (OID oid) that t's column map renames
 * or leaves out: its definition names the source's column, so it is not built (logged). */
static int names_changed(bool *out, deferred *d, const pgh_schema_table *t, const char *oid,
                         const char *object, const char *what, pgh_error *err)
{
    *out = false;
    const pgh_column_map *map = pgh_schema__map_of(d->cfg, d->maps, t->source_schema,
                                                   t->source_name);
    if (!pgh_colmap_changes(map))
        return 0;
    PGresult *r = NULL;
    const char *params[2] = {object, oid};
    int rc = pgh_conn_query(&r, d->src, DEPENDS_SQL, 2, params, err);
    for (int i = 0; rc == 0 && !*out && i < PQntuples(r); i++) {
        const char *col = PQgetvalue(r, i, 0);
        const char *to = pgh_colmap_dest(map, col);
        *out = to == NULL || strcmp(to, col) != 0;
        if (*out)
            pgh_log(PGH_LOG_WARN, "schema",
                    "%s of %s.%s is not built: it names column %s, which the rules %s", what,
                    t->dest_schema, t->dest_name, col, to ? "rename" : "leave out");
    }
    PQclear(r);
    return rc;
}

/* params: the table's OID and its published columns (published.c). */
static int collect_indexes(deferred *d, const pgh_schema_table *t, const char *const params[2],
                           const char *dst_q, pgh_error *err)
{
    PGresult *r = NULL;
    int rc = pgh_conn_query(&r, d->src, INDEX_SQL, 2, params, err);
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        const char *name = PQgetvalue(r, i, 0);
        bool exists = false;
        bool skip = false;
        char label[256];
        snprintf(label, sizeof(label), "index %s", name);
        rc = names_changed(&skip, d, t, params[0], PQgetvalue(r, i, 4), label, err);
        if (rc != 0 || skip)
            continue;
        if (PQgetvalue(r, i, 2)[0] != 't') {
            rc = pgh_error_set(err, PGH_ESQL,
                               "cannot read the definition of index %s of %s.%s on the source",
                               name, t->source_schema, t->source_name);
            break;
        }
        rc = pgh_schema__relation_exists(&exists, d->dst, t->dest_schema, name, err);
        if (rc != 0 || exists)
            continue;
        char *q = pgh_conn_ident(d->dst, name);
        pgh_buf b;
        pgh_buf_init(&b, 0);
        pgh_buf_printf(&b, "CREATE %sINDEX %s ON %s USING %s",
                       PQgetvalue(r, i, 1)[0] == 't' ? "UNIQUE " : "", q ? q : "", dst_q,
                       PQgetvalue(r, i, 3));
        char what[512];
        snprintf(what, sizeof(what), "index %s on %s.%s", name, t->dest_schema, t->dest_name);
        rc = q ? add_job(&d->build, &b, what, err)
               : pgh_error_set(err, PGH_ENOMEM, "out of memory");
        pgh_buf_dispose(&b);
        free(q);
    }
    PQclear(r);
    return rc;
}

/* A foreign key: added NOT VALID (when the source's is valid and the table is not partitioned:
 * PostgreSQL 15 cannot add one NOT VALID there), then validated. state is the destination's
 * convalidated when it exists there already. */
static int foreign_key(deferred *d, const pgh_schema_table *t, PGresult *r, int i,
                       const char *dst_q, const char *qname, const char *state, bool partitioned,
                       pgh_error *err)
{
    const char *ds, *dn;
    const char *name = PQgetvalue(r, i, K_NAME);
    if (!pgh_schema__map(&ds, &dn, d->created, d->cfg, PQgetvalue(r, i, K_REFNSP),
                         PQgetvalue(r, i, K_REFNAME))) {
        pgh_log(PGH_LOG_WARN, "schema",
                "foreign key %s of %s.%s is not created: it references %s.%s, which is not one "
                "of the synced tables",
                name, t->dest_schema, t->dest_name, PQgetvalue(r, i, K_REFNSP),
                PQgetvalue(r, i, K_REFNAME));
        return 0;
    }
    if (PQgetvalue(r, i, K_PREFIX_OK)[0] != 't')
        return pgh_error_set(err, PGH_ESQL,
                             "cannot read the definition of foreign key %s of %s.%s on the source",
                             name, t->source_schema, t->source_name);
    bool src_valid = PQgetvalue(r, i, K_VALID)[0] == 't';
    bool not_valid_first = src_valid && !partitioned;
    char what[512];
    snprintf(what, sizeof(what), "foreign key %s on %s.%s", name, t->dest_schema, t->dest_name);
    int rc = 0;
    if (state == NULL) {
        char *ref = pgh_conn_qualified(d->dst, ds, dn);
        pgh_buf b;
        pgh_buf_init(&b, 0);
        pgh_buf_printf(&b, "ALTER TABLE %s ADD CONSTRAINT %s %s REFERENCES %s(%s%s", dst_q, qname,
                       PQgetvalue(r, i, K_HEAD), ref ? ref : "", PQgetvalue(r, i, K_TAIL),
                       not_valid_first ? " NOT VALID" : "");
        rc = ref ? add_job(&d->fk_add, &b, what, err)
                 : pgh_error_set(err, PGH_ENOMEM, "out of memory");
        pgh_buf_dispose(&b);
        free(ref);
    }
    bool validate = state == NULL ? not_valid_first : (src_valid && state[0] != 't');
    if (rc == 0 && validate) {
        pgh_buf b;
        pgh_buf_init(&b, 0);
        pgh_buf_printf(&b, "ALTER TABLE %s VALIDATE CONSTRAINT %s", dst_q, qname);
        rc = add_job(&d->fk_validate, &b, what, err);
        pgh_buf_dispose(&b);
    }
    return rc;
}

static int collect_constraints(deferred *d, const pgh_schema_table *t,
                               const char *const params[2], const char *dst_q, bool partitioned,
                               pgh_error *err)
{
    PGresult *r = NULL;
    int rc = pgh_conn_query(&r, d->src, CONSTRAINT_SQL, 2, params, err);
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        const char *name = PQgetvalue(r, i, K_NAME);
        char *state = NULL;
        bool skip = false;
        char label[256];
        snprintf(label, sizeof(label), "constraint %s", name);
        rc = names_changed(&skip, d, t, params[0], PQgetvalue(r, i, K_OID), label, err);
        if (rc != 0 || skip)
            continue;
        rc = constraint_state(&state, d->dst, t, name, err);
        char *q = rc == 0 ? pgh_conn_ident(d->dst, name) : NULL;
        if (rc == 0 && q == NULL)
            rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
        if (rc == 0 && PQgetvalue(r, i, K_TYPE)[0] == 'f') {
            rc = foreign_key(d, t, r, i, dst_q, q, state, partitioned, err);
        } else if (rc == 0 && state == NULL) {
            pgh_buf b;
            pgh_buf_init(&b, 0);
            pgh_buf_printf(&b, "ALTER TABLE %s ADD CONSTRAINT %s %s", dst_q, q,
                           PQgetvalue(r, i, K_DEF));
            char what[512];
            snprintf(what, sizeof(what), "constraint %s on %s.%s", name, t->dest_schema,
                     t->dest_name);
            rc = add_job(&d->build, &b, what, err);
            pgh_buf_dispose(&b);
        }
        free(q);
        free(state);
    }
    PQclear(r);
    return rc;
}

/* Collect what table t still needs on the destination. */
static int collect_table(deferred *d, const pgh_schema_table *t, pgh_error *err)
{
    const char *params[2] = {t->source_schema, t->source_name};
    PGresult *r = NULL;
    int rc = pgh_conn_query(&r, d->src,
                            "SELECT c.oid, c.relkind FROM pg_catalog.pg_class c "
                            "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                            "WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')",
                            2, params, err);
    if (rc == 0 && PQntuples(r) == 0) {
        pgh_log(PGH_LOG_WARN, "schema",
                "source table %s.%s is gone: its indexes and constraints are not built",
                t->source_schema, t->source_name);
        PQclear(r);
        return 0;
    }
    char *dst_q = rc == 0 ? pgh_conn_qualified(d->dst, t->dest_schema, t->dest_name) : NULL;
    if (rc == 0 && dst_q == NULL)
        rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
    bool partitioned = rc == 0 && PQgetvalue(r, 0, 1)[0] == 'p';
    char *published = NULL;
    if (rc == 0)
        rc = pgh_schema__published(&published, d->src, PQgetvalue(r, 0, 0),
                                   d->cfg->publication_name, err);
    const char *table[2] = {rc == 0 ? PQgetvalue(r, 0, 0) : NULL, published};
    if (rc == 0)
        rc = collect_indexes(d, t, table, dst_q, err);
    if (rc == 0)
        rc = collect_constraints(d, t, table, dst_q, partitioned, err);
    free(published);
    free(dst_q);
    PQclear(r);
    return rc;
}

/* Both sessions open at the same time (the destination's in the background). */
static int open_sessions(deferred *d, const pgh_config *cfg, pgh_error *err)
{
    pgh_conn_opening *dst = NULL;
    int rc = pgh_conn_open_start(&dst, cfg->destination_connection, PGH_CONN_SQL, "destination",
                                 "pghost schema", err);
    if (rc == 0)
        rc = pgh_conn_open(&d->src, cfg->source_connection, PGH_CONN_SQL, "source",
                           "pghost schema", err);
    if (rc == 0)
        rc = pgh_conn_exec(d->src, "SET search_path = pg_catalog", err);
    if (rc != 0) {
        pgh_conn_open_cancel(dst);
        return rc;
    }
    rc = pgh_conn_open_finish(&d->dst, dst, err);
    if (rc == 0)
        rc = pgh_conn_exec(d->dst, "SET client_min_messages = warning", err);
    return rc;
}

/* The foreign keys, added in one transaction on one session. */
static int add_foreign_keys(deferred *d, pgh_error *err)
{
    if (d->fk_add.n == 0)
        return 0;
    int rc = pgh_conn_exec(d->dst, "BEGIN", err);
    for (int i = 0; rc == 0 && i < d->fk_add.n; i++) {
        rc = pgh_conn_exec(d->dst, d->fk_add.sql[i], err);
        if (rc != 0)
            pgh_error_prefix(err, "adding %s on the destination", d->fk_add.what[i]);
    }
    if (rc == 0)
        return pgh_conn_exec(d->dst, "COMMIT", err);
    pgh_conn_exec(d->dst, "ROLLBACK", NULL);
    return rc;
}

int pgh_schema_build_deferred(int *built, const pgh_schema_created *tables,
                              const pgh_schema_build_opts *o, pgh_error *err)
{
    if (built)
        *built = 0;
    if (o == NULL || o->version != PGH_SCHEMA_BUILD_OPTS_VERSION)
        return pgh_error_set(err, PGH_ECONFIG,
                             "schema build options of version %d, this library takes version %d: "
                             "initialise them with PGH_SCHEMA_BUILD_OPTS_INIT",
                             o ? o->version : -1, PGH_SCHEMA_BUILD_OPTS_VERSION);
    if (tables == NULL || tables->n == 0)
        return 0;
    deferred d = {.created = tables, .cfg = o->config, .maps = o->maps};
    int rc = open_sessions(&d, o->config, err);
    if (rc == 0)
        rc = pgh_schema_end_orphans(d.dst, o->config->slot_name, err);
    if (rc == 0)
        rc = pgh_schema__build_lock(d.dst, o->config->slot_name, err);
    for (int i = 0; rc == 0 && i < tables->n; i++)
        rc = collect_table(&d, &tables->tables[i], err);
    int total = d.build.n + d.fk_add.n;
    if (rc == 0 && total > 0)
        pgh_log(PGH_LOG_INFO, "schema",
                "building %d indexes and constraints and %d foreign keys on %d sessions",
                d.build.n, d.fk_add.n, o->sessions);
    if (rc == 0)
        rc = pgh_schema__jobs_run(&d.build, o->config->destination_connection,
                                  o->config->slot_name, o->sessions, o->cancel, err);
    if (rc == 0)
        rc = add_foreign_keys(&d, err);
    if (rc == 0)
        rc = pgh_schema__jobs_run(&d.fk_validate, o->config->destination_connection,
                                  o->config->slot_name, o->sessions, o->cancel, err);
    if (rc == 0 && built)
        *built = total;
    pgh_schema__jobs_dispose(&d.build);
    pgh_schema__jobs_dispose(&d.fk_add);
    pgh_schema__jobs_dispose(&d.fk_validate);
    PQfinish(d.src);
    PQfinish(d.dst);
    return rc;
}
