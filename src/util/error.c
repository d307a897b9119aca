/* Error records: see include/pghost/error.h. */
#include "pghost/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void pgh_error_clear(pgh_error *err)
{
    if (err == NULL)
        return;
    memset(err, 0, sizeof(*err));
}

int pgh_error_set(pgh_error *err, int code, const char *fmt, ...)
{
    if (err == NULL || err->code != 0)
        return code;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return code;
}

void pgh_error_prefix(pgh_error *err, const char *fmt, ...)
{
    if (err == NULL)
        return;
    char prefix[256];
    char old[PGH_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err->message, sizeof(old));
    /* Truncation is acceptable: the message is capped by design. */
    size_t plen = strnlen(prefix, sizeof(prefix));
    if (plen + 2 >= sizeof(err->message))
        plen = sizeof(err->message) - 3;
    memcpy(err->message, prefix, plen);
    memcpy(err->message + plen, ": ", 2);
    size_t room = sizeof(err->message) - plen - 3;
    size_t olen = strnlen(old, room);
    memcpy(err->message + plen + 2, old, olen);
    err->message[plen + 2 + olen] = '\0';
}

const char *pgh_error_code_name(int code)
{
    switch (code) {
    case PGH_OK:
        return "ok";
    case PGH_ENOMEM:
        return "out of memory";
    case PGH_ECONN:
        return "connection";
    case PGH_ESQL:
        return "sql";
    case PGH_EPROTO:
        return "protocol";
    case PGH_ECONFIG:
        return "config";
    case PGH_ENOTFOUND:
        return "not found";
    case PGH_ECANCELED:
        return "canceled";
    case PGH_ESINK:
        return "destination";
    case PGH_EPRECOND:
        return "precondition";
    default:
        return "unknown";
    }
}
