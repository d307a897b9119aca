/*
 * dest/nats/security.h - how pghost authenticates to NATS and verifies the server, from the
 * configuration's nats_credentials_file, nats_nkey_file, nats_token_file and nats_ca_file
 * (docs/nats.md, "Security"), and what their failures at connect mean.
 *
 * No secret is ever put in a message: files are named, their content never (a token or seed
 * read here is zeroed before it is freed).
 */
#ifndef PGH_DEST_NATS_SECURITY_H
#define PGH_DEST_NATS_SECURITY_H

#include <nats/nats.h>

#include "pghost/config.h"
#include "pghost/error.h"

/* Set opts up to authenticate and verify as n says. urls: nats_url as configured (user
 * information there counts as a way to authenticate). *auth_key_out: what authenticates, for
 * messages ("nats_nkey_file", "the user and password in nats_url"; static), or NULL. PGH_ECONFIG, naming the key and file:
 * two ways to authenticate at once, a file that cannot be read, an NKey file that does not
 * hold a user's seed (why: its checksum, its kind), a CA file that cannot be loaded. */
int pgh_nats__security_set(const char **auth_key_out, natsOptions *opts,
                           const pgh_nats_config *n, const char *urls, pgh_error *err);

/* When status s of natsConnection_Connect is a failure of security (TLS: the server's
 * certificate not verified, or the server without TLS while nats_ca_file asks for it; a .creds
 * file nats.c could not use), set err (PGH_ECONFIG, one line naming the reason and the key to
 * fix) and return it; 0 otherwise. url: as shown in messages; auth_key: as set above. */
int pgh_nats__connect_fail(pgh_error *err, natsStatus s, const char *url,
                           const pgh_nats_config *n, const char *auth_key);

#endif
