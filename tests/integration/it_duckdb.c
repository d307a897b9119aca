/*
 * The DuckDB destination end to end: `pghost replicate CONFIG --to duckdb`, the DuckDB file then
 * read back through the same libduckdb and compared with the source as full ordered dumps (every
 * column, through text casts on both sides), never by counting rows.
 *
 * Cases (one ctest entry each):
 *   consistent     2 tables (bigint key with TOASTed text, (text, int) key with timestamptz and
 *                  numeric(12,2)), 200,000 + 20,000 rows; writers insert, update (TOAST left
 *                  unchanged and rewritten), delete, move keys and TRUNCATE once while the rows
 *                  are delivered (--follow); fence (the slot confirms past a last write); SIGTERM.
 *   consistent_1m  the same with 1,000,000 rows (label slow).
 *   kill9          the same shape, SIGKILL of pghost three times while the rows are delivered,
 *                  restarts on the same file; then the position table holds one row, in phase
 *                  follow, at or after the fence.
 *   types          every built-in type of it_types.c: DuckDB's type of each column is the one
 *                  docs/destinations.md maps it to, and each value, cast back to the PostgreSQL
 *                  type on the source, equals the source's.
 *   rules          a rules file (docs/rules.md) with a filter (v >= 50), a mask, a rename and a
 *                  column left out; writers move rows in and out of the filter (updates of v,
 *                  inserts, deletes, key moves) while the rows are delivered and after; the
 *                  DuckDB table has the renamed, kept columns and equals the source filtered
 *                  and transformed by the same rules in SQL.
 *
 * libduckdb is found as pghost finds it (src/dest/duckdb/duckdb_api.h); when it cannot be
 * loaded the test says so and exits 77 (skipped): run scripts/install-deps.sh.
 *
 * Usage: it_duckdb consistent|consistent_1m|kill9|types|rules
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dest/duckdb/duckdb_api.h"
#include "pgh_run.h"

static const duck_api *A; /* the loaded library */

/* ---- reading the DuckDB file ------------------------------------------------------------ */

typedef struct duck_file {
    duck_database db;
    duck_connection conn;
} duck_file;

static void duck_open(duck_file *f, const char *path)
{
    char *why = NULL;
    PGH_CHECK(A->open_ext(path, &f->db, NULL, &why) == DUCK_SUCCESS, "cannot open %s: %s", path,
              why ? why : "?");
    PGH_CHECK(A->connect(f->db, &f->conn) == DUCK_SUCCESS, "cannot connect to %s", path);
}

static void duck_close(duck_file *f)
{
    A->disconnect(&f->conn);
    A->close(&f->db);
}

/* Rows of sql as text: columns joined by |, rows ended by \n, NULL as <null>. malloc'd. */
static char *duck_dump(duck_file *f, const char *sql, long *nrows)
{
    duck_result res;
    memset(&res, 0, sizeof(res));
    PGH_CHECK(A->query(f->conn, sql, &res) == DUCK_SUCCESS, "DuckDB: %s: %s", sql,
              A->result_error(&res));
    size_t cap = 1 << 20, len = 0;
    char *out = malloc(cap);
    PGH_CHECK(out != NULL, "out of memory");
    duck_idx rows = A->row_count(&res), cols = A->column_count(&res);
    for (duck_idx r = 0; r < rows; r++) {
        for (duck_idx c = 0; c < cols; c++) {
            char *v = A->value_is_null(&res, c, r) ? NULL : A->value_varchar(&res, c, r);
            const char *s = v ? v : "<null>";
            size_t need = strlen(s) + 2;
            while (len + need + 1 > cap) {
                out = realloc(out, cap *= 2);
                PGH_CHECK(out != NULL, "out of memory");
            }
            len += (size_t)sprintf(out + len, "%s%c", s, c + 1 < cols ? '|' : '\n');
            A->free(v);
        }
    }
    out[len] = '\0';
    *nrows = (long)rows;
    A->destroy_result(&res);
    return out;
}

static char *pg_dump(PGconn *c, const char *sql, long *nrows)
{
    PGresult *res = PQexec(c, sql);
    PGH_CHECK(PQresultStatus(res) == PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(c));
    size_t cap = 1 << 20, len = 0;
    char *out = malloc(cap);
    PGH_CHECK(out != NULL, "out of memory");
    int rows = PQntuples(res), cols = PQnfields(res);
    for (int r = 0; r < rows; r++)
        for (int col = 0; col < cols; col++) {
            const char *s = PQgetisnull(res, r, col) ? "<null>" : PQgetvalue(res, r, col);
            size_t need = strlen(s) + 2;
            while (len + need + 1 > cap) {
                out = realloc(out, cap *= 2);
                PGH_CHECK(out != NULL, "out of memory");
            }
            len += (size_t)sprintf(out + len, "%s%c", s, col + 1 < cols ? '|' : '\n');
        }
    out[len] = '\0';
    *nrows = rows;
    PQclear(res);
    return out;
}

/* Fail naming the first line that differs. */
static void compare_dumps(const char *what, const char *src, long src_rows, const char *dst,
                          long dst_rows)
{
    if (strcmp(src, dst) == 0) {
        printf("%s: %ld rows equal\n", what, src_rows);
        return;
    }
    long line = 1;
    const char *a = src, *b = dst;
    while (*a && *a == *b) {
        if (*a == '\n') {
            line++;
            src = a + 1;
            dst = b + 1;
        }
        a++, b++;
    }
    pgh_test_fail("%s differs at row %ld (source %ld rows, DuckDB %ld rows):\n  source: %.300s\n"
                  "  duckdb: %.300s", what, line, src_rows, dst_rows, src, dst);
}

/* ---- the consistent and kill9 cases ----------------------------------------------------- */

#define BIG_VALUE "(SELECT string_agg(md5(random()::text), '') FROM generate_series(1, 300))"

typedef struct ctx {
    pgh_run_pair p;
    pgh_run r;
    pgh_run_writers ws;
    char db_path[512];
    long long rows;
    atomic_long writes_seen;
    atomic_int truncated;
} ctx;

static const char *const SRC_INT =
    "SELECT id::text, v::text, coalesce(note, '<null>'), coalesce(md5(big), '<null>') "
    "FROM t_int ORDER BY t_int.id";
static const char *const DUCK_INT =
    "SELECT id::VARCHAR, v::VARCHAR, coalesce(note, '<null>'), coalesce(md5(big), '<null>') "
    "FROM public.t_int ORDER BY t_int.id";
static const char *const SRC_COMP =
    "SELECT region, n::text, v::text, coalesce((extract(epoch FROM ts) * 1000000)::bigint::text, "
    "'<null>'), coalesce(amount::text, '<null>') FROM t_comp ORDER BY t_comp.region COLLATE \"C\", t_comp.n";
static const char *const DUCK_COMP =
    "SELECT region, n::VARCHAR, v::VARCHAR, coalesce(epoch_us(ts)::VARCHAR, '<null>'), "
    "coalesce(amount::VARCHAR, '<null>') FROM public.t_comp ORDER BY t_comp.region, t_comp.n";

static void setup(ctx *c, long long rows)
{
    pgh_run_pair_start(&c->p, NULL, NULL);
    PGconn *s = c->p.s;
    c->rows = rows;
    pgh_test_exec(s, "SET synchronous_commit = off");
    pgh_test_exec(s, "CREATE TABLE t_int (id bigint PRIMARY KEY, v int NOT NULL, note text, "
                     "big text)");
    pgh_test_exec(s, "CREATE TABLE t_comp (region text, n int, v int NOT NULL, ts timestamptz, "
                     "amount numeric(12,2), PRIMARY KEY (region, n))");
    pgh_test_exec(s, "INSERT INTO t_int SELECT g, g %% 1000, md5(g::text), NULL "
                     "FROM generate_series(1, %lld) g", rows);
    pgh_test_exec(s, "UPDATE t_int SET big = " BIG_VALUE " WHERE id %% 100 = 7 AND id <= 50000");
    pgh_test_exec(s, "INSERT INTO t_comp SELECT 'r' || lpad((g %% 20)::text, 2, '0'), g, "
                     "g %% 1000, '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 second', "
                     "(g %% 100000) / 100.0 FROM generate_series(1, %lld) g", rows / 10);
    pgh_test_exec(s, "ANALYZE; CREATE PUBLICATION pub FOR TABLE t_int, t_comp");
    snprintf(c->db_path, sizeof(c->db_path), "%s/out.duckdb", c->p.src.dir);
    pgh_run_init(&c->r, &c->p, PGH_BINARY, "run", "duckdb.yaml");
    pgh_run_write_config(&c->r,
                         "source_connection: %s\ndestination: duckdb\nduckdb_path: %s\n"
                         "publication_name: pub\ncopy_batch_size: 5000\n"
                         "apply_group_max_changes: 20000\napply_group_max_delay_ms: 200\n"
                         "tables:\n  - source_table_name: t_int\n"
                         "  - source_table_name: t_comp\n",
                         c->p.src_conninfo, c->db_path);
}

static void random_statement(char *out, size_t len, ctx *c, pgh_run_writer *w)
{
    uint64_t r = pgh_run_random(&w->rng);
    long long id = (long long)(pgh_run_random(&w->rng) % (uint64_t)(c->rows + c->rows / 10));
    long long n = (long long)(pgh_run_random(&w->rng) % (uint64_t)(c->rows / 10 + 100));
    switch (r % 9) {
    case 0:
        snprintf(out, len, "INSERT INTO t_int VALUES (%lld, 1, 'new', NULL) ON CONFLICT (id) DO "
                 "UPDATE SET v = t_int.v + 1", id + c->rows);
        return;
    case 1: /* big stays: an unchanged TOAST value in the stream */
        snprintf(out, len, "UPDATE t_int SET v = v + 1, note = 'upd' WHERE id = %lld",
                 (id / 100) * 100 + 7);
        return;
    case 2:
        snprintf(out, len, "UPDATE t_int SET big = " BIG_VALUE " WHERE id = %lld", id);
        return;
    case 3:
        snprintf(out, len, "DELETE FROM t_int WHERE id = %lld", id);
        return;
    case 4: /* a key move (fails when the new key is taken: the transaction rolls back) */
        snprintf(out, len, "UPDATE t_int SET id = -id WHERE id = %lld", id);
        return;
    case 5:
        snprintf(out, len, "INSERT INTO t_comp VALUES ('r%02d', %lld, 5, now(), 12.34) ON "
                 "CONFLICT DO NOTHING", (int)(r % 23), n + c->rows);
        return;
    case 6:
        snprintf(out, len, "UPDATE t_comp SET ts = now(), amount = amount + 0.01 WHERE n = %lld",
                 n);
        return;
    case 7:
        snprintf(out, len, "DELETE FROM t_comp WHERE n = %lld", n);
        return;
    default:
        snprintf(out, len, "UPDATE t_comp SET region = region || 'x' WHERE n = %lld", n);
        return;
    }
}

static bool write_txn(PGconn *conn, pgh_run_writer *w, void *payload)
{
    ctx *c = payload;
    long seen = atomic_fetch_add(&c->writes_seen, 1);
    if (w->index == 0 && seen > 300 && !atomic_load(&c->truncated)) {
        atomic_store(&c->truncated, 1);
        return pgh_run_sql_ok(conn, "BEGIN") && pgh_run_sql_ok(conn, "TRUNCATE t_comp") &&
               pgh_run_sql_ok(conn, "INSERT INTO t_comp SELECT 'again', g, g, now(), 1.5 "
                                    "FROM generate_series(1, 3000) g") &&
               pgh_run_sql_ok(conn, "COMMIT");
    }
    char sql[1024];
    bool ok = pgh_run_sql_ok(conn, "BEGIN");
    int nstmts = 1 + (int)(pgh_run_random(&w->rng) % 3);
    for (int i = 0; i < nstmts && ok; i++) {
        random_statement(sql, sizeof(sql), c, w);
        ok = pgh_run_sql_ok(conn, sql);
    }
    return pgh_run_sql_ok(conn, ok ? "COMMIT" : "ROLLBACK") && ok;
}

static void start_writers(ctx *c, unsigned seed)
{
    pgh_run_writers_opts o = {.conninfo = c->p.src_conninfo, .threads = 3, .seed = seed,
                              .pause_ms = 2, .reconnect_ms = 100, .write = write_txn,
                              .payload = c};
    pgh_run_writers_start(&c->ws, &o);
}

static pid_t spawn_pghost(ctx *c)
{
    return pgh_run_spawn(&c->r, "replicate", "--no-progress", "--to=duckdb", "--follow", NULL);
}

/* True when some run of pghost logged that the existing rows of table were all delivered. */
static bool delivered(const ctx *c, const char *table)
{
    char want[128];
    snprintf(want, sizeof(want), "existing rows of %s delivered", table);
    for (int n = 1; n <= c->r.n; n++) {
        const char *e = pgh_run_stderr(&c->r, n);
        if (e != NULL && strstr(e, want) != NULL)
            return true;
    }
    return false;
}

/* Wait until both tables' existing rows are delivered: the slot's confirmed position says
 * nothing of chunks still to be read (they come in watermark transactions after the fence). */
static void wait_delivered(ctx *c, pid_t pid)
{
    for (int i = 0; i < 1800 && pgh_test_pid_alive(pid); i++) {
        if (delivered(c, "public.t_int") && delivered(c, "public.t_comp"))
            return;
        pgh_run_sleep_ms(100);
    }
    PGH_CHECK(false, "the existing rows were not delivered:\n%s", pgh_run_stderr(&c->r, c->r.n));
}

/* Stop the writers, write a last row and wait until the slot confirms past it: pghost
 * confirms only what the DuckDB file holds (or, idle, what it holds everything before). */
static void fence(ctx *c, pid_t pid)
{
    wait_delivered(c, pid);
    long writes = pgh_run_writers_stop(&c->ws);
    printf("writers: %ld transactions\n", writes);
    PGH_CHECK(writes > 100, "the writers wrote only %ld transactions", writes);
    pgh_test_exec(c->p.s, "INSERT INTO t_int VALUES (0, 424242, 'fence', NULL) ON CONFLICT (id) "
                          "DO UPDATE SET v = 424242");
    char *lsn = pgh_test_value(c->p.s, "SELECT pg_current_wal_lsn()");
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT coalesce(bool_or(confirmed_flush_lsn >= '%s'), false) "
             "FROM pg_replication_slots WHERE slot_name = 'pghost_pub'", lsn);
    PGH_CHECK(pgh_run_poll(&c->r, pid, c->p.s, 1200, 100, sql), "the slot never confirmed %s:\n%s",
              lsn, pgh_run_stderr(&c->r, 0));
    free(lsn);
    pgh_run_stop(&c->r, pid, 60);
}

static void compare(ctx *c)
{
    duck_file f;
    duck_open(&f, c->db_path);
    long sn = 0, dn = 0;
    char *s = pg_dump(c->p.s, SRC_INT, &sn), *d = duck_dump(&f, DUCK_INT, &dn);
    compare_dumps("t_int", s, sn, d, dn);
    free(s);
    free(d);
    s = pg_dump(c->p.s, SRC_COMP, &sn);
    d = duck_dump(&f, DUCK_COMP, &dn);
    compare_dumps("t_comp", s, sn, d, dn);
    free(s);
    free(d);
    d = duck_dump(&f, "SELECT count(*)::VARCHAR, min(phase), min(slot) FROM _pghost_position", &dn);
    printf("position table: %s", d);
    /* one row, of this slot; its phase is follow, or still snapshot when the fence came while
     * updates of just-delivered rows were still read again from the source */
    PGH_CHECK(strcmp(d, "1|follow|pghost_pub\n") == 0 || strcmp(d, "1|snapshot|pghost_pub\n") == 0,
              "the position table should hold one row, slot pghost_pub: %s", d);
    free(d);
    duck_close(&f);
}

static void case_consistent(ctx *c, long long rows)
{
    setup(c, rows);
    start_writers(c, 11);
    pid_t pid = spawn_pghost(c);
    pgh_run_sleep_ms(3000); /* the writers go on while the rows are delivered */
    fence(c, pid);
    compare(c);
}

static void case_kill9(ctx *c)
{
    setup(c, 200000);
    start_writers(c, 23);
    pid_t pid = spawn_pghost(c);
    for (int k = 0; k < 3; k++) {
        pgh_run_sleep_ms(1200 + 500 * k);
        PGH_CHECK(pgh_test_pid_alive(pid), "pghost exited before kill %d:\n%s", k + 1,
                  pgh_run_stderr(&c->r, 0));
        pgh_run_kill(pid);
        printf("kill %d after run %d\n", k + 1, c->r.n);
        pid = spawn_pghost(c);
    }
    fence(c, pid);
    compare(c);
}

/* ---- the types case --------------------------------------------------------------------- */

#define BUILTIN_COLUMNS                                                                            \
    "b boolean, i2 smallint, i4 integer, i8 bigint, n numeric, n2 numeric(12,3), f4 real, "     \
    "f8 double precision, m money, t text, vc varchar(20), c char(5), by bytea, d date, "         \
    "ts timestamp, tstz timestamptz, tm time, tmtz timetz, iv interval, u uuid, j json, "         \
    "jb jsonb, ia int[], ta text[], na numeric[], ip inet, cd cidr, mac macaddr, r4 int4range, " \
    "rts tstzrange, nr numrange, bt bit(8), vb varbit, pt point, o oid, tsv tsvector"

/* Rows of it_types.c (the generated column left out). */
static const char *const ROWS[] = {
    "(true, 32767, 2147483647, 9223372036854775807, 'NaN', 123456789.123, 'Infinity', "
    "'-Infinity', 92233720368547758.07, E'tab\\there\\nnewline \\\\ back ''quote'' ünï', "
    "'varchar', 'ab', '\\x00ff5c0a'::bytea, '4713-01-01 BC', 'infinity', '-infinity', "
    "'23:59:59.999999', '00:00:00+14', '1 year 2 mons -3 days 04:05:06.789', "
    "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"a\": [1, 2.50, \"\\u00e9\"], \"b\": null}', "
    "'{\"z\": {\"y\": [true, false]}, \"a\": 1e300}', '{1,NULL,-3}', "
    "'{\"with space\",NULL,\"quo\\\"te\",\"back\\\\slash\",\"\"}', '{NaN,1.5,-0}', "
    "'192.168.0.1/24', '10.0.0.0/8', '08:00:2b:01:02:03', '[1,10)', "
    "'[2020-01-01 00:00+00,infinity)', '(,5.5]', B'10100101', B'1', '(1.5,-2.25)', 4294967295, "
    "'fat:2 cat:1 sat')",
    "(false, -32768, -2147483648, -9223372036854775808, '-0.000000000000000000001', -0.001, "
    "'NaN', '-0', -92233720368547758.08, '', '', '', '\\x'::bytea, '2000-02-29', "
    "'1999-12-31 23:59:59.999999', '2024-06-30 12:00:00.123456+05:30', '00:00', '12:34:56-07', "
    "'-178000000 years', '00000000-0000-0000-0000-000000000000', '[]', '{}', '{}', '{}', '{}', "
    "'::1', '::/0', '00:00:00:00:00:00', 'empty', 'empty', 'empty', B'00000000', B'', '(0,0)', "
    "0, '')",
    "(NULL, NULL, 1, NULL, 1e-300, NULL, 1.17549435e-38, 2.2250738585072014e-308, NULL, "
    "repeat('x', 100000), NULL, NULL, decode(repeat('ab', 50000), 'hex'), NULL, NULL, NULL, "
    "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
    "NULL, NULL, NULL, NULL, NULL, '4713-01-01 12:00:00 BC')",
};

/* Each column and the DuckDB type docs/destinations.md maps it to. */
static const struct {
    const char *col, *duck;
} TYPES[] = {
    {"b", "BOOLEAN"},   {"i2", "SMALLINT"},       {"i4", "INTEGER"},     {"i8", "BIGINT"},
    {"n", "VARCHAR"},   {"n2", "DECIMAL(12,3)"},  {"f4", "FLOAT"},       {"f8", "DOUBLE"},
    {"m", "VARCHAR"},   {"t", "VARCHAR"},         {"vc", "VARCHAR"},     {"c", "VARCHAR"},
    {"by", "BLOB"},     {"d", "DATE"},            {"ts", "TIMESTAMP"},   {"tstz", "TIMESTAMP WITH TIME ZONE"},
    {"tm", "TIME"},     {"tmtz", "TIME WITH TIME ZONE"}, {"iv", "INTERVAL"}, {"u", "UUID"},
    {"j", "JSON"},      {"jb", "JSON"},           {"ia", "VARCHAR"},     {"ta", "VARCHAR"},
    {"na", "VARCHAR"},  {"ip", "VARCHAR"},        {"cd", "VARCHAR"},     {"mac", "VARCHAR"},
    {"r4", "VARCHAR"},  {"rts", "VARCHAR"},       {"nr", "VARCHAR"},     {"bt", "VARCHAR"},
    {"vb", "VARCHAR"},  {"pt", "VARCHAR"},        {"o", "UINTEGER"},     {"tsv", "VARCHAR"},
    {"tsb", "TIMESTAMP"},
};

/* DuckDB's text of a value, as PostgreSQL reads it: a BLOB in hex, "(BC)" moved to the end. */
static const char *duck_text_expr(const char *col, const char *duck, char *buf, size_t len)
{
    if (strcmp(duck, "BLOB") == 0)
        snprintf(buf, len, "'\\x' || lower(hex(\"%s\"))", col);
    else if (strcmp(duck, "DATE") == 0 || strncmp(duck, "TIMESTAMP", 9) == 0)
        snprintf(buf, len, "CASE WHEN contains(\"%s\"::VARCHAR, ' (BC)') THEN "
                 "replace(\"%s\"::VARCHAR, ' (BC)', '') || ' BC' ELSE \"%s\"::VARCHAR END",
                 col, col, col);
    else
        snprintf(buf, len, "\"%s\"::VARCHAR", col);
    return buf;
}

static void check_column(ctx *c, duck_file *f, const char *col, const char *duck)
{
    char sql[1024], expr[512];
    long n = 0;
    snprintf(sql, sizeof(sql), "SELECT typeof(\"%s\") FROM public.t_builtin LIMIT 1", col);
    char *type = duck_dump(f, sql, &n);
    type[strcspn(type, "\n")] = '\0';
    PGH_CHECK(strcmp(type, duck) == 0, "column %s: DuckDB type %s, expected %s", col, type, duck);
    free(type);
    snprintf(sql, sizeof(sql), "SELECT id, %s FROM public.t_builtin ORDER BY id",
             duck_text_expr(col, duck, expr, sizeof(expr)));
    duck_result res;
    memset(&res, 0, sizeof(res));
    PGH_CHECK(A->query(f->conn, sql, &res) == DUCK_SUCCESS, "%s: %s", sql, A->result_error(&res));
    PGH_CHECK(A->row_count(&res) == 3, "t_builtin has %llu rows in DuckDB",
              (unsigned long long)A->row_count(&res));
    for (duck_idx r = 0; r < 3; r++) {
        char *id = A->value_varchar(&res, 0, r);
        char *v = A->value_is_null(&res, 1, r) ? NULL : A->value_varchar(&res, 1, r);
        const char *params[2] = {v, id};
        /* both read by PostgreSQL's type, compared in its text form (json has no equality) */
        char *pgtype = pgh_test_value(c->p.s, "SELECT format_type(atttypid, atttypmod) FROM "
                                    "pg_attribute WHERE attrelid = 't_builtin'::regclass AND "
                                    "attname = '%s'", col);
        snprintf(sql, sizeof(sql), "SELECT %s::text IS NOT DISTINCT FROM $1::%s::text FROM "
                 "t_builtin WHERE id = $2", col, pgtype);
        free(pgtype);
        PGresult *pr = PQexecParams(c->p.s, sql, 2, NULL, params, NULL, NULL, 0);
        PGH_CHECK(PQresultStatus(pr) == PGRES_TUPLES_OK && PQntuples(pr) == 1,
                  "column %s, row %s: DuckDB's value %.100s does not read back: %s", col, id,
                  v ? v : "NULL", PQerrorMessage(c->p.s));
        PGH_CHECK(strcmp(PQgetvalue(pr, 0, 0), "t") == 0,
                  "column %s (%s), row %s: DuckDB holds %.200s, the source differs", col, duck,
                  id, v ? v : "NULL");
        PQclear(pr);
        A->free(id);
        A->free(v);
    }
    A->destroy_result(&res);
}

static void case_types(ctx *c)
{
    pgh_run_pair_start(&c->p, NULL, NULL);
    pgh_test_exec(c->p.s, "CREATE TABLE t_builtin (id serial PRIMARY KEY, " BUILTIN_COLUMNS
                          ", tsb timestamp)");
    for (size_t i = 0; i < sizeof(ROWS) / sizeof(ROWS[0]); i++)
        pgh_test_exec(c->p.s, "INSERT INTO t_builtin (" "b, i2, i4, i8, n, n2, f4, f8, m, t, vc, "
                      "c, by, d, ts, tstz, tm, tmtz, iv, u, j, jb, ia, ta, na, ip, cd, mac, r4, "
                      "rts, nr, bt, vb, pt, o, tsv" "%s) VALUES %s", i == 2 ? ", tsb" : "",
                      ROWS[i]);
    pgh_test_exec(c->p.s, "CREATE PUBLICATION pub FOR TABLE t_builtin");
    snprintf(c->db_path, sizeof(c->db_path), "%s/types.duckdb", c->p.src.dir);
    pgh_run_init(&c->r, &c->p, PGH_BINARY, "run", "types.yaml");
    pgh_run_write_config(&c->r, "source_connection: %s\ndestination: duckdb\nduckdb_path: %s\n"
                         "publication_name: pub\ntables:\n  - public.t_builtin\n",
                         c->p.src_conninfo, c->db_path);
    int rc = pgh_run_exec(&c->r, 120, "replicate", "--no-progress", NULL);
    PGH_CHECK(rc == 0, "pghost replicate --to duckdb exited %d:\n%s", rc, pgh_run_stderr(&c->r, 0));
    duck_file f;
    duck_open(&f, c->db_path);
    for (size_t i = 0; i < sizeof(TYPES) / sizeof(TYPES[0]); i++)
        check_column(c, &f, TYPES[i].col, TYPES[i].duck);
    printf("types: %zu columns x 3 rows equal\n", sizeof(TYPES) / sizeof(TYPES[0]));
    duck_close(&f);
}

/* ---- rules ------------------------------------------------------------------------------ */

#define RULES_ROWS 20000

static const char RULES_FILE[] = "tables:\n  t_r:\n"
                                 "    - type: filter\n      column: v\n"
                                 "      allow_empty_deletes: true\n"
                                 "      parameters: {operator: gte, value: 50}\n"
                                 "    - type: transform\n      column: note\n"
                                 "      parameters: {type: mask, mask_char: \"*\"}\n"
                                 "    - type: rename\n      column: email\n"
                                 "      parameters: {to: contact}\n"
                                 "    - type: columns\n      parameters: {exclude: [secret]}\n";

/* The source as the rules make it, in SQL: filtered, masked, without secret. */
static const char *const SRC_RULES =
    "SELECT id::text, v::text, coalesce(CASE WHEN length(note) <= 2 THEN note ELSE "
    "left(note, 1) || repeat('*', length(note) - 2) || right(note, 1) END, '<null>'), "
    "coalesce(email, '<null>') FROM t_r WHERE v >= 50 ORDER BY t_r.id";
static const char *const DUCK_RULES =
    "SELECT id::VARCHAR, v::VARCHAR, coalesce(note, '<null>'), coalesce(contact, '<null>') "
    "FROM public.t_r ORDER BY t_r.id";

static bool write_rules(PGconn *conn, pgh_run_writer *w, void *payload)
{
    (void)payload;
    char sql[256];
    long id = 1 + (long)(pgh_run_random(&w->rng) % (RULES_ROWS + 2000));
    int v = (int)(pgh_run_random(&w->rng) % 100);
    switch (pgh_run_random(&w->rng) % 6) {
    case 0:
        snprintf(sql, sizeof(sql), "INSERT INTO t_r VALUES (%ld, %d, md5(random()::text), "
                 "'s', 'n%ld@x') ON CONFLICT (id) DO UPDATE SET v = excluded.v", id, v, id);
        break;
    case 1:
        snprintf(sql, sizeof(sql), "DELETE FROM t_r WHERE id = %ld", id);
        break;
    case 2:
        snprintf(sql, sizeof(sql), "UPDATE t_r SET note = md5(random()::text), secret = 'x' "
                 "WHERE id = %ld", id);
        break;
    case 3: /* a key move */
        snprintf(sql, sizeof(sql), "UPDATE t_r SET id = id + 1000000, v = %d WHERE id = %ld "
                 "AND id < 1000000", v, id);
        break;
    default: /* the filtered column: rows move in and out */
        snprintf(sql, sizeof(sql), "UPDATE t_r SET v = %d WHERE id = %ld", v, id);
        break;
    }
    return pgh_run_sql_ok(conn, sql);
}

static void rules_setup(ctx *c)
{
    pgh_run_pair_start(&c->p, NULL, NULL);
    pgh_test_exec(c->p.s, "CREATE TABLE t_r (id bigint PRIMARY KEY, v int NOT NULL, note text, "
                          "secret text, email text)");
    pgh_test_exec(c->p.s, "INSERT INTO t_r SELECT g, g %% 100, md5(g::text), 'pw' || g, "
                          "'u' || g || '@x' FROM generate_series(1, %d) g", RULES_ROWS);
    pgh_test_exec(c->p.s, "CREATE PUBLICATION pub FOR TABLE t_r");
    char rules[600];
    snprintf(rules, sizeof(rules), "%s/rules.yml", c->p.src.dir);
    FILE *f = fopen(rules, "w");
    PGH_CHECK(f && fputs(RULES_FILE, f) >= 0 && fclose(f) == 0, "cannot write %s", rules);
    snprintf(c->db_path, sizeof(c->db_path), "%s/rules.duckdb", c->p.src.dir);
    pgh_run_init(&c->r, &c->p, PGH_BINARY, "run", "rules.yaml");
    pgh_run_write_config(&c->r,
                         "source_connection: %s\ndestination: duckdb\nduckdb_path: %s\n"
                         "publication_name: pub\ncopy_batch_size: 2000\nrules_file: %s\n"
                         "apply_group_max_delay_ms: 100\ntables:\n  - public.t_r\n",
                         c->p.src_conninfo, c->db_path, rules);
}

static void case_rules(ctx *c)
{
    rules_setup(c);
    pgh_run_writers_opts o = {.conninfo = c->p.src_conninfo, .threads = 3, .seed = 41,
                              .pause_ms = 2, .reconnect_ms = -1, .write = write_rules};
    pgh_run_writers_start(&c->ws, &o);
    pid_t pid = spawn_pghost(c);
    for (int i = 0; i < 600 && !delivered(c, "public.t_r"); i++) {
        PGH_CHECK(pgh_test_pid_alive(pid), "pghost exited:\n%s", pgh_run_stderr(&c->r, 0));
        pgh_run_sleep_ms(100);
    }
    PGH_CHECK(delivered(c, "public.t_r"), "rows not delivered:\n%s", pgh_run_stderr(&c->r, 0));
    pgh_run_sleep_ms(1500); /* moves while following too */
    printf("writers: %ld transactions\n", pgh_run_writers_stop(&c->ws));
    pgh_test_exec(c->p.s, "INSERT INTO t_r VALUES (1999999, 99, 'fence', 's', 'f@x')");
    char *lsn = pgh_test_value(c->p.s, "SELECT pg_current_wal_lsn()");
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT coalesce(bool_or(confirmed_flush_lsn >= '%s'), false) "
             "FROM pg_replication_slots WHERE slot_name = 'pghost_pub'", lsn);
    PGH_CHECK(pgh_run_poll(&c->r, pid, c->p.s, 1200, 100, sql), "the slot never confirmed %s:\n%s",
              lsn, pgh_run_stderr(&c->r, 0));
    free(lsn);
    pgh_run_stop(&c->r, pid, 60);
    duck_file f;
    duck_open(&f, c->db_path);
    long sn = 0, dn = 0;
    char *d = duck_dump(&f, "SELECT string_agg(column_name, ' ' ORDER BY column_index) "
                            "FROM duckdb_columns() WHERE table_name = 't_r'", &dn);
    PGH_CHECK(strcmp(d, "id v note contact\n") == 0, "DuckDB's columns: %s", d);
    free(d);
    char *s = pg_dump(c->p.s, SRC_RULES, &sn);
    d = duck_dump(&f, DUCK_RULES, &dn);
    compare_dumps("t_r through the rules", s, sn, d, dn);
    PGH_CHECK(sn > RULES_ROWS / 4, "%ld rows pass the filter", sn);
    free(s);
    free(d);
    duck_close(&f);
}

int main(int argc, char **argv)
{
    PGH_CHECK(argc == 2, "usage: it_duckdb consistent|consistent_1m|kill9|types|rules");
    pgh_error err;
    memset(&err, 0, sizeof(err));
    if (pgh_duckdb__load(&A, NULL, &err) != 0) {
        printf("SKIP: %s\n", err.message);
        return PGH_TEST_SKIP;
    }
    static ctx c;
    double t0 = pgh_run_now_ms();
    if (strcmp(argv[1], "consistent") == 0)
        case_consistent(&c, 200000);
    else if (strcmp(argv[1], "consistent_1m") == 0)
        case_consistent(&c, 1000000);
    else if (strcmp(argv[1], "kill9") == 0)
        case_kill9(&c);
    else if (strcmp(argv[1], "types") == 0)
        case_types(&c);
    else if (strcmp(argv[1], "rules") == 0)
        case_rules(&c);
    else
        pgh_test_fail("unknown case %s", argv[1]);
    printf("%s: %.1f s\n", argv[1], (pgh_run_now_ms() - t0) / 1000);
    pgh_run_pair_stop(&c.p);
    return 0;
}
