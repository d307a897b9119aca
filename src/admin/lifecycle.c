/* pghost status and pghost teardown: see include/pghost/lifecycle.h. */
#include "pghost/lifecycle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/ddl_capture.h"
#include "init_internal.h"
#include "pg/conn.h"
#include "pg/slot.h"
#include "schema/schema.h"
#include "state/state.h"

static const char SLOT_SQL[] =
    "SELECT s.active, coalesce(s.active_pid, 0), coalesce(s.restart_lsn, '0/0'), "
    "coalesce(s.confirmed_flush_lsn, '0/0'), pg_catalog.pg_current_wal_lsn(), "
    "coalesce(pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), s.restart_lsn), 0) "
    "FROM pg_catalog.pg_replication_slots s WHERE s.slot_name = $1";

static int read_slot(pgh_status *out, PGconn *src, const char *slot, pgh_error *err)
{
    const char *params[1] = {slot};
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, src, SLOT_SQL, 1, params, err);
    if (rc == 0 && PQntuples(res) == 1) {
        out->slot_exists = true;
        out->slot_active = PQgetvalue(res, 0, 0)[0] == 't';
        out->slot_active_pid = (int)strtol(PQgetvalue(res, 0, 1), NULL, 10);
        pgh_lsn_parse(&out->restart_lsn, PQgetvalue(res, 0, 2));
        pgh_lsn_parse(&out->confirmed_lsn, PQgetvalue(res, 0, 3));
        pgh_lsn_parse(&out->source_lsn, PQgetvalue(res, 0, 4));
        out->retained_bytes = (int64_t)strtod(PQgetvalue(res, 0, 5), NULL);
    }
    PQclear(res);
    return rc;
}

static void add_copy_status(const char *table, int64_t total, int64_t done, int64_t rows,
                            void *payload)
{
    pgh_status *out = payload;
    if (out->ntables >= PGH_STATUS_MAX_TABLES)
        return;
    pgh_status_table *t = &out->tables[out->ntables++];
    snprintf(t->name, sizeof(t->name), "%s", table);
    t->ranges_total = total;
    t->ranges_done = done;
    t->rows_copied = rows;
}

/* Ranges done per table, from the resumable copy's plan and progress (nothing when none). */
static int read_copy_progress(pgh_status *out, PGconn *dst, const pgh_config *cfg, pgh_error *err)
{
    if (!out->state.found)
        return 0;
    return pgh_state_copy_status(dst, cfg->state_schema, cfg->slot_name, add_copy_status, out, err);
}

static void add_missing(const char *table, int64_t skipped, void *payload)
{
    pgh_status *out = payload;
    if (out->nmissing >= PGH_STATUS_MAX_TABLES)
        return;
    pgh_status_missing *m = &out->missing[out->nmissing++];
    snprintf(m->name, sizeof(m->name), "%s", table);
    m->skipped = skipped;
}

int pgh_status_read(pgh_status *out, const pgh_config *cfg, pgh_error *err)
{
    memset(out, 0, sizeof(*out));
    PGconn *src = NULL;
    PGconn *dst = NULL;
    int rc =
        pgh_conn_open(&src, cfg->source_connection, PGH_CONN_SQL, "source", "pghost status", err);
    if (rc == 0)
        rc = read_slot(out, src, cfg->slot_name, err);
    if (rc != 0 || cfg->destination != PGH_DESTINATION_POSTGRES) { /* no destination server */
        PQfinish(src);
        return rc;
    }
    if (rc == 0)
        rc = pgh_conn_open(&dst, cfg->destination_connection, PGH_CONN_SQL, "destination",
                           "pghost status", err);
    pgh_state state;
    if (rc == 0)
        rc = pgh_state_read(&state, dst, cfg->state_schema, cfg->slot_name, err);
    if (rc == 0) {
        out->state.found = state.found;
        snprintf(out->state.phase, sizeof(out->state.phase), "%s", state.phase);
        out->state.applied_lsn = state.applied_lsn;
        out->state.checkpoint_lsn = state.checkpoint_lsn;
    }
    if (rc == 0)
        rc = read_copy_progress(out, dst, cfg, err);
    if (rc == 0)
        rc = pgh_state_missing_rows_read(dst, cfg->state_schema, cfg->slot_name, add_missing, out,
                                         err);
    PQfinish(src);
    PQfinish(dst);
    return rc;
}

/* The source's part: the slot, then the publication init created and the DDL capture. The
 * tables are not resolved: teardown needs none, and must work after they were dropped. Called
 * only once both sides were opened (or --force said to go on without the destination). */
static int teardown_source(pgh_teardown_result *out, PGconn *src, const pgh_config *cfg,
                           pgh_error *err)
{
    pgh_status st;
    memset(&st, 0, sizeof(st));
    int rc = read_slot(&st, src, cfg->slot_name, err);
    if (rc == 0 && st.slot_active)
        rc = pgh_error_set(err, PGH_EPRECOND,
                           "replication slot %s is in use by process %d on the source: stop the "
                           "pghost (or subscription) that streams from it first",
                           cfg->slot_name, st.slot_active_pid);
    if (rc == 0 && st.slot_exists) {
        rc = pgh_slot_drop(src, cfg->slot_name, true, err);
        out->slot_dropped = rc == 0;
    }
    if (rc == 0)
        rc = pgh_init__pub_drop(&out->publication_dropped, &out->publication_kept, src, cfg, err);
    if (rc == 0)
        rc = pgh_admin_ddl_capture_remove(src, cfg, err);
    return rc;
}

/* The destination's part: the record of created tables a --follow run interrupted in its
 * deferred index build leaves (it would keep the state schema), then the position row. */
static int teardown_destination(pgh_teardown_result *out, PGconn *dst, bool found,
                                const pgh_config *cfg, pgh_error *err)
{
    int rc = pgh_schema_pending_clear(dst, cfg->state_schema, cfg->slot_name, err);
    if (rc == 0) /* and the keys an interrupted copy left to build */
        rc = pgh_state_key_pending_done(dst, cfg->state_schema, cfg->slot_name, NULL, NULL, err);
    if (rc == 0)
        rc = pgh_state_drop(dst, cfg->state_schema, cfg->slot_name, err);
    out->state_dropped = rc == 0 && found;
    return rc;
}

/* Open the destination and read the slot's position there: until it can be read, dropping the
 * slot could lose the only way a stopped run resumes. */
static int open_destination(PGconn **dst, bool *found, const pgh_config *cfg, pgh_error *err)
{
    pgh_state state;
    int rc = pgh_conn_open(dst, cfg->destination_connection, PGH_CONN_SQL, "destination",
                           "pghost teardown", err);
    if (rc == 0)
        rc = pgh_state_read(&state, *dst, cfg->state_schema, cfg->slot_name, err);
    *found = rc == 0 && state.found;
    return rc;
}

/* Without --force a side that cannot be opened stops everything before anything is dropped:
 * one line, what failed, then what to do. */
static int refuse(pgh_error *err, const char *side)
{
    char *nl = strchr(err->message, '\n');
    if (nl)
        *nl = '\0';
    pgh_error_prefix(err, "nothing was dropped: the %s cannot be read", side);
    size_t len = strlen(err->message);
    snprintf(err->message + len, sizeof(err->message) - len,
             "; bring the %s back and run pghost teardown again, or add --force to drop what can "
             "be reached (a stopped --follow run can then no longer resume)",
             side);
    return err->code;
}

/* Record why a side was skipped under --force: the error's first line, cut to size. */
static void skip(char *reason, size_t size, const pgh_error *side_err)
{
    size_t n = strcspn(side_err->message, "\n");
    if (n >= size)
        n = size - 1;
    memcpy(reason, side_err->message, n);
    reason[n] = '\0';
}

int pgh_teardown(pgh_teardown_result *out, const pgh_config *cfg, bool force, pgh_error *err)
{
    memset(out, 0, sizeof(*out));
    PGconn *src = NULL;
    PGconn *dst = NULL;
    bool found = false;
    pgh_error src_err, dst_err;
    pgh_error_clear(&src_err);
    pgh_error_clear(&dst_err);
    int src_rc = pgh_conn_open(&src, cfg->source_connection, PGH_CONN_SQL, "source",
                               "pghost teardown", &src_err);
    /* JSON lines (stdout, files, a webhook) and DuckDB keep their position in a file, not on a
     * server */
    bool has_dst = cfg->destination == PGH_DESTINATION_POSTGRES;
    int dst_rc = has_dst ? open_destination(&dst, &found, cfg, &dst_err) : 0;
    int rc = 0;
    if (src_rc != 0 && (!force || !has_dst || dst_rc != 0)) {
        *err = src_err;
        rc = force ? src_rc : refuse(err, "source");
        goto done;
    }
    if (dst_rc != 0 && !force) {
        *err = dst_err;
        rc = refuse(err, "destination");
        goto done;
    }
    out->source_skipped = src_rc != 0;
    out->destination_skipped = dst_rc != 0;
    skip(out->skipped_reason, sizeof(out->skipped_reason), src_rc != 0 ? &src_err : &dst_err);
    if (src_rc == 0)
        rc = teardown_source(out, src, cfg, err);
    if (rc == 0 && has_dst && dst_rc == 0)
        rc = teardown_destination(out, dst, found, cfg, err);
done:
    PQfinish(src);
    PQfinish(dst);
    return rc;
}
