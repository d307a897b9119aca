/*
 * Keys of any ordered type, tables pghost must not select, refusals before anything is written
 * (issue 10, items 2, 3, 4 and 8), through the real binary against real servers.
 *
 *   keys       composite, range, enum (plus a text key with a collation, numeric, timestamptz
 *              and array parts) primary keys, copied by several workers in small keyset
 *              batches while writers insert, update, delete and change keys, then followed:
 *              full ordered dumps equal after a fence.
 *   unordered  a key whose composite type holds a point (no ordering) is refused with exit 3,
 *              the column named, before a slot, the pghost schema or a row exists.
 *   unlogged   a pattern matching an unlogged table leaves it out with a notice naming it (a
 *              temporary table is never a candidate), init and replicate succeed with the rest
 *              (full dumps equal); an unlogged table named on its own is refused with exit 3
 *              before anything is created.
 *   rootonly   a role with SELECT on a hash-partitioned table's root only (not its partitions)
 *              copies each partition through the root while writers insert, update, delete and
 *              move rows between partitions, then follows: full ordered dumps equal.
 *   nogrant    the same role without the grant is refused with exit 3 naming the GRANT, before
 *              a slot, the pghost schema or a row exists.
 *
 * Usage: it_keys CASE
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgh_run.h"

typedef struct ctx {
    pgh_run_pair p;
    pgh_run r;
    pgh_run_writers writers;
} ctx;

#define STOP_WAIT_S 5

/* Nothing of a refused run exists: no slot on the source, no pghost schema and no row in
 * table on the destination. */
static void check_nothing_created(ctx *c, const char *table)
{
    char *slots = pgh_test_value(c->p.s, "SELECT count(*) FROM pg_replication_slots");
    char *schema =
        pgh_test_value(c->p.d, "SELECT count(*) FROM pg_namespace WHERE nspname = 'pghost'");
    char *rows = pgh_test_value(c->p.d, "SELECT count(*) FROM %s", table);
    PGH_CHECK(strcmp(slots, "0") == 0, "a refused run left %s slots", slots);
    PGH_CHECK(strcmp(schema, "0") == 0, "a refused run created the pghost schema");
    PGH_CHECK(strcmp(rows, "0") == 0, "a refused run wrote %s rows into %s", rows, table);
    free(slots);
    free(schema);
    free(rows);
}

/* Exactly one line on stderr, containing want. */
static void check_one_line(ctx *c, const char *want)
{
    const char *err = pgh_run_stderr(&c->r, 0);
    PGH_CHECK(strstr(err, want) != NULL, "stderr lacks \"%s\": %s", want, err);
    const char *nl = strchr(err, '\n');
    PGH_CHECK(nl != NULL && nl[1] == '\0', "more than one line: %s", err);
}

/* ---- keys ---------------------------------------------------------------------------------- */

static const char KEYS_DDL[] =
    "CREATE TYPE ce AS (a float8, b text, c int); "
    "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy', 'ecstatic'); "
    "CREATE TABLE t_comp (a ce PRIMARY KEY, v int NOT NULL, note text); "
    "CREATE TABLE t_range (r int4range PRIMARY KEY, v int NOT NULL); "
    "CREATE TABLE t_enum (m mood, k text COLLATE \"C\", n numeric, ts timestamptz, "
    "  arr int[], v int NOT NULL, PRIMARY KEY (m, k, n, ts, arr))";

static void keys_setup(ctx *c)
{
    pgh_run_pair_start(&c->p, NULL, NULL);
    pgh_test_exec(c->p.s, "%s", KEYS_DDL);
    pgh_test_exec(c->p.d, "%s", KEYS_DDL);
    pgh_test_exec(c->p.s,
                  "INSERT INTO t_comp SELECT ROW(g * 0.5, 't' || g, g %% 7)::ce, 0, md5(g::text) "
                  "  FROM generate_series(1, 6000) g; "
                  "INSERT INTO t_range SELECT int4range(g * 10, g * 10 + g %% 9 + 1), 0 "
                  "  FROM generate_series(1, 6000) g; "
                  "INSERT INTO t_enum SELECT (enum_range(NULL::mood))[1 + g %% 4], 'k' || g, "
                  "  g / 3.0, '2024-01-01'::timestamptz + g * interval '1 min', "
                  "  ARRAY[g %% 5, g], 0 FROM generate_series(1, 6000) g; "
                  "CREATE PUBLICATION pub FOR TABLE t_comp, t_range, t_enum");
    pgh_run_init(&c->r, &c->p, PGH_BINARY, "run", "keys.yaml");
    pgh_run_write_config(&c->r,
                         "source_connection: %s\ndestination_connection: %s\n"
                         "publication_name: pub\ncopy_batch_size: 200\ncopy_worker_count: 3\n"
                         "tables:\n  - public.t_comp\n  - public.t_range\n  - public.t_enum\n",
                         c->p.src_conninfo, c->p.dst_conninfo);
}

/* One random write on one of the three tables: insert, update of a value, delete, or a key
 * change. Key collisions fail, and count as such. */
static bool write_keys(PGconn *conn, pgh_run_writer *w, void *payload)
{
    (void)payload;
    uint64_t r = pgh_run_random(&w->rng);
    long long k = (long long)(r / 16 % 8000) + 1;
    char sql[512];
    char key[160];
    snprintf(key, sizeof(key), "ROW(%lld * 0.5, 't' || %lld, %lld %% 7)::ce", k, k, k);
    switch (r % 12) {
    case 0:
        snprintf(sql, sizeof(sql), "INSERT INTO t_comp VALUES (%s, 1, 'i') ON CONFLICT DO NOTHING",
                 key);
        break;
    case 1:
        snprintf(sql, sizeof(sql), "UPDATE t_comp SET v = v + 1 WHERE a = %s", key);
        break;
    case 2:
        snprintf(sql, sizeof(sql), "DELETE FROM t_comp WHERE a = %s", key);
        break;
    case 3:
        snprintf(sql, sizeof(sql),
                 "UPDATE t_comp SET a = ROW((a).a + 100000, (a).b || 'x', (a).c), v = v + 1 "
                 "WHERE a = %s",
                 key);
        break;
    case 4:
        snprintf(sql, sizeof(sql),
                 "INSERT INTO t_range VALUES (int4range(%lld, %lld), 1) ON CONFLICT DO NOTHING",
                 k * 10, k * 10 + 3);
        break;
    case 5:
        snprintf(sql, sizeof(sql),
                 "UPDATE t_range SET v = v + 1 WHERE r = (SELECT r FROM t_range "
                 "WHERE r >= int4range(%lld, NULL) ORDER BY r LIMIT 1)",
                 k * 10);
        break;
    case 6:
        snprintf(sql, sizeof(sql),
                 "DELETE FROM t_range WHERE r = (SELECT r FROM t_range "
                 "WHERE r >= int4range(%lld, NULL) ORDER BY r LIMIT 1)",
                 k * 10);
        break;
    case 7:
        snprintf(sql, sizeof(sql),
                 "UPDATE t_range SET r = int4range(lower(r) + 1000000, upper(r) + 1000000) "
                 "WHERE r = (SELECT r FROM t_range WHERE r >= int4range(%lld, NULL) "
                 "ORDER BY r LIMIT 1)",
                 k * 10);
        break;
    case 8:
        snprintf(sql, sizeof(sql),
                 "INSERT INTO t_enum VALUES ('ok', 'w' || %lld, %lld, now(), ARRAY[%lld], 1) "
                 "ON CONFLICT DO NOTHING",
                 k, k, k);
        break;
    case 9:
        snprintf(sql, sizeof(sql), "UPDATE t_enum SET v = v + 1 WHERE k = 'k%lld'", k);
        break;
    case 10:
        snprintf(sql, sizeof(sql), "DELETE FROM t_enum WHERE k = 'k%lld'", k);
        break;
    default:
        snprintf(sql, sizeof(sql),
                 "UPDATE t_enum SET m = 'ecstatic', arr = arr || 0, ts = ts + interval '1 s' "
                 "WHERE k = 'k%lld'",
                 k);
    }
    return pgh_run_sql_ok(conn, sql);
}

static void keys_compare(ctx *c)
{
    pgh_run_compare(&c->p, "SELECT * FROM t_comp ORDER BY a", NULL, NULL);
    pgh_run_compare(&c->p, "SELECT * FROM t_range ORDER BY r", NULL, NULL);
    pgh_run_compare(&c->p, "SELECT * FROM t_enum ORDER BY m, k, n, ts, arr", NULL, NULL);
}

static void case_keys(ctx *c)
{
    keys_setup(c);
    pgh_run_writers_opts o = {.conninfo = c->p.src_conninfo,
                              .threads = 2,
                              .seed = 42,
                              .pause_ms = 1,
                              .reconnect_ms = 100,
                              .write = write_keys};
    pgh_run_writers_start(&c->writers, &o);
    pid_t pid = pgh_run_spawn(&c->r, "replicate", "--no-progress", "--follow", NULL);
    pgh_run_wait_follow(&c->r, pid);
    pgh_run_sleep_ms(1500); /* writes while following */
    long writes = pgh_run_writers_stop(&c->writers);
    /* the fence: a composite key written last */
    pgh_run_fence(&c->r, pid, 60, "INSERT INTO t_comp VALUES (ROW(-1, 'fence', 0)::ce, 1, 'fence')",
                  "SELECT EXISTS (SELECT 1 FROM t_comp WHERE a = ROW(-1, 'fence', 0)::ce)");
    keys_compare(c);
    pgh_run_stop(&c->r, pid, STOP_WAIT_S);
    PGH_CHECK(writes > 200, "the writers committed only %ld transactions", writes);
    printf("writers committed %ld transactions\n", writes);
}

/* ---- unordered ----------------------------------------------------------------------------- */

static void case_unordered(ctx *c)
{
    pgh_run_pair_start(&c->p, NULL, NULL);
    const char *ddl = "CREATE TYPE cp AS (x int, p point); "
                      "CREATE TABLE tp (a cp PRIMARY KEY, v int)";
    pgh_test_exec(c->p.s, "%s", ddl);
    pgh_test_exec(c->p.d, "%s", ddl);
    /* one row: two would already fail to compare in the primary key's index */
    pgh_test_exec(c->p.s, "INSERT INTO tp VALUES (ROW(1, '(1,2)'), 1); "
                          "CREATE PUBLICATION pub FOR TABLE tp");
    pgh_run_init(&c->r, &c->p, PGH_BINARY, "run", "unordered.yaml");
    pgh_run_write_config(&c->r,
                         "source_connection: %s\ndestination_connection: %s\n"
                         "publication_name: pub\nsource_table_name: tp\n",
                         c->p.src_conninfo, c->p.dst_conninfo);
    int rc = pgh_run_exec(&c->r, 60, "replicate", "--no-progress", NULL);
    PGH_CHECK(rc == 3, "replicate exited %d, not 3: %s", rc, pgh_run_stderr(&c->r, 0));
    check_one_line(c, "key column a holds type point, which has no ordering");
    check_nothing_created(c, "tp");
    puts("ok: a key without ordering is refused before anything is created");
}

/* ---- unlogged ------------------------------------------------------------------------------ */

static void case_unlogged(ctx *c)
{
    pgh_run_pair_start(&c->p, NULL, NULL);
    const char *ddl = "CREATE TABLE tl1 (id int PRIMARY KEY, v text); "
                      "CREATE TABLE tl2 (id int PRIMARY KEY, v text); ";
    pgh_test_exec(c->p.s, "%s CREATE UNLOGGED TABLE tu1 (id int PRIMARY KEY, v text)", ddl);
    pgh_test_exec(c->p.d, "%s CREATE TABLE tu1 (id int PRIMARY KEY, v text)", ddl);
    pgh_test_exec(c->p.s, "INSERT INTO tl1 SELECT g, 'a' || g FROM generate_series(1, 3000) g; "
                          "INSERT INTO tl2 SELECT g, 'b' || g FROM generate_series(1, 2000) g; "
                          "INSERT INTO tu1 SELECT g, 'u' || g FROM generate_series(1, 100) g");
    pgh_run_init(&c->r, &c->p, PGH_BINARY, "run", NULL);

    /* named on its own: refused, nothing created (the user's publication exists: PostgreSQL
     * would not take tu1 into it) */
    pgh_test_exec(c->p.s, "CREATE PUBLICATION mypub FOR TABLE tl1");
    pgh_run_write_config(&c->r,
                         "source_connection: %s\ndestination_connection: %s\n"
                         "publication_name: mypub\nsource_table_name: tu1\n",
                         c->p.src_conninfo, c->p.dst_conninfo);
    int rc = pgh_run_exec(&c->r, 60, "replicate", "--no-progress", NULL);
    PGH_CHECK(rc == 3, "replicate of an unlogged table exited %d, not 3: %s", rc,
              pgh_run_stderr(&c->r, 0));
    check_one_line(c, "source table public.tu1 is unlogged");
    check_nothing_created(c, "tu1");
    rc = pgh_run_exec(&c->r, 60, "init", NULL);
    PGH_CHECK(rc == 3, "init of an unlogged table exited %d, not 3: %s", rc,
              pgh_run_stderr(&c->r, 0));
    PGH_CHECK(strstr(pgh_run_stderr(&c->r, 0), "tu1 is unlogged") != NULL, "init: %s",
              pgh_run_stderr(&c->r, 0));
    char *pubs = pgh_test_value(c->p.s, "SELECT string_agg(pubname || ':' || tablename, ',') "
                                        "FROM pg_publication_tables");
    PGH_CHECK(strcmp(pubs, "mypub:tl1") == 0, "a refused init changed publications: %s", pubs);
    free(pubs);
    puts("ok: an unlogged table named on its own is refused before anything is created");

    /* by a pattern, with a temporary table of another session alive: left out, with a notice */
    PGconn *tmp = PQconnectdb(c->p.src_conninfo);
    PGH_CHECK(PQstatus(tmp) == CONNECTION_OK, "connect: %s", PQerrorMessage(tmp));
    pgh_test_exec(tmp, "CREATE TEMPORARY TABLE tt1 (id int PRIMARY KEY)");
    pgh_run_write_config(&c->r,
                         "source_connection: %s\ndestination_connection: %s\n"
                         "publication_name: upub\ntables:\n  - \"*.t*\"\n",
                         c->p.src_conninfo, c->p.dst_conninfo);
    rc = pgh_run_exec(&c->r, 60, "init", NULL);
    PGH_CHECK(rc == 0, "init exited %d: %s", rc, pgh_run_stderr(&c->r, 0));
    const char *err = pgh_run_stderr(&c->r, 0);
    PGH_CHECK(strstr(err, "public.tu1") != NULL && strstr(err, "unlogged") != NULL,
              "init named no unlogged table: %s", err);
    char *listed = pgh_test_value(c->p.s, "SELECT string_agg(tablename, ',' ORDER BY tablename) "
                                          "FROM pg_publication_tables WHERE pubname = 'upub'");
    PGH_CHECK(strcmp(listed, "tl1,tl2") == 0, "publication lists %s", listed);
    free(listed);
    rc = pgh_run_exec(&c->r, 120, "replicate", "--no-progress", NULL);
    PGH_CHECK(rc == 0, "replicate exited %d: %s", rc, pgh_run_stderr(&c->r, 0));
    err = pgh_run_stderr(&c->r, 0);
    PGH_CHECK(strstr(err, "public.tu1") != NULL && strstr(err, "unlogged") != NULL,
              "replicate named no unlogged table: %s", err);
    pgh_run_compare(&c->p, "SELECT * FROM tl1 ORDER BY id", NULL, NULL);
    pgh_run_compare(&c->p, "SELECT * FROM tl2 ORDER BY id", NULL, NULL);
    char *rows = pgh_test_value(c->p.d, "SELECT count(*) FROM tu1");
    PGH_CHECK(strcmp(rows, "0") == 0, "the unlogged table was copied");
    free(rows);
    PQfinish(tmp);
    puts("ok: patterns leave unlogged and temporary tables out, with a notice");
}

/* ---- rootonly / nogrant -------------------------------------------------------------------- */

static const char HASHPART_DDL[] =
    "CREATE TABLE hashpart (id int PRIMARY KEY, v int NOT NULL, note text) "
    "  PARTITION BY HASH (id); "
    "CREATE TABLE hashpart_a PARTITION OF hashpart FOR VALUES WITH (MODULUS 3, REMAINDER 0); "
    "CREATE TABLE hashpart_b PARTITION OF hashpart FOR VALUES WITH (MODULUS 3, REMAINDER 1); "
    "CREATE TABLE hashpart_c PARTITION OF hashpart FOR VALUES WITH (MODULUS 3, REMAINDER 2)";

/* The source as role rep (REPLICATION, no superuser), granted SELECT on the root only when
 * root_grant; the destination as the superuser. */
static void hashpart_setup(ctx *c, bool root_grant)
{
    pgh_run_pair_start(&c->p, NULL, NULL);
    pgh_test_exec(c->p.s, "%s", HASHPART_DDL);
    pgh_test_exec(c->p.d, "%s", HASHPART_DDL);
    pgh_test_exec(
        c->p.s,
        "INSERT INTO hashpart SELECT g, 0, md5(g::text) FROM generate_series(1, 20000) g; "
        "CREATE PUBLICATION pub FOR TABLE hashpart "
        "  WITH (publish_via_partition_root = true); "
        "CREATE ROLE rep LOGIN REPLICATION; %s",
        root_grant ? "GRANT SELECT ON hashpart TO rep" : "");
    pgh_run_init(&c->r, &c->p, PGH_BINARY, "run", "hashpart.yaml");
    pgh_run_write_config(&c->r,
                         "source_connection: %s user=rep\ndestination_connection: %s\n"
                         "publication_name: pub\nsource_table_name: hashpart\n"
                         "copy_batch_size: 500\ncopy_worker_count: 3\n",
                         c->p.src_conninfo, c->p.dst_conninfo);
}

static bool write_hashpart(PGconn *conn, pgh_run_writer *w, void *payload)
{
    (void)payload;
    uint64_t r = pgh_run_random(&w->rng);
    long long k = (long long)(r / 8 % 30000) + 1;
    char sql[256];
    switch (r % 4) {
    case 0:
        snprintf(sql, sizeof(sql),
                 "INSERT INTO hashpart VALUES (%lld, 1, 'i') ON CONFLICT DO NOTHING", k);
        break;
    case 1:
        snprintf(sql, sizeof(sql), "UPDATE hashpart SET v = v + 1 WHERE id = %lld", k);
        break;
    case 2:
        snprintf(sql, sizeof(sql), "DELETE FROM hashpart WHERE id = %lld", k);
        break;
    default: /* the new key usually lands in another partition */
        snprintf(sql, sizeof(sql), "UPDATE hashpart SET id = id + 100000 WHERE id = %lld", k);
    }
    return pgh_run_sql_ok(conn, sql);
}

static void case_rootonly(ctx *c)
{
    hashpart_setup(c, true);
    pgh_run_writers_opts o = {.conninfo = c->p.src_conninfo,
                              .threads = 2,
                              .seed = 7,
                              .pause_ms = 1,
                              .reconnect_ms = 100,
                              .write = write_hashpart};
    pgh_run_writers_start(&c->writers, &o);
    pid_t pid = pgh_run_spawn(&c->r, "replicate", "--no-progress", "--follow", NULL);
    pgh_run_wait_follow(&c->r, pid);
    pgh_run_sleep_ms(1000);
    long writes = pgh_run_writers_stop(&c->writers);
    pgh_run_fence(&c->r, pid, 60, "INSERT INTO hashpart VALUES (-1, -1, 'fence')",
                  "SELECT EXISTS (SELECT 1 FROM hashpart WHERE id = -1)");
    pgh_run_compare(&c->p, "SELECT * FROM hashpart ORDER BY id", NULL, NULL);
    pgh_run_compare(&c->p, "SELECT * FROM hashpart_a ORDER BY id", NULL, NULL);
    pgh_run_stop(&c->r, pid, STOP_WAIT_S);
    PGH_CHECK(writes > 100, "the writers committed only %ld transactions", writes);
    printf("ok: partitions copied through their root; writers committed %ld\n", writes);
}

static void case_nogrant(ctx *c)
{
    hashpart_setup(c, false);
    int rc = pgh_run_exec(&c->r, 60, "replicate", "--no-progress", NULL);
    PGH_CHECK(rc == 3, "replicate exited %d, not 3: %s", rc, pgh_run_stderr(&c->r, 0));
    check_one_line(c, "run GRANT SELECT ON \"public\".\"hashpart\" TO rep");
    check_nothing_created(c, "hashpart");
    puts("ok: a role that may read nothing is refused, naming the grant");
}

int main(int argc, char **argv)
{
    PGH_CHECK(argc == 2, "usage: it_keys CASE");
    static ctx c;
    if (strcmp(argv[1], "keys") == 0)
        case_keys(&c);
    else if (strcmp(argv[1], "unordered") == 0)
        case_unordered(&c);
    else if (strcmp(argv[1], "unlogged") == 0)
        case_unlogged(&c);
    else if (strcmp(argv[1], "rootonly") == 0)
        case_rootonly(&c);
    else if (strcmp(argv[1], "nogrant") == 0)
        case_nogrant(&c);
    else
        pgh_test_fail("unknown case %s", argv[1]);
    pgh_run_pair_stop(&c.p);
    return 0;
}
