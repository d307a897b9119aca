/*
 * dest/nats/link.h - a connection to NATS with JetStream, from the nats_* keys of a
 * configuration (pghost/config.h), and the stream pghost capture writes: its name, subjects and
 * settings. Used by the capture destination (capture.c) and the applier (pipeline/bus_apply.c).
 *
 * Nothing secret is ever put in a message: URLs are shown without their user information, and
 * the credentials, NKey and token files are named, never read into an error.
 */
#ifndef PGH_DEST_NATS_LINK_H
#define PGH_DEST_NATS_LINK_H

#include <nats/nats.h>
#include <stdbool.h>

#include "pghost/config.h"
#include "pghost/error.h"

typedef struct pgh_nats_link {
    natsConnection *nc; /* owned */
    jsCtx *js;          /* owned */
    char *stream;       /* owned: the stream's name */
    char *prefix;       /* owned: subjects are <prefix>.<schema>.<table> */
    char *url_shown;    /* owned: the URL(s) without user information, for messages */
    const char *auth_key; /* static: what authenticates ("nats_nkey_file"), or NULL */
} pgh_nats_link;

/* Options for pgh_nats__link_open's jsCtx: async publishing bounded to max_pending, errors of
 * asynchronous publishes go to on_error (may be NULL). */
typedef struct pgh_nats_link_opts {
    int64_t max_pending;
    void (*on_error)(jsCtx *js, jsPubAckErr *pae, void *payload);
    void *payload;
} pgh_nats_link_opts;

/* Names from the configuration, with the defaults of docs/nats.md; malloc'd. */
char *pgh_nats__stream_name(const pgh_config *cfg);
char *pgh_nats__prefix(const pgh_config *cfg);

/* Connect (PGH_ECONN: no server answered, naming the URLs; PGH_ECONFIG: a credentials, NKey
 * seed or token file that cannot be used, two ways to authenticate configured at once
 * (nats_credentials_file, nats_nkey_file, nats_token_file, user:password@ in nats_url), a CA
 * file that cannot be loaded, authorization refused, a server certificate not verified).
 * Dispose with pgh_nats__link_close whatever the result. */
int pgh_nats__link_open(pgh_nats_link *l, const pgh_config *cfg, const pgh_nats_link_opts *o,
                        pgh_error *err);
void pgh_nats__link_close(pgh_nats_link *l);

/* The capture's stream: created with the configured settings when missing; an existing one
 * whose subjects, replicas, limits or duplicate window differ is PGH_EPRECOND naming the first
 * setting that differs (it is never changed). */
int pgh_nats__stream_ensure(pgh_nats_link *l, const pgh_config *cfg, pgh_error *err);

/* The stream exists (for the applier): PGH_ENOTFOUND otherwise. */
int pgh_nats__stream_check(pgh_nats_link *l, pgh_error *err);

/* "<prefix>.<schema>.<table>" (malloc'd): each name's bytes other than A-Z a-z 0-9 _ - go as
 * %XX, so that dots, spaces and wildcards in names never make other tokens. */
char *pgh_nats__subject(const char *prefix, const char *schema, const char *table);

/* An error code and message for a NATS status s while doing what ("publishing"). */
int pgh_nats__fail(pgh_error *err, natsStatus s, jsErrCode jerr, const pgh_nats_link *l,
                   const char *what);

#endif
