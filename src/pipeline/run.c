/* pgh_pipeline_run: see include/pghost/pipeline.h. */
#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"
#include "pipeline_internal.h"
#include "snapshot.h"

static int check_opts(const pgh_pipeline_opts *o, const pgh_destination_ops *ops,
                      pgh_error *err)
{
    if (o == NULL || o->version != PGH_PIPELINE_OPTS_VERSION)
        return pgh_error_set(err, PGH_ECONFIG,
                             "pipeline options of version %d, expected %d: initialise them "
                             "with PGH_PIPELINE_OPTS_INIT",
                             o ? o->version : -1, PGH_PIPELINE_OPTS_VERSION);
    if (o->what < PGH_PIPELINE_ROWS || o->what > PGH_PIPELINE_BOTH)
        return pgh_error_set(err, PGH_ECONFIG, "pipeline option what is %d: use "
                             "PGH_PIPELINE_ROWS, _CHANGES or _BOTH", (int)o->what);
    if (ops->keyed && ops->keyed->version != PGH_KEYED_OPS_VERSION)
        return pgh_error_set(err, PGH_ECONFIG,
                             "destination %s has keyed callbacks of version %d, expected %d",
                             ops->name ? ops->name : "(unnamed)", ops->keyed->version,
                             PGH_KEYED_OPS_VERSION);
    if (ops->keyed && (ops->flags & PGH_DEST_KEYED) == 0)
        return pgh_error_set(err, PGH_ECONFIG,
                             "destination %s has keyed callbacks but not the PGH_DEST_KEYED flag",
                             ops->name ? ops->name : "(unnamed)");
    return 0;
}

/* The copy + catch-up sync needs the keyed callbacks; everything else goes the event way, and
 * so does a keyed destination whose configuration asks for copy_method: watermarks. */
static bool keyed_path(const pipe_run *r)
{
    return r->ops->keyed != NULL && r->o->what != PGH_PIPELINE_CHANGES &&
           r->cfg->copy_method != PGH_COPY_METHOD_WATERMARKS;
}

static int run(pipe_run *r, pgh_error *err)
{
    r->keyed = keyed_path(r);
    /* The keyed sync's replication session opens meanwhile (the preflight waits for it). */
    int rc = r->keyed ? pgh_conn_open_start(&r->repl_opening,
                                            pgh_config_replication_conninfo(r->cfg),
                                            PGH_CONN_REPLICATION, "source (replication)",
                                            "pghost catch-up", err)
                      : 0;
    if (rc == 0)
        rc = pgh_conn_open(&r->src, r->cfg->source_connection, PGH_CONN_SQL, "source",
                           "pghost", err);
    if (rc == 0)
        rc = pgh_pipeline__open_dest(r, err);
    if (rc != 0)
        return rc;
    if (r->keyed) {
        r->handle = pgh_pipeline__deliver;
        return pgh_pipeline__keyed(r, err);
    }
    return pgh_pipeline__event(r, err);
}

int pgh_pipeline_run(pgh_pipeline_result *out, pgh_source *source, const pgh_rules *rules,
                     pgh_destination *destination, const pgh_pipeline_opts *opts,
                     pgh_error *err)
{
    memset(out, 0, sizeof(*out));
    const pgh_destination_ops *ops = pgh_destination_ops_of(destination);
    int rc = check_opts(opts, ops, err);
    if (rc != 0)
        return rc;
    pipe_run r = {.o = opts,
                  .cfg = pgh_source_config(source),
                  .dest = destination,
                  .ops = ops,
                  .user = pgh_destination_user(destination),
                  .out = out,
                  .follow = opts->until == PGH_UNTIL_STOPPED && opts->what != PGH_PIPELINE_ROWS};
    pgh_pipeline__stats_phase(&r, PGH_PHASE_STARTING);
    if (rules)
        rc = pgh_pipeline__rules_wrap(&r, rules, err);
    if (rc == 0)
        rc = run(&r, err);
    pgh_pipeline__stats_phase(&r, rc == 0 ? PGH_PHASE_DONE : PGH_PHASE_FAILED);
    if (rc != 0 && !(rc == PGH_ECANCELED && pgh_pipeline__canceled(&r)))
        pgh_stats_count_error(opts->stats, rc);
    pgh_snapshot__free(r.snap);
    pgh_pipeline__close_dest(&r);
    pgh_pipeline__rules_unwrap(&r);
    pgh_pipeline__tables_dispose(&r.tables);
    pgh_config_free(r.resumed);
    PQfinish(r.exporter);
    pgh_conn_open_cancel(r.repl_opening);
    PQfinish(r.repl);
    PQfinish(r.src);
    return rc;
}

void pgh_pipeline_result_dispose(pgh_pipeline_result *r)
{
    if (r == NULL)
        return;
    free(r->tables);
    r->tables = NULL;
    r->ntables = 0;
}
