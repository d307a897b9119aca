/*
 * The differential test against native logical replication (issue 10): one source feeds a
 * native subscription (CREATE SUBSCRIPTION ... WITH (copy_data = true)) into the destination
 * server's database "native", and `pghost replicate --follow` into its database "postgres".
 * A generator seeded by SEED creates random tables (keys int, bigint, composite (int, text),
 * uuid and text; some partitioned by hash and published through their root; a TOASTed text
 * column), loads rows, and writer threads run random inserts, updates (the TOASTed value left
 * unchanged, rewritten, or the primary key moved), deletes, multi-row updates and truncates
 * while both copy and for a while after. Then the writers stop, a fence row is written to the
 * table "fence" and awaited on both destinations, and every table's full ordered dump is
 * compared: native with the source, pghost with the source, pghost with native.
 *
 * Usage: it_differential SEED [--tables N] [--rows N] [--seconds S] [--writers N] [--long]
 *                             [--row-filters] [--column-lists] [--keyless] [--extra-columns]
 *   --tables/--rows   tables generated and rows loaded into each (default 6 and 2000)
 *   --seconds         how long the writers go on once both copies are done (default 4)
 *   --writers         writer threads (default 2)
 *   --long            a longer run: 16 tables of 30000 rows, writers for 120 s after the copy
 * The seed is printed at the start and again on failure; the same arguments replay the same
 * tables and the same writers' choices (their interleaving with the copy is the scheduler's).
 * A longer run, e.g. over many seeds:
 *   for s in $(seq 100 120); do build/tests/it_differential $s --long || break; done
 *
 * The optional features below are OFF by default, each waiting for the item of issue 10 that
 * makes pghost accept it (today pghost refuses or diverges: turning one on makes this test fail
 * until that item is on main); pass its flag to try it:
 *   --row-filters     a row filter on some tables' publication entries (issue 10, item 1)
 *   --column-lists    a column list leaving out the column "note" (issue 10, item 1)
 *   --keyless         some tables without a primary key, REPLICA IDENTITY FULL (item 5)
 *   --extra-columns   destination tables with one more column, a default (item 6)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgh_run.h"

#define TABLES_MAX 64
#define FOLLOW_WAIT_S 300 /* for both initial copies */
#define STOP_WAIT_S 60
#define SQL_MAX 2048
#define TRUNCATE_EVERY 700 /* writes of writer 0 between two truncates of a random table */
#define LOG_TAIL 3000      /* bytes of pghost's stderr shown with a failure */

typedef enum key_kind { K_INT, K_BIGINT, K_COMP, K_UUID, K_TEXT, K_KINDS } key_kind;

typedef struct table_spec {
    char name[16];
    key_kind key;
    int parts;         /* > 0: partitioned by hash of the first key column into so many */
    bool keyless;      /* no primary key, REPLICA IDENTITY FULL (--keyless) */
    bool filter;       /* a row filter on its publication entry (--row-filters) */
    bool column_list;  /* the column list leaves "note" out (--column-lists) */
    bool extra_column; /* the destination tables have one more column (--extra-columns) */
} table_spec;

typedef struct options {
    unsigned seed;
    int tables, rows, seconds, writers;
    bool row_filters, column_lists, keyless, extra_columns;
} options;

typedef struct ctx {
    options o;
    table_spec t[TABLES_MAX];
    pgh_run_pair p; /* p.d is the destination's database "postgres", where pghost writes */
    PGconn *native; /* owned: the destination's database "native", the subscriber */
    pgh_run r;
    pgh_run_writers writers;
} ctx;

/* ---- the generator ---------------------------------------------------------------------- */

static const char *key_kind_name(key_kind k)
{
    static const char *names[] = {"int", "bigint", "composite (int, text)", "uuid", "text"};
    return names[k];
}

/* The key's columns as declared. */
static const char *key_def(key_kind k)
{
    switch (k) {
    case K_INT:
        return "id int NOT NULL";
    case K_BIGINT:
        return "id bigint NOT NULL";
    case K_COMP:
        return "a int NOT NULL, b text NOT NULL";
    case K_UUID:
        return "id uuid NOT NULL";
    default:
        return "id text NOT NULL";
    }
}

static const char *key_cols(key_kind k)
{
    return k == K_COMP ? "a, b" : "id";
}

/* The key's values for the row number n, an SQL expression (a column of generate_series too):
 * one row number, one key, whatever the kind. */
static void key_vals(char *out, size_t len, key_kind k, const char *n)
{
    switch (k) {
    case K_INT:
        snprintf(out, len, "(%s)::int", n);
        break;
    case K_BIGINT:
        snprintf(out, len, "(%s)::bigint * 4294967311", n);
        break;
    case K_COMP:
        snprintf(out, len, "((%s) %% 50)::int, 'k' || (%s)", n, n);
        break;
    case K_UUID:
        snprintf(out, len, "md5((%s)::text)::uuid", n);
        break;
    default:
        snprintf(out, len, "'key-' || (%s)", n);
    }
}

/* "key columns = key of row n", for WHERE and SET (where (a, b) = (...) sets both). */
static void key_match(char *out, size_t len, key_kind k, long long n)
{
    char num[32], vals[256];
    snprintf(num, sizeof(num), "%lld", n);
    key_vals(vals, sizeof(vals), k, num);
    snprintf(out, len, k == K_COMP ? "(a, b) = (%s)" : "id = %s", vals);
}

/* The row filter of a table with --row-filters: on the key, as PostgreSQL requires for a
 * publication that publishes updates and deletes. Moving a key moves the row in or out. */
static const char *row_filter(key_kind k)
{
    switch (k) {
    case K_INT:
    case K_BIGINT:
        return "id % 3 <> 0";
    case K_COMP:
        return "a % 3 <> 0";
    case K_UUID:
        return "id > '80000000-0000-0000-0000-000000000000'";
    default:
        return "id > 'key-5'";
    }
}

/* The columns both destinations are compared on with the source. */
static void pub_cols(char *out, size_t len, const table_spec *t)
{
    snprintf(out, len, "%s, v, %sbig", key_cols(t->key), t->column_list ? "" : "note, ");
}

static void plan_tables(ctx *c)
{
    uint64_t rng = 0x9E3779B97F4A7C15ULL * (c->o.seed + 1);
    int forced_part = (int)(c->o.seed % (unsigned)c->o.tables);
    for (int i = 0; i < c->o.tables; i++) {
        table_spec *t = &c->t[i];
        uint64_t r = pgh_run_random(&rng);
        snprintf(t->name, sizeof(t->name), "d%d", i);
        t->key = (key_kind)((c->o.seed + (unsigned)i) % K_KINDS);
        t->parts = (i == forced_part || r % 3 == 0) ? 2 + (int)((r >> 8) % 3) : 0;
        t->keyless = c->o.keyless && t->parts == 0 && (r >> 16) % 3 == 0;
        t->filter = c->o.row_filters && (r >> 20) % 2 == 0;
        t->column_list = c->o.column_lists && (r >> 24) % 2 == 0;
        t->extra_column = c->o.extra_columns && (r >> 28) % 2 == 0;
        printf("table %s: key %s%s%s%s%s%s\n", t->name, key_kind_name(t->key),
               t->parts ? ", partitioned" : "", t->keyless ? ", keyless (FULL)" : "",
               t->filter ? ", row filter" : "", t->column_list ? ", column list" : "",
               t->extra_column ? ", extra destination column" : "");
    }
}

/* The table's DDL on conn; destination adds the extra column when the table has one. */
static void create_table(PGconn *conn, const table_spec *t, bool destination)
{
    char pk[64] = "";
    if (!t->keyless)
        snprintf(pk, sizeof(pk), ", PRIMARY KEY (%s)", key_cols(t->key));
    const char *extra = destination && t->extra_column ? ", extra text DEFAULT 'local'" : "";
    char part[96] = "";
    if (t->parts)
        snprintf(part, sizeof(part), " PARTITION BY HASH (%s)", t->key == K_COMP ? "a" : "id");
    pgh_test_exec(conn, "CREATE TABLE %s (%s, v int NOT NULL DEFAULT 0, note text, big text%s%s)%s",
                  t->name, key_def(t->key), extra, pk, part);
    for (int i = 0; i < t->parts; i++)
        pgh_test_exec(conn,
                      "CREATE TABLE %s_p%d PARTITION OF %s FOR VALUES WITH (MODULUS %d, "
                      "REMAINDER %d)",
                      t->name, i, t->name, t->parts, i);
    if (t->keyless && !destination)
        pgh_test_exec(conn, "ALTER TABLE %s REPLICA IDENTITY FULL", t->name);
    /* Without a key every UPDATE and DELETE looks its row up in the destination table: an
     * index of its own (not unique: rows may repeat) spares pghost a scan of the table for
     * each (a native PostgreSQL 15 subscriber scans anyway). */
    if (t->keyless && destination)
        pgh_test_exec(conn, "CREATE INDEX ON %s (%s)", t->name, t->key == K_COMP ? "a" : "id");
}

/* A big value: 100 md5 sums, 3200 bytes that compress badly, so they are stored out of line. */
#define TOAST_SQL                                                                                  \
    "(SELECT string_agg(md5(%s::text || '-' || x), '') FROM generate_series(1, 100) x)"

static void load_rows(ctx *c, const table_spec *t)
{
    char keys[256], big[256];
    key_vals(keys, sizeof(keys), t->key, "g");
    snprintf(big, sizeof(big), TOAST_SQL, "g");
    pgh_test_exec(c->p.s,
                  "INSERT INTO %s SELECT %s, g %% 7, 'n' || g, CASE WHEN g %% 4 = 0 THEN %s "
                  "ELSE md5(g::text) END FROM generate_series(1, %d) g",
                  t->name, keys, big, c->o.rows);
}

/* One publication entry: "name [(columns)] [WHERE (filter)]". */
static void pub_entry(char *out, size_t len, const table_spec *t)
{
    char cols[128] = "", where[96] = "";
    if (t->column_list)
        snprintf(cols, sizeof(cols), " (%s, v, big)", key_cols(t->key));
    if (t->filter)
        snprintf(where, sizeof(where), " WHERE (%s)", row_filter(t->key));
    snprintf(out, len, "%s%s%s", t->name, cols, where);
}

static void create_publication(ctx *c, const char *name)
{
    char sql[SQL_MAX * 4];
    int n = snprintf(sql, sizeof(sql), "CREATE PUBLICATION %s FOR TABLE fence", name);
    for (int i = 0; i < c->o.tables; i++) {
        char entry[256];
        pub_entry(entry, sizeof(entry), &c->t[i]);
        n += snprintf(sql + n, sizeof(sql) - (size_t)n, ", %s", entry);
        PGH_CHECK(n < (int)sizeof(sql), "publication statement too long");
    }
    snprintf(sql + n, sizeof(sql) - (size_t)n, " WITH (publish_via_partition_root = true)");
    pgh_test_exec(c->p.s, "%s", sql);
}

static void setup(ctx *c)
{
    pgh_run_pair_start(&c->p, NULL, NULL);
    PGH_CHECK(pgh_test_create_db(&c->p.dst, "native") == 0, "create database native");
    c->native = pgh_test_connect(&c->p.dst, "native");
    PGconn *conns[] = {c->p.s, c->p.d, c->native};
    for (int k = 0; k < 3; k++) {
        pgh_test_exec(conns[k], "CREATE TABLE fence (id int PRIMARY KEY, v int NOT NULL)");
        for (int i = 0; i < c->o.tables; i++)
            create_table(conns[k], &c->t[i], k > 0);
    }
    for (int i = 0; i < c->o.tables; i++)
        load_rows(c, &c->t[i]);
    pgh_test_exec(c->p.s, "INSERT INTO fence VALUES (1, 0); ANALYZE");
    create_publication(c, "pub_native");
    create_publication(c, "pub_pghost");
    pgh_run_init(&c->r, &c->p, PGH_BINARY, "run", "differential.yaml");
    pgh_run_write_config(&c->r,
                         "source_connection: %s\ndestination_connection: %s\npublication_name: "
                         "pub_pghost\nslot_name: diff_pghost\ntables: [public.fence, public.d*]\n"
                         "copy_batch_size: 50\ncopy_worker_count: 2\n",
                         c->p.src_conninfo, c->p.dst_conninfo);
}

/* ---- the writers ------------------------------------------------------------------------ */

/* One random write on a random table, its own transaction. Failures (a key taken by a move)
 * are part of the mix. Row numbers go up to 3 * rows, so inserts and moves find free keys.
 * Writer 0 truncates a table every TRUNCATE_EVERY writes (its mark counts them). */
static bool write_one(PGconn *conn, pgh_run_writer *w, void *payload)
{
    const ctx *c = payload;
    uint64_t r = pgh_run_random(&w->rng);
    const table_spec *t = &c->t[r % (uint64_t)c->o.tables];
    long long span = 3LL * c->o.rows;
    long long n = (long long)((r >> 8) % (uint64_t)span) + 1;
    long long m = (long long)((r >> 32) % (uint64_t)span) + 1;
    char sql[SQL_MAX], at[512], to[512], keys[256], big[256], num[32];
    key_match(at, sizeof(at), t->key, n);
    key_match(to, sizeof(to), t->key, m);
    snprintf(num, sizeof(num), "%lld", m);
    key_vals(keys, sizeof(keys), t->key, num);
    snprintf(big, sizeof(big), TOAST_SQL, num);
    const char *conflict = t->keyless ? "" : " ON CONFLICT DO NOTHING";
    unsigned op = (unsigned)((r >> 52) % 1000);
    if (w->index == 0 && ++w->mark % TRUNCATE_EVERY == TRUNCATE_EVERY - 1)
        snprintf(sql, sizeof(sql), "TRUNCATE %s", t->name);
    else if (op < 200)
        snprintf(sql, sizeof(sql), "INSERT INTO %s VALUES (%s, 1, 'i', %s)%s", t->name, keys,
                 op % 2 ? big : "'small'", conflict);
    else if (op < 400) /* the TOASTed column unchanged: pgoutput sends 'u' for it */
        snprintf(sql, sizeof(sql), "UPDATE %s SET v = v + 1 WHERE %s", t->name, at);
    else if (op < 520) /* a TOAST rewrite */
        snprintf(sql, sizeof(sql), "UPDATE %s SET big = %s, note = 'r' WHERE %s", t->name, big, at);
    /* The key moves, its TOASTed value unchanged. Not under a row filter: a move into the
     * filter reaches the subscriber as an INSERT whose unchanged TOAST value ('u') the old key
     * image cannot fill, and a native PostgreSQL 15 subscriber stores NULL there (reproduced:
     * id 3 -> 4 under WHERE (id % 3 <> 0) leaves big NULL), so native would differ from the
     * source. There, the value is rewritten with the move. */
    else if (op < 720)
        snprintf(sql, sizeof(sql), "UPDATE %s SET %s, v = v + 10%s WHERE %s", t->name, to,
                 t->filter ? ", big = big || ''" : "", at);
    else if (op < 900)
        snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE %s", t->name, at);
    else if (op < 980)
        snprintf(sql, sizeof(sql), "UPDATE %s SET v = v + 100, note = NULL WHERE v = %lld", t->name,
                 n % 50);
    else if (op < 999)
        snprintf(sql, sizeof(sql),
                 "BEGIN; DELETE FROM %s WHERE %s; INSERT INTO %s VALUES (%s, 2, 'again', %s)%s; "
                 "COMMIT",
                 t->name, at, t->name, keys, big, conflict);
    else
        snprintf(sql, sizeof(sql), "UPDATE %s SET note = 'x' WHERE %s", t->name, at);
    return pgh_run_sql_ok(conn, sql);
}

static void start_writers(ctx *c)
{
    pgh_run_writers_opts o = {.conninfo = c->p.src_conninfo,
                              .threads = c->o.writers,
                              .seed = c->o.seed,
                              .pause_ms = 2,
                              .reconnect_ms = -1,
                              .write = write_one,
                              .payload = c};
    pgh_run_writers_start(&c->writers, &o);
}

/* ---- the two replications --------------------------------------------------------------- */

static void start_native(ctx *c)
{
    pgh_test_exec(c->native,
                  "CREATE SUBSCRIPTION diff_native CONNECTION 'host=127.0.0.1 port=%d "
                  "user=postgres dbname=postgres' PUBLICATION pub_native WITH (copy_data = true)",
                  c->p.src.port);
}

/* Until every table of the subscription is ready (its initial copy and catch-up done). */
static void wait_native_ready(ctx *c, pid_t pid)
{
    PGH_CHECK(pgh_run_poll(&c->r, pid, c->native, FOLLOW_WAIT_S * 10, 100,
                           "SELECT count(*) > 0 AND bool_and(srsubstate = 'r') "
                           "FROM pg_subscription_rel"),
              "the native subscription did not finish its initial copy in %d s", FOLLOW_WAIT_S);
}

/* The fence: written last on the source, awaited on both destinations, which apply in commit
 * order. */
static void fence(ctx *c, pid_t pid)
{
    int value = 1000 + (int)(c->o.seed % 1000);
    char seen[128];
    snprintf(seen, sizeof(seen), "SELECT count(*) = 1 FROM fence WHERE id = 1 AND v = %d", value);
    char write[128];
    snprintf(write, sizeof(write), "UPDATE fence SET v = %d WHERE id = 1", value);
    pgh_run_fence(&c->r, pid, 120, write, seen);
    PGH_CHECK(pgh_run_poll(&c->r, pid, c->native, 1200, 100, seen),
              "the fence did not arrive at the native subscriber in 120 s");
}

/* ---- comparing -------------------------------------------------------------------------- */

static void compare_pair(ctx *c, const table_spec *t, const char *what, PGconn *a, const char *qa,
                         PGconn *b, const char *qb)
{
    char diff[1024];
    long long rows = 0;
    int rc = pgh_test_compare_dumps(a, qa, b, qb, diff, sizeof(diff), &rows);
    if (rc == 0) {
        printf("%s, %s: %lld rows equal\n", t->name, what, rows);
        return;
    }
    const char *log = pgh_run_stderr(&c->r, 0);
    size_t len = strlen(log);
    pgh_test_fail("seed %u, table %s (key %s%s): %s differ: %s\nqueries: %s | %s\n"
                  "pghost's stderr (tail):\n%s",
                  c->o.seed, t->name, key_kind_name(t->key), t->parts ? ", partitioned" : "", what,
                  diff, qa, qb, len > LOG_TAIL ? log + len - LOG_TAIL : log);
}

static void compare_table(ctx *c, const table_spec *t)
{
    char cols[128], order[64] = "1", src[512], dst[512], all[512];
    pub_cols(cols, sizeof(cols), t);
    int ncols = (t->key == K_COMP ? 5 : 4) - (t->column_list ? 1 : 0);
    for (int i = 2; i <= ncols; i++) {
        size_t n = strlen(order);
        snprintf(order + n, sizeof(order) - n, ", %d", i);
    }
    snprintf(src, sizeof(src), "SELECT %s FROM %s%s%s%s ORDER BY %s", cols, t->name,
             t->filter ? " WHERE (" : "", t->filter ? row_filter(t->key) : "", t->filter ? ")" : "",
             order);
    snprintf(dst, sizeof(dst), "SELECT %s FROM %s ORDER BY %s", cols, t->name, order);
    snprintf(all, sizeof(all), "SELECT %s%s FROM %s ORDER BY %s%s", cols,
             t->extra_column ? ", extra" : "", t->name, order, t->extra_column ? ", extra" : "");
    compare_pair(c, t, "native and the source", c->p.s, src, c->native, dst);
    compare_pair(c, t, "pghost and the source", c->p.s, src, c->p.d, dst);
    compare_pair(c, t, "pghost and native", c->native, all, c->p.d, all);
}

/* ---- main ------------------------------------------------------------------------------- */

static int int_arg(int argc, char **argv, int *i)
{
    PGH_CHECK(*i + 1 < argc, "%s needs a number", argv[*i]);
    char *end = NULL;
    long v = strtol(argv[*i + 1], &end, 10);
    PGH_CHECK(*end == '\0' && v > 0 && v <= 10000000, "%s: not a count: %s", argv[*i],
              argv[*i + 1]);
    (*i)++;
    return (int)v;
}

/* Reads the arguments into o and writes them, for the replay line, into replay. */
static void parse_args(options *o, char *replay, size_t replay_len, int argc, char **argv)
{
    PGH_CHECK(argc >= 2, "usage: it_differential SEED [--tables N] [--rows N] [--seconds S] "
                         "[--writers N] [--long] [--row-filters] [--column-lists] [--keyless] "
                         "[--extra-columns]");
    char *end = NULL;
    unsigned long seed = strtoul(argv[1], &end, 10);
    PGH_CHECK(*end == '\0' && seed <= 0xFFFFFFFFUL, "the seed is a number: %s", argv[1]);
    *o = (options){.seed = (unsigned)seed, .tables = 6, .rows = 2000, .seconds = 4, .writers = 2};
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--tables") == 0)
            o->tables = int_arg(argc, argv, &i);
        else if (strcmp(a, "--rows") == 0)
            o->rows = int_arg(argc, argv, &i);
        else if (strcmp(a, "--seconds") == 0)
            o->seconds = int_arg(argc, argv, &i);
        else if (strcmp(a, "--writers") == 0)
            o->writers = int_arg(argc, argv, &i);
        else if (strcmp(a, "--long") == 0)
            *o = (options){o->seed,         16,         30000,           120, 4, o->row_filters,
                           o->column_lists, o->keyless, o->extra_columns};
        else if (strcmp(a, "--row-filters") == 0)
            o->row_filters = true;
        else if (strcmp(a, "--column-lists") == 0)
            o->column_lists = true;
        else if (strcmp(a, "--keyless") == 0)
            o->keyless = true;
        else if (strcmp(a, "--extra-columns") == 0)
            o->extra_columns = true;
        else
            pgh_test_fail("unknown argument %s", a);
    }
    PGH_CHECK(o->tables <= TABLES_MAX && o->writers <= PGH_RUN_WRITERS_MAX,
              "at most %d tables and %d writers", TABLES_MAX, PGH_RUN_WRITERS_MAX);
    replay[0] = '\0';
    for (int i = 1, n = 0; i < argc && n < (int)replay_len; i++)
        n += snprintf(replay + n, replay_len - (size_t)n, "%s%s", i > 1 ? " " : "", argv[i]);
}

int main(int argc, char **argv)
{
    ctx c;
    memset(&c, 0, sizeof(c));
    char replay[256];
    parse_args(&c.o, replay, sizeof(replay), argc, argv);
    char note[320];
    snprintf(note, sizeof(note), "it_differential: failed with seed %u; replay: it_differential %s",
             c.o.seed, replay);
    pgh_test_set_fail_note(note);
    printf("it_differential: seed %u, %d tables of %d rows, %d writers, %d s after the copy\n",
           c.o.seed, c.o.tables, c.o.rows, c.o.writers, c.o.seconds);
    fflush(stdout);
    plan_tables(&c);
    setup(&c);
    start_writers(&c);
    start_native(&c);
    pid_t pid = pgh_run_spawn(&c.r, "replicate", "--follow", "--no-progress", NULL);
    pgh_run_wait_follow(&c.r, pid);
    wait_native_ready(&c, pid);
    printf("both copies done after %ld writes; writing %d s more\n", pgh_run_writers_ok(&c.writers),
           c.o.seconds);
    fflush(stdout);
    pgh_run_sleep_ms(c.o.seconds * 1000);
    long ok = pgh_run_writers_stop(&c.writers);
    printf("writers: %ld writes committed, %ld failed\n", ok, pgh_run_writers_bad(&c.writers));
    fence(&c, pid);
    for (int i = 0; i < c.o.tables; i++)
        compare_table(&c, &c.t[i]);
    pgh_run_stop(&c.r, pid, STOP_WAIT_S);
    pgh_test_exec(c.native, "DROP SUBSCRIPTION diff_native");
    PQfinish(c.native);
    pgh_run_pair_stop(&c.p);
    printf("PASS (seed %u)\n", c.o.seed);
    return 0;
}
