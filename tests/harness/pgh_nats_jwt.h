/*
 * pgh_nats_jwt.h - what a nats-server in operator mode needs, made in the test: an operator, a
 * system account and an account with JetStream (unlimited), their JWTs (NATS JWT v2, signed
 * with Ed25519 through libcrypto: base64url(header).base64url(claims).base64url(signature),
 * header {"typ":"JWT","alg":"ed25519-nkey"}), the server's configuration lines (operator,
 * system_account, resolver: MEMORY, resolver_preload), and .creds files of users.
 *
 * Keys come from fixed bytes, so runs are repeatable; nothing here is a secret worth keeping.
 * Same error rule as pgh_test.h: functions fail the test themselves.
 */
#ifndef PGH_NATS_JWT_H
#define PGH_NATS_JWT_H

#include <stddef.h>

/* The server's configuration lines for the operator, its system account and the account
 * (fill: the first byte of the operator's key; the accounts' follow), into conf (n bytes). */
void pgh_nats_jwt_server_conf(char *conf, size_t n, unsigned char fill);

/* A .creds file at path for a new user (its key from user_fill) of the account made with
 * pgh_nats_jwt_server_conf(fill); known_account false: signed by an account the server does
 * not know instead. */
void pgh_nats_jwt_creds(const char *path, unsigned char fill, unsigned char user_fill,
                        int known_account);

#endif
