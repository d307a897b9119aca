/*
 * dest/nats/security.c - how pghost authenticates to NATS and verifies it (security.h):
 * nats_credentials_file, nats_nkey_file, nats_token_file, nats_ca_file; and what a failure
 * of theirs at connect means, in one line.
 */
#include "security.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "nkey.h"
#include "util/secret_file.h"

#define CREDS_KEY "nats_credentials_file"

/* The token of nats_token_file: its first line. */
static int read_token(char **out, const char *file, pgh_error *err)
{
    int rc = pgh_secret_file_read(out, file);
    if (rc > 0)
        return pgh_error_set(err, PGH_ECONFIG, "nats_token_file %s cannot be read: fix the path "
                                               "or its permissions", file);
    if (rc < 0)
        return pgh_error_set(err, PGH_ECONFIG, "nats_token_file %s holds no token", file);
    return 0;
}

/* Some URL of the comma-separated list carries user information (user:password@host). */
static bool has_user_info(const char *urls)
{
    for (const char *p = urls; *p;) {
        size_t n = strcspn(p, ",");
        const char *scheme = strstr(p, "://");
        const char *at = memchr(p, '@', n);
        if (scheme != NULL && scheme < p + n && at != NULL && at > scheme)
            return true;
        p += n + (p[n] == ',');
    }
    return false;
}

/* NATS takes one way for a client to authenticate: at most one of the files, and no user
 * information in nats_url beside one. What authenticates (a key's name), or NULL, into *out. */
static int auth_key(const char **out, const pgh_nats_config *n, const char *urls, pgh_error *err)
{
    const char *keys[3] = {NULL};
    int k = 0;
    if (n->credentials_file != NULL)
        keys[k++] = CREDS_KEY;
    if (n->nkey_file != NULL)
        keys[k++] = "nats_nkey_file";
    if (n->token_file != NULL)
        keys[k++] = "nats_token_file";
    bool user_info = has_user_info(urls);
    *out = k > 0 ? keys[0] : user_info ? "the user and password in nats_url" : NULL;
    if (k > 1)
        return pgh_error_set(err, PGH_ECONFIG,
                             "%s and %s are both set: NATS takes one way to authenticate, keep "
                             "one", keys[0], keys[1]);
    if (k == 1 && user_info)
        return pgh_error_set(err, PGH_ECONFIG,
                             "nats_url holds a user and password and %s is set: NATS takes one "
                             "way to authenticate, keep one", keys[0]);
    return 0;
}

/* nats_nkey_file: nats.c signs with the seed in the file and is given its public key. */
static int set_nkey(natsOptions *opts, const char *file, pgh_error *err)
{
    char *seed = NULL, pub[PGH_NKEY_PUBLIC_CHARS + 1];
    int rc = pgh_secret_file_read(&seed, file);
    if (rc > 0)
        return pgh_error_set(err, PGH_ECONFIG, "nats_nkey_file %s cannot be read: fix the path "
                                               "or its permissions", file);
    if (rc < 0)
        return pgh_error_set(err, PGH_ECONFIG, "nats_nkey_file %s holds no NKey seed on its "
                                               "first line", file);
    rc = pgh_nats__nkey_user_public(pub, seed);
    memset(seed, 0, strlen(seed));
    free(seed);
    if (rc != PGH_NKEY_OK)
        return pgh_error_set(err, PGH_ECONFIG,
                             "nats_nkey_file %s does not hold a user's NKey seed: %s; it must "
                             "hold one line SU... (nk -gen user)",
                             file, pgh_nats__nkey_status_text(rc));
    natsStatus s = natsOptions_SetNKeyFromSeed(opts, pub, file);
    return s == NATS_OK ? 0 : pgh_error_set(err, PGH_ENOMEM, "out of memory");
}

static int set_auth(natsOptions *opts, const pgh_nats_config *n, pgh_error *err)
{
    natsStatus s = NATS_OK;
    if (n->credentials_file != NULL) {
        s = natsOptions_SetUserCredentialsFromFiles(opts, n->credentials_file, NULL);
        if (s != NATS_OK)
            return pgh_error_set(err, PGH_ECONFIG,
                                 CREDS_KEY " %s cannot be used (%s): fix the path or the file",
                                 n->credentials_file, natsStatus_GetText(s));
    }
    if (n->nkey_file != NULL)
        return set_nkey(opts, n->nkey_file, err);
    if (n->token_file != NULL) {
        char *token = NULL;
        int rc = read_token(&token, n->token_file, err);
        if (rc != 0)
            return rc;
        s = natsOptions_SetToken(opts, token);
        memset(token, 0, strlen(token));
        free(token);
    }
    return s == NATS_OK ? 0 : pgh_error_set(err, PGH_ENOMEM, "out of memory");
}

static int set_tls(natsOptions *opts, const char *ca_file, pgh_error *err)
{
    natsStatus s = natsOptions_LoadCATrustedCertificates(opts, ca_file);
    if (s == NATS_OK)
        s = natsOptions_SetSecure(opts, true);
    if (s != NATS_OK)
        return pgh_error_set(err, PGH_ECONFIG,
                             "nats_ca_file %s cannot be loaded (%s): fix the path or the file",
                             ca_file, natsStatus_GetText(s));
    return 0;
}

int pgh_nats__security_set(const char **auth_key_out, natsOptions *opts,
                           const pgh_nats_config *n, const char *urls, pgh_error *err)
{
    int rc = auth_key(auth_key_out, n, urls, err);
    if (rc == 0)
        rc = set_auth(opts, n, err);
    if (rc == 0 && n->ca_file != NULL)
        rc = set_tls(opts, n->ca_file, err);
    return rc;
}

/* nats.c's last error without its source position ("(conn.c:4212): "), or the status. */
static const char *reason(natsStatus s)
{
    const char *last = nats_GetLastError(NULL);
    if (last == NULL || last[0] == '\0')
        return natsStatus_GetText(s);
    const char *pos = last[0] == '(' ? strstr(last, "): ") : NULL;
    return pos ? pos + 3 : last;
}

/* A TLS failure at connect: what OpenSSL said about the server's certificate, and the key that
 * fixes it. nats.c's text reads "(conn.c:N): SSL handshake error: 20:unable to get local
 * issuer certificate:depth=0:cert=/CN=...:issuer=/CN=..."; the part before the reason is
 * left out. */
static int tls_fail(pgh_error *err, natsStatus s, const char *url, bool have_ca)
{
    if (s == NATS_SECURE_CONNECTION_WANTED)
        return pgh_error_set(err, PGH_ECONFIG,
                             "NATS at %s does not offer TLS, which nats_ca_file asks for: enable "
                             "TLS on the server (its tls block), or remove nats_ca_file",
                             url);
    const char *why = reason(s);
    const char *after = strstr(why, "handshake error: ");
    why = after ? after + strlen("handshake error: ") : why;
    const char *hint = strstr(why, "mismatch") ? "connect to a name or address it is for"
                       : have_ca               ? "is nats_ca_file the CA that signed it?"
                                               : "set nats_ca_file to the CA that signed it";
    return pgh_error_set(err, PGH_ECONFIG,
                         "NATS at %s: TLS failed, the server's certificate was not verified "
                         "(%s): %s",
                         url, why, hint);
}

/* A .creds file nats.c could not use: it reads it at connect, and names the file, never its
 * content ("no nkey user seed found in '...'"). */
static int creds_fail(pgh_error *err, natsStatus s, const char *file)
{
    return pgh_error_set(err, PGH_ECONFIG,
                         CREDS_KEY " %s cannot be used (%s): give the user's .creds file, with "
                         "its JWT and NKey seed (nsc generate creds)",
                         file, reason(s));
}

int pgh_nats__connect_fail(pgh_error *err, natsStatus s, const char *url,
                           const pgh_nats_config *n, const char *auth_key)
{
    if (s == NATS_SSL_ERROR || s == NATS_SECURE_CONNECTION_WANTED)
        return tls_fail(err, s, url, n->ca_file != NULL);
    bool creds = auth_key != NULL && strcmp(auth_key, CREDS_KEY) == 0;
    if (creds && (s == NATS_ERR || s == NATS_NOT_FOUND || s == NATS_INVALID_ARG ||
                  s == NATS_IO_ERROR))
        return creds_fail(err, s, n->credentials_file);
    return 0;
}
