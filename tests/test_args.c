/* test_args.c - the one command-line parser (common/args.h): every accepted form, the errors
 * word for word, --help, and the settings table as options (-c read first, the command line
 * winning, booleans). */
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/args.h"
#include "common/settings.h"
#include "common/xmalloc.h"
#include "tests/helpers.h"

enum { O_READ = 'r', O_HELP = 'h', O_VERBOSE = 'v', O_LIMIT = 'n', O_DAEMON = 1 };

static const struct arg_opt opts[] = {
    {"read", 'r', ARG_VALUE, O_READ, "DB", "the store", NULL},
    {"limit", 'n', ARG_VALUE, O_LIMIT, NULL, "at most N rows\nof output", "10"},
    {"verbose", 'v', ARG_FLAG, O_VERBOSE, NULL, "say more", NULL},
    {"daemon", 0, ARG_BOOL, O_DAEMON, NULL, "detach", "no"},
    {"help", 'h', ARG_FLAG, O_HELP, NULL, NULL, NULL},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
};

/* stderr of the code between capture_start() and capture_end(), as a string. */
static FILE *captured;
static int saved_stderr;

static void capture_start(void)
{
    fflush(stderr);
    captured = tmpfile();
    cr_assert(captured);
    saved_stderr = dup(2);
    dup2(fileno(captured), 2);
}

static char *capture_end(void)
{
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    long len = ftell(captured);
    char *s = xmalloc((size_t)len + 1);
    rewind(captured);
    s[fread(s, 1, (size_t)len, captured)] = '\0';
    fclose(captured);
    return s;
}

/* The ids and values args_next gives for WORDS (a NULL-terminated list), as "id=value ..."
 * (W for a word, E for an error, flags without '='); stderr into *err when err. */
static char *parse(struct args *a, char **err, const char *const *words)
{
    char *argv[16] = {"prog"};
    int argc = 1;
    while (words[argc - 1])
        argv[argc] = (char *)words[argc - 1], argc++;
    int max_words = a->max_words;
    bool end = a->words_end_options;
    args_init(a, "prog", opts, argc, argv);
    a->max_words = max_words;
    a->words_end_options = end;
    static char out[512];
    out[0] = '\0';
    capture_start();
    for (int id; (id = args_next(a)) != ARGS_END;) {
        size_t n = strlen(out);
        if (id == ARGS_ERROR) {
            snprintf(out + n, sizeof(out) - n, "E ");
            break;
        }
        if (id == ARGS_WORD)
            snprintf(out + n, sizeof(out) - n, "W=%s ", a->value);
        else if (a->value)
            snprintf(out + n, sizeof(out) - n, "%s=%s ", a->opt->name, a->value);
        else
            snprintf(out + n, sizeof(out) - n, "%s ", a->opt->name);
    }
    char *e = capture_end();
    if (err)
        *err = e;
    else
        free(e);
    return out;
}

#define WORDS(...) ((const char *const[]){__VA_ARGS__, NULL})

Test(args, long_options_with_the_value_in_the_next_word_or_after_an_equals_sign)
{
    struct args a = {0};
    cr_expect_str_eq(parse(&a, NULL, WORDS("--read", "x.db", "--limit=5")), "read=x.db limit=5 ");
    cr_expect_str_eq(parse(&a, NULL, WORDS("--read=a=b", "--read=")), "read=a=b read= ");
    cr_expect_str_eq(parse(&a, NULL, WORDS("--read", "-n")), "read=-n ",
                     "a value may look like an option");
}

Test(args, short_options_with_the_value_in_the_next_word_or_attached)
{
    struct args a = {0};
    cr_expect_str_eq(parse(&a, NULL, WORDS("-r", "x.db", "-n5")), "read=x.db limit=5 ");
    cr_expect_str_eq(parse(&a, NULL, WORDS("-vh", "-vrx.db", "-vn", "3")),
                     "verbose help verbose read=x.db verbose limit=3 ", "grouped letters");
}

Test(args, booleans_are_yes_bare_and_take_a_value_only_after_equals)
{
    struct args a = {.max_words = -1};
    cr_expect_str_eq(parse(&a, NULL, WORDS("--daemon", "--daemon=no")), "daemon=yes daemon=no ");
    cr_expect_str_eq(parse(&a, NULL, WORDS("--daemon", "no")), "daemon=yes W=no ");
}

Test(args, missing_value_names_the_option_as_written)
{
    struct args a = {0};
    char *err;
    cr_expect_str_eq(parse(&a, &err, WORDS("-v", "--read")), "verbose E ");
    cr_expect_str_eq(err, "prog: --read: missing value\nTry 'prog --help'.\n");
    free(err);
    cr_expect_str_eq(parse(&a, &err, WORDS("-vr")), "verbose E ");
    cr_expect_str_eq(err, "prog: -r: missing value\nTry 'prog --help'.\n");
    free(err);
}

Test(args, unknown_options_and_values_given_to_flags_are_errors)
{
    struct args a = {0};
    char *err;
    cr_expect_str_eq(parse(&a, &err, WORDS("--bogus=1", "--read", "x")), "E ");
    cr_expect_str_eq(err, "prog: --bogus: unknown option\nTry 'prog --help'.\n");
    free(err);
    cr_expect_str_eq(parse(&a, &err, WORDS("-vz")), "verbose E ");
    cr_expect_str_eq(err, "prog: -z: unknown option\nTry 'prog --help'.\n");
    free(err);
    cr_expect_str_eq(parse(&a, &err, WORDS("--verbose=yes")), "E ");
    cr_expect_str_eq(err, "prog: --verbose: takes no value\nTry 'prog --help'.\n");
    free(err);
    cr_expect_str_eq(parse(&a, &err, WORDS("--re", "x")), "E ", "no abbreviations");
    free(err);
}

Test(args, words_between_options_up_to_max_words)
{
    struct args a = {.max_words = 2};
    char *err;
    cr_expect_str_eq(parse(&a, NULL, WORDS("a", "-v", "-")), "W=a verbose W=- ");
    cr_expect_str_eq(parse(&a, &err, WORDS("a", "b", "c")), "W=a W=b E ");
    cr_expect_str_eq(err, "prog: unexpected argument 'c'\nTry 'prog --help'.\n");
    free(err);
    a.max_words = 0;
    cr_expect_str_eq(parse(&a, &err, WORDS("-v", "a")), "verbose E ");
    cr_expect_str_eq(err, "prog: unexpected argument 'a'\nTry 'prog --help'.\n");
    free(err);
}

Test(args, double_dash_ends_the_options)
{
    struct args a = {.max_words = -1};
    cr_expect_str_eq(parse(&a, NULL, WORDS("-v", "--", "--read", "-v", "--")),
                     "verbose W=--read W=-v W=-- ");
}

Test(args, words_end_options_keeps_the_rest_as_words)
{
    struct args a = {.max_words = -1, .words_end_options = true};
    cr_expect_str_eq(parse(&a, NULL, WORDS("-r", "db", "port", "80", "-n", "3")),
                     "read=db W=port W=80 W=-n W=3 ");
}

Test(args, errors_of_the_program_name_the_option_as_written)
{
    struct args a;
    char *argv[] = {"prog", "-n", "x", "--limit", "y", "z", NULL};
    args_init(&a, "prog", opts, 6, argv);
    a.max_words = 1;
    capture_start();
    while (args_next(&a) != ARGS_END)
        args_error(&a, "'%s' is not a count", a.value);
    args_usage_error(&a, "-r DB is required");
    char *err = capture_end();
    cr_expect_str_eq(err, "prog: -n: 'x' is not a count\n"
                          "prog: --limit: 'y' is not a count\n"
                          "prog: 'z' is not a count\n"
                          "prog: -r DB is required\nTry 'prog --help'.\n");
    free(err);
}

Test(args, help_lists_the_options_with_headings_defaults_and_continued_lines)
{
    static const struct arg_opt table[] = {
        {"read", 'r', ARG_VALUE, 1, "DB", "the store", NULL},
        {.help = "Settings:"},
        {"limit", 0, ARG_VALUE, 2, NULL, "at most N rows\nof output", "10"},
        {"daemon", 0, ARG_BOOL, 3, NULL, "detach", "no"},
        {"hidden", 0, ARG_FLAG, 4, NULL, NULL, NULL},
        {"a-very-long-option-name", 0, ARG_VALUE, 5, "SOMETHING", "help below", NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    char *text;
    size_t len;
    FILE *f = open_memstream(&text, &len);
    args_help(table, f);
    fclose(f);
    cr_expect_str_eq(text, "  -r, --read DB                    the store\n"
                           "\nSettings:\n"
                           "      --limit VALUE                at most N rows\n"
                           "                                   of output [10]\n"
                           "      --daemon[=no]                detach [no]\n"
                           "      --a-very-long-option-name SOMETHING\n"
                           "                                   help below\n");
    free(text);
}

/* ---- the settings table as options (flowhoundd, flowhound test-alert) ---- */

static int own_calls;

static int own(const struct args *a, struct fh_config *c)
{
    (void)c;
    own_calls++;
    return a->opt->id == 'h' ? 1 : 0;
}

static const struct arg_opt own_opts[] = {
    {"help", 'h', ARG_FLAG, 'h', NULL, "this help", NULL},
    {"check-config", 0, ARG_FLAG, 1, NULL, "check", NULL},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
};

static const struct config_cli cli = {"prog", own_opts, NULL, own};

static int parse_config(struct fh_config *c, char **err, const char *const *words)
{
    char *argv[16] = {"prog"};
    int argc = 1;
    while (words[argc - 1])
        argv[argc] = (char *)words[argc - 1], argc++;
    config_free(c);
    config_defaults(c);
    own_calls = 0;
    capture_start();
    int rc = config_parse_args(c, &cli, argc, argv);
    *err = capture_end();
    return rc;
}

Test(args, settings_from_the_command_line_override_the_file_wherever_it_stands)
{
    char *dir = th_tmpdir(), conf[600], *err;
    snprintf(conf, sizeof(conf), "%s/f.conf", dir);
    FILE *f = fopen(conf, "w");
    cr_assert(f);
    fprintf(f, "db = file.db\nrcvbuf = 1K\nanalyzer = no\n");
    fclose(f);
    struct fh_config c = {0};
    cr_expect_eq(parse_config(&c, &err, WORDS("--db=cli.db", "-c", conf, "--check-config")), 0,
                 "%s", err);
    cr_expect_str_eq(c.db, "cli.db");
    cr_expect_eq(c.rcvbuf, 1024, "the rest from the file");
    cr_expect_eq(c.analyzer, false);
    cr_expect_eq(own_calls, 1, "--check-config goes to the program");
    free(err);
    cr_expect_eq(parse_config(&c, &err, WORDS("--config", conf, "--analyzer", "--daemon")), 0);
    cr_expect(c.analyzer && c.daemonize);
    free(err);
    cr_expect_eq(
        parse_config(&c, &err,
                     WORDS("--analyzer=no", "--listen=[::1]:0", "--listen", "127.0.0.1:0")),
        0);
    cr_expect(!c.analyzer);
    cr_expect_eq(c.n_listen, 2);
    free(err);
    config_free(&c);
    th_rmtree(dir);
    free(dir);
}

Test(args, settings_errors_name_the_option)
{
    struct fh_config c = {0};
    char *err;
    cr_expect_eq(parse_config(&c, &err, WORDS("--rcvbuf", "lots")), 2);
    cr_expect_str_eq(err, "prog: --rcvbuf: 'lots' is not a size (e.g. 512K, 32M, 50G)\n");
    free(err);
    cr_expect_eq(parse_config(&c, &err, WORDS("--daemon=maybe")), 2);
    cr_expect_str_eq(err, "prog: --daemon: 'maybe' is not yes or no\n");
    free(err);
    cr_expect_eq(parse_config(&c, &err, WORDS("--no-such-setting", "1")), 2);
    cr_expect_str_eq(err, "prog: --no-such-setting: unknown option\nTry 'prog --help'.\n");
    free(err);
    cr_expect_eq(parse_config(&c, &err, WORDS("-c", "/nonexistent/f.conf")), 2);
    cr_expect(strstr(err, "prog: /nonexistent/f.conf: No such file"), "%s", err);
    free(err);
    cr_expect_eq(parse_config(&c, &err, WORDS("--help", "--db")), 2,
                 "the whole command line is read before anything is done");
    free(err);
    cr_expect_eq(parse_config(&c, &err, WORDS("--db", "x", "--help", "--db", "y")), 1);
    cr_expect_eq(own_calls, 1);
    free(err);
    config_free(&c);
}

Test(args, a_count_is_digits_and_nothing_else)
{
    int64_t v = -1;
    cr_expect(args_count("0", &v) && v == 0);
    cr_expect(args_count("42", &v) && v == 42);
    cr_expect(args_count("9223372036854775807", &v) && v == INT64_MAX);
    const char *bad[] = {"", "5x", "-1", "+1", " 5", "5 ", "0x10", "9223372036854775808", "1e3"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_expect(!args_count(bad[i], &v), "'%s' is not a count", bad[i]);
}
