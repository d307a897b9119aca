/*
 * The one SQLSTATE classifier: what a caller does about a server error, and the SQLSTATEs
 * pghost reacts to by name. No libpq, no I/O.
 */
#ifndef PGH_PG_SQLSTATE_H
#define PGH_PG_SQLSTATE_H

#include <stdbool.h>

#include "pghost/error.h"

/* SQLSTATEs pghost reacts to by name. */
#define PGH_SQLSTATE_OBJECT_IN_USE "55006"     /* a replication slot another session holds */
#define PGH_SQLSTATE_UNDEFINED_OBJECT "42704"  /* e.g. a replication slot that is gone */
#define PGH_SQLSTATE_DEPENDENT_OBJECTS "2BP01" /* DROP SCHEMA of a schema still in use */
#define PGH_SQLSTATE_LOCK_NOT_AVAILABLE "55P03" /* LOCK TABLE ... NOWAIT of a table in use */

/* How a caller should treat a server error, by its SQLSTATE. */
typedef enum pgh_sqlstate_class {
    PGH_SQLSTATE_STOP = 0,    /* anything else: stop and report */
    PGH_SQLSTATE_RETRY,       /* serialization failure or deadlock: retry the same work */
    PGH_SQLSTATE_CONNECTION,  /* connection lost, server shutting down: reconnect and resume */
} pgh_sqlstate_class;

/* Classify a SQLSTATE (NULL or malformed: PGH_SQLSTATE_CONNECTION, as libpq reports a broken
 * connection without one). */
pgh_sqlstate_class pgh_pg_sqlstate_class(const char *sqlstate);

/* True when err was recorded from a server error with this SQLSTATE. */
bool pgh_pg_error_is(const pgh_error *err, const char *sqlstate);

#endif
