/*
 * Rows copied again during the catch-up (pghost/keyed.h, replace_row): the destination's row
 * at a key replaced by the source's current one, with INSERT ... ON CONFLICT (key) DO UPDATE of
 * every column, or removed with a DELETE when the source no longer has it. An upsert rather
 * than DELETE + INSERT, so that no ON DELETE CASCADE on the destination fires for a row that
 * stays.
 */
#include <stdlib.h>

#include "dest/postgres/destination.h"
#include "pg/conn.h"
#include "util/buf.h"

/* DELETE FROM dst WHERE k1 = $1::type AND ... */
static void delete_sql(pgh_buf *b, PGconn *conn, const pgh_table_info *dst,
                       const pgh_recopy_row *row)
{
    pgh_buf_printf(b, "DELETE FROM %s WHERE ", dst->qualified);
    for (int k = 0; k < row->nkeys; k++) {
        pgh_conn_put_ident(b, conn, k ? " AND " : "", row->key_names[k]);
        pgh_buf_printf(b, " = $%d::%s", k + 1, dst->cols[dst->key_cols[k]].cast_name);
    }
}

/* INSERT INTO dst (<columns>) OVERRIDING SYSTEM VALUE VALUES ($1, ...)
 * ON CONFLICT (<key>) DO UPDATE SET c = excluded.c, ... */
static void upsert_sql(pgh_buf *b, PGconn *conn, const pgh_table_info *dst,
                       const pgh_recopy_row *row, const char *const *columns, int n)
{
    pgh_buf_printf(b, "INSERT INTO %s (", dst->qualified);
    for (int f = 0; f < n; f++)
        pgh_conn_put_ident(b, conn, f ? ", " : "", columns[f]);
    pgh_buf_puts(b, ") OVERRIDING SYSTEM VALUE VALUES (");
    for (int f = 0; f < n; f++)
        pgh_buf_printf(b, "%s$%d", f ? ", " : "", f + 1);
    pgh_buf_puts(b, ") ON CONFLICT (");
    for (int k = 0; k < row->nkeys; k++)
        pgh_conn_put_ident(b, conn, k ? ", " : "", row->key_names[k]);
    pgh_buf_puts(b, ") DO UPDATE SET ");
    for (int f = 0; f < n; f++) {
        char *q = pgh_conn_ident(conn, columns[f]);
        if (q == NULL) {
            b->failed = true;
            return;
        }
        pgh_buf_printf(b, "%s%s = excluded.%s", f ? ", " : "", q, q);
        free(q);
    }
}

int pgh_postgres__replace_row(PGconn *conn, const pgh_table_info *dst, const pgh_recopy_row *row,
                              const char *const *columns, const char *const *values,
                              int ncolumns, pgh_error *err)
{
    pgh_buf sql;
    pgh_buf_init(&sql, 1 << 20);
    if (ncolumns == 0)
        delete_sql(&sql, conn, dst, row);
    else
        upsert_sql(&sql, conn, dst, row, columns, ncolumns);
    PGresult *res = NULL;
    int rc = pgh_buf_failed(&sql)
                 ? pgh_error_set(err, PGH_ENOMEM, "out of memory")
                 : pgh_conn_query(&res, conn, pgh_buf_str(&sql), ncolumns ? ncolumns : row->nkeys,
                                  ncolumns ? values : (const char *const *)row->keys, err);
    PQclear(res);
    pgh_buf_dispose(&sql);
    return rc;
}
