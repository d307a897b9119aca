/*
 * config/env.c - ${VAR} expansion in string values.
 *
 *   ${NAME}   the value of NAME from the caller's lookup function; unset is an error
 *   $$        a literal "$"
 *   $NAME     an error: almost always a forgotten pair of braces
 *   $ + other a literal "$" (so "pa$5word" needs no escaping)
 *
 * NAME is [A-Za-z_][A-Za-z0-9_]*. Values are substituted as they are, never re-expanded.
 * Messages name the key and the variable but never print a value, nor the text around a
 * malformed reference: either may be part of a password.
 */
#include <ctype.h>
#include <string.h>

#include "config_int.h"
#include "util/buf.h"

/* Longest variable name accepted. */
#define VAR_NAME_MAX 255

static bool valid_name(const char *s, size_t len)
{
    if (len == 0 || len > VAR_NAME_MAX || isdigit((unsigned char)s[0]))
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(isalnum(c) || c == '_') || c > 0x7f)
            return false;
    }
    return true;
}

/* Expand the ${NAME} that starts at s[*at]; advance *at past the closing brace. */
static int expand_var(pgh_config__ctx *ctx, size_t line, const char *path, const char *s,
                      size_t len, size_t *at, pgh_buf *b)
{
    size_t start = *at + 2;
    const char *close = memchr(s + start, '}', len - start);
    if (close == NULL)
        return pgh_config__fail(
            ctx, line, "%s: \"${\" without a closing \"}\"; write $$ for a literal \"$\"", path);
    size_t name_len = (size_t)(close - (s + start));
    if (!valid_name(s + start, name_len))
        return pgh_config__fail(ctx, line,
                                "%s: invalid variable name in \"${...}\": use letters, digits "
                                "and _, not starting with a digit; write $$ for a literal \"$\"",
                                path);
    char name[VAR_NAME_MAX + 1];
    memcpy(name, s + start, name_len);
    name[name_len] = '\0';
    const char *value = ctx->env != NULL ? ctx->env(name, ctx->env_payload) : NULL;
    if (value == NULL)
        return pgh_config__fail(ctx, line, "%s: environment variable \"%s\" is not set", path,
                                name);
    pgh_buf_puts(b, value);
    *at = (size_t)(close - s) + 1;
    return 0;
}

/* Handle the "$" at s[*at]; sets *from_env when a variable was substituted. */
static int expand_dollar(pgh_config__ctx *ctx, size_t line, const char *path, const char *s,
                         size_t len, size_t *at, pgh_buf *b, bool *from_env)
{
    char next = *at + 1 < len ? s[*at + 1] : '\0';
    if (next == '$') {
        pgh_buf_putc(b, '$');
        *at += 2;
        return 0;
    }
    if (next == '{') {
        *from_env = true;
        return expand_var(ctx, line, path, s, len, at, b);
    }
    if (isalpha((unsigned char)next) || next == '_')
        return pgh_config__fail(ctx, line,
                                "%s: \"$\" followed by a name: write ${NAME} to use an environment "
                                "variable, or $$ for a literal \"$\"",
                                path);
    pgh_buf_putc(b, '$');
    *at += 1;
    return 0;
}

int pgh_config__expand(pgh_config__ctx *ctx, size_t line, const char *path, const char *s,
                       size_t len, char **out, bool *from_env)
{
    pgh_buf b;
    int rc = 0;
    size_t at = 0;
    *out = NULL;
    *from_env = false;
    pgh_buf_init(&b, 0);
    while (at < len) {
        const char *dollar = memchr(s + at, '$', len - at);
        size_t plain = dollar != NULL ? (size_t)(dollar - (s + at)) : len - at;
        pgh_buf_append(&b, s + at, plain);
        at += plain;
        if (at == len)
            break;
        rc = expand_dollar(ctx, line, path, s, len, &at, &b, from_env);
        if (rc != 0)
            goto done;
    }
    *out = pgh_buf_take(&b);
    if (*out == NULL)
        rc = pgh_config__nomem(ctx);
done:
    pgh_buf_dispose(&b);
    return rc;
}
