/* SQL text of the copy's batches. Identifiers are quoted with PQescapeIdentifier; key values
 * arrive here already quoted by PQescapeLiteral and are cast to their column's type. */
#include <stdlib.h>

#include "copy_internal.h"
#include "pg/conn.h"
#include "pg/sql.h"

/* The copied columns of a table: key columns first, in key order, then the rest in attnum order,
 * generated columns left out. Names come from the source; the destination has the same names. */
static void put_columns(pgh_buf *b, PGconn *conn, const pgh_table_info *src)
{
    for (int k = 0; k < src->nkeys; k++) {
        if (k)
            pgh_buf_puts(b, ", ");
        pgh_conn_put_ident(b, conn, "", src->cols[src->key_cols[k]].name);
    }
    int n = src->nkeys; /* a table without a key (source/keyless.c) has none */
    for (int i = 0; i < src->ncols; i++) {
        if (src->cols[i].key_position > 0 || src->cols[i].generated)
            continue;
        if (n++)
            pgh_buf_puts(b, ", ");
        pgh_conn_put_ident(b, conn, "", src->cols[i].name);
    }
}

/* "(k1, k2)" or "k1" */
static void put_key_tuple(pgh_buf *b, PGconn *conn, const pgh_table_info *src)
{
    if (src->nkeys > 1)
        pgh_buf_putc(b, '(');
    for (int k = 0; k < src->nkeys; k++) {
        if (k)
            pgh_buf_puts(b, ", ");
        pgh_conn_put_ident(b, conn, "", src->cols[src->key_cols[k]].name);
    }
    if (src->nkeys > 1)
        pgh_buf_putc(b, ')');
}

/* Each literal cast to its key column's type: an untyped literal compared with a composite
 * column would be read as an anonymous record, which PostgreSQL cannot input. */
static void put_literal_tuple(pgh_buf *b, const pgh_table_info *src, char *const *lits)
{
    if (src->nkeys > 1)
        pgh_buf_puts(b, "ROW(");
    for (int k = 0; k < src->nkeys; k++)
        pgh_buf_printf(b, "%s%s::%s", k ? ", " : "", lits[k],
                       src->cols[src->key_cols[k]].cast_name);
    if (src->nkeys > 1)
        pgh_buf_putc(b, ')');
}

static void put_condition(pgh_buf *b, PGconn *conn, const pgh_table_info *src, int *nconds,
                          const char *op, char *const *lits)
{
    pgh_buf_puts(b, (*nconds)++ ? " AND " : " WHERE ");
    put_key_tuple(b, conn, src);
    pgh_buf_printf(b, " %s ", op);
    put_literal_tuple(b, src, lits);
}

void pgh_copy__batch_sql(pgh_buf *out, PGconn *conn, const pgh_copy_table *t, char *const *lo,
                         char *const *hi, char *const *after, int64_t limit)
{
    const pgh_table_info *src = t->src;
    int nconds = 0;
    pgh_buf_reset(out);
    pgh_buf_puts(out, "COPY (SELECT ");
    put_columns(out, conn, src);
    pgh_buf_puts(out, " FROM ");
    pgh_pg_put_read_from(out, src);
    nconds = pgh_pg_put_read_filter(out, src);
    if (after)
        put_condition(out, conn, src, &nconds, ">", after);
    else if (lo)
        put_condition(out, conn, src, &nconds, ">=", lo);
    if (hi)
        put_condition(out, conn, src, &nconds, "<", hi);
    if (src->row_filter) /* the publication's, deparsed by the server: copied as it is */
        pgh_buf_printf(out, "%s(%s)", nconds++ ? " AND " : " WHERE ", src->row_filter);
    if (limit > 0) {
        pgh_buf_puts(out, " ORDER BY ");
        for (int k = 0; k < src->nkeys; k++) {
            if (k)
                pgh_buf_puts(out, ", ");
            pgh_conn_put_ident(out, conn, "", src->cols[src->key_cols[k]].name);
        }
        pgh_buf_printf(out, " LIMIT %lld", (long long)limit);
    }
    pgh_buf_puts(out, ") TO STDOUT");
    if (t->format == PGH_COPY_BINARY)
        pgh_buf_puts(out, " (FORMAT binary)");
}
