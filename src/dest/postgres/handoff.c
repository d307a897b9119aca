/* A native subscription takes over the slot: see include/pghost/postgres.h. */
#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"
#include "pghost/postgres.h"
#include "util/buf.h"

static int create_subscription(PGconn *dst, const pgh_config *cfg, const char *subscription,
                               pgh_error *err)
{
    char *name = pgh_conn_ident(dst, subscription);
    char *pub = pgh_conn_ident(dst, cfg->publication_name);
    char *conn = pgh_conn_literal(dst, cfg->source_connection, strlen(cfg->source_connection));
    char *slot = pgh_conn_literal(dst, cfg->slot_name, strlen(cfg->slot_name));
    int rc = (name && pub && conn && slot) ? 0 : pgh_error_set(err, PGH_ENOMEM, "out of memory");
    if (rc == 0) {
        pgh_buf sql;
        pgh_buf_init(&sql, 0);
        pgh_buf_printf(&sql,
                       "CREATE SUBSCRIPTION %s CONNECTION %s PUBLICATION %s WITH (create_slot = "
                       "false, slot_name = %s, copy_data = false)",
                       name, conn, pub, slot);
        rc = pgh_conn_exec(dst, pgh_buf_str(&sql), err);
        pgh_buf_dispose(&sql);
        if (rc != 0)
            pgh_error_prefix(err, "creating subscription %s on the destination", subscription);
    }
    free(name);
    free(pub);
    free(conn);
    free(slot);
    return rc;
}

int pgh_postgres_handoff(const pgh_config *cfg, const char *subscription, pgh_error *err)
{
    PGconn *dst = NULL;
    int rc = pgh_conn_open(&dst, cfg->destination_connection, PGH_CONN_SQL, "destination",
                           "pghost", err);
    if (rc == 0)
        rc = create_subscription(dst, cfg, subscription, err);
    PQfinish(dst);
    return rc;
}
