/*
 * dest/nats/link.c - connecting to NATS from the configuration, and the capture's stream.
 */
#include "link.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nkey.h"
#include "pghost/nats.h"
#include "util/buf.h"
#include "util/secret_file.h"

#define DEFAULT_URL "nats://127.0.0.1:4222"
#define CONNECT_TIMEOUT_MS 2000
#define API_WAIT_MS 5000

char *pgh_nats__stream_name(const pgh_config *cfg)
{
    if (cfg->nats.stream != NULL)
        return strdup(cfg->nats.stream);
    size_t n = strlen(cfg->slot_name) + sizeof("PGHOST_");
    char *s = malloc(n);
    if (s == NULL)
        return NULL;
    snprintf(s, n, "PGHOST_%s", cfg->slot_name);
    for (char *p = s; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    return s;
}

char *pgh_nats__prefix(const pgh_config *cfg)
{
    if (cfg->nats.subject_prefix != NULL)
        return strdup(cfg->nats.subject_prefix);
    size_t n = strlen(cfg->slot_name) + sizeof("pghost.");
    char *s = malloc(n);
    if (s != NULL)
        snprintf(s, n, "pghost.%s", cfg->slot_name);
    return s;
}

int pgh_nats_config_defaults(pgh_config *cfg, pgh_error *err)
{
    if (cfg->nats.stream == NULL)
        cfg->nats.stream = pgh_nats__stream_name(cfg);
    if (cfg->nats.subject_prefix == NULL)
        cfg->nats.subject_prefix = pgh_nats__prefix(cfg);
    if (cfg->nats.stream == NULL || cfg->nats.subject_prefix == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    return 0;
}

static void put_token(pgh_buf *b, const char *name)
{
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (isalnum(*p) || *p == '_' || *p == '-')
            pgh_buf_putc(b, (char)*p);
        else
            pgh_buf_printf(b, "%%%02X", *p);
    }
}

char *pgh_nats__subject(const char *prefix, const char *schema, const char *table)
{
    pgh_buf b;
    pgh_buf_init(&b, 64 * 1024);
    pgh_buf_puts(&b, prefix);
    pgh_buf_putc(&b, '.');
    put_token(&b, schema);
    pgh_buf_putc(&b, '.');
    put_token(&b, table);
    return pgh_buf_take(&b);
}

/* The URLs with any user information (user:password@) left out. */
static char *shown_urls(const char *urls)
{
    pgh_buf b;
    pgh_buf_init(&b, 64 * 1024);
    const char *p = urls;
    while (*p) {
        size_t n = strcspn(p, ",");
        const char *scheme = strstr(p, "://");
        const char *at = memchr(p, '@', n);
        if (scheme != NULL && scheme < p + n && at != NULL && at > scheme) {
            pgh_buf_printf(&b, "%.*s", (int)(scheme + 3 - p), p);
            pgh_buf_printf(&b, "%.*s", (int)(p + n - at - 1), at + 1);
        } else {
            pgh_buf_printf(&b, "%.*s", (int)n, p);
        }
        p += n;
        if (*p == ',') {
            pgh_buf_putc(&b, ',');
            p++;
        }
    }
    return pgh_buf_take(&b);
}

int pgh_nats__fail(pgh_error *err, natsStatus s, jsErrCode jerr, const pgh_nats_link *l,
                   const char *what)
{
    const char *url = l && l->url_shown ? l->url_shown : "NATS";
    if (s == NATS_NO_SERVER || s == NATS_CONNECTION_CLOSED || s == NATS_CONNECTION_DISCONNECTED ||
        s == NATS_TIMEOUT || s == NATS_STALE_CONNECTION || s == NATS_NO_RESPONDERS)
        return pgh_error_set(err, PGH_ECONN, "NATS at %s: %s: %s", url, what,
                             s == NATS_NO_RESPONDERS ? "JetStream is not enabled there"
                                                     : natsStatus_GetText(s));
    if (s == NATS_NOT_PERMITTED || s == NATS_CONNECTION_AUTH_FAILED) {
        if (l != NULL && l->auth_key != NULL)
            return pgh_error_set(err, PGH_ECONFIG, "NATS at %s: %s: authorization refused: check "
                                                   "%s", url, what, l->auth_key);
        return pgh_error_set(err, PGH_ECONFIG,
                             "NATS at %s: %s: authorization refused: the server wants "
                             "credentials: set nats_credentials_file, nats_nkey_file or "
                             "nats_token_file", url, what);
    }
    const char *last = nats_GetLastError(NULL);
    return pgh_error_set(err, PGH_ESINK, "NATS at %s: %s: %s%s%s (JetStream error %d)", url,
                         what, natsStatus_GetText(s), last ? ": " : "", last ? last : "",
                         (int)jerr);
}

/* The servers of a comma-separated list, into opts. */
static natsStatus set_servers(natsOptions *opts, const char *urls)
{
    char *copy = strdup(urls);
    const char *list[64];
    int n = 0;
    if (copy == NULL)
        return NATS_NO_MEMORY;
    for (char *p = copy; p != NULL && n < 64;) {
        char *comma = strchr(p, ',');
        if (comma != NULL)
            *comma = '\0';
        while (*p == ' ')
            p++;
        if (*p)
            list[n++] = p;
        p = comma ? comma + 1 : NULL;
    }
    natsStatus s = natsOptions_SetServers(opts, list, n);
    free(copy);
    return s;
}

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
 * information in nats_url beside one. The key in use, or NULL, into *out. */
static int auth_key(const char **out, const pgh_nats_config *n, const char *urls, pgh_error *err)
{
    const char *keys[3] = {NULL};
    int k = 0;
    if (n->credentials_file != NULL)
        keys[k++] = "nats_credentials_file";
    if (n->nkey_file != NULL)
        keys[k++] = "nats_nkey_file";
    if (n->token_file != NULL)
        keys[k++] = "nats_token_file";
    *out = k > 0 ? keys[0] : NULL;
    if (k > 1)
        return pgh_error_set(err, PGH_ECONFIG,
                             "%s and %s are both set: NATS takes one way to authenticate, keep "
                             "one", keys[0], keys[1]);
    if (k == 1 && has_user_info(urls))
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
                                 "nats_credentials_file %s cannot be used (%s): fix the path or "
                                 "the file",
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

static int set_security(pgh_nats_link *l, natsOptions *opts, const pgh_nats_config *n,
                        const char *urls, pgh_error *err)
{
    int rc = auth_key(&l->auth_key, n, urls, err);
    if (rc == 0)
        rc = set_auth(opts, n, err);
    if (rc == 0 && n->ca_file != NULL)
        rc = set_tls(opts, n->ca_file, err);
    return rc;
}

/* A TLS failure at connect: what OpenSSL said about the server's certificate, and the key that
 * fixes it. nats.c's text reads "(conn.c:N): SSL handshake error: 20:unable to get local
 * issuer certificate:depth=0:cert=/CN=...:issuer=/CN=..."; its source position is left out. */
static int tls_fail(pgh_error *err, natsStatus s, const pgh_nats_link *l, bool have_ca)
{
    if (s == NATS_SECURE_CONNECTION_WANTED)
        return pgh_error_set(err, PGH_ECONFIG,
                             "NATS at %s does not offer TLS, which nats_ca_file asks for: enable "
                             "TLS on the server (its tls block), or remove nats_ca_file",
                             l->url_shown);
    const char *last = nats_GetLastError(NULL);
    const char *why = last ? strstr(last, "handshake error: ") : NULL;
    why = why ? why + strlen("handshake error: ") : last ? last : natsStatus_GetText(s);
    const char *hint = strstr(why, "mismatch") ? "connect to a name or address it is for"
                       : have_ca               ? "is nats_ca_file the CA that signed it?"
                                               : "set nats_ca_file to the CA that signed it";
    return pgh_error_set(err, PGH_ECONFIG,
                         "NATS at %s: TLS failed, the server's certificate was not verified "
                         "(%s): %s",
                         l->url_shown, why, hint);
}

static int connect_js(pgh_nats_link *l, natsOptions *opts, const pgh_nats_link_opts *o,
                      bool have_ca, pgh_error *err)
{
    natsStatus s = natsConnection_Connect(&l->nc, opts);
    if (s == NATS_NO_SERVER || s == NATS_TIMEOUT)
        return pgh_error_set(err, PGH_ECONN,
                             "no NATS server answered at %s: start it, or fix nats_url",
                             l->url_shown);
    if (s == NATS_SSL_ERROR || s == NATS_SECURE_CONNECTION_WANTED)
        return tls_fail(err, s, l, have_ca);
    if (s != NATS_OK)
        return pgh_nats__fail(err, s, 0, l, "connecting");
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = API_WAIT_MS;
    if (o != NULL) {
        jo.PublishAsync.MaxPending = o->max_pending;
        jo.PublishAsync.ErrHandler = o->on_error;
        jo.PublishAsync.ErrHandlerClosure = o->payload;
        jo.PublishAsync.StallWait = 30000; /* a full window waits for acks, not a failure */
    }
    s = natsConnection_JetStream(&l->js, l->nc, &jo);
    return s == NATS_OK ? 0 : pgh_nats__fail(err, s, 0, l, "opening JetStream");
}

int pgh_nats__link_open(pgh_nats_link *l, const pgh_config *cfg, const pgh_nats_link_opts *o,
                        pgh_error *err)
{
    memset(l, 0, sizeof(*l));
    const char *urls = cfg->nats.url ? cfg->nats.url : DEFAULT_URL;
    l->url_shown = shown_urls(urls);
    l->stream = pgh_nats__stream_name(cfg);
    l->prefix = pgh_nats__prefix(cfg);
    if (l->url_shown == NULL || l->stream == NULL || l->prefix == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    natsOptions *opts = NULL;
    natsStatus s = natsOptions_Create(&opts);
    if (s == NATS_OK)
        s = set_servers(opts, urls);
    if (s == NATS_OK)
        s = natsOptions_SetTimeout(opts, CONNECT_TIMEOUT_MS);
    if (s == NATS_OK)
        s = natsOptions_SetMaxReconnect(opts, 30);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectWait(opts, 500);
    if (s == NATS_OK)
        s = natsOptions_SetName(opts, "pghost");
    int rc = s == NATS_OK ? 0
                          : pgh_error_set(err, PGH_ECONFIG, "nats_url %s: %s", l->url_shown,
                                          natsStatus_GetText(s));
    if (rc == 0)
        rc = set_security(l, opts, &cfg->nats, urls, err);
    if (rc == 0)
        rc = connect_js(l, opts, o, cfg->nats.ca_file != NULL, err);
    natsOptions_Destroy(opts);
    return rc;
}

void pgh_nats__link_close(pgh_nats_link *l)
{
    jsCtx_Destroy(l->js);
    if (l->nc != NULL)
        natsConnection_Close(l->nc);
    natsConnection_Destroy(l->nc);
    free(l->stream);
    free(l->prefix);
    free(l->url_shown);
    memset(l, 0, sizeof(*l));
}

/* The first setting of an existing stream that differs from the configured one, or NULL. */
static const char *differs(const jsStreamConfig *have, const jsStreamConfig *want, char *buf,
                           size_t n)
{
    if (have->SubjectsLen != 1 || strcmp(have->Subjects[0], want->Subjects[0]) != 0)
        snprintf(buf, n, "subjects are %s%s, not %s", have->SubjectsLen ? have->Subjects[0] : "",
                 have->SubjectsLen > 1 ? ",..." : "", want->Subjects[0]);
    else if (have->Replicas != want->Replicas)
        snprintf(buf, n, "replicas %lld, not nats_replicas %lld", (long long)have->Replicas,
                 (long long)want->Replicas);
    else if (have->MaxAge != want->MaxAge)
        snprintf(buf, n, "max age %lld s, not nats_max_age_s %lld", (long long)(have->MaxAge / 1000000000),
                 (long long)(want->MaxAge / 1000000000));
    else if (have->MaxBytes != want->MaxBytes)
        snprintf(buf, n, "max bytes %lld, not nats_max_bytes %lld", (long long)have->MaxBytes,
                 (long long)want->MaxBytes);
    else if (have->Duplicates != want->Duplicates)
        snprintf(buf, n, "duplicate window %lld s, not nats_duplicate_window_s %lld",
                 (long long)(have->Duplicates / 1000000000),
                 (long long)(want->Duplicates / 1000000000));
    else if (have->Retention != js_LimitsPolicy || have->Storage != js_FileStorage)
        snprintf(buf, n, "retention or storage is not limits/file");
    else
        return NULL;
    return buf;
}

int pgh_nats__stream_ensure(pgh_nats_link *l, const pgh_config *cfg, pgh_error *err)
{
    char subject[1024];
    snprintf(subject, sizeof(subject), "%s.>", l->prefix);
    const char *subjects[1] = {subject};
    jsStreamConfig sc;
    jsStreamConfig_Init(&sc);
    sc.Name = l->stream;
    sc.Subjects = subjects;
    sc.SubjectsLen = 1;
    sc.Retention = js_LimitsPolicy;
    sc.Storage = js_FileStorage;
    sc.Replicas = cfg->nats.replicas;
    sc.MaxAge = cfg->nats.max_age_s * 1000000000;
    sc.MaxBytes = cfg->nats.max_bytes > 0 ? cfg->nats.max_bytes : -1; /* the server's unlimited */
    sc.Duplicates = cfg->nats.duplicate_window_s * 1000000000;
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetStreamInfo(&si, l->js, l->stream, NULL, &jerr);
    if (s == NATS_NOT_FOUND) {
        s = js_AddStream(&si, l->js, &sc, NULL, &jerr);
        jsStreamInfo_Destroy(si);
        return s == NATS_OK ? 0 : pgh_nats__fail(err, s, jerr, l, "creating the stream");
    }
    if (s != NATS_OK)
        return pgh_nats__fail(err, s, jerr, l, "reading the stream");
    char why[512];
    const char *d = differs(si->Config, &sc, why, sizeof(why));
    int rc = d == NULL ? 0
                       : pgh_error_set(err, PGH_EPRECOND,
                                       "stream %s exists with other settings: %s; change the "
                                       "configuration to match, or remove the stream",
                                       l->stream, d);
    jsStreamInfo_Destroy(si);
    return rc;
}

int pgh_nats__stream_check(pgh_nats_link *l, pgh_error *err)
{
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetStreamInfo(&si, l->js, l->stream, NULL, &jerr);
    jsStreamInfo_Destroy(si);
    if (s == NATS_NOT_FOUND)
        return pgh_error_set(err, PGH_ENOTFOUND,
                             "stream %s does not exist at %s: start pghost capture first, or fix "
                             "nats_stream",
                             l->stream, l->url_shown);
    return s == NATS_OK ? 0 : pgh_nats__fail(err, s, jerr, l, "reading the stream");
}
