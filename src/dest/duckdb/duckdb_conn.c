/* A DuckDB file and its connection: see duckdb_conn.h. */
#include "duckdb_conn.h"

#include <stdlib.h>
#include <string.h>

int pgh_duckdb__conn_open(duck_conn *c, const char *path, const char *library, pgh_error *err)
{
    memset(c, 0, sizeof(*c));
    int rc = pgh_duckdb__load(&c->api, library, err);
    if (rc != 0)
        return rc;
    c->path = strdup(path);
    if (c->path == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "DuckDB destination: out of memory");
    char *why = NULL;
    if (c->api->open_ext(path, &c->db, NULL, &why) != DUCK_SUCCESS) {
        rc = pgh_error_set(err, PGH_ESINK, "cannot open DuckDB file %s: %s", path,
                           why ? why : "unknown error");
        c->api->free(why);
        c->db = NULL;
        return rc;
    }
    if (c->api->connect(c->db, &c->conn) != DUCK_SUCCESS) {
        c->conn = NULL;
        return pgh_error_set(err, PGH_ESINK, "cannot connect to DuckDB file %s", path);
    }
    return 0;
}

void pgh_duckdb__conn_close(duck_conn *c)
{
    if (c->api && c->conn)
        c->api->disconnect(&c->conn);
    if (c->api && c->db)
        c->api->close(&c->db);
    free(c->path);
    memset(c, 0, sizeof(*c));
}

static int failed(duck_conn *c, duck_result *res, const char *what, pgh_error *err)
{
    const char *msg = c->api->result_error(res);
    int rc = pgh_error_set(err, PGH_ESINK, "DuckDB file %s: %s: %s", c->path, what,
                           msg ? msg : "unknown error");
    c->api->destroy_result(res);
    return rc;
}

int pgh_duckdb__exec(duck_conn *c, const char *sql, const char *what, pgh_error *err)
{
    duck_result res;
    memset(&res, 0, sizeof(res));
    if (c->api->query(c->conn, sql, &res) != DUCK_SUCCESS)
        return failed(c, &res, what, err);
    c->api->destroy_result(&res);
    return 0;
}

int pgh_duckdb__query_row(char **out, int n, bool *found, duck_conn *c, const char *sql,
                          const char *what, pgh_error *err)
{
    duck_result res;
    memset(&res, 0, sizeof(res));
    for (int i = 0; i < n; i++)
        out[i] = NULL;
    *found = false;
    if (c->api->query(c->conn, sql, &res) != DUCK_SUCCESS)
        return failed(c, &res, what, err);
    int rc = 0;
    if (c->api->row_count(&res) > 0 && c->api->column_count(&res) >= (duck_idx)n) {
        *found = true;
        for (int i = 0; i < n && rc == 0; i++) {
            if (c->api->value_is_null(&res, (duck_idx)i, 0))
                continue;
            char *v = c->api->value_varchar(&res, (duck_idx)i, 0);
            out[i] = v ? strdup(v) : NULL;
            c->api->free(v);
            if (v != NULL && out[i] == NULL)
                rc = pgh_error_set(err, PGH_ENOMEM, "DuckDB destination: out of memory");
        }
    }
    c->api->destroy_result(&res);
    return rc;
}

static void quoted(pgh_buf *b, const char *s, char q)
{
    pgh_buf_putc(b, q);
    for (; *s; s++) {
        if (*s == q)
            pgh_buf_putc(b, q);
        pgh_buf_putc(b, *s);
    }
    pgh_buf_putc(b, q);
}

void pgh_duckdb__ident(pgh_buf *b, const char *name)
{
    quoted(b, name, '"');
}

void pgh_duckdb__literal(pgh_buf *b, const char *s)
{
    quoted(b, s, '\'');
}
