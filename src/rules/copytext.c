/*
 * Rows of COPY's text format (what a text COPY TO STDOUT sends and COPY FROM STDIN takes):
 * fields separated by tabs, \N for NULL, backslash escapes (\b \f \n \r \t \v, \\, octal
 * \ooo, hex \xhh, any other \c meaning c), one row per line. Used to run the rows of the
 * PostgreSQL destination's copy through the rules (src/pipeline/rules_keyed.c).
 */
#include <stdlib.h>
#include <string.h>

#include "rules/plan.h"

void pgh_rules_fields_init(pgh_rules_fields *f)
{
    memset(f, 0, sizeof(*f));
    pgh_buf_init(&f->text, 0);
}

void pgh_rules_fields_dispose(pgh_rules_fields *f)
{
    if (f == NULL)
        return;
    free(f->values);
    free(f->off);
    pgh_buf_dispose(&f->text);
    memset(f, 0, sizeof(*f));
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                          : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* One escape at s[i] (s[i] == '\\'): append its byte, return how many input bytes it took. */
static size_t unescape(pgh_buf *b, const char *s, size_t len, size_t i)
{
    static const char from[] = "bfnrtv", to[] = "\b\f\n\r\t\v";
    if (i + 1 >= len) {
        pgh_buf_putc(b, '\\');
        return 1;
    }
    char c = s[i + 1];
    const char *k = strchr(from, c);
    if (c && k) {
        pgh_buf_putc(b, to[k - from]);
        return 2;
    }
    if (c >= '0' && c <= '7') {
        size_t n = 1;
        int v = 0;
        while (n <= 3 && i + n < len && s[i + n] >= '0' && s[i + n] <= '7')
            v = v * 8 + (s[i + n++] - '0');
        pgh_buf_putc(b, (char)v);
        return n;
    }
    if (c == 'x' && i + 2 < len && hexval(s[i + 2]) >= 0) {
        int v = hexval(s[i + 2]);
        size_t n = 3;
        if (i + 3 < len && hexval(s[i + 3]) >= 0)
            v = v * 16 + hexval(s[i + n++]);
        pgh_buf_putc(b, (char)v);
        return n;
    }
    pgh_buf_putc(b, c);
    return 2;
}

static int grow(pgh_rules_fields *f, size_t n, pgh_error *err)
{
    if (n <= f->cap)
        return 0;
    size_t cap = n < 16 ? 16 : 2 * n;
    pgh_value *v = realloc(f->values, cap * sizeof(*v));
    if (v)
        f->values = v;
    size_t *o = v ? realloc(f->off, cap * sizeof(*o)) : NULL;
    if (o == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    f->off = o;
    f->cap = cap;
    return 0;
}

int pgh_rules__copy_parse(pgh_rules_fields *f, const char *line, size_t len, pgh_error *err)
{
    pgh_buf_reset(&f->text);
    f->n = 0;
    size_t i = 0;
    for (;;) {
        int rc = grow(f, f->n + 1, err);
        if (rc != 0)
            return rc;
        size_t start = f->text.len;
        bool null = len - i >= 2 && line[i] == '\\' && line[i + 1] == 'N' &&
                    (i + 2 == len || line[i + 2] == '\t');
        if (null)
            i += 2;
        while (!null && i < len && line[i] != '\t')
            i += line[i] == '\\' ? unescape(&f->text, line, len, i)
                                 : (pgh_buf_putc(&f->text, line[i]), 1);
        f->off[f->n] = start;
        f->values[f->n++] = null ? (pgh_value){.kind = PGH_VALUE_NULL}
                                 : (pgh_value){.kind = PGH_VALUE_TEXT,
                                               .len = (uint32_t)(f->text.len - start)};
        if (i >= len)
            break;
        i++; /* the tab */
    }
    if (pgh_buf_failed(&f->text))
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    for (size_t k = 0; k < f->n; k++) {
        if (f->values[k].kind == PGH_VALUE_TEXT)
            f->values[k].data = pgh_buf_str(&f->text) + f->off[k];
    }
    return 0;
}

void pgh_rules__copy_encode(pgh_buf *out, const pgh_value *values, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            pgh_buf_putc(out, '\t');
        const pgh_value *v = &values[i];
        if (v->kind != PGH_VALUE_TEXT) {
            pgh_buf_puts(out, "\\N");
            continue;
        }
        for (uint32_t k = 0; k < v->len; k++) {
            char c = v->data[k];
            const char *esc = c == '\\' ? "\\\\" : c == '\t' ? "\\t" : c == '\n' ? "\\n"
                              : c == '\r' ? "\\r" : NULL;
            if (esc)
                pgh_buf_puts(out, esc);
            else
                pgh_buf_putc(out, c);
        }
    }
    pgh_buf_putc(out, '\n');
}
