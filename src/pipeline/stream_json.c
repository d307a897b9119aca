/* destination: stdout - the slot's changes as JSON lines: see include/pghost/replicate.h. */
#include <string.h>

#include "pipeline_internal.h"
#include "source/preflight.h"
#include "pg/conn.h"
#include "pg/slot.h"
#include "pghost/log.h"
#include "source/stream.h"

/* Create the slot unless it exists; true in *created when it was made now. */
static int ensure_slot(bool *created, PGconn *src, const pgh_config *cfg, pgh_error *err)
{
    bool exists = false;
    int rc = pgh_slot_exists(&exists, src, cfg->slot_name, err);
    *created = false;
    if (rc != 0 || exists)
        return rc;
    pgh_lsn at = 0;
    rc = pgh_slot_create(&at, src, cfg->slot_name, err);
    if (rc == 0) {
        *created = true;
        pgh_log(PGH_LOG_INFO, "stream", "created replication slot %s at " PGH_LSN_FMT,
                cfg->slot_name, PGH_LSN_ARGS(at));
    }
    return rc;
}

int pgh_pipeline__stream_json(pgh_replicate_result *out, const pgh_replicate_opts *o,
                          pgh_error *err)
{
    const pgh_config *cfg = o->config;
    PGconn *src = NULL;
    bool created = false;
    int rc = pgh_conn_open(&src, cfg->source_connection, PGH_CONN_SQL, "source", "pghost", err);
    if (rc == 0)
        rc = pgh_source_check_server(src, cfg, false, err);
    if (rc == 0)
        rc = pgh_source_check_publication(src, cfg, err);
    if (rc == 0)
        rc = ensure_slot(&created, src, cfg, err);
    PQfinish(src);
    out->resumed = rc == 0 && !created;
    if (rc == 0)
        rc = pgh_pipeline__follow(&out->followed_txns, o, err);
    return rc;
}
