/*
 * pghost/log.h - the library's only way to say anything.
 *
 * The library never prints. It calls the registered log function (none by default); the CLI
 * installs one that writes to stderr. Row values are never logged above PGH_LOG_DEBUG and
 * connection strings only after pgh_conninfo_mask(). Thread-safe: the sink is called from copy
 * workers and the stream alike, and must be safe for that.
 */
#ifndef PGHOST_LOG_H
#define PGHOST_LOG_H

#include "pghost/export.h"

PGH_BEGIN_DECLS

typedef enum pgh_log_level {
    PGH_LOG_ERROR = 0,
    PGH_LOG_WARN = 1,
    PGH_LOG_INFO = 2,
    PGH_LOG_DEBUG = 3,
    PGH_LOG_TRACE = 4,
} pgh_log_level;

/* component: a short module name ("copy", "stream", "apply", ...). */
typedef void (*pgh_log_fn)(pgh_log_level level, const char *component, const char *message,
                           void *payload);

/* Install the log function and the most verbose level passed to it. NULL silences. */
PGH_API void pgh_log_set_handler(pgh_log_fn fn, pgh_log_level max_level, void *payload);

/* Would a message at this level reach the handler? */
PGH_API int pgh_log_enabled(pgh_log_level level);

PGH_API void pgh_log(pgh_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Parse "error|warn|info|debug|trace". Returns 0 or PGH_ECONFIG. */
PGH_API int pgh_log_level_parse(pgh_log_level *out, const char *name);

PGH_END_DECLS

#endif
