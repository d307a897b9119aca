/*
 * pghost check: see check.h. The source's half is here; the destination's in check_dest.c.
 *
 * Order: the server (wal_level, role, free slots and WAL senders, a replication session), then
 * the table selection, the publication and each table. A check that cannot run because an
 * earlier one failed (no connection, a pattern that matches nothing) is skipped, not reported:
 * the earlier problem says what to fix first.
 */
#include <stdlib.h>
#include <string.h>

#include "admin/check_run.h"
#include "init_internal.h"
#include "pg/conn.h"
#include "pg/slot.h"
#include "pg/sql.h"
#include "source/preflight.h"
#include "source/publication.h"
#include "source/tables.h"
#include "util/buf.h"

/* Load a source table; a missing one is a problem of its own. */
static int load_source_table(pgh_table_info **out, check_run *c, const pgh_table_map *m,
                             pgh_error *err)
{
    int rc = pgh_catalog_table(out, c->src, m->source_schema, m->source_table, err);
    if (rc == PGH_ENOTFOUND) {
        pgh_error_clear(err);
        rc = pgh_error_set(err, PGH_EPRECOND, "source table %s.%s does not exist", m->source_schema,
                           m->source_table);
    }
    return rc;
}

static void check_source_table(check_run *c, size_t i, bool pub_exists, pgh_error *err)
{
    pgh_table_info *t = NULL;
    if (!pgh_check__note(c, load_source_table(&t, c, &c->cfg->tables[i], err), err))
        return;
    c->src_tables[i] = t;
    pgh_check__note(c, pgh_source_check_table_key(
                           t, c->src, c->cfg,
                           pgh_source_keyless_refusal(c->cfg, true, c->cfg->rules_file != NULL),
                           err), err);
    if (pub_exists)
        pgh_check__note(c, pgh_source_check_table_published(t, c->src, c->cfg, err), err);
    /* what the publication sends of it (row filter, column list), as replicate reads it */
    if (pub_exists)
        pgh_check__note(
            c, pgh_source_publication_narrow(t, c->src, c->cfg->publication_name, err), err);
}

/* The size of the tables found, leaves of partitioned ones included, with their indexes and
 * TOAST: what the destination must hold. */
static const char SIZE_SQL[] =
    "SELECT coalesce(sum(pg_catalog.pg_total_relation_size(t.r)), 0)::bigint "
    "FROM unnest($1::oid[]) AS o(oid), LATERAL (SELECT p.relid FROM "
    "pg_catalog.pg_partition_tree(o.oid) AS p WHERE p.isleaf UNION SELECT o.oid) AS t(r)";

static void read_source_size(check_run *c, pgh_error *err)
{
    pgh_buf oids;
    pgh_buf_init(&oids, 1 << 20);
    pgh_buf_putc(&oids, '{');
    for (int i = 0, n = 0; i < c->nsrc_tables; i++) {
        if (c->src_tables[i] != NULL)
            pgh_buf_printf(&oids, "%s%u", n++ ? "," : "", c->src_tables[i]->oid);
    }
    pgh_buf_putc(&oids, '}');
    const char *params[1] = {pgh_buf_str(&oids)};
    char v[32];
    int rc = pgh_buf_failed(&oids) ? pgh_error_set(err, PGH_ENOMEM, "out of memory")
                                   : pgh_pg_query_text(v, sizeof(v), c->src, SIZE_SQL, 1, params,
                                                       err);
    if (pgh_check__note(c, rc, err))
        c->out->source_bytes = strtoll(v, NULL, 10);
    pgh_buf_dispose(&oids);
}

/* A slot of this configuration's name: in use by another process is a problem (a run would
 * fail to stream from it); unused, it is a run that can be resumed (the result says so). */
static void check_slot(check_run *c, pgh_error *err)
{
    pgh_slot_usage u;
    if (!pgh_check__note(c, pgh_slot_usage_read(&u, c->src, c->cfg->slot_name, err), err))
        return;
    c->out->slot_exists = u.exists;
    c->out->slot_active = u.active;
    c->out->slot_retained_bytes = u.retained_bytes;
    if (!u.active)
        return;
    /* slot names hold only [a-z0-9_] (the configuration checks it) */
    pgh_error_set(err, PGH_EPRECOND,
                  "replication slot %s is in use by another process (PID %d on the source): "
                  "a run of this configuration is going on, or another client streams from the "
                  "slot; stop that process first (SELECT pg_terminate_backend(%d) on the source "
                  "ends its session), or set slot_name to another name",
                  c->cfg->slot_name, u.active_pid, u.active_pid);
    pgh_check__note(c, PGH_EPRECOND, err);
}

/* The server: each check on its own, so that every problem is listed. */
static void check_source_server(check_run *c, pgh_error *err)
{
    pgh_check__note(c, pgh_source_check_wal_level(c->src, err), err);
    pgh_check__note(c, pgh_source_check_role(c->src, err), err);
    pgh_check__note(c,
                    pgh_source_check_capacity(&c->out->slots_free, &c->out->wal_senders_free,
                                              c->src, c->cfg, err),
                    err);
    pgh_check__note(c, pgh_source_check_replication_connection(c->cfg, err), err);
    check_slot(c, err);
}

static void check_source(check_run *c, pgh_error *err)
{
    int rc = pgh_conn_open(&c->src, c->cfg->source_connection, PGH_CONN_SQL, "source",
                           "pghost check", err);
    if (!pgh_check__note(c, rc, err))
        return;
    check_source_server(c, err);
    if (!pgh_check__note(c, pgh_tables_resolve(c->cfg, c->src, err), err))
        return;
    c->out->ntables = (int)c->cfg->ntables;
    init_pub pub = {0};
    pgh_check__note(c, pgh_init__pub_read(&pub, c->src, c->cfg, err), err);
    pgh_check__note(c, pgh_source_check_publication(c->src, c->cfg, err), err);
    c->src_tables = calloc(c->cfg->ntables + 1, sizeof(*c->src_tables));
    c->fatal = c->fatal || c->src_tables == NULL;
    c->nsrc_tables = c->src_tables ? (int)c->cfg->ntables : 0;
    for (int i = 0; !c->fatal && i < c->nsrc_tables; i++)
        check_source_table(c, (size_t)i, pub.exists, err);
    if (!c->fatal)
        read_source_size(c, err);
}

int pgh_check_run(pgh_check_result *out, const pgh_config *cfg, const pgh_rules *rules,
                  bool may_hold_rows, pgh_check_problem_fn on_problem, void *payload,
                  pgh_error *err)
{
    memset(out, 0, sizeof(*out));
    out->slots_free = out->wal_senders_free = -1;
    out->source_bytes = out->dest_free_bytes = -1;
    check_run c = {.out = out, .rules = rules, .fn = on_problem, .payload = payload};
    int rc = pgh_config_dup(&c.cfg, cfg, err); /* resolving patterns changes it */
    if (rc != 0)
        return rc;
    check_source(&c, err);
    if (!c.fatal)
        pgh_check__destination(&c, may_hold_rows, err);
    for (int i = 0; i < c.nsrc_tables; i++)
        pgh_table_info_free(c.src_tables[i]);
    free(c.src_tables);
    PQfinish(c.src);
    pgh_config_free(c.cfg);
    if (c.fatal)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    return 0;
}
