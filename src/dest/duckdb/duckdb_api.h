/*
 * The few functions of DuckDB's C API (duckdb.h, stable since DuckDB 1.0) this destination
 * calls, loaded at run time with dlopen so that pghost builds and runs without DuckDB until a
 * run names destination: duckdb.
 *
 * Only what is used is declared, with the signatures duckdb.h documents; handles are opaque
 * pointers and duckdb_result keeps the layout duckdb.h fixes (it is allocated by the caller).
 * The loaded library stays loaded for the life of the process (dlclose of a library with
 * threads of its own is unsafe), so pgh_duckdb__load is cheap after the first call.
 */
#ifndef PGH_DEST_DUCKDB_API_H
#define PGH_DEST_DUCKDB_API_H

#include <stdbool.h>
#include <stdint.h>

#include "pghost/error.h"

typedef uint64_t duck_idx;
typedef enum { DUCK_SUCCESS = 0, DUCK_ERROR = 1 } duck_state;
typedef void *duck_database;   /* duckdb_database: a pointer to an opaque struct */
typedef void *duck_connection; /* duckdb_connection */
typedef void *duck_appender;   /* duckdb_appender */
typedef void *duck_config;     /* duckdb_config */

/* duckdb_result: filled by duckdb_query, released by duckdb_destroy_result. */
typedef struct duck_result {
    duck_idx deprecated_column_count;
    duck_idx deprecated_row_count;
    duck_idx deprecated_rows_changed;
    void *deprecated_columns;
    char *deprecated_error_message;
    void *internal_data;
} duck_result;

/* The functions, named as in duckdb.h without the duckdb_ prefix. */
typedef struct duck_api {
    const char *(*library_version)(void);
    duck_state (*create_config)(duck_config *out);
    duck_state (*set_config)(duck_config config, const char *name, const char *option);
    void (*destroy_config)(duck_config *config);
    duck_state (*open_ext)(const char *path, duck_database *out, duck_config config,
                           char **out_error);
    void (*close)(duck_database *db);
    duck_state (*connect)(duck_database db, duck_connection *out);
    void (*disconnect)(duck_connection *conn);
    duck_state (*query)(duck_connection conn, const char *sql, duck_result *out);
    void (*destroy_result)(duck_result *res);
    const char *(*result_error)(duck_result *res);
    duck_idx (*row_count)(duck_result *res);
    duck_idx (*column_count)(duck_result *res);
    char *(*value_varchar)(duck_result *res, duck_idx col, duck_idx row); /* duckdb_free it */
    bool (*value_is_null)(duck_result *res, duck_idx col, duck_idx row);
    void (*free)(void *ptr);
    duck_state (*appender_create_ext)(duck_connection conn, const char *catalog,
                                      const char *schema, const char *table, duck_appender *out);
    const char *(*appender_error)(duck_appender app);
    duck_state (*appender_flush)(duck_appender app);
    duck_state (*appender_destroy)(duck_appender *app);
    duck_state (*appender_end_row)(duck_appender app);
    duck_state (*append_varchar_length)(duck_appender app, const char *val, duck_idx len);
    duck_state (*append_int64)(duck_appender app, int64_t val);
    duck_state (*append_bool)(duck_appender app, bool val);
    duck_state (*append_null)(duck_appender app);
} duck_api;

/* Where the library is looked for when none is configured, in order (the first that loads):
 * the copy scripts/install-deps.sh installs from DuckDB's npm package, /usr/local/lib, /usr/lib,
 * then "libduckdb.so" through the dynamic loader's own search (LD_LIBRARY_PATH, ld.so.cache). */
#define PGH_DUCKDB_NPM_DIR "/usr/local/lib/pghost-duckdb/node_modules/@duckdb/node-bindings-linux-x64"
#define PGH_DUCKDB_SEARCH                                                                          \
    PGH_DUCKDB_NPM_DIR "/libduckdb.so", "/usr/local/lib/libduckdb.so", "/usr/lib/libduckdb.so",   \
        "libduckdb.so"

/* Load the library (path NULL: the search above) and every function of duck_api, once per
 * process and path. *out is borrowed, valid for the life of the process. PGH_ENOTFOUND, naming
 * every place tried and what to do, when no library loads; PGH_ECONFIG naming the missing
 * function when a library lacks one. */
int pgh_duckdb__load(const duck_api **out, const char *path, pgh_error *err);

#endif
