/*
 * Operating pghost: --metrics-addr, --log-format json and status --watch, through the binary.
 *
 *   metrics  replicate --follow --metrics-addr --log-format json: /metrics scraped during the
 *            copy and the follow (with a writer) and every line parsed by a strict Prometheus
 *            text-format parser; counters never go down between scrapes; at the end the rows
 *            copied equal the table's rows and the changes applied equal the writes, by kind;
 *            /healthz 200; /readyz 200 while following, 503 while the destination is down and
 *            200 again after the reconnect; every stderr line is a JSON object with time
 *            (RFC 3339 UTC), level, component and message.
 *   watch    status --watch prints at least two refreshes with rates, and status reports the
 *            rows of an interrupted copy (finding 6: not "0 of 1 key ranges done" at 37%).
 *   debuglog replicate --log-level debug --log-format json: the copy plan of the table (key,
 *            ranges), one batch record per batch whose rows add up to the table's (and every
 *            range has at least a third of the average range's rows), with its
 *            bytes and source / destination milliseconds, the catch-up's position; the
 *            password of the connection strings appears nowhere.
 *   verify   verify --metrics-addr, scraped (strict parser) while it waits on a lock after
 *            comparing the first table: the rows compared equal that table's rows; at the end
 *            the missing and different keys planted are counted by kind.
 *   stdout   replicate --to stdout --metrics-addr: pghost_rows_copied_total equals the table's
 *            rows and the changes applied count a writer's changes, by kind.
 *
 * Usage: it_metrics CASE
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pgh_run.h"

#define ROWS 200000
#define MAX_SAMPLES 256

/* ---- HTTP ---------------------------------------------------------------------------------- */

/* GET path on 127.0.0.1:port; returns the status code (0: no answer) and the body (malloc'd)
 * in *body when not NULL. */
static int http_get(int port, const char *path, char **body)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (body)
        *body = NULL;
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    char req[256];
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n", path);
    PGH_CHECK(write(fd, req, (size_t)n) == n, "sending the request");
    size_t len = 0, cap = 1 << 16;
    char *buf = malloc(cap + 1);
    ssize_t got;
    while ((got = read(fd, buf + len, cap - len)) > 0) {
        len += (size_t)got;
        if (len == cap)
            buf = realloc(buf, (cap *= 2) + 1);
    }
    close(fd);
    buf[len] = '\0';
    int status = 0;
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
        status = 0;
    char *start = strstr(buf, "\r\n\r\n");
    if (body && start)
        *body = strdup(start + 4);
    free(buf);
    return status;
}

/* ---- a strict parser of Prometheus' text format (0.0.4) ---------------------------------- */

typedef struct sample {
    char key[256]; /* name{labels} as written, the identity of the series */
    char name[128];
    double value;
    bool counter;
} sample;

typedef struct scrape {
    sample s[MAX_SAMPLES];
    int n;
} scrape;

typedef struct family {
    char name[128];
    char type[16];
    bool help, samples;
} family;

static bool name_ok(const char *s, size_t n, bool metric)
{
    if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_' || (metric && s[0] == ':')))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || (metric && s[i] == ':')))
            return false;
    return true;
}

/* A value: a float as strtod reads it, or NaN, +Inf, -Inf; the whole of s. */
static bool value_ok(double *out, const char *s)
{
    if (strcmp(s, "NaN") == 0 || strcmp(s, "+Inf") == 0 || strcmp(s, "-Inf") == 0) {
        *out = s[0] == 'N' ? NAN : (s[0] == '+' ? INFINITY : -INFINITY);
        return true;
    }
    char *end = NULL;
    *out = strtod(s, &end);
    return end != s && *end == '\0' && !isspace((unsigned char)s[0]);
}

/* Labels after '{' up to the matching '}': name="value" pairs, values escaped with \\ \" \n
 * only, comma-separated (a trailing comma allowed). Returns the position after '}' or NULL. */
static const char *parse_labels(const char *p, int line)
{
    for (;;) {
        if (*p == '}')
            return p + 1;
        const char *n = p;
        while (isalnum((unsigned char)*p) || *p == '_')
            p++;
        PGH_CHECK(name_ok(n, (size_t)(p - n), false) && strncmp(n, "__", 2) != 0,
                  "line %d: bad label name", line);
        PGH_CHECK(p[0] == '=' && p[1] == '"', "line %d: label without =\"", line);
        for (p += 2; *p != '"'; p++) {
            PGH_CHECK(*p != '\0' && *p != '\n', "line %d: unterminated label value", line);
            if (*p == '\\') {
                p++;
                PGH_CHECK(*p == '\\' || *p == '"' || *p == 'n', "line %d: bad escape", line);
            }
        }
        p++;
        if (*p == ',')
            p++;
        else
            PGH_CHECK(*p == '}', "line %d: expected , or } after a label", line);
    }
}

static family *find_family(family *f, int nf, const char *name)
{
    for (int i = 0; i < nf; i++)
        if (strcmp(f[i].name, name) == 0)
            return &f[i];
    return NULL;
}

static void parse_comment(const char *l, family *f, int *nf, int line)
{
    char kind[8], name[128];
    int off = 0;
    PGH_CHECK(sscanf(l, "# %7s %127s %n", kind, name, &off) == 2 &&
                  (strcmp(kind, "HELP") == 0 || strcmp(kind, "TYPE") == 0),
              "line %d: a comment that is not HELP or TYPE: %s", line, l);
    PGH_CHECK(name_ok(name, strlen(name), true), "line %d: bad metric name %s", line, name);
    family *fam = find_family(f, *nf, name);
    if (fam == NULL) {
        PGH_CHECK(*nf < MAX_SAMPLES, "too many families");
        fam = &f[(*nf)++];
        memset(fam, 0, sizeof(*fam));
        snprintf(fam->name, sizeof(fam->name), "%s", name);
    }
    PGH_CHECK(!fam->samples, "line %d: %s after samples of %s", line, kind, name);
    if (kind[0] == 'H') {
        PGH_CHECK(!fam->help && off > 0 && l[off] != '\0', "line %d: HELP twice or empty", line);
        fam->help = true;
        return;
    }
    PGH_CHECK(fam->type[0] == '\0', "line %d: TYPE twice for %s", line, name);
    const char *t = l + off;
    PGH_CHECK(strcmp(t, "counter") == 0 || strcmp(t, "gauge") == 0 || strcmp(t, "untyped") == 0 ||
                  strcmp(t, "histogram") == 0 || strcmp(t, "summary") == 0,
              "line %d: bad type \"%s\"", line, t);
    snprintf(fam->type, sizeof(fam->type), "%s", t);
}

static void parse_sample(const char *l, family *f, int nf, scrape *out, int line)
{
    const char *p = l;
    while (isalnum((unsigned char)*p) || *p == '_' || *p == ':')
        p++;
    size_t nlen = (size_t)(p - l);
    PGH_CHECK(name_ok(l, nlen, true) && nlen < 128, "line %d: bad metric name: %s", line, l);
    if (*p == '{')
        p = parse_labels(p + 1, line);
    PGH_CHECK(*p == ' ', "line %d: no space before the value: %s", line, l);
    char key[256];
    PGH_CHECK((size_t)(p - l) < sizeof(key), "line %d: series too long", line);
    memcpy(key, l, (size_t)(p - l));
    key[p - l] = '\0';
    char valbuf[64];
    PGH_CHECK(sscanf(p + 1, "%63s", valbuf) == 1, "line %d: no value", line);
    const char *rest = p + 1 + strlen(valbuf);
    PGH_CHECK(*rest == '\0', "line %d: something after the value (timestamps unused): %s", line, l);
    double v;
    PGH_CHECK(value_ok(&v, valbuf), "line %d: bad value \"%s\"", line, valbuf);
    char name[128];
    memcpy(name, l, nlen);
    name[nlen] = '\0';
    family *fam = find_family(f, nf, name);
    PGH_CHECK(fam && fam->help && fam->type[0], "line %d: %s has no HELP and TYPE before it", line,
              name);
    fam->samples = true;
    bool counter = strcmp(fam->type, "counter") == 0;
    PGH_CHECK(!counter || (nlen > 6 && strcmp(name + nlen - 6, "_total") == 0),
              "line %d: counter %s does not end in _total", line, name);
    PGH_CHECK(strncmp(name, "pghost_", 7) == 0, "line %d: %s is not pghost_*", line, name);
    for (int i = 0; i < out->n; i++)
        PGH_CHECK(strcmp(out->s[i].key, key) != 0, "line %d: series %s twice", line, key);
    PGH_CHECK(out->n < MAX_SAMPLES, "too many samples");
    sample *s = &out->s[out->n++];
    snprintf(s->key, sizeof(s->key), "%s", key);
    snprintf(s->name, sizeof(s->name), "%s", name);
    s->value = v;
    s->counter = counter;
}

/* Parse a whole exposition; every line must be valid and the text end with a newline. */
static void parse_exposition(scrape *out, const char *text)
{
    static family f[MAX_SAMPLES];
    int nf = 0;
    out->n = 0;
    PGH_CHECK(text[0] && text[strlen(text) - 1] == '\n', "the exposition must end with \\n");
    int line = 0;
    for (const char *l = text; *l; line++) {
        const char *nl = strchr(l, '\n');
        char buf[1024];
        size_t n = (size_t)(nl - l);
        PGH_CHECK(n < sizeof(buf), "line %d too long", line);
        memcpy(buf, l, n);
        buf[n] = '\0';
        PGH_CHECK(n > 0, "line %d is empty", line);
        if (buf[0] == '#')
            parse_comment(buf, f, &nf, line);
        else
            parse_sample(buf, f, nf, out, line);
        l = nl + 1;
    }
}

static double value_of(const scrape *s, const char *key)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->s[i].key, key) == 0)
            return s->s[i].value;
    return -1;
}

/* Counters only grow: every counter series of before is in after, not smaller. */
static void check_grows(const scrape *before, const scrape *after)
{
    for (int i = 0; i < before->n; i++) {
        if (!before->s[i].counter)
            continue;
        double v = value_of(after, before->s[i].key);
        PGH_CHECK(v >= before->s[i].value, "counter %s went from %.0f to %.0f", before->s[i].key,
                  before->s[i].value, v);
    }
}

/* Scrape /metrics, parse every line, check the counters grew since *last; *last = this one. */
static void scrape_once(int port, scrape *last, scrape *now)
{
    char *body = NULL;
    int status = http_get(port, "/metrics", &body);
    PGH_CHECK(status == 200 && body, "GET /metrics answered %d", status);
    parse_exposition(now, body);
    free(body);
    if (last->n)
        check_grows(last, now);
    *last = *now;
}

/* ---- the metrics case ------------------------------------------------------------------- */

typedef struct writes {
    atomic_long kind[3]; /* insert, update, delete done */
} writes;

/* One change per statement: insert a new key, update an initial row, delete the row inserted
 * two writes before. */
static bool write_one(PGconn *conn, pgh_run_writer *w, void *payload)
{
    writes *wr = payload;
    long m = ++w->mark;
    char sql[160];
    int k = (int)(m % 3);
    if (k == 0)
        snprintf(sql, sizeof(sql), "INSERT INTO t VALUES (%ld, 1, 'w')", 1000000 + m);
    else if (k == 1)
        snprintf(sql, sizeof(sql), "UPDATE t SET v = v + 1 WHERE id = %ld", 10 + m % 1000);
    else
        snprintf(sql, sizeof(sql), "DELETE FROM t WHERE id = %ld", 1000000 + m - 2);
    bool ok = pgh_run_sql_ok(conn, sql);
    if (ok)
        atomic_fetch_add(&wr->kind[k], 1);
    return ok;
}

static void check_json_logs(const char *text)
{
    int lines = 0;
    for (const char *l = text; *l; lines++) {
        const char *nl = strchr(l, '\n');
        PGH_CHECK(nl, "a log line without newline");
        json_error_t e;
        json_t *o = json_loadb(l, (size_t)(nl - l), 0, &e);
        PGH_CHECK(json_is_object(o), "log line %d is not a JSON object (%s): %.*s", lines, e.text,
                  (int)(nl - l), l);
        const char *time = json_string_value(json_object_get(o, "time"));
        int y, mo, d, h, mi;
        double s;
        char z = 0;
        PGH_CHECK(time && strlen(time) == 24 &&
                      sscanf(time, "%4d-%2d-%2dT%2d:%2d:%6lf%c", &y, &mo, &d, &h, &mi, &s, &z) ==
                          7 &&
                      z == 'Z',
                  "log line %d: time is not RFC 3339 UTC: %s", lines, time ? time : "(none)");
        PGH_CHECK(json_string_value(json_object_get(o, "level")) &&
                      json_string_value(json_object_get(o, "message")) &&
                      json_string_value(json_object_get(o, "component")),
                  "log line %d lacks level, message or component", lines);
        json_decref(o);
        l = nl + 1;
    }
    PGH_CHECK(lines >= 3, "only %d log lines", lines);
    printf("%d JSON log lines parse\n", lines);
}

static void wait_ready(int port, int want, int timeout_s, pid_t pid, const pgh_run *r)
{
    for (int i = 0; i < timeout_s * 10; i++) {
        if (http_get(port, "/readyz", NULL) == want)
            return;
        PGH_CHECK(pgh_test_pid_alive(pid), "pghost exited: %s", pgh_run_stderr(r, 0));
        pgh_run_sleep_ms(100);
    }
    pgh_test_fail("/readyz never answered %d", want);
}

static void setup(pgh_run_pair *p, pgh_run *r, const char *stem, int rows)
{
    /* the destination is killed: what it acknowledged must survive (pgh_test_server_kill) */
    pgh_run_pair_start(p, NULL, "synchronous_commit = on");
    const char *ddl = "CREATE TABLE t (id bigint PRIMARY KEY, v int NOT NULL, note text)";
    pgh_test_exec(p->s, "%s", ddl);
    pgh_test_exec(p->d, "%s", ddl);
    pgh_test_exec(p->s,
                  "INSERT INTO t SELECT g, 0, md5(g::text) FROM generate_series(1, %d) g;"
                  "CREATE PUBLICATION pub FOR TABLE t",
                  rows);
    pgh_run_init(r, p, PGH_BINARY, stem, "metrics.yaml");
    pgh_run_write_config(r,
                         "source_connection: %s\ndestination_connection: %s\npublication_name: "
                         "pub\nsource_table_name: t\ncopy_batch_size: 1000\n"
                         "copy_worker_count: 1\n",
                         p->src_conninfo, p->dst_conninfo);
}

static void case_metrics(void)
{
    pgh_run_pair p;
    pgh_run r;
    setup(&p, &r, "m", ROWS);
    int port = pgh_test_free_port();
    char addr[32];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    pid_t pid = pgh_run_spawn(&r, "replicate", "--follow", "--no-progress", "--log-format", "json",
                              "--metrics-addr", addr, NULL);
    static scrape last, now;
    int scrapes = 0, copy_scrapes = 0;
    /* during the copy: until the destination records the follow phase */
    for (int i = 0; i < 1200; i++) {
        PGH_CHECK(pgh_test_pid_alive(pid), "pghost exited: %s", pgh_run_stderr(&r, 0));
        if (http_get(port, "/healthz", NULL) == 200) {
            scrape_once(port, &last, &now);
            scrapes++;
            copy_scrapes += value_of(&now, "pghost_phase{phase=\"copy\"}") == 1;
        }
        char *phase = pgh_run_phase(&p);
        bool following = strcmp(phase, "follow") == 0;
        free(phase);
        if (following)
            break;
        pgh_run_sleep_ms(100);
    }
    pgh_run_wait_follow(&r, pid);
    printf("%d scrapes before following, %d in the copy\n", scrapes, copy_scrapes);
    PGH_CHECK(copy_scrapes >= 1, "no scrape saw the copy phase");
    wait_ready(port, 200, 30, pid, &r);
    PGH_CHECK(http_get(port, "/healthz", NULL) == 200, "/healthz");
    PGH_CHECK(http_get(port, "/nothing", NULL) == 404, "/nothing must be 404");
    /* following, with a writer */
    static writes wr;
    static pgh_run_writers ws;
    pgh_run_writers_opts wo = {.conninfo = p.src_conninfo,
                               .threads = 1,
                               .seed = 1,
                               .pause_ms = 2,
                               .reconnect_ms = -1,
                               .write = write_one,
                               .payload = &wr};
    pgh_run_writers_start(&ws, &wo);
    for (int i = 0; i < 15; i++) {
        scrape_once(port, &last, &now);
        pgh_run_sleep_ms(100);
    }
    /* the destination goes away: not ready while reconnecting, ready again after */
    PGH_CHECK(pgh_test_server_kill(&p.dst) == 0, "killing the destination");
    wait_ready(port, 503, 30, pid, &r);
    PGH_CHECK(pgh_test_server_restart(&p.dst) == 0, "restarting the destination");
    PQfinish(p.d);
    p.d = PQconnectdb(p.dst_conninfo);
    wait_ready(port, 200, 30, pid, &r);
    long done = pgh_run_writers_stop(&ws);
    pgh_run_fence_value(&r, pid, "t", 5, 7, NULL); /* one more update */
    scrape_once(port, &last, &now);
    pgh_run_stop(&r, pid, 30);
    /* the end: the copy's rows, the writes by kind (+ the fence's update), a reconnect */
    double copied = value_of(&now, "pghost_rows_copied_total{table=\"public.t\"}");
    double ins = value_of(&now, "pghost_changes_applied_total{kind=\"insert\"}");
    double upd = value_of(&now, "pghost_changes_applied_total{kind=\"update\"}");
    double del = value_of(&now, "pghost_changes_applied_total{kind=\"delete\"}");
    double txns = value_of(&now, "pghost_transactions_applied_total");
    double reconnects = value_of(&now, "pghost_reconnects_total");
    printf("copied %.0f; applied %.0f inserts, %.0f updates, %.0f deletes, %.0f transactions; "
           "%ld writes; %.0f reconnects\n",
           copied, ins, upd, del, txns, done, reconnects);
    PGH_CHECK(copied == ROWS, "rows copied %.0f, the table had %d", copied, ROWS);
    PGH_CHECK(ins == (double)atomic_load(&wr.kind[0]) &&
                  upd == (double)atomic_load(&wr.kind[1]) + 1 &&
                  del == (double)atomic_load(&wr.kind[2]),
              "changes applied differ from the writes: %ld inserts, %ld updates (+1), %ld deletes",
              atomic_load(&wr.kind[0]), atomic_load(&wr.kind[1]), atomic_load(&wr.kind[2]));
    PGH_CHECK(txns >= (double)done + 1, "transactions %.0f < writes %ld + 1", txns, done);
    PGH_CHECK(reconnects >= 1, "the destination's restart was not counted as a reconnect");
    PGH_CHECK(value_of(&now, "pghost_phase{phase=\"follow\"}") == 1, "phase is not follow");
    pgh_run_compare(&p, "SELECT * FROM t ORDER BY id", NULL, pgh_run_stderr(&r, 0));
    check_json_logs(pgh_run_stderr(&r, 0));
    pgh_test_exec(p.s, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots");
    pgh_run_pair_stop(&p);
}

/* ---- status --watch --------------------------------------------------------------------- */

static void case_watch(void)
{
    pgh_run_pair p;
    pgh_run r;
    setup(&p, &r, "w", ROWS);
    pid_t pid = pgh_run_spawn(&r, "replicate", "--follow", "--no-progress", NULL);
    /* interrupt the copy part-way: kill it once some batches are recorded */
    bool some = pgh_run_poll(&r, pid, p.d, 600, 50, "SELECT count(*) >= 20000 FROM t");
    PGH_CHECK(some, "the copy never reached 20000 rows");
    pgh_run_kill(pid);
    char *count = pgh_test_value(p.d, "SELECT count(*) FROM t");
    long long on_dst = atoll(count);
    free(count);
    int rc = pgh_run_exec(&r, 30, "status", NULL);
    const char *out = pgh_run_stdout(&r, 0);
    printf("status at %lld of %d rows:\n%s", on_dst, ROWS, out);
    PGH_CHECK(rc == 0, "status failed: %s", pgh_run_stderr(&r, 0));
    char want[128];
    snprintf(want, sizeof(want), "%lld rows copied", on_dst);
    PGH_CHECK(strstr(out, want), "status does not say \"%s\"", want);
    /* --watch: at least two refreshes, each with rates, until SIGINT */
    pid = pgh_run_spawn(&r, "status", "--watch", NULL);
    pgh_run_sleep_ms(2600);
    kill(pid, SIGINT);
    rc = pgh_run_wait(&r, pid, 10);
    out = pgh_run_stdout(&r, 0);
    int refreshes = 0, rates = 0;
    for (const char *s = out; (s = strstr(s, "slot ")) != NULL; s++)
        refreshes += s == out || s[-1] == '\n';
    for (const char *s = out; (s = strstr(s, "/s")) != NULL; s++)
        rates++;
    printf("status --watch: %d refreshes, %d rates, exit %d\n", refreshes, rates, rc);
    PGH_CHECK(rc == 0, "status --watch exited %d: %s", rc, pgh_run_stderr(&r, 0));
    PGH_CHECK(refreshes >= 2 && rates >= 2, "status --watch: %s", out);
    pgh_test_exec(p.s, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots");
    pgh_run_pair_stop(&p);
}

/* ---- --log-level debug ----------------------------------------------------------------- */

#define DEBUG_ROWS 30000
#define PASSWORD "Pl41n-S3cret-pw"

/* The records of stderr from component with a message starting with prefix, for table. */
static int debug_records(json_t **out, int max, const char *text, const char *component,
                         const char *prefix)
{
    int n = 0;
    for (const char *l = text; *l;) {
        const char *nl = strchr(l, '\n');
        PGH_CHECK(nl, "a log line without newline");
        json_t *o = json_loadb(l, (size_t)(nl - l), 0, NULL);
        PGH_CHECK(json_is_object(o), "not a JSON object: %.*s", (int)(nl - l), l);
        const char *c = json_string_value(json_object_get(o, "component"));
        const char *m = json_string_value(json_object_get(o, "message"));
        const char *lv = json_string_value(json_object_get(o, "level"));
        if (c && m && lv && strcmp(c, component) == 0 && strncmp(m, prefix, strlen(prefix)) == 0) {
            PGH_CHECK(strcmp(lv, "debug") == 0, "%s record at level %s", prefix, lv);
            PGH_CHECK(n < max, "more than %d %s records", max, prefix);
            out[n++] = o;
        } else {
            json_decref(o);
        }
        l = nl + 1;
    }
    return n;
}

static const char *field(json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v ? v : "";
}

/* The copy plan record; returns the number of ranges. */
static long long check_plan(const char *err)
{
    json_t *rec[8];
    int n = debug_records(rec, 8, err, "copy", "copy plan: ");
    PGH_CHECK(n == 1, "%d copy plan records for one table", n);
    char key[64];
    long long ranges = 0, batch = 0;
    int bounds = -1, workers = 0;
    const char *m = field(rec[0], "message");
    PGH_CHECK(sscanf(m,
                     "copy plan: key (%63[^)]), %lld ranges (keyset, %d bounds), batch %lld "
                     "rows, %d workers",
                     key, &ranges, &bounds, &batch, &workers) == 5,
              "copy plan record: %s", m);
    printf("plan: %s\n", m);
    PGH_CHECK(strcmp(field(rec[0], "table"), "public.t") == 0, "plan's table: %s",
              field(rec[0], "table"));
    PGH_CHECK(strcmp(key, "id") == 0 && ranges >= 2 && bounds == ranges - 1 && batch == 1000 &&
                  workers == 2,
              "copy plan numbers: %s", m);
    json_decref(rec[0]);
    return ranges;
}

#define MAX_RANGES 64

/* The ranges hold the rows the plan meant them to (the key sample takes enough pages: sampling
 * by rows alone took a few pages of 30,000 rows for 8 ranges, and ranges of a dozen rows beside
 * ranges of thousands). The plan tapers them towards the end (source/copy_taper.h), down to
 * 1/(16 * workers) of the rows: each range holds at least a third of that. */
static void check_balance(const long long *per_range, long long nranges, int workers)
{
    long long least = DEBUG_ROWS, most = 0;
    for (long long i = 0; i < nranges; i++) {
        least = per_range[i] < least ? per_range[i] : least;
        most = per_range[i] > most ? per_range[i] : most;
    }
    printf("rows per range: %lld to %lld over %lld ranges\n", least, most, nranges);
    PGH_CHECK(least * 3 * 16 * workers >= DEBUG_ROWS,
              "unequal copy ranges: the smallest of %lld has %lld rows of %d", nranges, least,
              DEBUG_ROWS);
}

static void check_batches(const char *err, long long nranges)
{
    static json_t *rec[1000];
    long long per_range[MAX_RANGES] = {0};
    PGH_CHECK(nranges >= 1 && nranges <= MAX_RANGES, "%lld ranges", nranges);
    int n = debug_records(rec, 1000, err, "copy", "batch of range ");
    long long rows = 0;
    for (int i = 0; i < n; i++) {
        const char *m = field(rec[i], "message");
        long long range, r, limit, bytes;
        int worker;
        double stmt_ms = -1, src_ms = -1, dst_ms = -1;
        PGH_CHECK(sscanf(m,
                         "batch of range %lld (worker %d): %lld rows of limit %lld, %lld bytes, "
                         "source statement %lf ms, source read %lf ms, destination write %lf ms",
                         &range, &worker, &r, &limit, &bytes, &stmt_ms, &src_ms, &dst_ms) == 8,
                  "batch record: %s", m);
        PGH_CHECK(strcmp(field(rec[i], "table"), "public.t") == 0, "batch's table: %s",
                  field(rec[i], "table"));
        PGH_CHECK(r >= 0 && r <= limit && limit >= 1 && limit <= 1000 &&
                      (r == 0 || bytes > r * 8) && stmt_ms >= 0 && src_ms >= 0 && dst_ms >= 0,
                  "batch numbers: %s", m);
        PGH_CHECK((r < limit) == (strstr(m, "; range done") != NULL),
                  "a batch ends its range exactly when shorter than its own limit: %s", m);
        PGH_CHECK(range >= 0 && range < nranges, "batch of range %lld of %lld", range, nranges);
        per_range[range] += r;
        rows += r;
        json_decref(rec[i]);
    }
    printf("%d batch records, %lld rows\n", n, rows);
    PGH_CHECK(n >= DEBUG_ROWS / 1000, "only %d batch records", n);
    PGH_CHECK(rows == DEBUG_ROWS, "batch records add up to %lld rows, the table has %d", rows,
              DEBUG_ROWS);
    check_balance(per_range, nranges, 2); /* the plan record says 2 workers */
}

static void case_debuglog(void)
{
    pgh_run_pair p;
    pgh_run r;
    pgh_run_pair_start(&p, NULL, NULL);
    const char *ddl = "CREATE TABLE t (id bigint PRIMARY KEY, v int NOT NULL, note text)";
    pgh_test_exec(p.s, "%s", ddl);
    pgh_test_exec(p.d, "%s", ddl);
    pgh_test_exec(p.s,
                  "INSERT INTO t SELECT g, 0, md5(g::text) FROM generate_series(1, %d) g;"
                  "ANALYZE t; CREATE PUBLICATION pub FOR TABLE t",
                  DEBUG_ROWS);
    pgh_run_init(&r, &p, PGH_BINARY, "d", "debug.yaml");
    /* trust authentication ignores the password: it is only there to be looked for */
    pgh_run_write_config(&r,
                         "source_connection: %s password=" PASSWORD "\n"
                         "destination_connection: %s password=" PASSWORD "\n"
                         "publication_name: pub\nsource_table_name: t\ncopy_batch_size: 1000\n"
                         "copy_worker_count: 2\n",
                         p.src_conninfo, p.dst_conninfo);
    int rc = pgh_run_exec(&r, 60, "replicate", "--no-progress", "--log-level", "debug",
                          "--log-format", "json", NULL);
    const char *err = pgh_run_stderr(&r, 0);
    PGH_CHECK(rc == 0, "replicate failed: %s", err);
    pgh_run_compare(&p, "SELECT * FROM t ORDER BY id", NULL, err);
    check_json_logs(err);
    long long nranges = check_plan(err);
    check_batches(err, nranges);
    json_t *rec[64];
    int n = debug_records(rec, 64, err, "catch-up", "replayed to ");
    PGH_CHECK(n >= 1, "no catch-up position record");
    for (int i = 0; i < n; i++)
        json_decref(rec[i]);
    PGH_CHECK(strstr(err, PASSWORD) == NULL, "the password is in stderr");
    PGH_CHECK(strstr(pgh_run_stdout(&r, 0), PASSWORD) == NULL, "the password is in stdout");
    pgh_run_pair_stop(&p);
}

/* ---- verify --metrics-addr --------------------------------------------------------------- */

/* Scrape until cond(now) holds; every scrape parsed, counters growing. */
static void scrape_until(int port, pid_t pid, const pgh_run *r, scrape *last, scrape *now,
                         const char *key, double want)
{
    for (int i = 0; i < 600; i++) {
        PGH_CHECK(pgh_test_pid_alive(pid), "pghost exited: %s", pgh_run_stderr(r, 0));
        if (http_get(port, "/healthz", NULL) == 200) {
            scrape_once(port, last, now);
            if (value_of(now, key) == want)
                return;
        }
        pgh_run_sleep_ms(100);
    }
    pgh_test_fail("%s never reached %.0f (last %.0f)", key, want, value_of(now, key));
}

static void case_verify(void)
{
    pgh_run_pair p;
    pgh_run r;
    setup(&p, &r, "v", 1);
    /* A two-column key: compared chunk by chunk (not by one scan), each chunk narrowed in its
     * own task, so every count is final before verify reaches t2. The same rows on the
     * destination, but for one missing and one different. */
    const char *ddl = "CREATE TABLE tv (id bigint, k int, note text, PRIMARY KEY (id, k))";
    pgh_test_exec(p.s, "%s", ddl);
    pgh_test_exec(p.d, "%s", ddl);
    char fill[160];
    snprintf(fill, sizeof(fill),
             "INSERT INTO tv SELECT g, g %% 7, md5(g::text) FROM generate_series(1, %d) g", ROWS);
    pgh_test_exec(p.s, "%s; ANALYZE tv", fill);
    pgh_test_exec(p.d, "%s WHERE g <> 77; UPDATE tv SET note = 'x' WHERE id = 78", fill);
    pgh_test_exec(p.s, "CREATE TABLE t2 (id int PRIMARY KEY); INSERT INTO t2 VALUES (1)");
    /* on the destination t2 is partitioned: describing it reads the parent only, comparing it
     * reads the partition, which the test locks */
    pgh_test_exec(p.d, "CREATE TABLE t2 (id int PRIMARY KEY) PARTITION BY RANGE (id);"
                       "CREATE TABLE t2_p PARTITION OF t2 FOR VALUES FROM (MINVALUE) TO "
                       "(MAXVALUE); INSERT INTO t2 VALUES (1)");
    pgh_run_write_config(&r,
                         "source_connection: %s\ndestination_connection: %s\n"
                         "publication_name: pub\ntables:\n  - source_table_name: tv\n"
                         "  - source_table_name: t2\n",
                         p.src_conninfo, p.dst_conninfo);
    /* t2's partition is locked on the destination: verify waits there after comparing tv */
    pgh_test_exec(p.d, "BEGIN; LOCK TABLE t2_p IN ACCESS EXCLUSIVE MODE");
    int port = pgh_test_free_port();
    char addr[32];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    pid_t pid = pgh_run_spawn(&r, "verify", "--jobs", "1", "--metrics-addr", addr, NULL);
    static scrape last, now;
    scrape_until(port, pid, &r, &last, &now, "pghost_verify_rows_total", ROWS);
    PGH_CHECK(value_of(&now, "pghost_phase{phase=\"verify\"}") == 1, "phase is not verify");
    PGH_CHECK(value_of(&now, "pghost_verify_ranges_total") >= 1, "no range counted");
    PGH_CHECK(http_get(port, "/readyz", NULL) == 200, "/readyz while verifying");
    pgh_run_sleep_ms(300);
    scrape_once(port, &last, &now);
    double rows = value_of(&now, "pghost_verify_rows_total");
    double missing = value_of(&now, "pghost_verify_differences_total{kind=\"missing\"}");
    double different = value_of(&now, "pghost_verify_differences_total{kind=\"different\"}");
    double extra = value_of(&now, "pghost_verify_differences_total{kind=\"extra\"}");
    printf("verify, waiting on t2: %.0f rows compared, %.0f missing, %.0f different, %.0f "
           "extra\n",
           rows, missing, different, extra);
    PGH_CHECK(rows == ROWS, "rows compared %.0f, the table has %d", rows, ROWS);
    PGH_CHECK(missing == 1 && different == 1 && extra == 0, "differences by kind");
    pgh_test_exec(p.d, "COMMIT");
    int rc = pgh_run_wait(&r, pid, 60);
    PGH_CHECK(rc == 1, "verify exited %d (1: rows differ): %s", rc, pgh_run_stderr(&r, 0));
    PGH_CHECK(strstr(pgh_run_stdout(&r, 0), "missing") != NULL, "no missing key listed: %s",
              pgh_run_stdout(&r, 0));
    pgh_run_pair_stop(&p);
}

/* ---- replicate --to stdout --metrics-addr ------------------------------------------------ */

#define STDOUT_ROWS 30000

static void case_stdout(void)
{
    pgh_run_pair p;
    pgh_run r;
    setup(&p, &r, "o", STDOUT_ROWS);
    pgh_run_write_config(&r,
                         "source_connection: %s\ndestination: stdout\npublication_name: pub\n"
                         "source_table_name: t\ncopy_batch_size: 1000\ncopy_worker_count: 2\n",
                         p.src_conninfo);
    int port = pgh_test_free_port();
    char addr[32];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    pid_t pid = pgh_run_spawn(&r, "replicate", "--no-progress", "--to=stdout", "--metrics-addr",
                              addr, NULL);
    static scrape last, now;
    scrape_until(port, pid, &r, &last, &now, "pghost_rows_copied_total{table=\"public.t\"}",
                 STDOUT_ROWS);
    PGH_CHECK(value_of(&now, "pghost_bytes_copied_total{table=\"public.t\"}") > STDOUT_ROWS * 8,
              "bytes copied %.0f", value_of(&now, "pghost_bytes_copied_total{table=\"public.t\"}"));
    /* changes: one insert, two updates, one delete, in one transaction */
    pgh_test_exec(p.s,
                  "BEGIN; INSERT INTO t VALUES (%d, 1, 'x'); UPDATE t SET v = 2 WHERE id "
                  "<= 2; DELETE FROM t WHERE id = 3; COMMIT",
                  STDOUT_ROWS + 1);
    scrape_until(port, pid, &r, &last, &now, "pghost_changes_applied_total{kind=\"delete\"}", 1);
    PGH_CHECK(value_of(&now, "pghost_changes_applied_total{kind=\"insert\"}") == 1 &&
                  value_of(&now, "pghost_changes_applied_total{kind=\"update\"}") == 2,
              "changes applied by kind");
    pgh_run_stop(&r, pid, 30);
    printf("--to stdout: %.0f rows copied\n",
           value_of(&now, "pghost_rows_copied_total{table=\"public.t\"}"));
    pgh_test_exec(p.s, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots");
    pgh_run_pair_stop(&p);
}

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "";
    if (strcmp(name, "metrics") == 0)
        case_metrics();
    else if (strcmp(name, "watch") == 0)
        case_watch();
    else if (strcmp(name, "debuglog") == 0)
        case_debuglog();
    else if (strcmp(name, "verify") == 0)
        case_verify();
    else if (strcmp(name, "stdout") == 0)
        case_stdout();
    else
        pgh_test_fail("usage: it_metrics metrics|watch|debuglog|verify|stdout");
    printf("PASS %s\n", name);
    return 0;
}
