/*
 * Table selection: pattern entries of cfg->tables expanded against the source's catalog (see
 * include/pghost/tables.h and the pattern rules in include/pghost/config.h).
 *
 * Candidates are the source's ordinary and partitioned tables that are not partitions, outside
 * the system schemas (temporary tables live in pg_temp_N schemas: never candidates), in (schema,
 * name) byte order. A pattern leaves unlogged tables out with a warning naming each, as
 * FOR ALL TABLES does: PostgreSQL cannot publish them. The result keeps file order: each entry in
 * turn, a pattern entry contributing its matches in catalog order. A table named by an entry of
 * its own is taken from that entry only (it may rename the table); a table two patterns match
 * is taken once, from the first. Excludes apply to pattern matches (the configuration already
 * refused an excluded table named on its own).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"
#include "pghost/log.h"
#include "source/tables.h"

static const char CANDIDATES_SQL[] =
    "SELECT n.nspname, c.relname, c.relpersistence FROM pg_catalog.pg_class c "
    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition "
    "AND n.nspname <> ALL (ARRAY['pg_catalog', 'information_schema', $1]) "
    "AND n.nspname !~ '^pg_(toast|temp_)' "
    "ORDER BY n.nspname COLLATE \"C\", c.relname COLLATE \"C\"";

/* The list being built. */
typedef struct selection {
    pgh_table_map *maps; /* owned, n entries, cap allocated */
    size_t *lines;       /* owned, n entries */
    size_t n, cap;
} selection;

static bool is_pattern_entry(const pgh_table_map *m)
{
    return pgh_config_is_pattern(m->source_schema) || pgh_config_is_pattern(m->source_table);
}

static bool same_source(const pgh_table_map *m, const char *schema, const char *table)
{
    return strcmp(m->source_schema, schema) == 0 && strcmp(m->source_table, table) == 0;
}

static bool excluded(const pgh_config *cfg, const char *schema, const char *table)
{
    for (size_t i = 0; i < cfg->nexclude; i++) {
        if (pgh_config_pattern_match(cfg->exclude_tables[i].schema, schema) &&
            pgh_config_pattern_match(cfg->exclude_tables[i].table, table))
            return true;
    }
    return false;
}

/* Named by an explicit entry of the configuration, or already in the selection. */
static bool taken(const pgh_config *cfg, const selection *sel, const char *schema,
                  const char *table)
{
    for (size_t i = 0; i < cfg->ntables; i++) {
        if (!is_pattern_entry(&cfg->tables[i]) && same_source(&cfg->tables[i], schema, table))
            return true;
    }
    for (size_t i = 0; i < sel->n; i++) {
        if (same_source(&sel->maps[i], schema, table))
            return true;
    }
    return false;
}

static int add(selection *sel, const char *ss, const char *st, const char *ds, const char *dt,
               size_t line, pgh_error *err)
{
    if (sel->n == sel->cap) {
        size_t cap = sel->cap ? sel->cap * 2 : 16;
        pgh_table_map *maps = realloc(sel->maps, cap * sizeof(*maps));
        if (maps != NULL)
            sel->maps = maps;
        size_t *lines = maps ? realloc(sel->lines, cap * sizeof(*lines)) : NULL;
        if (lines == NULL)
            return pgh_error_set(err, PGH_ENOMEM, "out of memory");
        sel->lines = lines;
        sel->cap = cap;
    }
    pgh_table_map *m = &sel->maps[sel->n];
    m->source_schema = strdup(ss);
    m->source_table = strdup(st);
    m->dest_schema = strdup(ds);
    m->dest_table = strdup(dt);
    sel->lines[sel->n++] = line;
    if (!m->source_schema || !m->source_table || !m->dest_schema || !m->dest_table)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    return 0;
}

static void selection_dispose(selection *sel)
{
    for (size_t i = 0; i < sel->n; i++) {
        free(sel->maps[i].source_schema);
        free(sel->maps[i].source_table);
        free(sel->maps[i].dest_schema);
        free(sel->maps[i].dest_table);
    }
    free(sel->maps);
    free(sel->lines);
    memset(sel, 0, sizeof(*sel));
}

/* "file:line: " for messages about entry i (just "file: " when the line is unknown). */
static void where(char *out, size_t cap, const pgh_config *cfg, size_t line)
{
    const char *file = cfg->path ? cfg->path : "configuration";
    if (line > 0)
        snprintf(out, cap, "%s:%zu", file, line);
    else
        snprintf(out, cap, "%s", file);
}

/* Add the matches of one pattern entry. */
static int expand(selection *sel, const pgh_config *cfg, size_t entry, PGresult *cands,
                  pgh_error *err)
{
    const pgh_table_map *p = &cfg->tables[entry];
    size_t line = cfg->table_lines ? cfg->table_lines[entry] : 0;
    /* destination_schema_name defaults to the source's: for a schema pattern, each match's. */
    bool own_schema = pgh_config_is_pattern(p->dest_schema);
    int matches = 0;
    for (int r = 0; r < PQntuples(cands); r++) {
        const char *schema = PQgetvalue(cands, r, 0);
        const char *table = PQgetvalue(cands, r, 1);
        if (!pgh_config_pattern_match(p->source_schema, schema) ||
            !pgh_config_pattern_match(p->source_table, table))
            continue;
        if (excluded(cfg, schema, table) || taken(cfg, sel, schema, table)) {
            matches++;
            continue;
        }
        /* as FOR ALL TABLES does: PostgreSQL publishes no change of an unlogged table */
        if (PQgetvalue(cands, r, 2)[0] != 'p') {
            pgh_log(PGH_LOG_WARN, "tables",
                    "the pattern %s.%s leaves out %s.%s: it is unlogged, and PostgreSQL cannot "
                    "publish it (ALTER TABLE ... SET LOGGED to include it)",
                    p->source_schema, p->source_table, schema, table);
            continue;
        }
        matches++;
        int rc = add(sel, schema, table, own_schema ? schema : p->dest_schema, table, line, err);
        if (rc != 0)
            return rc;
    }
    if (matches > 0)
        return 0;
    char at[512];
    where(at, sizeof(at), cfg, line);
    return pgh_error_set(err, PGH_ECONFIG,
                         "%s: the pattern %s.%s matches no table on the source (ordinary and "
                         "partitioned tables; partitions are selected through their root): fix "
                         "the pattern or remove the entry",
                         at, p->source_schema, p->source_table);
}

/* Two selected tables may not land in one destination table. */
static int check_destinations(const selection *sel, const pgh_config *cfg, pgh_error *err)
{
    for (size_t i = 0; i < sel->n; i++) {
        for (size_t j = i + 1; j < sel->n; j++) {
            const pgh_table_map *a = &sel->maps[i], *b = &sel->maps[j];
            if (strcmp(a->dest_schema, b->dest_schema) != 0 ||
                strcmp(a->dest_table, b->dest_table) != 0)
                continue;
            char at[512];
            where(at, sizeof(at), cfg, sel->lines[j]);
            return pgh_error_set(err, PGH_ECONFIG,
                                 "%s: %s.%s and %s.%s would both be copied into %s.%s: exclude "
                                 "one of them or give one another destination",
                                 at, a->source_schema, a->source_table, b->source_schema,
                                 b->source_table, a->dest_schema, a->dest_table);
        }
    }
    return 0;
}

static int build(selection *sel, const pgh_config *cfg, PGresult *cands, pgh_error *err)
{
    for (size_t i = 0; i < cfg->ntables; i++) {
        const pgh_table_map *m = &cfg->tables[i];
        size_t line = cfg->table_lines ? cfg->table_lines[i] : 0;
        int rc = is_pattern_entry(m) ? expand(sel, cfg, i, cands, err)
                                     : add(sel, m->source_schema, m->source_table, m->dest_schema,
                                           m->dest_table, line, err);
        if (rc != 0)
            return rc;
    }
    if (sel->n == 0)
        return pgh_error_set(err, PGH_ECONFIG,
                             "%s: exclude_tables excludes every table the patterns select",
                             cfg->path ? cfg->path : "configuration");
    return check_destinations(sel, cfg, err);
}

/* Move the selection into cfg, freeing what it replaces. */
static void install(pgh_config *cfg, selection *sel)
{
    for (size_t i = 0; i < cfg->ntables; i++) {
        free(cfg->tables[i].source_schema);
        free(cfg->tables[i].source_table);
        free(cfg->tables[i].dest_schema);
        free(cfg->tables[i].dest_table);
    }
    free(cfg->tables);
    free(cfg->table_lines);
    cfg->tables = sel->maps;
    cfg->table_lines = sel->lines;
    cfg->ntables = sel->n;
    memset(sel, 0, sizeof(*sel));
}

bool pgh_tables_has_patterns(const pgh_config *cfg)
{
    for (size_t i = 0; i < cfg->ntables; i++) {
        if (is_pattern_entry(&cfg->tables[i]))
            return true;
    }
    return false;
}

int pgh_tables_resolve(pgh_config *cfg, PGconn *src, pgh_error *err)
{
    if (cfg->tables_resolved || !pgh_tables_has_patterns(cfg)) {
        cfg->tables_resolved = true;
        return 0;
    }
    const char *params[1] = {cfg->state_schema ? cfg->state_schema : ""};
    PGresult *cands = NULL;
    selection sel = {0};
    int rc = pgh_conn_query(&cands, src, CANDIDATES_SQL, 1, params, err);
    if (rc == 0)
        rc = build(&sel, cfg, cands, err);
    if (rc == 0) {
        install(cfg, &sel);
        cfg->tables_resolved = true;
    }
    selection_dispose(&sel);
    PQclear(cands);
    return rc;
}

int pgh_tables_resolve_at_source(pgh_config *cfg, pgh_error *err)
{
    if (cfg->tables_resolved || !pgh_tables_has_patterns(cfg)) {
        cfg->tables_resolved = true;
        return 0;
    }
    PGconn *src = NULL;
    int rc =
        pgh_conn_open(&src, cfg->source_connection, PGH_CONN_SQL, "source", "pghost tables", err);
    if (rc == 0)
        rc = pgh_tables_resolve(cfg, src, err);
    PQfinish(src);
    return rc;
}
