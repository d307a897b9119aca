/*
 * Preflight: everything that can be known to fail is checked before anything is written, each
 * failure one line that says what is wrong and what to do. The source's checks are
 * source/preflight.h, the destination's dest/postgres/checks.h; this file runs them in order
 * and describes the run's tables on both servers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dest/postgres/checks.h"
#include "pipeline_internal.h"
#include "source/preflight.h"
#include "source/tables.h"

void pgh_pipeline__tables_dispose(run_tables *t)
{
    for (int i = 0; i < t->n; i++) {
        if (t->src)
            pgh_table_info_free(t->src[i]);
        if (t->dst)
            pgh_table_info_free(t->dst[i]);
    }
    free(t->src);
    free(t->dst);
    memset(t, 0, sizeof(*t));
}

static int load_table(pgh_table_info **out, PGconn *conn, const char *side, const char *schema,
                      const char *name, pgh_error *err)
{
    int rc = pgh_catalog_table(out, conn, schema, name, err);
    if (rc == PGH_ENOTFOUND) {
        pgh_error_clear(err);
        return pgh_error_set(err, PGH_EPRECOND, "%s table %s.%s does not exist%s", side, schema,
                             name,
                             strcmp(side, "destination") == 0
                                 ? ": create it with the same columns and primary key as the "
                                   "source table"
                                 : "");
    }
    return rc;
}

int pgh_pipeline__preflight(run_tables *t, PGconn *src, PGconn *dst, const pgh_replicate_opts *o,
                        bool resuming, pgh_error *err)
{
    const pgh_config *cfg = o->config;
    if (pgh_tables_has_patterns(cfg))
        return pgh_error_set(err, PGH_ECONFIG,
                             "the configured tables hold patterns: call pgh_tables_resolve "
                             "before pgh_replicate_run");
    int rc = pgh_source_check_server(src, cfg, !resuming, err);
    if (rc == 0)
        rc = pgh_source_check_replication_connection(cfg, err);
    if (rc == 0)
        rc = pgh_source_check_publication(src, cfg, err);
    t->n = (int)cfg->ntables;
    t->src = calloc(cfg->ntables, sizeof(*t->src));
    t->dst = calloc(cfg->ntables, sizeof(*t->dst));
    if (rc == 0 && (t->src == NULL || t->dst == NULL))
        rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < cfg->ntables; i++) {
        const pgh_table_map *m = &cfg->tables[i];
        rc = load_table(&t->src[i], src, "source", m->source_schema, m->source_table, err);
        if (rc == 0)
            rc = pgh_source_check_table(t->src[i], src, cfg, err);
        if (rc == 0)
            rc = load_table(&t->dst[i], dst, "destination", m->dest_schema, m->dest_table, err);
        if (rc == 0)
            rc = pgh_postgres_check_table(t->src[i], t->dst[i], dst, o->truncate_destination || resuming,
                                  err);
    }
    return rc;
}
