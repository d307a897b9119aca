/*
 * config/pattern.c - table name patterns and the "schema.table" string form.
 *
 * A pattern is a name holding * (any run of characters, none included) or ? (one byte); every
 * other byte stands for itself, case included, as PostgreSQL compares names. There is no
 * escape: a table whose name holds * or ? is named through a pattern that matches it.
 * The string form "schema.table" (tables: items, exclude_tables) splits at the first dot; a
 * bare "table" is in the public schema.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"

bool pgh_config_is_pattern(const char *name)
{
    return name != NULL && (strchr(name, '*') != NULL || strchr(name, '?') != NULL);
}

/* Iterative glob: on a mismatch after a *, retry with the * taking one more byte. Linear in
 * practice, never exponential (one backtrack point, the last *). */
bool pgh_config_pattern_match(const char *pattern, const char *name)
{
    const char *p = pattern, *n = name;
    const char *star = NULL, *resume = NULL;
    while (*n != '\0') {
        if (*p == '*') {
            star = p++;
            resume = n;
        } else if (*p != '\0' && (*p == '?' || *p == *n)) {
            p++;
            n++;
        } else if (star != NULL) {
            p = star + 1;
            n = ++resume;
        } else {
            return false;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

/* Check one part of a "schema.table" string; path names it in the message. */
static int check_part(pgh_config__ctx *ctx, size_t line, const char *path, const char *what,
                      size_t len)
{
    if (len == 0)
        return pgh_config__fail(ctx, line, "%s: the %s name is empty; write \"schema.table\"", path,
                                what);
    if (len > PGH_CONFIG__NAME_MAX)
        return pgh_config__fail(ctx, line,
                                "%s: the %s name is longer than %d bytes, PostgreSQL's limit for "
                                "names",
                                path, what, PGH_CONFIG__NAME_MAX);
    return 0;
}

int pgh_config__read_qualified(pgh_config__ctx *ctx, const char *path, yaml_node_t *node,
                               char **schema, char **table, bool *from_env)
{
    char *text = NULL;
    size_t line = pgh_config__line(node);
    int rc = pgh_config__read_string(ctx, path, node, &text, from_env);
    if (rc != 0)
        return rc;
    const char *dot = strchr(text, '.');
    const char *name = dot ? dot + 1 : text;
    if (dot != NULL && strchr(name, '.') != NULL)
        rc = pgh_config__fail(ctx, line,
                              "%s: more than one dot in a \"schema.table\" name; for names "
                              "holding dots use the mapping form (source_schema_name, "
                              "source_table_name)",
                              path);
    if (rc == 0 && dot != NULL)
        rc = check_part(ctx, line, path, "schema", (size_t)(dot - text));
    if (rc == 0)
        rc = check_part(ctx, line, path, "table", strlen(name));
    if (rc == 0) {
        *schema = dot ? strndup(text, (size_t)(dot - text)) : NULL;
        *table = strdup(name);
        if ((dot && *schema == NULL) || *table == NULL)
            rc = pgh_config__nomem(ctx);
    }
    free(text);
    return rc;
}

int pgh_config__read_excludes(pgh_config__ctx *ctx, yaml_node_t *list)
{
    char q[PGH_CONFIG__QUOTE_MAX];
    pgh_config *cfg = ctx->cfg;
    if (list->type != YAML_SEQUENCE_NODE)
        return pgh_config__fail(ctx, pgh_config__line(list),
                                "exclude_tables: expected a list of \"schema.table\" names, got %s",
                                pgh_config__describe(q, sizeof(q), list));
    size_t n = (size_t)(list->data.sequence.items.top - list->data.sequence.items.start);
    if (n == 0)
        return 0;
    cfg->exclude_tables = calloc(n, sizeof(*cfg->exclude_tables));
    if (cfg->exclude_tables == NULL)
        return pgh_config__nomem(ctx);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *item = yaml_document_get_node(ctx->doc, list->data.sequence.items.start[i]);
        pgh_table_pattern *e = &cfg->exclude_tables[cfg->nexclude++];
        char path[PGH_CONFIG__PATH_MAX];
        snprintf(path, sizeof(path), "exclude_tables[%zu]", i);
        e->line = pgh_config__line(item);
        int rc = pgh_config__read_qualified(ctx, path, item, &e->schema, &e->table, NULL);
        if (rc != 0)
            return rc;
        if (e->schema == NULL) {
            e->schema = strdup("public");
            if (e->schema == NULL)
                return pgh_config__nomem(ctx);
        }
    }
    return 0;
}
