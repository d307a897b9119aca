/*
 * Preflight, the source's half: everything that can be known to fail on the source is checked
 * before anything is written, each failure one line that says what is wrong and what to do
 * (source/preflight.h). The destination's half is its keyed prepare (pghost/keyed.h) or its
 * open.
 */
#include <stdlib.h>
#include <string.h>

#include "pghost/log.h"
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

/* The source must take a replication session. The keyed sync's preflight keeps the one opened
 * for it since the start (run.c) for the catch-up's stream (catchup.c); a run that follows
 * opens its stream later, anew, and checks with a session it closes at once. */
static int replication_session(pipe_run *r, int tables, pgh_error *err)
{
    if (!r->keyed || tables != PREFLIGHT_TABLES)
        return pgh_source_check_replication_connection(r->cfg, err);
    PQfinish(r->repl);
    r->repl = NULL;
    pgh_conn_opening *o = r->repl_opening;
    r->repl_opening = NULL;
    if (o != NULL)
        return pgh_conn_open_finish(&r->repl, o, err);
    return pgh_conn_open(&r->repl, pgh_config_replication_conninfo(r->cfg), PGH_CONN_REPLICATION,
                         "source (replication)", "pghost catch-up", err);
}

int pgh_pipeline__preflight(pipe_run *r, bool slot_must_be_free, int tables, pgh_error *err)
{
    const pgh_config *cfg = r->cfg;
    if (pgh_tables_has_patterns(cfg))
        return pgh_error_set(err, PGH_ECONFIG,
                             "the configured tables hold patterns: open the source with "
                             "pgh_source_open, which resolves them");
    int rc = pgh_source_check_server(r->src, cfg, slot_must_be_free, err);
    if (rc == 0)
        rc = replication_session(r, tables, err);
    if (rc == 0)
        rc = pgh_source_check_publication(r->src, cfg, err);
    pgh_pipeline__tables_dispose(&r->tables);
    r->tables.any_keyless = false;
    r->tables.src = calloc(cfg->ntables + 1, sizeof(*r->tables.src));
    if (rc == 0 && r->tables.src == NULL)
        rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && tables != PREFLIGHT_NO_TABLES && i < cfg->ntables; i++) {
        const pgh_table_map *m = &cfg->tables[i];
        pgh_table_info **t = &r->tables.src[r->tables.n];
        rc = load_table(t, r->src, m->source_schema, m->source_table, err);
        if (rc == PGH_EPRECOND && *t == NULL && tables == PREFLIGHT_EXISTING_TABLES) {
            pgh_log(PGH_LOG_INFO, "follow",
                    "%s.%s is no longer on the source under that name (renamed or dropped "
                    "since): its rows are not read again",
                    m->source_schema, m->source_table);
            pgh_error_clear(err);
            rc = 0;
            continue;
        }
        r->tables.n++;
        if (rc == 0)
            rc = pgh_source_publication_narrow(*t, r->src, cfg->publication_name, err);
        if (rc == 0)
            rc = pgh_source_check_table(*t, r->src, cfg,
                                        pgh_source_keyless_refusal(cfg, r->keyed, r->rules != NULL),
                                        err);
        if (rc == 0 && pgh_source_is_keyless(*t))
            r->tables.any_keyless = true;
    }
    return rc;
}
