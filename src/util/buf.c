/* The capped string builder: see include/pghost/buf.h. */
#include "util/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pgh_buf_init(pgh_buf *b, size_t max_len)
{
    memset(b, 0, sizeof(*b));
    b->max_len = max_len ? max_len : PGH_BUF_DEFAULT_MAX;
}

void pgh_buf_dispose(pgh_buf *b)
{
    if (b == NULL)
        return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void pgh_buf_reset(pgh_buf *b)
{
    b->len = 0;
    b->failed = false;
    if (b->data)
        b->data[0] = '\0';
}

/* Make room for extra more bytes plus the NUL; sets the sticky failure on error. */
static bool reserve(pgh_buf *b, size_t extra)
{
    if (b->failed)
        return false;
    if (extra > b->max_len - b->len) {
        b->failed = true;
        return false;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (p == NULL) {
        b->failed = true;
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

void pgh_buf_append(pgh_buf *b, const void *data, size_t len)
{
    if (!reserve(b, len))
        return;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void pgh_buf_puts(pgh_buf *b, const char *s)
{
    pgh_buf_append(b, s, strlen(s));
}

void pgh_buf_putc(pgh_buf *b, char c)
{
    pgh_buf_append(b, &c, 1);
}

void pgh_buf_printf(pgh_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    if (!reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

const char *pgh_buf_str(const pgh_buf *b)
{
    return b->data ? b->data : "";
}

bool pgh_buf_failed(const pgh_buf *b)
{
    return b->failed;
}

char *pgh_buf_take(pgh_buf *b)
{
    if (b->failed) {
        pgh_buf_dispose(b);
        b->failed = false;
        return NULL;
    }
    char *out = b->data ? b->data : strdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return out;
}

void pgh_buf_put_conninfo_pair(pgh_buf *b, const char *key, const char *val)
{
    pgh_buf_printf(b, "%s=", key);
    if (val[0] != '\0' && strpbrk(val, " \t\n\r\f\v'\\") == NULL) {
        pgh_buf_puts(b, val);
        return;
    }
    pgh_buf_putc(b, '\'');
    for (const char *p = val; *p; p++) {
        if (*p == '\'' || *p == '\\')
            pgh_buf_putc(b, '\\');
        pgh_buf_putc(b, *p);
    }
    pgh_buf_putc(b, '\'');
}
