/*
 * Copying single rows again during the catch-up (see catchup.c): SELECT the row by key on the
 * source, then replace the destination's row at that key with it: INSERT ... ON CONFLICT (key)
 * DO UPDATE of every column, or a DELETE when the source no longer has the row. An upsert
 * rather than DELETE + INSERT, so that no ON DELETE CASCADE on the destination fires for a row
 * that stays. Each row is its own short statement on both sides, like a copy batch.
 */
#include <stdlib.h>
#include <string.h>

#include "pipeline_internal.h"
#include "pg/sql.h"
#include "util/buf.h"
#include "util/clock.h"
#include "pg/conn.h"
#include "source/stream.h"

/* SELECT <copied columns> FROM ONLY src WHERE k1 = $1 AND ... (names from the destination's
 * key, which the preflight proved to be the source's columns too). */
static void select_sql(pgh_buf *b, PGconn *conn, const pgh_table_info *src,
                       const pgh_table_info *dst)
{
    pgh_buf_puts(b, "SELECT ");
    int n = 0;
    for (int i = 0; i < src->ncols; i++) {
        if (src->cols[i].generated)
            continue;
        char *q = pgh_conn_ident(conn, src->cols[i].name);
        pgh_buf_printf(b, "%s%s", n++ ? ", " : "", q ? q : "");
        free(q);
    }
    pgh_buf_printf(b, " FROM %s%s WHERE ", pgh_pg_only(src), src->qualified);
    for (int k = 0; k < dst->nkeys; k++) {
        char *q = pgh_conn_ident(conn, dst->cols[dst->key_cols[k]].name);
        pgh_buf_printf(b, "%s%s = $%d", k ? " AND " : "", q ? q : "", k + 1);
        free(q);
    }
}

/* DELETE FROM dst WHERE k1 = $1 AND ... */
static void delete_sql(pgh_buf *b, PGconn *conn, const pgh_table_info *dst)
{
    pgh_buf_printf(b, "DELETE FROM %s WHERE ", dst->qualified);
    for (int k = 0; k < dst->nkeys; k++) {
        char *q = pgh_conn_ident(conn, dst->cols[dst->key_cols[k]].name);
        pgh_buf_printf(b, "%s%s = $%d", k ? " AND " : "", q ? q : "", k + 1);
        free(q);
    }
}

/* INSERT INTO dst (<columns of res>) OVERRIDING SYSTEM VALUE VALUES ($1, ...)
 * ON CONFLICT (<key>) DO UPDATE SET c = excluded.c, ... */
static void upsert_sql(pgh_buf *b, PGconn *conn, const pgh_table_info *dst, const PGresult *res)
{
    pgh_buf_printf(b, "INSERT INTO %s (", dst->qualified);
    int nf = PQnfields(res);
    for (int f = 0; f < nf; f++) {
        char *q = pgh_conn_ident(conn, PQfname(res, f));
        pgh_buf_printf(b, "%s%s", f ? ", " : "", q ? q : "");
        free(q);
    }
    pgh_buf_puts(b, ") OVERRIDING SYSTEM VALUE VALUES (");
    for (int f = 0; f < nf; f++)
        pgh_buf_printf(b, "%s$%d", f ? ", " : "", f + 1);
    pgh_buf_puts(b, ") ON CONFLICT (");
    for (int k = 0; k < dst->nkeys; k++) {
        char *q = pgh_conn_ident(conn, dst->cols[dst->key_cols[k]].name);
        pgh_buf_printf(b, "%s%s", k ? ", " : "", q ? q : "");
        free(q);
    }
    pgh_buf_puts(b, ") DO UPDATE SET ");
    for (int f = 0; f < nf; f++) {
        char *q = pgh_conn_ident(conn, PQfname(res, f));
        pgh_buf_printf(b, "%s%s = excluded.%s", f ? ", " : "", q ? q : "", q ? q : "");
        free(q);
    }
}

/* Replace the destination's row at the key with the source's (remove it when it is gone). */
static int replace_row(const catchup_ctx *ctx, const pgh_apply_missing *row, PGresult *src_row,
                       pgh_buf *sql, pgh_error *err)
{
    const pgh_table_info *dst = ctx->tables->dst[row->table];
    pgh_buf_reset(sql);
    if (PQntuples(src_row) == 0) {
        delete_sql(sql, ctx->dst, dst);
        PGresult *res = NULL;
        int rc = pgh_conn_query(&res, ctx->dst, pgh_buf_str(sql), row->nkeys,
                                (const char *const *)row->keys, err);
        PQclear(res);
        return rc;
    }
    int nf = PQnfields(src_row);
    const char **values = calloc((size_t)(nf ? nf : 1), sizeof(char *));
    if (values == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    for (int f = 0; f < nf; f++)
        values[f] = PQgetisnull(src_row, 0, f) ? NULL : PQgetvalue(src_row, 0, f);
    upsert_sql(sql, ctx->dst, dst, src_row);
    PGresult *res = NULL;
    int rc = pgh_buf_failed(sql) ? pgh_error_set(err, PGH_ENOMEM, "out of memory")
                                 : pgh_conn_query(&res, ctx->dst, pgh_buf_str(sql), nf, values, err);
    PQclear(res);
    free(values);
    return rc;
}

static int recopy_row(const catchup_ctx *ctx, const pgh_apply_missing *row, pgh_buf *sql,
                      pgh_error *err)
{
    const pgh_table_info *src = ctx->tables->src[row->table];
    const pgh_table_info *dst = ctx->tables->dst[row->table];
    pgh_buf_reset(sql);
    select_sql(sql, ctx->src, src, dst);
    if (pgh_buf_failed(sql))
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, ctx->src, pgh_buf_str(sql), row->nkeys,
                            (const char *const *)row->keys, err);
    if (rc == 0)
        rc = replace_row(ctx, row, res, sql, err);
    PQclear(res);
    return rc;
}

int pgh_pipeline__recopy_rows(const catchup_ctx *ctx, const pgh_apply_missing *rows, int n,
                          struct pgh_stream *stream, pgh_error *err)
{
    pgh_buf sql;
    pgh_buf_init(&sql, 0);
    int rc = 0;
    int64_t last_status = pgh_clock_ms();
    for (int i = 0; rc == 0 && i < n; i++) {
        rc = recopy_row(ctx, &rows[i], &sql, err);
        /* The stream is not read meanwhile: keep telling the source we are alive, or a long
         * re-copy outlasts wal_sender_timeout. */
        if (rc == 0 && pgh_clock_ms() - last_status >= 1000) {
            rc = pgh_stream_send_status(stream, false, err);
            last_status = pgh_clock_ms();
        }
    }
    pgh_buf_dispose(&sql);
    if (rc != 0)
        pgh_error_prefix(err, "copying a moved row again");
    return rc;
}
