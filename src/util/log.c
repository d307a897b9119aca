/* The log indirection: see include/pghost/log.h. */
#include "pghost/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pghost/error.h"

static pgh_log_fn g_fn;
static pgh_log_record_fn g_record_fn;
static pgh_log_level g_level = PGH_LOG_INFO;
static void *g_payload;

void pgh_log_set_handler(pgh_log_fn fn, pgh_log_level max_level, void *payload)
{
    g_fn = fn;
    g_record_fn = NULL;
    g_level = max_level;
    g_payload = payload;
}

void pgh_log_set_record_handler(pgh_log_record_fn fn, pgh_log_level max_level, void *payload)
{
    g_fn = NULL;
    g_record_fn = fn;
    g_level = max_level;
    g_payload = payload;
}

int pgh_log_enabled(pgh_log_level level)
{
    return (g_fn != NULL || g_record_fn != NULL) && level <= g_level;
}

static void vlog(pgh_log_level level, const char *component, const char *table, pgh_lsn lsn,
                 const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

static void vlog(pgh_log_level level, const char *component, const char *table, pgh_lsn lsn,
                 const char *fmt, va_list ap)
{
    char msg[2048];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (g_record_fn) {
        pgh_log_record rec = {level, component, msg, table, lsn};
        g_record_fn(&rec, g_payload);
    } else if (g_fn) {
        g_fn(level, component, msg, g_payload);
    }
}

void pgh_log(pgh_log_level level, const char *component, const char *fmt, ...)
{
    if (!pgh_log_enabled(level))
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog(level, component, NULL, 0, fmt, ap);
    va_end(ap);
}

void pgh_log_at(pgh_log_level level, const char *component, const char *table, pgh_lsn lsn,
                const char *fmt, ...)
{
    if (!pgh_log_enabled(level))
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog(level, component, table, lsn, fmt, ap);
    va_end(ap);
}

int pgh_log_level_parse(pgh_log_level *out, const char *name)
{
    static const char *names[] = {"error", "warn", "info", "debug", "trace"};
    for (int i = 0; i < 5; i++) {
        if (strcmp(name, names[i]) == 0) {
            *out = (pgh_log_level)i;
            return 0;
        }
    }
    return PGH_ECONFIG;
}
