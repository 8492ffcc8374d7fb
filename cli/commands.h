/* commands.h - the subcommands of `flowhound`. Each lives in its own file under cli/ and
 * returns the process exit status (0 ok, 1 failure, 2 usage error). */
#ifndef FLOWHOUND_COMMANDS_H
#define FLOWHOUND_COMMANDS_H

int cmd_query(int argc, char **argv);      /* cli/query.c */
int cmd_analyze(int argc, char **argv);    /* cli/analyze.c */
int cmd_test_alert(int argc, char **argv); /* cli/test_alert.c */
int cmd_status(int argc, char **argv);     /* cli/status.c */

#endif
