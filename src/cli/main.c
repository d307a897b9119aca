/* pghost's entry point: dispatch to a sub-command. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char USAGE[] =
    "pghost - move large, live PostgreSQL tables between servers and keep them in sync\n"
    "\n"
    "Usage: pghost <command> [options] [CONFIG.yaml]\n"
    "\n"
    "Commands:\n"
    "  replicate   copy tables in short batches while capturing changes in a logical\n"
    "              replication slot, then replay the changes up to a checkpoint: at exit the\n"
    "              destination equals the source as of the checkpoint LSN it prints; with\n"
    "              --follow, keep applying changes after it, exactly once, until stopped\n"
    "  init        check the source, create the publication and the DDL capture trigger\n"
    "  verify      compare every table on both servers by key range; list differing keys\n"
    "  sync-sequences  set the destination's sequences from the source's current values\n"
    "  snapshot    ask the follower of the slot (--to stdout or file) to deliver tables'\n"
    "              existing rows again, between the changes\n"
    "  capture     publish the tables' rows and changes to a NATS JetStream stream, until\n"
    "              stopped (distributed mode, docs/nats.md)\n"
    "  apply       apply such a stream (source: nats) to a destination, exactly once into\n"
    "              PostgreSQL, until stopped\n"    "  status      show the slot (WAL retained, confirmed LSN) and the applied position\n"
    "  teardown    drop the slot, the publication and DDL capture init created, and the\n"
    "              position pghost keeps on the destination\n"
    "\n"
    "Options:\n"
    "  -h, --help     show this help (pghost <command> --help for a command's options)\n"
    "  -V, --version  show the version\n"
    "Every command also takes --log-level LEVEL (error, warn, info, debug or trace; logs go to\n"
    "stderr), -v (debug) and -q (errors only), --log-format text|json (json: one object a\n"
    "line with time, level, component, message and, when known, table, lsn and phase),\n"
    "-h/--help, and the configuration flags --source CONNSTR, --destination CONNSTR,\n"
    "--publication NAME and --table SCHEMA.TABLE (repeatable); every configuration key can also\n"
    "be set by a PGH_CFG_<KEY> environment variable. Flags win over the environment, which wins\n"
    "over the file; the file is optional when the rest gives what is needed. replicate takes\n"
    "--metrics-addr HOST:PORT (Prometheus /metrics, /healthz, /readyz).\n"
    "\n"
    "Exit status: 0 done; 1 the run failed; 2 bad command line or configuration;\n"
    "3 a preflight check failed (nothing was written).\n"
    "See examples/config.yaml for every configuration key.\n";

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(USAGE, stderr);
        return PGH_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        fputs(USAGE, stdout);
        return PGH_EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
        printf("pghost %s\n", PGH_VERSION);
        return PGH_EXIT_OK;
    }
    if (strcmp(cmd, "replicate") == 0)
        return pgh_cli_replicate(argc - 1, argv + 1);
    if (strcmp(cmd, "init") == 0)
        return pgh_cli_init(argc - 1, argv + 1);
    if (strcmp(cmd, "verify") == 0)
        return pgh_cli_verify(argc - 1, argv + 1);
    if (strcmp(cmd, "sync-sequences") == 0)
        return pgh_cli_sync_sequences(argc - 1, argv + 1);
    if (strcmp(cmd, "capture") == 0)
        return pgh_cli_capture(argc - 1, argv + 1);
    if (strcmp(cmd, "apply") == 0)
        return pgh_cli_apply(argc - 1, argv + 1);
    if (strcmp(cmd, "status") == 0)
        return pgh_cli_status(argc - 1, argv + 1);
    if (strcmp(cmd, "snapshot") == 0)
        return pgh_cli_snapshot(argc - 1, argv + 1);
    if (strcmp(cmd, "check") == 0)
        return pgh_cli_check(argc - 1, argv + 1);
    if (strcmp(cmd, "teardown") == 0)
        return pgh_cli_teardown(argc - 1, argv + 1);
    pgh_cli_error("unknown command \"%s\": try pghost --help", cmd);
    return PGH_EXIT_USAGE;
}
