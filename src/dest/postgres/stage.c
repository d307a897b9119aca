/*
 * on_conflict_action update | nothing: a copy session's rows go into a temporary staging table
 * shaped like the destination table, and each ended COPY moves them over with one
 * INSERT ... SELECT ... ON CONFLICT (key) DO UPDATE / DO NOTHING, in the same transaction
 * (copy_in.h).
 */
#include "dest/postgres/stage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"
#include "util/buf.h"

void pgh_postgres__stage_name(char *out, size_t len, int table)
{
    snprintf(out, len, "pg_temp.pghost_stage_%d", table);
}

int pgh_postgres__stage_create(PGconn *conn, const pgh_table_info *dst, int table, pgh_error *err)
{
    char stage[64];
    pgh_postgres__stage_name(stage, sizeof(stage), table);
    pgh_buf sql;
    pgh_buf_init(&sql, 0);
    /* a table created in pg_temp is a temporary one: it goes with the session */
    pgh_buf_printf(&sql, "CREATE TABLE IF NOT EXISTS %s (LIKE %s)", stage, dst->qualified);
    int rc = pgh_buf_failed(&sql) ? pgh_error_set(err, PGH_ENOMEM, "out of memory")
                                  : pgh_conn_exec(conn, pgh_buf_str(&sql), err);
    pgh_buf_dispose(&sql);
    return rc;
}

int pgh_postgres__stage_clear(PGconn *conn, int table, pgh_error *err)
{
    char sql[96];
    snprintf(sql, sizeof(sql), "TRUNCATE pg_temp.pghost_stage_%d", table);
    return pgh_conn_exec(conn, sql, err);
}

/* ON CONFLICT (key) DO UPDATE SET <copied non-key columns> = EXCLUDED... or DO NOTHING. */
static void put_conflict(pgh_buf *sql, PGconn *conn, const pgh_table_info *dst,
                         const char *const *columns, int ncolumns, bool update)
{
    pgh_buf_puts(sql, " ON CONFLICT (");
    for (int k = 0; k < dst->nkeys; k++) {
        char *q = pgh_conn_ident(conn, dst->cols[dst->key_cols[k]].name);
        pgh_buf_printf(sql, "%s%s", k ? ", " : "", q ? q : "");
        free(q);
    }
    int set = 0;
    for (int i = 0; update && i < ncolumns; i++) {
        bool key = false;
        for (int k = 0; k < dst->nkeys; k++)
            key = key || strcmp(dst->cols[dst->key_cols[k]].name, columns[i]) == 0;
        char *q = key ? NULL : pgh_conn_ident(conn, columns[i]);
        if (q)
            pgh_buf_printf(sql, "%s%s = EXCLUDED.%s", set++ ? ", " : ") DO UPDATE SET ", q, q);
        free(q);
    }
    if (set == 0)
        pgh_buf_puts(sql, ") DO NOTHING");
}

char *pgh_postgres__stage_merge_sql(PGconn *conn, const pgh_table_info *dst, int table,
                                    const char *const *columns, int ncolumns, bool update)
{
    char stage[64];
    pgh_postgres__stage_name(stage, sizeof(stage), table);
    pgh_buf cols, sql;
    pgh_buf_init(&cols, 0);
    pgh_buf_init(&sql, 0);
    for (int i = 0; i < ncolumns; i++) {
        char *q = pgh_conn_ident(conn, columns[i]);
        pgh_buf_printf(&cols, "%s%s", i ? ", " : "", q ? q : "");
        if (q == NULL)
            pgh_buf_printf(&cols, "%s", "\x01"); /* poisons: reported below */
        free(q);
    }
    /* OVERRIDING SYSTEM VALUE: identity columns take the source's values too. */
    pgh_buf_printf(&sql, "INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM %s",
                   dst->qualified, pgh_buf_str(&cols), pgh_buf_str(&cols), stage);
    put_conflict(&sql, conn, dst, columns, ncolumns, update);
    bool failed =
        pgh_buf_failed(&cols) || pgh_buf_failed(&sql) || strchr(pgh_buf_str(&cols), '\x01') != NULL;
    pgh_buf_dispose(&cols);
    if (failed) {
        pgh_buf_dispose(&sql);
        return NULL;
    }
    return pgh_buf_take(&sql);
}
