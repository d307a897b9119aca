/* Deep copies of pgh_position: see json_position.h. */
#include "json_position.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pgh_json__position_dispose(pgh_position *p)
{
    free(p->resume);
    memset(p, 0, sizeof(*p));
}

int pgh_json__position_set(pgh_position *dst, const pgh_position *src, pgh_error *err)
{
    char *resume = NULL;
    if (src->resume != NULL) {
        resume = strdup(src->resume);
        if (resume == NULL)
            return pgh_error_set(err, PGH_ENOMEM, "destination position: out of memory");
    }
    pgh_json__position_dispose(dst);
    dst->lsn = src->lsn;
    dst->checkpoint = src->checkpoint;
    snprintf(dst->phase, sizeof(dst->phase), "%.*s", (int)(sizeof(dst->phase) - 1), src->phase);
    dst->resume = resume;
    return 0;
}

bool pgh_json__position_equal(const pgh_position *a, const pgh_position *b)
{
    if (a->lsn != b->lsn || a->checkpoint != b->checkpoint ||
        strncmp(a->phase, b->phase, sizeof(a->phase)) != 0)
        return false;
    if (a->resume == NULL || b->resume == NULL)
        return a->resume == b->resume;
    return strcmp(a->resume, b->resume) == 0;
}
