/*
 * The transforms of one value's text: mask (first and last characters kept), regex (PCRE2,
 * every match replaced, $1 and ${name} references) and hash (HMAC-SHA256 keyed with the
 * secret salt, lowercase hex). Each returns a malloc'd copy; the caller owns it.
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#include "rules_int.h"

static int oom(pgh_error *err)
{
    return pgh_error_set(err, PGH_ENOMEM, "out of memory");
}

/* Bytes of the UTF-8 character starting at s[i] (a stray continuation byte counts as one). */
static size_t char_len(const char *s, size_t len, size_t i)
{
    size_t j = i + 1;
    while (j < len && ((unsigned char)s[j] & 0xC0) == 0x80)
        j++;
    return j - i;
}

int pgh_rules__mask(char **out, size_t *out_len, const char *mask, const char *s, size_t len,
                    pgh_error *err)
{
    size_t nchars = 0, first = 0, last = 0;
    for (size_t i = 0; i < len; i += char_len(s, len, i)) {
        if (nchars == 0)
            first = char_len(s, len, i);
        last = i;
        nchars++;
    }
    size_t ml = strlen(mask);
    size_t n = nchars <= 2 ? len : first + (nchars - 2) * ml + (len - last);
    char *o = malloc(n + 1);
    if (o == NULL)
        return oom(err);
    if (nchars <= 2) {
        memcpy(o, s, len); /* too short to mask, as pg_flo leaves it */
    } else {
        memcpy(o, s, first);
        for (size_t k = 0; k < nchars - 2; k++)
            memcpy(o + first + k * ml, mask, ml);
        memcpy(o + n - (len - last), s + last, len - last);
    }
    o[n] = '\0';
    *out = o;
    *out_len = n;
    return 0;
}

int pgh_rules__regex(char **out, size_t *out_len, const rule *ru, const char *s, size_t len,
                     pgh_error *err)
{
    uint32_t opts = PCRE2_SUBSTITUTE_GLOBAL | PCRE2_SUBSTITUTE_OVERFLOW_LENGTH |
                    PCRE2_SUBSTITUTE_UNKNOWN_UNSET | PCRE2_SUBSTITUTE_UNSET_EMPTY;
    PCRE2_SIZE cap = len + strlen(ru->replace) + 64;
    for (int attempt = 0; attempt < 2; attempt++) {
        PCRE2_UCHAR *o = malloc(cap);
        if (o == NULL)
            return oom(err);
        PCRE2_SIZE n = cap;
        int rc = pcre2_substitute(ru->re, (PCRE2_SPTR)(len ? s : ""), len, 0, opts, NULL, NULL,
                                  (PCRE2_SPTR)ru->replace, PCRE2_ZERO_TERMINATED, o, &n);
        if (rc >= 0) {
            *out = (char *)o;
            *out_len = n;
            return 0;
        }
        free(o);
        if (rc != PCRE2_ERROR_NOMEMORY) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof(msg));
            return pgh_error_set(err, PGH_ECONFIG, "regex transform of column %s (rule at "
                                 "line %d): %s", ru->column, ru->line, (const char *)msg);
        }
        cap = n + 1; /* the length it needs, with the NUL */
    }
    return oom(err);
}

int pgh_rules__hash(char **out, size_t *out_len, const pgh_rules *r, const char *s, size_t len,
                    pgh_error *err)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (HMAC(EVP_sha256(), r->salt, (int)r->salt_len, (const unsigned char *)s, len, md,
             &mdlen) == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "HMAC-SHA256 failed (libcrypto)");
    char *o = malloc(2 * mdlen + 1);
    if (o == NULL)
        return oom(err);
    static const char hex[] = "0123456789abcdef";
    for (unsigned int i = 0; i < mdlen; i++) {
        o[2 * i] = hex[md[i] >> 4];
        o[2 * i + 1] = hex[md[i] & 15];
    }
    o[2 * mdlen] = '\0';
    *out = o;
    *out_len = 2 * mdlen;
    return 0;
}
