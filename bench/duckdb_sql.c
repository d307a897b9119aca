/* bench/duckdb_sql FILE SQL...: run each SQL on the DuckDB file through the libduckdb pghost
 * loads (src/dest/duckdb/duckdb_api.h) and print the first value of the last one. Built by
 * bench/duckdb: the machine has no DuckDB command-line tool. */
#include <stdio.h>
#include <string.h>

#include "dest/duckdb/duckdb_api.h"

int main(int argc, char **argv)
{
    const duck_api *a = NULL;
    pgh_error err;
    memset(&err, 0, sizeof(err));
    if (argc < 3 || pgh_duckdb__load(&a, NULL, &err) != 0) {
        fprintf(stderr, "duckdb_sql: %s\n", argc < 3 ? "usage: duckdb_sql FILE SQL..." : err.message);
        return 1;
    }
    duck_database db = NULL;
    duck_connection conn = NULL;
    char *why = NULL;
    if (a->open_ext(argv[1], &db, NULL, &why) != DUCK_SUCCESS || a->connect(db, &conn) != DUCK_SUCCESS) {
        fprintf(stderr, "duckdb_sql: cannot open %s: %s\n", argv[1], why ? why : "?");
        return 1;
    }
    int rc = 0;
    for (int i = 2; i < argc && rc == 0; i++) {
        duck_result res;
        memset(&res, 0, sizeof(res));
        if (a->query(conn, argv[i], &res) != DUCK_SUCCESS) {
            fprintf(stderr, "duckdb_sql: %s: %s\n", argv[i], a->result_error(&res));
            rc = 1;
        } else if (i == argc - 1 && a->row_count(&res) > 0 && a->column_count(&res) > 0) {
            char *v = a->value_varchar(&res, 0, 0);
            printf("%s\n", v ? v : "NULL");
            a->free(v);
        }
        a->destroy_result(&res);
    }
    a->disconnect(&conn);
    a->close(&db);
    return rc;
}
