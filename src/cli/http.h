/*
 * The HTTP server of --metrics-addr (http.c; libmicrohttpd, on its own polling thread): GET or
 * HEAD /metrics answers what render writes, /healthz "ok", /readyz 200 while ready() holds and
 * 503 otherwise, anything else 404, other methods 405. render and ready are called on the
 * server's thread, one request at a time.
 */
#ifndef PGH_CLI_HTTP_H
#define PGH_CLI_HTTP_H

#include <stdbool.h>

#include "util/buf.h"

typedef struct pgh_cli_http pgh_cli_http;

typedef struct pgh_cli_http_handlers {
    void (*render)(void *payload, pgh_buf *out); /* the Prometheus text of /metrics */
    bool (*ready)(void *payload);                /* /readyz */
    void *payload;                               /* borrowed, outlives the server */
} pgh_cli_http_handlers;

/* Listen on addr ("HOST:PORT", "[V6]:PORT" or ":PORT"); -1 after printing the error. */
int pgh_cli_http_start(pgh_cli_http **out, const pgh_cli_http_handlers *handlers,
                       const char *addr);
/* Stop answering and free h (NULL: nothing). */
void pgh_cli_http_stop(pgh_cli_http *h);

#endif
