/* Replication slots over an ordinary connection: see slot.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"
#include "pg/slot.h"

int pgh_slot_create(pgh_lsn *out_lsn, PGconn *conn, const char *slot, pgh_error *err)
{
    const char *params[1] = {slot};
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, conn,
                            "SELECT lsn FROM pg_catalog.pg_create_logical_replication_slot($1, "
                            "'pgoutput')",
                            1, params, err);
    if (rc != 0) {
        pgh_error_prefix(err, "creating replication slot %s", slot);
        return rc;
    }
    rc = pgh_lsn_parse(out_lsn, PQgetvalue(res, 0, 0));
    PQclear(res);
    if (rc != 0)
        return pgh_error_set(err, PGH_EPROTO, "slot %s: the server returned no LSN", slot);
    return 0;
}

int pgh_slot_create_exported(pgh_lsn *out_lsn, char *snapshot, size_t snapshot_len,
                             PGconn *repl, const char *slot, pgh_error *err)
{
    char *q = pgh_conn_ident(repl, slot);
    if (q == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    char sql[512];
    snprintf(sql, sizeof(sql), "CREATE_REPLICATION_SLOT %s LOGICAL pgoutput (SNAPSHOT 'export')",
             q);
    free(q);
    PGresult *res = PQexec(repl, sql);
    int rc = 0;
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 || PQnfields(res) < 3) {
        rc = pgh_conn_error(err, repl, res, "creating replication slot");
        pgh_error_prefix(err, "creating replication slot %s", slot);
    } else if (pgh_lsn_parse(out_lsn, PQgetvalue(res, 0, 1)) != 0 ||
               PQgetisnull(res, 0, 2) || PQgetlength(res, 0, 2) >= (int)snapshot_len) {
        rc = pgh_error_set(err, PGH_EPROTO, "slot %s: the server returned no LSN or snapshot",
                           slot);
    } else {
        snprintf(snapshot, snapshot_len, "%s", PQgetvalue(res, 0, 2));
    }
    PQclear(res);
    return rc;
}

int pgh_slot_exists(bool *out, PGconn *conn, const char *slot, pgh_error *err)
{
    const char *params[1] = {slot};
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, conn,
                            "SELECT 1 FROM pg_catalog.pg_replication_slots WHERE slot_name = $1", 1,
                            params, err);
    *out = rc == 0 && PQntuples(res) == 1;
    PQclear(res);
    return rc;
}

int pgh_slot_usage_read(pgh_slot_usage *out, PGconn *conn, const char *slot, pgh_error *err)
{
    const char *params[1] = {slot};
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, conn,
                            "SELECT active, coalesce(active_pid, 0), "
                            "coalesce(pg_catalog.pg_wal_lsn_diff("
                            "pg_catalog.pg_current_wal_lsn(), restart_lsn), 0)::bigint "
                            "FROM pg_catalog.pg_replication_slots WHERE slot_name = $1",
                            1, params, err);
    memset(out, 0, sizeof(*out));
    if (rc == 0 && PQntuples(res) == 1) {
        out->exists = true;
        out->active = PQgetvalue(res, 0, 0)[0] == 't';
        out->active_pid = (int)strtol(PQgetvalue(res, 0, 1), NULL, 10);
        out->retained_bytes = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
    }
    PQclear(res);
    return rc;
}

int pgh_slot_drop(PGconn *conn, const char *slot, bool missing_ok, pgh_error *err)
{
    const char *params[1] = {slot};
    PGresult *res = NULL;
    const char *sql = missing_ok ? "SELECT pg_catalog.pg_drop_replication_slot(slot_name) "
                                   "FROM pg_catalog.pg_replication_slots WHERE slot_name = $1"
                                 : "SELECT pg_catalog.pg_drop_replication_slot($1)";
    int rc = pgh_conn_query(&res, conn, sql, 1, params, err);
    PQclear(res);
    if (rc != 0)
        pgh_error_prefix(err, "dropping replication slot %s", slot);
    return rc;
}

int pgh_slot_advance(PGconn *conn, const char *slot, pgh_lsn lsn, pgh_error *err)
{
    char lsn_text[32];
    snprintf(lsn_text, sizeof(lsn_text), PGH_LSN_FMT, PGH_LSN_ARGS(lsn));
    const char *params[2] = {slot, lsn_text};
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, conn,
                            "SELECT pg_catalog.pg_replication_slot_advance($1, $2::pg_lsn)", 2,
                            params, err);
    PQclear(res);
    if (rc != 0)
        pgh_error_prefix(err, "advancing replication slot %s", slot);
    return rc;
}
