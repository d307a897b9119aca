/*
 * config/conninfo.c - ${VAR} in connection strings, substituted into the parsed parameters.
 *
 * Pasting a value into the text would let it change the text's meaning: a password holding a
 * space, a quote, a backslash or "key=" would end the value early or add parameters, and
 * libpq's message about the broken string would quote part of it. So the string as written
 * (key=value pairs or a postgresql:// URI) is parsed by libpq first, ${VAR} is expanded in each
 * parameter's value, and a key=value string is rebuilt with every value quoted as libpq needs:
 * parsing the result gives back exactly the same keywords and values.
 *
 * A string that is one ${VAR} and nothing else is the whole connection string, taken as it is.
 * Messages name the key, never a value nor libpq's parse message (it quotes the text).
 */
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "config_int.h"
#include "util/buf.h"

/* True when s (len bytes) is "${NAME}" and nothing else. */
static bool whole_reference(const char *s, size_t len)
{
    return len > 3 && s[0] == '$' && s[1] == '{' && s[len - 1] == '}' &&
           memchr(s + 2, '}', len - 3) == NULL;
}

/* Expand each parsed value into b as key='value' pairs. */
static int rebuild(pgh_config__ctx *ctx, size_t line, const char *path, PQconninfoOption *opts,
                   pgh_buf *b, bool *from_env)
{
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (o->val == NULL)
            continue;
        char *value = NULL;
        bool used = false;
        char where[PGH_CONFIG__PATH_MAX + 40];
        snprintf(where, sizeof(where), "%s (%s)", path, o->keyword);
        int rc = pgh_config__expand(ctx, line, where, o->val, strlen(o->val), &value, &used);
        if (rc != 0)
            return rc;
        *from_env = *from_env || used;
        if (b->len)
            pgh_buf_putc(b, ' ');
        pgh_buf_put_conninfo_pair(b, o->keyword, value);
        free(value);
    }
    return 0;
}

int pgh_config__expand_conninfo(pgh_config__ctx *ctx, size_t line, const char *path, const char *s,
                                size_t len, char **out, bool *from_env)
{
    *out = NULL;
    *from_env = false;
    if (memchr(s, '$', len) == NULL || whole_reference(s, len))
        return pgh_config__expand(ctx, line, path, s, len, out, from_env);
    char *errmsg = NULL;
    PQconninfoOption *opts = PQconninfoParse(s, &errmsg);
    if (opts == NULL) {
        bool nomem = errmsg == NULL;
        PQfreemem(errmsg);
        if (nomem)
            return pgh_config__nomem(ctx);
        return pgh_config__fail(ctx, line,
                                "%s: not a valid connection string (key=value pairs or a "
                                "postgresql:// URI, with ${VAR} where a value goes): put values "
                                "holding spaces or quotes in single quotes",
                                path);
    }
    pgh_buf b;
    pgh_buf_init(&b, 0);
    int rc = rebuild(ctx, line, path, opts, &b, from_env);
    if (rc == 0) {
        *out = pgh_buf_take(&b);
        if (*out == NULL)
            rc = pgh_config__nomem(ctx);
    }
    pgh_buf_dispose(&b);
    PQconninfoFree(opts);
    return rc;
}
