/*
 * DDL messages on the destination: the operations the source's event trigger emitted
 * (src/core/ddl_capture.c, docs/ddl.md), applied with the table mapping, inside the
 * destination transaction that holds the surrounding data and the position row.
 *
 * A message is JSON: {"slot", "tag", "schema", "table" (the source names before the command),
 * "query", "dest_schema" (CREATE TABLE of a pattern entry), "ops": [...]}. The destination
 * parses it itself (jsonb), so the apply needs no JSON library. Each op becomes one statement
 * on the mapped destination table; column-level ops keep column names.
 *
 * The mapping starts as the configured tables and changes with RENAME (source name, and the
 * destination name when it mirrored the source's), CREATE TABLE (a new entry) and DROP TABLE.
 * Every change is written to <state_schema>.ddl_tables in the same transaction, and loaded at
 * open: a restart maps names as the stream left them, whatever the configuration file says.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply_internal.h"
#include "state/state.h"
#include "pg/conn.h"
#include "pghost/log.h"

/* Columns of the parsed message, one row per op. */
enum {
    F_SLOT, F_SCHEMA, F_TABLE, F_TAG, F_DEST_SCHEMA, F_OP, F_NAME, F_FROM, F_TO, F_TYPE,
    F_DEFAULT, F_GENERATED, F_IDENTITY, F_NOT_NULL, F_UNIQUE, F_USING, F_NEW_SCHEMA, F_NEW_TABLE,
    F_REASON, F_COLUMNS, F_PRIMARY_KEY
};

static const char PARSE_SQL[] =
    "SELECT m->>'slot', m->>'schema', m->>'table', m->>'tag', m->>'dest_schema', o->>'op', "
    "o->>'name', o->>'from', o->>'to', o->>'type', o->>'default', o->>'generated', "
    "o->>'identity', o->>'not_null', o->>'unique', o->>'using', o->>'schema', o->>'table', "
    "o->>'reason', o->'columns', o->'primary_key' "
    "FROM (SELECT $1::jsonb AS m) x, jsonb_array_elements(x.m->'ops') WITH ORDINALITY e(o, n) "
    "ORDER BY e.n";

static const char COLUMNS_SQL[] =
    "SELECT c.name, c.type, c.\"default\", c.generated, c.identity, c.not_null "
    "FROM jsonb_to_recordset($1::jsonb) AS c(attnum int, name text, type text, \"default\" text, "
    "generated text, identity text, not_null bool) ORDER BY c.attnum";

static void map_free(pgh_table_map *m)
{
    free(m->source_schema);
    free(m->source_table);
    free(m->dest_schema);
    free(m->dest_table);
    memset(m, 0, sizeof(*m));
}

/* Set an entry's names (copies); a NULL source marks a dropped table. */
static int map_set(pgh_table_map *m, const char *ss, const char *st, const char *ds,
                   const char *dt)
{
    pgh_table_map n = {ss ? strdup(ss) : NULL, st ? strdup(st) : NULL, strdup(ds), strdup(dt)};
    if ((ss && !n.source_schema) || (st && !n.source_table) || !n.dest_schema || !n.dest_table) {
        map_free(&n);
        return PGH_ENOMEM;
    }
    map_free(m);
    *m = n;
    return 0;
}

static int grow(apply_ddl *d, pgh_error *err)
{
    int n = d->ntables + 1;
    pgh_table_map *t = realloc(d->tables, (size_t)n * sizeof(*t));
    if (t == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    d->tables = t;
    memset(&d->tables[n - 1], 0, sizeof(*t));
    pgh_apply_stats *s = realloc(*d->stats, (size_t)n * sizeof(*s));
    if (s == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    memset(&s[n - 1], 0, sizeof(*s));
    *d->stats = s;
    d->ntables = n;
    return 0;
}

/* Index of the live entry for a source table, or -1. */
static int find(const apply_ddl *d, const char *schema, const char *table)
{
    for (int i = 0; i < d->ntables; i++)
        if (d->tables[i].source_schema && strcmp(d->tables[i].source_schema, schema) == 0 &&
            strcmp(d->tables[i].source_table, table) == 0)
            return i;
    return -1;
}

/* One row of <state_schema>.ddl_tables overlaid on the mapping. */
static int overlay(int idx, const pgh_state_ddl_table *row, void *payload, pgh_error *err)
{
    apply_ddl *d = payload;
    const pgh_table_map *now = &row->now;
    if (idx < d->ncfg) {
        /* Only while the configuration still names the same table at that place. */
        const pgh_table_map *m = &d->tables[idx];
        if (m->source_schema == NULL || row->origin_schema == NULL ||
            row->origin_table == NULL || strcmp(m->source_schema, row->origin_schema) != 0 ||
            strcmp(m->source_table, row->origin_table) != 0)
            return 0;
    } else {
        if (now->source_schema == NULL || find(d, now->source_schema, now->source_table) >= 0)
            return 0;
        int rc = grow(d, err);
        if (rc != 0)
            return rc;
        idx = d->ntables - 1;
    }
    if (map_set(&d->tables[idx], now->source_schema, now->source_table, now->dest_schema,
                now->dest_table) != 0)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    return 0;
}

/* Overlay what earlier DDL did to the mapping (rows of <state_schema>.ddl_tables). */
static int load(apply_ddl *d, PGconn *conn, pgh_error *err)
{
    return pgh_state_ddl_tables_read(conn, d->state_schema, d->slot, overlay, d, err);
}

int pgh_apply__ddl_init(apply_ddl *d, PGconn *conn, const pgh_apply_opts *o,
                        pgh_apply_stats **stats, pgh_error *err)
{
    memset(d, 0, sizeof(*d));
    d->stats = stats;
    d->slot = o->slot;
    d->state_schema = o->state_schema;
    d->drift = o->schema_drift;
    d->origin = o->tables;
    d->ncfg = o->ntables;
    d->tables = calloc((size_t)(o->ntables ? o->ntables : 1), sizeof(*d->tables));
    if (d->tables == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    d->ntables = o->ntables;
    for (int i = 0; i < o->ntables; i++) {
        const pgh_table_map *m = &o->tables[i];
        if (map_set(&d->tables[i], m->source_schema, m->source_table, m->dest_schema,
                    m->dest_table) != 0)
            return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    }
    return d->state_schema && d->slot ? load(d, conn, err) : 0;
}

void pgh_apply__ddl_dispose(apply_ddl *d)
{
    for (int i = 0; d->tables && i < d->ntables; i++)
        map_free(&d->tables[i]);
    free(d->tables);
    memset(d, 0, sizeof(*d));
}

bool pgh_apply__ddl_is_message(const pgh_change *c)
{
    return c->kind == PGH_CHANGE_MESSAGE && (c->u.message.flags & PGH_MESSAGE_TRANSACTIONAL) &&
           strcmp(c->u.message.prefix, PGH_DDL_PREFIX) == 0;
}

/* Write the whole mapping for the slot, in the open transaction. */
static int persist(apply_ddl *d, PGconn *conn, pgh_error *err)
{
    if (d->state_schema == NULL || d->slot == NULL)
        return 0;
    pgh_state_ddl_table *rows = calloc((size_t)d->ntables + 1, sizeof(*rows));
    if (rows == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    for (int i = 0; i < d->ntables; i++) {
        const pgh_table_map *o = i < d->ncfg ? &d->origin[i] : NULL;
        rows[i] = (pgh_state_ddl_table){.origin_schema = o ? o->source_schema : NULL,
                                        .origin_table = o ? o->source_table : NULL,
                                        .now = d->tables[i]};
    }
    int rc = pgh_state_ddl_tables_write(conn, d->state_schema, d->slot, rows, d->ntables, err);
    free(rows);
    return rc;
}

/* One parsed message: the result rows and the entry it is about. */
typedef struct ddl_msg {
    PGresult *res;      /* owned: one row per op */
    int row;            /* the op being applied */
    int entry;          /* index in the mapping; -1 before create_table */
    char *qualified;    /* owned: the destination table, quoted */
    pgh_buf sql;        /* owned: scratch */
} ddl_msg;

static const char *f(const ddl_msg *m, int col)
{
    return PQgetisnull(m->res, m->row, col) ? NULL : PQgetvalue(m->res, m->row, col);
}

static int run_sql(ddl_msg *m, PGconn *conn, pgh_error *err)
{
    if (pgh_buf_failed(&m->sql))
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    pgh_log(PGH_LOG_INFO, "ddl", "%s", pgh_buf_str(&m->sql));
    return pgh_conn_exec(conn, pgh_buf_str(&m->sql), err);
}

static int requalify(ddl_msg *m, const apply_ddl *d, PGconn *conn, pgh_error *err)
{
    free(m->qualified);
    const pgh_table_map *e = &d->tables[m->entry];
    m->qualified = pgh_conn_qualified(conn, e->dest_schema, e->dest_table);
    return m->qualified ? 0 : pgh_error_set(err, PGH_ENOMEM, "out of memory");
}

/* " ident" of field col, appended; false when out of memory. */
static bool put_ident(ddl_msg *m, PGconn *conn, const char *name)
{
    char *q = name ? pgh_conn_ident(conn, name) : NULL;
    if (q == NULL)
        return false;
    pgh_buf_puts(&m->sql, q);
    free(q);
    return true;
}

/* "name type [GENERATED ...] [DEFAULT ...] [NOT NULL]" from a column description.
 * Types and expressions are the source's format_type() / pg_get_expr() output: SQL text the
 * source's catalog produced, schema-qualified, inserted as such. */
static bool put_column(ddl_msg *m, PGconn *conn, const char *name, const char *type,
                       const char *def, const char *generated, const char *identity,
                       bool not_null)
{
    if (!put_ident(m, conn, name) || type == NULL)
        return false;
    pgh_buf_printf(&m->sql, " %s", type);
    if (generated)
        pgh_buf_printf(&m->sql, " GENERATED ALWAYS AS (%s) STORED", generated);
    else if (def)
        pgh_buf_printf(&m->sql, " DEFAULT %s", def);
    if (identity)
        pgh_buf_printf(&m->sql, " GENERATED %s AS IDENTITY",
                       identity[0] == 'a' ? "ALWAYS" : "BY DEFAULT");
    if (not_null && !identity)
        pgh_buf_puts(&m->sql, " NOT NULL");
    return true;
}

static bool is_true(const char *v)
{
    return v && v[0] == 't';
}

/* CREATE TABLE with columns and primary key; the table joins the mapping. */
static int op_create_table(ddl_msg *m, apply_ddl *d, PGconn *conn, pgh_error *err)
{
    const char *schema = f(m, F_DEST_SCHEMA) ? f(m, F_DEST_SCHEMA) : f(m, F_SCHEMA);
    if (m->entry < 0) {
        int rc = grow(d, err);
        if (rc != 0)
            return rc;
        m->entry = d->ntables - 1;
    }
    if (map_set(&d->tables[m->entry], f(m, F_SCHEMA), f(m, F_TABLE), schema, f(m, F_TABLE)) != 0)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    int rc = requalify(m, d, conn, err);
    PGresult *cols = NULL;
    const char *p[1] = {f(m, F_COLUMNS)};
    if (rc == 0)
        rc = pgh_conn_query(&cols, conn, COLUMNS_SQL, 1, p, err);
    char *qschema = pgh_conn_ident(conn, schema);
    bool ok = qschema != NULL;
    pgh_buf_reset(&m->sql);
    pgh_buf_printf(&m->sql, "CREATE SCHEMA IF NOT EXISTS %s", qschema ? qschema : "");
    free(qschema);
    if (rc == 0)
        rc = ok ? run_sql(m, conn, err) : pgh_error_set(err, PGH_ENOMEM, "out of memory");
    pgh_buf_reset(&m->sql);
    pgh_buf_printf(&m->sql, "CREATE TABLE %s (", m->qualified);
    for (int i = 0; rc == 0 && ok && i < PQntuples(cols); i++) {
        const char *v[6];
        for (int c = 0; c < 6; c++)
            v[c] = PQgetisnull(cols, i, c) ? NULL : PQgetvalue(cols, i, c);
        pgh_buf_puts(&m->sql, i ? ", " : "");
        ok = put_column(m, conn, v[0], v[1], v[2], v[3], v[4], is_true(v[5]));
    }
    PQclear(cols);
    cols = NULL;
    p[0] = f(m, F_PRIMARY_KEY);
    if (rc == 0 && ok)
        rc = pgh_conn_query(&cols, conn, "SELECT jsonb_array_elements_text($1::jsonb)", 1, p,
                            err);
    for (int i = 0; rc == 0 && ok && i < PQntuples(cols); i++) {
        pgh_buf_puts(&m->sql, i ? ", " : ", PRIMARY KEY (");
        ok = put_ident(m, conn, PQgetvalue(cols, i, 0));
        if (i == PQntuples(cols) - 1)
            pgh_buf_putc(&m->sql, ')');
    }
    PQclear(cols);
    pgh_buf_putc(&m->sql, ')');
    if (rc == 0)
        rc = ok ? run_sql(m, conn, err) : pgh_error_set(err, PGH_ENOMEM, "out of memory");
    return rc == 0 ? persist(d, conn, err) : rc;
}

/* The source renamed the table (or moved it to another schema): follow it in the mapping, and
 * on the destination too where the destination's name mirrored the source's. */
static int op_rename_table(ddl_msg *m, apply_ddl *d, PGconn *conn, pgh_error *err)
{
    const pgh_table_map *e = &d->tables[m->entry];
    const char *ns = f(m, F_NEW_SCHEMA), *nt = f(m, F_NEW_TABLE);
    const char *ds = strcmp(e->dest_schema, e->source_schema) == 0 ? ns : e->dest_schema;
    const char *dt = strcmp(e->dest_table, e->source_table) == 0 ? nt : e->dest_table;
    int rc = 0;
    if (strcmp(ds, e->dest_schema) != 0) {
        char *q = pgh_conn_ident(conn, ds);
        pgh_buf_reset(&m->sql);
        pgh_buf_printf(&m->sql, "ALTER TABLE %s SET SCHEMA %s", m->qualified, q ? q : "");
        rc = q ? run_sql(m, conn, err) : pgh_error_set(err, PGH_ENOMEM, "out of memory");
        free(q);
    }
    if (rc == 0 && strcmp(dt, e->dest_table) != 0) {
        char *from = pgh_conn_qualified(conn, ds, e->dest_table);
        char *to = pgh_conn_ident(conn, dt);
        pgh_buf_reset(&m->sql);
        pgh_buf_printf(&m->sql, "ALTER TABLE %s RENAME TO %s", from ? from : "", to ? to : "");
        rc = from && to ? run_sql(m, conn, err)
                        : pgh_error_set(err, PGH_ENOMEM, "out of memory");
        free(from);
        free(to);
    }
    if (rc == 0 && map_set(&d->tables[m->entry], ns, nt, ds, dt) != 0)
        rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
    if (rc == 0)
        rc = requalify(m, d, conn, err);
    return rc == 0 ? persist(d, conn, err) : rc;
}

static int op_drop_table(ddl_msg *m, apply_ddl *d, PGconn *conn, pgh_error *err)
{
    pgh_buf_reset(&m->sql);
    pgh_buf_printf(&m->sql, "DROP TABLE IF EXISTS %s", m->qualified);
    int rc = run_sql(m, conn, err);
    pgh_table_map *e = &d->tables[m->entry];
    if (rc == 0 && map_set(e, NULL, NULL, e->dest_schema, e->dest_table) != 0)
        rc = pgh_error_set(err, PGH_ENOMEM, "out of memory");
    return rc == 0 ? persist(d, conn, err) : rc;
}

/* The destination's primary key columns, comma-separated, for comparison. */
static int op_primary_key(ddl_msg *m, PGconn *conn, pgh_error *err)
{
    const char *p[2] = {m->qualified, f(m, F_PRIMARY_KEY)};
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, conn,
                            "SELECT coalesce((SELECT jsonb_agg(a.attname ORDER BY k.ord) "
                            "FROM pg_index i, unnest(i.indkey::int2[]) WITH ORDINALITY k(att, ord) "
                            "JOIN pg_attribute a ON a.attnum = k.att WHERE a.attrelid = "
                            "$1::regclass AND i.indrelid = $1::regclass AND i.indisprimary), "
                            "'[]') = $2::jsonb",
                            2, p, err);
    bool same = rc == 0 && PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (rc == 0 && !same)
        rc = pgh_error_set(err, PGH_ESINK,
                           "the primary key of %s changed on the source to %s: pghost does not "
                           "change primary keys; give the destination table the same primary "
                           "key, then run pghost again",
                           m->qualified, f(m, F_PRIMARY_KEY));
    return rc;
}

/* ALTER TABLE <table> <what> [ident] [rest]: the column-level ops. */
static int op_column(ddl_msg *m, PGconn *conn, const char *op, pgh_error *err)
{
    const char *name = f(m, F_NAME);
    pgh_buf_reset(&m->sql);
    pgh_buf_printf(&m->sql, "ALTER TABLE %s ", m->qualified);
    bool ok = true;
    if (strcmp(op, "add_column") == 0) {
        pgh_buf_puts(&m->sql, "ADD COLUMN ");
        ok = put_column(m, conn, name, f(m, F_TYPE), f(m, F_DEFAULT), f(m, F_GENERATED),
                        f(m, F_IDENTITY), is_true(f(m, F_NOT_NULL)));
    } else if (strcmp(op, "drop_column") == 0) {
        pgh_buf_puts(&m->sql, "DROP COLUMN IF EXISTS ");
        ok = put_ident(m, conn, name);
    } else if (strcmp(op, "rename_column") == 0) {
        pgh_buf_puts(&m->sql, "RENAME COLUMN ");
        ok = put_ident(m, conn, f(m, F_FROM));
        pgh_buf_puts(&m->sql, " TO ");
        ok = ok && put_ident(m, conn, f(m, F_TO));
    } else {
        /* Each field read once: the compiler cannot know two reads return the same pointer. */
        const char *type = f(m, F_TYPE), *dflt = f(m, F_DEFAULT);
        pgh_buf_puts(&m->sql, "ALTER COLUMN ");
        ok = put_ident(m, conn, name) && (type || strcmp(op, "alter_type") != 0) &&
             (dflt || strcmp(op, "set_default") != 0);
        if (!ok)
            ;
        else if (strcmp(op, "alter_type") == 0) {
            pgh_buf_printf(&m->sql, " TYPE %s USING ", type);
            ok = put_ident(m, conn, name);
            pgh_buf_printf(&m->sql, "::%s", type);
        } else if (strcmp(op, "set_default") == 0)
            pgh_buf_printf(&m->sql, " SET DEFAULT %s", dflt);
        else if (strcmp(op, "drop_default") == 0)
            pgh_buf_puts(&m->sql, " DROP DEFAULT");
        else if (strcmp(op, "set_not_null") == 0)
            pgh_buf_puts(&m->sql, " SET NOT NULL");
        else if (strcmp(op, "drop_not_null") == 0)
            pgh_buf_puts(&m->sql, " DROP NOT NULL");
        else
            return pgh_error_set(err, PGH_EPROTO, "DDL message with unknown operation %s", op);
    }
    return ok ? run_sql(m, conn, err)
              : pgh_error_set(err, PGH_EPROTO, "DDL message: %s lacks a field", op);
}

/* CREATE / DROP / ALTER INDEX: indexes live in the destination table's schema. */
static int op_index(ddl_msg *m, const apply_ddl *d, PGconn *conn, const char *op,
                    pgh_error *err)
{
    const char *schema = d->tables[m->entry].dest_schema;
    const char *name = strcmp(op, "rename_index") == 0 ? f(m, F_FROM) : f(m, F_NAME);
    const char *using = f(m, F_USING);
    char *qindex = name ? pgh_conn_qualified(conn, schema, name) : NULL;
    if (qindex == NULL)
        return pgh_error_set(err, PGH_EPROTO, "DDL message: %s lacks a name", op);
    pgh_buf_reset(&m->sql);
    bool ok = true;
    if (strcmp(op, "drop_index") == 0) {
        pgh_buf_printf(&m->sql, "DROP INDEX IF EXISTS %s", qindex);
    } else if (strcmp(op, "rename_index") == 0) {
        pgh_buf_printf(&m->sql, "ALTER INDEX IF EXISTS %s RENAME TO ", qindex);
        ok = put_ident(m, conn, f(m, F_TO));
    } else if (using == NULL) {
        free(qindex);
        return pgh_error_set(err, PGH_ESINK,
                             "index %s of %s could not be described from the source's catalog: "
                             "create it on the destination by hand",
                             name, m->qualified);
    } else {
        pgh_buf_printf(&m->sql, "CREATE %sINDEX IF NOT EXISTS ",
                       is_true(f(m, F_UNIQUE)) ? "UNIQUE " : "");
        ok = put_ident(m, conn, name);
        pgh_buf_printf(&m->sql, " ON %s USING %s", m->qualified, using);
    }
    free(qindex);
    return ok ? run_sql(m, conn, err) : pgh_error_set(err, PGH_ENOMEM, "out of memory");
}

static int apply_op(ddl_msg *m, apply_ddl *d, PGconn *conn, pgh_error *err)
{
    const char *op = f(m, F_OP) ? f(m, F_OP) : "";
    if (strcmp(op, "create_table") == 0)
        return op_create_table(m, d, conn, err);
    if (strcmp(op, "unsupported") == 0)
        return pgh_error_set(err, PGH_ESINK, "%s on %s.%s cannot be replicated: %s",
                             f(m, F_TAG), f(m, F_SCHEMA), f(m, F_TABLE), f(m, F_REASON));
    if (m->entry < 0)
        return 0; /* a table this run does not map */
    if (strcmp(op, "rename_table") == 0)
        return op_rename_table(m, d, conn, err);
    if (strcmp(op, "drop_table") == 0)
        return op_drop_table(m, d, conn, err);
    if (strcmp(op, "primary_key") == 0)
        return op_primary_key(m, conn, err);
    if (strstr(op, "_index") != NULL)
        return op_index(m, d, conn, op, err);
    return op_column(m, conn, op, err);
}

int pgh_apply__ddl_apply(apply_ddl *d, PGconn *conn, const pgh_change *c, pgh_error *err)
{
    ddl_msg m = {.entry = -1};
    pgh_buf_init(&m.sql, 0);
    char *json = malloc((size_t)c->u.message.len + 1);
    if (json == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    memcpy(json, c->u.message.content, c->u.message.len);
    json[c->u.message.len] = '\0';
    const char *p[1] = {json};
    int rc = pgh_conn_query(&m.res, conn, PARSE_SQL, 1, p, err);
    free(json);
    bool mine = rc == 0 && PQntuples(m.res) > 0 && !PQgetisnull(m.res, 0, F_SLOT) &&
                d->slot && strcmp(PQgetvalue(m.res, 0, F_SLOT), d->slot) == 0;
    if (mine) {
        m.entry = find(d, PQgetvalue(m.res, 0, F_SCHEMA), PQgetvalue(m.res, 0, F_TABLE));
        if (m.entry >= 0)
            rc = requalify(&m, d, conn, err);
    }
    for (m.row = 0; mine && rc == 0 && m.row < PQntuples(m.res); m.row++)
        rc = apply_op(&m, d, conn, err);
    if (rc != 0 && mine)
        pgh_error_prefix(err, "applying DDL from the source (%s)",
                         PQgetvalue(m.res, m.row < PQntuples(m.res) ? m.row : 0, F_TAG));
    PQclear(m.res);
    free(m.qualified);
    pgh_buf_dispose(&m.sql);
    return rc;
}
