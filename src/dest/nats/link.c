/*
 * dest/nats/link.c - connecting to NATS from the configuration (authentication and TLS:
 * security.c), and the capture's stream.
 */
#include "link.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pghost/nats.h"
#include "security.h"
#include "util/buf.h"

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

static int connect_js(pgh_nats_link *l, natsOptions *opts, const pgh_nats_link_opts *o,
                      const pgh_nats_config *n, pgh_error *err)
{
    natsStatus s = natsConnection_Connect(&l->nc, opts);
    if (s == NATS_NO_SERVER || s == NATS_TIMEOUT)
        return pgh_error_set(err, PGH_ECONN,
                             "no NATS server answered at %s: start it, or fix nats_url",
                             l->url_shown);
    int rc = s == NATS_OK ? 0 : pgh_nats__connect_fail(err, s, l->url_shown, n, l->auth_key);
    if (rc != 0)
        return rc;
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
        rc = pgh_nats__security_set(&l->auth_key, opts, &cfg->nats, urls, err);
    if (rc == 0)
        rc = connect_js(l, opts, o, &cfg->nats, err);
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
