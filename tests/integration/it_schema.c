/*
 * Creating the destination tables (create_destination_tables / --create-tables).
 *
 *   kinds     a schema with every object kind pghost creates (schemas, enum, domain with check,
 *             composite, arrays of them, identity ALWAYS and BY DEFAULT, generated STORED,
 *             serial, collation, NOT NULL, check, unique, foreign keys incl. self-reference,
 *             partial and expression indexes) and one table mapped to another name, synced
 *             in-process with changes made between the copy and the checkpoint: full ordered
 *             dumps equal, pg_dump --schema-only of both sides equal after normalising names
 *   pagila    the pagila schema: its tables (partitioned payment included) created through the
 *             library, pg_dump compared; a second build is a no-op; then rows generated for its
 *             non-partitioned tables and synced with --create-tables by the binary into an
 *             empty database, dumps compared
 *   mismatch  an existing destination table that differs: exit 3, its exact one-line message,
 *             and the missing table of the same run not created
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "it_common.h"
#include "util/buf.h"
#include "pg/conn.h"
#include "schema/schema.h"

#define PG_DUMP "/usr/lib/postgresql/15/bin/pg_dump"

/* Kinds of pg_dump entries pghost creates; everything else (functions, views, triggers...) is
 * left out of the comparison. */
static bool kept_kind(const char *header)
{
    static const char *kinds[] = {"; Type: SCHEMA;", "; Type: TYPE;", "; Type: DOMAIN;",
                                  "; Type: SEQUENCE;", "; Type: TABLE;", "; Type: DEFAULT;",
                                  "; Type: CONSTRAINT;", "; Type: FK CONSTRAINT;",
                                  "; Type: INDEX;", "; Type: TABLE ATTACH;",
                                  "; Type: SEQUENCE OWNED BY;", "; Type: INDEX ATTACH;"};
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strstr(header, kinds[i]))
            return true;
    return false;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Append line to b, every "from" replaced by "to". */
static void put_replaced(pgh_buf *b, const char *line, const char *from, const char *to)
{
    size_t fl = from ? strlen(from) : 0;
    for (const char *p = line; *p;) {
        if (fl && strncmp(p, from, fl) == 0) {
            pgh_buf_puts(b, to);
            p += fl;
        } else {
            pgh_buf_putc(b, *p++);
        }
    }
    pgh_buf_putc(b, '\n');
}

/* pg_dump --schema-only of db on s: the kept entries (not those whose header names one of
 * ignore, NULL-terminated), "from" replaced by "to", sorted (pg_dump's order follows
 * dependencies, which differ where the source has views and functions), joined. */
static char *schema_dump(const pgh_test_server *s, const char *db, const char *from,
                         const char *to, const char *const *ignore)
{
    char *conninfo = pgh_test_conninfo(s, db);
    char out[PGH_TEST_PATH_MAX + 32];
    snprintf(out, sizeof(out), "%s/dump-%s.sql", s->dir, db);
    const char *argv[] = {PG_DUMP, "--schema-only", "--no-owner", "--no-privileges",
                          "--no-comments", "-d", conninfo, NULL};
    int code = 0;
    PGH_CHECK(pgh_test_run(argv, out, NULL, 60, &code) == 0 && code == 0, "pg_dump failed");
    free(conninfo);
    char *text = pgh_run_read_file(out);
    char *blocks[4096];
    int n = 0;
    pgh_buf b;
    pgh_buf_init(&b, 0);
    bool keep = false;
    for (char *line = text, *next = NULL; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (strncmp(line, "-- Name: ", 9) == 0) {
            if (keep && b.len > 0 && n < 4096)
                blocks[n++] = pgh_buf_take(&b);
            pgh_buf_reset(&b);
            keep = kept_kind(line);
            for (int i = 0; ignore && ignore[i]; i++)
                if (strstr(line, ignore[i]))
                    keep = false;
        }
        /* pg_dump's \restrict lines carry a random key; SET lines are session settings that
         * pg_dump places where the dependency order happens to need them. */
        if (!keep || strncmp(line, "--", 2) == 0 || line[0] == '\\' || line[0] == '\0' ||
            strncmp(line, "SET ", 4) == 0)
            continue;
        put_replaced(&b, line, from, to);
    }
    if (keep && b.len > 0 && n < 4096)
        blocks[n++] = pgh_buf_take(&b);
    pgh_buf_dispose(&b);
    free(text);
    qsort(blocks, (size_t)n, sizeof(blocks[0]), cmp_str);
    pgh_buf all;
    pgh_buf_init(&all, 0);
    for (int i = 0; i < n; i++) {
        pgh_buf_puts(&all, blocks[i]);
        free(blocks[i]);
    }
    return pgh_buf_take(&all);
}

static void compare_schema_dumps(const pgh_test_server *src, const char *src_db,
                                 const pgh_test_server *dst, const char *dst_db, const char *from,
                                 const char *to, const char *const *ignore)
{
    char *a = schema_dump(src, src_db, NULL, NULL, ignore);
    char *b = schema_dump(dst, dst_db, from, to, NULL);
    if (strcmp(a, b) != 0) {
        char pa[PGH_TEST_PATH_MAX + 32], pb[PGH_TEST_PATH_MAX + 32];
        snprintf(pa, sizeof(pa), "%s/norm-src.sql", src->dir);
        snprintf(pb, sizeof(pb), "%s/norm-dst.sql", dst->dir);
        FILE *f = fopen(pa, "w");
        fputs(a, f);
        fclose(f);
        f = fopen(pb, "w");
        fputs(b, f);
        fclose(f);
        const char *argv[] = {"diff", pa, pb, NULL};
        int code = 0;
        pgh_test_run(argv, NULL, NULL, 10, &code);
        pgh_test_fail("pg_dump --schema-only differs between source and destination");
    }
    PGH_CHECK(strlen(a) > 200, "the schema dump is suspiciously short");
    printf("schema dumps equal (%zu bytes)\n", strlen(a));
    free(a);
    free(b);
}

/* ---- kinds ------------------------------------------------------------------------------ */

static const char KINDS_SQL[] =
    "CREATE SCHEMA kinds;"
    "CREATE TYPE kinds.mood AS ENUM ('sad', 'ok', 'happy');"
    "CREATE DOMAIN kinds.posint AS integer CONSTRAINT posint_check CHECK (VALUE > 0);"
    "CREATE TYPE kinds.pair AS (a kinds.posint, b text, m kinds.mood[]);"
    "CREATE DOMAIN kinds.moods AS kinds.mood[] DEFAULT '{}' NOT NULL;"
    "CREATE TABLE kinds.parent ("
    "  id bigint GENERATED ALWAYS AS IDENTITY (START WITH 100 INCREMENT BY 5) PRIMARY KEY,"
    "  code text COLLATE \"C\" NOT NULL CONSTRAINT parent_code_key UNIQUE,"
    "  qty kinds.posint, m kinds.mood DEFAULT 'ok', ms kinds.moods, p kinds.pair,"
    "  ps kinds.pair[], total numeric(10,2) GENERATED ALWAYS AS (qty * 1.5) STORED,"
    "  CONSTRAINT parent_code_check CHECK (char_length(code) > 0));"
    "CREATE TABLE kinds.items ("
    "  id serial PRIMARY KEY,"
    "  parent_id bigint REFERENCES kinds.parent(id) ON DELETE CASCADE,"
    "  prev_id int REFERENCES kinds.items(id) DEFERRABLE INITIALLY DEFERRED,"
    "  other_id int GENERATED BY DEFAULT AS IDENTITY,"
    "  name text NOT NULL, created timestamptz DEFAULT now() NOT NULL, tags text[], note text,"
    "  CONSTRAINT items_name_len CHECK (length(name) < 100));"
    "CREATE INDEX items_lower_name ON kinds.items (lower(name));"
    "CREATE INDEX items_note_partial ON kinds.items (note) WHERE note IS NOT NULL;"
    "CREATE UNIQUE INDEX items_name_parent ON kinds.items (parent_id, name);"
    "INSERT INTO kinds.parent (code, qty, m, ms, p, ps) SELECT 'c' || g, g, "
    "  (ARRAY['sad','ok','happy'])[1 + g % 3]::kinds.mood, ARRAY['ok','sad']::kinds.mood[], "
    "  ROW(g, 'b' || g, ARRAY['happy']::kinds.mood[])::kinds.pair, "
    "  ARRAY[ROW(1, 'x', NULL)::kinds.pair] FROM generate_series(1, 500) g;"
    "INSERT INTO kinds.items (parent_id, prev_id, name, tags, note) SELECT 100 + 5 * (g % 500), "
    "  NULL, 'n' || g, ARRAY['t' || g], CASE WHEN g % 2 = 0 THEN 'note' END "
    "  FROM generate_series(1, 3000) g;"
    "UPDATE kinds.items SET prev_id = id - 1 WHERE id > 1;"
    "CREATE PUBLICATION pub_kinds FOR TABLE kinds.parent, kinds.items;";

/* Between the copy and the checkpoint: changes the catch-up must replay on created tables. */
static int kinds_writes(void *payload, pgh_error *err)
{
    (void)err;
    PGconn *s = payload;
    pgh_test_exec(s, "INSERT INTO kinds.parent (code, qty) VALUES ('late', 7);"
                     "UPDATE kinds.parent SET m = 'happy', qty = qty + 1 WHERE qty %% 7 = 0;"
                     "INSERT INTO kinds.items (parent_id, name) SELECT 100, 'late' || g "
                     "  FROM generate_series(1, 50) g;"
                     "DELETE FROM kinds.items WHERE id %% 11 = 0 AND id NOT IN "
                     "  (SELECT prev_id FROM kinds.items WHERE prev_id IS NOT NULL);"
                     "UPDATE kinds.items SET note = 'changed' WHERE id %% 13 = 0;");
    return 0;
}

static void test_kinds(void)
{
    pgh_run_pair p;
    pgh_run_pair_start(&p, NULL, NULL);
    pgh_test_exec(p.s, "%s", KINDS_SQL);
    pgh_config *cfg = it_config(&p, "source_connection: ${SRC}\n"
                                    "destination_connection: ${DST}\n"
                                    "publication_name: pub_kinds\n"
                                    "create_destination_tables: true\n"
                                    "copy_batch_size: 400\n"
                                    "tables:\n"
                                    "  - {source_schema_name: kinds, source_table_name: parent}\n"
                                    "  - {source_schema_name: kinds, source_table_name: items,\n"
                                    "     destination_table_name: items_renamed}\n");
    it_sync_opts o = {0};
    o.config = cfg;
    o.before_checkpoint = kinds_writes;
    o.before_checkpoint_payload = p.s;
    pgh_pipeline_result r;
    pgh_error err;
    pgh_error_clear(&err);
    int rc = it_sync(&r, &o, &err);
    PGH_CHECK(rc == 0, "sync failed: %s", err.message);
    PGH_CHECK(r.tables[1].applied.inserts >= 50, "the catch-up did not replay the late inserts");
    pgh_pipeline_result_dispose(&r);
    long long n = it_compare_table(&p, "kinds.parent", "kinds.parent", "id");
    PGH_CHECK(n == 501, "parent has %lld rows", n);
    it_compare_table(&p, "kinds.items", "kinds.items_renamed", "id");
    compare_schema_dumps(&p.src, "postgres", &p.dst, "postgres", "items_renamed", "items", NULL);
    /* The sequences exist and were set: the next values continue the source's. */
    char *a = pgh_test_value(p.s, "SELECT nextval('kinds.items_id_seq')");
    char *b = pgh_test_value(p.d, "SELECT nextval('kinds.items_id_seq')");
    PGH_CHECK(strcmp(a, b) == 0, "serial sequence: source %s, destination %s", a, b);
    free(a);
    free(b);
    it_check_no_slots(&p);
    pgh_config_free(cfg);
    pgh_run_pair_stop(&p);
}

/* ---- pagila ----------------------------------------------------------------------------- */

#ifndef PGH_PAGILA_SCHEMA
#define PGH_PAGILA_SCHEMA "/work/shared/datasets/pagila/pagila-schema.sql"
#endif

static void load_pagila(const pgh_test_server *s, const char *db)
{
    char *conninfo = pgh_test_conninfo(s, db);
    const char *argv[] = {"/usr/lib/postgresql/15/bin/psql", "-q", "-v", "ON_ERROR_STOP=1",
                          "-d", conninfo, "-f", PGH_PAGILA_SCHEMA, NULL};
    int code = 0;
    char log[PGH_TEST_PATH_MAX + 16];
    snprintf(log, sizeof(log), "%s/psql.log", s->dir);
    PGH_CHECK(pgh_test_run(argv, log, log, 120, &code) == 0 && code == 0,
              "loading pagila failed (see %s)", log);
    free(conninfo);
}

/* The pagila tables a config lists (partitions come through their root). */
static char *pagila_tables_yaml(PGconn *s, bool with_partitioned)
{
    PGresult *r = PQexec(s, "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n "
                            "ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND "
                            "c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1");
    PGH_CHECK(PQresultStatus(r) == PGRES_TUPLES_OK, "%s", PQerrorMessage(s));
    pgh_buf b;
    pgh_buf_init(&b, 0);
    pgh_buf_puts(&b, "tables:\n");
    for (int i = 0; i < PQntuples(r); i++)
        if (with_partitioned || PQgetvalue(r, i, 1)[0] == 'r')
            pgh_buf_printf(&b, "  - {source_table_name: %s}\n", PQgetvalue(r, i, 0));
    PQclear(r);
    return pgh_buf_take(&b);
}

static void pagila_structure(pgh_run_pair *p)
{
    pgh_test_exec(p->d, "CREATE DATABASE structure");
    PGconn *s = pgh_test_connect(&p->src, "pagila");
    char *yaml_tables = pagila_tables_yaml(s, true);
    char *src = pgh_test_conninfo(&p->src, "pagila");
    char *dst = pgh_test_conninfo(&p->dst, "structure");
    char yaml[8192];
    snprintf(yaml, sizeof(yaml),
             "source_connection: %s\ndestination_connection: %s\npublication_name: pub\n%s",
             src, dst, yaml_tables);
    pgh_config *cfg = NULL;
    pgh_error err;
    pgh_error_clear(&err);
    PGH_CHECK(pgh_config_parse(&cfg, yaml, strlen(yaml), "pagila.yaml", NULL, NULL, &err) == 0,
              "%s", err.message);
    PGconn *d = pgh_test_connect(&p->dst, "structure");
    pgh_schema_created created;
    pgh_test_exec(d, "BEGIN");
    int rc = pgh_schema_create(&created, s, d, cfg, NULL, NULL, &err);
    PGH_CHECK(rc == 0, "creating pagila: %s", err.message);
    pgh_test_exec(d, "COMMIT");
    PGH_CHECK(created.n == 15 + 55, "%d tables created", created.n);
    pgh_schema_build_opts bo = PGH_SCHEMA_BUILD_OPTS_INIT;
    bo.config = cfg;
    int built = 0;
    double t0 = pgh_run_now_ms();
    rc = pgh_schema_build_deferred(&built, &created, &bo, &err);
    PGH_CHECK(rc == 0, "deferred build: %s", err.message);
    printf("pagila: %d tables created, %d indexes and constraints built in %.0f ms\n", created.n,
           built, pgh_run_now_ms() - t0);
    /* pagila-schema.sql: 34 indexes (one on a materialized view) and 36 foreign keys. */
    PGH_CHECK(built == 33 + 36, "%d deferred objects built, not 69", built);
    /* Not created, rightly: a domain no table uses, the index of a materialized view. */
    static const char *const unused[] = {"Name: bıgınt;", "Name: rental_category;", NULL};
    compare_schema_dumps(&p->src, "pagila", &p->dst, "structure", NULL, NULL, unused);
    /* Idempotent: a second build finds everything in place. */
    rc = pgh_schema_build_deferred(&built, &created, &bo, &err);
    PGH_CHECK(rc == 0 && built == 0, "second build: rc %d, %d built (%s)", rc, built,
              err.message);
    pgh_schema_created_dispose(&created);
    pgh_config_free(cfg);
    PQfinish(s);
    PQfinish(d);
    free(src);
    free(dst);
    free(yaml_tables);
}

static const char PAGILA_ROWS[] =
    "SET session_replication_role = replica;" /* no triggers: the rows are generated whole */
    "INSERT INTO language (name) SELECT 'lang' || g FROM generate_series(1, 6) g;"
    "INSERT INTO country (country) SELECT 'country' || g FROM generate_series(1, 20) g;"
    "INSERT INTO city (city, country_id) SELECT 'city' || g, 1 + g % 20 "
    "  FROM generate_series(1, 100) g;"
    "INSERT INTO address (address, district, city_id, phone) SELECT g || ' street', 'd', "
    "  1 + g % 100, '555' FROM generate_series(1, 300) g;"
    "INSERT INTO store (manager_staff_id, address_id) SELECT g, g FROM generate_series(1, 2) g;"
    "INSERT INTO staff (first_name, last_name, address_id, store_id, username, picture) "
    "  SELECT 'f' || g, 'l' || g, g, g, 'u' || g, '\\x0102'::bytea FROM generate_series(1, 2) g;"
    "INSERT INTO customer (store_id, first_name, last_name, email, address_id, active) "
    "  SELECT 1 + g % 2, 'first' || g, 'last' || g, 'c' || g || '@x', 1 + g % 300, 1 "
    "  FROM generate_series(1, 600) g;"
    "INSERT INTO actor (first_name, last_name) SELECT 'a' || g, 'b' || g "
    "  FROM generate_series(1, 200) g;"
    "INSERT INTO category (name) SELECT 'cat' || g FROM generate_series(1, 16) g;"
    "INSERT INTO film (title, description, release_year, language_id, rating, "
    "  special_features, fulltext) SELECT 'film ' || g, 'about ' || g, 1990 + g % 30, "
    "  1 + g % 6, (enum_range(NULL::mpaa_rating))[1 + g % 5], ARRAY['Trailers', 'x' || g], "
    "  to_tsvector('english', 'film ' || g || ' about things') "
    "  FROM generate_series(1, 1000) g;"
    "INSERT INTO film_actor (actor_id, film_id) SELECT 1 + g % 200, 1 + g % 1000 "
    "  FROM generate_series(1, 3000) g ON CONFLICT DO NOTHING;"
    "INSERT INTO film_category (film_id, category_id) SELECT g, 1 + g % 16 "
    "  FROM generate_series(1, 1000) g;"
    "INSERT INTO inventory (film_id, store_id) SELECT 1 + g % 1000, 1 + g % 2 "
    "  FROM generate_series(1, 4000) g;"
    "INSERT INTO rental (rental_date, inventory_id, customer_id, staff_id) "
    "  SELECT timestamptz '2022-01-01' + g * interval '1 hour', 1 + g % 4000, 1 + g % 600, "
    "  1 + g % 2 FROM generate_series(1, 8000) g;"
    "RESET session_replication_role;";

static void pagila_sync(pgh_run_pair *p)
{
    PGconn *s = pgh_test_connect(&p->src, "pagila");
    pgh_test_exec(s, "%s", PAGILA_ROWS);
    char *tables = pagila_tables_yaml(s, false);
    pgh_test_exec(s, "CREATE PUBLICATION pub_pagila FOR ALL TABLES");
    pgh_test_exec(p->d, "CREATE DATABASE synced");
    char *src = pgh_test_conninfo(&p->src, "pagila");
    char *dst = pgh_test_conninfo(&p->dst, "synced");
    char path[PGH_TEST_PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/pagila.yaml", p->src.dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "source_connection: %s\ndestination_connection: %s\npublication_name: "
               "pub_pagila\ncopy_batch_size: 1000\n%s",
            src, dst, tables);
    fclose(f);
    char out[PGH_TEST_PATH_MAX + 32];
    snprintf(out, sizeof(out), "%s/pagila.out", p->src.dir);
    const char *argv[] = {PGH_BINARY, "replicate", "--create-tables", "--no-progress", path, NULL};
    int code = 0;
    double t0 = pgh_run_now_ms();
    PGH_CHECK(pgh_test_run(argv, out, out, 120, &code) == 0, "pghost did not finish");
    char *log = pgh_run_read_file(out);
    PGH_CHECK(code == 0, "pghost exited %d:\n%s", code, log);
    printf("pagila sync (14 tables, --create-tables) took %.0f ms\n", pgh_run_now_ms() - t0);
    free(log);
    PGconn *d = pgh_test_connect(&p->dst, "synced");
    PGresult *r = PQexec(s, "SELECT c.relname, (SELECT string_agg(quote_ident(a.attname), ', ' "
                            "ORDER BY a.attnum) FROM pg_index i JOIN pg_attribute a ON "
                            "a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) WHERE "
                            "i.indrelid = c.oid AND i.indisprimary) FROM pg_class c JOIN "
                            "pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' "
                            "AND c.relkind = 'r' AND NOT c.relispartition ORDER BY 1");
    for (int i = 0; i < PQntuples(r); i++) {
        char qa[256], diff[1024];
        snprintf(qa, sizeof(qa), "SELECT * FROM public.%s ORDER BY %s", PQgetvalue(r, i, 0),
                 PQgetvalue(r, i, 1));
        long long rows = 0;
        int c = pgh_test_compare_dumps(s, qa, d, qa, diff, sizeof(diff), &rows);
        PGH_CHECK(c == 0, "%s differs: %s", PQgetvalue(r, i, 0), diff);
        PGH_CHECK(rows > 0, "%s is empty on the source", PQgetvalue(r, i, 0));
    }
    PGH_CHECK(PQntuples(r) == 14, "%d tables compared", PQntuples(r));
    PQclear(r);
    char *fks = pgh_test_value(d, "SELECT count(*) FROM pg_constraint WHERE contype = 'f' "
                                  "AND convalidated");
    PGH_CHECK(strcmp(fks, "18") == 0, "%s validated foreign keys on the destination", fks);
    free(fks);
    PQfinish(s);
    PQfinish(d);
    free(src);
    free(dst);
    free(tables);
}

static void test_pagila(void)
{
    pgh_run_pair p;
    pgh_run_pair_start(&p, NULL, NULL);
    pgh_test_exec(p.s, "CREATE DATABASE pagila");
    load_pagila(&p.src, "pagila");
    pagila_structure(&p);
    pagila_sync(&p);
    it_check_no_slots(&p);
    pgh_run_pair_stop(&p);
}

/* ---- mismatch --------------------------------------------------------------------------- */

static void test_mismatch(void)
{
    pgh_run_pair p;
    pgh_run_pair_start(&p, NULL, NULL);
    pgh_test_exec(p.s, "CREATE TABLE fresh (id int PRIMARY KEY, v text);"
                       "CREATE TABLE clash (id int PRIMARY KEY, v text, n int);"
                       "CREATE PUBLICATION pub FOR TABLE fresh, clash;");
    pgh_test_exec(p.d, "CREATE TABLE clash (id int PRIMARY KEY, v int, n int)");
    char path[PGH_TEST_PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/m.yaml", p.src.dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "source_connection: %s\ndestination_connection: %s\npublication_name: pub\n"
               "tables:\n  - {source_table_name: fresh}\n  - {source_table_name: clash}\n",
            p.src_conninfo, p.dst_conninfo);
    fclose(f);
    char out[PGH_TEST_PATH_MAX + 32], errf[PGH_TEST_PATH_MAX + 32];
    snprintf(out, sizeof(out), "%s/m.out", p.src.dir);
    snprintf(errf, sizeof(errf), "%s/m.err", p.src.dir);
    const char *argv[] = {PGH_BINARY, "replicate", "--create-tables", "--no-progress",
                          "--log-level", "error", path, NULL};
    int code = 0;
    PGH_CHECK(pgh_test_run(argv, out, errf, 60, &code) == 0, "pghost did not finish");
    char *e = pgh_run_read_file(errf);
    const char *want =
        "pghost: destination table public.clash exists and differs from the source (pghost "
        "never alters an existing table: fix or drop it, or map the table to a new name): "
        "columns of public.clash do not match public.clash: column v is text on the source but "
        "integer on the destination\n";
    PGH_CHECK(code == 3, "exit %d, stderr: %s", code, e);
    PGH_CHECK(strcmp(e, want) == 0, "stderr:\n%s\nwanted:\n%s", e, want);
    free(e);
    char *v = pgh_test_value(p.d, "SELECT count(*) FROM pg_class WHERE relname = 'fresh'");
    PGH_CHECK(strcmp(v, "0") == 0, "table fresh was created although the run was refused");
    free(v);
    it_check_no_slots(&p);
    pgh_run_pair_stop(&p);
}

int main(int argc, char **argv)
{
    const char *which = argc > 1 ? argv[1] : "";
    if (strcmp(which, "kinds") == 0)
        test_kinds();
    else if (strcmp(which, "pagila") == 0)
        test_pagila();
    else if (strcmp(which, "mismatch") == 0)
        test_mismatch();
    else {
        fprintf(stderr, "usage: it_schema kinds|pagila|mismatch\n");
        return 2;
    }
    printf("ok\n");
    return 0;
}
