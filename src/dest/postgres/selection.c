/*
 * A resumed --follow run works on the tables its first run recorded (state/selection.c), not
 * on what the patterns of tables: match now (pghost/keyed.h, resume_tables).
 */
#include <stdlib.h>
#include <string.h>

#include "pghost/log.h"
#include "dest/postgres/destination.h"
#include "state/state.h"
#include "util/buf.h"

static bool listed(char **names, int n, const char *schema, const char *table)
{
    size_t ls = strlen(schema);
    for (int i = 0; i < n; i++)
        if (names[i] && strncmp(names[i], schema, ls) == 0 && names[i][ls] == '\t' &&
            strcmp(names[i] + ls + 1, table) == 0)
            return true;
    return false;
}

/* One warning naming the tables that match now but are not followed, and the followed ones
 * the fresh resolution no longer has. */
static void warn_differences(char **names, int n, const pgh_config *fresh)
{
    pgh_buf added;
    pgh_buf gone;
    pgh_buf_init(&added, 0);
    pgh_buf_init(&gone, 0);
    for (size_t i = 0; i < fresh->ntables; i++) {
        const pgh_table_map *m = &fresh->tables[i];
        if (!listed(names, n, m->source_schema, m->source_table))
            pgh_buf_printf(&added, "%s%s.%s", added.len ? ", " : "", m->source_schema,
                           m->source_table);
    }
    for (int i = 0; i < n; i++) {
        if (names[i] == NULL)
            continue;
        char *tab = strchr(names[i], '\t');
        *tab = '\0';
        bool found = false;
        for (size_t k = 0; !found && k < fresh->ntables; k++)
            found = strcmp(fresh->tables[k].source_schema, names[i]) == 0 &&
                    strcmp(fresh->tables[k].source_table, tab + 1) == 0;
        if (!found)
            pgh_buf_printf(&gone, "%s%s.%s", gone.len ? ", " : "", names[i], tab + 1);
        *tab = '\t';
    }
    if (added.len || gone.len)
        pgh_log(PGH_LOG_WARN, "replicate",
                "slot %s resumes with the tables its sync started with%s%s%s%s%s",
                fresh->slot_name, added.len ? "; now matching but not followed: " : "",
                added.len ? pgh_buf_str(&added) : "",
                added.len ? " (to include them: pghost teardown, then pghost "
                                      "replicate again; or install the DDL capture with pghost "
                                      "init so that tables created while following are followed)"
                                    : "",
                gone.len ? "; followed but no longer on the source (or no longer "
                                     "selected): "
                                   : "",
                gone.len ? pgh_buf_str(&gone) : "");
    pgh_buf_dispose(&added);
    pgh_buf_dispose(&gone);
}

/* A copy of fresh holding the recorded tables instead of its own. */
static int with_tables(pgh_config **out, const pgh_config *fresh, const pgh_table_map *rec,
                       size_t nrec, pgh_error *err)
{
    pgh_config view = *fresh;
    view.tables = (pgh_table_map *)rec;
    view.ntables = nrec;
    view.table_lines = NULL;
    view.tables_resolved = true;
    return pgh_config_dup(out, &view, err);
}

int pgh_postgres__resume_tables(pgh_config **out, PGconn *dst, const pgh_config *fresh,
                                pgh_error *err)
{
    *out = NULL;
    pgh_table_map *rec = NULL;
    size_t nrec = 0;
    int rc = pgh_state_selection_read(&rec, &nrec, dst, fresh->state_schema, fresh->slot_name,
                                      err);
    if (rc != 0 || nrec == 0)
        return rc; /* a sync recorded before the list was kept: the configuration's tables */
    char **names = NULL;
    int n = 0;
    rc = pgh_state_followed_names(&names, &n, dst, fresh->state_schema, fresh->slot_name, rec,
                                  nrec, err);
    if (rc == 0)
        warn_differences(names, n, fresh);
    for (int i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
    if (rc == 0)
        rc = with_tables(out, fresh, rec, nrec, err);
    pgh_state_tables_free(rec, nrec);
    return rc;
}
