/*
 * Where the configuration comes from: the file (optional), then PGH_CFG_* environment variables,
 * then the --source/--destination/--publication/--table flags; a later one replaces an earlier
 * one, key by key (a list of tables replaces the whole list). Everything goes through the
 * configuration's setters (pghost/config.h) and ends with pgh_config_check.
 *
 * The prefix PGH_CFG_ cannot be taken for one of libpq's variables (PGHOST, PGHOSTADDR,
 * PGPASSWORD... all start with PG and a libpq keyword), and the scripts' and tests' own
 * PGH_SKIP_DEPS, PGH_CTEST_ARGS and PGH_TEST_* do not start with it. Every PGH_CFG_ variable
 * must name a key: a misspelt one is an error rather than a setting silently ignored. Values are
 * never printed (a connection string may hold a password).
 */
#include <limits.h>
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

extern char **environ;

#define ENV_PREFIX "PGH_CFG_"

typedef enum kind {
    K_STRING,
    K_INT,
    K_INT64,
    K_BOOL,
    K_FORMAT,
    K_DEST,
    K_SOURCE,
    K_DRIFT,
    K_MISSING,
    K_METHOD,
    K_CONFLICT,
    K_LAYOUT,
    K_TABLES,
    K_EXCLUDES
} kind;

typedef struct env_key {
    const char *name; /* after the prefix */
    kind kind;
    size_t offset; /* of the field in pgh_config */
    long min, max; /* K_INT and K_INT64 */
} env_key;

#define F(field) offsetof(pgh_config, field)
static const env_key KEYS[] = {
    {"SOURCE_CONNECTION", K_STRING, F(source_connection), 0, 0},
    {"SOURCE_CONNECTION_FOR_REPLICATION", K_STRING, F(source_replication_connection), 0, 0},
    {"DESTINATION_CONNECTION", K_STRING, F(destination_connection), 0, 0},
    {"PUBLICATION_NAME", K_STRING, F(publication_name), 0, 0},
    {"SLOT_NAME", K_STRING, F(slot_name), 0, 0},
    {"TABLES", K_TABLES, 0, 0, 0},
    {"EXCLUDE_TABLES", K_EXCLUDES, 0, 0, 0},
    {"COPY_BATCH_SIZE", K_INT64, F(copy_batch_size), 1, 1000000000},
    {"COPY_BATCH_MAX_MS", K_INT64, F(copy_batch_max_ms), 0, PGH_CONFIG_MAX_BATCH_MAX_MS},
    {"COPY_WORKER_COUNT", K_INT, F(copy_worker_count), 1, PGH_CONFIG_MAX_WORKERS},
    {"COPY_USE_KEYSET_PAGINATION", K_BOOL, F(copy_use_keyset_pagination), 0, 0},
    {"COPY_FORMAT", K_FORMAT, F(copy_format), 0, 0},
    {"DESTINATION", K_DEST, F(destination), 0, 0},
    {"APPLY_GROUP_MAX_CHANGES", K_INT64, F(apply_group_max_changes), 1, 1000000},
    {"APPLY_GROUP_MAX_DELAY_MS", K_INT64, F(apply_group_max_delay_ms), 0, 60000},
    {"BATCH_SIZE", K_INT64, F(apply_group_max_changes), 1, 1000000},
    {"BATCH_TIMEOUT_MS", K_INT64, F(apply_group_max_delay_ms), 0, 60000},
    {"COPY_METHOD", K_METHOD, F(copy_method), 0, 0},
    {"ON_CONFLICT_ACTION", K_CONFLICT, F(on_conflict_action), 0, 0},
    {"DISABLE_TRIGGERS", K_BOOL, F(disable_triggers), 0, 0},
    {"STATE_SCHEMA", K_STRING, F(state_schema), 0, 0},
    {"CREATE_DESTINATION_TABLES", K_BOOL, F(create_destination_tables), 0, 0},
    {"SCHEMA_DRIFT", K_DRIFT, F(schema_drift), 0, 0},
    {"ON_MISSING_ROW", K_MISSING, F(on_missing_row), 0, 0},
    {"STATE_FILE", K_STRING, F(state_file), 0, 0},
    {"DUCKDB_PATH", K_STRING, F(duckdb_path), 0, 0},
    {"DUCKDB_LIBRARY", K_STRING, F(duckdb_library), 0, 0},
    {"FILE_DIRECTORY", K_STRING, F(file_directory), 0, 0},
    {"FILE_ROTATE_BYTES", K_INT64, F(file_rotate_bytes), PGH_CONFIG_MIN_FILE_ROTATE_BYTES,
     PGH_CONFIG_MAX_FILE_ROTATE_BYTES},
    {"FILE_ROTATE_SECONDS", K_INT64, F(file_rotate_seconds), 0, PGH_CONFIG_MAX_FILE_ROTATE_SECONDS},
    {"FILE_LAYOUT", K_LAYOUT, F(file_layout), 0, 0},
    {"RULES_FILE", K_STRING, F(rules_file), 0, 0},
    {"WEBHOOK_URL", K_STRING, F(webhook_url), 0, 0},
    {"WEBHOOK_SECRET", K_STRING, F(webhook_secret), 0, 0},
    {"WEBHOOK_SECRET_FILE", K_STRING, F(webhook_secret_file), 0, 0},
    {"WEBHOOK_CA_FILE", K_STRING, F(webhook_ca_file), 0, 0},
    {"WEBHOOK_TIMEOUT_MS", K_INT64, F(webhook_timeout_ms), 1, 600000},
    {"WEBHOOK_MAX_RETRIES", K_INT64, F(webhook_max_retries), 0, 1000},
    {"WEBHOOK_RETRY_BASE_MS", K_INT64, F(webhook_retry_base_ms), 0, 600000},
    {"WEBHOOK_RETRY_MAX_MS", K_INT64, F(webhook_retry_max_ms), 0, 600000},
    {"SOURCE", K_SOURCE, F(source), 0, 0},
    {"NATS_URL", K_STRING, F(nats.url), 0, 0},
    {"NATS_STREAM", K_STRING, F(nats.stream), 0, 0},
    {"NATS_SUBJECT_PREFIX", K_STRING, F(nats.subject_prefix), 0, 0},
    {"NATS_SUBJECTS", K_STRING, F(nats.subjects), 0, 0},
    {"NATS_CONSUMER", K_STRING, F(nats.consumer), 0, 0},
    {"NATS_REPLICAS", K_INT64, F(nats.replicas), 1, 5},
    {"NATS_MAX_AGE_S", K_INT64, F(nats.max_age_s), 0, 9223372036L},
    {"NATS_MAX_BYTES", K_INT64, F(nats.max_bytes), 0, LONG_MAX},
    {"NATS_DUPLICATE_WINDOW_S", K_INT64, F(nats.duplicate_window_s), 1, 86400},
    {"NATS_MAX_IN_FLIGHT", K_INT64, F(nats.max_in_flight), 1, 1000000},
    {"NATS_CREDENTIALS_FILE", K_STRING, F(nats.credentials_file), 0, 0},
    {"NATS_TOKEN_FILE", K_STRING, F(nats.token_file), 0, 0},
    {"NATS_CA_FILE", K_STRING, F(nats.ca_file), 0, 0},
    {"NATS_NKEY_FILE", K_STRING, F(nats.nkey_file), 0, 0},
};
#undef F

static const env_key *find_key(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(KEYS) / sizeof(KEYS[0]); i++)
        if (strlen(KEYS[i].name) == len && strncmp(KEYS[i].name, name, len) == 0)
            return &KEYS[i];
    return NULL;
}

/* One table: "schema.table", or "schema.table=dest_schema.dest_table" for another name on
 * the destination (no schema there: the source's). */
static int add_table(pgh_config *cfg, const char *entry, pgh_error *err)
{
    const char *eq = strchr(entry, '=');
    if (eq == NULL)
        return pgh_config_add_table(cfg, NULL, entry, NULL, NULL, err);
    char source[300], dest_schema[300];
    snprintf(source, sizeof(source), "%.*s", (int)(eq - entry), entry);
    const char *dest = eq + 1, *dot = strchr(dest, '.');
    if (source[0] == '\0' || dest[0] == '\0' || (dot && (dot == dest || dot[1] == '\0')))
        return pgh_error_set(err, PGH_ECONFIG,
                             "a table is written schema.table or schema.table=dest_schema.dest_table");
    const char *src_dot = strchr(source, '.');
    if (dot != NULL) /* dest_schema.dest_table */
        snprintf(dest_schema, sizeof(dest_schema), "%.*s", (int)(dot - dest), dest);
    else if (src_dot != NULL) /* dest_table, in the source's schema */
        snprintf(dest_schema, sizeof(dest_schema), "%.*s", (int)(src_dot - source), source);
    else
        snprintf(dest_schema, sizeof(dest_schema), "public");
    return pgh_config_add_table(cfg, NULL, source, dest_schema, dot ? dot + 1 : dest, err);
}

/* Each name of list, separated by commas or spaces, through add (cfg, name, err). */
static int each_name(pgh_config *cfg, const char *list,
                     int (*add)(pgh_config *, const char *, pgh_error *), pgh_error *err)
{
    const char *p = list;
    while (*p) {
        p += strspn(p, ", \t\n");
        size_t len = strcspn(p, ", \t\n");
        if (len == 0)
            break;
        char name[600];
        snprintf(name, sizeof(name), "%.*s", (int)len, p);
        int rc = add(cfg, name, err);
        if (rc != 0)
            return rc;
        p += len;
    }
    return 0;
}

/* Replace cfg's tables with those of list. */
static int set_tables(pgh_config *cfg, const char *list, pgh_error *err)
{
    pgh_config_clear_tables(cfg);
    int rc = each_name(cfg, list, add_table, err);
    if (rc == 0 && cfg->ntables == 0)
        return pgh_error_set(err, PGH_ECONFIG, "no table is named: give schema.table names");
    return rc;
}

/* Replace cfg's exclusions with those of list (empty: none). */
static int set_excludes(pgh_config *cfg, const char *list, pgh_error *err)
{
    pgh_config_clear_excludes(cfg);
    return each_name(cfg, list, pgh_config_add_exclude, err);
}

static bool parse_long(long *out, const char *s, long min, long max)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

static bool parse_bool(bool *out, const char *s)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0 || strcasecmp(s, no[i]) == 0) {
            *out = strcasecmp(s, yes[i]) == 0;
            return true;
        }
    }
    return false;
}

/* One of the named words (any case): its index in *out. */
static bool parse_word(int *out, const char *s, const char *const *words, int n)
{
    for (int i = 0; i < n; i++) {
        if (strcasecmp(s, words[i]) == 0) {
            *out = i;
            return true;
        }
    }
    return false;
}

/* Set one key from its text; what is wrong names the key (and the range), never the value. */
static int set_key(pgh_config *cfg, const env_key *k, const char *value, pgh_error *err)
{
    static const char *const formats[] = {"auto", "binary", "text"};
    static const char *const dests[] = {"postgres", "stdout", "file", "duckdb",
                                        "webhook", "nats"}; /* enum order */
    static const char *const layouts[] = {"per_table", "single"};
    static const char *const sources[] = {"postgres", "nats"};
    static const char *const drifts[] = {"stop", "add_columns"};
    static const char *const missing[] = {"stop", "skip"};
    static const char *const methods[] = {"parallel", "watermarks"};
    static const char *const conflicts[] = {"error", "update", "nothing"};
    char *field = (char *)cfg + k->offset;
    long n = 0;
    int word = 0;
    switch (k->kind) {
    case K_STRING:
        return pgh_config_set_string((char **)field, value, err);
    case K_TABLES:
        return set_tables(cfg, value, err);
    case K_EXCLUDES:
        return set_excludes(cfg, value, err);
    case K_INT:
    case K_INT64:
        if (!parse_long(&n, value, k->min, k->max))
            return pgh_error_set(err, PGH_ECONFIG, "must be a whole number from %ld to %ld", k->min,
                                 k->max);
        if (k->kind == K_INT)
            *(int *)field = (int)n;
        else
            *(int64_t *)field = n;
        return 0;
    case K_BOOL:
        if (!parse_bool((bool *)field, value))
            return pgh_error_set(err, PGH_ECONFIG, "must be true or false");
        return 0;
    case K_FORMAT:
        if (!parse_word(&word, value, formats, 3))
            return pgh_error_set(err, PGH_ECONFIG, "must be auto, binary or text");
        *(pgh_copy_format_choice *)field = (pgh_copy_format_choice)word;
        return 0;
    case K_DEST:
        if (!parse_word(&word, value, dests, 6))
            return pgh_error_set(err, PGH_ECONFIG,
                                 "must be postgres, stdout, file, duckdb, webhook or nats");
        *(pgh_destination_kind *)field = (pgh_destination_kind)word;
        return 0;
    case K_SOURCE:
        if (!parse_word(&word, value, sources, 2))
            return pgh_error_set(err, PGH_ECONFIG, "must be postgres or nats");
        *(pgh_source_kind *)field = (pgh_source_kind)word;
        return 0;
    case K_DRIFT:
        if (!parse_word(&word, value, drifts, 2))
            return pgh_error_set(err, PGH_ECONFIG, "must be stop or add_columns");
        *(pgh_schema_drift *)field = (pgh_schema_drift)word;
        return 0;
    case K_MISSING:
        if (!parse_word(&word, value, missing, 2))
            return pgh_error_set(err, PGH_ECONFIG, "must be stop or skip");
        *(pgh_on_missing_row *)field = (pgh_on_missing_row)word;
        return 0;
    case K_METHOD:
        if (!parse_word(&word, value, methods, 2))
            return pgh_error_set(err, PGH_ECONFIG, "must be parallel or watermarks");
        *(pgh_copy_method *)field = (pgh_copy_method)word;
        return 0;
    case K_CONFLICT:
        if (!parse_word(&word, value, conflicts, 3))
            return pgh_error_set(err, PGH_ECONFIG, "must be error, update or nothing");
        *(pgh_on_conflict_action *)field = (pgh_on_conflict_action)word;
        return 0;
    case K_LAYOUT:
        if (!parse_word(&word, value, layouts, 2))
            return pgh_error_set(err, PGH_ECONFIG, "must be per_table or single");
        *(pgh_file_layout *)field = (pgh_file_layout)word;
        return 0;
    }
    return 0;
}

/* Every PGH_CFG_ variable: a key, set in cfg; another name is an error. */
/* Two names of one setting (batch_size and its older name) set at once. */
static int one_name_each(pgh_error *err)
{
    static const char *const same[][2] = {{"BATCH_SIZE", "APPLY_GROUP_MAX_CHANGES"},
                                          {"BATCH_TIMEOUT_MS", "APPLY_GROUP_MAX_DELAY_MS"}};
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        char a[64], b[64];
        snprintf(a, sizeof(a), ENV_PREFIX "%s", same[i][0]);
        snprintf(b, sizeof(b), ENV_PREFIX "%s", same[i][1]);
        if (getenv(a) && getenv(b))
            return pgh_error_set(err, PGH_ECONFIG,
                                 "environment variables %s and %s are two names of one "
                                 "setting: keep %s only",
                                 a, b, a);
    }
    return 0;
}

static int apply_environment(pgh_config *cfg, pgh_error *err)
{
    int rc0 = one_name_each(err);
    if (rc0 != 0)
        return rc0;
    for (char **e = environ; e && *e; e++) {
        if (strncmp(*e, ENV_PREFIX, sizeof(ENV_PREFIX) - 1) != 0)
            continue;
        const char *name = *e + sizeof(ENV_PREFIX) - 1;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const env_key *k = find_key(name, len);
        if (k == NULL)
            return pgh_error_set(err, PGH_ECONFIG,
                                 "environment variable " ENV_PREFIX "%.*s is not a configuration "
                                 "key: see the configuration table in README.md, or unset it",
                                 (int)(len > 64 ? 64 : len), name);
        int rc = set_key(cfg, k, eq ? eq + 1 : "", err);
        if (rc != 0) {
            pgh_error_prefix(err, "environment variable " ENV_PREFIX "%s", k->name);
            return rc;
        }
    }
    return 0;
}

/* The flags, last: they win. */
static int apply_flags(pgh_config *cfg, const pgh_cli_overrides *o, pgh_error *err)
{
    int rc = 0;
    if (o->source)
        rc = pgh_config_set_string(&cfg->source_connection, o->source, err);
    if (rc == 0 && o->destination)
        rc = pgh_config_set_string(&cfg->destination_connection, o->destination, err);
    if (rc == 0 && o->publication)
        rc = pgh_config_set_string(&cfg->publication_name, o->publication, err);
    if (rc == 0 && o->ntables > 0) {
        pgh_config_clear_tables(cfg);
        for (int i = 0; rc == 0 && i < o->ntables; i++)
            rc = add_table(cfg, o->tables[i], err);
    }
    if (rc == 0 && o->nexcludes > 0) {
        pgh_config_clear_excludes(cfg);
        for (int i = 0; rc == 0 && i < o->nexcludes; i++)
            rc = pgh_config_add_exclude(cfg, o->excludes[i], err);
    }
    return rc;
}

int pgh_cli__build_config(pgh_config **out, pgh_config *from_file, const pgh_cli_overrides *o,
                          pgh_error *err)
{
    pgh_config *cfg = from_file;
    *out = NULL;
    int rc = cfg ? 0 : pgh_config_new(&cfg, err);
    if (rc == 0 && from_file == NULL)
        rc = pgh_config_set_string(&cfg->path, PGH_CLI_NO_FILE, err);
    if (rc == 0)
        rc = apply_environment(cfg, err);
    if (rc == 0)
        rc = apply_flags(cfg, o, err);
    if (rc == 0)
        rc = pgh_config_check(cfg, err);
    if (rc != 0) {
        pgh_config_free(cfg);
        return rc;
    }
    *out = cfg;
    return 0;
}
