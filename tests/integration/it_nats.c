/*
 * it_nats.c - the distributed mode end to end (docs/nats.md): a real nats-server with
 * JetStream, pghost capture from the source, and two appliers: pghost apply into PostgreSQL
 * and pghost apply --to stdout, whose JSON lines this test replays into a database of its own
 * (docs/json-lines.md's rules). Writers change the source the whole time (inserts, updates
 * leaving TOAST values unchanged or rewriting them, deletes, key moves, a TRUNCATE); capture
 * and appliers are killed with SIGKILL at random moments and started again. After a fence, the
 * full ordered dumps of the source, the PostgreSQL destination and the replayed lines must be
 * equal: nothing lost, nothing applied twice.
 *
 * Cases:
 *   single    2 kills of each process (default suite)
 * The source tables hold rows before the capture starts: they come through the stream in
 * watermarked chunks, to both appliers (the PostgreSQL destination takes them on its event
 * path, copy_method watermarks), whose tables start empty.
 *   stopped   the PostgreSQL applier stopped while the source keeps writing: the slot is
 *             confirmed past everything written (the source keeps no WAL for the applier),
 *             pghost status shows the applier's pending messages, then it catches up
 *   kill9     10 kills of each process, longer (label slow)
 *   cluster   a three-node JetStream cluster, the stream with 3 replicas: one node is killed
 *             with SIGKILL in the middle of the stream and started again, then another; a
 *             process that stops meanwhile (a publish JetStream could not take) is started
 *             again, as a supervisor would (label slow)
 *   bench     not a ctest entry: existing rows and a backlog of changes through one node into
 *             PostgreSQL, timed (the figures of docs/nats.md's capacity note)
 *   errors    a broker that is not there, a stream with other settings, bad credentials: one
 *             line each, the documented exit status, nothing made
 */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgh_nats.h"
#include "pgh_run.h"

#define BIG "(SELECT string_agg(md5(random()::text), '') FROM generate_series(1, 150))"
#define KEYS 1500

static const char *const TABLES[] = {"t_a", "t_b"};

typedef struct ctx {
    pgh_run_pair p;
    pgh_nats nats;
    pgh_run cap, pg, js; /* capture, apply to PostgreSQL, apply to stdout */
    pid_t cap_pid, pg_pid, js_pid;
    char lines[PGH_RUN_FILE_MAX];
    PGconn *replay;      /* the database the lines are replayed into */
    long offset;         /* bytes of lines consumed */
    char last_pos[128];  /* highest position applied: commit_lsn|lsn|seq, zero-padded */
    long replayed, skipped, torn;
    pgh_run_writers ws;
} ctx;

/* ---- setup ---- */

static void create_tables(PGconn *c)
{
    for (int i = 0; i < 2; i++)
        pgh_test_exec(c, "CREATE TABLE %s (id int PRIMARY KEY, v int NOT NULL, big text)",
                      TABLES[i]);
}

static void write_configs(ctx *c, int nodes)
{
    const char *tables = "tables:\n  - source_table_name: t_a\n  - source_table_name: t_b\n";
    pgh_run_write_config(&c->cap, "source_connection: %s\ndestination: nats\npublication_name: pub\n%s"
                         "nats_url: %s\nnats_replicas: %d\n",
                         c->p.src_conninfo, tables, c->nats.url, nodes);
    pgh_run_write_config(&c->pg,
                         "source: nats\npublication_name: pub\ndestination_connection: %s\n%s"
                         "nats_url: %s\nnats_consumer: pg_apply\n",
                         c->p.dst_conninfo, tables, c->nats.url);
    pgh_run_write_config(&c->js,
                         "source: nats\npublication_name: pub\ndestination: stdout\n%s"
                         "nats_url: %s\nnats_consumer: json_apply\n",
                         tables, c->nats.url);
}

static void setup_nodes(ctx *c, int nodes)
{
    pgh_run_pair_start(&c->p, NULL, NULL);
    pgh_nats_start(&c->nats, nodes, c->p.src.dir, NULL);
    create_tables(c->p.s);
    create_tables(c->p.d);
    for (int i = 0; i < 2; i++) { /* rows before the capture, some TOASTed */
        char sql[512];
        snprintf(sql, sizeof(sql),
                 "INSERT INTO %s SELECT g, g, CASE WHEN g %% 40 = 0 THEN (SELECT "
                 "string_agg(md5(g::text || s::text), '') FROM generate_series(1, 150) s) ELSE "
                 "md5(g::text) END FROM generate_series(1, %d) g",
                 TABLES[i], KEYS);
        pgh_test_exec(c->p.s, "%s", sql);
    }
    pgh_test_exec(c->p.s, "ANALYZE; CREATE PUBLICATION pub FOR TABLE t_a, t_b");
    PGH_CHECK(pgh_test_create_db(&c->p.dst, "replay") == 0, "cannot create database replay");
    c->replay = pgh_test_connect(&c->p.dst, "replay");
    create_tables(c->replay);
    pgh_run_init(&c->cap, &c->p, PGH_BINARY, "cap", "capture.yaml");
    pgh_run_init(&c->pg, &c->p, PGH_BINARY, "pg", "apply_pg.yaml");
    pgh_run_init(&c->js, &c->p, PGH_BINARY, "js", "apply_js.yaml");
    snprintf(c->lines, sizeof(c->lines), "%s/lines.jsonl", c->p.src.dir);
    snprintf(c->js.append_out, sizeof(c->js.append_out), "%s", c->lines);
    FILE *f = fopen(c->lines, "w");
    PGH_CHECK(f != NULL && fclose(f) == 0, "cannot create %s", c->lines);
    write_configs(c, nodes);
}

static void setup(ctx *c)
{
    setup_nodes(c, 1);
}

/* ---- writers ---- */

static bool write_txn(PGconn *conn, pgh_run_writer *w, void *payload)
{
    (void)payload;
    char sql[2048];
    size_t len = (size_t)snprintf(sql, sizeof(sql), "BEGIN;");
    int n = 1 + (int)(pgh_run_random(&w->rng) % 4);
    for (int i = 0; i < n; i++) {
        const char *t = TABLES[pgh_run_random(&w->rng) % 2];
        int k = 1 + (int)(pgh_run_random(&w->rng) % KEYS);
        int k2 = 1 + (int)(pgh_run_random(&w->rng) % KEYS);
        switch (pgh_run_random(&w->rng) % 8) {
        case 0:
        case 1:
            len += (size_t)snprintf(sql + len, sizeof(sql) - len,
                                    "INSERT INTO %s VALUES (%d, %d, %s) ON CONFLICT (id) DO "
                                    "UPDATE SET v = excluded.v;",
                                    t, k, k2, k % 5 == 0 ? BIG : "md5(random()::text)");
            break;
        case 2:
        case 3: /* TOAST left unchanged */
            len += (size_t)snprintf(sql + len, sizeof(sql) - len,
                                    "UPDATE %s SET v = v + 1 WHERE id = %d;", t, k);
            break;
        case 4:
            len += (size_t)snprintf(sql + len, sizeof(sql) - len,
                                    "UPDATE %s SET big = %s WHERE id = %d;", t,
                                    k % 2 ? BIG : "md5(random()::text)", k);
            break;
        case 5:
        case 6:
            len += (size_t)snprintf(sql + len, sizeof(sql) - len, "DELETE FROM %s WHERE id = %d;",
                                    t, k);
            break;
        default: /* a key move (fails on a taken key: the transaction then counts as bad) */
            len += (size_t)snprintf(sql + len, sizeof(sql) - len,
                                    "UPDATE %s SET id = %d WHERE id = %d;", t, k2, k);
        }
    }
    snprintf(sql + len, sizeof(sql) - len, "COMMIT;");
    bool ok = pgh_run_sql_ok(conn, sql);
    if (!ok)
        pgh_run_sql_ok(conn, "ROLLBACK");
    return ok;
}

static void start_writers(ctx *c, unsigned seed)
{
    pgh_run_writers_opts o = {.conninfo = c->p.src_conninfo, .threads = 3, .seed = seed,
                              .pause_ms = 5, .reconnect_ms = 100, .write = write_txn,
                              .payload = c};
    pgh_run_writers_start(&c->ws, &o);
}

/* ---- the replay of the JSON lines ---- */

static void pos_of(char *out, size_t n, json_t *o)
{
    unsigned a = 0, b = 0, x = 0, y = 0;
    sscanf(json_string_value(json_object_get(o, "commit_lsn")), "%X/%X", &a, &b);
    sscanf(json_string_value(json_object_get(o, "lsn")), "%X/%X", &x, &y);
    json_t *seq = json_object_get(o, "seq");
    snprintf(out, n, "%08X%08X|%08X%08X|%012lld", a, b, x, y,
             json_is_integer(seq) ? (long long)json_integer_value(seq) : 0LL);
}

static void sql_params(ctx *c, const char *sql, int n, const char *const *vals)
{
    PGresult *res = PQexecParams(c->replay, sql, n, NULL, vals, NULL, NULL, 0);
    PGH_CHECK(PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK,
              "replay: %s: %s", sql, PQerrorMessage(c->replay));
    PQclear(res);
}

static char *text_of(json_t *v, char *buf, size_t n)
{
    if (v == NULL || json_is_null(v))
        return NULL;
    if (json_is_integer(v)) {
        snprintf(buf, n, "%lld", (long long)json_integer_value(v));
        return buf;
    }
    return (char *)json_string_value(v);
}

/* insert, update, snapshot: docs/json-lines.md "Rebuilding a table". */
static void replay_upsert(ctx *c, const char *t, json_t *o)
{
    char sql[256], kbuf[32], okbuf[32], vbuf[32];
    json_t *new = json_object_get(o, "new"), *unchanged = json_object_get(o, "unchanged");
    const char *key = text_of(json_object_get(json_object_get(o, "key"), "id"), kbuf, 32);
    json_t *old_key_o = json_object_get(o, "old_key");
    const char *old_key = old_key_o ? text_of(json_object_get(old_key_o, "id"), okbuf, 32) : NULL;
    char *big = text_of(json_object_get(new, "big"), NULL, 0);
    char *kept = NULL;
    if (json_array_size(unchanged) > 0) {
        const char *from = old_key ? old_key : key;
        snprintf(sql, sizeof(sql), "SELECT big FROM %s WHERE id = $1", t);
        PGresult *res = PQexecParams(c->replay, sql, 1, NULL, &from, NULL, NULL, 0);
        bool have = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
        kept = have && !PQgetisnull(res, 0, 0) ? strdup(PQgetvalue(res, 0, 0)) : NULL;
        PQclear(res);
        if (!have) {
            snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE id = $1", t);
            sql_params(c, sql, 1, &key);
            return;
        }
        big = kept;
    }
    if (old_key != NULL) {
        snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE id = $1", t);
        sql_params(c, sql, 1, (const char *const *)&old_key);
    }
    const char *vals[3] = {key, text_of(json_object_get(new, "v"), vbuf, 32), big};
    snprintf(sql, sizeof(sql),
             "INSERT INTO %s VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET v = excluded.v, "
             "big = excluded.big",
             t);
    sql_params(c, sql, 3, vals);
    free(kept);
}

static void replay_line(ctx *c, const char *line)
{
    json_t *o = json_loads(line, 0, NULL);
    if (o == NULL) {
        c->torn++;
        return;
    }
    char pos[128], kbuf[32], sql[256];
    pos_of(pos, sizeof(pos), o);
    if (strcmp(pos, c->last_pos) <= 0) {
        c->skipped++;
        json_decref(o);
        return;
    }
    snprintf(c->last_pos, sizeof(c->last_pos), "%s", pos);
    const char *op = json_string_value(json_object_get(o, "op"));
    const char *t = strchr(json_string_value(json_object_get(o, "table")), '.') + 1;
    if (strcmp(op, "insert") == 0 || strcmp(op, "update") == 0 || strcmp(op, "snapshot") == 0) {
        replay_upsert(c, t, o);
    } else if (strcmp(op, "delete") == 0) {
        const char *key = text_of(json_object_get(json_object_get(o, "key"), "id"), kbuf, 32);
        snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE id = $1", t);
        sql_params(c, sql, 1, &key);
    } else if (strcmp(op, "truncate") == 0) {
        snprintf(sql, sizeof(sql), "DELETE FROM %s", t);
        sql_params(c, sql, 0, NULL);
    }
    c->replayed++;
    json_decref(o);
}

/* Replay every whole line written so far. */
static void replay(ctx *c)
{
    FILE *f = fopen(c->lines, "r");
    PGH_CHECK(f != NULL, "cannot read %s", c->lines);
    fseek(f, c->offset, SEEK_SET);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    pgh_test_exec(c->replay, "BEGIN");
    while ((n = getline(&line, &cap, f)) > 0 && line[n - 1] == '\n') {
        c->offset += n;
        line[n - 1] = '\0';
        replay_line(c, line);
    }
    pgh_test_exec(c->replay, "COMMIT");
    free(line);
    fclose(f);
}

/* ---- steps ---- */

static pid_t spawn_capture(ctx *c)
{
    return pgh_run_spawn(&c->cap, "capture", NULL);
}

static pid_t spawn_pg(ctx *c)
{
    return pgh_run_spawn(&c->pg, "apply", NULL);
}

static pid_t spawn_js(ctx *c)
{
    return pgh_run_spawn(&c->js, "apply", "--to=stdout", NULL);
}

/* Kill one of the three processes with SIGKILL and start it again. */
static void kill_one(ctx *c, int which)
{
    if (which == 0) {
        pgh_run_kill(c->cap_pid);
        c->cap_pid = spawn_capture(c);
    } else if (which == 1) {
        pgh_run_kill(c->pg_pid);
        c->pg_pid = spawn_pg(c);
    } else {
        pgh_run_kill(c->js_pid);
        c->js_pid = spawn_js(c);
    }
}

static void check_alive(ctx *c)
{
    PGH_CHECK(pgh_test_pid_alive(c->cap_pid), "capture exited:\n%s", pgh_run_stderr(&c->cap, 0));
    PGH_CHECK(pgh_test_pid_alive(c->pg_pid), "apply (postgres) exited:\n%s",
              pgh_run_stderr(&c->pg, 0));
    PGH_CHECK(pgh_test_pid_alive(c->js_pid), "apply (stdout) exited:\n%s",
              pgh_run_stderr(&c->js, 0));
}

static void compare_all(ctx *c)
{
    char q[128], diff[1024];
    for (int i = 0; i < 2; i++) {
        snprintf(q, sizeof(q), "SELECT id, v, big FROM %s ORDER BY id", TABLES[i]);
        pgh_run_compare(&c->p, q, NULL, pgh_run_stderr(&c->pg, 0));
        long long rows = 0;
        int rc = pgh_test_compare_dumps(c->p.s, q, c->replay, q, diff, sizeof(diff), &rows);
        PGH_CHECK(rc == 0, "the replayed JSON lines differ from the source in %s: %s\n%s",
                  TABLES[i], diff, pgh_run_stderr(&c->js, 0));
        printf("replayed %s: %lld rows equal\n", TABLES[i], rows);
    }
}

static void run_scenario(ctx *c, int kills_each, int seconds, unsigned seed)
{
    setup(c);
    c->cap_pid = spawn_capture(c);
    PGH_CHECK(pgh_run_poll(&c->cap, c->cap_pid, c->p.s, 300, 100,
                           "SELECT count(*) = 1 FROM pg_replication_slots WHERE slot_name = "
                           "'pghost_pub'"),
              "capture made no slot:\n%s", pgh_run_stderr(&c->cap, 0));
    c->pg_pid = spawn_pg(c);
    c->js_pid = spawn_js(c);
    start_writers(c, seed);
    uint64_t rng = seed * 2654435761u + 1;
    int kills = kills_each * 3, done = 0;
    double t0 = pgh_run_now_ms(), step = seconds * 1000.0 / (kills + 1);
    bool truncated = false;
    while (done < kills) {
        pgh_run_sleep_ms((int)(step * (0.5 + (double)(pgh_run_random(&rng) % 1000) / 1000)));
        check_alive(c);
        kill_one(c, done % 3);
        done++;
        if (!truncated && pgh_run_now_ms() - t0 > seconds * 500.0) {
            pgh_test_exec(c->p.s, "TRUNCATE t_b");
            truncated = true;
        }
        replay(c);
    }
    pgh_run_sleep_ms(500);
    long writes = pgh_run_writers_stop(&c->ws);
    printf("%ld source transactions, %d kills\n", writes, kills);
    check_alive(c);
    pgh_run_fence_value(&c->pg, c->pg_pid, "t_a", -1, 4242, NULL);
    double until = pgh_run_now_ms() + 60000;
    for (;;) {
        replay(c);
        PGresult *res = PQexec(c->replay, "SELECT 1 FROM t_a WHERE id = -1 AND v = 4242");
        bool seen = PQntuples(res) == 1;
        PQclear(res);
        if (seen)
            break;
        PGH_CHECK(pgh_run_now_ms() < until, "the fence never reached the JSON lines:\n%s",
                  pgh_run_stderr(&c->js, 0));
        pgh_run_sleep_ms(50);
    }
    printf("lines: %ld replayed, %ld repeats skipped, %ld torn\n", c->replayed, c->skipped,
           c->torn);
    PGH_CHECK(c->torn <= kills_each, "%ld torn lines for %d kills", c->torn, kills_each);
    compare_all(c);
    /* A second applier on the same consumer is refused (exit 3), the first goes on. */
    int code = pgh_run_exec(&c->js, 30, "apply", "--to=stdout", NULL);
    PGH_CHECK(code == 3 && strstr(pgh_run_stderr(&c->js, 0), "is in use by another applier"),
              "a second applier on consumer json_apply exited %d:\n%s", code,
              pgh_run_stderr(&c->js, 0));
    check_alive(c);
    pgh_run_stop(&c->pg, c->pg_pid, 30);
    pgh_run_stop(&c->js, c->js_pid, 30);
    pgh_run_stop(&c->cap, c->cap_pid, 30);
}

/* ---- a three-node cluster ---- */

/* Start again what exited (a supervisor's restart); how many did. */
static int revive(ctx *c)
{
    int n = 0;
    if (!pgh_test_pid_alive(c->cap_pid)) {
        pgh_run_wait(&c->cap, c->cap_pid, 10);
        printf("capture exited: %s", pgh_run_stderr(&c->cap, 0));
        c->cap_pid = spawn_capture(c);
        n++;
    }
    if (!pgh_test_pid_alive(c->pg_pid)) {
        pgh_run_wait(&c->pg, c->pg_pid, 10);
        printf("apply (postgres) exited: %s", pgh_run_stderr(&c->pg, 0));
        c->pg_pid = spawn_pg(c);
        n++;
    }
    if (!pgh_test_pid_alive(c->js_pid)) {
        pgh_run_wait(&c->js, c->js_pid, 10);
        printf("apply (stdout) exited: %s", pgh_run_stderr(&c->js, 0));
        c->js_pid = spawn_js(c);
        n++;
    }
    return n;
}

/* Run for ms, reviving what exits. */
static int supervise(ctx *c, int ms)
{
    int n = 0;
    for (double until = pgh_run_now_ms() + ms; pgh_run_now_ms() < until;) {
        pgh_run_sleep_ms(200);
        n += revive(c);
        replay(c);
    }
    return n;
}

static void case_cluster(ctx *c)
{
    setup_nodes(c, 3);
    c->cap_pid = spawn_capture(c);
    PGH_CHECK(pgh_run_poll(&c->cap, c->cap_pid, c->p.s, 300, 100,
                           "SELECT count(*) = 1 FROM pg_replication_slots WHERE slot_name = "
                           "'pghost_pub'"),
              "capture made no slot:\n%s", pgh_run_stderr(&c->cap, 0));
    c->pg_pid = spawn_pg(c);
    c->js_pid = spawn_js(c);
    start_writers(c, 17);
    int restarts = supervise(c, 3000);
    for (int node = 0; node < 2; node++) {
        printf("killing NATS node %d\n", node + 1);
        pgh_nats_kill(&c->nats, node);
        restarts += supervise(c, 3000);
        pgh_nats_restart(&c->nats, node);
        restarts += supervise(c, 3000);
    }
    long writes = pgh_run_writers_stop(&c->ws);
    restarts += supervise(c, 1000);
    printf("%ld source transactions, 2 nodes killed, %d process restarts\n", writes, restarts);
    pgh_run_fence_value(&c->pg, c->pg_pid, "t_a", -1, 4242, NULL);
    double until = pgh_run_now_ms() + 60000;
    for (;;) {
        replay(c);
        PGresult *res = PQexec(c->replay, "SELECT 1 FROM t_a WHERE id = -1 AND v = 4242");
        bool seen = PQntuples(res) == 1;
        PQclear(res);
        if (seen)
            break;
        PGH_CHECK(pgh_run_now_ms() < until, "the fence never reached the JSON lines:\n%s",
                  pgh_run_stderr(&c->js, 0));
        revive(c);
        pgh_run_sleep_ms(50);
    }
    compare_all(c);
    pgh_run_stop(&c->pg, c->pg_pid, 30);
    pgh_run_stop(&c->js, c->js_pid, 30);
    pgh_run_stop(&c->cap, c->cap_pid, 30);
}

/* ---- an applier stopped for a while ---- */

/* pghost status on the PostgreSQL applier's file, as JSON: that applier's pending messages. */
static long long pending_of(ctx *c, const char *consumer)
{
    PGH_CHECK(pgh_run_exec(&c->pg, 30, "status", "--json", NULL) == 0, "pghost status failed:\n%s",
              pgh_run_stderr(&c->pg, 0));
    json_t *doc = json_loads(pgh_run_stdout(&c->pg, 0), 0, NULL);
    PGH_CHECK(doc != NULL, "pghost status --json printed no JSON:\n%s", pgh_run_stdout(&c->pg, 0));
    long long pending = -1;
    json_t *list = json_object_get(doc, "appliers");
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *a = json_array_get(list, i);
        if (strcmp(json_string_value(json_object_get(a, "consumer")), consumer) == 0)
            pending = json_integer_value(json_object_get(a, "pending")) +
                      json_integer_value(json_object_get(a, "ack_pending"));
    }
    json_decref(doc);
    PGH_CHECK(pending >= 0, "pghost status does not list %s:\n%s", consumer,
              pgh_run_stdout(&c->pg, 0));
    return pending;
}

#define T(what) printf("%.1f s: %s\n", (pgh_run_now_ms() - t0) / 1000, what)
static void case_stopped(ctx *c)
{
    double t0 = pgh_run_now_ms();
    setup(c);
    c->cap_pid = spawn_capture(c);
    PGH_CHECK(pgh_run_poll(&c->cap, c->cap_pid, c->p.s, 300, 100,
                           "SELECT count(*) = 1 FROM pg_replication_slots WHERE slot_name = "
                           "'pghost_pub'"),
              "capture made no slot:\n%s", pgh_run_stderr(&c->cap, 0));
    T("slot");
    c->pg_pid = spawn_pg(c);
    start_writers(c, 3);
    pgh_run_sleep_ms(1000);
    pgh_run_stop(&c->pg, c->pg_pid, 30);
    pgh_run_sleep_ms(2000); /* the source goes on writing, the applier is down */
    long writes = pgh_run_writers_stop(&c->ws);
    T("writers stopped");
    char *lsn = pgh_test_value(c->p.s, "SELECT pg_current_wal_lsn()");
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT confirmed_flush_lsn >= '%s' FROM pg_replication_slots WHERE slot_name = "
             "'pghost_pub'",
             lsn);
    PGH_CHECK(pgh_run_poll(&c->cap, c->cap_pid, c->p.s, 300, 100, sql),
              "the slot keeps WAL before %s while the applier is down", lsn);
    char *retained = pgh_test_value(c->p.s, "SELECT pg_current_wal_lsn() - confirmed_flush_lsn "
                                            "FROM pg_replication_slots WHERE slot_name = "
                                            "'pghost_pub'");
    T("confirmed");
    long long pending = pending_of(c, "pg_apply");
    T("status");
    printf("%ld transactions while the applier was down; slot confirmed past %s (%s bytes "
           "retained); the applier has %lld messages pending\n",
           writes, lsn, retained, pending);
    PGH_CHECK(pending > 0, "the stopped applier has nothing pending");
    /* the capture's file shows the slot and, below it, the appliers */
    PGH_CHECK(pgh_run_exec(&c->cap, 30, "status", NULL) == 0, "pghost status failed:\n%s",
              pgh_run_stderr(&c->cap, 0));
    PGH_CHECK(strstr(pgh_run_stdout(&c->cap, 0), "applier pg_apply (pghost.pghost_pub.>): ") &&
                  strstr(pgh_run_stdout(&c->cap, 0), "pghost_pub"),
              "pghost status on the capture's file:\n%s", pgh_run_stdout(&c->cap, 0));
    free(lsn);
    free(retained);
    c->pg_pid = spawn_pg(c);
    pgh_run_fence_value(&c->pg, c->pg_pid, "t_a", -1, 4242, NULL);
    T("fence");
    for (int i = 0; i < 2; i++) {
        snprintf(sql, sizeof(sql), "SELECT id, v, big FROM %s ORDER BY id", TABLES[i]);
        pgh_run_compare(&c->p, sql, NULL, pgh_run_stderr(&c->pg, 0));
    }
    pgh_run_stop(&c->pg, c->pg_pid, 30);
    PGH_CHECK(pending_of(c, "pg_apply") == 0, "the applier left messages pending");
    pgh_run_stop(&c->cap, c->cap_pid, 30);
}

/* ---- timing (it_nats bench ROWS CHANGES) ---- */

static void case_bench(ctx *c, int rows, int changes)
{
    setup(c);
    pgh_test_exec(c->p.s, "TRUNCATE t_a, t_b; INSERT INTO t_a SELECT g, g, md5(g::text) FROM "
                          "generate_series(1, %d) g; ANALYZE",
                  rows);
    double t0 = pgh_run_now_ms();
    c->cap_pid = spawn_capture(c);
    PGH_CHECK(pgh_run_poll(&c->cap, c->cap_pid, c->p.s, 300, 100,
                           "SELECT count(*) = 1 FROM pg_replication_slots WHERE slot_name = "
                           "'pghost_pub'"),
              "capture made no slot:\n%s", pgh_run_stderr(&c->cap, 0));
    c->pg_pid = spawn_pg(c);
    pgh_run_wait_follow(&c->pg, c->pg_pid); /* phase follow: every existing row applied */
    double t1 = pgh_run_now_ms();
    printf("existing rows: %d rows captured and applied in %.1f s (%.0f rows/s)\n", rows,
           (t1 - t0) / 1000, rows / ((t1 - t0) / 1000));
    pgh_run_stop(&c->pg, c->pg_pid, 30);
    /* a backlog: changes single-row transactions while the applier is down */
    pgh_test_exec(c->p.s,
                  "DO $$ BEGIN FOR i IN 1..%d LOOP UPDATE t_a SET v = v + 1 WHERE id = 1 + "
                  "(i * 7919) %% %d; COMMIT; END LOOP; END $$",
                  changes, rows);
    char *lsn = pgh_test_value(c->p.s, "SELECT pg_current_wal_lsn()");
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT confirmed_flush_lsn >= '%s' FROM pg_replication_slots WHERE slot_name = "
             "'pghost_pub'",
             lsn);
    double t2 = pgh_run_now_ms();
    PGH_CHECK(pgh_run_poll(&c->cap, c->cap_pid, c->p.s, 600, 100, sql), "capture lags");
    double t3 = pgh_run_now_ms();
    free(lsn);
    c->pg_pid = spawn_pg(c);
    pgh_run_fence_value(&c->pg, c->pg_pid, "t_b", -3, 3, NULL);
    double t4 = pgh_run_now_ms();
    printf("backlog: %d transactions applied from the stream in %.1f s (%.0f transactions/s); "
           "capture confirmed them %.1f s after they were written\n",
           changes, (t4 - t3) / 1000, changes / ((t4 - t3) / 1000), (t3 - t2) / 1000);
    char q[128];
    snprintf(q, sizeof(q), "SELECT id, v, big FROM t_a ORDER BY id");
    pgh_run_compare(&c->p, q, NULL, pgh_run_stderr(&c->pg, 0));
    pgh_run_stop(&c->pg, c->pg_pid, 30);
    pgh_run_stop(&c->cap, c->cap_pid, 30);
}

/* ---- errors ---- */

/* Run capture with config text; its exit code; stderr must be one line holding want and not
 * secret (may be NULL). */
static void expect_failure(ctx *c, const char *config, int want_code, const char *want,
                           const char *secret)
{
    pgh_run_write_config(&c->cap, "%s", config);
    int code = pgh_run_exec(&c->cap, 60, "capture", "--changes-only", NULL);
    const char *err = pgh_run_stderr(&c->cap, 0);
    printf("exit %d: %s", code, err);
    PGH_CHECK(code == want_code, "capture exited %d, expected %d:\n%s", code, want_code, err);
    PGH_CHECK(strstr(err, want) != NULL, "capture's message lacks \"%s\":\n%s", want, err);
    const char *nl = strchr(err, '\n');
    PGH_CHECK(nl != NULL && nl[1] == '\0', "capture wrote more than one line:\n%s", err);
    PGH_CHECK(secret == NULL || strstr(err, secret) == NULL, "the secret shows:\n%s", err);
}

static void no_slot(ctx *c, const char *slot)
{
    char *n = pgh_test_value(c->p.s, "SELECT count(*) FROM pg_replication_slots WHERE "
                                     "slot_name = '%s'", slot);
    PGH_CHECK(strcmp(n, "0") == 0, "slot %s was left behind", slot);
    free(n);
}

static void case_errors(ctx *c)
{
    pgh_run_pair_start(&c->p, NULL, NULL);
    create_tables(c->p.s);
    pgh_test_exec(c->p.s, "CREATE PUBLICATION pub FOR TABLE t_a, t_b");
    pgh_run_init(&c->cap, &c->p, PGH_BINARY, "cap", "capture.yaml");
    char cfg[2048], tokfile[PGH_RUN_FILE_MAX + 16];
#define BASE                                                                                       \
    "source_connection: %s\ndestination: nats\npublication_name: pub\nslot_name: %s\n"       \
    "tables:\n  - t_a\n"              \
    "nats_url: %s\nnats_token_file: %s\n%s"
    snprintf(tokfile, sizeof(tokfile), "%s/token", c->p.src.dir);
    FILE *f = fopen(tokfile, "w");
    PGH_CHECK(f && fputs("wrong-token-x1\n", f) >= 0 && fclose(f) == 0, "cannot write token");
    /* 1. nothing listens */
    char url[64];
    snprintf(url, sizeof(url), "nats://127.0.0.1:%d", pgh_test_free_port());
    snprintf(cfg, sizeof(cfg), BASE, c->p.src_conninfo, "s_unreach", url, tokfile, "");
    expect_failure(c, cfg, 1, "no NATS server answered at", NULL);
    no_slot(c, "s_unreach");
    /* 2. a server that wants another token */
    pgh_nats_start(&c->nats, 1, c->p.src.dir, "right-token-y2");
    snprintf(cfg, sizeof(cfg), BASE, c->p.src_conninfo, "s_badtoken", c->nats.url, tokfile, "");
    expect_failure(c, cfg, 2, "authorization", "wrong-token-x1");
    no_slot(c, "s_badtoken");
    /* 3. the stream exists with another max age (made by a capture that is then stopped) */
    f = fopen(tokfile, "w");
    PGH_CHECK(f && fputs("right-token-y2\n", f) >= 0 && fclose(f) == 0, "cannot write token");
    snprintf(cfg, sizeof(cfg), BASE, c->p.src_conninfo, "s_first", c->nats.url, tokfile,
             "nats_stream: S1\nnats_subject_prefix: p1\n");
    pgh_run_write_config(&c->cap, "%s", cfg);
    pid_t pid = pgh_run_spawn(&c->cap, "capture", "--changes-only", NULL);
    PGH_CHECK(pgh_run_poll(&c->cap, pid, c->p.s, 300, 100,
                           "SELECT count(*) = 1 FROM pg_replication_slots WHERE slot_name = "
                           "'s_first'"),
              "capture made no slot:\n%s", pgh_run_stderr(&c->cap, 0));
    pgh_run_stop(&c->cap, pid, 30);
    snprintf(cfg, sizeof(cfg), BASE, c->p.src_conninfo, "s_other", c->nats.url, tokfile,
             "nats_stream: S1\nnats_subject_prefix: p1\nnats_max_age_s: 3600\n");
    expect_failure(c, cfg, 3, "stream S1 exists with other settings: max age 0 s, not "
                              "nats_max_age_s 3600", NULL);
    no_slot(c, "s_other");
    pgh_test_exec(c->p.s, "SELECT pg_drop_replication_slot('s_first')");
}

int main(int argc, char **argv)
{
    PGH_CHECK(argc == 2, "usage: it_nats single|stopped|kill9|cluster|errors");
    static ctx c;
    double t0 = pgh_run_now_ms();
    if (strcmp(argv[1], "single") == 0)
        run_scenario(&c, 2, 6, 7);
    else if (strcmp(argv[1], "kill9") == 0)
        run_scenario(&c, 10, 30, 13);
    else if (strcmp(argv[1], "cluster") == 0)
        case_cluster(&c);
    else if (strcmp(argv[1], "stopped") == 0)
        case_stopped(&c);
    else if (strcmp(argv[1], "bench") == 0)
        case_bench(&c, 200000, 20000);
    else if (strcmp(argv[1], "errors") == 0)
        case_errors(&c);
    else
        pgh_test_fail("unknown case %s", argv[1]);
    printf("%s: %.1f s\n", argv[1], (pgh_run_now_ms() - t0) / 1000);
    if (c.replay)
        PQfinish(c.replay);
    pgh_nats_stop(&c.nats);
    pgh_run_pair_stop(&c.p);
    puts("PASS");
    return 0;
}
