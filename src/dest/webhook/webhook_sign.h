/*
 * dest/webhook/webhook_sign.h - the webhook's signature header (private to dest/webhook/).
 *
 * Stripe's scheme: the signed payload is "<t>.<body>" (t: unix seconds, decimal), the signature
 * its HMAC-SHA256 keyed by the secret, in lowercase hex; the header reads
 *
 *   Pghost-Signature:
 * t=1733520000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd
 *
 * A receiver recomputes v1 over the raw body it got and compares in constant time, and rejects
 * a t too far from its clock (replays). libcrypto (OpenSSL) computes the HMAC.
 */
#ifndef PGH_DEST_WEBHOOK_SIGN_H
#define PGH_DEST_WEBHOOK_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "pghost/error.h"

#define PGH_WEBHOOK_SIGNATURE_HEADER "Pghost-Signature"
/* "Pghost-Signature: t=" + 20 digits + ",v1=" + 64 hex digits + NUL, with room to spare */
#define PGH_WEBHOOK_SIGNATURE_MAX 128

/* out (outlen >= PGH_WEBHOOK_SIGNATURE_MAX): the whole header line for body signed at unix time
 * t with secret (secret_len bytes). PGH_ENOMEM when libcrypto fails. */
int pgh_webhook__sign(char *out, size_t outlen, const char *secret, size_t secret_len, int64_t t,
                      const char *body, size_t body_len, pgh_error *err);

#endif
