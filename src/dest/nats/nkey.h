/*
 * dest/nats/nkey.h - NATS NKeys (the nkeys format of nats-io/nkeys): a user's seed, as
 * `nk -gen user` writes it, and the public key that stands for it.
 *
 * A seed is base32 (RFC 4648 alphabet, upper case, no padding) of 36 bytes: two prefix bytes
 * (the seed's 18 << 3 and the user's 20 << 3, packed as 5 + 5 bits: the text starts "SU"), the
 * 32-byte Ed25519 private key seed, and the CRC16-XMODEM of the 34 bytes before it,
 * little-endian: 58 characters. A public user key is base32 of 35 bytes: the prefix byte
 * 20 << 3, the 32-byte Ed25519 public key, and the CRC16 of those 33: 56 characters, "U...".
 *
 * nats.c signs the server's nonce from the seed file itself (natsOptions_SetNKeyFromSeed) but
 * must be given the public key: pgh_nats__nkey_user_public derives it (Ed25519 through
 * OpenSSL's libcrypto). Nothing here puts a seed, or any part of one, into a message; the raw
 * seed bytes are zeroed before returning.
 */
#ifndef PGH_DEST_NATS_NKEY_H
#define PGH_DEST_NATS_NKEY_H

#include <stddef.h>

#define PGH_NKEY_SEED_CHARS 58
#define PGH_NKEY_PUBLIC_CHARS 56
#define PGH_NKEY_USER (20u << 3)     /* prefix byte of a user's public key: "U" */
#define PGH_NKEY_ACCOUNT 0u          /* an account's: "A" */
#define PGH_NKEY_OPERATOR (14u << 3) /* an operator's: "O" */

/* Why a text is not a user seed: each a negative return of pgh_nats__nkey_user_public. */
typedef enum pgh_nkey_status {
    PGH_NKEY_OK = 0,
    PGH_NKEY_NOT_BASE32 = -1, /* a character outside A-Z 2-7 */
    PGH_NKEY_LENGTH = -2,     /* not the 58 characters of a seed */
    PGH_NKEY_CHECKSUM = -3,   /* the CRC16 does not match: a typo, or a cut-off copy */
    PGH_NKEY_NOT_SEED = -4,   /* a seed's prefix is missing (a public key, or other data) */
    PGH_NKEY_NOT_USER = -5,   /* a seed, but of an account, operator or server, not a user */
    PGH_NKEY_CRYPTO = -6,     /* libcrypto could not derive the key (out of memory) */
} pgh_nkey_status;

/* out: the public user key ("U...", PGH_NKEY_PUBLIC_CHARS and a NUL) of the user seed `seed`
 * (its PGH_NKEY_SEED_CHARS characters, nothing around them). Returns PGH_NKEY_OK or the first
 * pgh_nkey_status that applies; out is then "". */
int pgh_nats__nkey_user_public(char out[PGH_NKEY_PUBLIC_CHARS + 1], const char *seed);

/* out: the public key (PGH_NKEY_PUBLIC_CHARS and a NUL) of a 32-byte Ed25519 public key, for
 * the kind `prefix`: PGH_NKEY_USER ("U..."), PGH_NKEY_ACCOUNT ("A..."), PGH_NKEY_OPERATOR
 * ("O..."). */
void pgh_nats__nkey_encode_public(char out[PGH_NKEY_PUBLIC_CHARS + 1], unsigned char prefix,
                                  const unsigned char pub[32]);

/* out: n bytes in base32 (RFC 4648 alphabet, no padding: ceil(8n / 5) characters and a NUL),
 * as nkeys and the jti of NATS JWTs use it. */
void pgh_nats__base32_encode(char *out, const unsigned char *in, size_t n);

/* out: the user seed ("SU...", PGH_NKEY_SEED_CHARS and a NUL) of a 32-byte Ed25519 private key
 * seed: the inverse of the decoding above, for tests and for tools that make keys. */
void pgh_nats__nkey_user_seed(char out[PGH_NKEY_SEED_CHARS + 1], const unsigned char raw[32]);

/* A short phrase for a pgh_nkey_status ("its checksum does not match"), never the seed. */
const char *pgh_nats__nkey_status_text(int status);

#endif
