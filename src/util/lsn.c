/* LSN parsing: see include/pghost/lsn.h. */
#include "pghost/lsn.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

#include "pghost/error.h"

static int parse_hex32(const char *s, const char **end, uint32_t *out)
{
    if (!isxdigit((unsigned char)*s))
        return -1;
    errno = 0;
    char *e = NULL;
    unsigned long v = strtoul(s, &e, 16);
    if (errno != 0 || e - s > 8 || v > 0xffffffffUL)
        return -1;
    *out = (uint32_t)v;
    *end = e;
    return 0;
}

int pgh_lsn_parse(pgh_lsn *out, const char *text)
{
    uint32_t hi = 0;
    uint32_t lo = 0;
    const char *p = text;
    if (text == NULL || parse_hex32(p, &p, &hi) != 0 || *p != '/')
        return PGH_ECONFIG;
    p++;
    if (parse_hex32(p, &p, &lo) != 0 || *p != '\0')
        return PGH_ECONFIG;
    *out = ((pgh_lsn)hi << 32) | lo;
    return 0;
}
