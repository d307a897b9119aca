/* Placeholder entry point until the CLI lands. */
#include <stdio.h>
int main(void)
{
    fputs("pghost: under construction\n", stderr);
    return 1;
}
