/* The bounds-checked cursor: see reader.h. */
#include "decode/reader.h"

#include <string.h>

const uint8_t *pgh_rd_bytes(pgh_reader *r, size_t n)
{
    if (!pgh_rd_need(r, n))
        return NULL;
    const uint8_t *p = r->buf + r->pos;
    r->pos += n;
    return p;
}

const char *pgh_rd_cstr(pgh_reader *r, size_t *len_out)
{
    if (len_out != NULL)
        *len_out = 0;
    if (r->failed || r->pos == r->len) {
        r->failed = true;
        return NULL;
    }
    const uint8_t *start = r->buf + r->pos;
    /* memchr, not strlen: the span is untrusted and need not contain a NUL at all. */
    const uint8_t *nul = memchr(start, '\0', r->len - r->pos);
    if (nul == NULL) {
        r->failed = true;
        return NULL;
    }
    size_t n = (size_t)(nul - start);
    r->pos += n + 1;
    if (len_out != NULL)
        *len_out = n;
    return (const char *)start;
}
