/* The destination side of the preflight: see checks.h. */
#include "dest/postgres/checks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"
#include "pg/sql.h"
#include "util/buf.h"

/* "(a, b)": t's key columns in key order, into b. */
static void put_key(pgh_buf *b, const pgh_table_info *t)
{
    pgh_buf_printf(b, "(");
    for (int i = 0; i < t->nkeys; i++)
        pgh_buf_printf(b, "%s%s", i ? ", " : "", t->cols[t->key_cols[i]].name);
    pgh_buf_printf(b, ")");
}

/* The same key columns in the same order on both sides: changes find their row by the
 * source's key, and the key ranges of the copy and of verify are read on the destination
 * through its primary key index, which only serves ranges in the same column order (another
 * order would make every range a scan of the whole table). */
static int check_key(const pgh_table_info *src, const pgh_table_info *dst, pgh_error *err)
{
    if (src->nkeys == 0) /* the source's own check says what to do first */
        return 0;
    bool same = src->nkeys == dst->nkeys;
    for (int i = 0; same && i < src->nkeys; i++)
        same = strcmp(src->cols[src->key_cols[i]].name, dst->cols[dst->key_cols[i]].name) == 0;
    if (same)
        return 0;
    pgh_buf s, d;
    pgh_buf_init(&s, 1 << 16);
    pgh_buf_init(&d, 1 << 16);
    put_key(&s, src);
    put_key(&d, dst);
    int rc = pgh_error_set(err, PGH_EPRECOND,
                           "destination table %s.%s has key %s but source table %s.%s has %s: "
                           "pghost finds rows by the source's key; give the destination table "
                           "the same primary key, or a unique index on those NOT NULL columns "
                           "in the same order (its REPLICA IDENTITY USING INDEX if it has several)",
                           dst->schema, dst->name, pgh_buf_str(&d), src->schema, src->name,
                           pgh_buf_str(&s));
    pgh_buf_dispose(&s);
    pgh_buf_dispose(&d);
    return rc;
}

int pgh_postgres_check_table(const pgh_table_info *src, const pgh_table_info *dst, PGconn *conn,
                             bool truncate, pgh_error *err)
{
    int rc = pgh_catalog_compare_columns(src, dst, err);
    if (rc != 0)
        return rc;
    if (src->nkeys == 0 && src->replident == 'f' && dst->relkind == 'p')
        return pgh_error_set(err, PGH_EPRECOND,
                             "destination table %s.%s is partitioned, and source table %s.%s has "
                             "no key: its changes find their row by ctid, which does not tell "
                             "partitions apart; use an ordinary destination table",
                             dst->schema, dst->name, src->schema, src->name);
    /* Without a key on the source (REPLICA IDENTITY FULL) rows are matched on every column:
     * the destination must hold duplicates as the source does. */
    if (dst->nkeys > 0 && src->nkeys == 0 && src->replident == 'f')
        return pgh_error_set(err, PGH_EPRECOND,
                             "destination table %s.%s has a key but source table %s.%s has none "
                             "(REPLICA IDENTITY FULL, rows matched on every column, duplicates "
                             "allowed): drop the destination's primary key and unique indexes "
                             "on NOT NULL columns, or give the source the same key",
                             dst->schema, dst->name, src->schema, src->name);
    if (dst->nkeys == 0 && !(src->nkeys == 0 && src->replident == 'f'))
        return pgh_error_set(err, PGH_EPRECOND,
                             "destination table %s.%s has no primary key nor unique index on NOT "
                             "NULL columns: add the same key as %s.%s (a primary key, or a "
                             "unique index on the same columns)",
                             dst->schema, dst->name, src->schema, src->name);
    rc = check_key(src, dst, err);
    if (rc != 0 || truncate)
        return rc;
    return pgh_postgres_check_empty(dst, conn,
                                    "pass --truncate-destination to empty it first, or point "
                                    "pghost at an empty table",
                                    err);
}

int pgh_postgres_check_empty(const pgh_table_info *dst, PGconn *conn, const char *fix,
                             pgh_error *err)
{
    char sql[1024];
    snprintf(sql, sizeof(sql), "SELECT EXISTS (SELECT 1 FROM %s%s)", pgh_pg_only(dst),
             dst->qualified);
    char v[8];
    int rc = pgh_pg_query_text(v, sizeof(v), conn, sql, 0, NULL, err);
    if (rc == 0 && strcmp(v, "t") == 0)
        return pgh_error_set(err, PGH_EPRECOND, "destination table %s.%s is not empty: %s",
                             dst->schema, dst->name, fix);
    return rc;
}

const char *pgh_postgres_types_differ(const pgh_table_info *src, const pgh_table_info *dst)
{
    for (int i = 0; i < src->ncols; i++) {
        const pgh_table_column *s = &src->cols[i];
        int j = pgh_table_column_index(dst, s->name);
        if (!s->generated && j >= 0 && strcmp(s->type_name, dst->cols[j].type_name) != 0)
            return s->name;
    }
    return NULL;
}

int pgh_postgres_check_copy_format(const pgh_table_info *src, const pgh_table_info *dst,
                                   pgh_copy_format_choice format, pgh_error *err)
{
    const char *col = format == PGH_COPY_FORMAT_BINARY ? pgh_postgres_types_differ(src, dst)
                                                       : NULL;
    if (col == NULL)
        return 0;
    int j = pgh_table_column_index(dst, col);
    int i = pgh_table_column_index(src, col);
    return pgh_error_set(err, PGH_EPRECOND,
                         "column %s is %s on source table %s.%s but %s on destination table "
                         "%s.%s: a binary copy cannot convert it; set copy_format: text or auto "
                         "(the value's text form is converted, as a native subscriber does)",
                         col, src->cols[i].type_name, src->schema, src->name,
                         dst->cols[j].type_name, dst->schema, dst->name);
}

int pgh_postgres_truncate(PGconn *dst, pgh_table_info *const *tables, int n, pgh_error *err)
{
    for (int i = 0; i < n; i++) {
        char sql[1024];
        snprintf(sql, sizeof(sql), "TRUNCATE %s%s", pgh_pg_only(tables[i]), tables[i]->qualified);
        int rc = pgh_conn_exec(dst, sql, err);
        if (rc != 0) {
            pgh_error_prefix(err, "emptying %s.%s", tables[i]->schema, tables[i]->name);
            return rc;
        }
    }
    return 0;
}

int pgh_postgres_replica_role(PGconn *conn, pgh_error *err)
{
    PGresult *res = PQexec(conn, "SET session_replication_role = replica");
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    int rc = 0;
    if (PQresultStatus(res) == PGRES_COMMAND_OK) {
        rc = 0;
    } else if (state && strcmp(state, "42501") == 0) { /* insufficient_privilege */
        char *user = pgh_conn_ident(conn, PQuser(conn));
        rc = pgh_error_set(err, PGH_EPRECOND,
                           "destination role %s may not set session_replication_role, which "
                           "disable_triggers: true (the default) needs to write without "
                           "triggers and foreign-key checks: connect as a superuser, run GRANT "
                           "SET ON PARAMETER session_replication_role TO %s, or set "
                           "disable_triggers: false",
                           PQuser(conn), user ? user : "the role");
        free(user);
    } else {
        rc = pgh_conn_error(err, conn, res, "setting session_replication_role");
    }
    PQclear(res);
    return rc;
}
