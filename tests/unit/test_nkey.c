/*
 * tests/unit/test_nkey.c - a NATS user seed to its public key (src/dest/nats/nkey.h).
 *
 * The known pair is the one nats-io's Rust client (nats.rs, tests/auth_nkey.rs) connects with
 * to a nats-server that has the public key in its configuration, so the server has verified a
 * signature made with that seed against that key; tests/integration/it_nats_auth.c checks our
 * derivation against a real nats-server too. Then: a seed made from raw bytes decodes back to
 * the public key of those bytes (RFC 8032's first test vector, whose public key is published
 * in the RFC), and every malformed seed is refused with its own reason.
 */
#include <stdio.h>
#include <string.h>

#include "dest/nats/nkey.h"

static int failures;

static void check(int line, int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "line %d: %s\n", line, what);
        failures++;
    }
}

#define CHECK(cond) check(__LINE__, (cond), #cond)

#define NATS_RS_SEED "SUANQDPB2RUOE4ETUA26CNX7FUKE5ZZKFCQIIW63OX225F2CO7UEXTM7ZY"
#define NATS_RS_PUBLIC "UAMMBNV2EYR65NYZZ7IAK5SIR5ODNTTERJOBOF4KJLMWI45YOXOSWULM"
/* base32 of 0xA0, RFC 8032's public key d75a9801...511a and its CRC16-XMODEM little-endian,
 * computed with Python's base64.b32encode and binascii.crc_hqx(data, 0) */
#define RFC8032_PUBLIC "UDLVVGABQKYQVN6VJP7NHSLEA45A5YLS6PNKMIZFV4BBU2HXA5IRUVAL"
/* An account's seed (prefix bytes 18 << 3 | 0, 0; key bytes 1..32; its CRC), made likewise */
#define ACCOUNT_SEED "SAAACAQDAQCQMBYIBEFAWDANBYHRAEISCMKBKFQXDAMRUGY4DUPB6IFO3A"

static void known_pair(void)
{
    char pub[PGH_NKEY_PUBLIC_CHARS + 1];
    CHECK(pgh_nats__nkey_user_public(pub, NATS_RS_SEED) == PGH_NKEY_OK);
    CHECK(strcmp(pub, NATS_RS_PUBLIC) == 0);
    CHECK(strlen(NATS_RS_SEED) == PGH_NKEY_SEED_CHARS);
}

/* RFC 8032 section 7.1, TEST 1: secret key 9d61b19d...7f60, public key d75a9801...511a. The
 * public user key is 'U' (20 << 3), those 32 bytes and their CRC16, in base32. */
static void rfc8032_round_trip(void)
{
    static const unsigned char sk[32] = {
        0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
        0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60};
    char seed[PGH_NKEY_SEED_CHARS + 1], pub[PGH_NKEY_PUBLIC_CHARS + 1];
    pgh_nats__nkey_user_seed(seed, sk);
    CHECK(strncmp(seed, "SU", 2) == 0 && strlen(seed) == PGH_NKEY_SEED_CHARS);
    CHECK(pgh_nats__nkey_user_public(pub, seed) == PGH_NKEY_OK);
    CHECK(strcmp(pub, RFC8032_PUBLIC) == 0);
}

static void malformed(void)
{
    char pub[PGH_NKEY_PUBLIC_CHARS + 1], s[PGH_NKEY_SEED_CHARS + 8];
    strcpy(s, NATS_RS_SEED);
    s[20] = s[20] == 'A' ? 'B' : 'A'; /* one character mistyped */
    CHECK(pgh_nats__nkey_user_public(pub, s) == PGH_NKEY_CHECKSUM && pub[0] == '\0');
    CHECK(pgh_nats__nkey_user_public(pub, NATS_RS_PUBLIC) == PGH_NKEY_LENGTH);
    CHECK(pgh_nats__nkey_user_public(pub, "") == PGH_NKEY_LENGTH);
    strcpy(s, NATS_RS_SEED);
    s[PGH_NKEY_SEED_CHARS - 1] = '\0'; /* cut */
    CHECK(pgh_nats__nkey_user_public(pub, s) == PGH_NKEY_LENGTH);
    strcpy(s, NATS_RS_SEED);
    strcat(s, "\n");
    CHECK(pgh_nats__nkey_user_public(pub, s) == PGH_NKEY_LENGTH);
    strcpy(s, NATS_RS_SEED);
    s[10] = '1'; /* not in the alphabet */
    CHECK(pgh_nats__nkey_user_public(pub, s) == PGH_NKEY_NOT_BASE32);
    strcpy(s, NATS_RS_SEED);
    s[10] = 'a'; /* lower case is not the nkeys alphabet */
    CHECK(pgh_nats__nkey_user_public(pub, s) == PGH_NKEY_NOT_BASE32);
    /* a seed with a good checksum, but an account's */
    CHECK(pgh_nats__nkey_user_public(pub, ACCOUNT_SEED) == PGH_NKEY_NOT_USER);
    CHECK(strstr(pgh_nats__nkey_status_text(PGH_NKEY_CHECKSUM), "checksum") != NULL);
}

int main(void)
{
    known_pair();
    rfc8032_round_trip();
    malformed();
    if (failures == 0)
        puts("PASS");
    return failures == 0 ? 0 : 1;
}
