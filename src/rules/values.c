/*
 * Column values as the filters compare them: a class per type, the text form (PostgreSQL's
 * output functions, ISO DateStyle) parsed into a number, an instant or kept as bytes.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rules_int.h"

value_class pgh_rules__class(uint32_t type_oid)
{
    switch (type_oid) {
    case 25:   /* text */
    case 1043: /* varchar */
    case 1042: /* bpchar */
    case 19:   /* name */
        return VC_TEXT;
    case 20: /* int8 */
    case 21: /* int2 */
    case 23: /* int4 */
        return VC_INT;
    case 700: /* float4 */
    case 701: /* float8 */
        return VC_FLOAT;
    case 1700:
        return VC_NUMERIC;
    case 16:
        return VC_BOOL;
    case 1082: /* date */
    case 1114: /* timestamp */
    case 1184: /* timestamptz */
        return VC_TIME;
    default:
        return VC_OTHER;
    }
}

const char *pgh_rules__class_name(value_class vc)
{
    static const char *const names[] = {
        [VC_OTHER] = "a type compared by its text (eq, ne, in, is_null only)",
        [VC_TEXT] = "text",
        [VC_INT] = "an integer",
        [VC_FLOAT] = "a floating-point number",
        [VC_NUMERIC] = "numeric",
        [VC_BOOL] = "boolean",
        [VC_TIME] = "a date or timestamp",
    };
    return names[vc];
}

/* NUL-terminated copy of a short value in buf; false when it does not fit. */
static bool cstr(char *buf, size_t cap, const char *s, size_t len)
{
    if (len >= cap)
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return true;
}

static bool parse_int(int64_t *out, const char *s, size_t len)
{
    char buf[32];
    char *end = NULL;
    if (!cstr(buf, sizeof(buf), s, len) || len == 0 || isspace((unsigned char)buf[0]))
        return false;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    *out = (int64_t)v;
    return errno == 0 && *end == '\0';
}

static bool parse_float(double *out, const char *s, size_t len)
{
    char buf[64];
    char *end = NULL;
    if (!cstr(buf, sizeof(buf), s, len) || len == 0 || isspace((unsigned char)buf[0]))
        return false;
    *out = strtod(buf, &end);
    return *end == '\0';
}

/* [+-]digits[.digits] (numeric's output never has an exponent). */
static bool numeric_valid(const char *s, size_t len)
{
    size_t i = len > 0 && (s[0] == '-' || s[0] == '+') ? 1 : 0;
    size_t digits = 0, dots = 0;
    for (; i < len; i++) {
        if (s[i] == '.')
            dots++;
        else if (isdigit((unsigned char)s[i]))
            digits++;
        else
            return false;
    }
    return digits > 0 && dots <= 1;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; Howard Hinnant's civil algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* "+05", "-03:30", "Z": the offset east of UTC in seconds; false for anything else. */
static bool parse_offset(int64_t *out, const char *p)
{
    if (*p == '\0' || strcmp(p, "Z") == 0) {
        *out = 0;
        return true;
    }
    int h = 0, m = 0, s = 0, n = 0;
    if ((*p != '+' && *p != '-') || sscanf(p + 1, "%2d%n:%2d%n:%2d%n", &h, &n, &m, &n, &s, &n) < 1 ||
        p[1 + n] != '\0')
        return false;
    *out = (*p == '-' ? -1 : 1) * (int64_t)(h * 3600 + m * 60 + s);
    return true;
}

/* ISO dates and timestamps, with an optional offset: microseconds since 1970 UTC. */
static bool parse_time(int64_t *out, const char *s, size_t len)
{
    char buf[64];
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, n = 0;
    double sec = 0;
    if (!cstr(buf, sizeof(buf), s, len) || sscanf(buf, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3)
        return false;
    const char *p = buf + n;
    if (*p == ' ' || *p == 'T') {
        int k = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &h, &mi, &k) != 2)
            return false;
        p += 1 + k;
        if (*p == ':') {
            char *end = NULL;
            sec = strtod(p + 1, &end);
            if (end == p + 1 || !isdigit((unsigned char)p[1]))
                return false;
            p = end;
        }
    }
    int64_t off = 0;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 24 || mi > 59 || sec >= 61 ||
        !parse_offset(&off, p))
        return false;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 - off;
    *out = secs * 1000000 + (int64_t)llround(sec * 1e6);
    return true;
}

static bool parse_bool(int64_t *out, const char *s, size_t len)
{
    if ((len == 1 && s[0] == 't') || (len == 4 && strncasecmp(s, "true", 4) == 0))
        *out = 1;
    else if ((len == 1 && s[0] == 'f') || (len == 5 && strncasecmp(s, "false", 5) == 0))
        *out = 0;
    else
        return false;
    return true;
}

bool pgh_rules__value_parse(rule_value *out, value_class vc, const char *s, size_t len)
{
    memset(out, 0, sizeof(*out));
    out->vc = vc;
    out->s = s;
    out->len = len;
    switch (vc) {
    case VC_INT:
        return parse_int(&out->i, s, len);
    case VC_FLOAT:
        return parse_float(&out->f, s, len);
    case VC_NUMERIC:
        return numeric_valid(s, len);
    case VC_BOOL:
        return parse_bool(&out->i, s, len);
    case VC_TIME:
        return parse_time(&out->i, s, len);
    default:
        return true;
    }
}

/* A decimal's parts: sign, integer digits without leading zeros, fraction without trailing. */
typedef struct dec {
    int sign;
    const char *ip, *fp;
    size_t il, fl;
} dec;

static dec dec_split(const char *s, size_t len)
{
    dec d = {.sign = 1};
    size_t i = 0;
    if (len && (s[0] == '-' || s[0] == '+')) {
        d.sign = s[0] == '-' ? -1 : 1;
        i = 1;
    }
    while (i < len && s[i] == '0')
        i++;
    d.ip = s + i;
    while (i < len && s[i] != '.')
        i++;
    d.il = (size_t)(s + i - d.ip);
    d.fp = i < len ? s + i + 1 : s + len;
    d.fl = (size_t)(s + len - d.fp);
    while (d.fl && d.fp[d.fl - 1] == '0')
        d.fl--;
    if (d.il == 0 && d.fl == 0)
        d.sign = 1; /* -0 is 0 */
    return d;
}

static int dec_cmp(const char *a, size_t al, const char *b, size_t bl)
{
    dec x = dec_split(a, al), y = dec_split(b, bl);
    if (x.sign != y.sign)
        return x.sign < y.sign ? -1 : 1;
    int c = x.il != y.il ? (x.il < y.il ? -1 : 1) : memcmp(x.ip, y.ip, x.il);
    if (c == 0) {
        size_t n = x.fl < y.fl ? x.fl : y.fl;
        c = memcmp(x.fp, y.fp, n);
        if (c == 0 && x.fl != y.fl)
            c = x.fl < y.fl ? -1 : 1;
    }
    return c * x.sign;
}

static int bytes_cmp(const rule_value *a, const rule_value *b)
{
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->s, b->s, n);
    return c != 0 ? c : (a->len < b->len ? -1 : a->len > b->len);
}

int pgh_rules__value_cmp(const rule_value *a, const rule_value *b, bool *ok)
{
    *ok = true;
    switch (a->vc) {
    case VC_INT:
    case VC_BOOL:
    case VC_TIME:
        return a->i < b->i ? -1 : a->i > b->i;
    case VC_FLOAT:
        *ok = !isnan(a->f) && !isnan(b->f);
        return a->f < b->f ? -1 : a->f > b->f;
    case VC_NUMERIC:
        return dec_cmp(a->s, a->len, b->s, b->len);
    default:
        return bytes_cmp(a, b);
    }
}
