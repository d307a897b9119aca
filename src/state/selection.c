/*
 * The tables a --follow sync selected, fixed at its start: see state.h.
 *
 * <state_schema>.selected_tables holds one row per table of the slot's sync (source and
 * destination names, in the order of the run), written in the same transaction as the first
 * state row. A resumed run works on exactly these tables, whatever the patterns of tables:
 * match now. Tables that replicated DDL created, renamed or dropped while following are in
 * <state_schema>.ddl_tables (written by the PostgreSQL destination, dest/postgres/ddl.c): it
 * overlays this list by position, as it overlaid the run's configuration when it recorded them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"
#include "state/state.h"
#include "util/buf.h"

void pgh_state_tables_free(pgh_table_map *t, size_t n)
{
    for (size_t i = 0; t && i < n; i++) {
        free(t[i].source_schema);
        free(t[i].source_table);
        free(t[i].dest_schema);
        free(t[i].dest_table);
    }
    free(t);
}

int pgh_state_selection_write(PGconn *dst, const char *schema, const char *slot_name,
                              const pgh_table_map *tables, size_t n, pgh_error *err)
{
    char *t = pgh_conn_qualified(dst, schema, "selected_tables");
    if (t == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    pgh_buf sql;
    pgh_buf_init(&sql, 0);
    pgh_buf_printf(&sql, "DELETE FROM %s WHERE slot_name = $1", t);
    PGresult *res = NULL;
    const char *slot = slot_name;
    int rc = pgh_conn_query(&res, dst, pgh_buf_str(&sql), 1, &slot, err);
    PQclear(res);
    pgh_buf_reset(&sql);
    pgh_buf_printf(&sql,
                   "INSERT INTO %s (slot_name, table_index, source_schema, source_table, "
                   "dest_schema, dest_table) VALUES ($1, $2, $3, $4, $5, $6)",
                   t);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const pgh_table_map *m = &tables[i];
        char idx[24];
        snprintf(idx, sizeof(idx), "%zu", i);
        const char *p[6] = {slot, idx, m->source_schema, m->source_table, m->dest_schema,
                            m->dest_table};
        rc = pgh_conn_query(&res, dst, pgh_buf_str(&sql), 6, p, err);
        PQclear(res);
    }
    if (rc != 0)
        pgh_error_prefix(err, "recording the selected tables in %s", t);
    pgh_buf_dispose(&sql);
    free(t);
    return rc;
}

int pgh_state_selection_read(pgh_table_map **out, size_t *n, PGconn *dst, const char *schema,
                             const char *slot, pgh_error *err)
{
    *out = NULL;
    *n = 0;
    const char *params[2] = {schema, slot};
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, dst,
                            "SELECT to_regclass(format('%I.selected_tables', $1::text)) "
                            "IS NOT NULL",
                            1, params, err);
    bool exists = rc == 0 && PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (!exists)
        return rc;
    char *t = pgh_conn_qualified(dst, schema, "selected_tables");
    if (t == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT source_schema, source_table, dest_schema, dest_table FROM %s "
             "WHERE slot_name = $1 ORDER BY table_index",
             t);
    free(t);
    rc = pgh_conn_query(&res, dst, sql, 1, params + 1, err);
    int rows = rc == 0 ? PQntuples(res) : 0;
    pgh_table_map *maps = rows ? calloc((size_t)rows, sizeof(*maps)) : NULL;
    if (rows && maps == NULL)
        rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
    for (int r = 0; rc == 0 && r < rows; r++) {
        pgh_table_map *m = &maps[r];
        m->source_schema = strdup(PQgetvalue(res, r, 0));
        m->source_table = strdup(PQgetvalue(res, r, 1));
        m->dest_schema = strdup(PQgetvalue(res, r, 2));
        m->dest_table = strdup(PQgetvalue(res, r, 3));
        if (!m->source_schema || !m->source_table || !m->dest_schema || !m->dest_table)
            rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
    }
    PQclear(res);
    if (rc != 0) {
        pgh_state_tables_free(maps, (size_t)rows);
        return rc;
    }
    *out = maps;
    *n = (size_t)rows;
    return 0;
}
