/*
 * Rules end to end through `pghost replicate --to stdout` (real PostgreSQL 15 servers):
 *
 *   pgflo   pg_flo's own end-to-end case (internal/scripts/e2e_transform_filter.sh with its
 *           rules.yml, verbatim): the same changes give the same outputs (masked email
 *           j**************m, phone (123) 456-7890, ssn 1XXXXXXXXX9, the row with age 17
 *           filtered out, 2 inserts, 1 update, 2 deletes); existing rows go through the same
 *           rules; pghost's additions on a second table (hash, set_null, rename, exclude, in,
 *           any over numeric/bigint/real/double); and the start-up errors: a rule naming a
 *           missing column exits 2 with "rules.yml:LINE: ..." and writes nothing, rules with
 *           the PostgreSQL destination are refused.
 *   pgflo_file   the same case through the file destination (destination: file, one stream of
 *           files): the lines in the files are the same as stdout's, with the same outputs.
 *   moves   a filter on updates (v >= 50) moves rows in and out while writers run during the
 *           delivery of existing rows and after it, on a table under the default replica
 *           identity and one under REPLICA IDENTITY FULL, with a mask on the way; fence; the
 *           lines rebuilt by key equal a full ordered dump of the source filtered by the same
 *           predicate and masked by the same rule in SQL.
 *
 *   pgflo_pg, moves_pg   the same through the PostgreSQL destination (copy + catch-up +
 *           following), on REPLICA IDENTITY FULL tables, compared with pgh_run_compare; and the
 *           start-up refusals (a table the file names but the run does not have, a filter on a
 *           non-key column of a table without REPLICA IDENTITY FULL: nothing written).
 *
 *   toast   a key-changing UPDATE moves a row into a filter on the key while its TOASTed value
 *           is left unchanged (not sent): the INSERT it becomes carries the whole value, read
 *           again from the source; a row moved in and on again in one transaction (the
 *           first re-read misses) arrives whole at its last key; with existing rows and with
 *           --changes-only.
 *
 *   rename_pg   rename (of the key column too) + exclude + mask through the PostgreSQL
 *           destination with --create-tables: writers during the copy, the catch-up (key
 *           changes: rows copied again by key) and following; the destination's columns are
 *           the renamed, kept ones, an index naming a renamed column is not built, and a full
 *           ordered dump equals the source transformed in SQL. Refused first: an existing
 *           destination table lacking a renamed column, a key column left out; afterwards
 *           pghost check passes (it compares through the rules) and pghost verify refuses
 *           the configuration with rules.
 *   rename_pg_wm   the same rules and writers through copy_method: watermarks (existing rows
 *           delivered with the changes) into a destination table made by hand, the source
 *           table under REPLICA IDENTITY FULL.
 *
 *   toast_pg   key changes into the filter, as in toast, through the PostgreSQL destination
 *           while following: the rows arrive whole (full ordered dumps compared).
 *
 * Usage: it_rules pgflo|pgflo_file|moves|toast|pgflo_pg|moves_pg|toast_pg|rename_pg|rename_pg_wm
 */
#include <dirent.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgh_run.h"

typedef struct ctx {
    pgh_run_pair p;
    pgh_run r;
    char out_path[PGH_RUN_FILE_MAX];
    char rules_path[PGH_RUN_FILE_MAX];
    char file_dir[PGH_RUN_FILE_MAX]; /* destination: file (layout single), or "" */
    const char *to;                  /* --to=stdout or --to=file */
    bool files;                      /* set before setup: the file destination */
} ctx;

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    PGH_CHECK(f && fputs(text, f) >= 0 && fclose(f) == 0, "cannot write %s", path);
}

/* The run's configuration: stdout (or, with c->file_dir, the file destination, one stream),
 * rules.yml, the given tables (and any keys after them); the lines go to c->out_path, emptied
 * (gathered there from the files with the file destination). */
static void write_config(ctx *c, const char *tables_yaml)
{
    char dest[PGH_RUN_FILE_MAX + 64];
    if (c->file_dir[0])
        snprintf(dest, sizeof(dest), "destination: file\nfile_directory: %s\n"
                 "file_layout: single\n", c->file_dir);
    else
        snprintf(dest, sizeof(dest), "destination: stdout\n");
    c->to = c->file_dir[0] ? "--to=file" : "--to=stdout";
    /* rules_file relative: read beside the configuration file */
    pgh_run_write_config(&c->r,
                         "source_connection: %s\ndestination_connection: %s\n"
                         "%spublication_name: pub\n"
                         "copy_batch_size: 500\ncopy_worker_count: 2\nrules_file: rules.yml\n"
                         "tables:\n%s",
                         c->p.src_conninfo, c->p.dst_conninfo, dest, tables_yaml);
    if (!c->file_dir[0])
        snprintf(c->r.append_out, sizeof(c->r.append_out), "%s", c->out_path);
    write_file(c->out_path, "");
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* The file destination: its data files (one stream, name order: the order written), each
 * whole line of them, into c->out_path. */
static void gather_files(const ctx *c)
{
    if (!c->file_dir[0])
        return;
    FILE *out = fopen(c->out_path, "w");
    PGH_CHECK(out != NULL, "cannot create %s", c->out_path);
    struct dirent **names = NULL;
    int n = scandir(c->file_dir, &names, NULL, by_name);
    for (int i = 0; i < n; i++) {
        size_t len = strlen(names[i]->d_name);
        if (len > 6 && strcmp(names[i]->d_name + len - 6, ".jsonl") == 0) {
            char path[PGH_RUN_FILE_MAX + sizeof(names[i]->d_name) + 2];
            snprintf(path, sizeof(path), "%s/%s", c->file_dir, names[i]->d_name);
            char *text = pgh_run_read_file(path);
            char *end = strrchr(text, '\n'); /* a line being written: not yet */
            fwrite(text, 1, end ? (size_t)(end - text) + 1 : 0, out);
            free(text);
        }
        free(names[i]);
    }
    free(names);
    PGH_CHECK(fclose(out) == 0, "cannot write %s", c->out_path);
}

static void setup(ctx *c, const char *tables_yaml)
{
    pgh_run_pair_start(&c->p, NULL, NULL);
    pgh_run_init(&c->r, &c->p, PGH_BINARY, "run", "rules_run.yaml");
    snprintf(c->rules_path, sizeof(c->rules_path), "%s/rules.yml", c->p.src.dir);
    snprintf(c->out_path, sizeof(c->out_path), "%s/lines.jsonl", c->p.src.dir);
    if (c->files)
        snprintf(c->file_dir, sizeof(c->file_dir), "%s/files", c->p.src.dir);
    write_config(c, tables_yaml);
}

/* Every line of the output, parsed (a JSON array of objects). */
static json_t *read_lines(const ctx *c)
{
    gather_files(c);
    char *text = pgh_run_read_file(c->out_path);
    json_t *all = json_array();
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);
        PGH_CHECK(o && json_is_object(o), "line does not parse: %s", line);
        json_array_append_new(all, o);
    }
    free(text);
    return all;
}

static const char *str(json_t *o, const char *path1, const char *path2)
{
    json_t *v = json_object_get(o, path1);
    if (path2)
        v = json_object_get(v, path2);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static long long num(json_t *o, const char *path1, const char *path2)
{
    json_t *v = json_object_get(json_object_get(o, path1), path2);
    return json_is_integer(v) ? json_integer_value(v) : -999999;
}

static bool is_op(json_t *o, const char *table, const char *op)
{
    return strcmp(str(o, "table", NULL), table) == 0 && strcmp(str(o, "op", NULL), op) == 0;
}

/* The line of op on table with key id, or NULL. */
static json_t *find(json_t *all, const char *table, const char *op, long long id)
{
    size_t i;
    json_t *o;
    json_array_foreach(all, i, o) {
        if (is_op(o, table, op) && num(o, "key", "id") == id)
            return o;
    }
    return NULL;
}

static int count(json_t *all, const char *table, const char *op)
{
    int n = 0;
    size_t i;
    json_t *o;
    json_array_foreach(all, i, o) n += is_op(o, table, op);
    return n;
}

static void wait_lines(const ctx *c, pid_t pid, const char *needle, int n)
{
    for (int i = 0; (gather_files(c), pgh_run_count_lines(c->out_path, needle)) < n; i++) {
        PGH_CHECK(pgh_test_pid_alive(pid) && i < 1200, "no %d lines with %s (%d lines):\n%s", n,
                  needle, pgh_run_count_lines(c->out_path, NULL), pgh_run_stderr(&c->r, 0));
        pgh_run_sleep_ms(50);
    }
}

/* ---- pgflo ------------------------------------------------------------------------------ */

/* internal/scripts/rules.yml of shayonj/pg_flo, byte for byte, and pghost's additions. */
static const char RULES[] =
    "tables:\n"
    "  users:\n"
    "    - type: transform\n"
    "      column: email\n"
    "      parameters:\n"
    "        type: mask\n"
    "        mask_char: \"*\"\n"
    "        allow_empty_deletes: true\n"
    "      operations: [INSERT, UPDATE, DELETE]\n"
    "    - type: transform\n"
    "      column: phone\n"
    "      parameters:\n"
    "        type: regex\n"
    "        pattern: \"^(\\\\d{3})(\\\\d{3})(\\\\d{4})$\"\n"
    "        replace: \"($1) $2-$3\"\n"
    "        allow_empty_deletes: true\n"
    "      operations: [INSERT, UPDATE, DELETE]\n"
    "    - type: filter\n"
    "      column: age\n"
    "      parameters:\n"
    "        operator: \"gte\"\n"
    "        value: 18\n"
    "        allow_empty_deletes: true\n"
    "      operations: [INSERT, UPDATE, DELETE]\n"
    "    - type: transform\n"
    "      column: ssn\n"
    "      parameters:\n"
    "        type: mask\n"
    "        mask_char: \"X\"\n"
    "        allow_empty_deletes: true\n"
    "      operations: [INSERT, UPDATE, DELETE]\n"
    "  public.accounts:\n"
    "    - type: transform\n"
    "      column: uid\n"
    "      parameters: {type: hash}\n"
    "    - type: transform\n"
    "      column: note\n"
    "      parameters: {type: set_null}\n"
    "    - type: rename\n"
    "      column: email\n"
    "      parameters: {to: contact}\n"
    "    - type: columns\n"
    "      parameters: {exclude: [secret]}\n"
    "    - type: filter\n"
    "      column: status\n"
    "      operations: [INSERT, UPDATE]\n"
    "      parameters: {operator: in, value: [active, trial]}\n"
    "    - type: filter\n"
    "      allow_empty_deletes: true\n"
    "      parameters:\n"
    "        any:\n"
    "          - {column: score, operator: gte, value: 10.5}\n"
    "          - {column: big, operator: gt, value: 9000000000}\n"
    "          - {column: r, operator: lt, value: 0.5}\n"
    "          - {column: d, operator: gte, value: 1e10}\n";

#define SALT "it-rules-salt"

static void hmac_hex(char out[65], const char *s)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    HMAC(EVP_sha256(), SALT, (int)strlen(SALT), (const unsigned char *)s, strlen(s), md, &n);
    for (unsigned int i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void pgflo_tables(ctx *c)
{
    /* e2e_transform_filter.sh's table, and one for pghost's additions */
    pgh_test_exec(c->p.s, "CREATE TABLE public.users (id serial PRIMARY KEY, email text, "
                          "phone text, age int, ssn text, "
                          "created_at timestamp DEFAULT current_timestamp)");
    pgh_test_exec(c->p.s, "CREATE TABLE accounts (id bigint PRIMARY KEY, uid text, email text, "
                          "score numeric, big bigint, r real, d double precision, status text, "
                          "note text, secret text)");
    /* existing rows (ids 1 and 2 taken here: pg_flo's rows get 3, 4, 5) */
    pgh_test_exec(c->p.s, "INSERT INTO users (email, phone, age, ssn) VALUES "
                          "('alice@example.com', '5550001111', 40, '111-22-3333'), "
                          "('kid@example.com', '5550002222', 12, '222-33-4444')");
    pgh_test_exec(c->p.s, "INSERT INTO accounts VALUES "
                          "(1, 'u1', 'a@x', 10.5, 1, 1, 1, 'active', 'n', 's'), "
                          "(6, 'u6', 'f@x', 100, 1, 1, 1, 'gone', 'n', 's')");
    pgh_test_exec(c->p.s, "CREATE PUBLICATION pub FOR TABLE users, accounts");
}

/* A rules file that does not fit the table: exit 2, the line, nothing written. */
static void pgflo_bad_rules(ctx *c)
{
    write_file(c->rules_path, "tables:\n  users:\n    - type: filter\n      column: agee\n"
                              "      parameters: {operator: gte, value: 18}\n");
    pid_t pid = pgh_run_spawn(&c->r, "replicate", "--no-progress", c->to, NULL);
    int code = pgh_run_wait(&c->r, pid, 60);
    const char *err = pgh_run_stderr(&c->r, 0);
    PGH_CHECK(code == 2 && strstr(err, "rules.yml:3: table public.users has no column \"agee\""),
              "exit %d:\n%s", code, err);
    gather_files(c);
    char *out = pgh_run_read_file(c->out_path);
    PGH_CHECK(out[0] == '\0', "wrote %s", out);
    free(out);
    write_file(c->rules_path, RULES);
    printf("bad rules: refused, nothing written\n");
}

static void pgflo_changes(ctx *c)
{
    /* simulate_changes of e2e_transform_filter.sh, ids shifted by the 2 existing rows */
    pgh_test_exec(c->p.s, "INSERT INTO public.users (email, phone, age, ssn) VALUES "
                          "('john@example.com', '1234567890', 25, '123-45-6789'), "
                          "('jane@example.com', '9876543210', 17, '987-65-4321'), "
                          "('bob@example.com', '5551234567', 30, '555-12-3456')");
    pgh_test_exec(c->p.s, "UPDATE public.users SET email = 'updated@example.com', "
                          "phone = '1112223333' WHERE id = 3");
    pgh_test_exec(c->p.s, "DELETE FROM public.users WHERE age = 30");
    pgh_test_exec(c->p.s, "DELETE FROM public.users WHERE age = 17");
    pgh_test_exec(c->p.s, "INSERT INTO accounts VALUES "
                          "(2, 'u2', 'b@x', 10.49, 9000000001, 1, 1, 'active', 'n', 's'), "
                          "(3, 'u3', 'c@x', 1, 1, 0.25, 1, 'trial', 'n', 's'), "
                          "(4, 'u4', 'd@x', 1, 1, 1, 2e10, 'active', 'n', 's'), "
                          "(5, 'u5', 'e@x', 1, 1, 1, 1, 'active', 'n', 's'), "
                          "(7, 'u7', 'g@x', 11, 1, 1, 1, NULL, 'n', 's')");
}

static void check_pgflo_users(json_t *all)
{
    const char *t = "public.users";
    /* pg_flo's expectations (the fence row, id 100, is one more insert) */
    PGH_CHECK(count(all, t, "insert") == 3 && count(all, t, "update") == 1 &&
                  count(all, t, "delete") == 2,
              "inserts %d updates %d deletes %d", count(all, t, "insert"), count(all, t, "update"),
              count(all, t, "delete"));
    json_t *john = find(all, t, "insert", 3);
    PGH_CHECK(john, "no insert of john");
    PGH_CHECK(strcmp(str(john, "new", "email"), "j**************m") == 0, "email %s",
              str(john, "new", "email"));
    PGH_CHECK(strcmp(str(john, "new", "phone"), "(123) 456-7890") == 0, "phone %s",
              str(john, "new", "phone"));
    PGH_CHECK(strcmp(str(john, "new", "ssn"), "1XXXXXXXXX9") == 0, "ssn %s",
              str(john, "new", "ssn"));
    PGH_CHECK(find(all, t, "insert", 4) == NULL, "jane (17) was not filtered out");
    json_t *upd = find(all, t, "update", 3);
    PGH_CHECK(upd && strcmp(str(upd, "new", "email"), "u*****************m") == 0 &&
                  strcmp(str(upd, "new", "phone"), "(111) 222-3333") == 0,
              "update %s", upd ? str(upd, "new", "email") : "missing");
    PGH_CHECK(find(all, t, "delete", 5) && find(all, t, "delete", 4), "the two deletes");
    /* existing rows: the same rules */
    json_t *alice = find(all, t, "snapshot", 1);
    PGH_CHECK(alice && strcmp(str(alice, "new", "email"), "a***************m") == 0 &&
                  strcmp(str(alice, "new", "phone"), "(555) 000-1111") == 0,
              "alice %s", alice ? str(alice, "new", "email") : "missing");
    PGH_CHECK(find(all, t, "snapshot", 2) == NULL, "the kid (12) was not filtered out");
}

static void check_pgflo_accounts(json_t *all)
{
    const char *t = "public.accounts";
    static const long long kept[] = {1, 2, 3, 4};
    PGH_CHECK(find(all, t, "snapshot", 1) && find(all, t, "snapshot", 6) == NULL,
              "existing accounts");
    for (int i = 1; i < 4; i++)
        PGH_CHECK(find(all, t, "insert", kept[i]), "account %lld (numeric/bigint/real/double)",
                  kept[i]);
    PGH_CHECK(find(all, t, "insert", 5) == NULL && find(all, t, "insert", 7) == NULL,
              "accounts 5 (no condition of any) and 7 (status NULL) filtered out");
    json_t *a = find(all, t, "insert", 2);
    json_t *nw = json_object_get(a, "new");
    char want[65];
    hmac_hex(want, "u2");
    PGH_CHECK(strcmp(str(a, "new", "uid"), want) == 0, "uid %s, want %s", str(a, "new", "uid"),
              want);
    PGH_CHECK(json_is_null(json_object_get(nw, "note")), "note not set to null");
    PGH_CHECK(strcmp(str(a, "new", "contact"), "b@x") == 0 && !json_object_get(nw, "email") &&
                  !json_object_get(nw, "secret"),
              "rename/exclude: %s", json_dumps(nw, 0));
    PGH_CHECK(strcmp(str(a, "new", "score"), "10.49") == 0, "score");
}

static void case_pgflo(ctx *c)
{
    setup(c, "  - public.users\n  - public.accounts\n");
    pgflo_tables(c);
    pgflo_bad_rules(c);
    setenv("PGHOST_RULES_HASH_SALT", SALT, 1);
    pid_t pid = pgh_run_spawn(&c->r, "replicate", "--no-progress", c->to, NULL);
    wait_lines(c, pid, "\"op\":\"snapshot_end\"", 2);
    pgflo_changes(c);
    /* fence: written last, passes the filter */
    pgh_test_exec(c->p.s, "INSERT INTO users (id, email, age) VALUES (100, 'fence', 99)");
    wait_lines(c, pid, "\"key\":{\"id\":100}", 1);
    pgh_run_stop(&c->r, pid, 30);
    json_t *all = read_lines(c);
    check_pgflo_users(all);
    check_pgflo_accounts(all);
    printf("%zu lines: pg_flo's outputs, existing rows and pghost's additions as expected\n",
           json_array_size(all));
    json_decref(all);
}

/* pg_flo's case through the file destination: the same lines, the same outputs. */
static void case_pgflo_file(ctx *c)
{
    c->files = true;
    case_pgflo(c);
}

/* ---- moves ------------------------------------------------------------------------------ */

#define ROWS 8000
#define MAXID 2000000

static const char *const MOVE_TABLES[2] = {"t_def", "t_full"};

static bool write_move(PGconn *conn, pgh_run_writer *w, void *payload)
{
    char sql[256];
    /* payload: one table's name, or NULL for both tables */
    const char *t = payload ? payload : MOVE_TABLES[pgh_run_random(&w->rng) % 2];
    long id = 1 + (long)(pgh_run_random(&w->rng) % (ROWS + 2000));
    int v = (int)(pgh_run_random(&w->rng) % 100);
    switch (pgh_run_random(&w->rng) % 6) {
    case 0:
        snprintf(sql, sizeof(sql), "INSERT INTO %s VALUES (%ld, %d, md5(random()::text)) "
                 "ON CONFLICT (id) DO UPDATE SET v = excluded.v", t, id, v);
        break;
    case 1:
        snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE id = %ld", t, id);
        break;
    case 2:
        snprintf(sql, sizeof(sql), "UPDATE %s SET note = md5(random()::text) WHERE id = %ld", t,
                 id);
        break;
    case 3: /* a key change */
        snprintf(sql, sizeof(sql),
                 "UPDATE %s SET id = id + 1000000, v = %d WHERE id = %ld AND id < 1000000", t, v,
                 id);
        break;
    default: /* the filtered column: rows move in and out */
        snprintf(sql, sizeof(sql), "UPDATE %s SET v = %d WHERE id = %ld", t, v, id);
        break;
    }
    return pgh_run_sql_ok(conn, sql);
}

/* The table as the lines rebuild it: by id, v and note. */
typedef struct rebuilt {
    int *v;      /* owned, MAXID entries; -1: no row */
    char **note; /* owned, MAXID entries */
} rebuilt;

static void apply_line(rebuilt *rb, json_t *o)
{
    const char *op = str(o, "op", NULL);
    long long id = num(o, "key", "id");
    if (strcmp(op, "snapshot_start") == 0 || strcmp(op, "snapshot_end") == 0)
        return;
    PGH_CHECK(id > 0 && id < MAXID, "line without a usable key: %s", json_dumps(o, 0));
    free(rb->note[id]);
    rb->note[id] = NULL;
    rb->v[id] = -1;
    if (strcmp(op, "delete") == 0)
        return;
    PGH_CHECK(json_object_get(o, "unchanged") == NULL, "unchanged values: %s", json_dumps(o, 0));
    long long old = num(o, "old_key", "id");
    if (old > 0 && old < MAXID && old != id) {
        free(rb->note[old]);
        rb->note[old] = NULL;
        rb->v[old] = -1;
    }
    rb->v[id] = (int)num(o, "new", "v");
    const char *note = str(o, "new", "note");
    rb->note[id] = strdup(note ? note : "<null>");
}

static void compare_moves(ctx *c, json_t *all, const char *table)
{
    rebuilt rb = {calloc(MAXID, sizeof(int)), calloc(MAXID, sizeof(char *))};
    for (int i = 0; i < MAXID; i++)
        rb.v[i] = -1;
    char qname[64];
    snprintf(qname, sizeof(qname), "public.%s", table);
    size_t i;
    json_t *o;
    json_array_foreach(all, i, o) {
        if (strcmp(str(o, "table", NULL), qname) == 0)
            apply_line(&rb, o);
    }
    /* the same predicate and the same mask, in SQL */
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT id, v, CASE WHEN note IS NULL THEN '<null>' WHEN length(note) <= 2 THEN note "
             "ELSE left(note, 1) || repeat('*', length(note) - 2) || right(note, 1) END "
             "FROM %s WHERE v >= 50 ORDER BY id", table);
    PGresult *res = PQexec(c->p.s, sql);
    PGH_CHECK(PQresultStatus(res) == PGRES_TUPLES_OK, "%s", PQerrorMessage(c->p.s));
    int n = PQntuples(res), k = 0;
    for (long id = 1; id < MAXID; id++) {
        if (rb.v[id] < 0)
            continue;
        PGH_CHECK(k < n, "%s: the lines hold id %ld, the filtered source does not", table, id);
        long sid = atol(PQgetvalue(res, k, 0));
        PGH_CHECK(sid == id, "%s: row %d: source id %ld, lines id %ld", table, k, sid, id);
        PGH_CHECK(atoi(PQgetvalue(res, k, 1)) == rb.v[id] &&
                      strcmp(PQgetvalue(res, k, 2), rb.note[id]) == 0,
                  "%s id %ld: source (%s, %s), lines (%d, %s)", table, id, PQgetvalue(res, k, 1),
                  PQgetvalue(res, k, 2), rb.v[id], rb.note[id]);
        k++;
    }
    PGH_CHECK(k == n, "%s: the filtered source has %d rows, the lines %d", table, n, k);
    printf("%s: %d rows equal (filtered source, full ordered dump)\n", table, n);
    PQclear(res);
    for (int j = 0; j < MAXID; j++)
        free(rb.note[j]);
    free(rb.note);
    free(rb.v);
}

static void case_moves(ctx *c)
{
    setup(c, "  - public.t_def\n  - public.t_full\n");
    for (int i = 0; i < 2; i++) {
        pgh_test_exec(c->p.s, "CREATE TABLE %s (id bigint PRIMARY KEY, v int NOT NULL, note text)",
                      MOVE_TABLES[i]);
        pgh_test_exec(c->p.s, "INSERT INTO %s SELECT g, g %% 100, md5(g::text) "
                              "FROM generate_series(1, %d) g", MOVE_TABLES[i], ROWS);
    }
    pgh_test_exec(c->p.s, "ALTER TABLE t_full REPLICA IDENTITY FULL");
    pgh_test_exec(c->p.s, "CREATE PUBLICATION pub FOR TABLE t_def, t_full");
    /* t_def's deletes carry only the key: they pass (allow_empty_deletes, pg_flo's way) */
    write_file(c->rules_path, "tables:\n  t_def:\n"
                              "    - type: filter\n      column: v\n"
                              "      allow_empty_deletes: true\n"
                              "      parameters: {operator: gte, value: 50}\n"
                              "    - &mask\n      type: transform\n      column: note\n"
                              "      parameters: {type: mask, mask_char: \"*\"}\n"
                              "  t_full:\n"
                              "    - type: filter\n      column: v\n"
                              "      parameters: {operator: gte, value: 50}\n"
                              "    - *mask\n");
    static pgh_run_writers ws;
    pgh_run_writers_opts o = {.conninfo = c->p.src_conninfo, .threads = 3, .seed = 13,
                              .pause_ms = 2, .reconnect_ms = -1, .write = write_move};
    pgh_run_writers_start(&ws, &o);
    pid_t pid = pgh_run_spawn(&c->r, "replicate", "--no-progress", "--to=stdout", NULL);
    wait_lines(c, pid, "\"op\":\"snapshot_end\"", 2);
    pgh_run_sleep_ms(2000); /* moves while following too */
    long writes = pgh_run_writers_stop(&ws);
    printf("writers committed %ld transactions; fence\n", writes);
    fflush(stdout);
    for (int i = 0; i < 2; i++)
        pgh_test_exec(c->p.s, "INSERT INTO %s VALUES (%d, 99, 'fence')", MOVE_TABLES[i],
                      MAXID - 1);
    char needle[64];
    /* under REPLICA IDENTITY FULL the key is the whole row: match its start */
    snprintf(needle, sizeof(needle), "\"key\":{\"id\":%d", MAXID - 1);
    wait_lines(c, pid, needle, 2);
    pgh_run_stop(&c->r, pid, 30);
    json_t *all = read_lines(c);
    PGH_CHECK(count(all, "public.t_def", "delete") > 0 && count(all, "public.t_full", "delete") > 0,
              "no deletes: rows never moved out");
    compare_moves(c, all, "t_def");
    compare_moves(c, all, "t_full");
    json_decref(all);
}

/* ---- toast ------------------------------------------------------------------------------ */

/* A big value stored out of line, uncompressed: an UPDATE that leaves it alone does not send
 * it ('u' in pgoutput). */
#define TOAST_SQL(id) "repeat(md5((" id ")::text), 400)"

static void toast_expect(ctx *c, json_t *all, const char *op, long long id, long long from)
{
    json_t *ins = find(all, "public.tt", op, id);
    PGH_CHECK(ins, "no %s of %lld (moved in from %lld): %s", op, id, from,
              pgh_run_read_file(c->out_path));
    PGH_CHECK(json_object_get(ins, "unchanged") == NULL && str(ins, "new", "big"),
              "the %s of %lld lacks the unchanged TOAST value: %s", op, id, json_dumps(ins, 0));
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT " TOAST_SQL("%lld"), from);
    char *want = pgh_test_value(c->p.s, "%s", sql);
    PGH_CHECK(strlen(want) == 12800 && strcmp(str(ins, "new", "big"), want) == 0,
              "%s %lld: big is %zu bytes, not the source's %zu", op, id,
              strlen(str(ins, "new", "big")), strlen(want));
    free(want);
}

/* A key-changing UPDATE moves a row into a filter on the key: the INSERT the rules make of it
 * carries the TOASTed value the UPDATE left unchanged (read again from the source). */
static void toast_run(ctx *c, bool changes_only, long long from, long long to)
{
    pid_t pid = pgh_run_spawn(&c->r, "replicate", "--no-progress", "--to=stdout",
                              changes_only ? "--changes-only" : NULL, NULL);
    if (changes_only) {
        for (int i = 0; pgh_run_count_lines(c->out_path, NULL) == 0; i++) {
            /* the changes start with the slot: a fence row until one comes through */
            PGH_CHECK(pgh_test_pid_alive(pid) && i < 300, "no line:\n%s",
                      pgh_run_stderr(&c->r, 0));
            pgh_test_exec(c->p.s, "INSERT INTO tt VALUES (%d, 0, 'ready') ON CONFLICT (id) DO "
                                  "UPDATE SET v = tt.v + 1", 5000);
            pgh_run_sleep_ms(100);
        }
    } else {
        wait_lines(c, pid, "\"op\":\"snapshot_end\"", 1);
    }
    pgh_test_exec(c->p.s, "UPDATE tt SET id = %lld, v = v + 1 WHERE id = %lld", to, from);
    /* moved in and on again before pghost reads it: the first re-read finds no row at the
     * first key, the second move is read again at the second */
    pgh_test_exec(c->p.s, "UPDATE tt SET id = %lld WHERE id = %lld; "
                          "UPDATE tt SET id = %lld WHERE id = %lld", to + 2, from + 2, to + 102,
                  to + 2);
    pgh_test_exec(c->p.s, "INSERT INTO tt VALUES (%lld, 0, 'fence')", to + 1000);
    char needle[64];
    snprintf(needle, sizeof(needle), "\"key\":{\"id\":%lld}", to + 1000);
    wait_lines(c, pid, needle, 1);
    pgh_run_stop(&c->r, pid, 30);
    json_t *all = read_lines(c);
    toast_expect(c, all, "insert", to, from);
    toast_expect(c, all, "update", to + 102, from + 2);
    printf("%s: the row moved in from %lld to %lld arrived whole (%zu lines)\n",
           changes_only ? "changes only" : "rows and changes", from, to, json_array_size(all));
    json_decref(all);
}

static void case_toast(ctx *c)
{
    setup(c, "  - public.tt\nslot_name: rules_toast_a\n");
    pgh_test_exec(c->p.s, "CREATE TABLE tt (id bigint PRIMARY KEY, v int, big text)");
    pgh_test_exec(c->p.s, "ALTER TABLE tt ALTER big SET STORAGE EXTERNAL");
    pgh_test_exec(c->p.s, "INSERT INTO tt SELECT g, 0, " TOAST_SQL("g") " "
                          "FROM generate_series(1, 4) g");
    pgh_test_exec(c->p.s, "CREATE PUBLICATION pub FOR TABLE tt");
    write_file(c->rules_path, "tables:\n  tt:\n    - type: filter\n      column: id\n"
                              "      parameters: {operator: gte, value: 1000}\n");
    toast_run(c, false, 1, 1001);
    /* the same without existing rows, on a slot of its own */
    char tail[PGH_RUN_FILE_MAX + 64];
    snprintf(tail, sizeof(tail),
             "  - public.tt\nslot_name: rules_toast_b\nstate_file: %s/b.state\n", c->p.src.dir);
    write_config(c, tail);
    toast_run(c, true, 2, 1002);
}

/* ---- through PostgreSQL ------------------------------------------------------------------ */

/* mask(x, c) in SQL, as the rules do it on ASCII text */
#define SQL_MASK(col, ch)                                                                          \
    "CASE WHEN length(" col ") <= 2 THEN " col " ELSE left(" col ", 1) || repeat('" ch "', "      \
    "length(" col ") - 2) || right(" col ", 1) END"

/* The one value sql returns on conn equals want. */
static bool value_is(PGconn *conn, const char *sql, const char *want)
{
    char *v = pgh_test_value(conn, "%s", sql);
    bool eq = strcmp(v, want) == 0;
    free(v);
    return eq;
}

static pid_t spawn_pg(ctx *c)
{
    return pgh_run_spawn(&c->r, "replicate", "--no-progress", "--to=postgres", "--follow",
                         "--create-tables", NULL);
}

/* pg_flo's case into PostgreSQL: the filtered, transformed source equals the destination. */
static void case_pgflo_pg(ctx *c)
{
    setup(c, "  - public.users\n");
    pgflo_tables(c);
    write_file(c->rules_path, RULES);
    setenv("PGHOST_RULES_HASH_SALT", SALT, 1);
    /* pg_flo's file names accounts too: this run has only users */
    pid_t pid = spawn_pg(c);
    int code = pgh_run_wait(&c->r, pid, 60);
    PGH_CHECK(code == 2 && strstr(pgh_run_stderr(&c->r, 0),
                                  "rules.yml:32: table public.accounts is not one this run"),
              "exit %d:\n%s", code, pgh_run_stderr(&c->r, 0));
    char *users_only = strdup(RULES);
    *strstr(users_only, "  public.accounts:\n") = '\0';
    write_file(c->rules_path, users_only);
    free(users_only);
    /* a filter on a non-key column needs the whole old row with a keyed destination */
    pid = spawn_pg(c);
    code = pgh_run_wait(&c->r, pid, 60);
    PGH_CHECK(code == 2 && strstr(pgh_run_stderr(&c->r, 0),
                                  "rules.yml:18: a filter on age needs REPLICA IDENTITY FULL"),
              "exit %d:\n%s", code, pgh_run_stderr(&c->r, 0));
    PGH_CHECK(value_is(c->p.d, "SELECT count(*) FROM pg_tables WHERE tablename = 'users'", "0"),
              "something was written");
    pgh_test_exec(c->p.s, "ALTER TABLE users REPLICA IDENTITY FULL");
    pid = spawn_pg(c);
    pgh_run_wait_follow(&c->r, pid);
    pgflo_changes(c);
    pgh_run_fence(&c->r, pid, 60, "INSERT INTO users (id, email, age) VALUES (100, 'fence', 99)",
                  "SELECT count(*) = 1 FROM users WHERE id = 100");
    pgh_run_stop(&c->r, pid, 30);
    PGH_CHECK(value_is(c->p.d, "SELECT email || ' ' || phone || ' ' || ssn FROM users WHERE id = 3",
                       "u*****************m (111) 222-3333 1XXXXXXXXX9") &&
                  value_is(c->p.d, "SELECT email FROM users WHERE id = 1", "a***************m") &&
                  value_is(c->p.d, "SELECT count(*) FROM users WHERE id IN (2, 4, 5)", "0"),
              "pg_flo's outputs at the destination");
    pgh_run_compare(&c->p,
                    "SELECT id, " SQL_MASK("email", "*") ", regexp_replace(phone, "
                    "'^(\\d{3})(\\d{3})(\\d{4})$', '(\\1) \\2-\\3'), age, " SQL_MASK("ssn", "X")
                    ", created_at FROM users WHERE age >= 18 ORDER BY id",
                    "SELECT id, email, phone, age, ssn, created_at FROM users ORDER BY id",
                    pgh_run_stderr(&c->r, 0));
}

/* Rows moving in and out of v >= 50 under writers, during the copy and while following. */
static void case_moves_pg(ctx *c)
{
    setup(c, "  - public.t_full\n");
    pgh_test_exec(c->p.s, "CREATE TABLE t_full (id bigint PRIMARY KEY, v int NOT NULL, note text)");
    pgh_test_exec(c->p.s, "INSERT INTO t_full SELECT g, g %% 100, md5(g::text) "
                          "FROM generate_series(1, %d) g", ROWS);
    pgh_test_exec(c->p.s, "ALTER TABLE t_full REPLICA IDENTITY FULL");
    pgh_test_exec(c->p.s, "CREATE PUBLICATION pub FOR TABLE t_full");
    write_file(c->rules_path, "tables:\n  t_full:\n"
                              "    - type: filter\n      column: v\n"
                              "      parameters: {operator: gte, value: 50}\n"
                              "    - type: transform\n      column: note\n"
                              "      parameters: {type: mask, mask_char: \"*\"}\n");
    static pgh_run_writers ws;
    pgh_run_writers_opts o = {.conninfo = c->p.src_conninfo, .threads = 3, .seed = 29,
                              .pause_ms = 2, .reconnect_ms = -1, .write = write_move,
                              .payload = (void *)"t_full"};
    pgh_run_writers_start(&ws, &o);
    pid_t pid = spawn_pg(c);
    pgh_run_wait_follow(&c->r, pid);
    pgh_run_sleep_ms(2000); /* moves while following too */
    printf("writers committed %ld transactions; fence\n", pgh_run_writers_stop(&ws));
    pgh_run_fence_value(&c->r, pid, "t_full", MAXID - 1, 1000, "fence");
    pgh_run_stop(&c->r, pid, 30);
    pgh_run_compare(&c->p,
                    "SELECT id, v, " SQL_MASK("note", "*") " FROM t_full WHERE v >= 50 ORDER BY id",
                    "SELECT id, v, note FROM t_full ORDER BY id", pgh_run_stderr(&c->r, 0));
}

/* Key changes into the filter through the PostgreSQL destination while following: the rows
 * arrive whole; the destination equals the source filtered, as a full ordered dump. (A row
 * moved on again before pghost reads it stops the run instead: docs/rules.md.) */
static void case_toast_pg(ctx *c)
{
    setup(c, "  - public.tt\n");
    pgh_test_exec(c->p.s, "CREATE TABLE tt (id bigint PRIMARY KEY, v int, big text)");
    pgh_test_exec(c->p.s, "ALTER TABLE tt ALTER big SET STORAGE EXTERNAL");
    pgh_test_exec(c->p.s, "INSERT INTO tt SELECT g, 0, " TOAST_SQL("g") " "
                          "FROM generate_series(1, 3) g");
    pgh_test_exec(c->p.s, "CREATE PUBLICATION pub FOR TABLE tt");
    write_file(c->rules_path, "tables:\n  tt:\n    - type: filter\n      column: id\n"
                              "      parameters: {operator: gte, value: 1000}\n");
    pid_t pid = spawn_pg(c);
    pgh_run_wait_follow(&c->r, pid);
    pgh_test_exec(c->p.s, "UPDATE tt SET id = 1001 WHERE id = 1");
    pgh_test_exec(c->p.s, "UPDATE tt SET id = 1003, v = 1 WHERE id = 3");
    pgh_run_fence(&c->r, pid, 60, "INSERT INTO tt VALUES (2000, 0, 'fence')",
                  "SELECT count(*) = 1 FROM tt WHERE id = 2000");
    pgh_run_stop(&c->r, pid, 30);
    long long n = pgh_run_compare(&c->p, "SELECT id, v, big FROM tt WHERE id >= 1000 ORDER BY id",
                                  "SELECT id, v, big FROM tt ORDER BY id",
                                  pgh_run_stderr(&c->r, 0));
    PGH_CHECK(n == 3 && value_is(c->p.d, "SELECT length(big) FROM tt WHERE id = 1003", "12800"),
              "%lld rows", n);
    printf("PostgreSQL destination: %lld rows equal, the moved rows whole\n", n);
}

/* ---- rename_pg: renamed and left-out columns into PostgreSQL ---------------------------- */

static const char RENAME_RULES[] = "tables:\n  t_ren:\n"
                                   "    - type: rename\n      column: id\n"
                                   "      parameters: {to: rid}\n"
                                   "    - type: rename\n      column: v\n"
                                   "      parameters: {to: value}\n"
                                   "    - type: columns\n      parameters: {exclude: [secret]}\n"
                                   "    - type: transform\n      column: note\n"
                                   "      parameters: {type: mask, mask_char: \"*\"}\n";

/* write_move's changes, and key changes of the rows with a TOASTed doc (ids up to 400): during
 * the copy, those make the catch-up copy rows again by key (their doc is not sent). */
static bool write_ren(PGconn *conn, pgh_run_writer *w, void *payload)
{
    if (pgh_run_random(&w->rng) % 4 != 0)
        return write_move(conn, w, payload);
    char sql[160];
    long id = 1 + (long)(pgh_run_random(&w->rng) % 400);
    snprintf(sql, sizeof(sql), "UPDATE t_ren SET id = id + 1000000 WHERE id = %ld", id);
    return pgh_run_sql_ok(conn, sql);
}

/* pghost exits with code 2 or 3 and a line holding want; the destination has no t_ren rows. */
static void rename_refused(ctx *c, const char *rules, const char *want)
{
    write_file(c->rules_path, rules);
    pid_t pid = spawn_pg(c);
    int code = pgh_run_wait(&c->r, pid, 60);
    PGH_CHECK((code == 2 || code == 3) && strstr(pgh_run_stderr(&c->r, 0), want),
              "exit %d, want \"%s\":\n%s", code, want, pgh_run_stderr(&c->r, 0));
    PGH_CHECK(value_is(c->p.d, "SELECT count(*) FROM pg_tables WHERE tablename = 't_ren'", "0") ||
                  value_is(c->p.d, "SELECT count(*) FROM t_ren", "0"),
              "rows written");
    printf("refused: %s\n", want);
}

/* The destination table's columns, in order: "rid value note". */
static char *dest_columns(ctx *c)
{
    return pgh_test_value(c->p.d, "SELECT string_agg(column_name, ' ' ORDER BY ordinal_position) "
                                  "FROM information_schema.columns WHERE table_name = 't_ren'");
}

/* The source table of the rename cases: a renamed key, a renamed column with an index and a
 * check constraint, one left out, one masked, one TOASTed on its first 400 rows. */
static void rename_source(ctx *c)
{
    pgh_test_exec(c->p.s, "CREATE TABLE t_ren (id bigint PRIMARY KEY, v int NOT NULL CHECK (v >= 0), "
                          "note text, secret text, doc text)");
    pgh_test_exec(c->p.s, "ALTER TABLE t_ren ALTER doc SET STORAGE EXTERNAL");
    pgh_test_exec(c->p.s, "CREATE INDEX t_ren_note ON t_ren (note)");
    pgh_test_exec(c->p.s, "CREATE INDEX t_ren_v ON t_ren (v)");
    pgh_test_exec(c->p.s, "INSERT INTO t_ren SELECT g, g %% 100, md5(g::text), 'pw' || g, "
                          "CASE WHEN g <= 400 THEN repeat(md5(g::text), 80) END "
                          "FROM generate_series(1, %d) g", ROWS);
    pgh_test_exec(c->p.s, "CREATE PUBLICATION pub FOR TABLE t_ren");
}

/* The sync with writers running from the start, then following; the destination's columns and
 * a full ordered dump against the source transformed in SQL. keyed: the copy + catch-up (rows
 * with TOASTed values whose key moved during the copy are copied again by their renamed key;
 * the index on the renamed column is not built), else copy_method watermarks. */
static void rename_sync(ctx *c, bool keyed)
{
    write_file(c->rules_path, RENAME_RULES);
    static pgh_run_writers ws;
    pgh_run_writers_opts o = {.conninfo = c->p.src_conninfo, .threads = 3, .seed = 31,
                              .pause_ms = 2, .reconnect_ms = -1, .write = write_ren,
                              .payload = (void *)"t_ren"};
    pgh_run_writers_start(&ws, &o);
    pid_t pid = keyed ? spawn_pg(c)
                      : pgh_run_spawn(&c->r, "replicate", "--no-progress", "--to=postgres",
                                      "--follow", NULL);
    pgh_run_wait_follow(&c->r, pid);
    pgh_run_sleep_ms(1000); /* changes while following too */
    printf("writers committed %ld transactions; fence\n", pgh_run_writers_stop(&ws));
    pgh_run_fence(&c->r, pid, 60, "INSERT INTO t_ren VALUES (1999999, 7, 'fence', 'pw', 'd')",
                  "SELECT count(*) = 1 FROM t_ren WHERE rid = 1999999");
    pgh_run_stop(&c->r, pid, 30);
    const char *log = pgh_run_stderr(&c->r, 0);
    PGH_CHECK(!keyed || (strstr(log, "copying them again") &&
                         strstr(log, "index t_ren_v of public.t_ren is not built")),
              "no row copied again by its renamed key, or the index on v built:\n%s", log);
    char *cols = dest_columns(c);
    PGH_CHECK(strcmp(cols, "rid value note doc") == 0, "destination columns: %s", cols);
    free(cols);
    PGH_CHECK(!keyed || value_is(c->p.d, "SELECT string_agg(indexname, ' ' ORDER BY indexname) "
                                         "FROM pg_indexes WHERE tablename = 't_ren'",
                                 "t_ren_note t_ren_pkey"),
              "indexes: the one on the renamed column is not built, the other is");
    long long n = pgh_run_compare(&c->p,
                                  "SELECT id, v, " SQL_MASK("note", "*") ", doc FROM t_ren "
                                  "ORDER BY id",
                                  "SELECT rid, value, note, doc FROM t_ren ORDER BY rid",
                                  pgh_run_stderr(&c->r, 0));
    PGH_CHECK(n > ROWS / 2, "%lld rows", n);
}

/* rename (a key column too) + exclude + mask with the PostgreSQL destination: writers during
 * the copy and the catch-up (key changes included: rows copied again by key), then following;
 * the destination equals the source transformed by the same rules in SQL (full ordered dumps).
 * The refusals first: an existing destination table lacking a renamed column, a key left out.
 * Then pghost check (through the rules) and pghost verify (refused). */
static void case_rename_pg(ctx *c)
{
    setup(c, "  - public.t_ren\n");
    rename_source(c);
    /* an existing table with the source's column v, not the renamed value */
    pgh_test_exec(c->p.d, "CREATE TABLE t_ren (rid bigint PRIMARY KEY, v int, note text)");
    rename_refused(c, RENAME_RULES, "column value (integer) is missing on the destination");
    pgh_test_exec(c->p.d, "DROP TABLE t_ren");
    rename_refused(c, "tables:\n  t_ren:\n    - type: columns\n"
                      "      parameters: {exclude: [id]}\n",
                   "rules.yml:3: key column id cannot be left out: rows are found by it");
    rename_sync(c, true);
    /* pghost check compares the destination table with the table as the rules make it */
    pgh_run_write_config(&c->r, "source_connection: %s\ndestination_connection: %s\n"
                         "destination: postgres\npublication_name: pub\nrules_file: rules.yml\n"
                         "tables:\n  - public.t_ren\n", c->p.src_conninfo, c->p.dst_conninfo);
    write_file(c->out_path, ""); /* its report goes there */
    int code = pgh_run_exec(&c->r, 60, "check", NULL);
    char *report = pgh_run_read_file(c->out_path);
    PGH_CHECK(code == 0 && strstr(report, "no problem found"), "pghost check exited %d:\n%s%s",
              code, report, pgh_run_stderr(&c->r, 0));
    free(report);
    /* verify compares rows as they are: a configuration with rules is refused */
    code = pgh_run_exec(&c->r, 60, "verify", NULL);
    PGH_CHECK(code == 2 && strstr(pgh_run_stderr(&c->r, 0), "rules_file rules.yml is set: verify"),
              "verify exit %d:\n%s", code, pgh_run_stderr(&c->r, 0));
}

/* The same rules through copy_method: watermarks (existing rows with the changes), into a
 * table made by hand (watermarks does not create tables), under REPLICA IDENTITY FULL (the
 * stream flags every column as a key: the renamed key is found by its source name). */
static void case_rename_pg_wm(ctx *c)
{
    setup(c, "  - public.t_ren\ncopy_method: watermarks\n");
    rename_source(c);
    pgh_test_exec(c->p.s, "ALTER TABLE t_ren REPLICA IDENTITY FULL");
    pgh_test_exec(c->p.d, "CREATE TABLE t_ren (rid bigint PRIMARY KEY, value int NOT NULL, "
                          "note text, doc text)");
    rename_sync(c, false);
}

int main(int argc, char **argv)
{
    PGH_CHECK(argc == 2, "usage: it_rules pgflo|pgflo_file|moves|toast|pgflo_pg|moves_pg|"
                         "toast_pg|rename_pg|rename_pg_wm");
    static ctx c;
    double t0 = pgh_run_now_ms();
    if (strcmp(argv[1], "pgflo") == 0)
        case_pgflo(&c);
    else if (strcmp(argv[1], "pgflo_file") == 0)
        case_pgflo_file(&c);
    else if (strcmp(argv[1], "moves") == 0)
        case_moves(&c);
    else if (strcmp(argv[1], "toast") == 0)
        case_toast(&c);
    else if (strcmp(argv[1], "toast_pg") == 0)
        case_toast_pg(&c);
    else if (strcmp(argv[1], "pgflo_pg") == 0)
        case_pgflo_pg(&c);
    else if (strcmp(argv[1], "moves_pg") == 0)
        case_moves_pg(&c);
    else if (strcmp(argv[1], "rename_pg") == 0)
        case_rename_pg(&c);
    else if (strcmp(argv[1], "rename_pg_wm") == 0)
        case_rename_pg_wm(&c);
    else
        pgh_test_fail("unknown case %s", argv[1]);
    printf("%s: %.1f s\n", argv[1], (pgh_run_now_ms() - t0) / 1000);
    pgh_run_pair_stop(&c.p);
    puts("PASS");
    return 0;
}
