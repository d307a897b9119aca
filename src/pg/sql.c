/* SQL helpers: see sql.h. */
#include "pg/sql.h"

#include <stdio.h>
#include <string.h>

#include "pg/conn.h"

int pgh_pg_query_text(char *out, size_t out_len, PGconn *conn, const char *sql, int nparams,
                      const char *const *params, pgh_error *err)
{
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, conn, sql, nparams, params, err);
    if (rc != 0)
        return rc;
    snprintf(out, out_len, "%s", PQntuples(res) > 0 ? PQgetvalue(res, 0, 0) : "");
    PQclear(res);
    return 0;
}

int pgh_pg_is_superuser(bool *out, PGconn *conn, pgh_error *err)
{
    char v[8];
    int rc = pgh_pg_query_text(v, sizeof(v), conn,
                               "SELECT rolsuper FROM pg_catalog.pg_roles "
                               "WHERE rolname = current_user",
                               0, NULL, err);
    *out = rc == 0 && v[0] == 't';
    return rc;
}

const char *pgh_pg_only(const pgh_table_info *t)
{
    return t->relkind == 'p' ? "" : "ONLY ";
}

void pgh_pg_put_read_from(pgh_buf *b, const pgh_table_info *t)
{
    if (t->read_root != NULL)
        pgh_buf_puts(b, t->read_root);
    else
        pgh_buf_printf(b, "%s%s", pgh_pg_only(t), t->qualified);
}

int pgh_pg_put_read_filter(pgh_buf *b, const pgh_table_info *t)
{
    if (t->read_root == NULL)
        return 0;
    pgh_buf_printf(b, " WHERE (%s)", t->read_filter);
    return 1;
}
