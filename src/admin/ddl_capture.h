/*
 * DDL capture on the source (ddl_capture.c): event triggers that emit each DDL command on the
 * selected tables as a transactional logical message, so that it arrives in the stream in order
 * with the data (docs/ddl.md). The destination side is dest/postgres/ddl.c.
 */
#ifndef PGH_ADMIN_DDL_CAPTURE_H
#define PGH_ADMIN_DDL_CAPTURE_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "pghost/config.h"
#include "pghost/error.h"

/* Install or refresh the capture for cfg's slot; idempotent. *installed is false (and nothing
 * is written) when the source role may not create event triggers (not a superuser). */
int pgh_admin_ddl_capture_install(bool *installed, PGconn *src, const pgh_config *cfg,
                                  pgh_error *err);

/* Remove what install created for cfg's slot, and the shared objects once no slot uses them. */
int pgh_admin_ddl_capture_remove(PGconn *src, const pgh_config *cfg, pgh_error *err);

#endif
