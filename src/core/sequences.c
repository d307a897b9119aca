/* Sequences owned by the copied tables: set on the destination from the source's values. */
#include <stdio.h>
#include <string.h>

#include "core_internal.h"
#include "pghost/conn.h"
#include "pghost/log.h"

/* The destination sequence owned by the same column, or NULL. */
static const char *dest_sequence(const pgh_owned_sequence *dseqs, int n, const char *column)
{
    for (int i = 0; i < n; i++)
        if (strcmp(dseqs[i].column, column) == 0)
            return dseqs[i].sequence;
    return NULL;
}

static int copy_sequence(PGconn *src, PGconn *dst, const char *src_seq, const char *dst_seq,
                         pgh_error *err)
{
    /* src_seq is a name the source itself quoted with format('%I.%I'). */
    char sql[600];
    snprintf(sql, sizeof(sql), "SELECT last_value, is_called FROM %s", src_seq);
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, src, sql, 0, NULL, err);
    if (rc != 0)
        return rc;
    const char *params[3] = {dst_seq, PQgetvalue(res, 0, 0),
                             PQgetvalue(res, 0, 1)[0] == 't' ? "true" : "false"};
    PGresult *set = NULL;
    rc = pgh_conn_query(&set, dst,
                        "SELECT pg_catalog.setval($1::pg_catalog.regclass, $2::int8, $3::bool)",
                        3, params, err);
    PQclear(set);
    PQclear(res);
    return rc;
}

int pgh_core__sync_sequences(int *set_count, PGconn *src, PGconn *dst, const run_tables *t,
                             pgh_error *err)
{
    int rc = 0;
    for (int i = 0; rc == 0 && i < t->n; i++) {
        pgh_owned_sequence *sseqs = NULL;
        pgh_owned_sequence *dseqs = NULL;
        int ns = 0;
        int nd = 0;
        set_count[i] = 0;
        rc = pgh_catalog_owned_sequences(&sseqs, &ns, src, t->src[i]->schema, t->src[i]->name,
                                         err);
        if (rc == 0)
            rc = pgh_catalog_owned_sequences(&dseqs, &nd, dst, t->dst[i]->schema,
                                             t->dst[i]->name, err);
        for (int s = 0; rc == 0 && s < ns; s++) {
            const char *target = dest_sequence(dseqs, nd, sseqs[s].column);
            if (target == NULL) {
                pgh_log(PGH_LOG_WARN, "sequences",
                        "%s.%s: column %s owns sequence %s on the source but nothing on the "
                        "destination; not set",
                        t->src[i]->schema, t->src[i]->name, sseqs[s].column, sseqs[s].sequence);
                continue;
            }
            rc = copy_sequence(src, dst, sseqs[s].sequence, target, err);
            if (rc == 0)
                set_count[i]++;
        }
        if (rc != 0)
            pgh_error_prefix(err, "setting sequences of %s.%s", t->dst[i]->schema,
                             t->dst[i]->name);
        pgh_owned_sequences_free(sseqs, ns);
        pgh_owned_sequences_free(dseqs, nd);
    }
    return rc;
}
