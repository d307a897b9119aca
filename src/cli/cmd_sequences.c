/* PLACEHOLDER being replaced by its owner this session: pghost sync-sequences. */
#include "cli.h"

int pgh_cli_sync_sequences(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    pgh_cli_error("sync-sequences is not built yet");
    return PGH_EXIT_FAILURE;
}
