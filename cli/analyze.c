/* analyze.c - `flowhound analyze`. Not implemented yet. */
#include "config.h"

#include <stdio.h>

#include "cli/commands.h"

int cmd_analyze(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "flowhound analyze: not implemented yet\n");
    return 1;
}
