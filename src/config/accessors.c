/* Small accessors of a parsed configuration: see pghost/config.h. */
#include <strings.h>

#include "pghost/config.h"

int pgh_config_destination_parse(pgh_destination_kind *out, const char *name)
{
    if (strcasecmp(name, "postgres") == 0)
        *out = PGH_DESTINATION_POSTGRES;
    else if (strcasecmp(name, "stdout") == 0)
        *out = PGH_DESTINATION_STDOUT;
    else if (strcasecmp(name, "nats") == 0)
        *out = PGH_DESTINATION_NATS;
    else if (strcasecmp(name, "duckdb") == 0)
        *out = PGH_DESTINATION_DUCKDB;
    else if (strcasecmp(name, "file") == 0)
        *out = PGH_DESTINATION_FILE;
    else if (strcasecmp(name, "webhook") == 0)
        *out = PGH_DESTINATION_WEBHOOK;
    else
        return PGH_ECONFIG;
    return 0;
}

bool pgh_config_uses_state_file(pgh_destination_kind kind)
{
    return kind == PGH_DESTINATION_STDOUT || kind == PGH_DESTINATION_WEBHOOK;
}

const char *pgh_config_replication_conninfo(const pgh_config *cfg)
{
    return cfg->source_replication_connection ? cfg->source_replication_connection
                                              : cfg->source_connection;
}
