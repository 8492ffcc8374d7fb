/* args.h - the command-line parser of every program, so that each accepts the same syntax and
 * says the same things about mistakes. A program describes its options in a table and asks
 * for them one at a time, as with getopt_long:
 *
 *   --key VALUE  --key=VALUE  -k VALUE  -kVALUE   an option that takes a value
 *   --key  -k  -hV                                 flags (letters may be grouped)
 *   --key  --key=no                                a boolean (a value only after '=')
 *   --                                             the words after it are not options
 *
 * Long names are matched exactly: an abbreviation would change meaning when an option is
 * added. Mistakes read "PROGRAM: --key: missing value", "PROGRAM: --key: unknown option",
 * "PROGRAM: unexpected argument 'x'", each followed by "Try 'PROGRAM --help'.". */
#ifndef FLOWHOUND_ARGS_H
#define FLOWHOUND_ARGS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum arg_kind {
    ARG_FLAG,  /* no value */
    ARG_VALUE, /* a value: the rest of the word after '=' or the letter, or the next word */
    ARG_BOOL,  /* "yes" when bare; any other value only after '=' (--analyzer=no) */
};

/* One option. A table ends with an entry whose name and help are both NULL; an entry with
 * help but no name is a heading of --help. */
struct arg_opt {
    const char *name; /* long name, without "--" */
    char letter;      /* short option, 0 = none */
    enum arg_kind kind;
    int id;           /* what args_next returns for it: >= 0 */
    const char *arg;  /* name of the value in --help ("DB") */
    const char *help; /* in --help: a '\n' continues under the first line; NULL: not listed */
    const char *def;  /* default shown in --help as [def], or NULL */
};

enum { ARGS_END = -1, ARGS_WORD = -2, ARGS_ERROR = -3 };

struct args {
    const char *prog; /* first word of every message: "flowhound query" */
    const struct arg_opt *opts;
    int max_words;          /* words allowed besides options (-1: any); default 0 */
    bool words_end_options; /* the first word ends the options, like getopt's "+" */
    /* after args_next: */
    const struct arg_opt *opt; /* the option (NULL for a word and at the end) */
    const char *value;         /* its value (bare boolean: "yes"; flag: NULL), or the word */
    /* private */
    int argc, next, nwords;
    char **argv;
    const char *letters; /* the rest of a group of short options */
    bool by_letter, only_words;
};

/* Parses argv[1] to argv[argc - 1] (argv[0] is the program or subcommand). */
void args_init(struct args *a, const char *prog, const struct arg_opt *opts, int argc, char **argv);
/* The next option: returns its id, with a->opt and a->value; ARGS_WORD with the word in
 * a->value; ARGS_END; or ARGS_ERROR after printing what is wrong. */
int args_next(struct args *a);
/* Prints "PROGRAM: --key: MESSAGE" about the current option (the option as it was written,
 * -k or --key; no option after a word) to stderr. */
void args_error(const struct args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* args_error, then "Try 'PROGRAM --help'.": for a command line that cannot be read. */
void args_usage_error(const struct args *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A count: a non-negative decimal integer that fits int64_t, and nothing else ("5x", "-1",
 * "" and " 5" are not). The one reading of numbers on every command line. */
bool args_count(const char *s, int64_t *out);
/* Prints the option lines of --help, with the headings of the table. */
void args_help(const struct arg_opt *opts, FILE *f);

#endif
