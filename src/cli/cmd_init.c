/* pghost init: prepare the source (see include/pghost/init.h). */
#include <stdio.h>

#include "cli.h"
#include "pghost/config.h"
#include "pghost/init.h"

static const char USAGE[] =
    "Usage: pghost init [options] [CONFIG.yaml]\n"
    "\n"
    "Prepare the source for pghost replicate, and change nothing when it already is:\n"
    "  - check wal_level = logical, a free replication slot and WAL sender, and that the role\n"
    "    has REPLICATION (or is a superuser);\n"
    "  - check every selected table (tables: with patterns expanded, minus exclude_tables):\n"
    "    it must have a key: a primary key with REPLICA IDENTITY DEFAULT or FULL, REPLICA\n"
    "    IDENTITY USING INDEX, or FULL with a unique index on NOT NULL columns; every table\n"
    "    that does not is listed with the statement that fixes it;\n"
    "  - create the publication when missing, FOR TABLE the selected tables WITH\n"
    "    (publish_via_partition_root = true), marked by its comment as pghost's; add tables\n"
    "    selected later to it. A publication pghost did not create is never changed: what it\n"
    "    lacks is reported with the statement to run;\n"
    "  - install the DDL capture (event triggers) when the role is a superuser.\n"
    "pghost teardown removes the publication and the DDL capture again.\n"
    "\n"
    "Options:\n"
    "  --log-level LEVEL   error, warn (default), info, debug or trace; logs go to stderr\n"
    "  --log-format FORMAT text (default) or json: one JSON object a line\n"
    "  -v, -q              --log-level debug / --log-level error\n"
    "  -h, --help          show this help\n"
    "\n"
    "Exit status: 0 ready; 1 failed; 2 bad command line or configuration; 3 a check failed\n"
    "(nothing was written).\n";

static const pgh_cli_command COMMAND = {.name = "init", .usage = USAGE, .log_level = PGH_LOG_WARN};

static void print_result(const pgh_config *cfg, const pgh_init_result *r)
{
    printf("source: wal_level logical, %d replication slot(s) and %d WAL sender(s) free, "
           "replication allowed\n",
           r->slots_free, r->wal_senders_free);
    printf("tables: %d selected, each with a key\n", r->ntables);
    for (size_t i = 0; i < cfg->ntables; i++)
        printf("  %s.%s -> %s.%s\n", cfg->tables[i].source_schema, cfg->tables[i].source_table,
               cfg->tables[i].dest_schema, cfg->tables[i].dest_table);
    printf("publication %s: ", cfg->publication_name);
    if (r->publication == PGH_INIT_PUB_CREATED)
        printf("created for %d table(s), publish_via_partition_root = true\n", r->ntables);
    else if (r->publication == PGH_INIT_PUB_EXTENDED)
        printf("%d table(s) added (options set to what pghost needs)\n", r->tables_added);
    else
        printf("already covers every selected table (%s), nothing to do\n",
               r->publication_ours ? "created by pghost init"
                                   : "not created by pghost, left "
                                     "as it is");
    if (r->ddl_installed)
        printf("DDL capture: %s\n", r->ddl_was_installed ? "already installed, selection "
                                                           "refreshed"
                                                         : "installed");
    else
        printf("DDL capture: not installed: %s\n", r->ddl_reason);
    bool changed =
        r->publication != PGH_INIT_PUB_UNCHANGED || (r->ddl_installed && !r->ddl_was_installed);
    printf("%s\n", changed ? "the source is ready"
                           : "the source was already ready: nothing "
                             "changed");
}

int pgh_cli_init(int argc, char **argv)
{
    pgh_config *cfg = NULL;
    int rc = pgh_cli_start(&cfg, &COMMAND, argc, argv);
    if (rc != PGH_CLI_RUN)
        return rc;
    pgh_error err;
    pgh_error_clear(&err);
    pgh_init_result r;
    rc = pgh_init_run(&r, cfg, &err);
    if (rc == 0)
        print_result(cfg, &r);
    else
        pgh_cli_error("%s", err.message);
    pgh_config_free(cfg);
    return pgh_cli_exit_code(rc);
}
