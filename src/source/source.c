/* The PostgreSQL source: see include/pghost/source.h. */
#include "pghost/source.h"

#include <stdlib.h>

#include "pg/conn.h"
#include "source/tables.h"

struct pgh_source {
    pgh_config *config; /* owned: the caller's configuration, its patterns resolved */
};

int pgh_source_open(pgh_source **out, const pgh_config *cfg, pgh_error *err)
{
    *out = NULL;
    pgh_source *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    int rc = pgh_config_dup(&s->config, cfg, err);
    if (rc == 0)
        rc = pgh_tables_resolve_at_source(s->config, err);
    if (rc != 0) {
        pgh_source_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

void pgh_source_close(pgh_source *s)
{
    if (s == NULL)
        return;
    pgh_config_free(s->config);
    free(s);
}

const pgh_config *pgh_source_config(const pgh_source *s)
{
    return s->config;
}
