/*
 * POSTing one batch until it is accepted: see webhook_http.h.
 *
 * One attempt: set the headers (Content-Type, Idempotency-Key, the signature), perform, then
 * classify what came back. The waiting between attempts is the only sleeping the destination
 * does; it happens on the pipeline's thread, which has nothing else to do meanwhile.
 */
#include "webhook_http.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "pghost/log.h"
#include "webhook_sign.h"

/* What one attempt came to. */
typedef enum outcome { ACCEPTED, RETRY, STOP } outcome;

typedef struct attempt {
    CURLcode code;                /* libcurl's result */
    long status;                  /* HTTP status, 0 when none came */
    int64_t retry_after_s;        /* the Retry-After asked for, 0 when none */
    char reason[CURL_ERROR_SIZE]; /* libcurl's description of a failure */
} attempt;

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- the URL shown in messages ---- */

char *pgh_webhook__url_shown(const char *url)
{
    const char *scheme_end = strstr(url, "://");
    const char *host = scheme_end ? scheme_end + 3 : url;
    size_t host_len = strcspn(host, "/?#");
    const char *at = memchr(host, '@', host_len);
    if (at != NULL) /* user information: may hold a password */
        host = at + 1;
    size_t rest_len = strcspn(host, "?#");
    size_t scheme_len = (size_t)(scheme_end ? scheme_end + 3 - url : 0);
    char *out = malloc(scheme_len + rest_len + 1);
    if (out == NULL)
        return NULL;
    memcpy(out, url, scheme_len);
    memcpy(out + scheme_len, host, rest_len);
    out[scheme_len + rest_len] = '\0';
    return out;
}

/* ---- set up ---- */

static char *dup_or_null(const char *s)
{
    return s && s[0] ? strdup(s) : NULL;
}

static bool is_http_url(const char *url)
{
    return strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0;
}

int pgh_webhook__http_init(pgh_webhook_http *h, const pgh_webhook_opts *opts, pgh_error *err)
{
    memset(h, 0, sizeof(*h));
    pgh_buf_init(&h->answer, PGH_WEBHOOK_BODY_SHOWN);
    if (opts->url == NULL || !is_http_url(opts->url))
        return pgh_error_set(err, PGH_ECONFIG, "webhook_url must start with http:// or https://");
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK)
        return pgh_error_set(err, PGH_ENOMEM, "webhook: libcurl could not start: %s",
                             curl_easy_strerror(global_rc));
    h->url = strdup(opts->url);
    h->url_shown = pgh_webhook__url_shown(opts->url);
    h->secret = dup_or_null(opts->secret);
    h->secret_len = h->secret ? strlen(h->secret) : 0;
    h->ca_file = dup_or_null(opts->ca_file);
    h->curl = curl_easy_init();
    if (h->url == NULL || h->url_shown == NULL || h->curl == NULL ||
        (opts->secret && opts->secret[0] && h->secret == NULL) ||
        (opts->ca_file && opts->ca_file[0] && h->ca_file == NULL))
        return pgh_error_set(err, PGH_ENOMEM, "webhook: out of memory");
    h->timeout_ms = opts->timeout_ms;
    h->max_retries = opts->max_retries;
    h->retry_base_ms = opts->retry_base_ms;
    h->retry_max_ms = opts->retry_max_ms;
    h->rng = ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid() ^ (uint64_t)(uintptr_t)h;
    if (h->rng == 0)
        h->rng = 0x9E3779B97F4A7C15ULL;
    return 0;
}

void pgh_webhook__http_dispose(pgh_webhook_http *h)
{
    if (h == NULL)
        return;
    if (h->curl)
        curl_easy_cleanup(h->curl);
    curl_slist_free_all(h->headers);
    free(h->url);
    free(h->url_shown);
    if (h->secret) /* not left in freed memory */
        memset(h->secret, 0, h->secret_len);
    free(h->secret);
    free(h->ca_file);
    pgh_buf_dispose(&h->answer);
    memset(h, 0, sizeof(*h));
}

/* ---- one attempt ---- */

/* Keep the start of the answer's body (the buffer's cap drops the rest); never abort. */
static size_t on_body(char *data, size_t size, size_t n, void *payload)
{
    pgh_webhook_http *h = payload;
    size_t len = size * n;
    size_t room = h->answer.max_len > h->answer.len ? h->answer.max_len - h->answer.len : 0;
    pgh_buf_append(&h->answer, data, len < room ? len : room);
    return len;
}

/* The headers of one attempt, signed at the current time. */
static int set_headers(pgh_webhook_http *h, const char *body, size_t len, const char *key,
                       pgh_error *err)
{
    char line[PGH_WEBHOOK_SIGNATURE_MAX > 320 ? PGH_WEBHOOK_SIGNATURE_MAX : 320];
    struct curl_slist *l = NULL, *next = NULL;
    curl_slist_free_all(h->headers);
    h->headers = NULL;
    const char *fixed[] = {"Content-Type: application/json", "Expect:", "User-Agent: pghost"};
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        next = curl_slist_append(l, fixed[i]);
        if (next == NULL)
            goto nomem;
        l = next;
    }
    snprintf(line, sizeof(line), "Idempotency-Key: %s", key);
    next = curl_slist_append(l, line);
    if (next == NULL)
        goto nomem;
    l = next;
    if (h->secret != NULL) {
        int rc = pgh_webhook__sign(line, sizeof(line), h->secret, h->secret_len,
                                   (int64_t)time(NULL), body, len, err);
        next = rc == 0 ? curl_slist_append(l, line) : NULL;
        memset(line, 0, sizeof(line));
        if (rc != 0) {
            curl_slist_free_all(l);
            return rc;
        }
        if (next == NULL)
            goto nomem;
        l = next;
    }
    h->headers = l;
    return 0;
nomem:
    curl_slist_free_all(l);
    return pgh_error_set(err, PGH_ENOMEM, "webhook: out of memory");
}

static void set_options(pgh_webhook_http *h, const char *body, size_t len, char *errbuf)
{
    CURL *c = h->curl;
    curl_easy_setopt(c, CURLOPT_URL, h->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, (struct curl_slist *)h->headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)h->timeout_ms);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L); /* always: rows are not for anyone */
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (h->ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_file);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
}

/* Failures of libcurl that trying again cannot fix: the URL, the TLS trust. */
static bool fatal_code(CURLcode code)
{
    switch (code) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        return true;
    default:
        return false;
    }
}

static outcome classify(const attempt *a)
{
    if (a->code != CURLE_OK)
        return fatal_code(a->code) ? STOP : RETRY;
    if (a->status >= 200 && a->status < 300)
        return ACCEPTED;
    if (a->status == 408 || a->status == 429 || a->status >= 500)
        return RETRY;
    return STOP;
}

static int try_once(pgh_webhook_http *h, attempt *a, const char *body, size_t len, const char *key,
                    pgh_error *err)
{
    memset(a, 0, sizeof(*a));
    int rc = set_headers(h, body, len, key, err);
    if (rc != 0)
        return rc;
    pgh_buf_reset(&h->answer);
    set_options(h, body, len, a->reason);
    h->attempts++;
    a->code = curl_easy_perform(h->curl);
    if (a->code == CURLE_OK) {
        curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &a->status);
        curl_off_t after = 0;
        if (curl_easy_getinfo(h->curl, CURLINFO_RETRY_AFTER, &after) == CURLE_OK && after > 0)
            a->retry_after_s = (int64_t)after;
    } else if (a->reason[0] == '\0') {
        snprintf(a->reason, sizeof(a->reason), "%s", curl_easy_strerror(a->code));
    }
    return 0;
}

/* ---- describing an attempt ---- */

/* The answer's body as one line: controls become spaces, cut to PGH_WEBHOOK_BODY_SHOWN. */
static void answer_text(char *out, size_t outlen, const pgh_buf *answer)
{
    size_t n = 0;
    for (size_t i = 0; i < answer->len && n + 1 < outlen; i++) {
        unsigned char ch = (unsigned char)answer->data[i];
        out[n++] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
    }
    out[n] = '\0';
}

static void describe(char *out, size_t outlen, const pgh_webhook_http *h, const attempt *a)
{
    char body[PGH_WEBHOOK_BODY_SHOWN + 1];
    if (a->code != CURLE_OK) {
        snprintf(out, outlen, "%s", a->reason);
        return;
    }
    answer_text(body, sizeof(body), &h->answer);
    snprintf(out, outlen, "HTTP %ld%s%s%s", a->status, body[0] ? " \"" : "", body,
             body[0] ? (h->answer.len >= PGH_WEBHOOK_BODY_SHOWN ? "...\"" : "\"") : "");
}

/* ---- waiting ---- */

static uint64_t next_random(pgh_webhook_http *h)
{
    uint64_t x = h->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    h->rng = x;
    return x;
}

/* Before retry n (0 for the first): full jitter over min(max, base * 2^n), at least what the
 * server asked for (capped at PGH_WEBHOOK_RETRY_AFTER_MAX_S). */
static int64_t backoff_ms(pgh_webhook_http *h, int64_t n, int64_t retry_after_s)
{
    int64_t ceiling = h->retry_base_ms;
    for (int64_t i = 0; i < n && ceiling < h->retry_max_ms; i++)
        ceiling *= 2;
    if (ceiling > h->retry_max_ms)
        ceiling = h->retry_max_ms;
    int64_t wait = ceiling > 0 ? (int64_t)(next_random(h) % (uint64_t)(ceiling + 1)) : 0;
    if (retry_after_s > PGH_WEBHOOK_RETRY_AFTER_MAX_S)
        retry_after_s = PGH_WEBHOOK_RETRY_AFTER_MAX_S;
    if (wait < retry_after_s * 1000)
        wait = retry_after_s * 1000;
    return wait;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

int pgh_webhook__http_post(pgh_webhook_http *h, const char *body, size_t len, const char *key,
                           pgh_error *err)
{
    char what[CURL_ERROR_SIZE + PGH_WEBHOOK_BODY_SHOWN + 32];
    attempt a;
    for (int64_t n = 0;; n++) {
        int rc = try_once(h, &a, body, len, key, err);
        if (rc != 0)
            return rc;
        outcome o = classify(&a);
        if (o == ACCEPTED)
            return 0;
        describe(what, sizeof(what), h, &a);
        if (o == STOP)
            return pgh_error_set(err, PGH_ESINK,
                                 "webhook %s refused batch %s: %s; not retried: fix the receiver "
                                 "or the configuration, then run again to resume after the last "
                                 "accepted batch",
                                 h->url_shown, key, what);
        if (n >= h->max_retries)
            return pgh_error_set(err, PGH_ESINK,
                                 "webhook %s did not accept batch %s after %lld attempts (last: "
                                 "%s); run again to resume after the last accepted batch",
                                 h->url_shown, key, (long long)n + 1, what);
        int64_t wait = backoff_ms(h, n, a.retry_after_s);
        pgh_log(PGH_LOG_WARN, "webhook", "batch %s: %s; retrying in %lld ms", key, what,
                (long long)wait);
        h->retries++;
        sleep_ms(wait);
    }
}
