/*
 * The record of the tables a --follow run created and whose deferred indexes and constraints
 * are not all built yet (<state_schema>.schema_pending, state/schema_pending.c). It is written
 * in the transaction that creates the tables, so a re-run after any interruption knows which
 * tables are pghost's to finish (an existing table is never altered), and removed once the
 * deferred build is done.
 */
#include <stdlib.h>
#include <string.h>

#include "pghost/log.h"
#include "schema/internal.h"
#include "state/state.h"

/* Rows of c as table mappings (borrowed strings); NULL when out of memory. */
static pgh_table_map *as_maps(const pgh_schema_created *c)
{
    pgh_table_map *m = calloc((size_t)c->n + 1, sizeof(*m));
    for (int i = 0; m && i < c->n; i++)
        m[i] = (pgh_table_map){c->tables[i].source_schema, c->tables[i].source_name,
                               c->tables[i].dest_schema, c->tables[i].dest_name};
    return m;
}

int pgh_schema__pending_record(pgh_schema_created *c, PGconn *dst, const char *schema,
                               const char *slot, pgh_error *err)
{
    pgh_schema_created earlier;
    int rc = pgh_schema_pending_read(&earlier, dst, schema, slot, err);
    if (rc == 0 && c->n > 0) {
        pgh_table_map *maps = as_maps(c);
        rc = maps ? pgh_state_pending_write(dst, schema, slot, maps, c->n, err)
                  : pgh_error_set(err, PGH_ENOMEM, "out of memory");
        free(maps);
    }
    int new_n = c->n;
    for (int i = 0; rc == 0 && i < earlier.n; i++) {
        const pgh_schema_table *e = &earlier.tables[i];
        bool again = false; /* dropped since, and created again by this run */
        for (int k = 0; k < new_n && !again; k++)
            again = strcmp(c->tables[k].dest_schema, e->dest_schema) == 0 &&
                    strcmp(c->tables[k].dest_name, e->dest_name) == 0;
        if (!again)
            rc = pgh_schema__add(c, e->source_schema, e->source_name, e->dest_schema,
                                 e->dest_name, err);
    }
    if (rc == 0 && earlier.n > 0)
        pgh_log(PGH_LOG_INFO, "schema",
                "the indexes and constraints of %d tables an interrupted run created are still "
                "to be built",
                earlier.n);
    pgh_schema_created_dispose(&earlier);
    return rc;
}

static int add_pending(const pgh_table_map *m, void *payload, pgh_error *err)
{
    return pgh_schema__add(payload, m->source_schema, m->source_table, m->dest_schema,
                           m->dest_table, err);
}

int pgh_schema_pending_read(pgh_schema_created *out, PGconn *dst, const char *record_schema,
                            const char *slot, pgh_error *err)
{
    memset(out, 0, sizeof(*out));
    return pgh_state_pending_read(dst, record_schema, slot, add_pending, out, err);
}

int pgh_schema_pending_clear(PGconn *dst, const char *record_schema, const char *slot,
                             pgh_error *err)
{
    return pgh_state_pending_clear(dst, record_schema, slot, err);
}
