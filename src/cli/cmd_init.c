/* PLACEHOLDER being replaced by its owner this session: pghost init. */
#include "cli.h"

int pgh_cli_init(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    pgh_cli_error("init is not built yet");
    return PGH_EXIT_FAILURE;
}
