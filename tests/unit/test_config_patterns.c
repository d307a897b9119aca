/*
 * tests/unit/test_config_patterns.c - table selection in the configuration: wildcards, the
 * "schema.table" short form, exclude_tables, and the exact messages for their mistakes.
 * Expansion against a real source is tested in tests/integration/it_select.c.
 *
 * One case per run: `test_config_patterns <case>`; config_patterns.cmake registers each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pghost/config.h"

#define CASES(X)                                                                                   \
    X(match_rules)                                                                                 \
    X(is_pattern)                                                                                  \
    X(short_form)                                                                                  \
    X(pattern_entries)                                                                             \
    X(excludes)                                                                                    \
    X(pattern_with_destination_table)                                                              \
    X(pattern_destination_schema)                                                                  \
    X(explicit_table_excluded)                                                                     \
    X(short_form_mistakes)                                                                         \
    X(excludes_not_a_list)

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

static pgh_config *parse_ok_at(const char *file, int line, const char *yaml)
{
    pgh_config *cfg = NULL;
    pgh_error err = {0};
    int rc = pgh_config_parse(&cfg, yaml, strlen(yaml), "config.yaml", NULL, NULL, &err);
    if (rc != 0 || cfg == NULL) {
        fprintf(stderr, "%s:%d: parse failed (%d): %s\n", file, line, rc, err.message);
        exit(1);
    }
    return cfg;
}

static void parse_fails_at(const char *file, int line, const char *yaml, const char *want)
{
    pgh_config *cfg = NULL;
    pgh_error err = {0};
    int rc = pgh_config_parse(&cfg, yaml, strlen(yaml), "config.yaml", NULL, NULL, &err);
    if (rc != PGH_ECONFIG || cfg != NULL) {
        fprintf(stderr, "%s:%d: expected PGH_ECONFIG, got %d\n", file, line, rc);
        failures++;
        pgh_config_free(cfg);
        return;
    }
    check_str(file, line, err.message, want);
}

#define PARSE_OK(yaml) parse_ok_at(__FILE__, __LINE__, (yaml))
#define PARSE_FAILS(yaml, want) parse_fails_at(__FILE__, __LINE__, (yaml), (want))

/* Required keys on lines 1-3; a case's own lines start at line 4. */
#define BASE                                                                                       \
    "source_connection: dbname=src\n"                                                              \
    "destination_connection: dbname=dst\n"                                                         \
    "publication_name: pub\n"

static void check_table(const pgh_table_map *t, const char *ss, const char *st, const char *ds,
                        const char *dt)
{
    CHECK_STR(t->source_schema, ss);
    CHECK_STR(t->source_table, st);
    CHECK_STR(t->dest_schema, ds);
    CHECK_STR(t->dest_table, dt);
}

static void match_rules(void)
{
    static const struct {
        const char *pattern, *name;
        int want;
    } cases[] = {
        {"*", "", 1},
        {"*", "orders", 1},
        {"order_*", "order_2024", 1},
        {"order_*", "order_", 1},
        {"order_*", "orders", 0},
        {"*_log", "audit_log", 1},
        {"*_log", "audit_logs", 0},
        {"a*b*c", "abc", 1},
        {"a*b*c", "aXbYbZc", 1},
        {"a*b*c", "aXbYbZ", 0},
        {"?", "a", 1},
        {"?", "", 0},
        {"?", "ab", 0},
        {"t?", "t1", 1},
        {"orders", "orders", 1},
        {"orders", "Orders", 0},
        {"**", "x", 1},
        {"*?*", "", 0},
        {"*?*", "x", 1},
        {"a*", "b", 0},
        {"", "", 1},
        {"", "a", 0},
        {"*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bool got = pgh_config_pattern_match(cases[i].pattern, cases[i].name);
        if (got != (cases[i].want != 0)) {
            fprintf(stderr, "match(\"%s\", \"%s\") = %d, want %d\n", cases[i].pattern,
                    cases[i].name, got, cases[i].want);
            failures++;
        }
    }
}

static void is_pattern(void)
{
    CHECK(pgh_config_is_pattern("order_*"));
    CHECK(pgh_config_is_pattern("t?"));
    CHECK(!pgh_config_is_pattern("orders"));
    CHECK(!pgh_config_is_pattern(NULL));
}

static void short_form(void)
{
    pgh_config *cfg = PARSE_OK(BASE "tables:\n"
                                    "  - sales.orders\n"
                                    "  - items\n"
                                    "  - source_table_name: x\n"
                                    "    destination_table_name: y\n");
    CHECK(cfg->ntables == 3);
    if (cfg->ntables == 3) {
        check_table(&cfg->tables[0], "sales", "orders", "sales", "orders");
        check_table(&cfg->tables[1], "public", "items", "public", "items");
        check_table(&cfg->tables[2], "public", "x", "public", "y");
        CHECK(cfg->table_lines[0] == 5 && cfg->table_lines[1] == 6 && cfg->table_lines[2] == 7);
    }
    CHECK(!cfg->tables_resolved);
    pgh_config_free(cfg);
}

static void pattern_entries(void)
{
    pgh_config *cfg = PARSE_OK(BASE "tables:\n"
                                    "  - public.*\n"
                                    "  - source_schema_name: sales\n"
                                    "    source_table_name: order_*\n"
                                    "    destination_schema_name: archive\n"
                                    "  - \"*.audit_?\"\n"
                                    "  - public.orders\n");
    CHECK(cfg->ntables == 4);
    if (cfg->ntables == 4) {
        check_table(&cfg->tables[0], "public", "*", "public", "*");
        check_table(&cfg->tables[1], "sales", "order_*", "archive", "order_*");
        check_table(&cfg->tables[2], "*", "audit_?", "*", "audit_?");
        check_table(&cfg->tables[3], "public", "orders", "public", "orders");
        CHECK(cfg->table_lines[1] == 6);
    }
    pgh_config_free(cfg);
    /* The top-level single table may be a pattern too. */
    cfg = PARSE_OK(BASE "source_table_name: \"t_*\"\n");
    CHECK(cfg->ntables == 1 && strcmp(cfg->tables[0].source_table, "t_*") == 0);
    pgh_config_free(cfg);
}

static void excludes(void)
{
    pgh_config *cfg = PARSE_OK(BASE "tables: [public.*, sales.*]\n"
                                    "exclude_tables:\n"
                                    "  - public.tmp_*\n"
                                    "  - audit\n"
                                    "  - \"*.scratch\"\n");
    CHECK(cfg->nexclude == 3);
    if (cfg->nexclude == 3) {
        CHECK_STR(cfg->exclude_tables[0].schema, "public");
        CHECK_STR(cfg->exclude_tables[0].table, "tmp_*");
        CHECK_STR(cfg->exclude_tables[1].schema, "public");
        CHECK_STR(cfg->exclude_tables[1].table, "audit");
        CHECK_STR(cfg->exclude_tables[2].schema, "*");
        CHECK_STR(cfg->exclude_tables[2].table, "scratch");
        CHECK(cfg->exclude_tables[0].line == 6 && cfg->exclude_tables[2].line == 8);
    }
    pgh_config_free(cfg);
}

static void pattern_with_destination_table(void)
{
    PARSE_FAILS(BASE "tables:\n"
                     "  - source_table_name: order_*\n"
                     "    destination_table_name: orders\n",
                "config.yaml:5: destination_table_name cannot be used with a pattern: each "
                "matching table keeps its name (list the table on its own to rename it)");
}

static void pattern_destination_schema(void)
{
    PARSE_FAILS(BASE "tables:\n"
                     "  - source_table_name: order_*\n"
                     "    destination_schema_name: arch*\n",
                "config.yaml:5: destination_schema_name must be a name, not a pattern");
}

static void explicit_table_excluded(void)
{
    PARSE_FAILS(BASE "tables:\n"
                     "  - public.*\n"
                     "  - public.tmp_1\n"
                     "exclude_tables: [public.tmp_*]\n",
                "config.yaml:6: table public.tmp_1 is also excluded by exclude_tables on line 7; "
                "remove one of the two");
}

static void short_form_mistakes(void)
{
    PARSE_FAILS(BASE "tables: [a.b.c]\n",
                "config.yaml:4: tables[0]: more than one dot in a \"schema.table\" name; for "
                "names holding dots use the mapping form (source_schema_name, "
                "source_table_name)");
    PARSE_FAILS(BASE "tables: [.orders]\n",
                "config.yaml:4: tables[0]: the schema name is empty; write \"schema.table\"");
    PARSE_FAILS(BASE "tables: [sales.]\n",
                "config.yaml:4: tables[0]: the table name is empty; write \"schema.table\"");
    PARSE_FAILS(BASE "tables: [sales.orders, sales.orders]\n",
                "config.yaml:4: duplicate destination table \"sales.orders\" (also the "
                "destination of the table on line 4)");
    PARSE_FAILS(BASE "tables:\n  - 12\n  - [x]\n",
                "config.yaml:6: tables[1]: expected a mapping with source_table_name or a "
                "\"schema.table\" name, got a list");
}

static void excludes_not_a_list(void)
{
    PARSE_FAILS(BASE "tables: [public.*]\nexclude_tables: public.x\n",
                "config.yaml:5: exclude_tables: expected a list of \"schema.table\" names, got "
                "\"public.x\"");
    PARSE_FAILS(BASE "tables: [public.*]\nexclude_tables: [{a: b}]\n",
                "config.yaml:5: exclude_tables[0]: expected a string, got a mapping");
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
