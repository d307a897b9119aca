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
#include "pghost/lsn.h"

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

/* One message with what it is about, when known: for structured (JSON) logs. */
typedef struct pgh_log_record {
    pgh_log_level level;
    const char *component; /* borrowed for the call */
    const char *message;   /* borrowed for the call */
    const char *table;     /* "schema.table" the message is about, or NULL; borrowed */
    pgh_lsn lsn;           /* the WAL position it is about, 0 when none */
} pgh_log_record;

typedef void (*pgh_log_record_fn)(const pgh_log_record *rec, void *payload);

/* Install the log function and the most verbose level passed to it. NULL silences. Replaces a
 * record handler. */
PGH_API void pgh_log_set_handler(pgh_log_fn fn, pgh_log_level max_level, void *payload);

/* The same with a function that also receives the table and LSN of each message. Replaces a
 * plain handler. NULL silences. */
PGH_API void pgh_log_set_record_handler(pgh_log_record_fn fn, pgh_log_level max_level,
                                        void *payload);

/* Would a message at this level reach the handler? */
PGH_API int pgh_log_enabled(pgh_log_level level);

PGH_API void pgh_log(pgh_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* pgh_log about a table ("schema.table", or NULL) and an LSN (0: none). */
PGH_API void pgh_log_at(pgh_log_level level, const char *component, const char *table,
                        pgh_lsn lsn, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Parse "error|warn|info|debug|trace". Returns 0 or PGH_ECONFIG. */
PGH_API int pgh_log_level_parse(pgh_log_level *out, const char *name);

PGH_END_DECLS

#endif
