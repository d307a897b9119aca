/*
 * A configuration built in code (pghost/config.h): defaults, setters, the cross-key checks the
 * YAML front end runs too, and a deep copy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_int.h"

static char *dup_or_null(const char *s, bool *failed)
{
    if (s == NULL)
        return NULL;
    char *d = strdup(s);
    if (d == NULL)
        *failed = true;
    return d;
}

int pgh_config_new(pgh_config **out, pgh_error *err)
{
    *out = pgh_config__new("code");
    return *out ? 0 : pgh_error_set(err, PGH_ENOMEM, "out of memory");
}

int pgh_config_set_string(char **field, const char *value, pgh_error *err)
{
    char *copy = value ? strdup(value) : NULL;
    if (value && copy == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    free(*field);
    *field = copy;
    return 0;
}

int pgh_config_add_table(pgh_config *cfg, const char *source_schema, const char *source_table,
                         const char *dest_schema, const char *dest_table, pgh_error *err)
{
    if (source_table == NULL || source_table[0] == '\0')
        return pgh_error_set(err, PGH_ECONFIG, "a table needs its source table name");
    pgh_table_map *t = realloc(cfg->tables, (cfg->ntables + 1) * sizeof(*t));
    if (t == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    cfg->tables = t;
    size_t *lines = realloc(cfg->table_lines, (cfg->ntables + 1) * sizeof(*lines));
    if (lines == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    cfg->table_lines = lines;
    /* "schema.table" names both when no schema is given, as a tables: entry of the file */
    const char *dot = source_schema ? NULL : strchr(source_table, '.');
    char schema[256];
    snprintf(schema, sizeof(schema), "%.*s", dot ? (int)(dot - source_table) : 255,
             dot ? source_table : (source_schema ? source_schema : "public"));
    const char *name = dot ? dot + 1 : source_table;
    bool failed = false;
    pgh_table_map m = {dup_or_null(schema, &failed), dup_or_null(name, &failed),
                       dup_or_null(dest_schema ? dest_schema : schema, &failed),
                       dup_or_null(dest_table ? dest_table : name, &failed)};
    lines[cfg->ntables] = 0;
    t[cfg->ntables++] = m;
    return failed ? pgh_error_set(err, PGH_ENOMEM, "out of memory") : 0;
}

void pgh_config_clear_tables(pgh_config *cfg)
{
    for (size_t i = 0; i < cfg->ntables; i++) {
        free(cfg->tables[i].source_schema);
        free(cfg->tables[i].source_table);
        free(cfg->tables[i].dest_schema);
        free(cfg->tables[i].dest_table);
    }
    cfg->ntables = 0;
    cfg->tables_resolved = false;
}

int pgh_config_add_exclude(pgh_config *cfg, const char *name, pgh_error *err)
{
    if (name == NULL || name[0] == '\0')
        return pgh_error_set(err, PGH_ECONFIG, "an excluded table needs a name");
    pgh_table_pattern *e = realloc(cfg->exclude_tables, (cfg->nexclude + 1) * sizeof(*e));
    if (e == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    cfg->exclude_tables = e;
    const char *dot = strchr(name, '.');
    bool failed = false;
    char *schema = dot ? strndup(name, (size_t)(dot - name)) : dup_or_null("public", &failed);
    e[cfg->nexclude] = (pgh_table_pattern){schema, dup_or_null(dot ? dot + 1 : name, &failed), 0};
    cfg->nexclude++;
    return failed || schema == NULL ? pgh_error_set(err, PGH_ENOMEM, "out of memory") : 0;
}

void pgh_config_clear_excludes(pgh_config *cfg)
{
    for (size_t i = 0; i < cfg->nexclude; i++) {
        free(cfg->exclude_tables[i].schema);
        free(cfg->exclude_tables[i].table);
    }
    cfg->nexclude = 0;
    cfg->tables_resolved = false;
}

/* A table named outright that an exclusion also matches: one of the two is a mistake (as
 * the file's parser says). */
static int check_not_excluded(const pgh_config *cfg, pgh_error *err)
{
    for (size_t i = 0; i < cfg->ntables; i++) {
        const pgh_table_map *t = &cfg->tables[i];
        if (pgh_config_is_pattern(t->source_schema) || pgh_config_is_pattern(t->source_table))
            continue;
        for (size_t k = 0; k < cfg->nexclude; k++) {
            const pgh_table_pattern *e = &cfg->exclude_tables[k];
            if (pgh_config_pattern_match(e->schema, t->source_schema) &&
                pgh_config_pattern_match(e->table, t->source_table))
                return pgh_error_set(err, PGH_ECONFIG,
                                     "table %s.%s is named and also excluded: drop one of the two",
                                     t->source_schema, t->source_table);
        }
    }
    return 0;
}

int pgh_config_check(pgh_config *cfg, pgh_error *err)
{
    if (cfg->source_connection == NULL && cfg->source != PGH_SOURCE_NATS)
        return pgh_error_set(err, PGH_ECONFIG, "source_connection is not set");
    if (cfg->publication_name == NULL)
        return pgh_error_set(err, PGH_ECONFIG, "publication_name is not set");
    if (cfg->ntables == 0)
        return pgh_error_set(err, PGH_ECONFIG, "no table is configured: add one");
    if (check_not_excluded(cfg, err) != 0)
        return PGH_ECONFIG;
    if (cfg->destination == PGH_DESTINATION_FILE && cfg->file_directory == NULL)
        return pgh_error_set(err, PGH_ECONFIG,
                             "destination: file needs file_directory: set it to the directory "
                             "the files go to");
    if (cfg->copy_batch_size < 1 || cfg->copy_worker_count < 1 ||
        cfg->copy_worker_count > PGH_CONFIG_MAX_WORKERS)
        return pgh_error_set(err, PGH_ECONFIG,
                             "copy_batch_size must be at least 1 and copy_worker_count 1..%d",
                             PGH_CONFIG_MAX_WORKERS);
    if (cfg->slot_name == NULL) {
        cfg->slot_name = pgh_config__default_slot_name(cfg->publication_name);
        if (cfg->slot_name == NULL)
            return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    }
    if (!pgh_config__slot_name_valid(cfg->slot_name))
        return pgh_error_set(err, PGH_ECONFIG,
                             "slot_name must match ^[a-z0-9_]{1,63}$ (PostgreSQL's rule for "
                             "replication slot names), got \"%s\"",
                             cfg->slot_name);
    if (cfg->state_schema == NULL &&
        pgh_config_set_string(&cfg->state_schema, PGH_CONFIG_DEFAULT_STATE_SCHEMA, err) != 0)
        return PGH_ENOMEM;
    return pgh_config_check_webhook(cfg, err);
}

int pgh_config_check_destination(const pgh_config *cfg, pgh_error *err)
{
    switch (cfg->destination) {
    case PGH_DESTINATION_POSTGRES:
        if (cfg->destination_connection == NULL)
            return pgh_error_set(err, PGH_ECONFIG,
                                 "destination: postgres (the default) needs "
                                 "destination_connection, the server to write to: add it, or "
                                 "choose stdout, file, duckdb or webhook (destination:, or --to)");
        return 0;
    case PGH_DESTINATION_FILE:
        if (cfg->file_directory == NULL)
            return pgh_error_set(err, PGH_ECONFIG,
                                 "destination: file needs file_directory: set it to the directory "
                                 "the files go to");
        return 0;
    case PGH_DESTINATION_DUCKDB:
        if (cfg->duckdb_path == NULL)
            return pgh_error_set(err, PGH_ECONFIG,
                                 "destination: duckdb needs duckdb_path, the DuckDB file to "
                                 "write: add it");
        return 0;
    case PGH_DESTINATION_WEBHOOK:
        return pgh_config_check_webhook(cfg, err);
    default: /* stdout needs nothing; nats: pgh_nats_config_defaults */
        return 0;
    }
}

int pgh_config_check_webhook(const pgh_config *cfg, pgh_error *err)
{
    if (cfg->destination == PGH_DESTINATION_WEBHOOK && cfg->webhook_url == NULL)
        return pgh_error_set(err, PGH_ECONFIG,
                             "destination: webhook needs webhook_url (the http:// or https:// "
                             "endpoint batches are POSTed to)");
    if (cfg->webhook_url != NULL && strncasecmp(cfg->webhook_url, "http://", 7) != 0 &&
        strncasecmp(cfg->webhook_url, "https://", 8) != 0)
        return pgh_error_set(err, PGH_ECONFIG,
                             "webhook_url must be an http:// or https:// URL (the endpoint "
                             "batches are POSTed to)");
    if (cfg->webhook_secret != NULL && cfg->webhook_secret_file != NULL)
        return pgh_error_set(err, PGH_ECONFIG,
                             "webhook_secret and webhook_secret_file are both set: keep one");
    if (cfg->webhook_retry_max_ms < cfg->webhook_retry_base_ms)
        return pgh_error_set(err, PGH_ECONFIG,
                             "webhook_retry_max_ms (%lld) is below webhook_retry_base_ms (%lld): "
                             "raise it",
                             (long long)cfg->webhook_retry_max_ms,
                             (long long)cfg->webhook_retry_base_ms);
    return 0;
}

static int dup_tables(pgh_config *c, const pgh_config *cfg)
{
    bool failed = false;
    c->tables = calloc(cfg->ntables + 1, sizeof(*c->tables));
    c->table_lines = calloc(cfg->ntables + 1, sizeof(*c->table_lines));
    c->exclude_tables = calloc(cfg->nexclude + 1, sizeof(*c->exclude_tables));
    if (!c->tables || !c->table_lines || !c->exclude_tables)
        return PGH_ENOMEM;
    for (size_t i = 0; i < cfg->ntables; i++, c->ntables++) {
        const pgh_table_map *m = &cfg->tables[i];
        c->tables[i] = (pgh_table_map){
            dup_or_null(m->source_schema, &failed), dup_or_null(m->source_table, &failed),
            dup_or_null(m->dest_schema, &failed), dup_or_null(m->dest_table, &failed)};
        c->table_lines[i] = cfg->table_lines ? cfg->table_lines[i] : 0;
    }
    for (size_t i = 0; i < cfg->nexclude; i++, c->nexclude++)
        c->exclude_tables[i] = (pgh_table_pattern){
            dup_or_null(cfg->exclude_tables[i].schema, &failed),
            dup_or_null(cfg->exclude_tables[i].table, &failed), cfg->exclude_tables[i].line};
    return failed ? PGH_ENOMEM : 0;
}

int pgh_config_dup(pgh_config **out, const pgh_config *cfg, pgh_error *err)
{
    *out = NULL;
    pgh_config *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    *c = *cfg;
    bool failed = false;
    c->path = dup_or_null(cfg->path, &failed);
    c->source_connection = dup_or_null(cfg->source_connection, &failed);
    c->source_replication_connection = dup_or_null(cfg->source_replication_connection, &failed);
    c->destination_connection = dup_or_null(cfg->destination_connection, &failed);
    c->publication_name = dup_or_null(cfg->publication_name, &failed);
    c->slot_name = dup_or_null(cfg->slot_name, &failed);
    c->state_schema = dup_or_null(cfg->state_schema, &failed);
    c->state_file = dup_or_null(cfg->state_file, &failed);
    if (pgh_config__nats_dup(&c->nats, &cfg->nats) != 0)
        failed = true;
    c->duckdb_path = dup_or_null(cfg->duckdb_path, &failed);
    c->duckdb_library = dup_or_null(cfg->duckdb_library, &failed);
    c->file_directory = dup_or_null(cfg->file_directory, &failed);
    c->rules_file = dup_or_null(cfg->rules_file, &failed);
    c->webhook_url = dup_or_null(cfg->webhook_url, &failed);
    c->webhook_secret = dup_or_null(cfg->webhook_secret, &failed);
    c->webhook_secret_file = dup_or_null(cfg->webhook_secret_file, &failed);
    c->webhook_ca_file = dup_or_null(cfg->webhook_ca_file, &failed);
    c->tables = NULL;
    c->table_lines = NULL;
    c->exclude_tables = NULL;
    c->ntables = 0;
    c->nexclude = 0;
    if (dup_tables(c, cfg) != 0 || failed) {
        pgh_config_free(c);
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    }
    *out = c;
    return 0;
}
