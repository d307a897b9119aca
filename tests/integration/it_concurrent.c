/*
 * The consistency test: pghost replicate under concurrent writes.
 *
 * Writers insert, update, delete, move primary keys (also of rows whose TOASTed column is then
 * sent as "unchanged"), rewrite TOAST values, update other columns leaving TOAST unchanged, and
 * one TRUNCATE, for the whole copy. They stop in the before-checkpoint hook, so the source as it
 * stands afterwards is the source as of the checkpoint; then a full ordered dump of every
 * destination table must equal the source's.
 *
 * Usage: it_concurrent --seed N --workers N --rows N --batch N --tables int,comp,uuid,wide
 *                      [--range] [--truncate] [--measure-xact] [--max-xact-ms N]
 *                      [--batch-max-ms N] [--dst-stall-ms N]
 *
 * comp: a (text, int) key, every 50th row's text of 2.2 kB TOASTed out of line, whose other
 * columns writers update (the new row then sends the key as unchanged).
 * wide: an integer key and rows of about 2 kB (stored inline, uncompressed). --max-xact-ms N:
 * batches must be bounded by time: every batch's LIMIT below copy_batch_size (the copy
 * sessions' longest source transaction, sampled from pg_stat_activity every 20 ms, and pghost's
 * own batch durations against N are printed, not asserted: durations are bench/run's to
 * measure). --batch-max-ms sets copy_batch_max_ms (default: not set, pghost's default).
 * --dst-stall-ms N: the destination stalls N ms at every 10,000th loaded key of the bigint-keyed
 * tables (a trigger that fires in replica mode too, so in the middle of the copy's batches),
 * and no copy transaction on the source may last 0.8 N ms: a batch's source statement waits
 * for a stalled destination 100 ms at most, then the rest of the batch is held in memory
 * (dest/postgres/copy_in.c).
 * --log-batches prints the records.
 */
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "it_common.h"
#include "pghost/log.h"

#define NWRITERS 3
#define MAX_TABLES 3

/* A table shape: how to create it, fill it, and pick and make keys. */
typedef struct shape {
    const char *name;     /* "int", "comp", "uuid" */
    const char *table;    /* source and destination table name */
    const char *create;   /* column list */
    const char *fill;     /* INSERT ... SELECT ... FROM generate_series(1, : the row count follows */
    const char *order_by; /* key columns */
} shape;

static const shape SHAPES[] = {
    {"int", "t_int", "(id bigint PRIMARY KEY, v int NOT NULL, note text, big text)",
     "INSERT INTO t_int SELECT g, g % 1000, md5(g::text), NULL FROM generate_series(1, ",
     "id"},
    {"comp", "t_comp",
     "(region text, n int, v int NOT NULL, note text, big text, PRIMARY KEY (region, n))",
     "INSERT INTO t_comp SELECT 'r' || lpad((g % 20)::text, 2, '0'), g, g % 1000, md5(g::text), "
     "NULL FROM generate_series(1, ",
     "region, n"},
    {"wide", "t_wide", "(id bigint PRIMARY KEY, v int NOT NULL, note text, big text)",
     "INSERT INTO t_wide SELECT g, g % 1000, repeat(md5(g::text), 60), NULL "
     "FROM generate_series(1, ",
     "id"},
    {"uuid", "t_uuid", "(id uuid PRIMARY KEY, v int NOT NULL, note text, big text)",
     "INSERT INTO t_uuid SELECT md5(g::text)::uuid, g % 1000, md5(g::text), NULL "
     "FROM generate_series(1, ",
     "id"},
};

typedef struct run_cfg {
    unsigned seed;
    int workers;
    long long rows;
    long long batch;
    bool range;
    bool truncate;
    bool measure_xact;
    int max_xact_ms;  /* > 0: batches bounded by time, durations printed against it */
    int batch_max_ms; /* >= 0: copy_batch_max_ms; -1: not set */
    bool log_batches; /* print every batch record */
    bool tight;       /* moves and inserts reuse a small key space: keys change hands often */
    int dst_stall_ms; /* > 0: the destination stalls this long at every 10,000th key */
    int ntables;
    const shape *tables[MAX_TABLES];
} run_cfg;

/* The shapes with one bigint key. */
static bool int_keyed(const shape *sh)
{
    return strcmp(sh->name, "int") == 0 || strcmp(sh->name, "wide") == 0;
}

/* A condition selecting one existing row near a random key ("only toasted" rows if toasted). */
static void pick_row(char *out, size_t len, const shape *sh, uint64_t *rng, long long rows,
                     bool toasted)
{
    const char *extra = toasted ? "big IS NOT NULL AND " : "";
    if (int_keyed(sh)) {
        long long k = (long long)(pgh_run_random(rng) % (uint64_t)(rows * 2));
        snprintf(out, len, "id = (SELECT id FROM %s WHERE %sid >= %lld ORDER BY id LIMIT 1)",
                 sh->table, extra, k);
    } else if (strcmp(sh->name, "comp") == 0) {
        snprintf(out, len,
                 "(region, n) = (SELECT region, n FROM t_comp WHERE %s(region, n) >= ('r%02d', "
                 "%lld) ORDER BY region, n LIMIT 1)",
                 extra, (int)(pgh_run_random(rng) % 21), (long long)(pgh_run_random(rng) % rows));
    } else {
        snprintf(out, len,
                 "id = (SELECT id FROM t_uuid WHERE %sid >= '%08x-0000-4000-8000-000000000000' "
                 "ORDER BY id LIMIT 1)",
                 extra, (unsigned)pgh_run_random(rng));
    }
}

/* Keys that moves and inserts use: far from the loaded rows, and in --tight mode few of them,
 * so that a key freed by one row is soon taken by another. */
static long long spare_keys(const run_cfg *c)
{
    return c->tight ? 300 : c->rows;
}

/* SET clause moving a row to a new, far away key. */
static void new_key(char *out, size_t len, const shape *sh, uint64_t *rng, long long rows,
                    long long spare)
{
    if (int_keyed(sh))
        snprintf(out, len, "id = %lld",
                 rows * 3 + (long long)(pgh_run_random(rng) % (uint64_t)spare));
    else if (strcmp(sh->name, "comp") == 0)
        snprintf(out, len, "region = 'm%02d', n = %d", (int)(pgh_run_random(rng) % 30),
                 (int)(pgh_run_random(rng) % (uint64_t)(spare * 30)));
    else
        snprintf(out, len, "id = '%08x-1111-4000-8000-000000000000'",
                 (unsigned)(pgh_run_random(rng) % (uint64_t)(spare * 1000)));
}

static void insert_row(char *out, size_t len, const shape *sh, uint64_t *rng, long long rows,
                       bool tight)
{
    /* tight: half the inserts go where moved rows go, to take keys they left */
    long long k = tight && pgh_run_random(rng) % 2
                      ? rows * 3 + (long long)(pgh_run_random(rng) % 300)
                      : rows + (long long)(pgh_run_random(rng) % (uint64_t)(rows * 2));
    if (int_keyed(sh))
        snprintf(out, len, "INSERT INTO %s VALUES (%lld, 1, 'ins', NULL) ON CONFLICT DO NOTHING",
                 sh->table, k);
    else if (strcmp(sh->name, "comp") == 0)
        snprintf(out, len,
                 "INSERT INTO t_comp VALUES ('i%02d', %lld, 1, 'ins', NULL) ON CONFLICT DO NOTHING",
                 (int)(k % 25), k);
    else
        snprintf(out, len,
                 "INSERT INTO t_uuid VALUES ('%08x-2222-4000-8000-000000000000', 1, 'ins', NULL) "
                 "ON CONFLICT DO NOTHING",
                 (unsigned)pgh_run_random(rng));
}

#define BIG_VALUE "(SELECT string_agg(md5(random()::text), '') FROM generate_series(1, 300))"

/* One random statement on one random table. */
static void random_statement(char *out, size_t len, const run_cfg *c, pgh_run_writer *w)
{
    const shape *sh = c->tables[pgh_run_random(&w->rng) % (uint64_t)c->ntables];
    char cond[512];
    char set[256];
    int op = (int)(pgh_run_random(&w->rng) % 100);
    if (op < 20) {
        insert_row(out, len, sh, &w->rng, c->rows, c->tight);
        return;
    }
    pick_row(cond, sizeof(cond), sh, &w->rng, c->rows, op >= 80 && op < 88);
    if (op >= 35 && op < 45 && strcmp(sh->name, "comp") == 0) /* a TOASTed key stays, as 'u' */
        snprintf(cond, sizeof(cond),
                 "(region, n) = (SELECT region, n FROM t_comp WHERE length(region) > 100 AND "
                 "n >= %lld ORDER BY n LIMIT 1)",
                 (long long)(pgh_run_random(&w->rng) % (uint64_t)c->rows));
    if (op < 45)        /* other columns; a toasted big stays unchanged ('u') */
        snprintf(out, len, "UPDATE %s SET v = v + 1, note = md5(random()::text) WHERE %s",
                 sh->table, cond);
    else if (op < 60)   /* delete */
        snprintf(out, len, "DELETE FROM %s WHERE %s", sh->table, cond);
    else if (op < 75)   /* rewrite the TOAST value */
        snprintf(out, len, "UPDATE %s SET big = " BIG_VALUE " WHERE %s", sh->table, cond);
    else {              /* move the key (80..87: rows with a TOASTed value, sent as 'u') */
        new_key(set, sizeof(set), sh, &w->rng, c->rows, spare_keys(c));
        snprintf(out, len, "UPDATE %s SET %s WHERE %s", sh->table, set, cond);
    }
}

static bool run_txn(PGconn *conn, const run_cfg *c, pgh_run_writer *w)
{
    char sql[1024];
    PGresult *res = PQexec(conn, "BEGIN");
    PQclear(res);
    int nstmts = 1 + (int)(pgh_run_random(&w->rng) % 3);
    bool ok = true;
    for (int i = 0; i < nstmts && ok; i++) {
        random_statement(sql, sizeof(sql), c, w);
        res = PQexec(conn, sql);
        ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        PQclear(res);
    }
    res = PQexec(conn, ok ? "COMMIT" : "ROLLBACK");
    ok = ok && PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    return ok;
}

typedef struct hook_state {
    pgh_run_writers ws; /* NWRITERS writers, each on one connection */
    atomic_int truncated;
    const run_cfg *cfg;
    long total_ops;
    const char *dst_conninfo; /* borrowed */
    PGconn *dst;              /* owned by writer 0: does the destination hold rows yet? */
} hook_state;

/* Whether the copy has committed rows of table on the destination (writer 0's own
 * connection, opened on first use). */
static bool copy_reached(hook_state *h, const char *table)
{
    if (h->dst == NULL)
        h->dst = PQconnectdb(h->dst_conninfo);
    char sql[160];
    snprintf(sql, sizeof(sql), "SELECT EXISTS (SELECT 1 FROM %s)", table);
    PGresult *res = PQexec(h->dst, sql);
    bool yes = PQresultStatus(res) == PGRES_TUPLES_OK && PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    return yes;
}

/* One transaction of writer w (counted as failed when it rolls back: unique violations and
 * deadlocks are expected). Writer 0 first truncates the last table, once, when it has committed
 * 50 to 149 transactions (w->mark, drawn first) and the copy has committed rows of that table
 * (so the copy of every table copies rows, however the copy orders its work). */
static bool write_txn(PGconn *conn, pgh_run_writer *w, void *payload)
{
    hook_state *h = payload;
    const run_cfg *c = h->cfg;
    if (w->mark < 0)
        w->mark = 50 + (long)(pgh_run_random(&w->rng) % 100);
    if (w->index == 0 && c->truncate && !atomic_load(&h->truncated) &&
        atomic_load(&w->ok) >= w->mark && copy_reached(h, c->tables[c->ntables - 1]->table)) {
        char sql[128];
        snprintf(sql, sizeof(sql), "TRUNCATE %s", c->tables[c->ntables - 1]->table);
        if (pgh_run_sql_ok(conn, sql))
            atomic_store(&h->truncated, 1);
    }
    return run_txn(conn, c, w);
}

/* Before the checkpoint: make sure the writers did real work, then stop them. */
static int stop_writers(void *payload, pgh_error *err)
{
    (void)err;
    hook_state *h = payload;
    for (int spins = 0; spins < 600; spins++) {
        long ops = pgh_run_writers_ok(&h->ws);
        bool truncate_done = !h->cfg->truncate || atomic_load(&h->truncated);
        if (ops >= 300 && truncate_done)
            break;
        pgh_run_sleep_ms(50);
    }
    h->total_ops = pgh_run_writers_stop(&h->ws);
    return 0;
}

/* Samples the longest running transaction of pghost's sessions on the source. */
typedef struct sampler {
    pthread_t thread;
    char *conninfo;
    atomic_int stop;
    double max_xact_s;     /* copy sessions */
    double max_any_xact_s; /* every pghost session, slot creation included */
} sampler;

static void *sampler_main(void *arg)
{
    sampler *s = arg;
    PGconn *conn = PQconnectdb(s->conninfo);
    while (PQstatus(conn) == CONNECTION_OK && !atomic_load(&s->stop)) {
        PGresult *res = PQexec(
            conn, "SELECT coalesce(extract(epoch FROM max(clock_timestamp() - xact_start) "
                  "FILTER (WHERE application_name = 'pghost copy')), 0), "
                  "coalesce(extract(epoch FROM max(clock_timestamp() - xact_start)), 0) "
                  "FROM pg_stat_activity "
                  "WHERE application_name LIKE 'pghost%' AND xact_start IS NOT NULL");
        if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
            double v = strtod(PQgetvalue(res, 0, 0), NULL);
            double any = strtod(PQgetvalue(res, 0, 1), NULL);
            if (v > s->max_xact_s)
                s->max_xact_s = v;
            if (any > s->max_any_xact_s)
                s->max_any_xact_s = any;
        }
        PQclear(res);
        pgh_run_sleep_ms(20);
    }
    PQfinish(conn);
    return NULL;
}

/* The copy's batch records (debug logs, from the workers' threads): how many, the longest
 * source statement pghost measured (sent to ended), and how many took longer than over_ms. */
typedef struct batch_log {
    pthread_mutex_t lock;
    bool print; /* --log-batches: print every batch record */
    double over_ms;
    long batches;
    long over;
    double max_statement_ms;
    long long max_limit; /* the largest LIMIT a batch had */
} batch_log;

static void on_log(pgh_log_level level, const char *component, const char *message,
                   void *payload)
{
    batch_log *b = payload;
    if (level <= PGH_LOG_WARN)
        fprintf(stderr, "pghost: %s: %s\n", component, message);
    const char *at = strstr(message, "source statement ");
    if (strcmp(component, "copy") != 0 || strncmp(message, "batch of range ", 15) != 0 || !at)
        return;
    double ms = strtod(at + strlen("source statement "), NULL);
    const char *lim = strstr(message, " rows of limit ");
    long long limit = lim ? strtoll(lim + strlen(" rows of limit "), NULL, 10) : -1;
    pthread_mutex_lock(&b->lock);
    if (limit > b->max_limit || limit < 0)
        b->max_limit = limit < 0 ? LLONG_MAX : limit;
    b->batches++;
    b->over += b->over_ms > 0 && ms > b->over_ms;
    if (ms > b->max_statement_ms)
        b->max_statement_ms = ms;
    if (b->print)
        printf("%s\n", message);
    pthread_mutex_unlock(&b->lock);
}

static void parse_args(run_cfg *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"seed", required_argument, NULL, 's'},    {"workers", required_argument, NULL, 'w'},
        {"rows", required_argument, NULL, 'r'},    {"batch", required_argument, NULL, 'b'},
        {"tables", required_argument, NULL, 't'},  {"range", no_argument, NULL, 'g'},
        {"truncate", no_argument, NULL, 'x'},      {"measure-xact", no_argument, NULL, 'm'},
        {"tight", no_argument, NULL, 'T'},         {"max-xact-ms", required_argument, NULL, 'M'},
        {"batch-max-ms", required_argument, NULL, 'B'}, {"log-batches", no_argument, NULL, 'L'},
        {"dst-stall-ms", required_argument, NULL, 'S'},
        {NULL, 0, NULL, 0}};
    *c = (run_cfg){.seed = 1, .workers = 4, .rows = 20000, .batch = 1000, .batch_max_ms = -1};
    char tables[64] = "int";
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 's': c->seed = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'w': c->workers = (int)strtol(optarg, NULL, 10); break;
        case 'r': c->rows = strtoll(optarg, NULL, 10); break;
        case 'b': c->batch = strtoll(optarg, NULL, 10); break;
        case 't': snprintf(tables, sizeof(tables), "%s", optarg); break;
        case 'g': c->range = true; break;
        case 'x': c->truncate = true; break;
        case 'm': c->measure_xact = true; break;
        case 'T': c->tight = true; break;
        case 'M': c->max_xact_ms = (int)strtol(optarg, NULL, 10); break;
        case 'B': c->batch_max_ms = (int)strtol(optarg, NULL, 10); break;
        case 'L': c->log_batches = true; break;
        case 'S': c->dst_stall_ms = (int)strtol(optarg, NULL, 10); break;
        default: pgh_test_fail("bad arguments");
        }
    }
    for (char *tok = tables; tok && *tok && c->ntables < MAX_TABLES;) {
        char *comma = strchr(tok, ',');
        if (comma)
            *comma = '\0';
        for (size_t i = 0; i < sizeof(SHAPES) / sizeof(SHAPES[0]); i++)
            if (strcmp(SHAPES[i].name, tok) == 0)
                c->tables[c->ntables++] = &SHAPES[i];
        tok = comma ? comma + 1 : NULL;
    }
    PGH_CHECK(c->ntables > 0, "no known table in --tables");
}

static void setup_tables(pgh_run_pair *p, const run_cfg *c)
{
    pgh_test_exec(p->s, "SET synchronous_commit = off");
    for (int i = 0; i < c->ntables; i++) {
        const shape *sh = c->tables[i];
        pgh_test_exec(p->s, "CREATE TABLE %s %s", sh->table, sh->create);
        pgh_test_exec(p->d, "CREATE TABLE %s %s", sh->table, sh->create);
        pgh_test_exec(p->s, "%s%lld) g", sh->fill, c->rows);
        /* About 2000 TOASTed values per table, incompressible enough to be stored out of line. */
        pgh_test_exec(p->s,
                      "UPDATE %s SET big = " BIG_VALUE " WHERE ctid IN (SELECT ctid FROM %s "
                      "WHERE v %% 50 = 0 LIMIT 2000)",
                      sh->table, sh->table);
        if (strcmp(sh->name, "comp") == 0) {
            /* keys TOASTed out of line on every 50th row: 2,240 characters that do not compress
             * (a btree entry may hold them); updates of their other columns send them as 'u' */
            pgh_test_exec(p->s, "UPDATE t_comp SET region = region || '-' || (SELECT string_agg("
                                "md5(random()::text || n || g), '') FROM generate_series(1, 70) g) "
                                "WHERE n %% 50 = 3");
            pgh_test_exec(p->s, "CREATE INDEX t_comp_long ON t_comp (n) WHERE length(region) > 100");
        }
        pgh_test_exec(p->s, "ANALYZE %s", sh->table);
    }
    char list[256] = "";
    for (int i = 0; i < c->ntables; i++) {
        strncat(list, i ? ", " : "", sizeof(list) - strlen(list) - 1);
        strncat(list, c->tables[i]->table, sizeof(list) - strlen(list) - 1);
    }
    pgh_test_exec(p->s, "CREATE PUBLICATION pub FOR TABLE %s", list);
}

/* --dst-stall-ms: a sleep in the destination's inserts of the loaded keys 5000, 15000, ... */
static void stall_destination(pgh_run_pair *p, const run_cfg *c)
{
    pgh_test_exec(p->d, "CREATE FUNCTION stall() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                        "IF NEW.id %% 10000 = 5000 AND NEW.id <= %lld THEN PERFORM "
                        "pg_sleep(%d / 1000.0); END IF; RETURN NEW; END $$",
                  c->rows, c->dst_stall_ms);
    for (int i = 0; i < c->ntables; i++) {
        if (!int_keyed(c->tables[i]))
            continue;
        pgh_test_exec(p->d, "CREATE TRIGGER stall BEFORE INSERT ON %s FOR EACH ROW EXECUTE "
                            "FUNCTION stall()", c->tables[i]->table);
        pgh_test_exec(p->d, "ALTER TABLE %s ENABLE ALWAYS TRIGGER stall", c->tables[i]->table);
    }
}

static pgh_config *make_config(pgh_run_pair *p, const run_cfg *c)
{
    char yaml[2048];
    /* The stall test reads the source over its unix socket, whose kernel buffers hold about
     * 200 kB: over loopback TCP they grow to megabytes and can hold a whole batch of their own,
     * which hides whether pghost does. */
    char src[PGH_TEST_PATH_MAX + 64] = "${SRC}";
    if (c->dst_stall_ms > 0)
        snprintf(src, sizeof(src), "'host=%s port=%d user=postgres dbname=postgres'",
                 p->src.sockdir, p->src.port);
    int n = snprintf(yaml, sizeof(yaml),
                     "source_connection: %s\n"
                     "destination_connection: ${DST}\n"
                     "publication_name: pub\n"
                     "copy_batch_size: %lld\n"
                     "copy_worker_count: %d\n"
                     "copy_use_keyset_pagination: %s\n",
                     src, c->batch, c->workers, c->range ? "false" : "true");
    if (c->batch_max_ms >= 0)
        n += snprintf(yaml + n, sizeof(yaml) - (size_t)n, "copy_batch_max_ms: %d\n",
                      c->batch_max_ms);
    n += snprintf(yaml + n, sizeof(yaml) - (size_t)n, "tables:\n");
    for (int i = 0; i < c->ntables; i++)
        n += snprintf(yaml + n, sizeof(yaml) - (size_t)n, "  - source_table_name: %s\n",
                      c->tables[i]->table);
    return it_config(p, yaml);
}

int main(int argc, char **argv)
{
    run_cfg c;
    parse_args(&c, argc, argv);
    pgh_run_pair p;
    pgh_run_pair_start(&p, NULL, NULL);
    setup_tables(&p, &c);
    if (c.dst_stall_ms > 0)
        stall_destination(&p, &c);
    pgh_config *cfg = make_config(&p, &c);
    static batch_log blog = {.lock = PTHREAD_MUTEX_INITIALIZER};
    blog.print = c.log_batches;
    blog.over_ms = c.max_xact_ms;
    pgh_log_set_handler(on_log, PGH_LOG_DEBUG, &blog);

    hook_state h = {.cfg = &c, .dst_conninfo = p.dst_conninfo};
    /* Writer i's generator starts from 0x9E3779B97F4A7C15 * (seed * 7919 + i + 1). */
    pgh_run_writers_opts wo = {.conninfo = p.src_conninfo,
                               .threads = NWRITERS,
                               .seed = c.seed * 7919u,
                               .pause_ms = 0,
                               .reconnect_ms = -1,
                               .write = write_txn,
                               .payload = &h};
    pgh_run_writers_start(&h.ws, &wo);
    sampler smp = {.conninfo = p.src_conninfo};
    PGH_CHECK(pthread_create(&smp.thread, NULL, sampler_main, &smp) == 0, "sampler");

    it_sync_opts ro = {0};
    ro.config = cfg;
    ro.before_checkpoint = stop_writers;
    ro.before_checkpoint_payload = &h;
    pgh_pipeline_result res;
    pgh_error err;
    pgh_error_clear(&err);
    int rc = it_sync(&res, &ro, &err);
    atomic_store(&smp.stop, 1);
    pthread_join(smp.thread, NULL);
    if (rc != 0 && h.ws.running)
        stop_writers(&h, &err);
    PQfinish(h.dst); /* the writers are stopped: writer 0 is done with it */
    PGH_CHECK(rc == 0, "replicate failed: %s", err.message);

    long errors = pgh_run_writers_bad(&h.ws);
    printf("seed %u, %d workers, batch %lld, %s: writers committed %ld transactions (%ld "
           "failed as expected), catch-up decoded %llu changes and copied %llu moved rows again\n",
           c.seed, c.workers, c.batch, c.range ? "key ranges" : "keyset", h.total_ops, errors,
           (unsigned long long)res.changes_seen, (unsigned long long)res.rows_recopied);
    PGH_CHECK(h.total_ops >= 300, "writers did too little work: %ld", h.total_ops);
    PGH_CHECK(res.changes_seen > 0, "the catch-up saw no changes: the test would prove nothing");
    for (int i = 0; i < c.ntables; i++) {
        const shape *sh = c.tables[i];
        long long rows = it_compare_table(&p, sh->table, sh->table, sh->order_by);
        const pgh_pipeline_table_result *t = &res.tables[i];
        printf("%s: %lld rows equal; copied %llu, catch-up %llu ins %llu upd %llu del %llu trunc "
               "%llu no-op\n",
               sh->table, rows, (unsigned long long)t->rows_copied,
               (unsigned long long)t->applied.inserts, (unsigned long long)t->applied.updates,
               (unsigned long long)t->applied.deletes, (unsigned long long)t->applied.truncates,
               (unsigned long long)t->applied.skipped);
        PGH_CHECK(t->rows_copied > 0, "%s: nothing copied", sh->table);
    }
    it_check_no_slots(&p);
    printf("longest copy transaction on the source: %.3f s (any pghost session, slot creation "
           "included: %.3f s); the copy took %.3f s\n",
           smp.max_xact_s, smp.max_any_xact_s, res.copy_seconds);
    if (c.measure_xact)
        PGH_CHECK(smp.max_xact_s < 0.3 * res.copy_seconds,
                  "a source transaction lasted %.3f s of a %.3f s copy: batches are not short",
                  smp.max_xact_s, res.copy_seconds);
    if (c.dst_stall_ms > 0)
        PGH_CHECK(smp.max_xact_s * 1000 < 0.8 * c.dst_stall_ms,
                  "a copy transaction on the source lasted %.3f s while the destination stalled "
                  "%d ms: the source's batch waited for the destination",
                  smp.max_xact_s, c.dst_stall_ms);
    printf("%ld copy batches, the longest source statement %.1f ms (pghost's measure), %ld over "
           "%d ms\n",
           blog.batches, blog.max_statement_ms, blog.over, c.max_xact_ms);
    PGH_CHECK(blog.batches > 0, "no batch records: the debug log is not read");
    /* Batches bounded by time (copy_batch_max_ms): the durations above are printed, not
     * asserted (a loaded machine or a sanitizer stretches them; bench/run measures them). What
     * must hold whatever the machine: no batch ran with the row bound alone, which for these
     * wide rows is far above what fits in the time bound (each table's first batch is sized
     * from its row width, and later ones from measured times). Without the time bound every
     * batch has the LIMIT copy_batch_size. */
    if (c.max_xact_ms > 0) {
        printf("the largest batch LIMIT %lld of copy_batch_size %lld\n", blog.max_limit, c.batch);
        PGH_CHECK(blog.max_limit > 0 && blog.max_limit < c.batch,
                  "a copy batch had the LIMIT %lld (copy_batch_size %lld): batches are not "
                  "bounded by time",
                  blog.max_limit, c.batch);
    }
    pgh_pipeline_result_dispose(&res);
    pgh_config_free(cfg);
    pgh_run_pair_stop(&p);
    puts("PASS");
    return 0;
}
