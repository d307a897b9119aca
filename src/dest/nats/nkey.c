/*
 * dest/nats/nkey.c - a NATS user seed to its public key (nkey.h): base32, CRC16-XMODEM, and
 * Ed25519 through libcrypto.
 */
#include "nkey.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <string.h>

#define PREFIX_SEED (18u << 3) /* "S" */
#define PREFIX_USER PGH_NKEY_USER
#define SEED_BYTES 36          /* 2 prefix, 32 key, 2 CRC */
#define PUBLIC_BYTES 35        /* 1 prefix, 32 key, 2 CRC */

static const char ALPHABET[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/* CRC-16/XMODEM: polynomial 0x1021, initial value 0, no reflection. */
static uint16_t crc16(const unsigned char *p, size_t n)
{
    uint16_t crc = 0;
    for (size_t i = 0; i < n; i++) {
        crc ^= (uint16_t)(p[i] << 8);
        for (int b = 0; b < 8; b++)
            crc = (uint16_t)(crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    return crc;
}

void pgh_nats__base32_encode(char *out, const unsigned char *in, size_t n)
{
    unsigned int acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 5) {
            out[o++] = ALPHABET[(acc >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits > 0)
        out[o++] = ALPHABET[(acc << (5 - bits)) & 31];
    out[o] = '\0';
}

/* The base32 text into exactly `want` bytes (trailing bits past them are ignored). */
static int base32_decode(unsigned char *out, size_t want, const char *text)
{
    size_t len = strlen(text);
    if (len != (want * 8 + 4) / 5)
        return PGH_NKEY_LENGTH;
    unsigned int acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        const char *at = text[i] ? strchr(ALPHABET, text[i]) : NULL;
        if (at == NULL)
            return PGH_NKEY_NOT_BASE32;
        acc = (acc << 5) | (unsigned int)(at - ALPHABET);
        bits += 5;
        if (bits >= 8 && o < want) {
            out[o++] = (unsigned char)(acc >> (bits - 8));
            bits -= 8;
        }
    }
    return PGH_NKEY_OK;
}

/* The 32-byte Ed25519 public key of a 32-byte private key seed. */
static int ed25519_public(unsigned char pub[32], const unsigned char seed[32])
{
    EVP_PKEY *key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
    size_t len = 32;
    int ok = key != NULL && EVP_PKEY_get_raw_public_key(key, pub, &len) == 1 && len == 32;
    EVP_PKEY_free(key);
    return ok ? PGH_NKEY_OK : PGH_NKEY_CRYPTO;
}

/* The seed's checks, in the order a reader would want them explained. */
static int check_seed(const unsigned char raw[SEED_BYTES])
{
    uint16_t want = (uint16_t)(raw[SEED_BYTES - 2] | raw[SEED_BYTES - 1] << 8);
    if (crc16(raw, SEED_BYTES - 2) != want)
        return PGH_NKEY_CHECKSUM;
    if ((raw[0] & 0xF8) != PREFIX_SEED)
        return PGH_NKEY_NOT_SEED;
    unsigned int kind = (raw[0] & 7u) << 5 | (raw[1] & 0xF8u) >> 3;
    return kind == PREFIX_USER ? PGH_NKEY_OK : PGH_NKEY_NOT_USER;
}

int pgh_nats__nkey_user_public(char out[PGH_NKEY_PUBLIC_CHARS + 1], const char *seed)
{
    unsigned char raw[SEED_BYTES], pub[32];
    out[0] = '\0';
    int rc = base32_decode(raw, sizeof(raw), seed);
    if (rc == PGH_NKEY_OK)
        rc = check_seed(raw);
    if (rc == PGH_NKEY_OK)
        rc = ed25519_public(pub, raw + 2);
    OPENSSL_cleanse(raw, sizeof(raw));
    if (rc == PGH_NKEY_OK)
        pgh_nats__nkey_encode_public(out, PREFIX_USER, pub);
    return rc;
}

void pgh_nats__nkey_encode_public(char out[PGH_NKEY_PUBLIC_CHARS + 1], unsigned char prefix,
                                  const unsigned char pub[32])
{
    unsigned char b[PUBLIC_BYTES];
    b[0] = prefix;
    memcpy(b + 1, pub, 32);
    uint16_t crc = crc16(b, PUBLIC_BYTES - 2);
    b[PUBLIC_BYTES - 2] = (unsigned char)(crc & 0xFF);
    b[PUBLIC_BYTES - 1] = (unsigned char)(crc >> 8);
    pgh_nats__base32_encode(out, b, sizeof(b));
}

void pgh_nats__nkey_user_seed(char out[PGH_NKEY_SEED_CHARS + 1], const unsigned char raw[32])
{
    unsigned char b[SEED_BYTES];
    b[0] = (unsigned char)(PREFIX_SEED | PREFIX_USER >> 5);
    b[1] = (unsigned char)((PREFIX_USER & 31u) << 3);
    memcpy(b + 2, raw, 32);
    uint16_t crc = crc16(b, SEED_BYTES - 2);
    b[SEED_BYTES - 2] = (unsigned char)(crc & 0xFF);
    b[SEED_BYTES - 1] = (unsigned char)(crc >> 8);
    pgh_nats__base32_encode(out, b, sizeof(b));
    OPENSSL_cleanse(b, sizeof(b));
}

const char *pgh_nats__nkey_status_text(int status)
{
    switch (status) {
    case PGH_NKEY_OK:
        return "a user seed";
    case PGH_NKEY_NOT_BASE32:
        return "it holds characters other than A-Z and 2-7";
    case PGH_NKEY_LENGTH:
        return "it is not the 58 characters of a seed";
    case PGH_NKEY_CHECKSUM:
        return "its checksum does not match: it was mistyped or cut";
    case PGH_NKEY_NOT_SEED:
        return "it is not a seed (a public key?)";
    case PGH_NKEY_NOT_USER:
        return "it is the seed of an account, operator or server, not of a user";
    default:
        return "the key could not be derived (out of memory)";
    }
}
