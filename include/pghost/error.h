/*
 * pghost/error.h - error codes and the error record every fallible call fills in.
 *
 * Every fallible function returns int: 0 on success, a negative PGH_E* code otherwise. The
 * human-readable part lives in a pgh_error owned by whatever failed (a connection, a worker,
 * the stream), never in a global, because copy workers and the stream run at the same time.
 * Set it once, where the failure is found; callers add a prefix only when they know more.
 */
#ifndef PGHOST_ERROR_H
#define PGHOST_ERROR_H

#include <stdbool.h>
#include <stdint.h>

#include "pghost/lsn.h"
#include "pghost/export.h"

PGH_BEGIN_DECLS

enum {
    PGH_OK = 0,
    PGH_ENOMEM = -1,    /* abandon this unit of work */
    PGH_ECONN = -2,     /* reconnect with backoff and resume */
    PGH_ESQL = -3,      /* look at sqlstate: retry serialization/deadlock, else stop */
    PGH_EPROTO = -4,    /* malformed stream: stop, never skip */
    PGH_ECONFIG = -5,   /* bad configuration or bad input from the user */
    PGH_ENOTFOUND = -6, /* a named object does not exist */
    PGH_ECANCELED = -7, /* stopped on request (signal, another worker failed) */
    PGH_ESINK = -8,     /* a destination refused or failed */
    PGH_EPRECOND = -9,  /* a precondition on a server is not met (preflight) */
};

#define PGH_ERROR_MSG_MAX 1024

typedef struct pgh_error {
    int code;                    /* one of PGH_E*, 0 when no error is recorded */
    char message[PGH_ERROR_MSG_MAX]; /* primary line, then optional "\nDETAIL: " / "\nHINT: " */
    char sqlstate[6];            /* five characters and NUL, empty when not from the server */
    pgh_lsn lsn;                 /* LSN being processed when known, else 0 */
} pgh_error;

/* Clear an error record. */
PGH_API void pgh_error_clear(pgh_error *err);

/* Record an error (printf-style) unless one is recorded already; returns code. */
PGH_API int pgh_error_set(pgh_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Replace the message with "prefix: old message", keeping the code. */
PGH_API void pgh_error_prefix(pgh_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Short name of a code ("connection", "sql", ...), for logs. */
PGH_API const char *pgh_error_code_name(int code);


PGH_END_DECLS

#endif
