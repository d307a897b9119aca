/* Loading libduckdb at run time: see duckdb_api.h. */
#include "duckdb_api.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static duck_api g_api;          /* filled once a library loaded */
static char g_path[4096];       /* the path it was loaded as */
static bool g_loaded;

/* One symbol into *slot; false when the library lacks it. */
static bool sym(void *lib, const char *name, void *slot)
{
    void *p = dlsym(lib, name);
    memcpy(slot, &p, sizeof(p)); /* object pointer to function pointer, the POSIX way */
    return p != NULL;
}

#define SYM(field) {"duckdb_" #field, &g_api.field}

static int bind_all(void *lib, const char *path, pgh_error *err)
{
    const struct {
        const char *name;
        void *slot;
    } syms[] = {
        SYM(library_version), SYM(create_config), SYM(set_config), SYM(destroy_config),
        SYM(open_ext), SYM(close), SYM(connect), SYM(disconnect), SYM(query),
        SYM(destroy_result), SYM(result_error), SYM(row_count), SYM(column_count),
        SYM(value_varchar), SYM(value_is_null), SYM(free), SYM(appender_create_ext),
        SYM(appender_error), SYM(appender_flush), SYM(appender_destroy), SYM(appender_end_row),
        {"duckdb_append_varchar_length", &g_api.append_varchar_length},
        {"duckdb_append_int64", &g_api.append_int64}, {"duckdb_append_bool", &g_api.append_bool},
        {"duckdb_append_null", &g_api.append_null},
    };
    for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++)
        if (!sym(lib, syms[i].name, syms[i].slot))
            return pgh_error_set(err, PGH_ECONFIG,
                                 "DuckDB library %s lacks %s: it is not libduckdb 1.0 or later; "
                                 "point duckdb_library at a newer one",
                                 path, syms[i].name);
    return 0;
}

static int load_locked(const char *path, pgh_error *err)
{
    static const char *const search[] = {PGH_DUCKDB_SEARCH};
    char tried[1024] = "";
    size_t n = path ? 1 : sizeof(search) / sizeof(search[0]);
    for (size_t i = 0; i < n; i++) {
        const char *p = path ? path : search[i];
        void *lib = dlopen(p, RTLD_NOW | RTLD_LOCAL);
        if (lib == NULL) {
            size_t used = strlen(tried);
            snprintf(tried + used, sizeof(tried) - used, "%s%s", used ? ", " : "", p);
            continue;
        }
        int rc = bind_all(lib, p, err);
        if (rc != 0)
            return rc; /* the library stays loaded: its symbols may be in use elsewhere */
        snprintf(g_path, sizeof(g_path), "%s", p);
        g_loaded = true;
        return 0;
    }
    if (path)
        return pgh_error_set(err, PGH_ENOTFOUND,
                             "cannot load the DuckDB library %s (duckdb_library): %s; fix the "
                             "path, or remove the key to use the default search",
                             path, dlerror());
    return pgh_error_set(err, PGH_ENOTFOUND,
                         "cannot find the DuckDB library (tried %s); run scripts/install-deps.sh "
                         "or set duckdb_library to the path of libduckdb.so",
                         tried);
}

int pgh_duckdb__load(const duck_api **out, const char *path, pgh_error *err)
{
    *out = NULL;
    pthread_mutex_lock(&g_lock);
    int rc = 0;
    if (!g_loaded || (path && strcmp(path, g_path) != 0))
        rc = load_locked(path, err);
    if (rc == 0)
        *out = &g_api;
    pthread_mutex_unlock(&g_lock);
    return rc;
}
