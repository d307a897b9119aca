/*
 * Preflight, the source's half: everything that can be known to fail on the source is checked
 * before anything is written, each failure one line that says what is wrong and what to do
 * (source/preflight.h). The destination's half is its keyed prepare (pghost/keyed.h) or its
 * open.
 */
#include <stdlib.h>
#include <string.h>

#include "pipeline_internal.h"
#include "source/preflight.h"
#include "source/publication.h"
#include "source/tables.h"

void pgh_pipeline__tables_dispose(run_tables *t)
{
    for (int i = 0; t->src && i < t->n; i++)
        pgh_table_info_free(t->src[i]);
    free(t->src);
    memset(t, 0, sizeof(*t));
}

static int load_table(pgh_table_info **out, PGconn *conn, const char *schema, const char *name,
                      pgh_error *err)
{
    int rc = pgh_catalog_table(out, conn, schema, name, err);
    if (rc == PGH_ENOTFOUND) {
        pgh_error_clear(err);
        return pgh_error_set(err, PGH_EPRECOND, "source table %s.%s does not exist", schema,
                             name);
    }
    return rc;
}

int pgh_pipeline__preflight(pipe_run *r, bool slot_must_be_free, bool tables, pgh_error *err)
{
    const pgh_config *cfg = r->cfg;
    if (pgh_tables_has_patterns(cfg))
        return pgh_error_set(err, PGH_ECONFIG,
                             "the configured tables hold patterns: open the source with "
                             "pgh_source_open, which resolves them");
    int rc = pgh_source_check_server(r->src, cfg, slot_must_be_free, err);
    if (rc == 0)
        rc = pgh_source_check_replication_connection(cfg, err);
    if (rc == 0)
        rc = pgh_source_check_publication(r->src, cfg, err);
    pgh_pipeline__tables_dispose(&r->tables);
    r->tables.any_keyless = false;
    r->tables.src = calloc(cfg->ntables + 1, sizeof(*r->tables.src));
    if (rc == 0 && r->tables.src == NULL)
        rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && tables && i < cfg->ntables; i++, r->tables.n++) {
        const pgh_table_map *m = &cfg->tables[i];
        rc = load_table(&r->tables.src[i], r->src, m->source_schema, m->source_table, err);
        if (rc == 0)
            rc = pgh_source_publication_narrow(r->tables.src[i], r->src, cfg->publication_name,
                                               err);
        if (rc == 0)
            rc = pgh_source_check_table(r->tables.src[i], r->src, cfg,
                                        pgh_source_keyless_refusal(cfg, r->keyed, r->rules != NULL),
                                        err);
        if (rc == 0 && pgh_source_is_keyless(r->tables.src[i]))
            r->tables.any_keyless = true;
    }
    return rc;
}
