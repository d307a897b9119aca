/*
 * config/config.c - the public entry points: see include/pghost/config.h.
 *
 * libyaml loads the whole stream first (a syntax error anywhere is reported before any key is
 * looked at), then top.c reads the one document into a pgh_config. guard.c first refuses flow
 * nesting deep enough to make libyaml slow. Anchors and aliases are resolved by libyaml without
 * copying, and the reader never descends more than three levels (top mapping, tables list,
 * table mapping), so alias bombs and self-referencing aliases cost nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_int.h"
#include "util/buf.h"

/* A configuration file larger than this is surely the wrong file. */
#define FILE_MAX ((size_t)16 << 20)

/* 1-based line of byte offset in text, for reader errors that only know the offset. */
static size_t line_of_offset(const char *text, size_t len, size_t offset)
{
    size_t line = 1;
    for (size_t i = 0; i < offset && i < len; i++)
        line += text[i] == '\n';
    return line;
}

/* True when the indentation of line (0-based) contains a tab: a common mistake that libyaml
 * reports only as "found character that cannot start any token". */
static bool tab_indented(const char *text, size_t len, size_t line)
{
    size_t i = 0;
    for (size_t seen = 0; seen < line && i < len; i++)
        seen += text[i] == '\n';
    for (; i < len && (text[i] == ' ' || text[i] == '\t'); i++) {
        if (text[i] == '\t')
            return true;
    }
    return false;
}

static int syntax_error(pgh_config__ctx *ctx, const yaml_parser_t *p, const char *text, size_t len)
{
    const char *problem = p->problem != NULL ? p->problem : "cannot be parsed";
    const char *hint = "";
    if (p->error == YAML_MEMORY_ERROR)
        return pgh_config__nomem(ctx);
    if (p->error == YAML_READER_ERROR)
        return pgh_config__fail(ctx, line_of_offset(text, len, p->problem_offset),
                                "YAML syntax error: %s", problem);
    if (tab_indented(text, len, p->problem_mark.line))
        hint = "; indent with spaces, YAML does not allow tabs";
    if (p->context != NULL)
        return pgh_error_set(ctx->err, PGH_ECONFIG,
                             "%s:%zu:%zu: YAML syntax error: %s (%s at line %zu, column %zu)%s",
                             ctx->name, p->problem_mark.line + 1, p->problem_mark.column + 1,
                             problem, p->context, p->context_mark.line + 1,
                             p->context_mark.column + 1, hint);
    return pgh_error_set(ctx->err, PGH_ECONFIG, "%s:%zu:%zu: YAML syntax error: %s%s", ctx->name,
                         p->problem_mark.line + 1, p->problem_mark.column + 1, problem, hint);
}

/* After the first document, the stream must end: a second one would be silently ignored. */
static int expect_end(pgh_config__ctx *ctx, yaml_parser_t *p, const char *text, size_t len)
{
    yaml_document_t extra;
    if (!yaml_parser_load(p, &extra))
        return syntax_error(ctx, p, text, len);
    bool more = yaml_document_get_root_node(&extra) != NULL;
    size_t line = extra.start_mark.line + 1;
    yaml_document_delete(&extra);
    if (more)
        return pgh_config__fail(ctx, line,
                                "a second YAML document starts here; put the whole "
                                "configuration in one document");
    return 0;
}

/* The top-level mapping of doc, or an error for an empty or non-mapping document. */
static int top_mapping(pgh_config__ctx *ctx, yaml_document_t *doc, yaml_node_t **root)
{
    char q[PGH_CONFIG__QUOTE_MAX];
    *root = yaml_document_get_root_node(doc);
    if (*root == NULL || pgh_config__is_null(*root))
        return pgh_config__fail(ctx, 0,
                                "the configuration is empty; expected keys such as "
                                "source_connection (see examples/config.yaml)");
    if ((*root)->type != YAML_MAPPING_NODE)
        return pgh_config__fail(ctx, pgh_config__line(*root),
                                "expected a mapping of keys (key: value lines) at the top level, "
                                "got %s",
                                pgh_config__describe(q, sizeof(q), *root));
    return 0;
}

pgh_config *pgh_config__new(const char *name)
{
    pgh_config *cfg = calloc(1, sizeof(*cfg));
    if (cfg == NULL)
        return NULL;
    cfg->copy_batch_size = PGH_CONFIG_DEFAULT_BATCH_SIZE;
    cfg->copy_batch_max_ms = PGH_CONFIG_DEFAULT_BATCH_MAX_MS;
    cfg->apply_group_max_changes = PGH_CONFIG_DEFAULT_GROUP_CHANGES;
    cfg->apply_group_max_delay_ms = PGH_CONFIG_DEFAULT_GROUP_DELAY_MS;
    cfg->file_rotate_bytes = PGH_CONFIG_DEFAULT_FILE_ROTATE_BYTES;
    cfg->file_rotate_seconds = PGH_CONFIG_DEFAULT_FILE_ROTATE_SECONDS;
    cfg->webhook_timeout_ms = PGH_CONFIG_DEFAULT_WEBHOOK_TIMEOUT_MS;
    cfg->webhook_max_retries = PGH_CONFIG_DEFAULT_WEBHOOK_MAX_RETRIES;
    cfg->webhook_retry_base_ms = PGH_CONFIG_DEFAULT_WEBHOOK_RETRY_BASE_MS;
    cfg->webhook_retry_max_ms = PGH_CONFIG_DEFAULT_WEBHOOK_RETRY_MAX_MS;
    cfg->copy_worker_count = PGH_CONFIG_DEFAULT_WORKERS;
    cfg->copy_use_keyset_pagination = true;
    cfg->disable_triggers = true;
    cfg->copy_format = PGH_COPY_FORMAT_AUTO;
    pgh_config__nats_defaults(&cfg->nats);
    cfg->path = strdup(name);
    if (cfg->path == NULL) {
        free(cfg);
        return NULL;
    }
    return cfg;
}

int pgh_config_parse(pgh_config **out, const char *yaml, size_t len, const char *name,
                     pgh_env_lookup_fn env, void *env_payload, pgh_error *err)
{
    pgh_config__ctx ctx = {
        .name = name != NULL ? name : "config", .env = env, .env_payload = env_payload, .err = err};
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_node_t *root = NULL;
    bool have_parser = false, have_doc = false;
    int rc = 0;
    *out = NULL;
    if (yaml == NULL) {
        yaml = "";
        len = 0;
    }
    ctx.cfg = pgh_config__new(ctx.name);
    have_parser = ctx.cfg != NULL && yaml_parser_initialize(&parser);
    if (!have_parser) {
        rc = pgh_config__nomem(&ctx);
        goto done;
    }
    rc = pgh_config__check_nesting(&ctx, yaml, len);
    if (rc != 0)
        goto done;
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    have_doc = yaml_parser_load(&parser, &doc);
    rc = have_doc ? expect_end(&ctx, &parser, yaml, len) : syntax_error(&ctx, &parser, yaml, len);
    if (rc == 0)
        rc = top_mapping(&ctx, &doc, &root);
    if (rc == 0) {
        ctx.doc = &doc;
        rc = pgh_config__read_top(&ctx, root);
    }
done:
    pgh_config__dispose_tables(&ctx);
    if (have_doc)
        yaml_document_delete(&doc);
    if (have_parser)
        yaml_parser_delete(&parser);
    if (rc != 0)
        pgh_config_free(ctx.cfg);
    else
        *out = ctx.cfg;
    return rc;
}

/* Read the whole file at path into *out (free()) and *len. */
static int read_file(const char *path, char **out, size_t *len, pgh_error *err)
{
    char chunk[8192];
    char reason[128] = "larger than 16 MiB";
    bool too_big = false;
    int read_errno = 0;
    pgh_buf b;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        strerror_r(errno, reason, sizeof(reason));
        return pgh_error_set(err, PGH_ECONFIG, "%s: cannot open the configuration file: %s", path,
                             reason);
    }
    pgh_buf_init(&b, 0);
    for (size_t n = fread(chunk, 1, sizeof(chunk), f); n > 0 && !too_big;
         n = fread(chunk, 1, sizeof(chunk), f)) {
        too_big = n > FILE_MAX - b.len;
        pgh_buf_append(&b, chunk, n);
    }
    if (ferror(f))
        read_errno = errno;
    fclose(f);
    *len = b.len;
    *out = too_big || read_errno != 0 ? NULL : pgh_buf_take(&b);
    pgh_buf_dispose(&b);
    if (read_errno != 0)
        strerror_r(read_errno, reason, sizeof(reason));
    if (too_big || read_errno != 0)
        return pgh_error_set(err, PGH_ECONFIG, "%s: cannot read the configuration file: %s", path,
                             reason);
    if (*out == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "%s: out of memory reading the file", path);
    return 0;
}

int pgh_config_load(pgh_config **out, const char *path, pgh_env_lookup_fn env, void *env_payload,
                    pgh_error *err)
{
    char *text = NULL;
    size_t len = 0;
    *out = NULL;
    int rc = read_file(path, &text, &len, err);
    if (rc != 0)
        return rc;
    rc = pgh_config_parse(out, text, len, path, env, env_payload, err);
    free(text);
    return rc;
}

void pgh_config_free(pgh_config *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < cfg->ntables; i++) {
        free(cfg->tables[i].source_schema);
        free(cfg->tables[i].source_table);
        free(cfg->tables[i].dest_schema);
        free(cfg->tables[i].dest_table);
    }
    free(cfg->tables);
    free(cfg->table_lines);
    for (size_t i = 0; i < cfg->nexclude; i++) {
        free(cfg->exclude_tables[i].schema);
        free(cfg->exclude_tables[i].table);
    }
    free(cfg->exclude_tables);
    free(cfg->path);
    free(cfg->source_connection);
    free(cfg->source_replication_connection);
    free(cfg->destination_connection);
    free(cfg->publication_name);
    free(cfg->slot_name);
    free(cfg->state_schema);
    free(cfg->state_file);
    pgh_config__nats_dispose(&cfg->nats);
    free(cfg->duckdb_path);
    free(cfg->duckdb_library);
    free(cfg->file_directory);
    free(cfg->rules_file);
    free(cfg->webhook_url);
    if (cfg->webhook_secret) /* not left in freed memory */
        memset(cfg->webhook_secret, 0, strlen(cfg->webhook_secret));
    free(cfg->webhook_secret);
    free(cfg->webhook_secret_file);
    free(cfg->webhook_ca_file);
    free(cfg);
}
