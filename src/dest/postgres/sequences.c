/*
 * Sequences of the selected tables, set on the destination from the source's current values:
 * those owned by a column (serial, identity) and those a column default calls with nextval().
 * Used at the end of replicate's catch-up (pgh_postgres_sync_sequences) and by pghost
 * sync-sequences (pgh_sequences_sync, include/pghost/sequences.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dest/postgres/sequences.h"
#include "pg/catalog.h"
#include "util/buf.h"
#include "pg/conn.h"
#include "pghost/log.h"
#include "pghost/sequences.h"
#include "source/tables.h"

/* Column name and sequence (qualified, quoted by the server) of every sequence a table's columns
 * own or call in their defaults. A default's nextval('s') depends on s in pg_depend. */
static const char TABLE_SEQUENCES_SQL[] =
    "WITH t AS (SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
    "  ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2), "
    "seqs AS ("
    "  SELECT d.refobjsubid AS attnum, d.objid AS seq FROM pg_catalog.pg_depend d, t "
    "  WHERE d.classid = 'pg_catalog.pg_class'::regclass "
    "    AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid = t.oid "
    "    AND d.refobjsubid > 0 AND d.deptype IN ('a', 'i') "
    "  UNION "
    "  SELECT ad.adnum, d.refobjid FROM pg_catalog.pg_attrdef ad "
    "  JOIN t ON ad.adrelid = t.oid "
    "  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_attrdef'::regclass "
    "    AND d.objid = ad.oid AND d.refclassid = 'pg_catalog.pg_class'::regclass) "
    "SELECT a.attname, pg_catalog.format('%I.%I', sn.nspname, s.relname) "
    "FROM seqs JOIN t ON true "
    "JOIN pg_catalog.pg_attribute a ON a.attrelid = t.oid AND a.attnum = seqs.attnum "
    "JOIN pg_catalog.pg_class s ON s.oid = seqs.seq AND s.relkind = 'S' "
    "JOIN pg_catalog.pg_namespace sn ON sn.oid = s.relnamespace "
    "ORDER BY 1, 2";

static int table_sequences(PGresult **out, PGconn *conn, const char *schema, const char *name,
                           pgh_error *err)
{
    const char *params[2] = {schema, name};
    return pgh_conn_query(out, conn, TABLE_SEQUENCES_SQL, 2, params, err);
}

/* The destination's sequence for the same column: the one with the same name when the column
 * has several, else the first; NULL when the column has none. */
static const char *dest_sequence(PGresult *dseqs, const char *column, const char *src_seq)
{
    const char *first = NULL;
    for (int i = 0; i < PQntuples(dseqs); i++) {
        if (strcmp(PQgetvalue(dseqs, i, 0), column) != 0)
            continue;
        if (strcmp(PQgetvalue(dseqs, i, 1), src_seq) == 0)
            return PQgetvalue(dseqs, i, 1);
        if (first == NULL)
            first = PQgetvalue(dseqs, i, 1);
    }
    return first;
}

static int copy_sequence(pgh_sequence_set *s, PGresult **read_res, PGconn *src, PGconn *dst,
                         pgh_error *err)
{
    /* source_sequence is a name the source itself quoted with format('%I.%I'). */
    pgh_buf sql;
    pgh_buf_init(&sql, 0);
    pgh_buf_printf(&sql, "SELECT last_value, is_called FROM %s", s->source_sequence);
    int rc = pgh_buf_failed(&sql)
                 ? pgh_error_set(err, PGH_ENOMEM, "out of memory")
                 : pgh_conn_query(read_res, src, pgh_buf_str(&sql), 0, NULL, err);
    pgh_buf_dispose(&sql);
    if (rc != 0)
        return rc;
    s->last_value = PQgetvalue(*read_res, 0, 0);
    s->is_called = PQgetvalue(*read_res, 0, 1)[0] == 't';
    const char *params[3] = {s->dest_sequence, s->last_value, s->is_called ? "true" : "false"};
    PGresult *set = NULL;
    rc = pgh_conn_query(&set, dst,
                        "SELECT pg_catalog.setval($1::pg_catalog.regclass, $2::int8, $3::bool)",
                        3, params, err);
    PQclear(set);
    return rc;
}

/* Set every sequence of one table; *count gets the number set. */
static int sync_table(int *count, PGconn *src, PGconn *dst, const char *src_schema,
                      const char *src_name, const char *dst_schema, const char *dst_name,
                      pgh_sequence_fn fn, void *payload, pgh_error *err)
{
    PGresult *sseqs = NULL;
    PGresult *dseqs = NULL;
    char table[512];
    snprintf(table, sizeof(table), "%s.%s", src_schema, src_name);
    *count = 0;
    int rc = table_sequences(&sseqs, src, src_schema, src_name, err);
    if (rc == 0)
        rc = table_sequences(&dseqs, dst, dst_schema, dst_name, err);
    for (int i = 0; rc == 0 && i < PQntuples(sseqs); i++) {
        pgh_sequence_set s = {table, PQgetvalue(sseqs, i, 0), PQgetvalue(sseqs, i, 1), NULL,
                              NULL, false};
        s.dest_sequence = dest_sequence(dseqs, s.column, s.source_sequence);
        PGresult *read_res = NULL;
        if (s.dest_sequence == NULL)
            pgh_log(PGH_LOG_WARN, "sequences",
                    "%s: column %s uses sequence %s on the source but none on the destination; "
                    "not set",
                    table, s.column, s.source_sequence);
        else
            rc = copy_sequence(&s, &read_res, src, dst, err);
        if (rc == 0 && s.dest_sequence)
            (*count)++;
        if (rc == 0 && fn)
            fn(&s, payload);
        PQclear(read_res);
    }
    if (rc != 0)
        pgh_error_prefix(err, "setting sequences of %s.%s", dst_schema, dst_name);
    PQclear(sseqs);
    PQclear(dseqs);
    return rc;
}

int pgh_postgres_sync_sequences(int *set_count, PGconn *src, PGconn *dst,
                                pgh_table_info *const *srcs, pgh_table_info *const *dsts, int n,
                                pgh_error *err)
{
    int rc = 0;
    for (int i = 0; rc == 0 && i < n; i++)
        rc = sync_table(&set_count[i], src, dst, srcs[i]->schema, srcs[i]->name,
                        dsts[i]->schema, dsts[i]->name, NULL, NULL, err);
    return rc;
}

/* A table missing on either side is a precondition failure, named. */
static int check_exists(PGconn *conn, const char *side, const char *schema, const char *name,
                        pgh_error *err)
{
    pgh_table_info *info = NULL;
    int rc = pgh_catalog_table(&info, conn, schema, name, err);
    pgh_table_info_free(info);
    if (rc == PGH_ENOTFOUND) {
        pgh_error_clear(err);
        rc = pgh_error_set(err, PGH_EPRECOND, "%s table %s.%s does not exist", side, schema,
                           name);
    }
    return rc;
}

static int sync_all(int *set_count, pgh_config *cfg, pgh_sequence_fn fn, void *payload,
                    pgh_error *err)
{
    PGconn *src = NULL;
    PGconn *dst = NULL;
    int rc = pgh_conn_open(&src, cfg->source_connection, PGH_CONN_SQL, "source",
                           "pghost sync-sequences", err);
    if (rc == 0)
        rc = pgh_tables_resolve(cfg, src, err);
    if (rc == 0)
        rc = pgh_conn_open(&dst, cfg->destination_connection, PGH_CONN_SQL, "destination",
                           "pghost sync-sequences", err);
    for (size_t i = 0; rc == 0 && i < cfg->ntables; i++) {
        const pgh_table_map *m = &cfg->tables[i];
        rc = check_exists(src, "source", m->source_schema, m->source_table, err);
        if (rc == 0)
            rc = check_exists(dst, "destination", m->dest_schema, m->dest_table, err);
    }
    for (size_t i = 0; rc == 0 && i < cfg->ntables; i++) {
        const pgh_table_map *m = &cfg->tables[i];
        int n = 0;
        rc = sync_table(&n, src, dst, m->source_schema, m->source_table, m->dest_schema,
                        m->dest_table, fn, payload, err);
        *set_count += n;
    }
    PQfinish(src);
    PQfinish(dst);
    return rc;
}

int pgh_sequences_sync(int *set_count, const pgh_config *cfg, pgh_sequence_fn fn, void *payload,
                       pgh_error *err)
{
    pgh_config *own = NULL; /* its patterns are resolved: the caller's stays as it is */
    *set_count = 0;
    int rc = pgh_config_dup(&own, cfg, err);
    if (rc == 0)
        rc = sync_all(set_count, own, fn, payload, err);
    pgh_config_free(own);
    return rc;
}
