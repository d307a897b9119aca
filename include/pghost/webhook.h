/*
 * pghost/webhook.h - the webhook destination: every existing row and every change of the
 * configured tables, in the JSON-lines format of docs/json-lines.md, POSTed in batches to an
 * HTTP(S) endpoint.
 *
 * A batch is one JSON object (docs/destinations.md, "Webhook"):
 *
 *   {"batch_id":"<key>","slot":"pghost_app","first":{"commit_lsn":"0/16B37D0","lsn":"0/16B3800",
 *    "seq":0},"last":{...},"count":2,"events":[<line>,<line>]}
 *
 * with the headers Content-Type: application/json, Idempotency-Key: <key> and, with a secret,
 * Pghost-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed by the secret>.
 * The key is made of the slot and the batch's first and last positions: a batch sent again (a
 * retry, or after a restart) carries the same key when it covers the same positions.
 *
 * Batches are cut at max_events lines, when the oldest line waited max_delay_ms, and at every
 * flush. Before a batch is POSTed its range (first, last) is written to state_file; after a
 * restart the lines up to the last batch that got a 2xx are skipped and the next batch is cut at
 * the recorded last position, so a batch that was in flight is sent again whole, under its key.
 *
 * Delivery is at least once: flush() reports a position durable only once every batch up to it
 * got a 2xx answer, then records it in state_file (as the JSON-lines destination does). Retries:
 * connection errors, timeouts, 408, 429 and 5xx are retried with exponential backoff and full
 * jitter (and at least the Retry-After the server asked for), up to max_retries times; another
 * answer stops the run (PGH_ESINK) with its status and the start of its body. TLS certificates
 * and host names are always verified.
 */
#ifndef PGHOST_WEBHOOK_H
#define PGHOST_WEBHOOK_H

#include <stdint.h>

#include "pghost/destination.h"
#include "pghost/error.h"
#include "pghost/export.h"

PGH_BEGIN_DECLS

#define PGH_WEBHOOK_DEFAULT_TIMEOUT_MS 10000
#define PGH_WEBHOOK_DEFAULT_MAX_RETRIES 10
#define PGH_WEBHOOK_DEFAULT_RETRY_BASE_MS 500
#define PGH_WEBHOOK_DEFAULT_RETRY_MAX_MS 30000
#define PGH_WEBHOOK_RETRY_AFTER_MAX_S 600 /* a longer Retry-After is waited this long */

typedef struct pgh_webhook_opts {
    int version;            /* PGH_WEBHOOK_OPTS_VERSION */
    const char *url;        /* borrowed, required: http:// or https:// */
    const char *secret;     /* borrowed, may be NULL: the HMAC key; NULL or "": no signature */
    const char *ca_file;    /* borrowed, may be NULL: CA certificates (PEM) to verify with
                               instead of the system's */
    const char *state_file; /* borrowed, required: where the position is kept */
    int64_t timeout_ms;     /* per request, connecting included */
    int64_t max_retries;    /* attempts after the first one, for one batch */
    int64_t retry_base_ms;  /* backoff: attempt n waits random(0, min(max, base * 2^n)) */
    int64_t retry_max_ms;
    int64_t max_events;   /* lines per batch */
    int64_t max_delay_ms; /* how long a line may wait for its batch to fill */
} pgh_webhook_opts;

#define PGH_WEBHOOK_OPTS_VERSION 1
#define PGH_WEBHOOK_OPTS_INIT                                                                      \
    {                                                                                              \
        .version = PGH_WEBHOOK_OPTS_VERSION, .timeout_ms = PGH_WEBHOOK_DEFAULT_TIMEOUT_MS,         \
        .max_retries = PGH_WEBHOOK_DEFAULT_MAX_RETRIES,                                            \
        .retry_base_ms = PGH_WEBHOOK_DEFAULT_RETRY_BASE_MS,                                        \
        .retry_max_ms = PGH_WEBHOOK_DEFAULT_RETRY_MAX_MS, .max_events = 10000, .max_delay_ms = 100 \
    }

/* A webhook destination. The options are copied. PGH_ECONFIG, one line, for a wrong version, a
 * missing or non-HTTP url, a missing state file or a value out of range. */
PGH_API int pgh_webhook_destination_new(pgh_destination **out, const pgh_webhook_opts *opts,
                                        pgh_error *err);

PGH_END_DECLS

#endif
