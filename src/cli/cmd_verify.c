/* PLACEHOLDER being replaced by its owner this session: pghost verify. */
#include "cli.h"

int pgh_cli_verify(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    pgh_cli_error("verify is not built yet");
    return PGH_EXIT_FAILURE;
}
