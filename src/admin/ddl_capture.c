/*
 * DDL capture on the source: event triggers that emit each DDL command on the selected tables
 * as a transactional logical message (prefix "pghost.ddl"), so that it reaches the stream at
 * its transaction's position, between the data written before and after it. The destination
 * side is src/apply/ddl.c; the design and the message format are in docs/ddl.md.
 *
 * What install creates, in the schema named by state_schema (default "pghost") on the source:
 *   ddl_selection   the configured tables of each slot (names may hold * and ? wildcards), the
 *                   publication, and the destination schema of a pattern entry
 *   ddl_shape       per slot, the last known shape of each followed table (columns by attnum,
 *                   primary key, indexes by OID): ddl_command_end diffs the catalog against it,
 *                   so a statement string holding several commands, ALTER TABLE sub-commands
 *                   and renames all come out as explicit, ordered operations
 *   functions       ddl_shape_of, ddl_ops (the diff), ddl_on_create, ddl_publish, ddl_emit,
 *                   and the trigger functions ddl_command_end and ddl_sql_drop (SECURITY
 *                   DEFINER, so that DDL by any role can emit messages and add a new table to
 *                   the publication)
 *   event triggers  <schema>_ddl_end (ddl_command_end) and <schema>_ddl_drop (sql_drop)
 * remove deletes the slot's rows and, when no other slot uses them, drops everything above
 * (the schema only when it is then empty).
 */
#include <stdlib.h>
#include <string.h>

#include "admin/ddl_capture.h"
#include "pg/sql.h"
#include "util/buf.h"
#include "pg/conn.h"

/* The objects, with @S@ standing for the quoted schema name. */
static const char INSTALL_SQL[] =
    "CREATE SCHEMA IF NOT EXISTS @S@;\n"
    "CREATE TABLE IF NOT EXISTS @S@.ddl_selection (\n"
    "    slot text NOT NULL, publication text NOT NULL, source_schema text NOT NULL,\n"
    "    source_table text NOT NULL, dest_schema text);\n"
    "CREATE TABLE IF NOT EXISTS @S@.ddl_shape (\n"
    "    slot text NOT NULL, relid oid NOT NULL, shape jsonb NOT NULL, PRIMARY KEY (slot, relid));\n"
    "CREATE OR REPLACE FUNCTION @S@.ddl_glob(name text, pattern text) RETURNS boolean\n"
    "LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$\n"
    "    SELECT name LIKE replace(replace(replace(replace(replace(pattern, '\\', '\\\\'), '%', '\\%'),\n"
    "                                                 '_', '\\_'), '*', '%'), '?', '_')\n"
    "$$;\n"
    "CREATE OR REPLACE FUNCTION @S@.ddl_index_tail(idx oid) RETURNS text\n"
    "LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$\n"
    "    SELECT CASE WHEN left(def, length(pre)) = pre THEN substr(def, length(pre) + 1) END\n"
    "    FROM (SELECT pg_get_indexdef(i.indexrelid) AS def,\n"
    "                 'CREATE ' || CASE WHEN i.indisunique THEN 'UNIQUE ' ELSE '' END || 'INDEX '\n"
    "                 || quote_ident(ic.relname) || ' ON '\n"
    "                 || CASE WHEN ic.relkind = 'I' THEN 'ONLY ' ELSE '' END\n"
    "                 || quote_ident(n.nspname) || '.' || quote_ident(t.relname) || ' USING ' AS pre\n"
    "          FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid\n"
    "          JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace\n"
    "          WHERE i.indexrelid = idx) x\n"
    "$$;\n"
    "CREATE OR REPLACE FUNCTION @S@.ddl_shape_of(rel oid) RETURNS jsonb\n"
    "LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$\n"
    "    SELECT jsonb_build_object(\n"
    "        'schema', n.nspname, 'table', c.relname,\n"
    "        'columns', coalesce((\n"
    "            SELECT jsonb_agg(jsonb_build_object(\n"
    "                'attnum', a.attnum, 'name', a.attname,\n"
    "                'type', format_type(a.atttypid, a.atttypmod),\n"
    "                'default', CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, d.adrelid) END,\n"
    "                'generated', CASE WHEN a.attgenerated <> '' THEN pg_get_expr(d.adbin, d.adrelid) END,\n"
    "                'identity', nullif(a.attidentity::text, ''),\n"
    "                'not_null', a.attnotnull) ORDER BY a.attnum)\n"
    "            FROM pg_attribute a\n"
    "            LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum\n"
    "            WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped), '[]'),\n"
    "        'primary_key', coalesce((\n"
    "            SELECT jsonb_agg(a.attname ORDER BY k.ord)\n"
    "            FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY k(att, ord)\n"
    "            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.att\n"
    "            WHERE i.indrelid = rel AND i.indisprimary), '[]'),\n"
    "        'indexes', coalesce((\n"
    "            SELECT jsonb_agg(jsonb_build_object('oid', i.indexrelid::bigint, 'name', ic.relname,\n"
    "                                                'unique', i.indisunique,\n"
    "                                                'using', @S@.ddl_index_tail(i.indexrelid))\n"
    "                             ORDER BY ic.relname)\n"
    "            FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid\n"
    "            WHERE i.indrelid = rel\n"
    "              AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid\n"
    "                                                              AND k.conrelid = rel)), '[]'))\n"
    "    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = rel\n"
    "$$;\n"
    "CREATE OR REPLACE FUNCTION @S@.ddl_ops(old jsonb, new jsonb) RETURNS jsonb\n"
    "LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$\n"
    "    WITH o AS (SELECT * FROM jsonb_to_recordset(old->'columns') AS x(attnum int, name text,\n"
    "                   type text, \"default\" text, generated text, identity text, not_null bool)),\n"
    "         n AS (SELECT * FROM jsonb_to_recordset(new->'columns') AS x(attnum int, name text,\n"
    "                   type text, \"default\" text, generated text, identity text, not_null bool)),\n"
    "         oi AS (SELECT * FROM jsonb_to_recordset(old->'indexes') AS x(oid bigint, name text,\n"
    "                   \"unique\" bool, \"using\" text)),\n"
    "         ni AS (SELECT * FROM jsonb_to_recordset(new->'indexes') AS x(oid bigint, name text,\n"
    "                   \"unique\" bool, \"using\" text)),\n"
    "         ops AS (\n"
    "            SELECT 1 AS stage, 0 AS ord, jsonb_build_object('op', 'rename_table',\n"
    "                       'schema', new->>'schema', 'table', new->>'table') AS op\n"
    "             WHERE old->>'schema' <> new->>'schema' OR old->>'table' <> new->>'table'\n"
    "            UNION ALL\n"
    "            SELECT 2, o.attnum, jsonb_build_object('op', 'rename_column', 'from', o.name,\n"
    "                                                   'to', n.name)\n"
    "              FROM o JOIN n USING (attnum) WHERE o.name <> n.name\n"
    "            UNION ALL\n"
    "            SELECT 3, 0, jsonb_build_object('op', 'drop_index', 'name', oi.name)\n"
    "              FROM oi LEFT JOIN ni USING (oid)\n"
    "             WHERE ni.oid IS NULL OR ni.\"using\" IS DISTINCT FROM oi.\"using\"\n"
    "            UNION ALL\n"
    "            SELECT 4, 0, jsonb_build_object('op', 'rename_index', 'from', oi.name, 'to', ni.name)\n"
    "              FROM oi JOIN ni USING (oid)\n"
    "             WHERE oi.name <> ni.name AND ni.\"using\" IS NOT DISTINCT FROM oi.\"using\"\n"
    "            UNION ALL\n"
    "            SELECT 5, o.attnum, jsonb_build_object('op', 'drop_column', 'name', o.name)\n"
    "              FROM o LEFT JOIN n USING (attnum) WHERE n.attnum IS NULL\n"
    "            UNION ALL\n"
    "            SELECT 6, n.attnum, jsonb_build_object('op', 'add_column') || to_jsonb(n)\n"
    "              FROM n LEFT JOIN o USING (attnum) WHERE o.attnum IS NULL\n"
    "            UNION ALL\n"
    "            SELECT 7, n.attnum, jsonb_build_object('op', 'alter_type', 'name', n.name,\n"
    "                                                   'type', n.type)\n"
    "              FROM o JOIN n USING (attnum) WHERE o.type <> n.type\n"
    "            UNION ALL\n"
    "            SELECT 8, n.attnum, jsonb_build_object('op', CASE WHEN n.\"default\" IS NULL\n"
    "                       THEN 'drop_default' ELSE 'set_default' END, 'name', n.name,\n"
    "                       'default', n.\"default\")\n"
    "              FROM o JOIN n USING (attnum) WHERE o.\"default\" IS DISTINCT FROM n.\"default\"\n"
    "            UNION ALL\n"
    "            SELECT 9, n.attnum, jsonb_build_object('op', CASE WHEN n.not_null\n"
    "                       THEN 'set_not_null' ELSE 'drop_not_null' END, 'name', n.name)\n"
    "              FROM o JOIN n USING (attnum)\n"
    "             WHERE o.not_null <> n.not_null AND n.identity IS NULL\n"
    "            UNION ALL\n"
    "            SELECT 10, 0, jsonb_build_object('op', 'unsupported', 'reason',\n"
    "                       'a generated or identity column changed')\n"
    "             WHERE EXISTS (SELECT 1 FROM o JOIN n USING (attnum)\n"
    "                            WHERE o.generated IS DISTINCT FROM n.generated\n"
    "                               OR o.identity IS DISTINCT FROM n.identity)\n"
    "            UNION ALL\n"
    "            SELECT 11, 0, jsonb_build_object('op', 'create_index', 'name', ni.name,\n"
    "                                             'unique', ni.\"unique\", 'using', ni.\"using\")\n"
    "              FROM ni LEFT JOIN oi USING (oid)\n"
    "             WHERE oi.oid IS NULL OR ni.\"using\" IS DISTINCT FROM oi.\"using\"\n"
    "            UNION ALL\n"
    "            SELECT 12, 0, jsonb_build_object('op', 'primary_key', 'columns', new->'primary_key')\n"
    "             WHERE old->'primary_key' <> new->'primary_key')\n"
    "    SELECT coalesce(jsonb_agg(op ORDER BY stage, ord), '[]') FROM ops\n"
    "$$;\n"
    "CREATE OR REPLACE FUNCTION @S@.ddl_emit(slot text, tag text, schema_name text, table_name text,\n"
    "                                        extra jsonb, ops jsonb) RETURNS void\n"
    "LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$\n"
    "    SELECT FROM pg_logical_emit_message(true, 'pghost.ddl', (jsonb_build_object(\n"
    "        'version', 1, 'slot', slot, 'tag', tag, 'schema', schema_name, 'table', table_name,\n"
    "        'query', current_query(), 'ops', ops) || coalesce(extra, '{}'))::text)\n"
    "$$;\n"
    "CREATE OR REPLACE FUNCTION @S@.ddl_publish(pub text, rel oid) RETURNS text\n"
    "LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$\n"
    "BEGIN\n"
    "    IF EXISTS (SELECT 1 FROM pg_publication p WHERE p.pubname = pub AND p.puballtables) OR\n"
    "       EXISTS (SELECT 1 FROM pg_publication p JOIN pg_publication_rel r ON r.prpubid = p.oid\n"
    "                WHERE p.pubname = pub AND r.prrelid = rel) OR\n"
    "       EXISTS (SELECT 1 FROM pg_publication p\n"
    "                 JOIN pg_publication_namespace pn ON pn.pnpubid = p.oid\n"
    "                 JOIN pg_class c ON c.relnamespace = pn.pnnspid\n"
    "                WHERE p.pubname = pub AND c.oid = rel) THEN\n"
    "        RETURN NULL;\n"
    "    END IF;\n"
    "    EXECUTE format('ALTER PUBLICATION %I ADD TABLE %s', pub, rel::regclass);\n"
    "    RETURN NULL;\n"
    "EXCEPTION WHEN OTHERS THEN\n"
    "    RETURN format('the new table could not be added to publication %s: %s', pub, SQLERRM);\n"
    "END\n"
    "$$;\n"
    "CREATE OR REPLACE FUNCTION @S@.ddl_on_create(rel oid, tag text) RETURNS void\n"
    "LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$\n"
    "DECLARE\n"
    "    sel record;\n"
    "    shape jsonb := @S@.ddl_shape_of(rel);\n"
    "    problem text;\n"
    "    ops jsonb;\n"
    "BEGIN\n"
    "    FOR sel IN SELECT DISTINCT ON (s.slot) s.*\n"
    "                 FROM @S@.ddl_selection s\n"
    "                WHERE @S@.ddl_glob(shape->>'schema', s.source_schema)\n"
    "                  AND @S@.ddl_glob(shape->>'table', s.source_table)\n"
    "                ORDER BY s.slot LOOP\n"
    "        IF tag <> 'CREATE TABLE' THEN\n"
    "            problem := tag || ' writes its rows before the table can join the publication: '\n"
    "                       || 'create the table with CREATE TABLE, then INSERT ... SELECT';\n"
    "        ELSE\n"
    "            problem := @S@.ddl_publish(sel.publication, rel);\n"
    "        END IF;\n"
    "        IF problem IS NOT NULL THEN\n"
    "            ops := jsonb_build_array(jsonb_build_object('op', 'unsupported', 'reason', problem));\n"
    "        ELSE\n"
    "            ops := jsonb_build_array(jsonb_build_object('op', 'create_table',\n"
    "                       'columns', shape->'columns', 'primary_key', shape->'primary_key'))\n"
    "                   || @S@.ddl_ops(shape - 'indexes' || '{\"indexes\": []}', shape);\n"
    "        END IF;\n"
    "        PERFORM @S@.ddl_emit(sel.slot, tag, shape->>'schema', shape->>'table',\n"
    "                             jsonb_build_object('dest_schema', sel.dest_schema), ops);\n"
    "        INSERT INTO @S@.ddl_shape VALUES (sel.slot, rel, shape)\n"
    "            ON CONFLICT (slot, relid) DO UPDATE SET shape = excluded.shape;\n"
    "    END LOOP;\n"
    "END\n"
    "$$;\n"
    "CREATE OR REPLACE FUNCTION @S@.ddl_command_end() RETURNS event_trigger\n"
    "LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$\n"
    "DECLARE\n"
    "    cmd record;\n"
    "    t record;\n"
    "    cur jsonb;\n"
    "    ops jsonb;\n"
    "BEGIN\n"
    "    FOR cmd IN SELECT rel, (array_agg(tag ORDER BY ord))[1] AS tag,\n"
    "                      max(tag) FILTER (WHERE tag IN ('CREATE TABLE', 'CREATE TABLE AS',\n"
    "                                                     'SELECT INTO')) AS create_tag FROM (\n"
    "                   SELECT CASE WHEN c.relkind IN ('r', 'p') THEN c.oid ELSE i.indrelid END AS rel,\n"
    "                          d.command_tag AS tag, d.ord\n"
    "                     FROM pg_event_trigger_ddl_commands() WITH ORDINALITY d(classid, objid,\n"
    "                          objsubid, command_tag, object_type, schema_name, object_identity,\n"
    "                          in_extension, command, ord)\n"
    "                     JOIN pg_class c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid\n"
    "                     LEFT JOIN pg_index i ON i.indexrelid = c.oid\n"
    "                    WHERE c.relkind IN ('r', 'p', 'i', 'I') AND NOT c.relispartition) x\n"
    "                WHERE rel IS NOT NULL GROUP BY rel ORDER BY min(ord) LOOP\n"
    "        cur := NULL;\n"
    "        FOR t IN SELECT * FROM @S@.ddl_shape WHERE relid = cmd.rel LOOP\n"
    "            cur := coalesce(cur, @S@.ddl_shape_of(cmd.rel));\n"
    "            ops := @S@.ddl_ops(t.shape, cur);\n"
    "            IF ops <> '[]' THEN\n"
    "                PERFORM @S@.ddl_emit(t.slot, cmd.tag, t.shape->>'schema', t.shape->>'table',\n"
    "                                     NULL, ops);\n"
    "                UPDATE @S@.ddl_shape s SET shape = cur WHERE s.slot = t.slot AND s.relid = cmd.rel;\n"
    "            END IF;\n"
    "        END LOOP;\n"
    "        IF cur IS NULL AND cmd.create_tag IS NOT NULL THEN\n"
    "            PERFORM @S@.ddl_on_create(cmd.rel, cmd.create_tag);\n"
    "        END IF;\n"
    "    END LOOP;\n"
    "END\n"
    "$$;\n"
    "CREATE OR REPLACE FUNCTION @S@.ddl_sql_drop() RETURNS event_trigger\n"
    "LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$\n"
    "DECLARE\n"
    "    d record;\n"
    "    t record;\n"
    "BEGIN\n"
    "    FOR d IN SELECT objid FROM pg_event_trigger_dropped_objects()\n"
    "              WHERE classid = 'pg_class'::regclass AND objsubid = 0\n"
    "                AND object_type IN ('table', 'index') ORDER BY object_type DESC LOOP\n"
    "        FOR t IN DELETE FROM @S@.ddl_shape WHERE relid = d.objid RETURNING * LOOP\n"
    "            PERFORM @S@.ddl_emit(t.slot, tg_tag, t.shape->>'schema', t.shape->>'table', NULL,\n"
    "                                 '[{\"op\": \"drop_table\"}]');\n"
    "        END LOOP;\n"
    "        FOR t IN SELECT * FROM @S@.ddl_shape\n"
    "                  WHERE shape->'indexes' @> jsonb_build_array(jsonb_build_object('oid',\n"
    "                                                                  d.objid::bigint)) LOOP\n"
    "            PERFORM @S@.ddl_emit(t.slot, tg_tag, t.shape->>'schema', t.shape->>'table', NULL,\n"
    "                                 jsonb_build_array(jsonb_build_object('op', 'drop_index', 'name',\n"
    "                                     (SELECT x->>'name' FROM jsonb_array_elements(t.shape->'indexes') x\n"
    "                                       WHERE (x->>'oid')::bigint = d.objid::bigint))));\n"
    "            UPDATE @S@.ddl_shape s SET shape = jsonb_set(s.shape, '{indexes}', coalesce((\n"
    "                       SELECT jsonb_agg(x) FROM jsonb_array_elements(s.shape->'indexes') x\n"
    "                        WHERE (x->>'oid')::bigint <> d.objid::bigint), '[]'))\n"
    "             WHERE s.slot = t.slot AND s.relid = t.relid;\n"
    "        END LOOP;\n"
    "    END LOOP;\n"
    "END\n"
    "$$;\n";

/* text with every @S@ replaced by schema; NULL when out of memory. */
static char *with_schema(const char *text, const char *schema)
{
    pgh_buf b;
    pgh_buf_init(&b, 0);
    for (const char *p = text;;) {
        const char *at = strstr(p, "@S@");
        if (at == NULL) {
            pgh_buf_puts(&b, p);
            break;
        }
        pgh_buf_append(&b, p, (size_t)(at - p));
        pgh_buf_puts(&b, schema);
        p = at + 3;
    }
    if (pgh_buf_failed(&b)) {
        pgh_buf_dispose(&b);
        return NULL;
    }
    return pgh_buf_take(&b);
}

/* The quoted name of one of the event triggers: "<schema>_ddl_<kind>". */
static char *trigger_name(PGconn *src, const char *schema, const char *kind)
{
    pgh_buf b;
    pgh_buf_init(&b, 0);
    pgh_buf_printf(&b, "%s_ddl_%s", schema, kind);
    char *name = pgh_buf_failed(&b) ? NULL : pgh_conn_ident(src, pgh_buf_str(&b));
    pgh_buf_dispose(&b);
    return name;
}

static int query1(PGresult **out, PGconn *src, const char *sql, const char *p1, const char *p2,
                  pgh_error *err)
{
    const char *params[2] = {p1, p2};
    return pgh_conn_query(out, src, sql, p2 ? 2 : 1, params, err);
}

/* Create an event trigger unless one of that name exists. */
static int ensure_trigger(PGconn *src, const char *schema, const char *qschema, const char *kind,
                          const char *event, const char *function, pgh_error *err)
{
    char *name = trigger_name(src, schema, kind);
    if (name == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    pgh_buf raw;
    pgh_buf_init(&raw, 0);
    pgh_buf_printf(&raw, "%s_ddl_%s", schema, kind);
    PGresult *res = NULL;
    int rc = query1(&res, src, "SELECT 1 FROM pg_catalog.pg_event_trigger WHERE evtname = $1",
                    pgh_buf_str(&raw), NULL, err);
    if (rc == 0 && PQntuples(res) == 0) {
        pgh_buf sql;
        pgh_buf_init(&sql, 0);
        pgh_buf_printf(&sql, "CREATE EVENT TRIGGER %s ON %s EXECUTE FUNCTION %s.%s()", name,
                       event, qschema, function);
        rc = pgh_conn_exec(src, pgh_buf_str(&sql), err);
        pgh_buf_dispose(&sql);
    }
    PQclear(res);
    pgh_buf_dispose(&raw);
    free(name);
    return rc;
}

/* A name that holds a wildcard is a pattern; its destination table is its own name. */
static bool is_pattern(const char *s)
{
    return strchr(s, '*') != NULL || strchr(s, '?') != NULL;
}

/* Replace the slot's selection and shapes with the configured tables. */
static int write_selection(PGconn *src, const char *qschema, const pgh_config *cfg,
                           pgh_error *err)
{
    pgh_buf sql;
    pgh_buf_init(&sql, 0);
    pgh_buf_printf(&sql, "DELETE FROM %s.ddl_selection WHERE slot = $1", qschema);
    PGresult *res = NULL;
    int rc = query1(&res, src, pgh_buf_str(&sql), cfg->slot_name, NULL, err);
    PQclear(res);
    for (size_t i = 0; rc == 0 && i < cfg->ntables; i++) {
        const pgh_table_map *m = &cfg->tables[i];
        bool same_schema = strcmp(m->dest_schema, m->source_schema) == 0;
        const char *dest = same_schema || is_pattern(m->dest_schema) ? NULL : m->dest_schema;
        const char *params[5] = {cfg->slot_name, cfg->publication_name, m->source_schema,
                                 m->source_table, dest};
        pgh_buf_reset(&sql);
        pgh_buf_printf(&sql, "INSERT INTO %s.ddl_selection VALUES ($1, $2, $3, $4, $5)",
                       qschema);
        rc = pgh_conn_query(&res, src, pgh_buf_str(&sql), 5, params, err);
        PQclear(res);
    }
    if (rc == 0) {
        pgh_buf_reset(&sql);
        pgh_buf_printf(&sql, "DELETE FROM %s.ddl_shape WHERE slot = $1", qschema);
        rc = query1(&res, src, pgh_buf_str(&sql), cfg->slot_name, NULL, err);
        PQclear(res);
    }
    if (rc == 0) {
        /* Every existing table the selection names, with its shape as of now. */
        pgh_buf_reset(&sql);
        pgh_buf_printf(&sql,
                       "INSERT INTO %1$s.ddl_shape SELECT DISTINCT ON (c.oid) $1, c.oid, "
                       "%1$s.ddl_shape_of(c.oid) FROM pg_catalog.pg_class c "
                       "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                       "JOIN %1$s.ddl_selection s ON s.slot = $1 "
                       "AND %1$s.ddl_glob(n.nspname, s.source_schema) "
                       "AND %1$s.ddl_glob(c.relname, s.source_table) "
                       "WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition",
                       qschema);
        rc = pgh_buf_failed(&sql) ? pgh_error_set(err, PGH_ENOMEM, "out of memory")
                                  : query1(&res, src, pgh_buf_str(&sql), cfg->slot_name, NULL,
                                           err);
        PQclear(res);
    }
    pgh_buf_dispose(&sql);
    return rc;
}

/* Several statements in one string (pgh_conn_exec takes one). */
static int exec_script(PGconn *src, const char *script, pgh_error *err)
{
    PGresult *res = PQexec(src, script);
    int rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0
                                                     : pgh_conn_error(err, src, res, "DDL capture");
    PQclear(res);
    return rc;
}

static int may_create_event_triggers(bool *out, PGconn *src, pgh_error *err)
{
    return pgh_pg_is_superuser(out, src, err);
}

static int install(PGconn *src, const pgh_config *cfg, const char *qschema, pgh_error *err)
{
    char *script = with_schema(INSTALL_SQL, qschema);
    int rc = script ? exec_script(src, script, err)
                    : pgh_error_set(err, PGH_ENOMEM, "out of memory");
    free(script);
    if (rc == 0)
        rc = ensure_trigger(src, cfg->state_schema, qschema, "end", "ddl_command_end",
                            "ddl_command_end", err);
    if (rc == 0)
        rc = ensure_trigger(src, cfg->state_schema, qschema, "drop", "sql_drop", "ddl_sql_drop",
                            err);
    if (rc == 0)
        rc = write_selection(src, qschema, cfg, err);
    return rc;
}

int pgh_admin_ddl_capture_install(bool *installed, PGconn *src, const pgh_config *cfg,
                                  pgh_error *err)
{
    *installed = false;
    bool superuser = false;
    int rc = may_create_event_triggers(&superuser, src, err);
    if (rc != 0 || !superuser)
        return rc; /* event triggers need a superuser: not installed, nothing written */
    char *qschema = pgh_conn_ident(src, cfg->state_schema);
    if (qschema == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    rc = pgh_conn_exec(src, "BEGIN", err);
    if (rc == 0) /* no "already exists, skipping" notices on a repeated install */
        rc = pgh_conn_exec(src, "SET LOCAL client_min_messages = warning", err);
    if (rc == 0)
        rc = install(src, cfg, qschema, err);
    if (rc == 0)
        rc = pgh_conn_exec(src, "COMMIT", err);
    else
        PQclear(PQexec(src, "ROLLBACK"));
    free(qschema);
    if (rc != 0)
        pgh_error_prefix(err, "installing the DDL capture on the source");
    *installed = rc == 0;
    return rc;
}

/* Drop the triggers, functions and tables; the schema too when nothing else is in it. */
static int drop_all(PGconn *src, const char *schema, const char *qschema, pgh_error *err)
{
    char *end = trigger_name(src, schema, "end");
    char *drop = trigger_name(src, schema, "drop");
    pgh_buf sql;
    pgh_buf_init(&sql, 0);
    pgh_buf_printf(&sql,
                   "DROP EVENT TRIGGER IF EXISTS %2$s; DROP EVENT TRIGGER IF EXISTS %3$s; "
                   "DROP FUNCTION IF EXISTS %1$s.ddl_command_end(), %1$s.ddl_sql_drop(), "
                   "%1$s.ddl_on_create(oid, text), %1$s.ddl_publish(text, oid), "
                   "%1$s.ddl_emit(text, text, text, text, jsonb, jsonb), "
                   "%1$s.ddl_ops(jsonb, jsonb), %1$s.ddl_shape_of(oid), "
                   "%1$s.ddl_index_tail(oid), %1$s.ddl_glob(text, text); "
                   "DROP TABLE IF EXISTS %1$s.ddl_shape, %1$s.ddl_selection",
                   qschema, end ? end : "", drop ? drop : "");
    int rc = (end && drop && !pgh_buf_failed(&sql))
                 ? exec_script(src, pgh_buf_str(&sql), err)
                 : pgh_error_set(err, PGH_ENOMEM, "out of memory");
    PGresult *res = NULL;
    if (rc == 0)
        rc = query1(&res, src,
                    "SELECT NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d JOIN "
                    "pg_catalog.pg_namespace n ON d.refobjid = n.oid WHERE d.refclassid = "
                    "'pg_catalog.pg_namespace'::pg_catalog.regclass AND n.nspname = $1)",
                    schema, NULL, err);
    if (rc == 0 && PQgetvalue(res, 0, 0)[0] == 't') {
        pgh_buf_reset(&sql);
        pgh_buf_printf(&sql, "DROP SCHEMA IF EXISTS %s", qschema);
        rc = pgh_conn_exec(src, pgh_buf_str(&sql), err);
    }
    PQclear(res);
    pgh_buf_dispose(&sql);
    free(end);
    free(drop);
    return rc;
}

static int remove_slot(PGconn *src, const pgh_config *cfg, const char *qschema, pgh_error *err)
{
    PGresult *res = NULL;
    int rc = 0;
    pgh_buf name;
    pgh_buf_init(&name, 0);
    pgh_buf_printf(&name, "%s.ddl_selection", qschema);
    if (rc == 0)
        rc = query1(&res, src, "SELECT pg_catalog.to_regclass($1) IS NOT NULL",
                    pgh_buf_str(&name), NULL, err);
    bool present = rc == 0 && PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    res = NULL;
    if (present) {
        pgh_buf sql;
        pgh_buf_init(&sql, 0);
        pgh_buf_printf(&sql,
                       "WITH a AS (DELETE FROM %1$s.ddl_selection WHERE slot = $1), "
                       "b AS (DELETE FROM %1$s.ddl_shape WHERE slot = $1) "
                       "SELECT NOT EXISTS (SELECT 1 FROM %1$s.ddl_selection WHERE slot <> $1)",
                       qschema);
        rc = query1(&res, src, pgh_buf_str(&sql), cfg->slot_name, NULL, err);
        bool last = rc == 0 && PQgetvalue(res, 0, 0)[0] == 't';
        pgh_buf_dispose(&sql);
        if (last)
            rc = drop_all(src, cfg->state_schema, qschema, err);
    }
    PQclear(res);
    pgh_buf_dispose(&name);
    return rc;
}

int pgh_admin_ddl_capture_remove(PGconn *src, const pgh_config *cfg, pgh_error *err)
{
    char *qschema = pgh_conn_ident(src, cfg->state_schema);
    if (qschema == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    int rc = pgh_conn_exec(src, "BEGIN", err);
    if (rc == 0)
        rc = remove_slot(src, cfg, qschema, err);
    if (rc == 0)
        rc = pgh_conn_exec(src, "COMMIT", err);
    else
        PQclear(PQexec(src, "ROLLBACK"));
    free(qschema);
    if (rc != 0)
        pgh_error_prefix(err, "removing the DDL capture from the source");
    return rc;
}
