/* Connections: see include/pghost/conn.h. */
#include "pg/conn.h"
#include "pghost/log.h"
#include "pg/sqlstate.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

/* Session settings that make the text form of every value read back exactly. */
/* client_encoding=UTF8 on both sides: each server converts to and from its own encoding, so
 * text survives different database encodings, and a character the destination cannot hold is
 * an error rather than mojibake. */
/* client_min_messages=warning: NOTICEs such as "already exists, skipping" from pghost's own
 * idempotent statements are noise on the operator's terminal; warnings and errors still come. */
static const char SESSION_OPTIONS[] = "-c DateStyle=ISO -c IntervalStyle=postgres "
                                      "-c extra_float_digits=3 -c bytea_output=hex "
                                      "-c lc_monetary=C -c client_encoding=UTF8 "
                                      "-c client_min_messages=warning";

char *pgh_conninfo_mask(const char *conninfo)
{
    char *errmsg = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo ? conninfo : "", &errmsg);
    if (opts == NULL) {
        PQfreemem(errmsg);
        return strdup("(unparseable connection string)");
    }
    pgh_buf b;
    pgh_buf_init(&b, 0);
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (o->val == NULL || o->val[0] == '\0')
            continue;
        if (b.len)
            pgh_buf_putc(&b, ' ');
        bool secret = strcmp(o->keyword, "password") == 0 || strcmp(o->keyword, "sslpassword") == 0;
        pgh_buf_put_conninfo_pair(&b, o->keyword, secret ? "********" : o->val);
    }
    PQconninfoFree(opts);
    return pgh_buf_take(&b);
}

/* Build keyword/value arrays from the parsed string plus pghost's settings. The arrays borrow
 * from opts and options_buf. */
static int build_params(PQconninfoOption *opts, pgh_conn_kind kind, const char *app_name,
                        pgh_buf *options_buf, const char **keys, const char **vals, int max)
{
    int n = 0;
    bool has_app = false;
    pgh_buf_puts(options_buf, SESSION_OPTIONS);
    for (PQconninfoOption *o = opts; o->keyword && n < max - 4; o++) {
        if (o->val == NULL)
            continue;
        if (strcmp(o->keyword, "options") == 0) {
            pgh_buf_putc(options_buf, ' ');
            pgh_buf_puts(options_buf, o->val);
            continue;
        }
        if (strcmp(o->keyword, "replication") == 0)
            continue; /* decided by kind */
        if (strcmp(o->keyword, "application_name") == 0)
            has_app = true;
        keys[n] = o->keyword;
        vals[n++] = o->val;
    }
    keys[n] = "options";
    vals[n++] = pgh_buf_str(options_buf);
    if (!has_app && app_name) {
        keys[n] = "application_name";
        vals[n++] = app_name;
    }
    if (kind == PGH_CONN_REPLICATION) {
        keys[n] = "replication";
        vals[n++] = "database";
    }
    keys[n] = NULL;
    vals[n] = NULL;
    return pgh_buf_failed(options_buf) ? PGH_ENOMEM : 0;
}

static void set_connect_error(pgh_error *err, PGconn *conn, const char *role, const char *conninfo)
{
    char *masked = pgh_conninfo_mask(conninfo);
    char msg[512];
    snprintf(msg, sizeof(msg), "%s", conn ? PQerrorMessage(conn) : "out of memory");
    /* libpq messages end with a newline and may span lines; keep one line. */
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\t')
            *p = (p[1] == '\0') ? '\0' : ' ';
    pgh_error_set(err, PGH_ECONN, "cannot connect to the %s server (%s): %s", role,
                  masked ? masked : "?", msg);
    free(masked);
}

/* Server notices (WARNING, NOTICE) go to the log, not straight to stderr (libpq's default):
 * the CLI's log may be JSON, one object a line. arg is the role ("source", "destination"). */
static void log_notice(void *arg, const char *message)
{
    size_t len = strlen(message);
    while (len && message[len - 1] == '\n')
        len--;
    pgh_log(PGH_LOG_WARN, (const char *)arg, "server notice: %.*s", (int)len, message);
}

/* libpq's parse errors quote the text around the fault, which can be part of a password (with
 * "password=a b=c", "b" is an "invalid connection option"): none is shown. */
static int set_parse_error(pgh_error *err, const char *role, const char *errmsg)
{
    if (errmsg == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory reading the %s connection string",
                             role);
    return pgh_error_set(err, PGH_ECONFIG,
                         "%s connection string is not valid (libpq's message is not shown: it "
                         "may quote a password): use key=value pairs or a postgresql:// URI, and "
                         "put values holding spaces, quotes or backslashes in single quotes, with "
                         "\\' and \\\\ inside",
                         role);
}

int pgh_conn_open(PGconn **out, const char *conninfo, pgh_conn_kind kind, const char *role,
                  const char *app_name, pgh_error *err)
{
    *out = NULL;
    char *errmsg = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &errmsg);
    if (opts == NULL) {
        int rc = set_parse_error(err, role, errmsg);
        PQfreemem(errmsg);
        return rc;
    }
    const char *keys[64];
    const char *vals[64];
    pgh_buf options;
    pgh_buf_init(&options, 4096);
    int rc = build_params(opts, kind, app_name, &options, keys, vals, 64);
    if (rc != 0) {
        pgh_error_set(err, rc, "out of memory building the %s connection", role);
        goto done;
    }
    PGconn *conn = PQconnectdbParams(keys, vals, 0);
    if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
        set_connect_error(err, conn, role, conninfo);
        PQfinish(conn);
        rc = PGH_ECONN;
        goto done;
    }
    PQsetNoticeProcessor(conn, log_notice, (void *)role);
    *out = conn;
done:
    pgh_buf_dispose(&options);
    PQconninfoFree(opts);
    return rc;
}

int pgh_conn_error(pgh_error *err, PGconn *conn, const PGresult *res, const char *what)
{
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    int code = PGH_ESQL;
    /* The connection is gone, or the server is ending it (shutdown, terminate_backend). */
    if (conn == NULL || PQstatus(conn) != CONNECTION_OK ||
        pgh_pg_sqlstate_class(state) == PGH_SQLSTATE_CONNECTION)
        code = PGH_ECONN;
    if (msg == NULL)
        msg = conn ? PQerrorMessage(conn) : "no connection";
    char line[512];
    snprintf(line, sizeof(line), "%s", msg);
    line[strcspn(line, "\n")] = '\0';
    /* A value the destination cannot take (class 22, data exception): the server's context
     * says where ("COPY t, line 5, column c: ...", or the statement's parameter). */
    const char *context = res && state && strncmp(state, "22", 2) == 0
                              ? PQresultErrorField(res, PG_DIAG_CONTEXT)
                              : NULL;
    if (context != NULL) {
        size_t used = strlen(line);
        snprintf(line + used, sizeof(line) - used, " (%.*s)", (int)strcspn(context, "\n"),
                 context);
    }
    if (err && err->code == 0) {
        pgh_error_set(err, code, "%s: %s", what, line);
        if (state)
            snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", state);
    }
    return code;
}

int pgh_conn_drain(PGconn *conn, pgh_error *err, const char *what)
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

int pgh_conn_wait_writable(PGconn *conn, int timeout_ms, pgh_error *err, const char *what)
{
    /* readable too: the server may answer (an error) while pghost still sends */
    struct pollfd p = {.fd = PQsocket(conn), .events = POLLOUT | POLLIN};
    if (poll(&p, 1, timeout_ms) < 0 && errno != EINTR)
        return pgh_error_set(err, PGH_ECONN, "%s: poll: %s", what, strerror(errno));
    if ((p.revents & POLLIN) && PQconsumeInput(conn) != 1)
        return pgh_conn_error(err, conn, NULL, what);
    return 0;
}

int pgh_conn_flush_wait(PGconn *conn, pgh_error *err, const char *what)
{
    for (;;) {
        int left = PQflush(conn);
        if (left == 0)
            return 0;
        if (left < 0)
            return pgh_conn_error(err, conn, NULL, what);
        int rc = pgh_conn_wait_writable(conn, -1, err, what);
        if (rc != 0)
            return rc;
    }
}

int pgh_conn_exec(PGconn *conn, const char *sql, pgh_error *err)
{
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, conn, sql, 0, NULL, err);
    PQclear(res);
    return rc;
}

int pgh_conn_query(PGresult **out, PGconn *conn, const char *sql, int nparams,
                   const char *const *params, pgh_error *err)
{
    *out = NULL;
    PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        int rc = pgh_conn_error(err, conn, res, "query failed");
        PQclear(res);
        return rc;
    }
    *out = res;
    return 0;
}

char *pgh_conn_ident(PGconn *conn, const char *name)
{
    char *q = PQescapeIdentifier(conn, name, strlen(name));
    if (q == NULL)
        return NULL;
    char *copy = strdup(q);
    PQfreemem(q);
    return copy;
}

void pgh_conn_put_ident(pgh_buf *b, PGconn *conn, const char *before, const char *name)
{
    char *q = pgh_conn_ident(conn, name);
    if (q == NULL) {
        b->failed = true;
        return;
    }
    pgh_buf_puts(b, before);
    pgh_buf_puts(b, q);
    free(q);
}

char *pgh_conn_qualified(PGconn *conn, const char *schema, const char *name)
{
    char *s = pgh_conn_ident(conn, schema);
    char *n = pgh_conn_ident(conn, name);
    char *out = NULL;
    if (s && n) {
        size_t len = strlen(s) + strlen(n) + 2;
        out = malloc(len);
        if (out)
            snprintf(out, len, "%s.%s", s, n);
    }
    free(s);
    free(n);
    return out;
}

char *pgh_conn_literal(PGconn *conn, const char *value, size_t len)
{
    char *q = PQescapeLiteral(conn, value, len);
    if (q == NULL)
        return NULL;
    char *copy = strdup(q);
    PQfreemem(q);
    return copy;
}
