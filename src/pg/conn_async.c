/* Opening a connection in the background: see pg/conn.h (pgh_conn_open_start). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"

struct pgh_conn_opening {
    pthread_t thread;
    char *conninfo;       /* owned copy */
    pgh_conn_kind kind;
    const char *role;     /* borrowed: a string that outlives the connection */
    char *app_name;       /* owned copy, may be NULL */
    PGconn *conn;         /* the result, owned until taken */
    int rc;
    pgh_error err;
};

static void *open_thread(void *arg)
{
    pgh_conn_opening *o = arg;
    o->rc = pgh_conn_open(&o->conn, o->conninfo, o->kind, o->role, o->app_name, &o->err);
    return NULL;
}

static void opening_free(pgh_conn_opening *o)
{
    free(o->conninfo);
    free(o->app_name);
    free(o);
}

int pgh_conn_open_start(pgh_conn_opening **out, const char *conninfo, pgh_conn_kind kind,
                        const char *role, const char *app_name, pgh_error *err)
{
    *out = NULL;
    pgh_conn_opening *o = calloc(1, sizeof(*o));
    if (o == NULL)
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    o->conninfo = strdup(conninfo ? conninfo : "");
    o->app_name = app_name ? strdup(app_name) : NULL;
    o->kind = kind;
    o->role = role;
    if (o->conninfo == NULL || (app_name && o->app_name == NULL)) {
        opening_free(o);
        return pgh_error_set(err, PGH_ENOMEM, "out of memory");
    }
    if (pthread_create(&o->thread, NULL, open_thread, o) != 0) {
        opening_free(o);
        return pgh_error_set(err, PGH_ENOMEM, "cannot start a thread to open the %s connection",
                             role);
    }
    *out = o;
    return 0;
}

int pgh_conn_open_finish(PGconn **out, pgh_conn_opening *o, pgh_error *err)
{
    *out = NULL;
    pthread_join(o->thread, NULL);
    int rc = o->rc;
    if (rc == 0)
        *out = o->conn;
    else if (err)
        *err = o->err;
    opening_free(o);
    return rc;
}

void pgh_conn_open_cancel(pgh_conn_opening *o)
{
    if (o == NULL)
        return;
    PGconn *conn = NULL;
    pgh_conn_open_finish(&conn, o, NULL);
    PQfinish(conn);
}
