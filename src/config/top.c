/*
 * config/top.c - the top-level keys of the configuration.
 *
 * Each key has one reader; the checks that involve several keys (required keys, a table given
 * by top-level keys without its source_table_name, the default slot name) run after the whole
 * mapping is read, so that the order of keys in the file does not matter.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_int.h"

enum {
    K_SOURCE_CONNECTION,
    K_SOURCE_REPLICATION,
    K_DEST_CONNECTION,
    K_PUBLICATION,
    K_SLOT,
    K_SOURCE_SCHEMA, /* the four table keys, in PGH_CONFIG__TK_* order */
    K_SOURCE_TABLE,
    K_DEST_SCHEMA,
    K_DEST_TABLE,
    K_TABLES,
    K_BATCH,
    K_WORKERS,
    K_KEYSET,
    K_FORMAT,
    K_BATCH_MAX_MS,
    K_STATE_SCHEMA,
    K_DESTINATION,
    K_GROUP_CHANGES,
    K_GROUP_DELAY,
    K_CREATE_TABLES,
    K_SCHEMA_DRIFT,
    K_EXCLUDE,
    K_STATE_FILE,
    K_ON_MISSING_ROW,
    K_BATCH_SIZE,
    K_BATCH_TIMEOUT,
    K_COPY_METHOD,
    K_ON_CONFLICT,
    K_DISABLE_TRIGGERS,
    K_DUCKDB_PATH,
    K_DUCKDB_LIBRARY,
    K_FILE_DIRECTORY,
    K_FILE_ROTATE_BYTES,
    K_FILE_ROTATE_SECONDS,
    K_FILE_LAYOUT,
    K_RULES_FILE,
    K_WEBHOOK_URL,
    K_WEBHOOK_SECRET,
    K_WEBHOOK_SECRET_FILE,
    K_WEBHOOK_CA_FILE,
    K_WEBHOOK_TIMEOUT,
    K_WEBHOOK_RETRIES,
    K_WEBHOOK_RETRY_BASE,
    K_WEBHOOK_RETRY_MAX,
    K_SOURCE,
    K_NATS_FIRST, /* the nats_* keys, in PGH_CONFIG__NATS_* order (nats_keys.c) */
    K_NATS_LAST = K_NATS_FIRST + PGH_CONFIG__NATS_COUNT - 1,
    K_COUNT,
};

_Static_assert(K_DEST_TABLE - K_SOURCE_SCHEMA == PGH_CONFIG__TK_DEST_TABLE &&
                   K_SOURCE_TABLE - K_SOURCE_SCHEMA == PGH_CONFIG__TK_SOURCE_TABLE,
               "top-level table keys follow PGH_CONFIG__TK_* order");

static const char *const top_keys[K_COUNT] = {
    [K_SOURCE_CONNECTION] = "source_connection",
    [K_SOURCE_REPLICATION] = "source_connection_for_replication",
    [K_DEST_CONNECTION] = "destination_connection",
    [K_PUBLICATION] = "publication_name",
    [K_SLOT] = "slot_name",
    [K_SOURCE_SCHEMA] = "source_schema_name",
    [K_SOURCE_TABLE] = "source_table_name",
    [K_DEST_SCHEMA] = "destination_schema_name",
    [K_DEST_TABLE] = "destination_table_name",
    [K_TABLES] = "tables",
    [K_BATCH] = "copy_batch_size",
    [K_WORKERS] = "copy_worker_count",
    [K_KEYSET] = "copy_use_keyset_pagination",
    [K_FORMAT] = "copy_format",
    [K_BATCH_MAX_MS] = "copy_batch_max_ms",
    [K_STATE_SCHEMA] = "state_schema",
    [K_DESTINATION] = "destination",
    [K_GROUP_CHANGES] = "apply_group_max_changes",
    [K_GROUP_DELAY] = "apply_group_max_delay_ms",
    [K_CREATE_TABLES] = "create_destination_tables",
    [K_SCHEMA_DRIFT] = "schema_drift",
    [K_EXCLUDE] = "exclude_tables",
    [K_STATE_FILE] = "state_file",
    [K_ON_MISSING_ROW] = "on_missing_row",
    [K_BATCH_SIZE] = "batch_size",
    [K_BATCH_TIMEOUT] = "batch_timeout_ms",
    [K_COPY_METHOD] = "copy_method",
    [K_ON_CONFLICT] = "on_conflict_action",
    [K_DISABLE_TRIGGERS] = "disable_triggers",
    [K_DUCKDB_PATH] = "duckdb_path",
    [K_DUCKDB_LIBRARY] = "duckdb_library",
    [K_FILE_DIRECTORY] = "file_directory",
    [K_FILE_ROTATE_BYTES] = "file_rotate_bytes",
    [K_FILE_ROTATE_SECONDS] = "file_rotate_seconds",
    [K_FILE_LAYOUT] = "file_layout",
    [K_RULES_FILE] = "rules_file",
    [K_WEBHOOK_URL] = "webhook_url",
    [K_WEBHOOK_SECRET] = "webhook_secret",
    [K_WEBHOOK_SECRET_FILE] = "webhook_secret_file",
    [K_WEBHOOK_CA_FILE] = "webhook_ca_file",
    [K_WEBHOOK_TIMEOUT] = "webhook_timeout_ms",
    [K_WEBHOOK_RETRIES] = "webhook_max_retries",
    [K_WEBHOOK_RETRY_BASE] = "webhook_retry_base_ms",
    [K_WEBHOOK_RETRY_MAX] = "webhook_retry_max_ms",
    [K_SOURCE] = "source",
    [K_NATS_FIRST + PGH_CONFIG__NATS_URL] = "nats_url",
    [K_NATS_FIRST + PGH_CONFIG__NATS_STREAM] = "nats_stream",
    [K_NATS_FIRST + PGH_CONFIG__NATS_PREFIX] = "nats_subject_prefix",
    [K_NATS_FIRST + PGH_CONFIG__NATS_SUBJECTS] = "nats_subjects",
    [K_NATS_FIRST + PGH_CONFIG__NATS_CONSUMER] = "nats_consumer",
    [K_NATS_FIRST + PGH_CONFIG__NATS_REPLICAS] = "nats_replicas",
    [K_NATS_FIRST + PGH_CONFIG__NATS_MAX_AGE] = "nats_max_age_s",
    [K_NATS_FIRST + PGH_CONFIG__NATS_MAX_BYTES] = "nats_max_bytes",
    [K_NATS_FIRST + PGH_CONFIG__NATS_DUP_WINDOW] = "nats_duplicate_window_s",
    [K_NATS_FIRST + PGH_CONFIG__NATS_IN_FLIGHT] = "nats_max_in_flight",
    [K_NATS_FIRST + PGH_CONFIG__NATS_CREDS] = "nats_credentials_file",
    [K_NATS_FIRST + PGH_CONFIG__NATS_TOKEN] = "nats_token_file",
    [K_NATS_FIRST + PGH_CONFIG__NATS_CA] = "nats_ca_file",
    [K_NATS_FIRST + PGH_CONFIG__NATS_NKEY] = "nats_nkey_file",
};

static const pgh_config__keyset top_keyset = {
    .names = top_keys,
    .count = K_COUNT,
    .hint = "see examples/config.yaml for the valid keys",
};

/* Largest copy_batch_size: beyond this one batch no longer fits comfortably in memory. */
#define BATCH_MAX 1000000000

static int read_slot(pgh_config__ctx *ctx, const char *path, yaml_node_t *value)
{
    char q[PGH_CONFIG__QUOTE_MAX];
    char *slot = NULL;
    bool from_env = false;
    int rc = pgh_config__read_string(ctx, path, value, &slot, &from_env);
    if (rc != 0)
        return rc;
    if (!pgh_config__slot_name_valid(slot)) {
        free(slot);
        /* Quote the text as written: after expansion it may be a secret. */
        return pgh_config__fail(ctx, pgh_config__line(value),
                                "%s: must match ^[a-z0-9_]{1,63}$ (PostgreSQL's rule for "
                                "replication slot names), got %s%s",
                                path, pgh_config__describe(q, sizeof(q), value),
                                from_env ? " after expansion" : "");
    }
    free(ctx->cfg->slot_name);
    ctx->cfg->slot_name = slot;
    return 0;
}

/* One of n words (any case): its index in *out; otherwise one line naming the words
 * (expected: "auto, binary or text"). */
static int read_word(pgh_config__ctx *ctx, const char *path, yaml_node_t *value,
                     const char *const *words, size_t n, const char *expected, int *out)
{
    char q[PGH_CONFIG__QUOTE_MAX];
    char *word = NULL;
    bool from_env = false;
    int rc = pgh_config__read_string(ctx, path, value, &word, &from_env);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        if (strcasecmp(word, words[i]) == 0) {
            *out = (int)i;
            free(word);
            return 0;
        }
    }
    free(word);
    return pgh_config__fail(ctx, pgh_config__line(value), "%s: expected %s, got %s%s", path,
                            expected, pgh_config__describe(q, sizeof(q), value),
                            from_env ? " after expansion" : "");
}

static int read_format(pgh_config__ctx *ctx, const char *path, yaml_node_t *value)
{
    static const char *const names[] = {
        [PGH_COPY_FORMAT_AUTO] = "auto",
        [PGH_COPY_FORMAT_BINARY] = "binary",
        [PGH_COPY_FORMAT_TEXT] = "text",
    };
    int i = 0;
    int rc = read_word(ctx, path, value, names, 3, "auto, binary or text", &i);
    if (rc == 0)
        ctx->cfg->copy_format = (pgh_copy_format_choice)i;
    return rc;
}

static int read_destination(pgh_config__ctx *ctx, const char *path, yaml_node_t *value)
{
    char q[PGH_CONFIG__QUOTE_MAX];
    char *kind = NULL;
    bool from_env = false;
    int rc = pgh_config__read_string(ctx, path, value, &kind, &from_env);
    if (rc != 0)
        return rc;
    pgh_destination_kind parsed;
    rc = pgh_config_destination_parse(&parsed, kind);
    free(kind);
    if (rc == 0) {
        ctx->cfg->destination = parsed;
        return 0;
    }
    return pgh_config__fail(ctx, pgh_config__line(value),
                            "%s: expected postgres, stdout, file, duckdb, webhook or nats, got "
                            "%s%s",
                            path, pgh_config__describe(q, sizeof(q), value),
                            from_env ? " after expansion" : "");
}

static int read_schema_drift(pgh_config__ctx *ctx, const char *path, yaml_node_t *value)
{
    static const char *const names[] = {
        [PGH_SCHEMA_DRIFT_STOP] = "stop",
        [PGH_SCHEMA_DRIFT_ADD_COLUMNS] = "add_columns",
    };
    int i = 0;
    int rc = read_word(ctx, path, value, names, 2, "stop or add_columns", &i);
    if (rc == 0)
        ctx->cfg->schema_drift = (pgh_schema_drift)i;
    return rc;
}

static int read_on_missing_row(pgh_config__ctx *ctx, const char *path, yaml_node_t *value)
{
    static const char *const names[] = {
        [PGH_ON_MISSING_ROW_STOP] = "stop",
        [PGH_ON_MISSING_ROW_SKIP] = "skip",
    };
    int i = 0;
    int rc = read_word(ctx, path, value, names, 2, "stop or skip", &i);
    if (rc == 0)
        ctx->cfg->on_missing_row = (pgh_on_missing_row)i;
    return rc;
}

static int read_source(pgh_config__ctx *ctx, const char *path, yaml_node_t *value)
{
    static const char *const names[] = {
        [PGH_SOURCE_POSTGRES] = "postgres",
        [PGH_SOURCE_NATS] = "nats",
    };
    int i = 0;
    int rc = read_word(ctx, path, value, names, 2, "postgres or nats", &i);
    if (rc == 0)
        ctx->cfg->source = (pgh_source_kind)i;
    return rc;
}

static int read_copy_method(pgh_config__ctx *ctx, const char *path, yaml_node_t *value)
{
    static const char *const names[] = {
        [PGH_COPY_METHOD_PARALLEL] = "parallel",
        [PGH_COPY_METHOD_WATERMARKS] = "watermarks",
    };
    int i = 0;
    int rc = read_word(ctx, path, value, names, 2, "parallel or watermarks", &i);
    if (rc == 0)
        ctx->cfg->copy_method = (pgh_copy_method)i;
    return rc;
}

static int read_on_conflict(pgh_config__ctx *ctx, const char *path, yaml_node_t *value)
{
    static const char *const names[] = {
        [PGH_ON_CONFLICT_ERROR] = "error",
        [PGH_ON_CONFLICT_UPDATE] = "update",
        [PGH_ON_CONFLICT_NOTHING] = "nothing",
    };
    int i = 0;
    int rc = read_word(ctx, path, value, names, 3, "error, update or nothing", &i);
    if (rc == 0)
        ctx->cfg->on_conflict_action = (pgh_on_conflict_action)i;
    return rc;
}

/* The writer's keys: batch_size and batch_timeout_ms, or their older names. */
static int read_writer_key(pgh_config__ctx *ctx, size_t key, const char *path,
                           yaml_node_t *value)
{
    pgh_config *cfg = ctx->cfg;
    switch (key) {
    case K_GROUP_CHANGES:
    case K_BATCH_SIZE:
        return pgh_config__read_int(ctx, path, value, 1, 1000000, &cfg->apply_group_max_changes);
    case K_GROUP_DELAY:
    case K_BATCH_TIMEOUT:
        return pgh_config__read_int(ctx, path, value, 0, 60000, &cfg->apply_group_max_delay_ms);
    case K_COPY_METHOD:
        return read_copy_method(ctx, path, value);
    case K_ON_CONFLICT:
        return read_on_conflict(ctx, path, value);
    default:
        return pgh_config__read_bool(ctx, path, value, &cfg->disable_triggers);
    }
}

static int read_file_layout(pgh_config__ctx *ctx, const char *path, yaml_node_t *value)
{
    static const char *const names[] = {
        [PGH_FILE_LAYOUT_PER_TABLE] = "per_table",
        [PGH_FILE_LAYOUT_SINGLE] = "single",
    };
    int i = 0;
    int rc = read_word(ctx, path, value, names, 2, "per_table or single", &i);
    if (rc == 0)
        ctx->cfg->file_layout = (pgh_file_layout)i;
    return rc;
}

/* The keys of destination: file. */
static int read_file_key(pgh_config__ctx *ctx, size_t key, const char *path, yaml_node_t *value)
{
    pgh_config *cfg = ctx->cfg;
    switch (key) {
    case K_FILE_DIRECTORY:
        return pgh_config__read_string(ctx, path, value, &cfg->file_directory, NULL);
    case K_FILE_ROTATE_BYTES:
        return pgh_config__read_int(ctx, path, value, PGH_CONFIG_MIN_FILE_ROTATE_BYTES,
                                    PGH_CONFIG_MAX_FILE_ROTATE_BYTES, &cfg->file_rotate_bytes);
    case K_FILE_ROTATE_SECONDS:
        return pgh_config__read_int(ctx, path, value, 0, PGH_CONFIG_MAX_FILE_ROTATE_SECONDS,
                                    &cfg->file_rotate_seconds);
    default:
        return read_file_layout(ctx, path, value);
    }
}

static int read_copy_key(pgh_config__ctx *ctx, size_t key, const char *path, yaml_node_t *value)
{
    pgh_config *cfg = ctx->cfg;
    int64_t workers = 0;
    int rc = 0;
    switch (key) {
    case K_BATCH:
        return pgh_config__read_int(ctx, path, value, 1, BATCH_MAX, &cfg->copy_batch_size);
    case K_WORKERS:
        rc = pgh_config__read_int(ctx, path, value, 1, PGH_CONFIG_MAX_WORKERS, &workers);
        cfg->copy_worker_count = rc == 0 ? (int)workers : cfg->copy_worker_count;
        return rc;
    case K_KEYSET:
        return pgh_config__read_bool(ctx, path, value, &cfg->copy_use_keyset_pagination);
    case K_BATCH_MAX_MS:
        return pgh_config__read_int(ctx, path, value, 0, PGH_CONFIG_MAX_BATCH_MAX_MS,
                                    &cfg->copy_batch_max_ms);
    default:
        return read_format(ctx, path, value);
    }
}

/* The webhook_* keys: one reader each. */
static int read_webhook_key(pgh_config__ctx *ctx, size_t key, const char *path, yaml_node_t *value)
{
    pgh_config *cfg = ctx->cfg;
    switch (key) {
    case K_WEBHOOK_URL:
        return pgh_config__read_string(ctx, path, value, &cfg->webhook_url, NULL);
    case K_WEBHOOK_SECRET:
        return pgh_config__read_string(ctx, path, value, &cfg->webhook_secret, NULL);
    case K_WEBHOOK_SECRET_FILE:
        return pgh_config__read_string(ctx, path, value, &cfg->webhook_secret_file, NULL);
    case K_WEBHOOK_CA_FILE:
        return pgh_config__read_string(ctx, path, value, &cfg->webhook_ca_file, NULL);
    case K_WEBHOOK_TIMEOUT:
        return pgh_config__read_int(ctx, path, value, 1, 600000, &cfg->webhook_timeout_ms);
    case K_WEBHOOK_RETRIES:
        return pgh_config__read_int(ctx, path, value, 0, 1000, &cfg->webhook_max_retries);
    case K_WEBHOOK_RETRY_BASE:
        return pgh_config__read_int(ctx, path, value, 0, 600000, &cfg->webhook_retry_base_ms);
    default:
        return pgh_config__read_int(ctx, path, value, 0, 600000, &cfg->webhook_retry_max_ms);
    }
}

static int top_key(pgh_config__ctx *ctx, size_t key, const char *path, yaml_node_t *value,
                   void *payload)
{
    if (key >= K_WEBHOOK_URL && key <= K_WEBHOOK_RETRY_MAX)
        return read_webhook_key(ctx, key, path, value);
    pgh_config *cfg = ctx->cfg;
    switch (key) {
    case K_SOURCE_CONNECTION:
        return pgh_config__read_conninfo(ctx, path, value, &cfg->source_connection);
    case K_SOURCE_REPLICATION:
        return pgh_config__read_conninfo(ctx, path, value, &cfg->source_replication_connection);
    case K_DEST_CONNECTION:
        return pgh_config__read_conninfo(ctx, path, value, &cfg->destination_connection);
    case K_PUBLICATION:
        return pgh_config__read_name(ctx, path, value, &cfg->publication_name, NULL);
    case K_SLOT:
        return read_slot(ctx, path, value);
    case K_SOURCE_SCHEMA:
    case K_SOURCE_TABLE:
    case K_DEST_SCHEMA:
    case K_DEST_TABLE:
        return pgh_config__read_table_key(ctx, &ctx->top, key - K_SOURCE_SCHEMA, path, value);
    case K_TABLES:
        return pgh_config__read_tables(ctx, value);
    case K_STATE_SCHEMA:
        return pgh_config__read_name(ctx, path, value, &cfg->state_schema, NULL);
    case K_DESTINATION:
        return read_destination(ctx, path, value);
    case K_GROUP_CHANGES:
    case K_GROUP_DELAY:
    case K_BATCH_SIZE:
    case K_BATCH_TIMEOUT:
    case K_COPY_METHOD:
    case K_ON_CONFLICT:
    case K_DISABLE_TRIGGERS:
        return read_writer_key(ctx, key, path, value);
    case K_CREATE_TABLES:
        return pgh_config__read_bool(ctx, path, value, &cfg->create_destination_tables);
    case K_SCHEMA_DRIFT:
        return read_schema_drift(ctx, path, value);
    case K_EXCLUDE:
        return pgh_config__read_excludes(ctx, value);
    case K_STATE_FILE:
        return pgh_config__read_string(ctx, path, value, &cfg->state_file, NULL);
    case K_ON_MISSING_ROW:
        return read_on_missing_row(ctx, path, value);
    case K_SOURCE:
        return read_source(ctx, path, value);
    case K_DUCKDB_PATH:
        return pgh_config__read_string(ctx, path, value, &cfg->duckdb_path, NULL);
    case K_DUCKDB_LIBRARY:
        return pgh_config__read_string(ctx, path, value, &cfg->duckdb_library, NULL);
    case K_FILE_DIRECTORY:
    case K_FILE_ROTATE_BYTES:
    case K_FILE_ROTATE_SECONDS:
    case K_FILE_LAYOUT:
        return read_file_key(ctx, key, path, value);
    case K_RULES_FILE:
        return pgh_config__read_string(ctx, path, value, &cfg->rules_file, NULL);
    default:
        if (key >= K_NATS_FIRST && key <= K_NATS_LAST)
            return pgh_config__read_nats_key(ctx, (int)(key - K_NATS_FIRST), path, value);
        return read_copy_key(ctx, key, path, value);
    }
}

/* The keys that must be present, and the table keys that make no sense on their own. What the
 * destination needs is checked once it is chosen (pgh_config_check_destination): a command line
 * may choose another one (--to). */
static int check_keys(pgh_config__ctx *ctx, const size_t *lines)
{
    static const int required[] = {K_SOURCE_CONNECTION, K_PUBLICATION};
    static const int need_table[] = {K_SOURCE_SCHEMA, K_DEST_SCHEMA, K_DEST_TABLE};
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        if (required[i] == K_SOURCE_CONNECTION && ctx->cfg->source == PGH_SOURCE_NATS)
            continue; /* pghost apply reads the stream, not the source server */
        if (lines[required[i]] == 0)
            return pgh_config__fail(ctx, 0, "missing required key \"%s\"", top_keys[required[i]]);
    }
    static const int same[][2] = {{K_BATCH_SIZE, K_GROUP_CHANGES},
                                  {K_BATCH_TIMEOUT, K_GROUP_DELAY}};
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        size_t a = lines[same[i][0]], b = lines[same[i][1]];
        if (a != 0 && b != 0)
            return pgh_config__fail(ctx, a > b ? a : b,
                                    "%s and %s are two names of one setting: keep %s only",
                                    top_keys[same[i][0]], top_keys[same[i][1]],
                                    top_keys[same[i][0]]);
    }
    if (lines[K_WEBHOOK_SECRET] != 0 && lines[K_WEBHOOK_SECRET_FILE] != 0)
        return pgh_config__fail(ctx, lines[K_WEBHOOK_SECRET_FILE],
                                "webhook_secret and webhook_secret_file are both set: keep one");
    if (lines[K_SOURCE_TABLE] != 0)
        return 0;
    for (size_t i = 0; i < sizeof(need_table) / sizeof(need_table[0]); i++) {
        if (lines[need_table[i]] != 0)
            return pgh_config__fail(ctx, lines[need_table[i]],
                                    "%s is set but source_table_name is missing",
                                    top_keys[need_table[i]]);
    }
    return 0;
}

int pgh_config__read_top(pgh_config__ctx *ctx, yaml_node_t *root)
{
    size_t lines[K_COUNT] = {0};
    int rc = pgh_config__walk(ctx, root, &top_keyset, "", lines, top_key, NULL);
    if (rc == 0)
        rc = check_keys(ctx, lines);
    if (rc == 0)
        rc = pgh_config__finish_tables(ctx);
    if (rc != 0)
        return rc;
    if (ctx->cfg->slot_name == NULL) {
        ctx->cfg->slot_name = pgh_config__default_slot_name(ctx->cfg->publication_name);
        if (ctx->cfg->slot_name == NULL)
            return pgh_config__nomem(ctx);
    }
    if (ctx->cfg->state_schema == NULL) {
        ctx->cfg->state_schema = strdup(PGH_CONFIG_DEFAULT_STATE_SCHEMA);
        if (ctx->cfg->state_schema == NULL)
            return pgh_config__nomem(ctx);
    }
    return 0;
}
