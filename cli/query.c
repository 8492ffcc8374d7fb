/* query.c - `flowhound query`. Not implemented yet. */
#include "config.h"

#include <stdio.h>

#include "cli/commands.h"

int cmd_query(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "flowhound query: not implemented yet\n");
    return 1;
}
