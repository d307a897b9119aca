/*
 * pghost check, the destination's half: the same checks a run makes when it opens the
 * destination (dest/postgres/checks.h), on every table, reading only, then its free disk space
 * (check_disk.c); with destination: stdout, the state file instead.
 */
#include <stdio.h>
#include <stdlib.h>

#include "admin/check_run.h"
#include "dest/postgres/checks.h"
#include "pg/colmap.h"
#include "pg/conn.h"
#include "pghost/duckdb.h"
#include "pghost/file.h"
#include "pghost/json.h"
#include "rules/plan.h"
#include "state/state.h"

/* Load the destination table of entry i; a missing one is a problem unless the run creates
 * it (*out stays NULL then). */
static int load_dest_table(pgh_table_info **out, check_run *c, PGconn *dst, size_t i,
                           pgh_error *err)
{
    const pgh_table_map *m = &c->cfg->tables[i];
    int rc = pgh_catalog_table(out, dst, m->dest_schema, m->dest_table, err);
    if (rc != PGH_ENOTFOUND)
        return rc;
    pgh_error_clear(err);
    if (c->cfg->create_destination_tables)
        return 0;
    return pgh_error_set(err, PGH_EPRECOND,
                         "destination table %s.%s does not exist: create it with the same "
                         "columns and primary key as the source table, or set "
                         "create_destination_tables: true",
                         m->dest_schema, m->dest_table);
}

/* Source table i as the rules make it for the PostgreSQL destination (as a run compiles them:
 * rules/plan.h, keyed), its columns renamed and left out; a rule that does not fit is a
 * problem. */
static bool through_rules(check_run *c, size_t i, pgh_error *err)
{
    if (c->rules == NULL)
        return true;
    pgh_relation rel;
    pgh_rules_plan *plan = NULL;
    int rc = pgh_colmap_relation(&rel, c->src_tables[i], err);
    if (rc == 0)
        rc = pgh_rules__compile(&plan, c->rules, &rel, true, err);
    free(rel.cols);
    pgh_column_map map = plan ? pgh_rules__plan_colmap(plan) : (pgh_column_map){0};
    if (rc == 0 && map.ncolumns > 0)
        rc = pgh_colmap_apply(c->src_tables[i], &map, err);
    pgh_rules__plan_free(plan);
    return pgh_check__note(c, rc, err);
}

static void check_dest_table(check_run *c, PGconn *dst, size_t i, bool may_hold_rows,
                             pgh_error *err)
{
    pgh_table_info *t = NULL;
    if (!through_rules(c, i, err))
        return;
    if (pgh_check__note(c, load_dest_table(&t, c, dst, i, err), err) && t != NULL)
        pgh_check__note(c, pgh_postgres_check_table(c->src_tables[i], t, dst, may_hold_rows, err),
                        err);
    pgh_table_info_free(t);
}

/* destination: stdout keeps its position in a state file, not on a server: it must be
 * readable and of this slot; one that is there means the next run resumes. */
static void check_state_file(check_run *c, pgh_error *err)
{
    if (c->cfg->state_file == NULL)
        return;
    pgh_position pos = {0};
    bool found = false;
    int rc = pgh_json_state_read(&pos, &found, c->cfg->state_file, c->cfg->slot_name, err);
    if (pgh_check__note(c, rc, err))
        c->out->resuming = found;
    free(pos.resume);
}

/* destination: duckdb: the library loads, and the file's position for this slot, if any. */
static void check_duckdb_file(check_run *c, pgh_error *err)
{
    pgh_duckdb_opts o = PGH_DUCKDB_OPTS_INIT;
    o.path = c->cfg->duckdb_path;
    o.library = c->cfg->duckdb_library;
    pgh_position pos = {0};
    bool found = false;
    int rc = pgh_duckdb_position_read(&pos, &found, &o, c->cfg->slot_name, err);
    if (pgh_check__note(c, rc, err))
        c->out->resuming = found;
    free(pos.resume);
}

/* destination: file keeps its position in file_directory: the same checks. */
static void check_file_state(check_run *c, pgh_error *err)
{
    pgh_position pos = {0};
    bool found = false;
    int rc = pgh_file_state_read(&pos, &found, c->cfg->file_directory, c->cfg->slot_name, err);
    if (pgh_check__note(c, rc, err))
        c->out->resuming = found;
    free(pos.resume);
}

void pgh_check__destination(check_run *c, bool may_hold_rows, pgh_error *err)
{
    const pgh_config *cfg = c->cfg;
    if (cfg->destination == PGH_DESTINATION_DUCKDB) {
        snprintf(c->out->disk_unchecked, sizeof(c->out->disk_unchecked),
                 "the destination is a DuckDB file");
        check_duckdb_file(c, err);
        return;
    }
    if (cfg->destination == PGH_DESTINATION_FILE) {
        snprintf(c->out->disk_unchecked, sizeof(c->out->disk_unchecked),
                 "the destination is files in %.200s", cfg->file_directory);
        check_file_state(c, err);
        return;
    }
    if (cfg->destination == PGH_DESTINATION_NATS) { /* pghost capture checks its stream itself */
        snprintf(c->out->disk_unchecked, sizeof(c->out->disk_unchecked),
                 "the destination is a NATS JetStream stream");
        return;
    }
    if (pgh_config_uses_state_file(cfg->destination)) {
        snprintf(c->out->disk_unchecked, sizeof(c->out->disk_unchecked),
                 "the destination is %s",
                 cfg->destination == PGH_DESTINATION_STDOUT ? "stdout" : "a webhook");
        check_state_file(c, err);
        return;
    }
    if (cfg->destination_connection == NULL) {
        pgh_error_set(err, PGH_ECONFIG,
                      "%s: destination_connection is not set: set it, or destination: stdout",
                      cfg->path);
        pgh_check__note(c, PGH_ECONFIG, err);
        return;
    }
    PGconn *dst = NULL;
    int rc = pgh_conn_open(&dst, cfg->destination_connection, PGH_CONN_SQL, "destination",
                           "pghost check", err);
    pgh_state st = {0};
    if (pgh_check__note(c, rc, err))
        pgh_check__note(c, pgh_state_read(&st, dst, cfg->state_schema, cfg->slot_name, err), err);
    c->out->resuming = st.found;
    if (dst != NULL && cfg->disable_triggers) /* a session setting: nothing is written */
        pgh_check__note(c, pgh_postgres_replica_role(dst, err), err);
    bool hold = may_hold_rows || st.found || cfg->on_conflict_action != PGH_ON_CONFLICT_ERROR;
    for (int i = 0; dst && !c->fatal && i < c->nsrc_tables; i++) {
        if (c->src_tables[i] != NULL)
            check_dest_table(c, dst, (size_t)i, hold, err);
    }
    if (dst != NULL && !c->fatal)
        pgh_check__disk(c, dst, err);
    else
        snprintf(c->out->disk_unchecked, sizeof(c->out->disk_unchecked),
                 "the destination server could not be reached");
    PQfinish(dst);
}
