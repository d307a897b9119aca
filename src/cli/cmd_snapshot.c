/* pghost snapshot: ask the pipeline following a slot to deliver tables' existing rows again. */
#include <stdio.h>

#include "cli.h"
#include "pghost/pipeline.h"

static const char USAGE[] =
    "Usage: pghost snapshot [options] CONFIG.yaml TABLE...\n"
    "\n"
    "Ask the pghost that follows CONFIG.yaml's slot with --to stdout or --to file (an event\n"
    "destination) to deliver the existing rows of each TABLE (schema.table, as the source\n"
    "names it) again, in watermarked chunks between the changes, without stopping them. The\n"
    "request is written into the source's WAL: the follower picks it up in stream order, also\n"
    "when it is down now and starts later. JSON lines mark the reload: a \"snapshot_start\"\n"
    "line with \"reload\":true, the \"snapshot\" lines, a \"snapshot_end\" line\n"
    "(docs/json-lines.md).\n"
    "\n"
    "Options:\n"
    "  --log-level LEVEL   error, warn (default), info, debug or trace; logs go to stderr\n"
    "  --log-format FORMAT text (default) or json: one JSON object a line\n"
    "  -v, -q              --log-level debug / --log-level error\n"
    "  -h, --help          show this help\n"
    "\n"
    "Exit status: 0 requested; 1 the source could not be reached; 2 bad command line,\n"
    "configuration or table name.\n";

int pgh_cli_snapshot(int argc, char **argv)
{
    char **tables = NULL;
    int ntables = 0;
    const pgh_cli_command cmd = {.name = "snapshot",
                                 .usage = USAGE,
                                 .log_level = PGH_LOG_WARN,
                                 .no_destination = true, /* it asks the source only */
                                 .operands = "TABLE...",
                                 .operand_values = &tables,
                                 .noperands = &ntables};
    pgh_config *cfg = NULL;
    int rc = pgh_cli_start(&cfg, &cmd, argc, argv);
    if (rc != PGH_CLI_RUN)
        return rc;
    pgh_error err;
    pgh_error_clear(&err);
    pgh_source *src = NULL;
    rc = pgh_source_open(&src, cfg, &err);
    if (rc == 0)
        rc = pgh_pipeline_request_reload(pgh_source_config(src), (const char *const *)tables,
                                         ntables, &err);
    if (rc != 0)
        pgh_cli_error("%s", err.message);
    else
        printf("snapshot: reload of %d table%s requested from the follower of slot %s\n",
               ntables, ntables == 1 ? "" : "s", cfg->slot_name);
    pgh_source_close(src);
    pgh_config_free(cfg);
    return pgh_cli_exit_code(rc);
}
