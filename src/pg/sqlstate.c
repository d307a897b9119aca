/* SQLSTATE classification: see sqlstate.h. */
#include "pg/sqlstate.h"

#include <string.h>

pgh_sqlstate_class pgh_pg_sqlstate_class(const char *sqlstate)
{
    if (sqlstate == NULL || strlen(sqlstate) != 5)
        return PGH_SQLSTATE_CONNECTION;
    if (strcmp(sqlstate, "40001") == 0 || strcmp(sqlstate, "40P01") == 0)
        return PGH_SQLSTATE_RETRY; /* serialization failure, deadlock */
    if (strncmp(sqlstate, "08", 2) == 0 || strncmp(sqlstate, "57P0", 4) == 0)
        return PGH_SQLSTATE_CONNECTION; /* connection exceptions; shutdown, terminated */
    return PGH_SQLSTATE_STOP;
}

bool pgh_pg_error_is(const pgh_error *err, const char *sqlstate)
{
    return err != NULL && strcmp(err->sqlstate, sqlstate) == 0;
}
