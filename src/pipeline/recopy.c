/*
 * Copying single rows again during the catch-up (see catchup.c): SELECT the row by key on the
 * source, then hand it to the destination, which replaces its row at that key (pghost/keyed.h,
 * replace_row), or removes it when the source no longer has it. Each row is its own short
 * statement on both sides, like a copy batch.
 */
#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"
#include "pg/sql.h"
#include "pipeline_internal.h"
#include "util/buf.h"
#include "util/clock.h"

void pgh_recopy_rows_free(pgh_recopy_row *rows, int n)
{
    for (int i = 0; rows && i < n; i++) {
        for (int k = 0; k < rows[i].nkeys; k++) {
            free(rows[i].keys ? rows[i].keys[k] : NULL);
            free(rows[i].key_names ? rows[i].key_names[k] : NULL);
        }
        free(rows[i].keys);
        free(rows[i].key_names);
    }
    free(rows);
}

/* SELECT <copied columns> FROM ONLY src WHERE k1 = $1::type AND ... [AND (<row filter>)] (the
 * destination's key names, which the destination's checks proved to be the source's columns
 * too). A row outside the publication's filter is not there for the stream either: absent. */
static void select_sql(pgh_buf *b, PGconn *conn, const pgh_table_info *src,
                       const pgh_recopy_row *row)
{
    pgh_buf_puts(b, "SELECT ");
    int n = 0;
    for (int i = 0; i < src->ncols; i++)
        if (!src->cols[i].generated)
            pgh_conn_put_ident(b, conn, n++ ? ", " : "", src->cols[i].name);
    pgh_buf_printf(b, " FROM %s%s WHERE ", pgh_pg_only(src), src->qualified);
    for (int k = 0; k < row->nkeys; k++) {
        int i = pgh_table_column_index(src, row->key_names[k]);
        pgh_conn_put_ident(b, conn, k ? " AND " : "", row->key_names[k]);
        /* typed, as the copy's bounds are: a composite key cannot take an untyped value */
        pgh_buf_printf(b, " = $%d::%s", k + 1, i >= 0 ? src->cols[i].cast_name : "text");
    }
    if (src->row_filter)
        pgh_buf_printf(b, " AND (%s)", src->row_filter);
}

/* Hand the source's row (or its absence) to the destination. */
static int replace(pipe_run *r, const pgh_recopy_row *row, PGresult *res, pgh_error *err)
{
    int nf = PQntuples(res) ? PQnfields(res) : 0;
    const char **names = calloc((size_t)nf + 1, sizeof(char *));
    const char **values = calloc((size_t)nf + 1, sizeof(char *));
    int rc = names && values ? 0 : pgh_error_set(err, PGH_ENOMEM, "out of memory");
    for (int f = 0; rc == 0 && f < nf; f++) {
        names[f] = PQfname(res, f);
        values[f] = PQgetisnull(res, 0, f) ? NULL : PQgetvalue(res, 0, f);
    }
    if (rc == 0)
        rc = r->ops->keyed->replace_row(r->user, row, names, values, nf, err);
    free(names);
    free(values);
    return rc;
}

static int recopy_row(pipe_run *r, const pgh_recopy_row *row, pgh_buf *sql, pgh_error *err)
{
    if (row->table < 0 || row->table >= r->tables.n)
        return pgh_error_set(err, PGH_ECONFIG, "a row to copy again names table %d of %d",
                             row->table, r->tables.n);
    pgh_buf_reset(sql);
    select_sql(sql, r->src, r->tables.src[row->table], row);
    if (pgh_buf_failed(sql))
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, r->src, pgh_buf_str(sql), row->nkeys,
                            (const char *const *)row->keys, err);
    if (rc == 0)
        rc = replace(r, row, res, err);
    PQclear(res);
    return rc;
}

int pgh_pipeline__recopy(pipe_run *r, const pgh_recopy_row *rows, int n, pgh_stream *stream,
                         pgh_error *err)
{
    pgh_buf sql;
    pgh_buf_init(&sql, 1 << 20);
    int rc = 0;
    int64_t last_status = pgh_clock_ms();
    for (int i = 0; rc == 0 && i < n; i++) {
        rc = recopy_row(r, &rows[i], &sql, err);
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
