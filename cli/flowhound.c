/* flowhound.c - the command-line tool: dispatches to subcommands. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} commands[] = {
    {"query", cmd_query, "list flows or top-N statistics with an nfdump-style filter"},
    {"analyze", cmd_analyze, "rebuild connections and raise alerts over stored flows"},
    {"test-alert", cmd_test_alert, "send a sample alert to every configured destination"},
    {"status", cmd_status, "what the running flowhoundd says of itself (its /metrics)"},
};

static void usage(FILE *f)
{
    fprintf(f, "Usage: flowhound COMMAND [OPTIONS]\n\nCommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\n'flowhound COMMAND --help' describes each. See flowhound(1).\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
        printf("flowhound %s\n", PACKAGE_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "flowhound: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
