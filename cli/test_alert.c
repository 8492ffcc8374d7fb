/* test_alert.c - `flowhound test-alert`. Not implemented yet. */
#include "config.h"

#include <stdio.h>

#include "cli/commands.h"

int cmd_test_alert(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "flowhound test-alert: not implemented yet\n");
    return 1;
}
