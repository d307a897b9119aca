/*
 * Running the deferred statements on several destination sessions at once. Each session takes
 * the next job from a shared counter; the first failure stops the others before their next job.
 * Sessions raise maintenance_work_mem: index builds sort, and they are on the critical path of
 * a sync into an empty destination.
 *
 * Each session holds the slot's build lock, an advisory lock taken shared, so that a re-run can
 * find the sessions a killed pghost left behind. Those go on running their statement (the
 * server notices the lost client only when it answers), and a CREATE INDEX or ADD CONSTRAINT
 * they commit meanwhile would make the re-run's statement for the same object fail: the re-run
 * ends them first (pgh_schema_end_orphans).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"
#include "pghost/log.h"
#include "schema/internal.h"

int pgh_schema__dst(schema_ctx *c, const char *sql, const char *what, pgh_error *err)
{
    if (c->later == NULL)
        return pgh_conn_exec(c->dst, sql, err);
    char *copy = strdup(sql);
    return copy ? pgh_schema__job_add(c->later, copy, what, err)
                : pgh_error_set(err, PGH_ENOMEM, "out of memory");
}

int pgh_schema__job_add(schema_jobs *j, char *sql_take, const char *what, pgh_error *err)
{
    if (j->n == j->cap) {
        int cap = j->cap ? j->cap * 2 : 16;
        char **s = realloc(j->sql, (size_t)cap * sizeof(*s));
        if (s)
            j->sql = s;
        char **w = s ? realloc(j->what, (size_t)cap * sizeof(*w)) : NULL;
        if (w)
            j->what = w;
        if (s == NULL || w == NULL) {
            free(sql_take);
            return pgh_error_set(err, PGH_ENOMEM, "out of memory");
        }
        j->cap = cap;
    }
    char *w = strdup(what);
    if (w == NULL) {
        free(sql_take);
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    }
    j->sql[j->n] = sql_take;
    j->what[j->n] = w;
    j->n++;
    return 0;
}

void pgh_schema__jobs_dispose(schema_jobs *j)
{
    for (int i = 0; i < j->n; i++) {
        free(j->sql[i]);
        free(j->what[i]);
    }
    free(j->sql);
    free(j->what);
    memset(j, 0, sizeof(*j));
}

/* The build lock's key: a constant class ("pghs") and the hash of the slot name. */
#define BUILD_LOCK_CLASS "1885825139"
#define BUILD_LOCK_KEY BUILD_LOCK_CLASS ", pg_catalog.hashtext($1)"

static int lock_query(PGconn *dst, const char *sql, const char *slot, pgh_error *err)
{
    const char *params[1] = {slot};
    PGresult *res = NULL;
    int rc = pgh_conn_query(&res, dst, sql, 1, params, err);
    PQclear(res);
    return rc;
}

int pgh_schema__build_lock(PGconn *dst, const char *slot, pgh_error *err)
{
    return lock_query(dst, "SELECT pg_catalog.pg_advisory_lock_shared(" BUILD_LOCK_KEY ")", slot,
                      err);
}

static const char ORPHANS_SQL[] =
    "SELECT count(pg_catalog.pg_terminate_backend(l.pid, 10000)) FROM pg_catalog.pg_locks l "
    "WHERE l.locktype = 'advisory' AND l.database = (SELECT oid FROM pg_catalog.pg_database "
    "  WHERE datname = pg_catalog.current_database()) "
    "AND l.classid = " BUILD_LOCK_CLASS " AND l.objid = pg_catalog.hashtext($1)::oid "
    "AND l.objsubid = 2 AND l.pid <> pg_catalog.pg_backend_pid()";

int pgh_schema_end_orphans(PGconn *dst, const char *slot, pgh_error *err)
{
    const char *params[1] = {slot};
    PGresult *res = NULL;
    pgh_error e;
    pgh_error_clear(&e);
    if (pgh_conn_query(&res, dst, ORPHANS_SQL, 1, params, &e) != 0)
        pgh_log(PGH_LOG_WARN, "schema",
                "cannot end the sessions an interrupted build of slot %s left on the "
                "destination (%s): waiting for them to finish",
                slot, e.message);
    else if (strcmp(PQgetvalue(res, 0, 0), "0") != 0)
        pgh_log(PGH_LOG_INFO, "schema",
                "ended %s destination sessions an interrupted build of slot %s left running",
                PQgetvalue(res, 0, 0), slot);
    PQclear(res);
    /* Exclusive once: granted when no session of an earlier run holds the lock any more. */
    int rc = lock_query(dst, "SELECT pg_catalog.pg_advisory_lock(" BUILD_LOCK_KEY ")", slot, err);
    if (rc == 0)
        rc = lock_query(dst, "SELECT pg_catalog.pg_advisory_unlock(" BUILD_LOCK_KEY ")", slot,
                        err);
    return rc;
}

typedef struct pool {
    const schema_jobs *jobs;   /* borrowed */
    const char *conninfo;      /* borrowed */
    const char *slot;          /* borrowed: names the build lock */
    atomic_int *cancel;        /* borrowed, may be NULL */
    atomic_int next;           /* next job to take */
    atomic_int failed;         /* set at the first failure */
    pthread_mutex_t lock;      /* guards err */
    pgh_error err;             /* the first failure */
} pool;

static void fail(pool *p, const pgh_error *e)
{
    pthread_mutex_lock(&p->lock);
    if (!atomic_exchange(&p->failed, 1))
        p->err = *e;
    pthread_mutex_unlock(&p->lock);
}

/* One job: its statements (one or more) in one implicit transaction. */
static int run_job(PGconn *conn, const char *sql, const char *what, pgh_error *e)
{
    PGresult *res = PQexec(conn, sql);
    int rc = 0;
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = pgh_conn_error(e, conn, res, "query failed");
        pgh_error_prefix(e, "building %s on the destination", what);
    }
    PQclear(res);
    return rc;
}

static void *session(void *arg)
{
    pool *p = arg;
    pgh_error e;
    pgh_error_clear(&e);
    PGconn *conn = NULL;
    int rc = pgh_conn_open(&conn, p->conninfo, PGH_CONN_SQL, "destination", "pghost schema", &e);
    if (rc == 0)
        rc = pgh_conn_exec(conn,
                           "SET maintenance_work_mem = '" PGH_SCHEMA_MAINTENANCE_WORK_MEM "'", &e);
    if (rc == 0)
        rc = pgh_conn_exec(conn, "SET client_min_messages = warning", &e);
    if (rc == 0)
        rc = pgh_schema__build_lock(conn, p->slot, &e);
    while (rc == 0 && !atomic_load(&p->failed)) {
        if (p->cancel && atomic_load(p->cancel)) {
            rc = pgh_error_set(&e, PGH_ECANCELED, "stopped on request while building indexes "
                                                  "and constraints");
            break;
        }
        int i = atomic_fetch_add(&p->next, 1);
        if (i >= p->jobs->n)
            break;
        pgh_log(PGH_LOG_DEBUG, "schema", "building %s", p->jobs->what[i]);
        rc = run_job(conn, p->jobs->sql[i], p->jobs->what[i], &e);
    }
    if (rc != 0)
        fail(p, &e);
    PQfinish(conn);
    return NULL;
}

int pgh_schema__jobs_run(const schema_jobs *j, const char *dest_conninfo, const char *slot,
                         int sessions, atomic_int *cancel, pgh_error *err)
{
    if (j->n == 0)
        return 0;
    if (sessions > j->n)
        sessions = j->n;
    if (sessions < 1)
        sessions = 1;
    pool p = {.jobs = j, .conninfo = dest_conninfo, .slot = slot, .cancel = cancel};
    atomic_init(&p.next, 0);
    atomic_init(&p.failed, 0);
    pgh_error_clear(&p.err);
    pthread_mutex_init(&p.lock, NULL);
    pthread_t *threads = calloc((size_t)sessions, sizeof(*threads));
    int started = 0;
    for (; threads && started < sessions; started++)
        if (pthread_create(&threads[started], NULL, session, &p) != 0)
            break;
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    free(threads);
    pthread_mutex_destroy(&p.lock);
    if (started == 0)
        return pgh_error_set(err, PGH_ENOMEM, "cannot start sessions to build indexes");
    if (atomic_load(&p.failed)) {
        *err = p.err;
        return err->code ? err->code : PGH_ESQL;
    }
    return 0;
}
