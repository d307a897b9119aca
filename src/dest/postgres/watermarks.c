/*
 * copy_method watermarks: the PostgreSQL destination on the event path (pghost/destination.h,
 * "Existing rows"). The existing rows come in watermarked chunks inside the stream's
 * transactions and go into the apply's grouped destination transactions with the changes, and
 * the position (end LSN, resume token, phase) is recorded in the same transaction: exactly
 * once, across kills.
 *
 * table_begin empties the table (TRUNCATE, in the destination transaction), table_rows upserts
 * the rows by key. Until the pipeline's phase is "follow" again (every table delivered, and
 * updates no longer read again from the source) changes take the apply's lenient rules
 * (apply.h); from then on the strict ones, with on_missing_row, until a row read again while
 * following makes the phase "snapshot" once more.
 */
#include <stdlib.h>
#include <string.h>

#include "dest/postgres/apply.h"
#include "dest/postgres/checks.h"
#include "dest/postgres/destination.h"
#include "pghost/log.h"
#include "state/state.h"

static void set_lenient(pg_dest *d, bool on)
{
    for (size_t i = 0; d->lenient && i < d->cfg->ntables; i++)
        d->lenient[i] = on;
}

int pgh_postgres__watermarks_open(pg_dest *d, pgh_error *err)
{
    if (d->cfg->create_destination_tables)
        return pgh_error_set(err, PGH_ECONFIG,
                             "create_destination_tables works with copy_method: parallel only: "
                             "create the destination tables first, or drop copy_method: "
                             "watermarks");
    free(d->lenient);
    d->lenient = calloc(d->cfg->ntables + 1, sizeof(*d->lenient));
    if (d->lenient == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    set_lenient(d, true);
    return 0;
}

/* A phase the event path writes ("" none yet, "snapshot", "follow"); anything else was written
 * by an unfinished copy_method parallel sync. */
static bool event_phase(const char *phase)
{
    return phase[0] == '\0' || strcmp(phase, "snapshot") == 0 || strcmp(phase, "follow") == 0;
}

/* Nothing delivered yet: the tables must be there, match the source's and be empty (each is
 * emptied when its rows start: rows there now would be lost); the state row the apply updates
 * at every commit is created. */
static int first_run(pg_dest *d, pgh_error *err)
{
    const pgh_config *cfg = d->cfg;
    int rc = pgh_postgres__check_tables(d, true, err);
    for (int i = 0; rc == 0 && i < d->ntables; i++)
        rc = pgh_postgres_check_empty(d->dst_tables[i], d->ctl,
                                      "copy_method: watermarks starts every table empty; "
                                      "empty it first (TRUNCATE) if its rows may go, or point "
                                      "pghost at an empty table",
                                      err);
    pgh_state st = {.found = true};
    memcpy(st.phase, "snapshot", sizeof("snapshot"));
    if (rc == 0)
        rc = pgh_state_write(d->ctl, cfg->state_schema, cfg->slot_name, &st, err);
    return rc;
}

int pgh_postgres__watermarks_position(pg_dest *d, pgh_position *out, pgh_error *err)
{
    const pgh_config *cfg = d->cfg;
    pgh_state st;
    int rc = pgh_state_ensure(d->ctl, cfg->state_schema, err);
    if (rc == 0)
        rc = pgh_state_read(&st, d->ctl, cfg->state_schema, cfg->slot_name, err);
    if (rc != 0)
        return rc;
    if (st.found && !event_phase(st.phase))
        return pgh_error_set(err, PGH_EPRECOND,
                             "slot %s has an unfinished copy_method: parallel sync on this "
                             "destination (phase %s): finish it with copy_method: parallel, or "
                             "run pghost teardown and start over",
                             cfg->slot_name, st.phase);
    if (!st.found || st.applied_lsn == 0)
        return first_run(d, err);
    out->lsn = st.applied_lsn;
    out->checkpoint = st.checkpoint_lsn;
    memcpy(out->phase, st.phase, sizeof(out->phase));
    set_lenient(d, strcmp(st.phase, "follow") != 0);
    return pgh_state_read_resume(&out->resume, d->ctl, cfg->state_schema, cfg->slot_name, err);
}

int pgh_postgres__watermarks_commit(pg_dest *d, const pgh_position *after, pgh_error *err)
{
    int rc = pgh_postgres__apply(d, err);
    if (rc == 0)
        rc = pgh_apply_set_position(d->apply, after->phase, after->resume, err);
    /* The commit's own changes are queued already, under the rules that held for them. The
     * next ones take the lenient rules again when the phase is back at "snapshot": rows read
     * again from the source while following (a row filter's INSERT lacking TOASTed values,
     * rules) are ahead of the stream until it passes their read. */
    if (rc == 0)
        set_lenient(d, strcmp(after->phase, "follow") != 0);
    return rc;
}

static int table_index(const pg_dest *d, const pgh_table_rows *t, pgh_error *err)
{
    if (!d->event)
        return pgh_error_set(err, PGH_ECONFIG,
                             "the PostgreSQL destination takes existing rows through "
                             "table_begin/table_rows with copy_method: watermarks only");
    if (t->table_index < 0 || (size_t)t->table_index >= d->cfg->ntables)
        return pgh_error_set(err, PGH_ECONFIG, "existing rows of table %d: no such table",
                             t->table_index);
    return 0;
}

int pgh_postgres__table_begin(void *user, const pgh_table_rows *t, pgh_error *err)
{
    pg_dest *d = user;
    int rc = table_index(d, t, err);
    if (rc == 0)
        rc = pgh_postgres__apply(d, err);
    if (rc != 0)
        return rc;
    d->lenient[t->table_index] = true;
    return pgh_apply_table_empty(d->apply, t->table_index, t->table, err);
}

int pgh_postgres__table_rows(void *user, const pgh_table_rows *t, const pgh_tuple *rows, size_t n,
                             pgh_error *err)
{
    pg_dest *d = user;
    int rc = table_index(d, t, err);
    if (rc == 0)
        rc = pgh_postgres__apply(d, err);
    return rc != 0 ? rc : pgh_apply_table_rows(d->apply, t->table_index, t->table, rows, n, err);
}

/* The table is complete as of t->lsn; its changes stay lenient until the phase is "follow". */
int pgh_postgres__table_end(void *user, const pgh_table_rows *t, pgh_error *err)
{
    pg_dest *d = user;
    return table_index(d, t, err);
}
