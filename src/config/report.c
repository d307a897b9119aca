/*
 * config/report.c - error records for configuration mistakes, and quoting of user text.
 *
 * Messages read "config.yaml:12: copy_worker_count: expected ..., got "ten"". Anything taken
 * from the file is quoted and escaped so that a message is always one printable line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config_int.h"

/* Bytes of user text shown before cutting it short with "...". */
#define SHOWN_MAX 60

int pgh_config__fail(pgh_config__ctx *ctx, size_t line, const char *fmt, ...)
{
    char msg[PGH_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (line == 0)
        return pgh_error_set(ctx->err, PGH_ECONFIG, "%s: %s", ctx->name, msg);
    return pgh_error_set(ctx->err, PGH_ECONFIG, "%s:%zu: %s", ctx->name, line, msg);
}

int pgh_config__nomem(pgh_config__ctx *ctx)
{
    return pgh_error_set(ctx->err, PGH_ENOMEM, "%s: out of memory while reading the configuration",
                         ctx->name);
}

size_t pgh_config__line(const yaml_node_t *node)
{
    return node->start_mark.line + 1;
}

/* Append one byte of user text to dst at *at, escaped; false when it does not fit in room. */
static bool put_escaped(char *dst, size_t *at, size_t room, unsigned char c)
{
    char tmp[5];
    size_t n;
    if (c == '"' || c == '\\') {
        tmp[0] = '\\';
        tmp[1] = (char)c;
        n = 2;
    } else if (c == '\n') {
        memcpy(tmp, "\\n", 2);
        n = 2;
    } else if (c == '\t') {
        memcpy(tmp, "\\t", 2);
        n = 2;
    } else if (c < 0x20 || c == 0x7f) {
        snprintf(tmp, sizeof(tmp), "\\x%02x", c);
        n = 4;
    } else {
        tmp[0] = (char)c;
        n = 1;
    }
    if (*at + n > room)
        return false;
    memcpy(dst + *at, tmp, n);
    *at += n;
    return true;
}

const char *pgh_config__quote(char *dst, size_t cap, const char *s, size_t len)
{
    /* Layout: '"' text ['...'] '"' NUL; keep 5 bytes for the closing part. */
    size_t room = cap < 8 ? 0 : cap - 5;
    size_t limit = room < SHOWN_MAX + 1 ? room : SHOWN_MAX + 1;
    size_t at = 0, i = 0;
    if (cap < 8) {
        if (cap)
            dst[0] = '\0';
        return dst;
    }
    dst[at++] = '"';
    for (; i < len; i++) {
        if (!put_escaped(dst, &at, limit, (unsigned char)s[i]))
            break;
    }
    if (i < len) {
        /* Do not cut a UTF-8 character in half: drop its leading bytes already copied. */
        while (at > 1 && ((unsigned char)dst[at - 1] & 0xc0) == 0x80)
            at--;
        if (at > 1 && (unsigned char)dst[at - 1] >= 0xc0)
            at--;
        memcpy(dst + at, "...", 3);
        at += 3;
    }
    dst[at++] = '"';
    dst[at] = '\0';
    return dst;
}

bool pgh_config__is_null(const yaml_node_t *node)
{
    if (node->type != YAML_SCALAR_NODE || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *v = (const char *)node->data.scalar.value;
    size_t len = node->data.scalar.length;
    return len == 0 || (len == 1 && v[0] == '~') ||
           (len == 4 &&
            (memcmp(v, "null", 4) == 0 || memcmp(v, "Null", 4) == 0 || memcmp(v, "NULL", 4) == 0));
}

const char *pgh_config__describe(char *dst, size_t cap, const yaml_node_t *node)
{
    switch (node->type) {
    case YAML_MAPPING_NODE:
        return "a mapping";
    case YAML_SEQUENCE_NODE:
        return "a list";
    case YAML_SCALAR_NODE:
        if (pgh_config__is_null(node))
            return "an empty value";
        return pgh_config__quote(dst, cap, (const char *)node->data.scalar.value,
                                 node->data.scalar.length);
    default:
        return "nothing";
    }
}
