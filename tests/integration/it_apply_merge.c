/*
 * Merged changes in grouped destination transactions (src/dest/postgres/merge.h), through the
 * real binary: pghost replicate --follow applies a seeded random backlog in groups of up to
 * 20,000 changes, and full ordered dumps of every table must equal the source's.
 *
 * Three tables take the same kind of random workload (inserts, updates of random column
 * subsets, key moves, deletes, re-inserts of deleted keys in a small key space, TOAST values
 * left unchanged, TRUNCATEs), many source transactions of 1-6 changes each:
 *   m: only its primary key: its changes merge;
 *   s: a second unique index (on c), and swaps of c values between two rows inside one source
 *      transaction: merged, the first touched row would take a value the other still holds;
 *      its changes must not merge (the apply stops with a unique violation if they do);
 *   g: an ENABLE ALWAYS trigger on the destination that logs each row change; the source has
 *      the same trigger, so both logs must count the same changes: g must not merge.
 *
 * With "fk", pghost runs with disable_triggers: false (foreign keys checked on the destination)
 * and two more tables take part: p, and k referencing it (the foreign key is added on the
 * destination after the sync). Pairs of source transactions delete a row of k and its row of
 * p, then insert both again: merged, k's DELETE and INSERT would go first and p's DELETE then
 * find k's new row referencing it. Foreign keys are triggers that fire in that mode, so
 * neither table must merge (the apply stops with a foreign key violation if they do).
 *
 * Usage: it_apply_merge SEED [fk]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgh_run.h"

#define STOP_WAIT_S 10
#define KEYS 120  /* key space per table: keys come back often */
#define TXNS 2500 /* source transactions in the backlog */

typedef struct ctx {
    pgh_run_pair p;
    pgh_run r;
    uint64_t rnd;
    bool fk; /* disable_triggers: false, and the tables p and k */
} ctx;

static const char *const DDL =
    "CREATE TABLE m (id int PRIMARY KEY, a int, b text, c int);"
    "ALTER TABLE m ALTER b SET STORAGE EXTERNAL;"
    "CREATE TABLE s (id int PRIMARY KEY, a int, b text, c int UNIQUE);"
    "ALTER TABLE s ALTER b SET STORAGE EXTERNAL;"
    "CREATE TABLE g (id int PRIMARY KEY, a int, b text, c int);"
    "ALTER TABLE g ALTER b SET STORAGE EXTERNAL;"
    "CREATE TABLE g_log (n bigserial PRIMARY KEY, tbl name, op text);"
    "CREATE FUNCTION g_log() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "  INSERT INTO g_log (tbl, op) VALUES (TG_TABLE_NAME, TG_OP); RETURN NULL; END $$;"
    "CREATE TRIGGER g_log AFTER INSERT OR UPDATE OR DELETE ON g "
    "  FOR EACH ROW EXECUTE FUNCTION g_log()";

static const char *const FK_DDL = "CREATE TABLE p (id int PRIMARY KEY, v int);"
                                  "CREATE TABLE k (id int PRIMARY KEY, pid int NOT NULL, v int)";
#define FK_ADD "ALTER TABLE k ADD FOREIGN KEY (pid) REFERENCES p"
#define FK_ROWS 50

static void setup(ctx *c, uint64_t seed)
{
    c->rnd = seed * 2654435761u + 1;
    pgh_run_pair_start(&c->p, NULL, NULL);
    /* on the source only, m's row changes are logged too: how many there were */
    pgh_test_exec(c->p.s,
                  "%s; CREATE TRIGGER g_log AFTER INSERT OR UPDATE OR DELETE ON m "
                  "FOR EACH ROW EXECUTE FUNCTION g_log()",
                  DDL);
    pgh_test_exec(c->p.d, "%s; ALTER TABLE g ENABLE ALWAYS TRIGGER g_log", DDL);
    for (const char *t = "msg"; *t; t++)
        pgh_test_exec(c->p.s,
                      "INSERT INTO %c SELECT k, k, repeat(md5(k::text), 100), k "
                      "FROM generate_series(1, %d, 2) k",
                      *t, KEYS);
    if (c->fk) {
        pgh_test_exec(c->p.s, "%s; %s", FK_DDL, FK_ADD);
        pgh_test_exec(c->p.d, "%s", FK_DDL);
        pgh_test_exec(c->p.s,
                      "INSERT INTO p SELECT g, g FROM generate_series(1, %d) g;"
                      "INSERT INTO k SELECT g, g, g FROM generate_series(1, %d) g",
                      FK_ROWS, FK_ROWS);
    }
    pgh_test_exec(c->p.s, "CREATE PUBLICATION pub FOR TABLE m, s, g%s", c->fk ? ", p, k" : "");
    pgh_run_init(&c->r, &c->p, PGH_BINARY, "run", "merge.yaml");
    pgh_run_write_config(&c->r,
                         "source_connection: %s\ndestination_connection: %s\n"
                         "publication_name: pub\ntables:\n  - source_table_name: m\n"
                         "  - source_table_name: s\n  - source_table_name: g\n%s"
                         "apply_group_max_changes: 20000\napply_group_max_delay_ms: 5000\n",
                         c->p.src_conninfo, c->p.dst_conninfo,
                         c->fk ? "  - source_table_name: p\n  - source_table_name: k\n"
                                 "disable_triggers: false\n"
                               : "");
}

static int pick(ctx *c, int n)
{
    return (int)(pgh_run_random(&c->rnd) % (uint64_t)n);
}

/* UPDATE of a random non-empty subset of a, b (the TOAST column) and c; the key stays. */
static void put_update(ctx *c, FILE *sql, char t, int k)
{
    int cols = 1 + pick(c, 7), cv = 1000 + pick(c, 100000);
    fprintf(sql, "UPDATE %c SET ", t);
    const char *sep = "";
    if (cols & 1) {
        fprintf(sql, "a = %d", pick(c, 100000));
        sep = ", ";
    }
    if (cols & 2) {
        fprintf(sql, "%sb = repeat(md5('%d'), %d)", sep, pick(c, 1000), 70 + pick(c, 60));
        sep = ", ";
    }
    if (cols & 4)
        fprintf(sql, "%sc = %d", sep, cv);
    fprintf(sql, " WHERE id = %d", k);
    if ((cols & 4) && t == 's') /* c is unique on s: only a value nobody holds */
        fprintf(sql, " AND NOT EXISTS (SELECT 1 FROM s WHERE c = %d)", cv);
    fputs(";", sql);
}

/* Two rows of s exchange their c values: the second row takes the first's old value, then the
 * first takes the second's old value. */
static void put_swap(ctx *c, FILE *sql, int k1, int k2)
{
    fprintf(sql,
            "DO $$ DECLARE x int; y int; BEGIN "
            "SELECT c INTO x FROM s WHERE id = %d; SELECT c INTO y FROM s WHERE id = %d; "
            "IF x IS NOT NULL AND y IS NOT NULL AND %d <> %d THEN "
            "UPDATE s SET c = NULL WHERE id = %d; UPDATE s SET c = x WHERE id = %d; "
            "UPDATE s SET c = y WHERE id = %d; END IF; END $$;",
            k1, k2, k1, k2, k1, k2, k1);
}

/* One random change of table t. */
static void put_change(ctx *c, FILE *sql, char t)
{
    int k = 1 + pick(c, KEYS), to = 1 + pick(c, KEYS), op = pick(c, 100);
    if (op < 25)
        fprintf(sql,
                "INSERT INTO %c VALUES (%d, %d, repeat(md5('%d'), %d), %d) "
                "ON CONFLICT DO NOTHING;",
                t, k, pick(c, 1000), pick(c, 1000), 70 + pick(c, 60),
                t == 's' ? -100000 - k * 1000 - pick(c, 1000) : pick(c, 1000));
    else if (op < 65)
        put_update(c, sql, t, k);
    else if (op < 75) /* key move; b (TOAST) is left unchanged */
        fprintf(sql,
                "UPDATE %c SET id = %d, a = a + 1 WHERE id = %d AND NOT EXISTS "
                "(SELECT 1 FROM %c WHERE id = %d);",
                t, to, k, t, to);
    else if (op < 80)
        fprintf(sql, "UPDATE %c SET a = a + 1 WHERE id = %d;", t, k);
    else if (op < 92)
        fprintf(sql, "DELETE FROM %c WHERE id = %d;", t, k);
    else if (t == 's')
        put_swap(c, sql, k, to);
    else
        put_update(c, sql, t, k);
}

/* The backlog, while pghost is stopped: TXNS source transactions of 1-6 changes of random
 * tables, with a TRUNCATE of one table every 500 transactions (m twice). */
static void make_backlog(ctx *c)
{
    char *text = NULL;
    size_t len = 0;
    FILE *sql = NULL;
    for (int i = 0; i < TXNS; i++) {
        if (sql == NULL)
            sql = open_memstream(&text, &len);
        PGH_CHECK(sql != NULL, "open_memstream failed");
        fputs("BEGIN;", sql);
        for (int n = 1 + pick(c, 6); n > 0; n--)
            put_change(c, sql, "msg"[pick(c, 3)]);
        if (c->fk && pick(c, 4) == 0) { /* a row of k and its p, deleted and inserted again */
            int j = 1 + pick(c, FK_ROWS), v = pick(c, 1000);
            fprintf(sql,
                    "DELETE FROM k WHERE id = %d; DELETE FROM p WHERE id = %d; COMMIT; "
                    "BEGIN; INSERT INTO p VALUES (%d, %d); INSERT INTO k VALUES (%d, %d, %d);"
                    "UPDATE k SET v = v + 1 WHERE id = %d;",
                    j, j, j, v, j, j, v, 1 + pick(c, FK_ROWS));
        }
        if (i % 500 == 250) /* m, s, g, m, s */
            fprintf(sql, "TRUNCATE %c;", "msg"[(i / 500) % 3]);
        fputs("COMMIT;", sql);
        if (i % 100 == 99 || i == TXNS - 1) {
            fclose(sql);
            sql = NULL;
            pgh_test_exec(c->p.s, "%s", text);
            free(text);
            text = NULL;
        }
    }
}

/* How many statements the last run's trace log shows on table t. */
static int statements_on(ctx *c, char t)
{
    char needle[32];
    snprintf(needle, sizeof(needle), " on public.%c: ", t);
    return pgh_run_count_lines(c->r.err, needle);
}

static long long log_count(PGconn *conn, const char *where)
{
    char *v = pgh_test_value(conn, "SELECT count(*) FROM g_log WHERE %s", where);
    long long n = atoll(v);
    free(v);
    return n;
}

static void compare(ctx *c, const char *query)
{
    pgh_run_compare(&c->p, query, NULL, pgh_run_stderr(&c->r, 0));
}

int main(int argc, char **argv)
{
    PGH_CHECK(argc == 2 || (argc == 3 && strcmp(argv[2], "fk") == 0),
              "usage: it_apply_merge SEED [fk]");
    ctx c;
    memset(&c, 0, sizeof(c));
    c.fk = argc == 3;
    setup(&c, strtoull(argv[1], NULL, 10));
    pid_t pid = pgh_run_spawn(&c.r, "replicate", "--no-progress", "--follow", NULL);
    pgh_run_wait_follow(&c.r, pid);
    pgh_run_stop(&c.r, pid, STOP_WAIT_S);
    if (c.fk)
        pgh_test_exec(c.p.d, FK_ADD);
    pgh_test_exec(c.p.s, "TRUNCATE g_log");
    pgh_test_exec(c.p.d, "TRUNCATE g_log");
    make_backlog(&c);
    pid =
        pgh_run_spawn(&c.r, "replicate", "--no-progress", "--follow", "--log-level", "trace", NULL);
    pgh_run_fence(&c.r, pid, 120, "INSERT INTO m VALUES (-1, 0, 'fence', 0)",
                  "SELECT count(*) = 1 FROM m WHERE id = -1");
    compare(&c, "SELECT * FROM m ORDER BY id");
    compare(&c, "SELECT * FROM s ORDER BY id");
    compare(&c, "SELECT * FROM g ORDER BY id");
    compare(&c, "SELECT op, count(*) FROM g_log WHERE tbl = 'g' GROUP BY op ORDER BY op");
    if (c.fk) {
        compare(&c, "SELECT * FROM p ORDER BY id");
        compare(&c, "SELECT * FROM k ORDER BY id");
    }
    pgh_run_stop(&c.r, pid, STOP_WAIT_S);
    /* Merging sends fewer statements than there were changes (keys come back often in a
     * group); g's trigger saw every change on both sides (compared above): g did not merge. */
    long long m_changes = log_count(c.p.s, "tbl = 'm'");
    int m_stmts = statements_on(&c, 'm');
    printf("%d source transactions; m: %lld row changes, %d statements; g: %lld row changes, "
           "%d statements; s: %d statements\n",
           TXNS, m_changes, m_stmts, log_count(c.p.s, "tbl = 'g'"), statements_on(&c, 'g'),
           statements_on(&c, 's'));
    PGH_CHECK(m_stmts > 0 && m_stmts * 10 < m_changes * 8, "m did not merge");
    pgh_run_pair_stop(&c.p);
    puts("PASS");
    return 0;
}
