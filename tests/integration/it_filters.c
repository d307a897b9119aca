/*
 * Issue 10, items 1 and 6: what a native subscription accepts, pghost replicates the same way.
 *
 *   filters  a row filter on a REPLICA IDENTITY FULL table (the example: updates move
 *            rows in and out of the filter while the copy runs) and a column list, into a
 *            destination table with a column of its own; compared with the source through the
 *            filter and the list, and with a native subscription on the same publication
 *   types    destination columns the source lacks (a default, an identity) and types that
 *            differ (int -> bigint, bigint -> int, varchar(n) <-> text, timestamp ->
 *            timestamptz), writers running
 *   nokey    a column list without the key column: refused with exit 3, no slot created
 *   toobig   a value the destination's type cannot hold, in the copy and in the apply
 *   createcols  --create-tables under a column list creates the listed columns only
 *   toastfilter  rows moved into a row filter with their TOASTed value unchanged (an INSERT
 *            with 'u'), during the copy, the catch-up and the following; toastfilter_events
 *            the same on the event path (copy_method: watermarks)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgh_run.h"

typedef struct ctx {
    pgh_run_pair p;
    pgh_run r;
    pgh_run_writers writers;
} ctx;

#define ROWS 6000
#define STOP_WAIT_S 10

static const char FILTER[] = "a > 1000 AND b <> 'filtered'";

/* One random change to tf (moving rows in and out of the filter, keys changing) or tc. */
static bool write_filters(PGconn *conn, pgh_run_writer *w, void *payload)
{
    (void)payload;
    uint64_t r = pgh_run_random(&w->rng);
    long long k = (long long)(r % ROWS) + 1;
    int a = (int)((r >> 16) % 2000);
    const char *b = (r >> 32) % 3 == 0 ? "filtered" : "x";
    char sql[256];
    switch (r % 7) {
    case 0:
    case 1:
        snprintf(sql, sizeof(sql), "UPDATE tf SET a = %d, b = '%s' WHERE id = %lld", a, b, k);
        break;
    case 2:
        snprintf(sql, sizeof(sql),
                 "INSERT INTO tf VALUES (%lld, %d, '%s', 'i') ON CONFLICT DO NOTHING", k, a, b);
        break;
    case 3:
        snprintf(sql, sizeof(sql), "DELETE FROM tf WHERE id = %lld", k);
        break;
    case 4:
        snprintf(sql, sizeof(sql), "UPDATE tf SET id = id + %d WHERE id = %lld", ROWS, k);
        break;
    case 5:
        snprintf(sql, sizeof(sql), "UPDATE tc SET a = a + 1, secret = 's%d' WHERE id = %lld", a, k);
        break;
    default:
        snprintf(sql, sizeof(sql),
                 "DELETE FROM tc WHERE id = %lld; INSERT INTO tc VALUES (%lld, %d, 'n', 'z') "
                 "ON CONFLICT DO NOTHING",
                 k, k + ROWS, a);
    }
    return pgh_run_sql_ok(conn, sql);
}

/* One random change to tt: values that fit the destination's narrower types. */
static bool write_types(PGconn *conn, pgh_run_writer *w, void *payload)
{
    (void)payload;
    uint64_t r = pgh_run_random(&w->rng);
    long long k = (long long)(r % ROWS) + 1;
    int v = (int)((r >> 16) % 100000);
    char sql[256];
    switch (r % 3) {
    case 0:
        snprintf(sql, sizeof(sql),
                 "UPDATE tt SET i = %d, big = %d, v = 'u%d', t = 't%d', ts = ts + interval '1 "
                 "hour' WHERE id = %lld",
                 v, -v, v, v, k);
        break;
    case 1:
        snprintf(sql, sizeof(sql),
                 "INSERT INTO tt VALUES (%lld, %d, %d, 'n', 'n', '2024-01-01 10:00') ON CONFLICT "
                 "DO NOTHING",
                 k, v, v);
        break;
    default:
        snprintf(sql, sizeof(sql), "DELETE FROM tt WHERE id = %lld", k);
    }
    return pgh_run_sql_ok(conn, sql);
}

static void start_writers(ctx *c, pgh_run_write_fn fn)
{
    pgh_run_writers_opts o = {.conninfo = c->p.src_conninfo,
                              .threads = 2,
                              .seed = 10,
                              .pause_ms = 1,
                              .reconnect_ms = 100,
                              .write = fn};
    pgh_run_writers_start(&c->writers, &o);
}

static void write_config(ctx *c, const char *tables, const char *extra)
{
    pgh_run_write_config(&c->r,
                         "source_connection: %s\ndestination_connection: %s\npublication_name: "
                         "pub\ncopy_batch_size: 300\ncopy_worker_count: 2\n%s%s",
                         c->p.src_conninfo, c->p.dst_conninfo, tables, extra);
}

/* Compare one query's dump on two destination databases. */
static void compare_dest(PGconn *a, PGconn *b, const char *query)
{
    char diff[1024];
    long long rows = 0;
    int d = pgh_test_compare_dumps(a, query, b, query, diff, sizeof(diff), &rows);
    PGH_CHECK(d == 0, "pghost and the native subscription differ on %s: %s", query, diff);
    printf("native = pghost: %s: %lld rows\n", query, rows);
}

static const char TF_DDL[] = "CREATE TABLE tf (id int PRIMARY KEY, a int NOT NULL, b text NOT "
                             "NULL, c text)";
static const char TC_DST[] = "CREATE TABLE tc (id int PRIMARY KEY, a int, b text, secret text "
                             "DEFAULT 'local')";

static void case_filters(ctx *c)
{
    pgh_test_exec(c->p.s, "%s; ALTER TABLE tf REPLICA IDENTITY FULL", TF_DDL);
    /* hidden: outside the column list, and not on the destination at all */
    pgh_test_exec(c->p.s, "CREATE TABLE tc (id int PRIMARY KEY, a int, b text, secret text, "
                          "hidden text DEFAULT 'h')");
    pgh_test_exec(
        c->p.s,
        "INSERT INTO tf SELECT g, g %% 2000, CASE WHEN g %% 3 = 0 THEN 'filtered' "
        "ELSE 'x' END, md5(g::text) FROM generate_series(1, %d) g;"
        "INSERT INTO tc SELECT g, g, md5(g::text), 'secret' FROM generate_series(1, %d) g;"
        "CREATE PUBLICATION pub FOR TABLE tf WHERE (%s), tc (id, a, b)",
        ROWS, ROWS, FILTER);
    PGH_CHECK(pgh_test_create_db(&c->p.dst, "native") == 0, "create database native");
    char *native_ci = pgh_test_conninfo(&c->p.dst, "native");
    PGconn *native = PQconnectdb(native_ci);
    PGH_CHECK(PQstatus(native) == CONNECTION_OK, "connect to native: %s", PQerrorMessage(native));
    for (PGconn *d = c->p.d; d; d = d == c->p.d ? native : NULL)
        pgh_test_exec(d, "%s; %s", TF_DDL, TC_DST);
    char *lit = PQescapeLiteral(native, c->p.src_conninfo, strlen(c->p.src_conninfo));
    pgh_test_exec(native, "CREATE SUBSCRIPTION nsub CONNECTION %s PUBLICATION pub", lit);
    PQfreemem(lit);
    write_config(c, "tables:\n  - source_table_name: tf\n  - source_table_name: tc\n", "");
    /* check reads the tables as the publication sends them: nothing to report */
    int checked = pgh_run_exec(&c->r, 60, "check", NULL);
    PGH_CHECK(checked == 0, "check (exit %d): %s %s", checked, pgh_run_stdout(&c->r, 0),
              pgh_run_stderr(&c->r, 0));

    start_writers(c, write_filters);
    pid_t pid = pgh_run_spawn(&c->r, "replicate", "--no-progress", "--follow", NULL);
    pgh_run_wait_follow(&c->r, pid);
    pgh_run_sleep_ms(1500);
    pgh_run_writers_stop(&c->writers);
    pgh_run_fence(&c->r, pid, 120, "INSERT INTO tf VALUES (-1, 5000, 'fence', 'f')",
                  "SELECT EXISTS (SELECT 1 FROM tf WHERE id = -1)");
    PGH_CHECK(
        pgh_run_poll(NULL, 0, native, 1200, 100, "SELECT EXISTS (SELECT 1 FROM tf WHERE id = -1)"),
        "the native subscription did not catch up");

    char q[512];
    snprintf(q, sizeof(q), "SELECT id, a, b, c FROM tf WHERE (%s) ORDER BY id", FILTER);
    pgh_run_compare(&c->p, q, "SELECT id, a, b, c FROM tf ORDER BY id", pgh_run_stderr(&c->r, 0));
    pgh_run_compare(&c->p, "SELECT id, a, b, 'local' FROM tc ORDER BY id",
                    "SELECT id, a, b, secret FROM tc ORDER BY id", pgh_run_stderr(&c->r, 0));
    compare_dest(c->p.d, native, "SELECT * FROM tf ORDER BY id");
    compare_dest(c->p.d, native, "SELECT * FROM tc ORDER BY id");
    pgh_run_stop(&c->r, pid, STOP_WAIT_S);
    /* verify reads the source through the same filter and columns */
    int code = pgh_run_exec(&c->r, 120, "verify", NULL);
    PGH_CHECK(code == 0, "verify of the filtered tables (exit %d): %s %s", code,
              pgh_run_stdout(&c->r, 0), pgh_run_stderr(&c->r, 0));
    pgh_test_exec(native, "DROP SUBSCRIPTION nsub");
    PQfinish(native);
    free(native_ci);
}

/* Whether the debug log's copy plan line of table says format. */
static bool plan_format(const char *log, const char *table, const char *format)
{
    char tag[160];
    snprintf(tag, sizeof(tag), "(table %s)", table);
    for (const char *l = log; l && *l;) {
        const char *nl = strchr(l, '\n');
        size_t len = nl ? (size_t)(nl - l) : strlen(l);
        char line[2048];
        snprintf(line, sizeof(line), "%.*s", (int)(len < sizeof(line) ? len : sizeof(line) - 1), l);
        if (strstr(line, "copy plan:") && strstr(line, tag) && strstr(line, format))
            return true;
        l = nl ? nl + 1 : NULL;
    }
    return false;
}

static void case_types(ctx *c)
{
    pgh_test_exec(c->p.s, "CREATE TABLE tt (id int PRIMARY KEY, i int, big bigint, v varchar(10), "
                          "t text, ts timestamp);"
                          "INSERT INTO tt SELECT g, g, -g, 'v' || g, 't' || g, "
                          "'2024-01-01'::timestamp + g * interval '1 minute' "
                          "FROM generate_series(1, 6000) g;"
                          "CREATE TABLE same (id int PRIMARY KEY, v text);"
                          "INSERT INTO same SELECT g, 's' || g FROM generate_series(1, 3000) g;"
                          "CREATE PUBLICATION pub FOR TABLE tt, same");
    pgh_test_exec(c->p.d, "CREATE TABLE tt (id int PRIMARY KEY, i bigint, big int, v text, "
                          "t varchar(20), ts timestamptz, extra_d text NOT NULL DEFAULT 'd', "
                          "extra_id bigint GENERATED ALWAYS AS IDENTITY);"
                          "CREATE TABLE same (id int PRIMARY KEY, v text)");
    /* copy_format auto (the default): tt goes in text, same keeps binary */
    write_config(c, "tables: [public.tt, public.same]\n", "");
    start_writers(c, write_types);
    pid_t pid = pgh_run_spawn(&c->r, "replicate", "--no-progress", "--follow", "--log-level",
                              "debug", NULL);
    pgh_run_wait_follow(&c->r, pid);
    pgh_run_sleep_ms(1500);
    pgh_run_writers_stop(&c->writers);
    pgh_run_fence(&c->r, pid, 120, "INSERT INTO tt VALUES (-1, 1, 1, 'f', 'f', now())",
                  "SELECT EXISTS (SELECT 1 FROM tt WHERE id = -1)");
    pgh_run_compare(&c->p,
                    "SELECT id, i::bigint, big::int, v::text, t::varchar(20), ts::timestamptz, "
                    "'d', true FROM tt ORDER BY id",
                    "SELECT id, i, big, v, t, ts, extra_d, extra_id > 0 FROM tt ORDER BY id",
                    pgh_run_stderr(&c->r, 0));
    pgh_run_compare(&c->p, "SELECT * FROM same ORDER BY id", NULL, pgh_run_stderr(&c->r, 0));
    pgh_run_stop(&c->r, pid, STOP_WAIT_S);
    const char *log = pgh_run_stderr(&c->r, 0);
    PGH_CHECK(plan_format(log, "public.tt", "text format"), "tt was not copied in text: %s", log);
    PGH_CHECK(plan_format(log, "public.same", "binary format"), "same did not keep binary: %s",
              log);
}

/* A value the destination's type cannot hold: the copy, then (with the copy fitting) the apply,
 * stop with the table and the column named (the apply: and the row's key), nothing of the
 * failing batch or transaction kept. A composite key is named whole (tb2). */
static void case_toobig(ctx *c)
{
    pgh_test_exec(c->p.s, "CREATE TABLE tb (id int PRIMARY KEY, n bigint);"
                          "INSERT INTO tb SELECT g, g FROM generate_series(1, 1000) g;"
                          "UPDATE tb SET n = 1099511627776 WHERE id = 700;"
                          "CREATE PUBLICATION pub FOR TABLE tb");
    pgh_test_exec(c->p.d, "CREATE TABLE tb (id int PRIMARY KEY, n int)");
    write_config(c, "source_table_name: tb\n", "");
    int code = pgh_run_exec(&c->r, 60, "replicate", "--no-progress", NULL);
    const char *err = pgh_run_stderr(&c->r, 0);
    PGH_CHECK(code != 0 && strstr(err, "out of range") && strstr(err, "COPY tb") &&
                  strstr(err, "column n"),
              "the copy of a value too big (exit %d): %s", code, err);
    printf("the copy stopped: %s", strstr(err, "pghost: "));
    /* the apply: the copy fits, then a change does not */
    pgh_test_exec(c->p.s, "UPDATE tb SET n = 700 WHERE id = 700");
    pgh_test_exec(c->p.s, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots");
    pgh_test_exec(c->p.d, "DROP SCHEMA IF EXISTS pghost CASCADE; TRUNCATE tb");
    pid_t pid = pgh_run_spawn(&c->r, "replicate", "--no-progress", "--follow", NULL);
    pgh_run_wait_follow(&c->r, pid);
    pgh_test_exec(c->p.s, "BEGIN; UPDATE tb SET n = -1 WHERE id = 1; "
                          "UPDATE tb SET n = 1099511627776 WHERE id = 2; COMMIT");
    code = pgh_run_wait(&c->r, pid, 60);
    err = pgh_run_stderr(&c->r, 0);
    /* named: the table, the column and the row's key (its value is the server's to say) */
    PGH_CHECK(code != 0 && strstr(err, "public.tb, column n, key id = 2: ") &&
                  strstr(err, "out of range"),
              "the apply of a value too big (exit %d): %s", code, err);
    printf("the apply stopped: %s", strstr(err, "pghost: "));
    char *v = pgh_test_value(c->p.d, "SELECT n FROM tb WHERE id = 1");
    PGH_CHECK(strcmp(v, "1") == 0, "half of the failing transaction was applied: n = %s", v);
    free(v);
}

/* --create-tables under a column list (and a row filter): the destination table gets exactly
 * the listed columns. The unlisted ones would break it: "hidden" is NOT NULL without a default
 * (every copied row would fail), "serial_col" owns a sequence, and an index, a unique and a
 * check constraint use them; the listed column "a" keeps its index. */
static void case_createcols(ctx *c)
{
    pgh_test_exec(c->p.s,
                  "CREATE TABLE tl (id int PRIMARY KEY, a int, hidden text NOT NULL, "
                  "serial_col serial, CONSTRAINT hidden_short CHECK (length(hidden) < 100));"
                  "CREATE INDEX tl_hidden ON tl (hidden); CREATE INDEX tl_a ON tl (a);"
                  "CREATE UNIQUE INDEX tl_expr ON tl ((hidden || id::text));"
                  "INSERT INTO tl (id, a, hidden) SELECT g, g * 7, 'h' || g "
                  "FROM generate_series(1, 3000) g;"
                  "CREATE TABLE te (id int PRIMARY KEY, a int, hidden text NOT NULL);"
                  "INSERT INTO te SELECT g, g, 'h' FROM generate_series(1, 100) g;"
                  "CREATE PUBLICATION pub FOR TABLE tl (id, a) WHERE (id > 10), te (id, a)");
    /* te exists already with the listed columns: checked against them, not the source's all */
    pgh_test_exec(c->p.d, "CREATE TABLE te (id int PRIMARY KEY, a int)");
    write_config(c, "tables: [public.tl, public.te]\n", "");
    int code = pgh_run_exec(&c->r, 60, "replicate", "--no-progress", "--create-tables", NULL);
    PGH_CHECK(code == 0, "replicate --create-tables (exit %d): %s", code, pgh_run_stderr(&c->r, 0));
    pgh_run_compare(&c->p, "SELECT id, a FROM tl WHERE id > 10 ORDER BY id",
                    "SELECT * FROM tl ORDER BY id", pgh_run_stderr(&c->r, 0));
    pgh_run_compare(&c->p, "SELECT id, a FROM te ORDER BY id", "SELECT * FROM te ORDER BY id",
                    pgh_run_stderr(&c->r, 0));
    char *cols = pgh_test_value(c->p.d, "SELECT string_agg(attname, ',' ORDER BY attnum) FROM "
                                        "pg_attribute WHERE attrelid = 'tl'::regclass AND "
                                        "attnum > 0 AND NOT attisdropped");
    PGH_CHECK(strcmp(cols, "id,a") == 0, "destination columns %s, want id,a", cols);
    free(cols);
    char *idx = pgh_test_value(c->p.d, "SELECT string_agg(i::text, ',' ORDER BY i::text) FROM "
                                       "(SELECT indexrelid::regclass AS i FROM pg_index "
                                       "WHERE indrelid = 'tl'::regclass) x");
    PGH_CHECK(strcmp(idx, "tl_a,tl_pkey") == 0, "destination indexes %s, want tl_a,tl_pkey", idx);
    free(idx);
    printf("created with the listed columns only: id, a (indexes %s)\n", "tl_a, tl_pkey");
}

/* PostgreSQL 15: a key-changing UPDATE that moves a row into a row filter without touching its
 * TOASTed column arrives as an INSERT whose TOASTed value is unchanged ('u', not sent). Writers
 * move rows in (and out, and on, and delete them) during the copy, the catch-up and the
 * following; the destination must equal the source through the filter, TOASTed values whole.
 * extra: "" (copy + catch-up, then following) or "copy_method: watermarks\n" (the event
 * path). */
#define TZ_OUT 6000    /* keys 1..TZ_OUT: outside the filter */
#define TZ_IN 100000   /* keys TZ_IN+1..TZ_IN+TZ_OUT: inside it */
#define TZ_BURST 50000 /* keys TZ_BURST+1..TZ_BURST+30: outside, for enter_and_leave */
/* 3200 bytes that compress badly: with STORAGE EXTERNAL, stored out of line */
#define TZ_BIG(x)                                                                                  \
    "(SELECT string_agg(md5(" x "::text || '-' || i), '') FROM generate_series(1, 100) i)"
#define TZ_LOAD "INSERT INTO tz SELECT g, 0, " TZ_BIG("g") " FROM generate_series(%d, %d, %d) g"

static bool write_toast(PGconn *conn, pgh_run_writer *w, void *payload)
{
    (void)payload;
    uint64_t r = pgh_run_random(&w->rng);
    long long n = (long long)(r % TZ_OUT) + 1;
    long long m = (long long)((r >> 20) % TZ_OUT) + 1;
    long long at = (r >> 40) % 2 ? n : n + TZ_IN;
    char sql[512];
    switch ((r >> 44) % 10) {
    case 0:
    case 1:
    case 2: /* into the filter, the TOASTed value untouched: INSERT with 'u' */
        snprintf(sql, sizeof(sql), "UPDATE tz SET id = %lld, v = v + 1 WHERE id = %lld", m + TZ_IN,
                 n);
        break;
    case 3: /* out of it: a DELETE */
        snprintf(sql, sizeof(sql), "UPDATE tz SET id = %lld WHERE id = %lld", m, n + TZ_IN);
        break;
    case 4: /* on, inside it: a key move with 'u' */
        snprintf(sql, sizeof(sql), "UPDATE tz SET id = %lld WHERE id = %lld", m + TZ_IN, n + TZ_IN);
        break;
    case 5:
        snprintf(sql, sizeof(sql), "UPDATE tz SET v = v + 1 WHERE id = %lld", at);
        break;
    case 6:
        snprintf(sql, sizeof(sql), "UPDATE tz SET body = " TZ_BIG("%lld") " WHERE id = %lld",
                 (long long)(r % 100000), at);
        break;
    case 7:
        snprintf(sql, sizeof(sql), "DELETE FROM tz WHERE id = %lld", at);
        break;
    default:
        snprintf(sql, sizeof(sql),
                 "INSERT INTO tz VALUES (%lld, 0, " TZ_BIG("%lld") ") ON CONFLICT DO NOTHING", at,
                 at);
    }
    return pgh_run_sql_ok(conn, sql);
}

/* Rows (keys ids, "1,2,...", outside the filter) that enter the filter and leave their new key
 * again at once, each in transactions of its own, before pghost can read them: each INSERT
 * then finds no row on the source, and what follows (a move on, its TOASTed value untouched
 * too, or a delete) must settle it. */
static void enter_and_leave(PGconn *src, char *ids)
{
    char burst[8192] = "";
    size_t used = 0;
    int i = 0;
    for (char *id = strtok(ids, ","); id && used < sizeof(burst) - 256; id = strtok(NULL, ",")) {
        long long in = atoll(id) + TZ_IN;
        char leave[128];
        if (i++ % 2)
            snprintf(leave, sizeof(leave), "DELETE FROM tz WHERE id = %lld", in);
        else
            snprintf(leave, sizeof(leave), "UPDATE tz SET id = %lld WHERE id = %lld", in + 500000,
                     in);
        used += (size_t)snprintf(burst + used, sizeof(burst) - used,
                                 "BEGIN; UPDATE tz SET id = %lld WHERE id = %s; COMMIT; "
                                 "BEGIN; %s; COMMIT; ",
                                 in, id, leave);
    }
    pgh_test_exec(src, "%s", burst);
}

static void case_toastfilter(ctx *c, const char *extra)
{
    pgh_test_exec(c->p.s, "CREATE TABLE tz (id int PRIMARY KEY, v int NOT NULL, body text);"
                          "ALTER TABLE tz ALTER COLUMN body SET STORAGE EXTERNAL");
    pgh_test_exec(c->p.s, TZ_LOAD, 1, TZ_OUT, 1);
    pgh_test_exec(c->p.s, TZ_LOAD, TZ_IN + 1, TZ_IN + TZ_OUT, 3);
    pgh_test_exec(c->p.s, TZ_LOAD, TZ_BURST + 1, TZ_BURST + 30, 1); /* no writer touches them */
    pgh_test_exec(c->p.s, "CREATE PUBLICATION pub FOR TABLE tz WHERE (id > %d)", TZ_IN);
    pgh_test_exec(c->p.d, "CREATE TABLE tz (id int PRIMARY KEY, v int NOT NULL, body text)");
    write_config(c, "source_table_name: tz\n", extra);
    pgh_run_writers_opts o = {.conninfo = c->p.src_conninfo,
                              .threads = 2,
                              .seed = 7,
                              .pause_ms = 1,
                              .reconnect_ms = 100,
                              .write = write_toast};
    pgh_run_writers_start(&c->writers, &o);
    pid_t pid = pgh_run_spawn(&c->r, "replicate", "--no-progress", "--follow", "--log-level",
                              "debug", NULL);
    /* Once the slot is there, the same in the stream the catch-up (or the delivery) replays:
     * such rows are gone long before it reads them. */
    PGH_CHECK(pgh_run_poll(&c->r, pid, c->p.s, 600, 50,
                           "SELECT EXISTS (SELECT 1 FROM pg_replication_slots "
                           "WHERE confirmed_flush_lsn IS NOT NULL)"),
              "no slot");
    char early[512];
    snprintf(early, sizeof(early), "%d", TZ_BURST + 1);
    for (int k = 2; k <= 30; k++)
        snprintf(early + strlen(early), sizeof(early) - strlen(early), ",%d", TZ_BURST + k);
    enter_and_leave(c->p.s, early);
    long writes = 0;
    if (extra[0]) {
        /* the event path is in its "snapshot" phase while rows read again are ahead of the
         * stream, which the writers keep so: they write through the delivery and after it */
        pgh_run_sleep_ms(4000);
        writes = pgh_run_writers_stop(&c->writers);
    } else {
        pgh_run_wait_follow(&c->r, pid);
        pgh_run_sleep_ms(2000);
        writes = pgh_run_writers_stop(&c->writers);
    }
    pgh_run_fence(&c->r, pid, 120, "INSERT INTO tz VALUES (999999, 0, 'fence')",
                  "SELECT EXISTS (SELECT 1 FROM tz WHERE id = 999999)");
    char q[256];
    snprintf(q, sizeof(q), "SELECT id, v, body FROM tz WHERE id > %d ORDER BY id", TZ_IN);
    long long rows = pgh_run_compare(&c->p, q, "SELECT id, v, body FROM tz ORDER BY id",
                                     pgh_run_stderr(&c->r, 0));
    /* While following, rows that enter the filter and leave their key again at once */
    char *ids =
        pgh_test_value(c->p.s,
                       "SELECT string_agg(id::text, ',') FROM (SELECT id FROM tz "
                       "WHERE id <= %d AND NOT EXISTS (SELECT 1 FROM tz t2 WHERE "
                       "t2.id IN (tz.id + %d, tz.id + %d + 500000)) ORDER BY id LIMIT 30) x",
                       TZ_OUT, TZ_IN, TZ_IN);
    enter_and_leave(c->p.s, ids);
    free(ids);
    pgh_run_fence(&c->r, pid, 120, "UPDATE tz SET v = v + 1 WHERE id = 999999",
                  "SELECT v = 1 FROM tz WHERE id = 999999");
    rows = pgh_run_compare(&c->p, q, "SELECT id, v, body FROM tz ORDER BY id",
                           pgh_run_stderr(&c->r, 0));
    pgh_run_stop(&c->r, pid, STOP_WAIT_S);
    /* the whole log: it is longer than pgh_run_stderr returns */
    char path[PGH_RUN_FILE_MAX + 8];
    snprintf(path, sizeof(path), "%s/run1.err", c->p.src.dir);
    int whole = pgh_run_count_lines(path, "without its unchanged TOAST values: read again");
    int held = pgh_run_count_lines(path, "without its unchanged TOAST values: no longer");
    PGH_CHECK(whole > 0, "no INSERT lacking TOAST values was read again (%s)", path);
    PGH_CHECK(held >= 10, "only %d INSERTs lacking TOAST values found no row (%s)", held, path);
    printf("%ld writes; %lld rows equal; INSERTs without TOAST values: %d read again whole, %d "
           "no longer on the source\n",
           writes, rows, whole, held);
}

static void case_nokey(ctx *c)
{
    pgh_test_exec(c->p.s, "CREATE TABLE tk (id int PRIMARY KEY, a int);"
                          "INSERT INTO tk SELECT g, g FROM generate_series(1, 10) g;"
                          "CREATE PUBLICATION pub FOR TABLE tk (a)");
    pgh_test_exec(c->p.d, "CREATE TABLE tk (id int PRIMARY KEY, a int)");
    write_config(c, "source_table_name: tk\n", "");
    int code = pgh_run_exec(&c->r, 60, "replicate", "--no-progress", NULL);
    const char *err = pgh_run_stderr(&c->r, 0);
    PGH_CHECK(code == 3, "exit %d, want 3: %s", code, err);
    PGH_CHECK(strstr(err, "publication pub publishes table public.tk without its key column "
                          "id") != NULL,
              "stderr: %s", err);
    char *slots = pgh_test_value(c->p.s, "SELECT count(*) FROM pg_replication_slots");
    PGH_CHECK(strcmp(slots, "0") == 0, "%s slots left", slots);
    free(slots);
    char *rows = pgh_test_value(c->p.d, "SELECT count(*) FROM tk");
    PGH_CHECK(strcmp(rows, "0") == 0, "%s rows written", rows);
    free(rows);
}

int main(int argc, char **argv)
{
    PGH_CHECK(argc == 2, "usage: it_filters CASE");
    ctx c;
    memset(&c, 0, sizeof(c));
    pgh_run_pair_start(&c.p, NULL, NULL);
    pgh_run_init(&c.r, &c.p, PGH_BINARY, "run", "filters.yaml");
    if (strcmp(argv[1], "filters") == 0)
        case_filters(&c);
    else if (strcmp(argv[1], "types") == 0)
        case_types(&c);
    else if (strcmp(argv[1], "nokey") == 0)
        case_nokey(&c);
    else if (strcmp(argv[1], "toobig") == 0)
        case_toobig(&c);
    else if (strcmp(argv[1], "createcols") == 0)
        case_createcols(&c);
    else if (strcmp(argv[1], "toastfilter") == 0)
        case_toastfilter(&c, "");
    else if (strcmp(argv[1], "toastfilter_events") == 0)
        case_toastfilter(&c, "copy_method: watermarks\n");
    else
        pgh_test_fail("unknown case %s", argv[1]);
    pgh_run_pair_stop(&c.p);
    puts("PASS");
    return 0;
}
