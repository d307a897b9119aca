/* pgh_nats_jwt.c - operator, accounts, users and their JWTs for nats-server tests
 * (pgh_nats_jwt.h). */
#include "pgh_nats_jwt.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dest/nats/nkey.h"
#include "pgh_test.h"

#define JWT_MAX 4096

typedef struct key {
    EVP_PKEY *pkey;                       /* owned */
    unsigned char raw[32];                /* the private key seed */
    char pub[PGH_NKEY_PUBLIC_CHARS + 1];  /* "U...", "A..." or "O..." */
} key;

static void key_make(key *k, unsigned char fill, unsigned char prefix)
{
    for (int i = 0; i < 32; i++)
        k->raw[i] = (unsigned char)(fill + i);
    k->pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, k->raw, 32);
    unsigned char pub[32];
    size_t len = sizeof(pub);
    PGH_CHECK(k->pkey != NULL && EVP_PKEY_get_raw_public_key(k->pkey, pub, &len) == 1,
              "libcrypto cannot make an Ed25519 key");
    pgh_nats__nkey_encode_public(k->pub, prefix, pub);
}

static void key_free(key *k)
{
    EVP_PKEY_free(k->pkey);
}

/* base64url without padding, appended to out. */
static void b64url(char *out, size_t n, const unsigned char *in, size_t len)
{
    char *b = malloc(4 * (len / 3 + 1) + 1);
    PGH_CHECK(b != NULL, "out of memory");
    int m = EVP_EncodeBlock((unsigned char *)b, in, (int)len);
    for (int i = 0; i < m; i++)
        b[i] = b[i] == '+' ? '-' : b[i] == '/' ? '_' : b[i];
    while (m > 0 && b[m - 1] == '=')
        b[--m] = '\0';
    size_t have = strlen(out);
    PGH_CHECK(have + (size_t)m < n, "JWT too long");
    memcpy(out + have, b, (size_t)m + 1);
    free(b);
}

/* The claims' jti as nats-io/jwt makes it: base32 of SHA-512/256 of the claims without it. */
static void jti(char *out, const char *claims)
{
    unsigned char md[32];
    unsigned int len = 0;
    PGH_CHECK(EVP_Digest(claims, strlen(claims), md, &len, EVP_sha512_256(), NULL) == 1 &&
                  len == 32,
              "libcrypto: SHA-512/256 failed");
    pgh_nats__base32_encode(out, md, sizeof(md));
}

/* A JWT of `nats` (the claims' "nats" object) about subject, named name, signed by issuer. */
static void jwt(char *out, size_t n, const key *issuer, const char *subject, const char *name,
                const char *nats)
{
    char base[512], id[64], claims[JWT_MAX];
    long long iat = (long long)time(NULL);
    snprintf(base, sizeof(base), "{\"iat\":%lld,\"iss\":\"%s\",\"name\":\"%s\",\"sub\":\"%s\"}",
             iat, issuer->pub, name, subject);
    jti(id, base);
    snprintf(claims, sizeof(claims),
             "{\"jti\":\"%s\",\"iat\":%lld,\"iss\":\"%s\",\"name\":\"%s\",\"sub\":\"%s\","
             "\"nats\":%s}",
             id, iat, issuer->pub, name, subject, nats);
    const char *header = "{\"typ\":\"JWT\",\"alg\":\"ed25519-nkey\"}";
    out[0] = '\0';
    b64url(out, n, (const unsigned char *)header, strlen(header));
    strcat(out, ".");
    b64url(out, n, (const unsigned char *)claims, strlen(claims));
    unsigned char sig[64];
    size_t siglen = sizeof(sig);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    PGH_CHECK(ctx != NULL && EVP_DigestSignInit(ctx, NULL, NULL, NULL, issuer->pkey) == 1 &&
                  EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)out, strlen(out)) == 1,
              "libcrypto: Ed25519 signing failed");
    EVP_MD_CTX_free(ctx);
    strcat(out, ".");
    b64url(out, n, sig, siglen);
}

#define LIMITS "\"subs\":-1,\"data\":-1,\"payload\":-1,\"imports\":-1,\"exports\":-1," \
               "\"wildcards\":true,\"conn\":-1,\"leaf\":-1"
#define JS_LIMITS "\"mem_storage\":-1,\"disk_storage\":-1,\"streams\":-1,\"consumer\":-1"

static void account_jwt(char *out, size_t n, const key *op, const key *acc, const char *name,
                        int jetstream)
{
    char nats[1024];
    snprintf(nats, sizeof(nats),
             "{\"limits\":{" LIMITS "%s%s},\"default_permissions\":{\"pub\":{},\"sub\":{}},"
             "\"type\":\"account\",\"version\":2}",
             jetstream ? "," : "", jetstream ? JS_LIMITS : "");
    jwt(out, n, op, acc->pub, name, nats);
}

void pgh_nats_jwt_server_conf(char *conf, size_t n, unsigned char fill)
{
    key op, sys, acc;
    key_make(&op, fill, PGH_NKEY_OPERATOR);
    key_make(&sys, (unsigned char)(fill + 40), PGH_NKEY_ACCOUNT);
    key_make(&acc, (unsigned char)(fill + 80), PGH_NKEY_ACCOUNT);
    char op_jwt[JWT_MAX], sys_jwt[JWT_MAX], acc_jwt[JWT_MAX], nats[256];
    snprintf(nats, sizeof(nats),
             "{\"system_account\":\"%s\",\"type\":\"operator\",\"version\":2}", sys.pub);
    jwt(op_jwt, sizeof(op_jwt), &op, op.pub, "pghost-test-operator", nats);
    account_jwt(sys_jwt, sizeof(sys_jwt), &op, &sys, "SYS", 0);
    account_jwt(acc_jwt, sizeof(acc_jwt), &op, &acc, "PGHOST", 1);
    int len = snprintf(conf, n,
                       "operator: %s\nsystem_account: %s\nresolver: MEMORY\n"
                       "resolver_preload: {\n  %s: %s\n  %s: %s\n}\n",
                       op_jwt, sys.pub, sys.pub, sys_jwt, acc.pub, acc_jwt);
    PGH_CHECK(len > 0 && (size_t)len < n, "server configuration too long");
    key_free(&op);
    key_free(&sys);
    key_free(&acc);
}

void pgh_nats_jwt_creds(const char *path, unsigned char fill, unsigned char user_fill,
                        int known_account)
{
    key acc, user;
    key_make(&acc, (unsigned char)(fill + (known_account ? 80 : 120)), PGH_NKEY_ACCOUNT);
    key_make(&user, user_fill, PGH_NKEY_USER);
    char user_jwt[JWT_MAX], seed[PGH_NKEY_SEED_CHARS + 1];
    jwt(user_jwt, sizeof(user_jwt), &acc, user.pub, "pghost",
        "{\"pub\":{},\"sub\":{},\"subs\":-1,\"data\":-1,\"payload\":-1,\"type\":\"user\","
        "\"version\":2}");
    pgh_nats__nkey_user_seed(seed, user.raw);
    FILE *f = fopen(path, "w");
    PGH_CHECK(f != NULL, "cannot write %s", path);
    fprintf(f,
            "-----BEGIN NATS USER JWT-----\n%s\n------END NATS USER JWT------\n\n"
            "************************* IMPORTANT *************************\n"
            "NKEY Seed printed below can be used to sign and prove identity.\n\n"
            "-----BEGIN USER NKEY SEED-----\n%s\n------END USER NKEY SEED------\n\n"
            "*************************************************************\n",
            user_jwt, seed);
    PGH_CHECK(fclose(f) == 0, "cannot write %s", path);
    key_free(&acc);
    key_free(&user);
}
