/* The webhook's signature header: see webhook_sign.h. */
#include "webhook_sign.h"

#include <stdio.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

int pgh_webhook__sign(char *out, size_t outlen, const char *secret, size_t secret_len, int64_t t,
                      const char *body, size_t body_len, pgh_error *err)
{
    char stamp[24];
    int stamp_len = snprintf(stamp, sizeof(stamp), "%lld.", (long long)t);
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t mac_len = 0;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = hmac ? EVP_MAC_CTX_new(hmac) : NULL;
    int ok = ctx != NULL &&
             EVP_MAC_init(ctx, (const unsigned char *)secret, secret_len, params) == 1 &&
             EVP_MAC_update(ctx, (const unsigned char *)stamp, (size_t)stamp_len) == 1 &&
             EVP_MAC_update(ctx, (const unsigned char *)body, body_len) == 1 &&
             EVP_MAC_final(ctx, mac, &mac_len, sizeof(mac)) == 1;
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(hmac);
    if (!ok || outlen < PGH_WEBHOOK_SIGNATURE_MAX)
        return pgh_error_set(err, PGH_ENOMEM,
                             "webhook: computing the HMAC-SHA256 signature failed");
    int n = snprintf(out, outlen, PGH_WEBHOOK_SIGNATURE_HEADER ": t=%lld,v1=", (long long)t);
    for (size_t i = 0; i < mac_len && (size_t)n + 2 < outlen; i++)
        n += snprintf(out + n, outlen - (size_t)n, "%02x", mac[i]);
    return 0;
}
