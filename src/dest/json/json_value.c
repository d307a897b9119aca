/*
 * PostgreSQL text values as JSON: see json_value.h and the table in pghost/json_sink.h.
 *
 * Exactness first: numbers are written from the text PostgreSQL sent, never from a parsed double
 * (jansson prints reals with 17 significant digits, so 0.1 would come out as 0.10000000000000001),
 * and json/jsonb values are copied byte for byte minus insignificant whitespace. jansson only
 * checks that a json value is valid JSON.
 */
#include "json_value.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest integer and float text we type; anything longer is not one of ours (a string). */
#define INT_TEXT_MAX 32
#define FLOAT_TEXT_MAX 64

/* Length (1..4) of the well-formed UTF-8 sequence at p, or 0: overlong forms, surrogates,
 * code points past U+10FFFF and truncated sequences are invalid (RFC 3629). */
static size_t utf8_seq_len(const unsigned char *p, size_t avail)
{
    unsigned char c = p[0];
    unsigned char lo = 0x80, hi = 0xBF; /* range of the second byte */
    size_t n;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c == 0xE0 || c == 0xED || (c >= 0xE1 && c <= 0xEF))
        n = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4;
    else
        return 0;
    if (c == 0xE0)
        lo = 0xA0;
    else if (c == 0xED)
        hi = 0x9F;
    else if (c == 0xF0)
        lo = 0x90;
    else if (c == 0xF4)
        hi = 0x8F;
    if (avail < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return n;
}

static bool needs_escape(unsigned char c)
{
    return c < 0x20 || c == '"' || c == '\\';
}

static void put_escape(pgh_buf *b, unsigned char c)
{
    switch (c) {
    case '"':
        pgh_buf_append(b, "\\\"", 2);
        break;
    case '\\':
        pgh_buf_append(b, "\\\\", 2);
        break;
    case '\b':
        pgh_buf_append(b, "\\b", 2);
        break;
    case '\f':
        pgh_buf_append(b, "\\f", 2);
        break;
    case '\n':
        pgh_buf_append(b, "\\n", 2);
        break;
    case '\r':
        pgh_buf_append(b, "\\r", 2);
        break;
    case '\t':
        pgh_buf_append(b, "\\t", 2);
        break;
    default:
        pgh_buf_printf(b, "\\u%04x", (unsigned)c);
        break;
    }
}

/* 0 when s is well-formed UTF-8, else PGH_ESINK naming the first bad byte. */
static int check_utf8(const char *s, size_t len, pgh_error *err)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_seq_len(p + i, len - i);
        if (n == 0)
            return pgh_error_set(err, PGH_ESINK,
                                 "text is not valid UTF-8 (byte %zu of %zu)\nHINT: JSON lines "
                                 "need UTF-8; replicate from a UTF8 database",
                                 i + 1, len);
        i += n;
    }
    return 0;
}

/* Escape checked UTF-8: runs of plain bytes are copied whole. */
static void put_escaped(pgh_buf *b, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        size_t start = i;
        while (i < len && !needs_escape(p[i]))
            i++;
        pgh_buf_append(b, s + start, i - start);
        if (i < len)
            put_escape(b, p[i++]);
    }
}

int pgh_sink__json_escape(pgh_buf *b, const char *s, size_t len, pgh_error *err)
{
    int rc = check_utf8(s, len, err);
    if (rc == 0)
        put_escaped(b, s, len);
    return rc;
}

int pgh_sink__json_string(pgh_buf *b, const char *s, size_t len, pgh_error *err)
{
    int rc = check_utf8(s, len, err);
    if (rc != 0)
        return rc;
    pgh_buf_putc(b, '"');
    put_escaped(b, s, len);
    pgh_buf_putc(b, '"');
    return 0;
}

static size_t skip_digits(const char *s, size_t i, size_t len)
{
    while (i < len && s[i] >= '0' && s[i] <= '9')
        i++;
    return i;
}

/* RFC 8259 number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool is_json_number(const char *s, size_t len)
{
    size_t i = (len > 0 && s[0] == '-') ? 1 : 0;
    if (i >= len || s[i] < '0' || s[i] > '9')
        return false;
    i = s[i] == '0' ? i + 1 : skip_digits(s, i, len);
    if (i < len && s[i] == '.') {
        size_t d = ++i;
        i = skip_digits(s, i, len);
        if (i == d)
            return false;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t d = i;
        i = skip_digits(s, i, len);
        if (i == d)
            return false;
    }
    return i == len;
}

static bool put_bool(pgh_buf *b, const char *s, size_t len)
{
    if (len != 1 || (s[0] != 't' && s[0] != 'f'))
        return false;
    pgh_buf_puts(b, s[0] == 't' ? "true" : "false");
    return true;
}

/* int2/int4/int8/oid: a JSON integer when the whole text is one that fits in int64. */
static bool put_integer(pgh_buf *b, const char *s, size_t len)
{
    char tmp[INT_TEXT_MAX];
    if (len == 0 || len >= sizeof(tmp) || !(s[0] == '-' || (s[0] >= '0' && s[0] <= '9')))
        return false;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    char *end = NULL;
    errno = 0;
    long long v = strtoll(tmp, &end, 10);
    if (errno != 0 || end != tmp + len)
        return false;
    pgh_buf_printf(b, "%lld", v);
    return true;
}

/* float4/float8: PostgreSQL's own text, when it is a JSON number naming a finite double.
 * Writing the text rather than a reprinted double keeps every digit PostgreSQL chose (its
 * output is the shortest text that reads back to the same value). NaN and the infinities are
 * not JSON numbers and fall through to strings. "-0" reads back as the integer 0 in most
 * parsers (jansson, Python), losing the sign: it is written "-0.0". */
static bool put_float(pgh_buf *b, const char *s, size_t len)
{
    char tmp[FLOAT_TEXT_MAX];
    if (len >= sizeof(tmp) || !is_json_number(s, len))
        return false;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    if (!isfinite(strtod(tmp, NULL)))
        return false;
    if (len == 2 && memcmp(s, "-0", 2) == 0)
        pgh_buf_puts(b, "-0.0");
    else
        pgh_buf_append(b, s, len);
    return true;
}

/* Copy valid JSON text without the whitespace outside strings: strings (escapes included) and
 * numbers stay byte for byte. Valid JSON has no raw control characters inside strings, so the
 * result is one line. */
static void put_compact(pgh_buf *b, const char *s, size_t len)
{
    bool in_string = false;
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (in_string) {
            if (c == '\\')
                i++; /* the escaped character cannot end the string */
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            pgh_buf_append(b, s + start, i - start);
            start = i + 1;
        }
    }
    pgh_buf_append(b, s + start, len - start);
}

/* json/jsonb: 1 when embedded, 0 when the text is not JSON jansson accepts, PGH_ENOMEM. */
static int put_json(pgh_buf *b, const char *s, size_t len)
{
    json_error_t jerr;
    /* DECODE_INT_AS_REAL: integers past int64 are valid JSON too (only validity matters here);
     * ALLOW_NUL: the json type keeps \u0000 escapes. */
    json_t *j =
        json_loadb(s, len, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL, &jerr);
    if (j == NULL)
        return json_error_code(&jerr) == json_error_out_of_memory ? PGH_ENOMEM : 0;
    json_decref(j);
    put_compact(b, s, len);
    return 1;
}

int pgh_sink__json_value(pgh_buf *b, uint32_t type_oid, const pgh_value *v, pgh_error *err)
{
    switch (v->kind) {
    case PGH_VALUE_NULL:
        pgh_buf_puts(b, "null");
        return 0;
    case PGH_VALUE_TEXT:
        break;
    case PGH_VALUE_BINARY:
        return pgh_error_set(err, PGH_ESINK,
                             "binary-format value: the JSON destination needs a text-format "
                             "stream");
    case PGH_VALUE_UNCHANGED:
        return pgh_error_set(err, PGH_EPROTO, "no value was sent (unchanged TOAST)");
    default:
        return pgh_error_set(err, PGH_EPROTO, "unknown value kind 0x%02x", (unsigned)v->kind);
    }
    const char *s = v->data ? v->data : "";
    size_t len = v->data ? v->len : 0;
    int rc = 0;
    switch (type_oid) {
    case PGH_OID_BOOL:
        rc = put_bool(b, s, len);
        break;
    case PGH_OID_INT2:
    case PGH_OID_INT4:
    case PGH_OID_INT8:
    case PGH_OID_OID:
        rc = put_integer(b, s, len);
        break;
    case PGH_OID_FLOAT4:
    case PGH_OID_FLOAT8:
        rc = put_float(b, s, len);
        break;
    case PGH_OID_JSON:
    case PGH_OID_JSONB:
        rc = put_json(b, s, len);
        break;
    default: /* numeric, text and every other type: the text as sent */
        break;
    }
    if (rc < 0)
        return pgh_error_set(err, rc, "out of memory parsing a json value");
    return rc > 0 ? 0 : pgh_sink__json_string(b, s, len, err);
}
