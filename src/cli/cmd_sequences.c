/* pghost sync-sequences: set the destination's sequences from the source (for a cutover). */
#include <stdio.h>

#include "cli.h"
#include "pghost/config.h"
#include "pghost/sequences.h"

static const char USAGE[] =
    "Usage: pghost sync-sequences [options] [CONFIG.yaml]\n"
    "\n"
    "Set every sequence of the configured tables on the destination from the source's current\n"
    "value: sequences owned by a column (serial, identity) and sequences a column default uses\n"
    "(nextval('...')). The destination's sequence is the one of the same column there. Each is\n"
    "set with setval(last_value, is_called) as on the source, so the next nextval() on the\n"
    "destination returns what it would on the source. Run it at cutover, after writes to the\n"
    "source stopped. Safe to repeat.\n"
    "\n"
    "Options:\n"
    "  --log-level LEVEL   error, warn (default), info, debug or trace; logs go to stderr\n"
    "  --log-format FORMAT text (default) or json: one JSON object a line\n"
    "  -v, -q              --log-level debug / --log-level error\n"
    "  -h, --help          show this help\n"
    "\n"
    "Exit status: 0 done; 1 the run failed; 2 bad command line or configuration;\n"
    "3 a table is missing.\n";

static const pgh_cli_command COMMAND = {
    .name = "sync-sequences", .usage = USAGE, .log_level = PGH_LOG_WARN};

static void print_one(const pgh_sequence_set *s, void *payload)
{
    (void)payload;
    if (s->dest_sequence == NULL)
        printf("%s.%s: %s: none on the destination, not set\n", s->table, s->column,
               s->source_sequence);
    else
        printf("%s.%s: %s -> %s = %s (is_called %s)\n", s->table, s->column,
               s->source_sequence, s->dest_sequence, s->last_value,
               s->is_called ? "true" : "false");
}

int pgh_cli_sync_sequences(int argc, char **argv)
{
    pgh_config *cfg = NULL;
    int rc = pgh_cli_start(&cfg, &COMMAND, argc, argv);
    if (rc != PGH_CLI_RUN)
        return rc;
    rc = pgh_cli_need_destination(cfg, "sync-sequences sets the destination's sequences");
    if (rc != PGH_EXIT_OK) {
        pgh_config_free(cfg);
        return rc;
    }
    pgh_error err;
    pgh_error_clear(&err);
    int set = 0;
    rc = pgh_sequences_sync(&set, cfg, print_one, NULL, &err);
    if (rc != 0)
        pgh_cli_error("%s", err.message);
    else
        printf("sync-sequences: %d sequence%s set on the destination\n", set,
               set == 1 ? "" : "s");
    pgh_config_free(cfg);
    return pgh_cli_exit_code(rc);
}
