/* The destination COPY of a copy worker, kept open across source batches (see copy_dest.h). */
#include <string.h>

#include "copy_dest.h"
#include "copy_internal.h"
#include "util/clock.h"
#include "pg/conn.h"

/* Binary COPY: signature, int32 flags, int32 header-extension length (then that many bytes). */
#define BINARY_HEADER_FIXED 19
static const char binary_empty_header[BINARY_HEADER_FIXED] = "PGCOPY\n\377\r\n";
static const char binary_trailer[2] = {'\377', '\377'};

static bool is_binary(const copy_dest *d)
{
    return d->table && d->table->format == PGH_COPY_BINARY;
}

/* Read the remaining results of a statement; 0 when all succeeded. */
static int drain(PGconn *conn, pgh_error *err, const char *what)
{
    int rc = 0;
    PGresult *res;
    while ((res = PQgetResult(conn)) != NULL) {
        if (rc == 0 && PQresultStatus(res) != PGRES_COMMAND_OK)
            rc = pgh_conn_error(err, conn, res, what);
        PQclear(res);
    }
    return rc;
}

int pgh_copy__dest_open(copy_dest *d, const pgh_copy_table *t, bool transaction, pgh_buf *sql,
                        pgh_error *err)
{
    if (d->table == t)
        return 0;
    int rc = d->table ? pgh_copy__dest_end(d, err) : 0;
    if (rc == 0 && transaction && !d->transaction) {
        rc = pgh_conn_exec(d->conn, "BEGIN", err);
        d->transaction = rc == 0;
    }
    if (rc != 0)
        return rc;
    pgh_copy__dest_sql(sql, d->conn, t);
    if (pgh_buf_failed(sql))
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    PGresult *res = PQexec(d->conn, pgh_buf_str(sql));
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        rc = pgh_conn_error(err, d->conn, res, "starting COPY on the destination");
        PQclear(res);
        return rc;
    }
    PQclear(res);
    d->table = t;
    d->header_sent = false;
    d->opened_ms = pgh_clock_ms();
    return 0;
}

/* The length of the binary header at the start of buf (the scanner has checked it). */
static int header_length(const char *buf, int len)
{
    if (len < BINARY_HEADER_FIXED)
        return len;
    const unsigned char *e = (const unsigned char *)buf + 15;
    uint32_t ext = (uint32_t)e[0] << 24 | (uint32_t)e[1] << 16 | (uint32_t)e[2] << 8 | e[3];
    return ext > (uint32_t)(len - BINARY_HEADER_FIXED) ? len : BINARY_HEADER_FIXED + (int)ext;
}

int pgh_copy__dest_put(copy_dest *d, const char *buf, int len, bool has_header, bool has_trailer,
                       pgh_error *err)
{
    int from = 0;
    int to = len;
    if (is_binary(d)) {
        if (has_header && d->header_sent)
            from = header_length(buf, len);
        else if (has_header)
            d->header_sent = true;
        if (has_trailer && to - from >= 2)
            to -= 2;
    }
    if (to > from && PQputCopyData(d->conn, buf + from, to - from) != 1)
        return pgh_conn_error(err, d->conn, NULL, "sending COPY data to the destination");
    return 0;
}

bool pgh_copy__dest_due(const copy_dest *d)
{
    return d->table && pgh_clock_ms() - d->opened_ms >= d->commit_ms;
}

int pgh_copy__dest_end(copy_dest *d, pgh_error *err)
{
    if (d->table == NULL)
        return 0;
    int rc = 0;
    if (is_binary(d) && !d->header_sent &&
        PQputCopyData(d->conn, binary_empty_header, BINARY_HEADER_FIXED) != 1)
        rc = pgh_conn_error(err, d->conn, NULL, "sending COPY data to the destination");
    if (rc == 0 && is_binary(d) &&
        PQputCopyData(d->conn, binary_trailer, sizeof(binary_trailer)) != 1)
        rc = pgh_conn_error(err, d->conn, NULL, "sending COPY data to the destination");
    if (rc == 0 && PQputCopyEnd(d->conn, NULL) != 1)
        rc = pgh_conn_error(err, d->conn, NULL, "ending COPY on the destination");
    if (rc != 0) {
        pgh_error_prefix(err, "copy of %s.%s", d->table->src->schema, d->table->src->name);
        pgh_copy__dest_abort(d, "pghost: could not end the copy");
        return rc;
    }
    const pgh_table_info *t = d->table->src;
    d->table = NULL;
    rc = drain(d->conn, err, "copying into the destination");
    if (rc != 0) {
        pgh_error_prefix(err, "copy of %s.%s", t->schema, t->name);
        pgh_copy__dest_abort(d, NULL);
    }
    return rc;
}

int pgh_copy__dest_commit(copy_dest *d, pgh_error *err)
{
    if (!d->transaction)
        return 0;
    d->transaction = false;
    return pgh_conn_exec(d->conn, "COMMIT", err);
}

void pgh_copy__dest_abort(copy_dest *d, const char *why)
{
    if (d->table) {
        PQputCopyEnd(d->conn, why ? why : "pghost: copy abandoned");
        drain(d->conn, NULL, "");
        d->table = NULL;
    }
    if (d->transaction)
        pgh_conn_exec(d->conn, "ROLLBACK", NULL);
    d->transaction = false;
}
