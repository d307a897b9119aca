/* pghost sync-sequences: set the destination's sequences from the source (for a cutover). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "pghost/config.h"
#include "pghost/sequences.h"

static const char USAGE[] =
    "Usage: pghost sync-sequences [--log-level LEVEL] CONFIG.yaml\n"
    "\n"
    "Set every sequence of the configured tables on the destination from the source's current\n"
    "value: sequences owned by a column (serial, identity) and sequences a column default uses\n"
    "(nextval('...')). The destination's sequence is the one of the same column there. Each is\n"
    "set with setval(last_value, is_called) as on the source, so the next nextval() on the\n"
    "destination returns what it would on the source. Run it at cutover, after writes to the\n"
    "source stopped. Safe to repeat.\n"
    "\n"
    "Exit status: 0 done; 1 the run failed; 2 bad command line or configuration;\n"
    "3 a table is missing.\n";

static const char *env_lookup(const char *name, void *payload)
{
    (void)payload;
    return getenv(name);
}

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

static int parse_args(const char **path, pgh_log_level *level, int argc, char **argv)
{
    static const struct option longopts[] = {{"log-level", required_argument, NULL, 'l'},
                                              {"help", no_argument, NULL, 'h'},
                                              {NULL, 0, NULL, 0}};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 'h') {
            fputs(USAGE, stdout);
            return -1;
        }
        if (c == 'l' && pgh_log_level_parse(level, optarg) == 0)
            continue;
        if (c == 'l')
            pgh_cli_error("--log-level must be error, warn, info, debug or trace, not \"%s\"",
                          optarg);
        else
            pgh_cli_error("unknown option \"%s\" for sync-sequences: see pghost sync-sequences "
                          "--help", argv[optind - 1]);
        return PGH_EXIT_USAGE;
    }
    if (optind != argc - 1) {
        pgh_cli_error("sync-sequences needs exactly one configuration file: pghost "
                      "sync-sequences CONFIG.yaml");
        return PGH_EXIT_USAGE;
    }
    *path = argv[optind];
    return 0;
}

int pgh_cli_sync_sequences(int argc, char **argv)
{
    const char *path = NULL;
    pgh_log_level level = PGH_LOG_WARN;
    int rc = parse_args(&path, &level, argc, argv);
    if (rc != 0)
        return rc < 0 ? PGH_EXIT_OK : rc;
    pgh_cli_log_init(level);
    pgh_error err;
    pgh_error_clear(&err);
    pgh_config *cfg = NULL;
    if (pgh_config_load(&cfg, path, env_lookup, NULL, &err) != 0) {
        pgh_cli_error("%s", err.message);
        return PGH_EXIT_USAGE;
    }
    if (cfg->destination_connection == NULL) {
        pgh_cli_error("%s: destination_connection is not set: sync-sequences sets the "
                      "destination's sequences", path);
        pgh_config_free(cfg);
        return PGH_EXIT_USAGE;
    }
    int set = 0;
    rc = pgh_sequences_sync(&set, cfg, print_one, NULL, &err);
    if (rc != 0)
        pgh_cli_error("%s", err.message);
    else
        printf("sync-sequences: %d sequence%s set on the destination\n", set,
               set == 1 ? "" : "s");
    pgh_config_free(cfg);
    if (rc == 0)
        return PGH_EXIT_OK;
    if (rc == PGH_ECONFIG)
        return PGH_EXIT_USAGE;
    return rc == PGH_EPRECOND ? PGH_EXIT_PRECOND : PGH_EXIT_FAILURE;
}
