/*
 * The webhook destination end to end: `pghost replicate CONFIG` with destination: webhook
 * against a real HTTP receiver (libmicrohttpd, in this process, one thread per connection) that
 * checks every request's Pghost-Signature (HMAC-SHA256 of "<t>.<body>", computed here with
 * libcrypto) and records every batch it accepts with its Idempotency-Key.
 *
 * Cases (one ctest entry each):
 *   chaos      2 tables (bigint key; (text, int) key), existing rows and writers running
 *              (inserts, updates, deletes, key moves); the receiver answers 30% of requests
 *              500, holds 4% past webhook_timeout_ms (and accepts them then: the sender sees a
 *              timeout, the receiver has the batch), answers one 429 with Retry-After: 1 (in
 *              the last run: the batch must come again no sooner than 1 s, although
 *              webhook_retry_max_ms is 300);
 *              pghost is SIGKILLed three times (while delivering the existing rows, then twice
 *              while following, 40 ms after a batch was accepted: the next batch is being
 *              filled, batches are cut every 250 ms) and restarted; fence; SIGTERM. Then:
 *                - a key accepted twice carries the same changes both times (existing rows
 *                  of a chunk read again may be a later version of the same rows);
 *                - deduplicated by key, the events' positions (commit_lsn, lsn, seq) strictly
 *                  increase: no event is repeated under another key, none comes out of order;
 *                - the deduplicated events, applied in order by key to tables of another
 *                  database, rebuild the source tables: full ordered dumps compared;
 *                - the secret appears in no output; pghost status shows the position kept
 *                  in the state file, pghost teardown removes it.
 *   badsecret  pghost signs with another secret: the receiver answers 401 to everything;
 *              pghost stops, exit 1, with one line naming HTTP 401 and the receiver's answer.
 *   status400  the receiver answers 400 "unknown tenant": pghost stops at once (no retry),
 *              exit 1, the status and the body in its one-line error (the secret is read
 *              from webhook_secret_file here).
 *
 *   tls        HTTPS with a self-signed certificate: without webhook_ca_file pghost stops at
 *              once (certificate verification is always on, nothing reaches the receiver);
 *              with it every row arrives.
 *
 * PGH_TEST_WEBHOOK_DUMP=FILE writes every accepted batch there (key, tab, body; one a line), in
 * acceptance order, for looking into a failure.
 *
 * Usage: it_webhook chaos|badsecret|status400|tls
 */
#define _GNU_SOURCE /* memmem */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "pgh_run.h"

#define SECRET "s3cr3t-webhook-key-for-tests"
#define WRONG_SECRET "not-the-receivers-key"
#define TIMEOUT_MS 300 /* webhook_timeout_ms of the runs */

/* ---- the receiver ------------------------------------------------------------------------ */

typedef enum mode { CHAOS, ALWAYS_400 } mode;

typedef struct accepted {
    char *key;  /* owned: Idempotency-Key */
    char *body; /* owned: the whole body */
} accepted;

typedef struct receiver {
    struct MHD_Daemon *d;
    int port;
    mode mode;
    pthread_mutex_t mu;
    uint64_t rng;                                                 /* under mu */
    accepted *batches;                                            /* under mu, owned */
    size_t nbatches, cap;                                         /* under mu */
    long requests, bad_signatures, fail500, delayed, answered429; /* under mu */
    bool did429;                                                  /* under mu */
    bool arm429;        /* under mu: answer the next request 429 (once) */
    char key429[256];   /* under mu: the batch answered 429 */
    double at429_ms;    /* under mu: when */
    double retry429_ms; /* under mu: how long until that batch came again, -1 not yet */
} receiver;

typedef struct upload {
    char *data;
    size_t len, cap;
} upload;

/* "t=<digits>,v1=<64 hex>" checked against body with SECRET. */
static bool signature_ok(const char *header, const char *body, size_t len)
{
    long long t = 0;
    char v1[65] = "";
    if (header == NULL || sscanf(header, "t=%lld,v1=%64[0-9a-f]", &t, v1) != 2 || strlen(v1) != 64)
        return false;
    if (llabs((long long)time(NULL) - t) > 300) /* a receiver refuses old timestamps */
        return false;
    char stamp[32];
    int n = snprintf(stamp, sizeof(stamp), "%lld.", t);
    char *signed_payload = malloc((size_t)n + len);
    PGH_CHECK(signed_payload != NULL, "out of memory");
    memcpy(signed_payload, stamp, (size_t)n);
    memcpy(signed_payload + n, body, len);
    unsigned char mac[64];
    size_t mac_len = 0;
    bool ok = EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, SECRET, strlen(SECRET),
                        (unsigned char *)signed_payload, (size_t)n + len, mac, sizeof(mac),
                        &mac_len) != NULL;
    free(signed_payload);
    char hex[129];
    for (size_t i = 0; ok && i < mac_len; i++)
        snprintf(hex + 2 * i, 3, "%02x", mac[i]);
    return ok && mac_len == 32 && CRYPTO_memcmp(hex, v1, 64) == 0;
}

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned status, const char *text,
                              bool retry_after)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    if (retry_after)
        MHD_add_response_header(r, "Retry-After", "1");
    enum MHD_Result rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

static void record(receiver *rc, const char *key, const upload *u)
{
    if (rc->nbatches == rc->cap) {
        rc->cap = rc->cap ? rc->cap * 2 : 256;
        rc->batches = realloc(rc->batches, rc->cap * sizeof(accepted));
        PGH_CHECK(rc->batches != NULL, "out of memory");
    }
    accepted *a = &rc->batches[rc->nbatches++];
    a->key = strdup(key);
    a->body = strndup(u->data, u->len);
    PGH_CHECK(a->key && a->body, "out of memory");
}

/* What to do with a request whose signature is right: 0 accept, 500, 429, or -1 hold past the
 * sender's timeout and then accept. */
static int chaos_choice(receiver *rc)
{
    if (rc->mode == ALWAYS_400)
        return 400;
    uint64_t x = rc->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    rc->rng = x;
    int roll = (int)(x % 100);
    if (rc->arm429 && !rc->did429) {
        rc->did429 = true;
        return 429;
    }
    return roll < 30 ? 500 : roll < 34 ? -1 : 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    receiver *rc = cls;
    upload *u = *con_cls;
    if (u == NULL) {
        u = calloc(1, sizeof(*u));
        *con_cls = u;
        return u ? MHD_YES : MHD_NO;
    }
    if (*upload_data_size > 0) {
        if (u->len + *upload_data_size + 1 > u->cap) {
            u->cap = (u->len + *upload_data_size + 1) * 2;
            u->data = realloc(u->data, u->cap);
            if (u->data == NULL)
                return MHD_NO;
        }
        memcpy(u->data + u->len, upload_data, *upload_data_size);
        u->len += *upload_data_size;
        *upload_data_size = 0;
        return MHD_YES;
    }
    const char *sig = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Pghost-Signature");
    const char *key = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Idempotency-Key");
    const char *type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    if (strcmp(method, "POST") != 0 || key == NULL || type == NULL ||
        strcmp(type, "application/json") != 0)
        return answer(conn, 400, "expected a JSON POST with an Idempotency-Key", false);
    pthread_mutex_lock(&rc->mu);
    rc->requests++;
    if (rc->did429 && rc->retry429_ms < 0 && strcmp(key, rc->key429) == 0)
        rc->retry429_ms = pgh_run_now_ms() - rc->at429_ms;
    if (!signature_ok(sig, u->data ? u->data : "", u->len)) {
        rc->bad_signatures++;
        pthread_mutex_unlock(&rc->mu);
        return answer(conn, 401, "signature does not match", false);
    }
    int choice = chaos_choice(rc);
    rc->fail500 += choice == 500;
    rc->answered429 += choice == 429;
    if (choice == 429) {
        snprintf(rc->key429, sizeof(rc->key429), "%s", key);
        rc->at429_ms = pgh_run_now_ms();
        rc->retry429_ms = -1;
    }
    rc->delayed += choice == -1;
    if (choice == 0)
        record(rc, key, u);
    pthread_mutex_unlock(&rc->mu);
    if (choice == 400)
        return answer(conn, 400, "unknown tenant\nask the admin", false);
    if (choice == 500 || choice == 429)
        return answer(conn, (unsigned)choice, "try later", choice == 429);
    if (choice == -1) {
        pgh_run_sleep_ms(TIMEOUT_MS + 150); /* the sender has given up meanwhile */
        pthread_mutex_lock(&rc->mu);
        record(rc, key, u); /* processed all the same: the sender will send it again */
        pthread_mutex_unlock(&rc->mu);
    }
    return answer(conn, 200, "{\"ok\":true}", false);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    upload *u = *con_cls;
    if (u) {
        free(u->data);
        free(u);
    }
    *con_cls = NULL;
}

/* With a certificate (PEM, set by case_tls) the receiver speaks HTTPS. */
static char *g_tls_key, *g_tls_cert;

static void receiver_start(receiver *rc, mode m)
{
    memset(rc, 0, sizeof(*rc));
    pthread_mutex_init(&rc->mu, NULL);
    rc->mode = m;
    rc->rng = 0x9E3779B97F4A7C15ULL;
    for (int tries = 0; tries < 5 && rc->d == NULL; tries++) {
        rc->port = pgh_test_free_port();
        unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD;
        if (g_tls_cert)
            rc->d = MHD_start_daemon(flags | MHD_USE_TLS, (uint16_t)rc->port, NULL, NULL,
                                     on_request, rc, MHD_OPTION_NOTIFY_COMPLETED, on_completed, rc,
                                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                                     MHD_OPTION_HTTPS_MEM_KEY, g_tls_key, MHD_OPTION_HTTPS_MEM_CERT,
                                     g_tls_cert, MHD_OPTION_END);
        else
            rc->d = MHD_start_daemon(flags, (uint16_t)rc->port, NULL, NULL, on_request, rc,
                                     MHD_OPTION_NOTIFY_COMPLETED, on_completed, rc,
                                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_END);
    }
    PGH_CHECK(rc->d != NULL, "the HTTP receiver could not start");
}

static void receiver_stop(receiver *rc)
{
    MHD_stop_daemon(rc->d);
    for (size_t i = 0; i < rc->nbatches; i++) {
        free(rc->batches[i].key);
        free(rc->batches[i].body);
    }
    free(rc->batches);
    pthread_mutex_destroy(&rc->mu);
}

static size_t accepted_count(receiver *rc)
{
    pthread_mutex_lock(&rc->mu);
    size_t n = rc->nbatches;
    pthread_mutex_unlock(&rc->mu);
    return n;
}

/* Whether the accepted batches hold needle and, for each table, a snapshot_end after its last
 * snapshot_start: every existing row was delivered (with the batches in acceptance order). */
static bool delivered(receiver *rc, const char *needle)
{
    pthread_mutex_lock(&rc->mu);
    bool found = false;
    int ended[2] = {0, 0}; /* t_a, t_b: 1 after snapshot_end, 0 after snapshot_start */
    for (size_t i = 0; i < rc->nbatches; i++) {
        const char *b = rc->batches[i].body;
        found = found || strstr(b, needle) != NULL;
        const char *mark = "\"op\":\"snapshot_", *head = "{\"table\":";
        for (const char *p = strstr(b, mark); p; p = strstr(p + 1, mark)) {
            const char *line = p;
            while (line > b && strncmp(line, head, strlen(head)) != 0)
                line--;
            const char *t_a = "{\"table\":\"public.t_a\"";
            int t = strncmp(line, t_a, strlen(t_a)) == 0 ? 0 : 1;
            const char *op = p + strlen(mark);
            if (strncmp(op, "start\"", 6) == 0)
                ended[t] = 0;
            else if (strncmp(op, "end\"", 4) == 0)
                ended[t] = 1;
        }
    }
    pthread_mutex_unlock(&rc->mu);
    return found && ended[0] && ended[1];
}

/* ---- the source ------------------------------------------------------------------------- */

#define N_A 12000
#define N_B 3000

typedef struct ctx {
    pgh_run_pair p;
    pgh_run r;
    receiver rc;
    pgh_run_writers ws;
} ctx;

/* The configuration of the next runs; extra: more lines (the secret's, at least). */
static void write_config(ctx *c, const char *extra)
{
    pgh_run_write_config(&c->r,
                         "source_connection: %s\npublication_name: pub\n"
                         "destination: webhook\nwebhook_url: %s://127.0.0.1:%d/hooks/pghost\n"
                         "%s\nwebhook_timeout_ms: %d\nwebhook_max_retries: 40\n"
                         "webhook_retry_base_ms: 20\nwebhook_retry_max_ms: 300\n"
                         "apply_group_max_changes: 500\napply_group_max_delay_ms: 250\n"
                         "copy_batch_size: 2000\ncopy_worker_count: 2\n"
                         "tables:\n  - public.t_a\n  - public.t_b\n",
                         c->p.src_conninfo, g_tls_cert ? "https" : "http", c->rc.port, extra,
                         TIMEOUT_MS);
}

/* One server: the source in database postgres; the tables rebuilt from the events go to
 * database rebuilt (c->p.d), where pgh_run_compare reads them. */
static void server_start(ctx *c)
{
    pgh_run_pair *p = &c->p;
    memset(p, 0, sizeof(*p));
    PGH_CHECK(pgh_test_server_start(&p->src, "source", NULL) == 0, "source");
    PGH_CHECK(pgh_test_create_db(&p->src, "rebuilt") == 0, "create database rebuilt");
    p->src_conninfo = pgh_test_conninfo(&p->src, "postgres");
    p->s = pgh_test_connect(&p->src, "postgres");
    p->d = pgh_test_connect(&p->src, "rebuilt");
}

static void setup(ctx *c, mode m, const char *secret_line, long long n_a, long long n_b)
{
    server_start(c);
    receiver_start(&c->rc, m);
    const char *create_a = "CREATE TABLE t_a (id bigint PRIMARY KEY, v int NOT NULL, note text)";
    const char *create_b = "CREATE TABLE t_b (k text, n int, v int NOT NULL, PRIMARY KEY (k, n))";
    pgh_test_exec(c->p.s, "%s; %s", create_a, create_b);
    pgh_test_exec(c->p.d, "%s; %s", create_a, create_b);
    pgh_test_exec(
        c->p.s,
        "INSERT INTO t_a SELECT g, g %% 1000, md5(g::text) FROM generate_series(1, %lld) g;"
        "INSERT INTO t_b SELECT 'k' || (g %% 50), g, g %% 7 FROM generate_series(1, %lld) g;"
        "ANALYZE; CREATE PUBLICATION pub FOR TABLE t_a, t_b",
        n_a, n_b);
    setenv("PGH_TEST_WEBHOOK_SECRET", SECRET, 1);
    pgh_run_init(&c->r, &c->p, PGH_BINARY, "run", "webhook.yaml");
    write_config(c, secret_line);
}

static void teardown(ctx *c)
{
    receiver_stop(&c->rc);
    PQfinish(c->p.s);
    PQfinish(c->p.d);
    free(c->p.src_conninfo);
    pgh_test_server_stop(&c->p.src);
}

/* One random transaction of 1-3 statements on t_a or t_b: insert, update, delete, key move. */
static bool write_txn(PGconn *conn, pgh_run_writer *w, void *payload)
{
    char sql[512];
    bool ok = pgh_run_sql_ok(conn, "BEGIN");
    int n = 1 + (int)(pgh_run_random(&w->rng) % 3);
    for (int i = 0; i < n && ok; i++) {
        uint64_t r = pgh_run_random(&w->rng);
        long long k = (long long)(pgh_run_random(&w->rng) % (N_A * 2)) + 1;
        switch (r % 8) {
        case 0:
            snprintf(sql, sizeof(sql),
                     "INSERT INTO t_a VALUES (%lld, 1, 'ins') ON CONFLICT DO NOTHING", k + N_A);
            break;
        case 1:
        case 2:
            snprintf(sql, sizeof(sql),
                     "UPDATE t_a SET v = v + 1, note = md5(random()::text) WHERE id = %lld", k);
            break;
        case 3:
            snprintf(sql, sizeof(sql), "DELETE FROM t_a WHERE id = %lld", k);
            break;
        case 4: /* a key move into the spare range; a taken key fails the statement */
            snprintf(sql, sizeof(sql),
                     "UPDATE t_a SET id = %lld WHERE id = %lld AND NOT EXISTS (SELECT 1 FROM t_a "
                     "WHERE id = %lld)",
                     k + 3 * N_A, k, k + 3 * N_A);
            break;
        case 5:
            snprintf(sql, sizeof(sql),
                     "INSERT INTO t_b VALUES ('w%d', %lld, 1) ON CONFLICT (k, n) DO UPDATE SET "
                     "v = t_b.v + 1",
                     w->index, k % 500);
            break;
        case 6:
            snprintf(sql, sizeof(sql), "UPDATE t_b SET k = 'm' || k WHERE n = %lld", k % N_B + 1);
            break;
        default:
            snprintf(sql, sizeof(sql), "DELETE FROM t_b WHERE n = %lld", k % N_B + 1);
        }
        ok = pgh_run_sql_ok(conn, sql);
    }
    ok = pgh_run_sql_ok(conn, ok ? "COMMIT" : "ROLLBACK") && ok;
    return ok;
}

static void writers_start(ctx *c)
{
    pgh_run_writers_opts o = {.conninfo = c->p.src_conninfo,
                              .threads = 2,
                              .seed = 7,
                              .pause_ms = 2,
                              .reconnect_ms = 100,
                              .write = write_txn,
                              .payload = c};
    pgh_run_writers_start(&c->ws, &o);
}

static pid_t spawn(ctx *c)
{
    return pgh_run_spawn(&c->r, "replicate", "--no-progress", NULL);
}

/* Wait until the receiver has accepted more than n batches; fail if pid exits first. */
static void wait_batches(ctx *c, pid_t pid, size_t n, const char *what)
{
    double deadline = pgh_run_now_ms() + 60000;
    while (accepted_count(&c->rc) <= n) {
        PGH_CHECK(pgh_test_pid_alive(pid), "pghost exited while waiting for %s:\n%s", what,
                  pgh_run_stderr(&c->r, 0));
        PGH_CHECK(pgh_run_now_ms() < deadline, "no batch came for %s:\n%s", what,
                  pgh_run_stderr(&c->r, 0));
        pgh_run_sleep_ms(20);
    }
}

/* ---- checking what the receiver accepted ------------------------------------------------- */

typedef struct pos {
    uint64_t commit_lsn, lsn, seq;
} pos;

static uint64_t parse_lsn(const char *text)
{
    unsigned hi = 0, lo = 0;
    PGH_CHECK(text && sscanf(text, "%X/%X", &hi, &lo) == 2, "bad LSN %s", text ? text : "null");
    return ((uint64_t)hi << 32) | lo;
}

static pos pos_of(json_t *o)
{
    json_t *seq = json_object_get(o, "seq");
    return (pos){parse_lsn(json_string_value(json_object_get(o, "commit_lsn"))),
                 parse_lsn(json_string_value(json_object_get(o, "lsn"))),
                 seq ? (uint64_t)json_integer_value(seq) : 0};
}

static int pos_cmp(pos a, pos b)
{
    if (a.commit_lsn != b.commit_lsn)
        return a.commit_lsn < b.commit_lsn ? -1 : 1;
    if (a.lsn != b.lsn)
        return a.lsn < b.lsn ? -1 : 1;
    return a.seq < b.seq ? -1 : a.seq > b.seq;
}

/* A JSON value as a text parameter (NULL for null). */
static char *text_of(json_t *v)
{
    if (v == NULL || json_is_null(v))
        return NULL;
    if (json_is_string(v))
        return strdup(json_string_value(v));
    char buf[64];
    PGH_CHECK(json_is_integer(v), "unexpected JSON value type %d", (int)json_typeof(v));
    snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    return strdup(buf);
}

static void exec_params(PGconn *d, const char *sql, int n, json_t *const *vals)
{
    char *texts[3] = {0};
    for (int i = 0; i < n; i++)
        texts[i] = text_of(vals[i]);
    PGresult *res = PQexecParams(d, sql, n, NULL, (const char *const *)texts, NULL, NULL, 0);
    PGH_CHECK(PQresultStatus(res) == PGRES_COMMAND_OK, "%s: %s", sql, PQerrorMessage(d));
    PQclear(res);
    for (int i = 0; i < n; i++)
        free(texts[i]);
}

/* Apply one event by key (docs/json-lines.md) to the destination's copy of its table. */
static void apply_event(PGconn *d, json_t *e, long *ops)
{
    const char *table = json_string_value(json_object_get(e, "table"));
    const char *op = json_string_value(json_object_get(e, "op"));
    PGH_CHECK(table && op, "an event without table or op");
    bool is_a = strcmp(table, "public.t_a") == 0;
    PGH_CHECK(is_a || strcmp(table, "public.t_b") == 0, "an event of table %s", table);
    const char *del =
        is_a ? "DELETE FROM t_a WHERE id = $1" : "DELETE FROM t_b WHERE k = $1 AND n = $2";
    const char *cols[2][3] = {{"id", "v", "note"}, {"k", "n", "v"}};
    const char *(*c3) = cols[is_a ? 0 : 1];
    ops[0]++;
    if (strcmp(op, "snapshot_start") == 0 || strcmp(op, "truncate") == 0) {
        pgh_test_exec(d, "TRUNCATE %s", is_a ? "t_a" : "t_b");
        return;
    }
    if (strcmp(op, "snapshot_end") == 0)
        return;
    json_t *key = json_object_get(e, "key");
    json_t *old_key = json_object_get(e, "old_key");
    json_t *moved = old_key ? old_key : key;
    json_t *kv[2] = {json_object_get(moved, c3[0]), is_a ? NULL : json_object_get(moved, c3[1])};
    if (strcmp(op, "delete") == 0 || old_key) {
        exec_params(d, del, is_a ? 1 : 2, kv);
        if (strcmp(op, "delete") == 0)
            return;
    }
    json_t *nw = json_object_get(e, "new");
    PGH_CHECK(json_is_object(nw) && json_object_get(e, "unchanged") == NULL,
              "%s %s without a whole new row", table, op);
    json_t *vals[3] = {json_object_get(nw, c3[0]), json_object_get(nw, c3[1]),
                       json_object_get(nw, c3[2])};
    const char *up = is_a ? "INSERT INTO t_a VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET "
                            "v = EXCLUDED.v, note = EXCLUDED.note"
                          : "INSERT INTO t_b VALUES ($1, $2, $3) ON CONFLICT (k, n) DO UPDATE SET "
                            "v = EXCLUDED.v";
    exec_params(d, up, 3, vals);
}

/* The body of an earlier batch with key, or NULL. */
static const char *earlier_body(const receiver *rc, size_t before, const char *key)
{
    for (size_t i = 0; i < before; i++)
        if (strcmp(rc->batches[i].key, key) == 0)
            return rc->batches[i].body;
    return NULL;
}

/* The events of a body, checked against its envelope (batch_id = key, count). */
static json_t *events_of(const accepted *a)
{
    json_error_t jerr;
    json_t *b = json_loads(a->body, 0, &jerr);
    PGH_CHECK(b != NULL, "a batch that is not JSON (%s): %.200s", jerr.text, a->body);
    const char *id = json_string_value(json_object_get(b, "batch_id"));
    json_t *events = json_object_get(b, "events");
    PGH_CHECK(id && strcmp(id, a->key) == 0, "batch_id %s is not the Idempotency-Key %s",
              id ? id : "null", a->key);
    PGH_CHECK(json_is_array(events) && json_array_size(events) ==
                                           (size_t)json_integer_value(json_object_get(b, "count")),
              "batch %s: count does not match its events", a->key);
    json_incref(events);
    json_decref(b);
    return events;
}

/* The events of an array that are not existing rows (a new reference). */
static json_t *changes_of(json_t *events)
{
    json_t *out = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(events, i, e)
    {
        const char *op = json_string_value(json_object_get(e, "op"));
        if (op && strncmp(op, "snapshot", 8) != 0)
            json_array_append(out, e);
    }
    return out;
}

/* Dedup by key, check positions, apply in one transaction; prints the figures. */
static void rebuild(ctx *c)
{
    receiver *rc = &c->rc;
    long dup_batches = 0, events = 0, ops = 0;
    pos last = {0};
    bool any = false;
    pgh_test_exec(c->p.d, "BEGIN; TRUNCATE t_a, t_b");
    FILE *dump =
        getenv("PGH_TEST_WEBHOOK_DUMP") ? fopen(getenv("PGH_TEST_WEBHOOK_DUMP"), "w") : NULL;
    for (size_t i = 0; dump && i < rc->nbatches; i++)
        fprintf(dump, "%s\t%s\n", rc->batches[i].key, rc->batches[i].body);
    if (dump)
        fclose(dump);
    for (size_t i = 0; i < rc->nbatches; i++) {
        const accepted *a = &rc->batches[i];
        const char *before = earlier_body(rc, i, a->key);
        json_t *ev = events_of(a);
        if (before != NULL) {
            /* The same key: the same changes. Existing rows ("op":"snapshot") of a chunk the
             * restarted pipeline read again may hold a later version of the same rows, at the
             * same watermark (docs/destinations.md): either version is right to keep. */
            accepted prev = {a->key, (char *)before};
            json_t *pev = events_of(&prev);
            json_t *changes = changes_of(ev), *pchanges = changes_of(pev);
            PGH_CHECK(json_equal(changes, pchanges), "key %s accepted twice with different changes",
                      a->key);
            json_decref(changes);
            json_decref(pchanges);
            json_decref(pev);
            json_decref(ev);
            dup_batches++;
            continue;
        }
        size_t j;
        json_t *e;
        json_array_foreach(ev, j, e)
        {
            pos p = pos_of(e);
            PGH_CHECK(!any || pos_cmp(p, last) > 0,
                      "batch %s (accepted #%zu) repeats or reorders an event under a new key: "
                      "%.300s",
                      a->key, i + 1, json_dumps(e, JSON_COMPACT));
            last = p;
            any = true;
            events++;
            apply_event(c->p.d, e, &ops);
        }
        json_decref(ev);
    }
    pgh_test_exec(c->p.d, "COMMIT");
    printf("receiver: %ld requests, %zu batches accepted (%ld again under a key already "
           "accepted), %ld events applied; %ld answered 500, %ld held past the timeout, %ld "
           "answered 429, %ld bad signatures\n",
           rc->requests, rc->nbatches, dup_batches, events, rc->fail500, rc->delayed,
           rc->answered429, rc->bad_signatures);
    PGH_CHECK(rc->bad_signatures == 0, "%ld requests with a bad signature", rc->bad_signatures);
}

static void no_secret_in_output(ctx *c)
{
    for (int n = 1; n <= c->r.n; n++) {
        PGH_CHECK(strstr(pgh_run_stderr(&c->r, n), SECRET) == NULL, "run %d printed the secret", n);
        PGH_CHECK(strstr(pgh_run_stdout(&c->r, n), SECRET) == NULL, "run %d printed the secret", n);
    }
}

/* ---- cases ------------------------------------------------------------------------------ */

/* Progress lines, with the seconds since the case began. */
static double t0;
static void phase(const char *what)
{
    printf("[%5.1f s] %s\n", (pgh_run_now_ms() - t0) / 1000, what);
}

static int case_chaos(void)
{
    ctx c;
    t0 = pgh_run_now_ms();
    memset(&c, 0, sizeof(c));
    setup(&c, CHAOS, "webhook_secret: ${PGH_TEST_WEBHOOK_SECRET}", N_A, N_B);
    writers_start(&c);
    phase("servers up, writers running");
    pid_t pid = spawn(&c);
    wait_batches(&c, pid, 15, "the first existing rows");
    pgh_run_kill(pid); /* while the existing rows are delivered */
    phase("first SIGKILL");
    /* Then while following, a little after a batch was accepted: the next batch is being
     * filled, the state file still names the accepted one as in flight, and the restart sends
     * it again under its key. */
    for (int kill = 2; kill <= 3; kill++) {
        pid = spawn(&c);
        double deadline = pgh_run_now_ms() + 60000;
        while (!delivered(&c.rc, "")) { /* every existing row: following now */
            PGH_CHECK(pgh_run_now_ms() < deadline && pgh_test_pid_alive(pid),
                      "the existing rows were not all delivered:\n%s", pgh_run_stderr(&c.r, 0));
            pgh_run_sleep_ms(20);
        }
        wait_batches(&c, pid, accepted_count(&c.rc) + 5, "batches after a restart");
        pgh_run_sleep_ms(40);
        pgh_run_kill(pid);
        phase(kill == 2 ? "second SIGKILL" : "third SIGKILL");
    }
    pid = spawn(&c);
    pthread_mutex_lock(&c.rc.mu); /* no kill follows: the batch comes again in this run */
    c.rc.arm429 = true;
    pthread_mutex_unlock(&c.rc.mu);
    wait_batches(&c, pid, accepted_count(&c.rc) + 10, "batches after the third restart");
    pgh_run_writers_stop(&c.ws);
    phase("writers stopped");
    pgh_test_exec(c.p.s, "INSERT INTO t_a VALUES (-1, 42, 'fence')");
    double deadline = pgh_run_now_ms() + 60000;
    while (!delivered(&c.rc, "\"note\":\"fence\"")) {
        PGH_CHECK(pgh_run_now_ms() < deadline && pgh_test_pid_alive(pid),
                  "the fence row or the end of the existing rows never arrived:\n%s",
                  pgh_run_stderr(&c.r, 0));
        pgh_run_sleep_ms(50);
    }
    phase("fence and every existing row accepted");
    pgh_run_stop(&c.r, pid, 30);
    PGH_CHECK(c.rc.answered429 == 1 && c.rc.fail500 > 0 && c.rc.delayed > 0,
              "the receiver's failures did not all happen (429: %ld, 500: %ld, held: %ld)",
              c.rc.answered429, c.rc.fail500, c.rc.delayed);
    /* Retry-After: 1, although webhook_retry_max_ms is 300 */
    PGH_CHECK(c.rc.retry429_ms >= 950, "the batch answered 429 came again after %.0f ms",
              c.rc.retry429_ms);
    printf("the batch answered 429 (Retry-After: 1) came again after %.0f ms\n", c.rc.retry429_ms);
    rebuild(&c);
    phase("events applied");
    pgh_run_compare(&c.p, "SELECT * FROM t_a ORDER BY id", NULL, pgh_run_stderr(&c.r, 0));
    pgh_run_compare(&c.p, "SELECT * FROM t_b ORDER BY k, n", NULL, pgh_run_stderr(&c.r, 0));
    no_secret_in_output(&c);
    /* status reads the position from the state file; teardown removes it with the slot */
    PGH_CHECK(pgh_run_exec(&c.r, 30, "status", NULL) == 0, "status:\n%s", pgh_run_stderr(&c.r, 0));
    PGH_CHECK(strstr(pgh_run_stdout(&c.r, 0), "destination: follow, applied up to") != NULL,
              "status does not show the webhook's position:\n%s", pgh_run_stdout(&c.r, 0));
    PGH_CHECK(pgh_run_exec(&c.r, 30, "teardown", NULL) == 0, "teardown:\n%s",
              pgh_run_stderr(&c.r, 0));
    PGH_CHECK(strstr(pgh_run_stderr(&c.r, 0), ".state: removed") != NULL,
              "teardown did not remove the state file:\n%s", pgh_run_stderr(&c.r, 0));
    teardown(&c);
    return 0;
}

/* A run that must stop with exit 1 and an error line holding each of needles. */
static void expect_stop(ctx *c, const char *const *needles, int n)
{
    int code = pgh_run_exec(&c->r, 60, "replicate", "--no-progress", NULL);
    const char *err = pgh_run_stderr(&c->r, 0);
    PGH_CHECK(code == 1, "exit %d, expected 1:\n%s", code, err);
    const char *line = strstr(err, "refused batch");
    PGH_CHECK(line != NULL, "no \"refused batch\" error:\n%s", err);
    while (line > err && line[-1] != '\n')
        line--;
    const char *eol = strchr(line, '\n');
    size_t len = eol ? (size_t)(eol - line) : strlen(line);
    for (int i = 0; i < n; i++)
        PGH_CHECK(memmem(line, len, needles[i], strlen(needles[i])) != NULL,
                  "the error line does not say \"%s\":\n%.*s", needles[i], (int)len, line);
    printf("pghost stopped: %.*s\n", (int)len, line);
}

static int case_badsecret(void)
{
    ctx c;
    memset(&c, 0, sizeof(c));
    setup(&c, CHAOS, "webhook_secret: " WRONG_SECRET, 200, 50);
    const char *needles[] = {"HTTP 401", "signature does not match", "not retried"};
    expect_stop(&c, needles, 3);
    PGH_CHECK(c.rc.nbatches == 0 && c.rc.requests == 1,
              "%zu batches accepted, %ld requests: expected none and exactly one (no retry)",
              c.rc.nbatches, c.rc.requests);
    PGH_CHECK(strstr(pgh_run_stderr(&c.r, 0), WRONG_SECRET) == NULL, "the secret was printed");
    teardown(&c);
    return 0;
}

static int case_status400(void)
{
    ctx c;
    memset(&c, 0, sizeof(c));
    char secret_file[PGH_RUN_FILE_MAX + 16], line[PGH_RUN_FILE_MAX + 64];
    snprintf(secret_file, sizeof(secret_file), "/tmp/it_webhook_secret_%d", (int)getpid());
    FILE *f = fopen(secret_file, "w");
    PGH_CHECK(f && fputs(SECRET "\n", f) >= 0 && fclose(f) == 0, "cannot write %s", secret_file);
    snprintf(line, sizeof(line), "webhook_secret_file: %s", secret_file);
    setup(&c, ALWAYS_400, line, 200, 50);
    const char *needles[] = {"HTTP 400", "unknown tenant ask the admin", "127.0.0.1"};
    expect_stop(&c, needles, 3);
    remove(secret_file);
    PGH_CHECK(c.rc.requests == 1, "%ld requests: a 400 must not be retried", c.rc.requests);
    no_secret_in_output(&c);
    teardown(&c);
    return 0;
}

/* HTTPS with a self-signed certificate for 127.0.0.1: refused without webhook_ca_file (at
 * once, nothing sent), then every row delivered with it. */
static int case_tls(void)
{
    char dir[64], key[96], cert[96], subject_alt[] = "subjectAltName=IP:127.0.0.1";
    snprintf(dir, sizeof(dir), "/tmp/it_webhook_tls_%d", (int)getpid());
    snprintf(key, sizeof(key), "%s/key.pem", dir);
    snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
    PGH_CHECK(mkdir(dir, 0700) == 0, "mkdir %s", dir);
    const char *argv[] = {"openssl",
                          "req",
                          "-x509",
                          "-newkey",
                          "ec",
                          "-pkeyopt",
                          "ec_paramgen_curve:prime256v1",
                          "-nodes",
                          "-keyout",
                          key,
                          "-out",
                          cert,
                          "-days",
                          "1",
                          "-subj",
                          "/CN=127.0.0.1",
                          "-addext",
                          subject_alt,
                          NULL};
    int code = -1;
    PGH_CHECK(pgh_test_run(argv, "/dev/null", "/dev/null", 60, &code) == 0 && code == 0,
              "openssl could not make a certificate (exit %d)", code);
    PGH_CHECK(MHD_is_feature_supported(MHD_FEATURE_TLS) == MHD_YES, "libmicrohttpd without TLS");
    g_tls_key = pgh_run_read_file(key);
    g_tls_cert = pgh_run_read_file(cert);
    ctx c;
    memset(&c, 0, sizeof(c));
    setup(&c, CHAOS, "webhook_secret: ${PGH_TEST_WEBHOOK_SECRET}", 300, 80);
    const char *needles[] = {"https://127.0.0.1", "certificate", "not retried"};
    expect_stop(&c, needles, 3);
    PGH_CHECK(c.rc.requests == 0, "%ld requests reached the receiver", c.rc.requests);
    char line[256];
    snprintf(line, sizeof(line), "webhook_secret: ${PGH_TEST_WEBHOOK_SECRET}\nwebhook_ca_file: %s",
             cert);
    write_config(&c, line);
    pid_t pid = spawn(&c);
    double deadline = pgh_run_now_ms() + 60000;
    while (!delivered(&c.rc, "")) {
        PGH_CHECK(pgh_run_now_ms() < deadline && pgh_test_pid_alive(pid),
                  "the existing rows did not arrive over https:\n%s", pgh_run_stderr(&c.r, 0));
        pgh_run_sleep_ms(20);
    }
    pgh_run_stop(&c.r, pid, 30);
    rebuild(&c);
    pgh_run_compare(&c.p, "SELECT * FROM t_a ORDER BY id", NULL, pgh_run_stderr(&c.r, 0));
    pgh_run_compare(&c.p, "SELECT * FROM t_b ORDER BY k, n", NULL, pgh_run_stderr(&c.r, 0));
    teardown(&c);
    remove(key);
    remove(cert);
    rmdir(dir);
    free(g_tls_key);
    free(g_tls_cert);
    return 0;
}

int main(int argc, char **argv)
{
    const char *which = argc > 1 ? argv[1] : "";
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (strcmp(which, "chaos") == 0)
        return case_chaos();
    if (strcmp(which, "badsecret") == 0)
        return case_badsecret();
    if (strcmp(which, "status400") == 0)
        return case_status400();
    if (strcmp(which, "tls") == 0)
        return case_tls();
    fprintf(stderr, "usage: it_webhook chaos|badsecret|status400|tls\n");
    return 2;
}
