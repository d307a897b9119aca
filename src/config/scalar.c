/*
 * config/scalar.c - typed values: string, PostgreSQL name, integer, boolean.
 *
 * Numbers and booleans must be plain (unquoted) YAML scalars: a quoted "10" or "true" is a
 * string, and saying so is clearer than guessing. Integers are plain decimal: no sign, no
 * exponent, no fraction, no leading zero (YAML 1.1 would read 010 as octal), no "_".
 * An empty value (nothing, "~", "null") is an error for every key: leave the key out to get
 * its default. ${VAR} is expanded in strings only.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_int.h"

static const char *text(const yaml_node_t *node)
{
    return (const char *)node->data.scalar.value;
}

static bool quoted(const yaml_node_t *node)
{
    return node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
}

/* What to add to a number or boolean error when the text looks like it wanted expansion. */
static const char *env_hint(const yaml_node_t *node)
{
    if (node->type == YAML_SCALAR_NODE && strstr(text(node), "${") != NULL)
        return "; ${VAR} is expanded in string values only";
    return "";
}

/* A string scalar, expanded as a connection string (conninfo) or as plain text. */
static int read_text(pgh_config__ctx *ctx, const char *path, yaml_node_t *node, char **out,
                     bool *from_env, bool conninfo)
{
    char q[PGH_CONFIG__QUOTE_MAX];
    char *value = NULL;
    bool env_used = false;
    size_t line = pgh_config__line(node);
    if (node->type != YAML_SCALAR_NODE || pgh_config__is_null(node))
        return pgh_config__fail(ctx, line, "%s: expected a string, got %s", path,
                                pgh_config__describe(q, sizeof(q), node));
    if (strlen(text(node)) != node->data.scalar.length)
        return pgh_config__fail(ctx, line, "%s: contains a NUL character", path);
    size_t len = node->data.scalar.length;
    int rc = conninfo
                 ? pgh_config__expand_conninfo(ctx, line, path, text(node), len, &value, &env_used)
                 : pgh_config__expand(ctx, line, path, text(node), len, &value, &env_used);
    if (rc != 0)
        return rc;
    free(*out);
    *out = value;
    if (from_env != NULL)
        *from_env = env_used;
    return 0;
}

int pgh_config__read_string(pgh_config__ctx *ctx, const char *path, yaml_node_t *node, char **out,
                            bool *from_env)
{
    return read_text(ctx, path, node, out, from_env, false);
}

int pgh_config__read_conninfo(pgh_config__ctx *ctx, const char *path, yaml_node_t *node, char **out)
{
    return read_text(ctx, path, node, out, NULL, true);
}

int pgh_config__read_name(pgh_config__ctx *ctx, const char *path, yaml_node_t *node, char **out,
                          bool *from_env)
{
    char *value = NULL;
    bool env_used = false;
    int rc = pgh_config__read_string(ctx, path, node, &value, &env_used);
    if (rc != 0)
        return rc;
    size_t len = strlen(value);
    if (len == 0)
        rc = pgh_config__fail(ctx, pgh_config__line(node), "%s: expected a name, got \"\"", path);
    else if (len > PGH_CONFIG__NAME_MAX)
        rc = pgh_config__fail(ctx, pgh_config__line(node),
                              "%s: longer than %d bytes, PostgreSQL's limit for names", path,
                              PGH_CONFIG__NAME_MAX);
    if (rc != 0) {
        free(value);
        return rc;
    }
    free(*out);
    *out = value;
    if (from_env != NULL)
        *from_env = env_used;
    return 0;
}

/* Parse plain decimal digits into *out; false on anything else or a value above max. */
static bool parse_decimal(const char *s, size_t len, int64_t max, int64_t *out)
{
    int64_t v = 0;
    if (len == 0 || (s[0] == '0' && len > 1))
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        int digit = s[i] - '0';
        if (digit > max || v > (max - digit) / 10) /* (max - digit) / 10 rounds -1 up to 0 */
            return false;
        v = v * 10 + digit;
    }
    *out = v;
    return true;
}

int pgh_config__read_int(pgh_config__ctx *ctx, const char *path, yaml_node_t *node, int64_t min,
                         int64_t max, int64_t *out)
{
    char q[PGH_CONFIG__QUOTE_MAX];
    int64_t v = 0;
    size_t line = pgh_config__line(node);
    if (node->type == YAML_SCALAR_NODE && quoted(node))
        return pgh_config__fail(ctx, line,
                                "%s: expected an integer from %" PRId64 " to %" PRId64
                                ", got the quoted string %s; remove the quotes",
                                path, min, max, pgh_config__describe(q, sizeof(q), node));
    if (node->type != YAML_SCALAR_NODE ||
        !parse_decimal(text(node), node->data.scalar.length, max, &v) || v < min)
        return pgh_config__fail(
            ctx, line, "%s: expected an integer from %" PRId64 " to %" PRId64 ", got %s%s", path,
            min, max, pgh_config__describe(q, sizeof(q), node), env_hint(node));
    *out = v;
    return 0;
}

/* true/false and the YAML 1.1 spellings people use for them. */
static bool parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on"};
    static const char *const no[] = {"false", "no", "off"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

int pgh_config__read_bool(pgh_config__ctx *ctx, const char *path, yaml_node_t *node, bool *out)
{
    char q[PGH_CONFIG__QUOTE_MAX];
    size_t line = pgh_config__line(node);
    if (node->type == YAML_SCALAR_NODE && quoted(node))
        return pgh_config__fail(ctx, line,
                                "%s: expected true or false, got the quoted string %s; remove "
                                "the quotes",
                                path, pgh_config__describe(q, sizeof(q), node));
    if (node->type != YAML_SCALAR_NODE || strlen(text(node)) != node->data.scalar.length ||
        !parse_bool(text(node), out))
        return pgh_config__fail(ctx, line, "%s: expected true or false, got %s%s", path,
                                pgh_config__describe(q, sizeof(q), node), env_hint(node));
    return 0;
}
