/*
 * dest/webhook/webhook_http.h - POSTing one batch until it is accepted (private to
 * dest/webhook/).
 *
 * One libcurl easy handle, reused so the connection stays open between batches. Each attempt
 * signs the body afresh (the signature's timestamp is the attempt's) and sends the same
 * Idempotency-Key. Outcomes:
 *   2xx                                    accepted: return 0
 *   connection errors, timeouts, 408, 429, 5xx
 *                                          wait and try again, up to max_retries more times:
 *                                          random(0, min(retry_max, retry_base * 2^n)) (full
 *                                          jitter), and at least the Retry-After asked for
 *   anything else (4xx, 3xx, TLS verification failures, a bad URL)
 *                                          PGH_ESINK at once, the status and the start of the
 *                                          answer's body in the message
 * Messages name the URL without user information and query (they may hold credentials), never
 * the secret. One thread at a time.
 */
#ifndef PGH_DEST_WEBHOOK_HTTP_H
#define PGH_DEST_WEBHOOK_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "pghost/error.h"
#include "pghost/webhook.h"
#include "util/buf.h"

#define PGH_WEBHOOK_BODY_SHOWN 200 /* bytes of an answer's body kept for a message */

typedef struct pgh_webhook_http {
    void *curl;      /* owned: the CURL easy handle */
    void *headers;   /* owned: the struct curl_slist of the current attempt */
    char *url;       /* owned */
    char *url_shown; /* owned: url without user information and query, for messages */
    char *secret;    /* owned, may be NULL: no signature */
    size_t secret_len;
    char *ca_file; /* owned, may be NULL */
    int64_t timeout_ms, max_retries, retry_base_ms, retry_max_ms;
    uint64_t rng;      /* xorshift64 state for the jitter, never 0 */
    pgh_buf answer;    /* owned: the start of the last answer's body */
    uint64_t attempts; /* requests made, retries included */
    uint64_t retries;  /* of them after a failed attempt */
} pgh_webhook_http;

/* Set h up from opts (copied). PGH_ECONFIG for a URL that is not http(s), PGH_ENOMEM. */
int pgh_webhook__http_init(pgh_webhook_http *h, const pgh_webhook_opts *opts, pgh_error *err);
void pgh_webhook__http_dispose(pgh_webhook_http *h);

/* POST body (len bytes) with Idempotency-Key key until a 2xx, retrying as above. */
int pgh_webhook__http_post(pgh_webhook_http *h, const char *body, size_t len, const char *key,
                           pgh_error *err);

/* url without "user:password@" and without "?query" or "#fragment" (malloc'd, NULL when out of
 * memory). */
char *pgh_webhook__url_shown(const char *url);

#endif
