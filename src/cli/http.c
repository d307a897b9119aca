/* The HTTP server of --metrics-addr: see http.h. */
#include <microhttpd.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cli.h"
#include "http.h"

#define METRICS_MAX_BYTES (16 << 20) /* cap of one /metrics answer */

struct pgh_cli_http {
    struct MHD_Daemon *daemon;     /* owned */
    pgh_cli_http_handlers handlers; /* copy */
};

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, char *body,
                             const char *type)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", type);
    enum MHD_Result rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result text(struct MHD_Connection *conn, unsigned status, const char *s)
{
    char *body = strdup(s);
    return body ? reply(conn, status, body, "text/plain; charset=utf-8") : MHD_NO;
}

static enum MHD_Result metrics(struct MHD_Connection *conn, const pgh_cli_http *h)
{
    pgh_buf b;
    pgh_buf_init(&b, METRICS_MAX_BYTES);
    h->handlers.render(h->handlers.payload, &b);
    char *body = pgh_buf_take(&b);
    pgh_buf_dispose(&b);
    if (body == NULL)
        return text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    return reply(conn, MHD_HTTP_OK, body, "text/plain; version=0.0.4; charset=utf-8");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
    (void)version, (void)upload_data, (void)upload_data_size, (void)req_cls;
    const pgh_cli_http *h = cls;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET\n");
    if (strcmp(url, "/metrics") == 0)
        return metrics(conn, h);
    if (strcmp(url, "/healthz") == 0)
        return text(conn, MHD_HTTP_OK, "ok\n");
    if (strcmp(url, "/readyz") == 0)
        return h->handlers.ready(h->handlers.payload)
                   ? text(conn, MHD_HTTP_OK, "ready\n")
                   : text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "not ready\n");
    return text(conn, MHD_HTTP_NOT_FOUND, "not found: try /metrics, /healthz or /readyz\n");
}

/* Split "HOST:PORT", "[V6]:PORT" or ":PORT" into host (NULL: every interface) and port, in
 * buf. false when the shape is wrong. */
static bool split_addr(char **host, char **port, char *buf)
{
    char *colon = strrchr(buf, ':');
    if (colon == NULL || colon[1] == '\0')
        return false;
    *colon = '\0';
    *port = colon + 1;
    *host = buf[0] ? buf : NULL;
    size_t n = *host ? strlen(*host) : 0;
    if (n >= 2 && buf[0] == '[' && buf[n - 1] == ']') {
        buf[n - 1] = '\0';
        *host = buf + 1;
    }
    return strspn(*port, "0123456789") == strlen(*port);
}

static struct addrinfo *resolve(const char *addr)
{
    char buf[256];
    char *host = NULL, *port = NULL;
    snprintf(buf, sizeof(buf), "%s", addr);
    if (strlen(addr) >= sizeof(buf) || !split_addr(&host, &port, buf)) {
        pgh_cli_error("--metrics-addr must be HOST:PORT (e.g. 127.0.0.1:9187, [::1]:9187 or "
                      ":9187 for every interface), not \"%s\"",
                      addr);
        return NULL;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0) {
        pgh_cli_error("--metrics-addr %s: cannot resolve it (%s)", addr, gai_strerror(rc));
        return NULL;
    }
    return ai;
}

int pgh_cli_http_start(pgh_cli_http **out, const pgh_cli_http_handlers *handlers,
                       const char *addr)
{
    struct addrinfo *ai = resolve(addr);
    if (ai == NULL)
        return -1;
    pgh_cli_http *h = calloc(1, sizeof(*h));
    if (h)
        h->handlers = *handlers;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD; /* no MHD_USE_ERROR_LOG: stderr is the log */
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (h)
        h->daemon =
            MHD_start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                             MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (h == NULL || h->daemon == NULL) {
        pgh_cli_error("--metrics-addr %s: cannot listen there (is the port in use, or the "
                      "address not this host's?)",
                      addr);
        free(h);
        return -1;
    }
    *out = h;
    return 0;
}

void pgh_cli_http_stop(pgh_cli_http *h)
{
    if (h == NULL)
        return;
    MHD_stop_daemon(h->daemon);
    free(h);
}
