/*
 * tests/unit/test_config.c - the configuration parser: values, defaults and exact messages.
 *
 * One executable, one case per run: `test_config <case>`. tests/unit/config.cmake reads the
 * CASES list below and registers each case as its own ctest entry (label unit), so adding a
 * case here is all it takes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "pghost/config.h"

#define CASES(X)                                                                                   \
    X(issue_example)                                                                               \
    X(example_file)                                                                                \
    X(example_file_needs_env)                                                                      \
    X(defaults)                                                                                    \
    X(tables_list)                                                                                 \
    X(tables_only)                                                                                 \
    X(unknown_key_suggestion)                                                                      \
    X(unknown_key_in_table)                                                                        \
    X(unknown_key_no_suggestion)                                                                   \
    X(unknown_key_escaped)                                                                         \
    X(wrong_type_integer)                                                                          \
    X(wrong_type_in_table)                                                                         \
    X(integer_forms)                                                                               \
    X(batch_size_range)                                                                            \
    X(batch_max_ms_range)                                                                          \
    X(booleans)                                                                                    \
    X(copy_format)                                                                                 \
    X(on_missing_row)                                                                              \
    X(missing_required_key)                                                                        \
    X(destination_stdout)                                                                          \
    X(destination_duckdb)                                                                          \
    X(destination_file)                                                                            \
    X(rules_file)                                                                                  \
    X(destination_webhook)                                                                         \
    X(nats_keys)                                                                                   \
    X(apply_grouping)                                                                              \
    X(writer_batch_names)                                                                          \
    X(writer_options)                                                                              \
    X(no_table)                                                                                    \
    X(table_missing_source)                                                                        \
    X(table_key_without_source)                                                                    \
    X(tables_not_a_list)                                                                           \
    X(env_expansion)                                                                               \
    X(env_unset)                                                                                   \
    X(env_without_lookup)                                                                          \
    X(env_syntax)                                                                                  \
    X(env_value_never_printed)                                                                     \
    X(conninfo_secret_roundtrip)                                                                   \
    X(conninfo_uri)                                                                                \
    X(conninfo_whole_string)                                                                       \
    X(conninfo_not_parseable)                                                                      \
    X(duplicate_key)                                                                               \
    X(duplicate_key_in_table)                                                                      \
    X(duplicate_destination)                                                                       \
    X(bad_slot_name)                                                                               \
    X(default_slot_name)                                                                           \
    X(empty_value)                                                                                 \
    X(name_rules)                                                                                  \
    X(empty_document)                                                                              \
    X(not_a_mapping)                                                                               \
    X(yaml_syntax_error)                                                                           \
    X(two_documents)                                                                               \
    X(deep_nesting)                                                                                \
    X(anchors_and_aliases)                                                                         \
    X(load_missing_file)

static int failures;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

#define CHECK_STR(got, want) check_str(__FILE__, __LINE__, (got), (want))

static void check_str(const char *file, int line, const char *got, const char *want)
{
    if (got == NULL || strcmp(got, want) != 0) {
        fprintf(stderr, "%s:%d: got  [%s]\n%s:%d: want [%s]\n", file, line, got ? got : "(null)",
                file, line, want);
        failures++;
    }
}

/* A fixed environment for ${VAR}; PGHOST_DESTINATION_PASSWORD serves examples/config.yaml. */
static const char *fake_env(const char *name, void *payload)
{
    static const char *const vars[][2] = {
        {"PGPASS", "s3cret!"},
        {"DBHOST", "db.example.com"},
        {"EMPTY", ""},
        {"BAD_SLOT", "Sensitive-Slot"},
        {"TABLE", "from_env"},
        {"PGHOST_DESTINATION_PASSWORD", "hunter2"},
        {"HARD_PW", "a b'c\\d=e host=evil \\'@x/y:z?"},
        {"WHOLE", "host=h1 dbname='x y'"},
    };
    (void)payload;
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        if (strcmp(vars[i][0], name) == 0)
            return vars[i][1];
    }
    return NULL;
}

static pgh_config *parse_ok_at(const char *file, int line, const char *yaml)
{
    pgh_config *cfg = NULL;
    pgh_error err = {0};
    int rc = pgh_config_parse(&cfg, yaml, strlen(yaml), "config.yaml", fake_env, NULL, &err);
    if (rc != 0 || cfg == NULL) {
        fprintf(stderr, "%s:%d: parse failed (%d): %s\n", file, line, rc, err.message);
        failures++;
        exit(1);
    }
    return cfg;
}

static void parse_fails_at(const char *file, int line, const char *yaml, size_t len,
                           const char *want)
{
    pgh_config *cfg = (pgh_config *)&cfg; /* must be reset to NULL */
    pgh_error err = {0};
    int rc = pgh_config_parse(&cfg, yaml, len, "config.yaml", fake_env, NULL, &err);
    if (rc != PGH_ECONFIG || cfg != NULL || err.code != PGH_ECONFIG) {
        fprintf(stderr, "%s:%d: expected PGH_ECONFIG, got %d: %s\n", file, line, rc, err.message);
        failures++;
        pgh_config_free(rc == 0 ? cfg : NULL);
        return;
    }
    check_str(file, line, err.message, want);
    if (strchr(err.message, '\n') != NULL) {
        fprintf(stderr, "%s:%d: message has a newline\n", file, line);
        failures++;
    }
}

#define PARSE_OK(yaml) parse_ok_at(__FILE__, __LINE__, (yaml))
#define PARSE_FAILS(yaml, want) parse_fails_at(__FILE__, __LINE__, (yaml), strlen(yaml), (want))

/* Three required keys on lines 1-3; a case's own lines start at line 4. */
#define BASE                                                                                       \
    "source_connection: dbname=src\n"                                                              \
    "destination_connection: dbname=dst\n"                                                         \
    "publication_name: pub\n"

/* BASE plus one table on line 4; a case's own lines start at line 5. */
#define BASE_T BASE "source_table_name: t\n"

static void check_table(const pgh_table_map *t, const char *ss, const char *st, const char *ds,
                        const char *dt)
{
    CHECK_STR(t->source_schema, ss);
    CHECK_STR(t->source_table, st);
    CHECK_STR(t->dest_schema, ds);
    CHECK_STR(t->dest_table, dt);
}

static void issue_example(void)
{
    pgh_config *cfg =
        PARSE_OK("---\n"
                 "source_connection: dbname=postgres\n"
                 "source_connection_for_replication: dbname=postgres replication=database\n"
                 "source_table_name: fancy_table\n"
                 "source_schema_name: public\n"
                 "destination_connection: dbname=postgres user=remote_admin password=remote_admin "
                 "host=localhost port=6432\n"
                 "destination_table_name: new_fancy_table\n"
                 "destination_schema_name: public\n"
                 "publication_name: pub_on_fancy_table\n"
                 "copy_batch_size: 100000\n"
                 "copy_worker_count: 10\n"
                 "copy_use_keyset_pagination: true\n");
    CHECK_STR(cfg->path, "config.yaml");
    CHECK_STR(cfg->source_connection, "dbname=postgres");
    CHECK_STR(cfg->source_replication_connection, "dbname=postgres replication=database");
    CHECK_STR(cfg->destination_connection,
              "dbname=postgres user=remote_admin password=remote_admin host=localhost port=6432");
    CHECK_STR(cfg->publication_name, "pub_on_fancy_table");
    CHECK_STR(cfg->slot_name, "pghost_pub_on_fancy_table");
    CHECK(cfg->ntables == 1);
    check_table(&cfg->tables[0], "public", "fancy_table", "public", "new_fancy_table");
    CHECK(cfg->copy_batch_size == 100000);
    CHECK(cfg->copy_worker_count == 10);
    CHECK(cfg->copy_use_keyset_pagination);
    CHECK(cfg->copy_format == PGH_COPY_FORMAT_AUTO);
    pgh_config_free(cfg);
}

static void example_file(void)
{
    pgh_config *cfg = NULL;
    pgh_error err = {0};
    int rc = pgh_config_load(&cfg, PGH_SOURCE_DIR "/examples/config.yaml", fake_env, NULL, &err);
    CHECK(rc == 0);
    if (rc != 0) {
        fprintf(stderr, "%s\n", err.message);
        return;
    }
    CHECK_STR(cfg->source_connection, "dbname=postgres host=localhost port=5432 user=postgres");
    CHECK_STR(cfg->source_replication_connection,
              "dbname=postgres host=localhost port=5432 user=postgres replication=database");
    /* ${VAR} in a parameter: the string is rebuilt in libpq's keyword order */
    CHECK_STR(cfg->destination_connection, "user=remote_admin password=hunter2 dbname=postgres "
                                           "host=localhost port=6432");
    CHECK_STR(cfg->publication_name, "pub_on_fancy_table");
    CHECK_STR(cfg->slot_name, "pghost_pub_on_fancy_table");
    CHECK(cfg->ntables == 4);
    if (cfg->ntables == 4) {
        check_table(&cfg->tables[0], "public", "fancy_table", "public", "new_fancy_table");
        check_table(&cfg->tables[1], "public", "orders", "public", "orders");
        check_table(&cfg->tables[2], "sales", "customers", "sales", "customers");
        check_table(&cfg->tables[3], "sales", "invoices", "archive", "invoices_2024");
    }
    CHECK(cfg->copy_batch_size == 100000);
    CHECK(cfg->copy_worker_count == 10);
    CHECK(cfg->copy_use_keyset_pagination);
    CHECK(cfg->copy_format == PGH_COPY_FORMAT_AUTO);
    pgh_config_free(cfg);
}

static void example_file_needs_env(void)
{
    pgh_config *cfg = NULL;
    pgh_error err = {0};
    int rc = pgh_config_load(&cfg, PGH_SOURCE_DIR "/examples/config.yaml", NULL, NULL, &err);
    CHECK(rc == PGH_ECONFIG && cfg == NULL);
    CHECK(strstr(err.message, "destination_connection (password): environment variable "
                              "\"PGHOST_DESTINATION_PASSWORD\" is not set") != NULL);
}

static void defaults(void)
{
    pgh_config *cfg = PARSE_OK(BASE_T);
    CHECK(cfg->source_replication_connection == NULL);
    CHECK_STR(cfg->slot_name, "pghost_pub");
    CHECK(cfg->ntables == 1);
    check_table(&cfg->tables[0], "public", "t", "public", "t");
    CHECK(cfg->copy_batch_size == PGH_CONFIG_DEFAULT_BATCH_SIZE);
    CHECK(cfg->copy_batch_size == 100000);
    CHECK(cfg->copy_batch_max_ms == PGH_CONFIG_DEFAULT_BATCH_MAX_MS);
    CHECK(cfg->copy_batch_max_ms == 200);
    CHECK(cfg->copy_worker_count == PGH_CONFIG_DEFAULT_WORKERS);
    CHECK(cfg->copy_worker_count == 4);
    CHECK(cfg->copy_use_keyset_pagination == true);
    CHECK(cfg->copy_format == PGH_COPY_FORMAT_AUTO);
    pgh_config_free(cfg);
}

static void tables_list(void)
{
    /* The list comes before the top-level table in the file, yet the top-level one is first. */
    pgh_config *cfg = PARSE_OK(BASE "tables:\n"
                                    "  - source_table_name: a\n"
                                    "  - source_schema_name: sales\n"
                                    "    source_table_name: b\n"
                                    "  - source_schema_name: sales\n"
                                    "    source_table_name: c\n"
                                    "    destination_schema_name: archive\n"
                                    "  - source_table_name: d\n"
                                    "    destination_table_name: d2\n"
                                    "source_schema_name: app\n"
                                    "source_table_name: top\n"
                                    "destination_table_name: top_copy\n");
    CHECK(cfg->ntables == 5);
    if (cfg->ntables == 5) {
        check_table(&cfg->tables[0], "app", "top", "app", "top_copy");
        check_table(&cfg->tables[1], "public", "a", "public", "a");
        check_table(&cfg->tables[2], "sales", "b", "sales", "b");
        check_table(&cfg->tables[3], "sales", "c", "archive", "c");
        check_table(&cfg->tables[4], "public", "d", "public", "d2");
    }
    pgh_config_free(cfg);
}

static void tables_only(void)
{
    pgh_config *cfg = PARSE_OK(BASE "tables: [{source_table_name: x}, {source_table_name: y}]\n");
    CHECK(cfg->ntables == 2);
    check_table(&cfg->tables[0], "public", "x", "public", "x");
    check_table(&cfg->tables[1], "public", "y", "public", "y");
    pgh_config_free(cfg);
}

static void unknown_key_suggestion(void)
{
    PARSE_FAILS(
        BASE_T "copy_batch_sise: 10\n",
        "config.yaml:5: unknown key \"copy_batch_sise\"; did you mean \"copy_batch_size\"?");
    PARSE_FAILS(BASE_T "Copy_Worker_Count: 10\n",
                "config.yaml:5: unknown key \"Copy_Worker_Count\"; "
                "did you mean \"copy_worker_count\"?");
    PARSE_FAILS(BASE_T "copy-use-keyset-pagination: true\n",
                "config.yaml:5: unknown key \"copy-use-keyset-pagination\"; did you mean "
                "\"copy_use_keyset_pagination\"?");
    PARSE_FAILS(BASE "table:\n  - source_table_name: t\n",
                "config.yaml:4: unknown key \"table\"; did you mean \"tables\"?");
    PARSE_FAILS(BASE "destination_conection: x\n",
                "config.yaml:4: unknown key \"destination_conection\"; did you mean "
                "\"destination_connection\"?");
}

static void unknown_key_in_table(void)
{
    PARSE_FAILS(BASE "tables:\n"
                     "  - source_table_name: a\n"
                     "  - sourse_table_name: b\n",
                "config.yaml:6: unknown key \"tables[1].sourse_table_name\"; did you mean "
                "\"source_table_name\"?");
    PARSE_FAILS(BASE "tables:\n"
                     "  - source_table_name: a\n"
                     "    copy_batch_size: 10\n",
                "config.yaml:6: unknown key \"tables[0].copy_batch_size\"; a table takes "
                "source_schema_name, source_table_name, destination_schema_name and "
                "destination_table_name");
}

static void unknown_key_no_suggestion(void)
{
    PARSE_FAILS(BASE_T "frobnicate: 1\n", "config.yaml:5: unknown key \"frobnicate\"; see "
                                          "examples/config.yaml for the valid keys");
}

static void unknown_key_escaped(void)
{
    /* User text is escaped and cut short so that the message stays one printable line. */
    PARSE_FAILS(BASE_T "\"a\\tb\\nc\\\"\": 1\n",
                "config.yaml:5: unknown key \"a\\tb\\nc\\\"\"; see examples/config.yaml for the "
                "valid keys");
    PARSE_FAILS(BASE_T
                "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx: 1\n",
                "config.yaml:5: unknown key "
                "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\"; see "
                "examples/config.yaml for the valid keys");
    PARSE_FAILS(BASE_T "[a, b]: 1\n", "config.yaml:5: expected a key name, got a list");
}

static void wrong_type_integer(void)
{
    PARSE_FAILS(BASE_T "copy_worker_count: ten\n",
                "config.yaml:5: copy_worker_count: expected an integer from 1 to 64, got \"ten\"");
    PARSE_FAILS(BASE_T "copy_worker_count: {a: 1}\n",
                "config.yaml:5: copy_worker_count: expected an integer from 1 to 64, got a "
                "mapping");
    PARSE_FAILS(BASE_T "source_connection_for_replication: [a]\n",
                "config.yaml:5: source_connection_for_replication: expected a string, got a "
                "list");
}

static void wrong_type_in_table(void)
{
    PARSE_FAILS(BASE "tables:\n"
                     "  - source_table_name: a\n"
                     "  - source_table_name:\n"
                     "      nested: value\n",
                "config.yaml:7: tables[1].source_table_name: expected a string, got a mapping");
    /* A string is a "schema.table" entry (tests/unit/test_config_patterns.c); a list is not. */
    PARSE_FAILS(BASE "tables:\n  - [just_a_list]\n",
                "config.yaml:5: tables[0]: expected a mapping with source_table_name or a "
                "\"schema.table\" name, got a list");
}

static void integer_forms(void)
{
    static const char *const bad[] = {"0",    "65",  "-1",   "+5",  "1e5",
                                      "10.0", "010", "0x10", "1_0", "99999999999999999999999",
                                      "ten"};
    char yaml[256], want[256];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(yaml, sizeof(yaml), BASE_T "copy_worker_count: %s\n", bad[i]);
        snprintf(want, sizeof(want),
                 "config.yaml:5: copy_worker_count: expected an integer from 1 to 64, got \"%s\"",
                 bad[i]);
        PARSE_FAILS(yaml, want);
    }
    PARSE_FAILS(BASE_T "copy_worker_count: \"10\"\n",
                "config.yaml:5: copy_worker_count: expected an integer from 1 to 64, got the "
                "quoted string \"10\"; remove the quotes");
    PARSE_FAILS(BASE_T "copy_worker_count: ${WORKERS}\n",
                "config.yaml:5: copy_worker_count: expected an integer from 1 to 64, got "
                "\"${WORKERS}\"; ${VAR} is expanded in string values only");
    pgh_config *cfg = PARSE_OK(BASE_T "copy_worker_count: 64\n");
    CHECK(cfg->copy_worker_count == 64);
    pgh_config_free(cfg);
    cfg = PARSE_OK(BASE_T "copy_worker_count: 1\n");
    CHECK(cfg->copy_worker_count == 1);
    pgh_config_free(cfg);
}

static void batch_size_range(void)
{
    PARSE_FAILS(BASE_T "copy_batch_size: 1000000001\n",
                "config.yaml:5: copy_batch_size: expected an integer from 1 to 1000000000, got "
                "\"1000000001\"");
    PARSE_FAILS(BASE_T "copy_batch_size: 0\n",
                "config.yaml:5: copy_batch_size: expected an integer from 1 to 1000000000, got "
                "\"0\"");
    PARSE_FAILS(BASE_T "copy_batch_size: 9223372036854775808\n",
                "config.yaml:5: copy_batch_size: expected an integer from 1 to 1000000000, got "
                "\"9223372036854775808\"");
    pgh_config *cfg = PARSE_OK(BASE_T "copy_batch_size: 1000000000\n");
    CHECK(cfg->copy_batch_size == 1000000000);
    pgh_config_free(cfg);
    cfg = PARSE_OK(BASE_T "copy_batch_size: 1\n");
    CHECK(cfg->copy_batch_size == 1);
    pgh_config_free(cfg);
}

static void batch_max_ms_range(void)
{
    PARSE_FAILS(BASE_T "copy_batch_max_ms: -1\n",
                "config.yaml:5: copy_batch_max_ms: expected an integer from 0 to 3600000, got "
                "\"-1\"");
    PARSE_FAILS(BASE_T "copy_batch_max_ms: 3600001\n",
                "config.yaml:5: copy_batch_max_ms: expected an integer from 0 to 3600000, got "
                "\"3600001\"");
    PARSE_FAILS(BASE_T "copy_batch_max_ms: fast\n",
                "config.yaml:5: copy_batch_max_ms: expected an integer from 0 to 3600000, got "
                "\"fast\"");
    pgh_config *cfg = PARSE_OK(BASE_T "copy_batch_max_ms: 0\n");
    CHECK(cfg->copy_batch_max_ms == 0);
    pgh_config_free(cfg);
    cfg = PARSE_OK(BASE_T "copy_batch_max_ms: 3600000\n");
    CHECK(cfg->copy_batch_max_ms == 3600000);
    pgh_config_free(cfg);
}

static void booleans(void)
{
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "on", "ON"};
    static const char *const no[] = {"false", "False", "no", "NO", "off", "Off"};
    char yaml[256];
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        snprintf(yaml, sizeof(yaml), BASE_T "copy_use_keyset_pagination: %s\n", yes[i]);
        pgh_config *cfg = PARSE_OK(yaml);
        CHECK(cfg->copy_use_keyset_pagination == true);
        pgh_config_free(cfg);
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        snprintf(yaml, sizeof(yaml), BASE_T "copy_use_keyset_pagination: %s\n", no[i]);
        pgh_config *cfg = PARSE_OK(yaml);
        CHECK(cfg->copy_use_keyset_pagination == false);
        pgh_config_free(cfg);
    }
    PARSE_FAILS(BASE_T "copy_use_keyset_pagination: maybe\n",
                "config.yaml:5: copy_use_keyset_pagination: expected true or false, got "
                "\"maybe\"");
    PARSE_FAILS(BASE_T "copy_use_keyset_pagination: 1\n",
                "config.yaml:5: copy_use_keyset_pagination: expected true or false, got \"1\"");
    PARSE_FAILS(BASE_T "copy_use_keyset_pagination: \"true\"\n",
                "config.yaml:5: copy_use_keyset_pagination: expected true or false, got the "
                "quoted string \"true\"; remove the quotes");
}

static void copy_format(void)
{
    pgh_config *cfg = PARSE_OK(BASE_T "copy_format: binary\n");
    CHECK(cfg->copy_format == PGH_COPY_FORMAT_BINARY);
    pgh_config_free(cfg);
    cfg = PARSE_OK(BASE_T "copy_format: \"Text\"\n");
    CHECK(cfg->copy_format == PGH_COPY_FORMAT_TEXT);
    pgh_config_free(cfg);
    cfg = PARSE_OK(BASE_T "copy_format: auto\n");
    CHECK(cfg->copy_format == PGH_COPY_FORMAT_AUTO);
    pgh_config_free(cfg);
    PARSE_FAILS(BASE_T "copy_format: json\n",
                "config.yaml:5: copy_format: expected auto, binary or text, got \"json\"");
}

static void on_missing_row(void)
{
    pgh_config *cfg = PARSE_OK(BASE_T);
    CHECK(cfg->on_missing_row == PGH_ON_MISSING_ROW_STOP);
    pgh_config_free(cfg);
    cfg = PARSE_OK(BASE_T "on_missing_row: skip\n");
    CHECK(cfg->on_missing_row == PGH_ON_MISSING_ROW_SKIP);
    pgh_config_free(cfg);
    cfg = PARSE_OK(BASE_T "on_missing_row: Stop\n");
    CHECK(cfg->on_missing_row == PGH_ON_MISSING_ROW_STOP);
    pgh_config_free(cfg);
    PARSE_FAILS(BASE_T "on_missing_row: ignore\n",
                "config.yaml:5: on_missing_row: expected stop or skip, got \"ignore\"");
    PARSE_FAILS(BASE_T "on_missing_rows: skip\n",
                "config.yaml:5: unknown key \"on_missing_rows\"; did you mean \"on_missing_row\"?");
}

/* yaml parses; what its destination needs is missing (pgh_config_check_destination). */
#define DESTINATION_FAILS(yaml, want) destination_fails_at(__LINE__, (yaml), (want))
static void destination_fails_at(int line, const char *yaml, const char *want)
{
    pgh_config *cfg = parse_ok_at(__FILE__, line, yaml);
    pgh_error err = {0};
    if (cfg == NULL)
        return;
    if (pgh_config_check_destination(cfg, &err) != PGH_ECONFIG) {
        fprintf(stderr, "%s:%d: expected PGH_ECONFIG from pgh_config_check_destination\n",
                __FILE__, line);
        failures++;
    } else {
        check_str(__FILE__, line, err.message, want);
    }
    pgh_config_free(cfg);
}

static void missing_required_key(void)
{
    PARSE_FAILS("source_connection: a\ndestination_connection: b\nsource_table_name: t\n",
                "config.yaml: missing required key \"publication_name\"");
    PARSE_FAILS("destination_connection: b\npublication_name: p\nsource_table_name: t\n",
                "config.yaml: missing required key \"source_connection\"");
    /* what the destination needs is checked once it is chosen: --to may choose another */
    DESTINATION_FAILS("source_connection: a\npublication_name: p\nsource_table_name: t\n",
                      "destination: postgres (the default) needs destination_connection, the "
                      "server to write to: add it, or choose stdout, file, duckdb or webhook "
                      "(destination:, or --to)");
    DESTINATION_FAILS("source_connection: a\npublication_name: p\nsource_table_name: t\n"
                      "destination: duckdb\n",
                      "destination: duckdb needs duckdb_path, the DuckDB file to write: add it");
    pgh_config *cfg = PARSE_OK("source_connection: a\npublication_name: p\n"
                               "source_table_name: t\ndestination: stdout\n");
    pgh_error err = {0};
    CHECK(pgh_config_check_destination(cfg, &err) == 0);
    cfg->destination = PGH_DESTINATION_POSTGRES; /* as --to postgres does */
    CHECK(pgh_config_check_destination(cfg, &err) == PGH_ECONFIG);
    pgh_config_free(cfg);
}

static void apply_grouping(void)
{
    pgh_config *cfg = PARSE_OK(BASE_T);
    CHECK(cfg->apply_group_max_changes == 10000 && cfg->apply_group_max_delay_ms == 100);
    CHECK(strcmp(cfg->state_schema, "pghost") == 0);
    pgh_config_free(cfg);
    cfg = PARSE_OK(BASE_T "apply_group_max_changes: 1\napply_group_max_delay_ms: 0\n"
                          "state_schema: ops\n");
    CHECK(cfg->apply_group_max_changes == 1 && cfg->apply_group_max_delay_ms == 0);
    CHECK(strcmp(cfg->state_schema, "ops") == 0);
    pgh_config_free(cfg);
    PARSE_FAILS(BASE_T "apply_group_max_changes: 0\n",
                "config.yaml:5: apply_group_max_changes: expected an integer from 1 to 1000000, "
                "got \"0\"");
}

/* batch_size / batch_timeout_ms are the documented names of the grouping keys. */
static void writer_batch_names(void)
{
    pgh_config *cfg = PARSE_OK(BASE_T "batch_size: 250\nbatch_timeout_ms: 7\n");
    CHECK(cfg->apply_group_max_changes == 250 && cfg->apply_group_max_delay_ms == 7);
    pgh_config_free(cfg);
    cfg = PARSE_OK(BASE_T "apply_group_max_changes: 3\nbatch_timeout_ms: 9\n");
    CHECK(cfg->apply_group_max_changes == 3 && cfg->apply_group_max_delay_ms == 9);
    pgh_config_free(cfg);
    PARSE_FAILS(BASE_T "batch_size: 5\napply_group_max_changes: 5\n",
                "config.yaml:6: batch_size and apply_group_max_changes are two names of one "
                "setting: keep batch_size only");
    PARSE_FAILS(BASE_T "apply_group_max_delay_ms: 5\nbatch_timeout_ms: 5\n",
                "config.yaml:6: batch_timeout_ms and apply_group_max_delay_ms are two names of "
                "one setting: keep batch_timeout_ms only");
    PARSE_FAILS(BASE_T "batch_size: 0\n",
                "config.yaml:5: batch_size: expected an integer from 1 to 1000000, got \"0\"");
}

static void writer_options(void)
{
    pgh_config *cfg = PARSE_OK(BASE_T);
    CHECK(cfg->copy_method == PGH_COPY_METHOD_PARALLEL);
    CHECK(cfg->on_conflict_action == PGH_ON_CONFLICT_ERROR);
    CHECK(cfg->disable_triggers);
    pgh_config_free(cfg);
    cfg = PARSE_OK(BASE_T "copy_method: Watermarks\non_conflict_action: update\n"
                          "disable_triggers: false\n");
    CHECK(cfg->copy_method == PGH_COPY_METHOD_WATERMARKS);
    CHECK(cfg->on_conflict_action == PGH_ON_CONFLICT_UPDATE);
    CHECK(!cfg->disable_triggers);
    pgh_config_free(cfg);
    cfg = PARSE_OK(BASE_T "on_conflict_action: nothing\n");
    CHECK(cfg->on_conflict_action == PGH_ON_CONFLICT_NOTHING);
    pgh_config_free(cfg);
    PARSE_FAILS(BASE_T "copy_method: dblog\n",
                "config.yaml:5: copy_method: expected parallel or watermarks, got \"dblog\"");
    PARSE_FAILS(BASE_T "on_conflict_action: replace\n",
                "config.yaml:5: on_conflict_action: expected error, update or nothing, got "
                "\"replace\"");
    PARSE_FAILS(BASE_T "disable_triggers: sometimes\n",
                "config.yaml:5: disable_triggers: expected true or false, got \"sometimes\"");
}

static void destination_stdout(void)
{
    pgh_config *cfg = PARSE_OK("source_connection: a\npublication_name: p\n"
                               "source_table_name: t\ndestination: stdout\n");
    CHECK(cfg->destination == PGH_DESTINATION_STDOUT);
    CHECK(cfg->destination_connection == NULL);
    pgh_config_free(cfg);
    cfg = PARSE_OK(BASE_T "destination: Postgres\n");
    CHECK(cfg->destination == PGH_DESTINATION_POSTGRES);
    pgh_config_free(cfg);
    PARSE_FAILS(BASE_T "destination: kafka\n",
                "config.yaml:5: destination: expected postgres, stdout, file, duckdb, webhook or "
                "nats, got \"kafka\"");
}

static void destination_duckdb(void)
{
    pgh_config *cfg = PARSE_OK("source_connection: a\npublication_name: p\n"
                               "source_table_name: t\ndestination: duckdb\n"
                               "duckdb_path: /data/out.duckdb\nduckdb_library: /opt/libduckdb.so\n");
    CHECK(cfg->destination == PGH_DESTINATION_DUCKDB);
    CHECK(strcmp(cfg->duckdb_path, "/data/out.duckdb") == 0);
    CHECK(strcmp(cfg->duckdb_library, "/opt/libduckdb.so") == 0);
    pgh_config *dup = NULL;
    pgh_error err;
    CHECK(pgh_config_dup(&dup, cfg, &err) == 0 && strcmp(dup->duckdb_path, cfg->duckdb_path) == 0);
    pgh_config_free(dup);
    pgh_config_free(cfg);
    cfg = PARSE_OK(BASE_T);
    CHECK(cfg->duckdb_path == NULL && cfg->duckdb_library == NULL);
    pgh_config_free(cfg);
}

static void destination_file(void)
{
    pgh_config *cfg = PARSE_OK("source_connection: a\npublication_name: p\n"
                               "source_table_name: t\ndestination: file\nfile_directory: /x\n");
    CHECK(cfg->destination == PGH_DESTINATION_FILE);
    CHECK(strcmp(cfg->file_directory, "/x") == 0);
    CHECK(cfg->file_rotate_bytes == 64 * 1024 * 1024 && cfg->file_rotate_seconds == 3600);
    CHECK(cfg->file_layout == PGH_FILE_LAYOUT_PER_TABLE);
    pgh_config_free(cfg);
    cfg = PARSE_OK(BASE_T "destination: file\nfile_directory: out\nfile_rotate_bytes: 4096\n"
                          "file_rotate_seconds: 0\nfile_layout: single\n");
    CHECK(cfg->file_rotate_bytes == 4096 && cfg->file_rotate_seconds == 0);
    CHECK(cfg->file_layout == PGH_FILE_LAYOUT_SINGLE);
    pgh_config_free(cfg);
    DESTINATION_FAILS("source_connection: a\npublication_name: p\nsource_table_name: t\n"
                      "destination: file\n",
                      "destination: file needs file_directory: set it to the directory the "
                      "files go to");
    PARSE_FAILS(BASE_T "file_rotate_bytes: 100\n",
                "config.yaml:5: file_rotate_bytes: expected an integer from 4096 to 68719476736, "
                "got \"100\"");
    PARSE_FAILS(BASE_T "file_rotate_seconds: -1\n",
                "config.yaml:5: file_rotate_seconds: expected an integer from 0 to 31536000, "
                "got \"-1\"");
    PARSE_FAILS(BASE_T "file_layout: per_schema\n",
                "config.yaml:5: file_layout: expected per_table or single, got \"per_schema\"");
}

static void rules_file(void)
{
    pgh_config *cfg = PARSE_OK(BASE_T "destination: stdout\nrules_file: rules.yml\n");
    CHECK(cfg->rules_file && strcmp(cfg->rules_file, "rules.yml") == 0);
    pgh_config_free(cfg);
    cfg = PARSE_OK(BASE_T);
    CHECK(cfg->rules_file == NULL);
    pgh_config_free(cfg);
    PARSE_FAILS(BASE_T "rules_file: [a]\n", "config.yaml:5: rules_file: expected a string, got a list");
    PARSE_FAILS(BASE_T "rule_file: r.yml\n",
                "config.yaml:5: unknown key \"rule_file\"; did you mean \"rules_file\"?");
}

#define BASE_W "source_connection: a\npublication_name: p\nsource_table_name: t\n"

static void destination_webhook(void)
{
    pgh_config *cfg = PARSE_OK(BASE_W "destination: webhook\nwebhook_url: https://h/x\n");
    CHECK(cfg->destination == PGH_DESTINATION_WEBHOOK &&
          pgh_config_uses_state_file(cfg->destination));
    CHECK_STR(cfg->webhook_url, "https://h/x");
    CHECK(cfg->webhook_secret == NULL && cfg->webhook_secret_file == NULL &&
          cfg->webhook_ca_file == NULL);
    CHECK(cfg->webhook_timeout_ms == 10000 && cfg->webhook_max_retries == 10 &&
          cfg->webhook_retry_base_ms == 500 && cfg->webhook_retry_max_ms == 30000);
    CHECK(pgh_config_check_webhook(cfg, &(pgh_error){0}) == 0);
    pgh_config_free(cfg);
    cfg = PARSE_OK(BASE_W "destination: WEBHOOK\nwebhook_url: http://h:8080/x\n"
                          "webhook_secret: ${PGHOST_DESTINATION_PASSWORD}\n"
                          "webhook_ca_file: /etc/ca.pem\nwebhook_timeout_ms: 1\n"
                          "webhook_max_retries: 0\nwebhook_retry_base_ms: 0\n"
                          "webhook_retry_max_ms: 600000\n");
    CHECK_STR(cfg->webhook_secret, "hunter2");
    CHECK_STR(cfg->webhook_ca_file, "/etc/ca.pem");
    CHECK(cfg->webhook_timeout_ms == 1 && cfg->webhook_max_retries == 0 &&
          cfg->webhook_retry_base_ms == 0 && cfg->webhook_retry_max_ms == 600000);
    pgh_config_free(cfg);
    cfg = PARSE_OK(BASE_W "destination: stdout\nwebhook_retry_base_ms: 900\n"
                          "webhook_retry_max_ms: 800\n");
    pgh_error err = {0};
    CHECK(pgh_config_check_webhook(cfg, &err) == PGH_ECONFIG);
    CHECK_STR(err.message,
              "webhook_retry_max_ms (800) is below webhook_retry_base_ms (900): raise it");
    cfg->destination = PGH_DESTINATION_WEBHOOK; /* as --to webhook does */
    free(cfg->webhook_url);
    cfg->webhook_url = NULL;
    cfg->webhook_retry_max_ms = 900;
    err = (pgh_error){0};
    CHECK(pgh_config_check_webhook(cfg, &err) == PGH_ECONFIG);
    CHECK_STR(err.message, "destination: webhook needs webhook_url (the http:// or https:// "
                           "endpoint batches are POSTed to)");
    cfg->webhook_url = strdup("ftp://u:p@h/x");
    err = (pgh_error){0};
    CHECK(pgh_config_check_webhook(cfg, &err) == PGH_ECONFIG);
    CHECK_STR(err.message, "webhook_url must be an http:// or https:// URL (the endpoint batches "
                           "are POSTed to)");
    pgh_config_free(cfg);
    DESTINATION_FAILS(BASE_W "destination: webhook\n",
                      "destination: webhook needs webhook_url (the http:// or https:// endpoint "
                      "batches are POSTed to)");
    PARSE_FAILS(BASE_W "destination: webhook\nwebhook_url: http://h\nwebhook_secret: a\n"
                       "webhook_secret_file: /k\n",
                "config.yaml:7: webhook_secret and webhook_secret_file are both set: keep one");
    PARSE_FAILS(
        BASE_W "webhook_timeout_ms: 0\n",
        "config.yaml:4: webhook_timeout_ms: expected an integer from 1 to 600000, got \"0\"");
    PARSE_FAILS(BASE_W "webhook_secrets: x\n",
                "config.yaml:4: unknown key \"webhook_secrets\"; did you mean \"webhook_secret\"?");
}

/* The distributed mode's keys (docs/nats.md): an applier's file needs no source_connection. */
static void nats_keys(void)
{
    pgh_config *cfg = PARSE_OK("source: nats\npublication_name: p\nsource_table_name: t\n"
                               "destination: stdout\nnats_url: nats://a:1,nats://b:2\n"
                               "nats_stream: S1\nnats_subject_prefix: pg.one\n"
                               "nats_subjects: pg.one.public.*\nnats_consumer: c1\n"
                               "nats_replicas: 3\nnats_max_age_s: 60\nnats_max_bytes: 1000\n"
                               "nats_duplicate_window_s: 30\nnats_max_in_flight: 10\n"
                               "nats_credentials_file: /c\nnats_token_file: /t\n"
                               "nats_ca_file: /ca\nnats_nkey_file: /nk\n");
    CHECK(cfg->source == PGH_SOURCE_NATS && cfg->source_connection == NULL);
    CHECK(strcmp(cfg->nats.url, "nats://a:1,nats://b:2") == 0);
    CHECK(strcmp(cfg->nats.stream, "S1") == 0 && strcmp(cfg->nats.subject_prefix, "pg.one") == 0);
    CHECK(strcmp(cfg->nats.subjects, "pg.one.public.*") == 0);
    CHECK(strcmp(cfg->nats.consumer, "c1") == 0 && cfg->nats.replicas == 3);
    CHECK(cfg->nats.max_age_s == 60 && cfg->nats.max_bytes == 1000);
    CHECK(cfg->nats.duplicate_window_s == 30 && cfg->nats.max_in_flight == 10);
    CHECK(strcmp(cfg->nats.credentials_file, "/c") == 0 && strcmp(cfg->nats.token_file, "/t") == 0);
    CHECK(strcmp(cfg->nats.ca_file, "/ca") == 0 && strcmp(cfg->nats.nkey_file, "/nk") == 0);
    pgh_config *copy = NULL;
    pgh_error err;
    CHECK(pgh_config_dup(&copy, cfg, &err) == 0);
    CHECK(copy->nats.url != cfg->nats.url && strcmp(copy->nats.url, cfg->nats.url) == 0);
    CHECK(copy->nats.nkey_file != cfg->nats.nkey_file &&
          strcmp(copy->nats.nkey_file, "/nk") == 0);
    pgh_config_free(copy);
    pgh_config_free(cfg);
    cfg = PARSE_OK(BASE_T "destination: nats\n");
    CHECK(cfg->destination == PGH_DESTINATION_NATS && cfg->nats.replicas == 1);
    CHECK(cfg->nats.max_bytes == 0 && cfg->nats.duplicate_window_s == 120);
    pgh_config_free(cfg);
    PARSE_FAILS(BASE_T "nats_subject_prefix: a.*\n",
                "config.yaml:5: nats_subject_prefix: not a NATS subject prefix without wildcards "
                "(dot-separated tokens, no spaces)");
    PARSE_FAILS(BASE_T "nats_stream: a.b\n",
                "config.yaml:5: nats_stream: a JetStream name holds no '.', '*', '>', '/', '\\' "
                "or spaces");
    PARSE_FAILS(BASE_T "source: kafka\n",
                "config.yaml:5: source: expected postgres or nats, got \"kafka\"");
    PARSE_FAILS(BASE_T "nats_replicas: 6\n",
                "config.yaml:5: nats_replicas: expected an integer from 1 to 5, got \"6\"");
}

static void no_table(void)
{
    PARSE_FAILS(BASE, "config.yaml: no table to copy: set source_table_name or a tables: list");
    PARSE_FAILS(BASE "tables: []\n",
                "config.yaml: no table to copy: set source_table_name or a tables: list");
}

static void table_missing_source(void)
{
    PARSE_FAILS(BASE "tables:\n"
                     "  - source_table_name: a\n"
                     "  - destination_table_name: b\n",
                "config.yaml:6: tables[1]: missing required key \"source_table_name\"");
}

static void table_key_without_source(void)
{
    PARSE_FAILS(BASE "tables: [{source_table_name: a}]\ndestination_table_name: b\n",
                "config.yaml:5: destination_table_name is set but source_table_name is missing");
}

static void tables_not_a_list(void)
{
    PARSE_FAILS(BASE "tables:\n  source_table_name: a\n",
                "config.yaml:5: tables: expected a list of tables, got a mapping");
    PARSE_FAILS(BASE "tables:\n", "config.yaml:4: tables: expected a list of tables, got an "
                                  "empty value");
}

/* The value of keyword in conninfo as libpq parses it (malloc'd), or NULL when it has none. */
static char *conninfo_value(const char *conninfo, const char *keyword)
{
    char *errmsg = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &errmsg);
    PQfreemem(errmsg);
    char *v = NULL;
    for (PQconninfoOption *o = opts; o && o->keyword; o++)
        if (strcmp(o->keyword, keyword) == 0 && o->val != NULL)
            v = strdup(o->val);
    PQconninfoFree(opts);
    return v;
}

/* The keywords conninfo sets, space-separated in libpq's order. */
static void conninfo_keys(char *out, size_t size, const char *conninfo)
{
    char *errmsg = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &errmsg);
    PQfreemem(errmsg);
    out[0] = '\0';
    for (PQconninfoOption *o = opts; o && o->keyword; o++)
        if (o->val != NULL)
            snprintf(out + strlen(out), size - strlen(out), "%s%s", out[0] ? " " : "", o->keyword);
    PQconninfoFree(opts);
}

#define CHECK_PARAM(conninfo, keyword, want)                                                       \
    do {                                                                                           \
        char *got_ = conninfo_value((conninfo), (keyword));                                        \
        CHECK_STR(got_, (want));                                                                   \
        free(got_);                                                                                \
    } while (0)

static void env_expansion(void)
{
    pgh_config *cfg = PARSE_OK("source_connection: host=${DBHOST} dbname=src\n"
                               "destination_connection: \"password=${PGPASS} options=$$ user=$5 "
                               "sslmode=$ application_name=${EMPTY}\"\n"
                               "publication_name: pub\n"
                               "source_table_name: ${TABLE}\n");
    CHECK_PARAM(cfg->source_connection, "host", "db.example.com");
    CHECK_PARAM(cfg->source_connection, "dbname", "src");
    CHECK_PARAM(cfg->destination_connection, "password", "s3cret!");
    CHECK_PARAM(cfg->destination_connection, "options", "$");
    CHECK_PARAM(cfg->destination_connection, "user", "$5");
    CHECK_PARAM(cfg->destination_connection, "sslmode", "$");
    CHECK_PARAM(cfg->destination_connection, "application_name", "");
    CHECK_STR(cfg->tables[0].source_table, "from_env");
    pgh_config_free(cfg);
    /* A substituted value is not expanded again; a string without $ is kept as written. */
    cfg = PARSE_OK(BASE_T "source_connection_for_replication: password=a$${PGPASS}\n");
    CHECK_PARAM(cfg->source_replication_connection, "password", "a${PGPASS}");
    CHECK_STR(cfg->source_connection, "dbname=src");
    pgh_config_free(cfg);
}

/* A password holding a space, quotes, backslashes, '=' and text that looks like another
 * parameter reaches libpq exactly, and adds no parameter. */
static void conninfo_secret_roundtrip(void)
{
    pgh_config *cfg = PARSE_OK("source_connection: host=${DBHOST} password=${HARD_PW} "
                               "dbname=src port=5433\n"
                               "destination_connection: \"user=u password='${HARD_PW}'\"\n"
                               "publication_name: pub\nsource_table_name: t\n");
    char keys[256];
    conninfo_keys(keys, sizeof(keys), cfg->source_connection);
    CHECK_STR(keys, "password dbname host port");
    CHECK_PARAM(cfg->source_connection, "password", "a b'c\\d=e host=evil \\'@x/y:z?");
    CHECK_PARAM(cfg->source_connection, "host", "db.example.com");
    CHECK_PARAM(cfg->source_connection, "port", "5433");
    conninfo_keys(keys, sizeof(keys), cfg->destination_connection);
    CHECK_STR(keys, "user password");
    CHECK_PARAM(cfg->destination_connection, "password", "a b'c\\d=e host=evil \\'@x/y:z?");
    pgh_config_free(cfg);
}

/* A URI is parsed as libpq parses it, then rebuilt as key=value pairs. */
static void conninfo_uri(void)
{
    pgh_config *cfg = PARSE_OK("source_connection: postgresql://app:${HARD_PW}@${DBHOST}:5433/"
                               "src?sslmode=disable\n"
                               "destination_connection: postgres://h/d\n"
                               "publication_name: pub\nsource_table_name: t\n");
    char keys[256];
    conninfo_keys(keys, sizeof(keys), cfg->source_connection);
    CHECK_STR(keys, "user password dbname host port sslmode");
    CHECK_PARAM(cfg->source_connection, "password", "a b'c\\d=e host=evil \\'@x/y:z?");
    CHECK_PARAM(cfg->source_connection, "user", "app");
    CHECK_PARAM(cfg->source_connection, "host", "db.example.com");
    CHECK_STR(cfg->destination_connection, "postgres://h/d");
    pgh_config_free(cfg);
}

/* One ${VAR} alone is the whole connection string. */
static void conninfo_whole_string(void)
{
    pgh_config *cfg = PARSE_OK("source_connection: ${WHOLE}\ndestination_connection: d\n"
                               "publication_name: pub\nsource_table_name: t\n");
    CHECK_STR(cfg->source_connection, "host=h1 dbname='x y'");
    pgh_config_free(cfg);
}

/* A string libpq cannot parse is refused without quoting it (nor libpq's message, which would),
 * and a variable missing in one parameter is named with the parameter. */
static void conninfo_not_parseable(void)
{
    PARSE_FAILS("source_connection: host=h password = hunter 2 ${PGPASS}\n",
                "config.yaml:1: source_connection: not a valid connection string (key=value "
                "pairs or a postgresql:// URI, with ${VAR} where a value goes): put values "
                "holding spaces or quotes in single quotes");
    PARSE_FAILS("source_connection: host=h password=${NOPE}\n",
                "config.yaml:1: source_connection (password): environment variable \"NOPE\" is "
                "not set");
}

static void env_unset(void)
{
    PARSE_FAILS("source_connection: dbname=src\n"
                "destination_connection: password=${NOPE} host=${DBHOST}\n"
                "publication_name: pub\n",
                "config.yaml:2: destination_connection (password): environment variable \"NOPE\" "
                "is not set");
    PARSE_FAILS(BASE "tables:\n  - source_table_name: ${MISSING_TABLE}\n",
                "config.yaml:5: tables[0].source_table_name: environment variable "
                "\"MISSING_TABLE\" is not set");
}

static void env_without_lookup(void)
{
    const char *yaml = BASE_T "slot_name: ${DBHOST}\n";
    pgh_config *cfg = NULL;
    pgh_error err = {0};
    int rc = pgh_config_parse(&cfg, yaml, strlen(yaml), "config.yaml", NULL, NULL, &err);
    CHECK(rc == PGH_ECONFIG && cfg == NULL);
    CHECK_STR(err.message, "config.yaml:5: slot_name: environment variable \"DBHOST\" is not set");
}

static void env_syntax(void)
{
    PARSE_FAILS(BASE_T "slot_name: a${PGPASS\n",
                "config.yaml:5: slot_name: \"${\" without a closing \"}\"; write $$ for a "
                "literal \"$\"");
    PARSE_FAILS(BASE_T "slot_name: a${1X}\n",
                "config.yaml:5: slot_name: invalid variable name in \"${...}\": use letters, "
                "digits and _, not starting with a digit; write $$ for a literal \"$\"");
    PARSE_FAILS(BASE_T "slot_name: a${}\n",
                "config.yaml:5: slot_name: invalid variable name in \"${...}\": use letters, "
                "digits and _, not starting with a digit; write $$ for a literal \"$\"");
    PARSE_FAILS(BASE_T "slot_name: $PGPASS\n",
                "config.yaml:5: slot_name: \"$\" followed by a name: write ${NAME} to use an "
                "environment variable, or $$ for a literal \"$\"");
}

static void env_value_never_printed(void)
{
    PARSE_FAILS(BASE_T "slot_name: ${BAD_SLOT}\n",
                "config.yaml:5: slot_name: must match ^[a-z0-9_]{1,63}$ (PostgreSQL's rule for "
                "replication slot names), got \"${BAD_SLOT}\" after expansion");
    PARSE_FAILS(BASE_T "copy_format: ${PGPASS}\n",
                "config.yaml:5: copy_format: expected auto, binary or text, got \"${PGPASS}\" "
                "after expansion");
    PARSE_FAILS(BASE "source_table_name: ${TABLE}\n"
                     "tables: [{source_table_name: from_env}]\n",
                "config.yaml:5: duplicate destination table (also the destination of the table "
                "on line 4)");
}

static void duplicate_key(void)
{
    PARSE_FAILS(BASE_T "publication_name: other\n",
                "config.yaml:5: duplicate key \"publication_name\" (first set on line 3)");
    PARSE_FAILS(BASE "tables: [{source_table_name: a}]\ntables: [{source_table_name: b}]\n",
                "config.yaml:5: duplicate key \"tables\" (first set on line 4)");
}

static void duplicate_key_in_table(void)
{
    PARSE_FAILS(BASE "tables:\n"
                     "  - source_table_name: a\n"
                     "    source_table_name: b\n",
                "config.yaml:6: duplicate key \"tables[0].source_table_name\" (first set on "
                "line 5)");
}

static void duplicate_destination(void)
{
    PARSE_FAILS(BASE "source_table_name: t\n"
                     "tables:\n"
                     "  - source_table_name: other\n"
                     "  - source_table_name: t\n"
                     "    source_schema_name: elsewhere\n"
                     "    destination_schema_name: public\n",
                "config.yaml:7: duplicate destination table \"public.t\" (also the destination of "
                "the table on line 4)");
    PARSE_FAILS(BASE "tables:\n"
                     "  - source_table_name: a\n"
                     "  - source_table_name: b\n"
                     "  - source_table_name: b\n"
                     "  - source_table_name: a\n",
                "config.yaml:7: duplicate destination table \"public.b\" (also the destination of "
                "the table on line 6)");
    /* Same name in another schema, or another name in the same schema, is fine. */
    pgh_config *cfg = PARSE_OK(BASE "tables:\n"
                                    "  - {source_table_name: a}\n"
                                    "  - {source_table_name: a, destination_schema_name: b}\n"
                                    "  - {source_table_name: A}\n");
    CHECK(cfg->ntables == 3);
    pgh_config_free(cfg);
}

static void bad_slot_name(void)
{
    static const char *const bad[] = {
        "My_Slot", "my-slot", "\"\"",
        "a234567890123456789012345678901234567890123456789012345678901234"};
    static const char *const shown[] = {
        "\"My_Slot\"", "\"my-slot\"", "\"\"",
        "\"a23456789012345678901234567890123456789012345678901234567890...\""};
    char yaml[256], want[256];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(yaml, sizeof(yaml), BASE_T "slot_name: %s\n", bad[i]);
        snprintf(want, sizeof(want),
                 "config.yaml:5: slot_name: must match ^[a-z0-9_]{1,63}$ (PostgreSQL's rule for "
                 "replication slot names), got %s",
                 shown[i]);
        PARSE_FAILS(yaml, want);
    }
    pgh_config *cfg = PARSE_OK(BASE_T "slot_name: my_slot_2\n");
    CHECK_STR(cfg->slot_name, "my_slot_2");
    pgh_config_free(cfg);
}

static void default_slot_name(void)
{
    pgh_config *cfg = PARSE_OK("source_connection: a\ndestination_connection: b\n"
                               "publication_name: \"Pub-On.Fancy Table\"\nsource_table_name: t\n");
    CHECK_STR(cfg->slot_name, "pghost_pub_on_fancy_table");
    pgh_config_free(cfg);
    /* 63-byte publication: the slot name is cut to 63 bytes. */
    cfg = PARSE_OK("source_connection: a\ndestination_connection: b\n"
                   "publication_name: "
                   "p23456789012345678901234567890123456789012345678901234567890123\n"
                   "source_table_name: t\n");
    CHECK_STR(cfg->slot_name, "pghost_p2345678901234567890123456789012345678901234567890123456");
    CHECK(strlen(cfg->slot_name) == 63);
    pgh_config_free(cfg);
}

static void empty_value(void)
{
    PARSE_FAILS(BASE_T "slot_name:\n",
                "config.yaml:5: slot_name: expected a string, got an empty value");
    PARSE_FAILS("source_connection: ~\n",
                "config.yaml:1: source_connection: expected a string, got an empty value");
    PARSE_FAILS(BASE_T "copy_batch_size: null\n",
                "config.yaml:5: copy_batch_size: expected an integer from 1 to 1000000000, got an "
                "empty value");
    /* A quoted empty connection string is allowed: libpq then uses its defaults. */
    pgh_config *cfg = PARSE_OK("source_connection: \"\"\ndestination_connection: ''\n"
                               "publication_name: p\nsource_table_name: t\n");
    CHECK_STR(cfg->source_connection, "");
    CHECK_STR(cfg->destination_connection, "");
    pgh_config_free(cfg);
}

static void name_rules(void)
{
    PARSE_FAILS(BASE "source_table_name: \"\"\n",
                "config.yaml:4: source_table_name: expected a name, got \"\"");
    PARSE_FAILS(BASE "source_table_name: "
                     "t234567890123456789012345678901234567890123456789012345678901234\n",
                "config.yaml:4: source_table_name: longer than 63 bytes, PostgreSQL's limit for "
                "names");
    static const char nul[] = BASE "source_table_name: \"a\\0b\"\n";
    parse_fails_at(__FILE__, __LINE__, nul, sizeof(nul) - 1,
                   "config.yaml:4: source_table_name: contains a NUL character");
    /* Names are kept exactly, case and all. */
    pgh_config *cfg = PARSE_OK(BASE "source_table_name: \"Mixed Case\"\n");
    CHECK_STR(cfg->tables[0].source_table, "Mixed Case");
    pgh_config_free(cfg);
}

static void empty_document(void)
{
    static const char *const empty[] = {"", "# just a comment\n", "---\n", "~\n", "\n\n"};
    for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++)
        PARSE_FAILS(empty[i], "config.yaml: the configuration is empty; expected keys such as "
                              "source_connection (see examples/config.yaml)");
}

static void not_a_mapping(void)
{
    PARSE_FAILS("- a\n- b\n", "config.yaml:1: expected a mapping of keys (key: value lines) at "
                              "the top level, got a list");
    PARSE_FAILS("hello\n", "config.yaml:1: expected a mapping of keys (key: value lines) at the "
                           "top level, got \"hello\"");
}

static void yaml_syntax_error(void)
{
    PARSE_FAILS(BASE "a: b: c\n", "config.yaml:4:5: YAML syntax error: mapping values are not "
                                  "allowed in this context");
    PARSE_FAILS(BASE "tables:\n\t- source_table_name: t\n",
                "config.yaml:5:1: YAML syntax error: found character that cannot start any token "
                "(while scanning for the next token at line 5, column 1); indent with spaces, "
                "YAML does not allow tabs");
    PARSE_FAILS("source_connection: \"abc\n",
                "config.yaml:2:1: YAML syntax error: found unexpected end of stream (while "
                "scanning a quoted scalar at line 1, column 20)");
    static const char bad_utf8[] = "source_connection: \xff\n";
    parse_fails_at(__FILE__, __LINE__, bad_utf8, sizeof(bad_utf8) - 1,
                   "config.yaml:1: YAML syntax error: invalid leading UTF-8 octet");
}

static void two_documents(void)
{
    PARSE_FAILS(BASE_T "---\n" BASE_T, "config.yaml:5: a second YAML document starts here; put "
                                       "the whole configuration in one document");
}

static void deep_nesting(void)
{
    char yaml[512], nest[160];
    /* 64 levels pass the guard (and are then a type error); 65 are refused before libyaml. */
    memset(nest, '[', 64);
    memset(nest + 64, ']', 64);
    nest[128] = '\0';
    snprintf(yaml, sizeof(yaml),
             BASE_T "# [[[ in a comment\ndestination_table_name: \"[[[[\"\n"
                    "copy_format: %s\n",
             nest);
    PARSE_FAILS(yaml, "config.yaml:7: copy_format: expected a string, got a list");
    nest[64] = '[';
    snprintf(yaml, sizeof(yaml), BASE_T "copy_format: %s\n", nest);
    PARSE_FAILS(yaml, "config.yaml:5: YAML nested more than 64 levels deep; a configuration "
                      "needs two (tables: [{...}])");
}

static void anchors_and_aliases(void)
{
    pgh_config *cfg = PARSE_OK("source_connection: &conn host=db dbname=app\n"
                               "source_connection_for_replication: *conn\n"
                               "destination_connection: *conn\n"
                               "publication_name: pub\n"
                               "tables: &list [{source_table_name: a}]\n");
    CHECK_STR(cfg->destination_connection, "host=db dbname=app");
    CHECK_STR(cfg->source_replication_connection, "host=db dbname=app");
    pgh_config_free(cfg);
    PARSE_FAILS(BASE "tables: &l [*l]\n",
                "config.yaml:4: tables[0]: expected a mapping with source_table_name or a "
                "\"schema.table\" name, got a list");
}

static void load_missing_file(void)
{
    pgh_config *cfg = NULL;
    pgh_error err = {0};
    int rc = pgh_config_load(&cfg, "/nonexistent/pghost.yaml", NULL, NULL, &err);
    CHECK(rc == PGH_ECONFIG && cfg == NULL);
    CHECK_STR(err.message, "/nonexistent/pghost.yaml: cannot open the configuration file: No "
                           "such file or directory");
    pgh_config_free(NULL);
}

static const struct {
    const char *name;
    void (*fn)(void);
} cases[] = {
#define X(name) {#name, name},
    CASES(X)
#undef X
};

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s <case>\n", argv[0]);
        return 2;
    }
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (strcmp(cases[i].name, argv[1]) == 0) {
            cases[i].fn();
            return failures == 0 ? 0 : 1;
        }
    }
    fprintf(stderr, "unknown case %s\n", argv[1]);
    return 2;
}
