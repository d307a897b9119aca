/*
 * config/tables.c - the tables to copy: the "tables:" list, defaults, unique destinations.
 *
 * A table is four keys. source_table_name is required; source_schema_name defaults to
 * "public"; destination_schema_name and destination_table_name default to the source's, so
 * that "sales.orders" lands in "sales.orders". The single table given by top-level keys (the
 * original design) comes first, then the list in file order. Two tables may not share a
 * destination: their rows would be merged into one table. An entry may also be a string,
 * "schema.table", and a source name may be a pattern (pattern.c): such an entry keeps each
 * table's own name at the destination, and is expanded against the source later
 * (pghost/tables.h), where duplicate destinations are checked again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"

#define DEFAULT_SCHEMA "public"

static const char *const table_keys[PGH_CONFIG__TK_COUNT] = {
    [PGH_CONFIG__TK_SOURCE_SCHEMA] = "source_schema_name",
    [PGH_CONFIG__TK_SOURCE_TABLE] = "source_table_name",
    [PGH_CONFIG__TK_DEST_SCHEMA] = "destination_schema_name",
    [PGH_CONFIG__TK_DEST_TABLE] = "destination_table_name",
};

static const pgh_config__keyset table_keyset = {
    .names = table_keys,
    .count = PGH_CONFIG__TK_COUNT,
    .hint = "a table takes source_schema_name, source_table_name, destination_schema_name and "
            "destination_table_name",
};

int pgh_config__read_table_key(pgh_config__ctx *ctx, pgh_config__table *t, size_t key,
                               const char *path, yaml_node_t *value)
{
    char **field[PGH_CONFIG__TK_COUNT] = {&t->map.source_schema, &t->map.source_table,
                                          &t->map.dest_schema, &t->map.dest_table};
    bool from_env = false;
    int rc = pgh_config__read_name(ctx, path, value, field[key], &from_env);
    if (rc != 0)
        return rc;
    t->from_env = t->from_env || from_env;
    if (key == PGH_CONFIG__TK_SOURCE_TABLE && t->line == 0)
        t->line = pgh_config__line(value);
    return 0;
}

static int entry_key(pgh_config__ctx *ctx, size_t key, const char *path, yaml_node_t *value,
                     void *payload)
{
    return pgh_config__read_table_key(ctx, payload, key, path, value);
}

/* The short form of an entry: "schema.table" (either part may be a pattern) or "table". */
static int read_short_entry(pgh_config__ctx *ctx, size_t index, yaml_node_t *node)
{
    char path[PGH_CONFIG__PATH_MAX];
    pgh_config__table *t = &ctx->tables[ctx->ntables++];
    t->line = pgh_config__line(node);
    snprintf(path, sizeof(path), "tables[%zu]", index);
    return pgh_config__read_qualified(ctx, path, node, &t->map.source_schema,
                                      &t->map.source_table, &t->from_env);
}

static int read_entry(pgh_config__ctx *ctx, size_t index, yaml_node_t *node)
{
    char q[PGH_CONFIG__QUOTE_MAX];
    char prefix[PGH_CONFIG__PATH_MAX];
    size_t lines[PGH_CONFIG__TK_COUNT] = {0};
    if (node->type == YAML_SCALAR_NODE && !pgh_config__is_null(node))
        return read_short_entry(ctx, index, node);
    if (node->type != YAML_MAPPING_NODE)
        return pgh_config__fail(ctx, pgh_config__line(node),
                                "tables[%zu]: expected a mapping with source_table_name or a "
                                "\"schema.table\" name, got %s",
                                index, pgh_config__describe(q, sizeof(q), node));
    pgh_config__table *t = &ctx->tables[ctx->ntables++];
    t->line = pgh_config__line(node);
    snprintf(prefix, sizeof(prefix), "tables[%zu].", index);
    int rc = pgh_config__walk(ctx, node, &table_keyset, prefix, lines, entry_key, t);
    if (rc != 0)
        return rc;
    if (lines[PGH_CONFIG__TK_SOURCE_TABLE] == 0)
        return pgh_config__fail(ctx, t->line, "tables[%zu]: missing required key \"%s\"", index,
                                table_keys[PGH_CONFIG__TK_SOURCE_TABLE]);
    return 0;
}

int pgh_config__read_tables(pgh_config__ctx *ctx, yaml_node_t *list)
{
    char q[PGH_CONFIG__QUOTE_MAX];
    if (list->type != YAML_SEQUENCE_NODE)
        return pgh_config__fail(ctx, pgh_config__line(list),
                                "tables: expected a list of tables, got %s",
                                pgh_config__describe(q, sizeof(q), list));
    size_t n = (size_t)(list->data.sequence.items.top - list->data.sequence.items.start);
    if (n == 0)
        return 0;
    ctx->tables = calloc(n, sizeof(*ctx->tables));
    if (ctx->tables == NULL)
        return pgh_config__nomem(ctx);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *item = yaml_document_get_node(ctx->doc, list->data.sequence.items.start[i]);
        int rc = read_entry(ctx, i, item);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static bool is_pattern_entry(const pgh_config__table *t)
{
    return pgh_config_is_pattern(t->map.source_schema) ||
           pgh_config_is_pattern(t->map.source_table);
}

/* A pattern entry keeps each table's name; its destination schema, when set, is one name. */
static int check_pattern_entry(pgh_config__ctx *ctx, const pgh_config__table *t)
{
    if (!is_pattern_entry(t))
        return 0;
    if (t->map.dest_table != NULL)
        return pgh_config__fail(ctx, t->line,
                                "destination_table_name cannot be used with a pattern: each "
                                "matching table keeps its name (list the table on its own to "
                                "rename it)");
    if (pgh_config_is_pattern(t->map.dest_schema))
        return pgh_config__fail(ctx, t->line,
                                "destination_schema_name must be a name, not a pattern");
    return 0;
}

/* An entry that names one table may not be excluded too: one of the two is a mistake. */
static int check_not_excluded(pgh_config__ctx *ctx, const pgh_config__table *t)
{
    const pgh_config *cfg = ctx->cfg;
    if (is_pattern_entry(t))
        return 0;
    for (size_t i = 0; i < cfg->nexclude; i++) {
        const pgh_table_pattern *e = &cfg->exclude_tables[i];
        if (!pgh_config_pattern_match(e->schema, t->map.source_schema) ||
            !pgh_config_pattern_match(e->table, t->map.source_table))
            continue;
        if (t->from_env)
            return pgh_config__fail(ctx, t->line,
                                    "this table is also excluded by exclude_tables on line %zu; "
                                    "remove one of the two",
                                    e->line);
        return pgh_config__fail(ctx, t->line,
                                "table %s.%s is also excluded by exclude_tables on line %zu; "
                                "remove one of the two",
                                t->map.source_schema, t->map.source_table, e->line);
    }
    return 0;
}

/* Fill in the names not configured; false when out of memory. */
static bool apply_defaults(pgh_table_map *m)
{
    if (m->source_schema == NULL)
        m->source_schema = strdup(DEFAULT_SCHEMA);
    if (m->dest_schema == NULL && m->source_schema != NULL)
        m->dest_schema = strdup(m->source_schema);
    if (m->dest_table == NULL)
        m->dest_table = strdup(m->source_table);
    return m->source_schema != NULL && m->dest_schema != NULL && m->dest_table != NULL;
}

typedef struct ranked {
    const pgh_config__table *table; /* borrowed */
    size_t index;                   /* position in file order */
} ranked;

static bool same_destination(const pgh_config__table *a, const pgh_config__table *b)
{
    return strcmp(a->map.dest_schema, b->map.dest_schema) == 0 &&
           strcmp(a->map.dest_table, b->map.dest_table) == 0;
}

/* Order by destination, then file order, so that each group of equals starts with the first. */
static int by_destination(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    int c = strcmp(x->table->map.dest_schema, y->table->map.dest_schema);
    if (c == 0)
        c = strcmp(x->table->map.dest_table, y->table->map.dest_table);
    if (c == 0)
        c = x->index < y->index ? -1 : x->index > y->index;
    return c;
}

static int duplicate(pgh_config__ctx *ctx, const pgh_config__table *first,
                     const pgh_config__table *again)
{
    char both[2 * PGH_CONFIG__NAME_MAX + 2];
    char q[PGH_CONFIG__QUOTE_MAX + PGH_CONFIG__NAME_MAX * 2];
    if (first->from_env || again->from_env)
        return pgh_config__fail(ctx, again->line,
                                "duplicate destination table (also the destination of the table "
                                "on line %zu)",
                                first->line);
    snprintf(both, sizeof(both), "%s.%s", again->map.dest_schema, again->map.dest_table);
    return pgh_config__fail(ctx, again->line,
                            "duplicate destination table %s (also the destination of the table "
                            "on line %zu)",
                            pgh_config__quote(q, sizeof(q), both, strlen(both)), first->line);
}

/* Report the first table, in file order, whose destination an earlier table already has. */
static int check_unique(pgh_config__ctx *ctx, pgh_config__table **order, size_t n)
{
    ranked *r = calloc(n, sizeof(*r));
    size_t head = 0, first = 0, again = 0;
    if (r == NULL)
        return pgh_config__nomem(ctx);
    for (size_t i = 0; i < n; i++)
        r[i] = (ranked){order[i], i};
    qsort(r, n, sizeof(*r), by_destination);
    /* Sorted stably by file order within a destination: a group's second entry is its first
     * repeat, and the repeat with the lowest file position is the one to report. */
    for (size_t i = 1; i < n; i++) {
        /* Patterns are checked once expanded (pghost/tables.h). */
        if (is_pattern_entry(r[i].table) || is_pattern_entry(r[head].table) ||
            !same_destination(r[head].table, r[i].table)) {
            head = i;
            continue;
        }
        if (i == head + 1 && (again == 0 || r[i].index < r[again].index)) {
            first = head;
            again = i;
        }
    }
    int rc = again != 0 ? duplicate(ctx, r[first].table, r[again].table) : 0;
    free(r);
    return rc;
}

int pgh_config__finish_tables(pgh_config__ctx *ctx)
{
    bool has_top = ctx->top.map.source_table != NULL;
    size_t n = ctx->ntables + (has_top ? 1 : 0);
    pgh_config__table **order = NULL;
    int rc = 0;
    if (n == 0)
        return pgh_config__fail(ctx, 0,
                                "no table to copy: set source_table_name or a tables: "
                                "list");
    order = calloc(n, sizeof(*order));
    ctx->cfg->tables = calloc(n, sizeof(*ctx->cfg->tables));
    ctx->cfg->table_lines = calloc(n, sizeof(*ctx->cfg->table_lines));
    if (order == NULL || ctx->cfg->tables == NULL || ctx->cfg->table_lines == NULL) {
        rc = pgh_config__nomem(ctx);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        order[i] = has_top ? (i == 0 ? &ctx->top : &ctx->tables[i - 1]) : &ctx->tables[i];
        rc = check_pattern_entry(ctx, order[i]);
        if (rc != 0)
            goto done;
        if (!apply_defaults(&order[i]->map)) {
            rc = pgh_config__nomem(ctx);
            goto done;
        }
        rc = check_not_excluded(ctx, order[i]);
        if (rc != 0)
            goto done;
        ctx->cfg->table_lines[i] = order[i]->line;
    }
    rc = check_unique(ctx, order, n);
    if (rc != 0)
        goto done;
    for (size_t i = 0; i < n; i++) {
        ctx->cfg->tables[i] = order[i]->map;
        memset(&order[i]->map, 0, sizeof(order[i]->map));
    }
    ctx->cfg->ntables = n;
done:
    free(order);
    return rc;
}

static void map_dispose(pgh_table_map *m)
{
    free(m->source_schema);
    free(m->source_table);
    free(m->dest_schema);
    free(m->dest_table);
    memset(m, 0, sizeof(*m));
}

void pgh_config__dispose_tables(pgh_config__ctx *ctx)
{
    map_dispose(&ctx->top.map);
    for (size_t i = 0; i < ctx->ntables; i++)
        map_dispose(&ctx->tables[i].map);
    free(ctx->tables);
    ctx->tables = NULL;
    ctx->ntables = 0;
}
