/*
 * config/walk.c - one YAML mapping against a fixed set of keys.
 *
 * Keys are matched exactly (case-sensitive, like the rest of YAML). A key that is not valid
 * gets the closest valid key as a suggestion, or the caller's hint; a key set twice is an error
 * rather than "last one wins", because a DBA who sets copy_worker_count twice meant one of them.
 */
#include <stdio.h>
#include <string.h>

#include "config_int.h"

/* The key node's text as a C string, or an error when it is not a plain string. */
static int key_text(pgh_config__ctx *ctx, const yaml_node_t *key, const char **out)
{
    char q[PGH_CONFIG__QUOTE_MAX];
    if (key->type != YAML_SCALAR_NODE)
        return pgh_config__fail(ctx, pgh_config__line(key), "expected a key name, got %s",
                                pgh_config__describe(q, sizeof(q), key));
    const char *text = (const char *)key->data.scalar.value;
    if (strlen(text) != key->data.scalar.length)
        return pgh_config__fail(ctx, pgh_config__line(key), "key %s contains a NUL character",
                                pgh_config__quote(q, sizeof(q), text, key->data.scalar.length));
    *out = text;
    return 0;
}

static int unknown_key(pgh_config__ctx *ctx, const yaml_node_t *key, const char *text,
                       const pgh_config__keyset *keys, const char *prefix)
{
    char full[PGH_CONFIG__PATH_MAX + PGH_CONFIG__QUOTE_MAX];
    char q[PGH_CONFIG__QUOTE_MAX];
    size_t len = key->data.scalar.length;
    snprintf(full, sizeof(full), "%s%s", prefix, text);
    pgh_config__quote(q, sizeof(q), full, strlen(full));
    const char *near = pgh_config__suggest(text, len, keys->names, keys->count);
    if (near != NULL)
        return pgh_config__fail(ctx, pgh_config__line(key), "unknown key %s; did you mean \"%s\"?",
                                q, near);
    return pgh_config__fail(ctx, pgh_config__line(key), "unknown key %s; %s", q, keys->hint);
}

static size_t find_key(const pgh_config__keyset *keys, const char *text)
{
    for (size_t i = 0; i < keys->count; i++) {
        if (strcmp(keys->names[i], text) == 0)
            return i;
    }
    return keys->count;
}

int pgh_config__walk(pgh_config__ctx *ctx, yaml_node_t *map, const pgh_config__keyset *keys,
                     const char *prefix, size_t *lines, pgh_config__key_fn fn, void *payload)
{
    for (yaml_node_pair_t *pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top;
         pair++) {
        yaml_node_t *key = yaml_document_get_node(ctx->doc, pair->key);
        yaml_node_t *value = yaml_document_get_node(ctx->doc, pair->value);
        const char *text = NULL;
        char path[PGH_CONFIG__PATH_MAX];
        int rc = key_text(ctx, key, &text);
        if (rc != 0)
            return rc;
        size_t i = find_key(keys, text);
        if (i == keys->count)
            return unknown_key(ctx, key, text, keys, prefix);
        snprintf(path, sizeof(path), "%s%s", prefix, text);
        if (lines[i] != 0)
            return pgh_config__fail(ctx, pgh_config__line(key),
                                    "duplicate key \"%s\" (first set on line %zu)", path, lines[i]);
        lines[i] = pgh_config__line(key);
        rc = fn(ctx, i, path, value, payload);
        if (rc != 0)
            return rc;
    }
    return 0;
}
