/*
 * The publication pghost init creates and pghost teardown drops: see init_internal.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "init_internal.h"
#include "util/buf.h"
#include "pg/conn.h"

static const char PUB_SQL[] =
    "SELECT p.pubinsert AND p.pubupdate AND p.pubdelete AND p.pubtruncate, p.pubviaroot, "
    "coalesce(pg_catalog.obj_description(p.oid, 'pg_publication'), '') = $2 "
    "FROM pg_catalog.pg_publication p WHERE p.pubname = $1";

static const char IN_PUB_SQL[] = "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_publication_tables "
                                 "WHERE pubname = $1 AND schemaname = $2 AND tablename = $3)";

/* The comment that marks cfg's publication as pghost's, in *out (pgh_buf). */
static void mark_of(pgh_buf *out, const pgh_config *cfg)
{
    pgh_buf_init(out, 0);
    pgh_buf_printf(out, "%s%s", PGH_INIT_PUBLICATION_MARK, cfg->slot_name);
}

int pgh_init__pub_read(init_pub *out, PGconn *src, const pgh_config *cfg, pgh_error *err)
{
    memset(out, 0, sizeof(*out));
    pgh_buf mark;
    mark_of(&mark, cfg);
    const char *params[2] = {cfg->publication_name, pgh_buf_str(&mark)};
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, src, PUB_SQL, 2, params, err);
    if (rc == 0 && PQntuples(res) == 1) {
        out->exists = true;
        out->all_ops = PQgetvalue(res, 0, 0)[0] == 't';
        out->via_root = PQgetvalue(res, 0, 1)[0] == 't';
        out->ours = PQgetvalue(res, 0, 2)[0] == 't';
    }
    PQclear(res);
    pgh_buf_dispose(&mark);
    return rc;
}

/* Append the quoted names of the selected tables the publication lacks (all when it does not
 * exist) to list, comma-separated; *count gets how many. */
static int missing_tables(pgh_buf *list, int *count, PGconn *src, const pgh_config *cfg,
                          bool exists, pgh_error *err)
{
    *count = 0;
    for (size_t i = 0; i < cfg->ntables; i++) {
        const pgh_table_map *m = &cfg->tables[i];
        bool in = false;
        if (exists) {
            const char *params[3] = {cfg->publication_name, m->source_schema, m->source_table};
            PGresult *res = NULL;
            int rc = pgh_conn_query(&res, src, IN_PUB_SQL, 3, params, err);
            in = rc == 0 && PQgetvalue(res, 0, 0)[0] == 't';
            PQclear(res);
            if (rc != 0)
                return rc;
        }
        if (in)
            continue;
        char *q = pgh_conn_qualified(src, m->source_schema, m->source_table);
        if (q == NULL)
            return pgh_error_set(err, PGH_ENOMEM, "out of memory");
        pgh_buf_printf(list, "%s%s", (*count)++ ? ", " : "", q);
        free(q);
    }
    return pgh_buf_failed(list) ? pgh_error_set(err, PGH_ENOMEM, "out of memory") : 0;
}

/* Run the statements (NULL ones skipped) in one transaction. */
static int write(PGconn *src, const char *const *stmts, int n, pgh_error *err)
{
    int rc = pgh_conn_exec(src, "BEGIN", err);
    for (int i = 0; rc == 0 && i < n; i++) {
        if (stmts[i] != NULL)
            rc = pgh_conn_exec(src, stmts[i], err);
    }
    if (rc == 0)
        rc = pgh_conn_exec(src, "COMMIT", err);
    else
        PQclear(PQexec(src, "ROLLBACK"));
    return rc;
}

/* CREATE PUBLICATION for the tables in list, and the comment that marks it pghost's. */
static int create(PGconn *src, const pgh_config *cfg, const char *qpub, const char *list,
                  pgh_error *err)
{
    pgh_buf create, comment, m;
    pgh_buf_init(&create, 0);
    pgh_buf_init(&comment, 0);
    mark_of(&m, cfg);
    char *lit = pgh_conn_literal(src, pgh_buf_str(&m), strlen(pgh_buf_str(&m)));
    pgh_buf_printf(&create,
                   "CREATE PUBLICATION %s FOR TABLE %s WITH (publish = 'insert, update, "
                   "delete, truncate', publish_via_partition_root = true)",
                   qpub, list);
    pgh_buf_printf(&comment, "COMMENT ON PUBLICATION %s IS %s", qpub, lit ? lit : "");
    const char *stmts[2] = {pgh_buf_str(&create), pgh_buf_str(&comment)};
    int rc = lit == NULL || pgh_buf_failed(&create) || pgh_buf_failed(&comment)
                 ? pgh_error_set(err, PGH_ENOMEM, "out of memory")
                 : write(src, stmts, 2, err);
    free(lit);
    pgh_buf_dispose(&create);
    pgh_buf_dispose(&comment);
    pgh_buf_dispose(&m);
    return rc;
}

/* What a publication that is not pghost's lacks, as one PGH_EPRECOND line; 0 when nothing. */
static int foreign_lacks(const init_pub *p, const char *missing, int nmissing, const char *qpub,
                         const pgh_config *cfg, bool any_partitioned, pgh_error *err)
{
    if (nmissing > 0)
        return pgh_error_set(err, PGH_EPRECOND,
                             "publication %s exists (not created by pghost) and lacks %d of the "
                             "selected tables: run ALTER PUBLICATION %s ADD TABLE %s",
                             cfg->publication_name, nmissing, qpub, missing);
    if (!p->all_ops)
        return pgh_error_set(err, PGH_EPRECOND,
                             "publication %s does not publish every kind of change: run ALTER "
                             "PUBLICATION %s SET (publish = 'insert, update, delete, truncate')",
                             cfg->publication_name, qpub);
    if (any_partitioned && !p->via_root)
        return pgh_error_set(err, PGH_EPRECOND,
                             "publication %s publishes partitions under their own names, but "
                             "pghost follows partitioned tables through their root: run ALTER "
                             "PUBLICATION %s SET (publish_via_partition_root = true)",
                             cfg->publication_name, qpub);
    return 0;
}

/* Complete pghost's own publication: missing tables, operations, publish_via_partition_root. */
static int extend_ours(pgh_init_result *out, PGconn *src, const init_pub *p, const char *missing,
                       int nmissing, const char *qpub, pgh_error *err)
{
    pgh_buf add, set;
    pgh_buf_init(&add, 0);
    pgh_buf_init(&set, 0);
    pgh_buf_printf(&add, "ALTER PUBLICATION %s ADD TABLE %s", qpub, missing);
    pgh_buf_printf(&set,
                   "ALTER PUBLICATION %s SET (publish = 'insert, update, delete, truncate', "
                   "publish_via_partition_root = true)",
                   qpub);
    bool fix_set = !p->all_ops || !p->via_root;
    const char *stmts[2] = {nmissing > 0 ? pgh_buf_str(&add) : NULL,
                            fix_set ? pgh_buf_str(&set) : NULL};
    int rc = 0;
    if (pgh_buf_failed(&add) || pgh_buf_failed(&set))
        rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
    else if (nmissing > 0 || fix_set)
        rc = write(src, stmts, 2, err);
    if (rc == 0 && (nmissing > 0 || fix_set)) {
        out->publication = PGH_INIT_PUB_EXTENDED;
        out->tables_added = nmissing;
    }
    pgh_buf_dispose(&add);
    pgh_buf_dispose(&set);
    return rc;
}

int pgh_init__pub_ensure(pgh_init_result *out, PGconn *src, const pgh_config *cfg,
                         bool any_partitioned, pgh_error *err)
{
    init_pub p;
    pgh_buf missing;
    pgh_buf_init(&missing, 0);
    int nmissing = 0;
    char *qpub = pgh_conn_ident(src, cfg->publication_name);
    int rc = qpub ? pgh_init__pub_read(&p, src, cfg, err)
                  : pgh_error_set(err, PGH_ENOMEM, "out of memory");
    if (rc == 0)
        rc = missing_tables(&missing, &nmissing, src, cfg, p.exists, err);
    out->publication = PGH_INIT_PUB_UNCHANGED;
    out->publication_ours = rc == 0 && (p.ours || !p.exists);
    if (rc == 0 && !p.exists) {
        rc = create(src, cfg, qpub, pgh_buf_str(&missing), err);
        if (rc == 0)
            out->publication = PGH_INIT_PUB_CREATED;
    } else if (rc == 0 && p.ours) {
        rc = extend_ours(out, src, &p, pgh_buf_str(&missing), nmissing, qpub, err);
    } else if (rc == 0) {
        rc = foreign_lacks(&p, pgh_buf_str(&missing), nmissing, qpub, cfg, any_partitioned, err);
    }
    if (rc != 0 && rc != PGH_EPRECOND && rc != PGH_ENOMEM)
        pgh_error_prefix(err, "preparing publication %s on the source", cfg->publication_name);
    pgh_buf_dispose(&missing);
    free(qpub);
    return rc;
}

int pgh_init__pub_drop(bool *dropped, bool *kept, PGconn *src, const pgh_config *cfg,
                       pgh_error *err)
{
    *dropped = false;
    *kept = false;
    init_pub p;
    int rc = pgh_init__pub_read(&p, src, cfg, err);
    if (rc != 0 || !p.exists)
        return rc;
    if (!p.ours) {
        *kept = true;
        return 0;
    }
    char *qpub = pgh_conn_ident(src, cfg->publication_name);
    pgh_buf sql;
    pgh_buf_init(&sql, 0);
    pgh_buf_printf(&sql, "DROP PUBLICATION IF EXISTS %s", qpub ? qpub : "");
    rc = qpub ? pgh_conn_exec(src, pgh_buf_str(&sql), err)
              : pgh_error_set(err, PGH_ENOMEM, "out of memory");
    *dropped = rc == 0;
    pgh_buf_dispose(&sql);
    free(qpub);
    return rc;
}
