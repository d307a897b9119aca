/*
 * The tables a --follow sync selected, fixed at its start: see core_internal.h.
 *
 * <state_schema>.selected_tables holds one row per table of the slot's sync (source and
 * destination names, in the order of the run), written in the same transaction as the first
 * state row. A resumed run works on exactly these tables, whatever the patterns of tables:
 * match now. Tables that replicated DDL created, renamed or dropped while following are
 * <state_schema>.ddl_tables' business (src/apply/ddl.c): it overlays this list by position,
 * as it overlaid the run's configuration when it recorded them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_internal.h"
#include "pghost/buf.h"
#include "pghost/conn.h"
#include "pghost/log.h"

static void maps_free(pgh_table_map *t, size_t n)
{
    for (size_t i = 0; t && i < n; i++) {
        free(t[i].source_schema);
        free(t[i].source_table);
        free(t[i].dest_schema);
        free(t[i].dest_table);
    }
    free(t);
}

int pgh_core__selection_record(PGconn *dst, const pgh_config *cfg, pgh_error *err)
{
    char *t = pgh_conn_qualified(dst, cfg->state_schema, "selected_tables");
    if (t == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    pgh_buf sql;
    pgh_buf_init(&sql, 0);
    pgh_buf_printf(&sql, "DELETE FROM %s WHERE slot_name = $1", t);
    PGresult *res = NULL;
    const char *slot = cfg->slot_name;
    int rc = pgh_conn_query(&res, dst, pgh_buf_str(&sql), 1, &slot, err);
    PQclear(res);
    pgh_buf_reset(&sql);
    pgh_buf_printf(&sql,
                   "INSERT INTO %s (slot_name, table_index, source_schema, source_table, "
                   "dest_schema, dest_table) VALUES ($1, $2, $3, $4, $5, $6)",
                   t);
    for (size_t i = 0; rc == 0 && i < cfg->ntables; i++) {
        const pgh_table_map *m = &cfg->tables[i];
        char idx[24];
        snprintf(idx, sizeof(idx), "%zu", i);
        const char *p[6] = {slot, idx, m->source_schema, m->source_table, m->dest_schema,
                            m->dest_table};
        rc = pgh_conn_query(&res, dst, pgh_buf_str(&sql), 6, p, err);
        PQclear(res);
    }
    if (rc != 0)
        pgh_error_prefix(err, "recording the selected tables in %s", t);
    pgh_buf_dispose(&sql);
    free(t);
    return rc;
}

/* The slot's recorded list; *n is 0 and *out NULL when there is none (or no table). */
static int load_recorded(pgh_table_map **out, size_t *n, PGconn *dst, const pgh_config *cfg,
                         pgh_error *err)
{
    *out = NULL;
    *n = 0;
    const char *params[2] = {cfg->state_schema, cfg->slot_name};
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, dst,
                            "SELECT to_regclass(format('%I.selected_tables', $1::text)) "
                            "IS NOT NULL",
                            1, params, err);
    bool exists = rc == 0 && PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (!exists)
        return rc;
    char *t = pgh_conn_qualified(dst, cfg->state_schema, "selected_tables");
    if (t == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT source_schema, source_table, dest_schema, dest_table FROM %s "
             "WHERE slot_name = $1 ORDER BY table_index",
             t);
    free(t);
    rc = pgh_conn_query(&res, dst, sql, 1, params + 1, err);
    int rows = rc == 0 ? PQntuples(res) : 0;
    pgh_table_map *maps = rows ? calloc((size_t)rows, sizeof(*maps)) : NULL;
    if (rows && maps == NULL)
        rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
    for (int r = 0; rc == 0 && r < rows; r++) {
        pgh_table_map *m = &maps[r];
        m->source_schema = strdup(PQgetvalue(res, r, 0));
        m->source_table = strdup(PQgetvalue(res, r, 1));
        m->dest_schema = strdup(PQgetvalue(res, r, 2));
        m->dest_table = strdup(PQgetvalue(res, r, 3));
        if (!m->source_schema || !m->source_table || !m->dest_schema || !m->dest_table)
            rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
    }
    PQclear(res);
    if (rc != 0) {
        maps_free(maps, (size_t)rows);
        return rc;
    }
    *out = maps;
    *n = (size_t)rows;
    return 0;
}

/* The source names the sync follows: the recorded ones, as replicated DDL left them
 * (<state_schema>.ddl_tables overrides an entry while its origin is the recorded table, and
 * adds the tables DDL created; a dropped one has no source name). names[i] is "schema\ttable"
 * or NULL; *n entries, malloc'd. */
static int followed_names(char ***names, int *n, PGconn *dst, const pgh_config *cfg,
                          const pgh_table_map *rec, size_t nrec, pgh_error *err)
{
    *n = (int)nrec;
    *names = calloc(nrec + 1, sizeof(char *));
    if (*names == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    for (size_t i = 0; i < nrec; i++) {
        pgh_buf b;
        pgh_buf_init(&b, 0);
        pgh_buf_printf(&b, "%s\t%s", rec[i].source_schema, rec[i].source_table);
        (*names)[i] = pgh_buf_take(&b);
        if ((*names)[i] == NULL)
            return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    }
    const char *params[2] = {cfg->state_schema, cfg->slot_name};
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, dst,
                            "SELECT to_regclass(format('%I.ddl_tables', $1::text)) IS NOT NULL",
                            1, params, err);
    bool exists = rc == 0 && PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (!exists)
        return rc;
    char *t = pgh_conn_qualified(dst, cfg->state_schema, "ddl_tables");
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT idx, origin_schema, origin_table, source_schema || E'\\t' || source_table "
             "FROM %s WHERE slot = $1 ORDER BY idx",
             t ? t : "");
    free(t);
    rc = pgh_conn_query(&res, dst, sql, 1, params + 1, err);
    for (int r = 0; rc == 0 && r < PQntuples(res); r++) {
        int idx = (int)strtol(PQgetvalue(res, r, 0), NULL, 10);
        const char *now = PQgetisnull(res, r, 3) ? NULL : PQgetvalue(res, r, 3);
        if (idx >= 0 && (size_t)idx < nrec) {
            if (PQgetisnull(res, r, 1) || PQgetisnull(res, r, 2) ||
                strcmp(PQgetvalue(res, r, 1), rec[idx].source_schema) != 0 ||
                strcmp(PQgetvalue(res, r, 2), rec[idx].source_table) != 0)
                continue;
            free((*names)[idx]);
            (*names)[idx] = NULL;
        } else if (now) {
            char **grown = realloc(*names, (size_t)(*n + 2) * sizeof(char *));
            if (grown == NULL) {
                rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
                break;
            }
            *names = grown;
            idx = (*n)++;
            (*names)[idx] = NULL;
        } else {
            continue;
        }
        if (now && ((*names)[idx] = strdup(now)) == NULL)
            rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
    }
    PQclear(res);
    return rc;
}

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

int pgh_core__selection_resume(const pgh_replicate_opts **opts, run_selection *sel, PGconn *dst,
                               pgh_error *err)
{
    const pgh_config *fresh = (*opts)->config;
    pgh_table_map *rec = NULL;
    size_t nrec = 0;
    int rc = load_recorded(&rec, &nrec, dst, fresh, err);
    if (rc != 0 || nrec == 0)
        return rc; /* a sync recorded before the list was kept: the configuration's tables */
    char **names = NULL;
    int n = 0;
    rc = followed_names(&names, &n, dst, fresh, rec, nrec, err);
    if (rc == 0)
        warn_differences(names, n, fresh);
    for (int i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
    sel->lines = calloc(nrec, sizeof(*sel->lines));
    if (rc == 0 && sel->lines == NULL)
        rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
    if (rc != 0) {
        maps_free(rec, nrec);
        free(sel->lines);
        sel->lines = NULL;
        return rc;
    }
    sel->tables = rec;
    sel->n = nrec;
    sel->config = *fresh;
    sel->config.tables = rec;
    sel->config.ntables = nrec;
    sel->config.table_lines = sel->lines;
    sel->config.tables_resolved = true;
    sel->opts = **opts;
    sel->opts.config = &sel->config;
    *opts = &sel->opts;
    return 0;
}

void pgh_core__selection_dispose(run_selection *sel)
{
    maps_free(sel->tables, sel->n);
    free(sel->lines);
    memset(sel, 0, sizeof(*sel));
}
