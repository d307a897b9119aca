/*
 * tests/unit/test_webhook.c - the webhook destination's pieces that need no network: the
 * signature header against a vector computed independently (Python's hmac), the URL shown in
 * messages (no user information, no query), the idempotency key and the batch body, the
 * option checks. One executable, one ctest entry (label unit).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dest/webhook/webhook_batch.h"
#include "dest/webhook/webhook_http.h"
#include "dest/webhook/webhook_sign.h"
#include "pghost/webhook.h"

static int failures;

static void check_str(int line, const char *got, const char *want)
{
    if (got == NULL || strcmp(got, want) != 0) {
        fprintf(stderr, "line %d: got  [%s]\nline %d: want [%s]\n", line, got ? got : "(null)",
                line, want);
        failures++;
    }
}

#define CHECK_STR(got, want) check_str(__LINE__, (got), (want))

/* hmac.new(b"whsec_test", b'1765058400.{"batch_id":"x"}', hashlib.sha256).hexdigest() */
static void signature(void)
{
    char header[PGH_WEBHOOK_SIGNATURE_MAX];
    const char *body = "{\"batch_id\":\"x\"}";
    pgh_error err = {0};
    int rc = pgh_webhook__sign(header, sizeof(header), "whsec_test", 10, 1765058400, body,
                               strlen(body), &err);
    if (rc != 0)
        failures++;
    CHECK_STR(header, "Pghost-Signature: t=1765058400,v1="
                      "a4d6706fa8ceb1e04bdd6964a2cdd1c57b4d09904738614b83186edd3ebc20a6");
}

static void url_shown(void)
{
    const char *cases[][2] = {
        {"https://user:pa55@ingest.example.com:8443/p/x?token=abc#frag",
         "https://ingest.example.com:8443/p/x"},
        {"http://127.0.0.1:8080/hook", "http://127.0.0.1:8080/hook"},
        {"https://h?key=secret", "https://h"},
        {"http://u@h/a@b", "http://h/a@b"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *shown = pgh_webhook__url_shown(cases[i][0]);
        CHECK_STR(shown, cases[i][1]);
        free(shown);
    }
}

static void key_and_body(void)
{
    pgh_webhook_batch b;
    pgh_webhook__batch_init(&b);
    pgh_json_line_pos p1 = {0x16B37D0, 0x16B3800, 0}, p2 = {0x100000000ULL + 0x10, 0x20, 7};
    pgh_error err = {0};
    pgh_webhook__batch_add(&b, "{\"a\":1}", 7, &p1, 0, &err);
    pgh_webhook__batch_add(&b, "{\"b\":2}", 7, &p2, 0, &err);
    char key[PGH_WEBHOOK_KEY_MAX];
    pgh_webhook__batch_key(key, "pghost_app", &b.first, &b.last);
    CHECK_STR(key, "pghost_app:0/16B37D0:0/16B3800:0-1/10:0/20:7");
    char *body = NULL;
    size_t len = 0;
    if (pgh_webhook__batch_body(&body, &len, &b, key, "pghost_app", &err) != 0)
        failures++;
    CHECK_STR(body, "{\"batch_id\":\"pghost_app:0/16B37D0:0/16B3800:0-1/10:0/20:7\","
                    "\"slot\":\"pghost_app\","
                    "\"first\":{\"commit_lsn\":\"0/16B37D0\",\"lsn\":\"0/16B3800\",\"seq\":0},"
                    "\"last\":{\"commit_lsn\":\"1/10\",\"lsn\":\"0/20\",\"seq\":7},"
                    "\"count\":2,\"events\":[{\"a\":1},{\"b\":2}]}");
    if (body && len != strlen(body))
        failures++;
    free(body);
    if (pgh_webhook__pos_cmp(&p1, &p2) != -1 || pgh_webhook__pos_cmp(&p2, &p1) != 1 ||
        pgh_webhook__pos_cmp(&p1, &p1) != 0)
        failures++;
    pgh_webhook__batch_dispose(&b);
}

static void options(void)
{
    pgh_destination *d = NULL;
    pgh_webhook_opts o = PGH_WEBHOOK_OPTS_INIT;
    pgh_error err = {0};
    o.state_file = "/tmp/x.state";
    if (pgh_webhook_destination_new(&d, &o, &err) != PGH_ECONFIG || d != NULL)
        failures++;
    CHECK_STR(err.message, "destination: webhook needs webhook_url (the endpoint batches are "
                           "POSTed to)");
    o.url = "https://h/x";
    o.retry_max_ms = 10;
    err = (pgh_error){0};
    if (pgh_webhook_destination_new(&d, &o, &err) != PGH_ECONFIG)
        failures++;
    o.retry_max_ms = PGH_WEBHOOK_DEFAULT_RETRY_MAX_MS;
    err = (pgh_error){0};
    if (pgh_webhook_destination_new(&d, &o, &err) != 0 || d == NULL)
        failures++;
    pgh_destination_free(d);
}

int main(void)
{
    signature();
    url_shown();
    key_and_body();
    options();
    if (failures == 0)
        printf("webhook: all checks passed\n");
    return failures ? 1 : 0;
}
