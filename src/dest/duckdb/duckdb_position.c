/* The position kept in the DuckDB file: see duckdb_position.h. */
#include "duckdb_position.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SQL_MAX (1u << 20)

int pgh_duckdb__position_setup(duck_conn *c, pgh_error *err)
{
    return pgh_duckdb__exec(c,
                            "CREATE TABLE IF NOT EXISTS " PGH_DUCKDB_POSITION_TABLE
                            " (slot VARCHAR PRIMARY KEY, lsn UBIGINT NOT NULL, checkpoint "
                            "UBIGINT NOT NULL, phase VARCHAR NOT NULL, resume VARCHAR, "
                            "written_at TIMESTAMPTZ NOT NULL)",
                            "creating the position table", err);
}

int pgh_duckdb__position_write(duck_conn *c, const char *slot, const pgh_position *pos,
                               pgh_error *err)
{
    char phase[PGH_POSITION_PHASE_MAX];
    snprintf(phase, sizeof(phase), "%.*s", (int)sizeof(phase) - 1, pos->phase);
    pgh_buf b;
    pgh_buf_init(&b, SQL_MAX);
    pgh_buf_puts(&b, "INSERT OR REPLACE INTO " PGH_DUCKDB_POSITION_TABLE " VALUES (");
    pgh_duckdb__literal(&b, slot);
    pgh_buf_printf(&b, ", %" PRIu64 ", %" PRIu64 ", ", (uint64_t)pos->lsn,
                   (uint64_t)pos->checkpoint);
    pgh_duckdb__literal(&b, phase);
    pgh_buf_puts(&b, ", ");
    if (pos->resume)
        pgh_duckdb__literal(&b, pos->resume);
    else
        pgh_buf_puts(&b, "NULL");
    pgh_buf_puts(&b, ", now())");
    char *sql = pgh_buf_failed(&b) ? NULL : pgh_buf_take(&b);
    pgh_buf_dispose(&b);
    if (sql == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "DuckDB destination: out of memory");
    int rc = pgh_duckdb__exec(c, sql, "storing the position", err);
    free(sql);
    return rc;
}

int pgh_duckdb__position_read(pgh_position *out, bool *found, duck_conn *c, const char *slot,
                              pgh_error *err)
{
    char *v[5] = {0};
    bool has_table = false;
    *found = false;
    int rc = pgh_duckdb__query_row(v, 1, &has_table, c,
                                   "SELECT 1 FROM duckdb_tables() WHERE table_name = '"
                                   PGH_DUCKDB_POSITION_TABLE "' AND schema_name = 'main'",
                                   "looking for the position table", err);
    free(v[0]);
    if (rc != 0 || !has_table)
        return rc;
    pgh_buf b;
    pgh_buf_init(&b, SQL_MAX);
    pgh_buf_puts(&b, "SELECT lsn, checkpoint, phase, resume FROM " PGH_DUCKDB_POSITION_TABLE
                     " WHERE slot = ");
    pgh_duckdb__literal(&b, slot);
    char *sql = pgh_buf_failed(&b) ? NULL : pgh_buf_take(&b);
    pgh_buf_dispose(&b);
    if (sql == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "DuckDB destination: out of memory");
    rc = pgh_duckdb__query_row(v, 4, found, c, sql, "reading the position", err);
    free(sql);
    if (rc == 0 && *found) {
        memset(out, 0, sizeof(*out));
        out->lsn = v[0] ? strtoull(v[0], NULL, 10) : 0;
        out->checkpoint = v[1] ? strtoull(v[1], NULL, 10) : 0;
        snprintf(out->phase, sizeof(out->phase), "%s", v[2] ? v[2] : "");
        out->resume = v[3];
        v[3] = NULL;
    }
    for (int i = 0; i < 4; i++)
        free(v[i]);
    return rc;
}
