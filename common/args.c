/* args.c - the command-line parser of every program (args.h). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/args.h"

#define HELP_COLUMN 34 /* --help: the option, then its help from the next column on */

static bool is_end(const struct arg_opt *o)
{
    return !o->name && !o->help;
}

static const struct arg_opt *find_long(const struct arg_opt *opts, const char *name, size_t len)
{
    for (const struct arg_opt *o = opts; !is_end(o); o++)
        if (o->name && strlen(o->name) == len && !strncmp(o->name, name, len))
            return o;
    return NULL;
}

static const struct arg_opt *find_letter(const struct arg_opt *opts, char letter)
{
    for (const struct arg_opt *o = opts; !is_end(o); o++)
        if (o->name && o->letter == letter)
            return o;
    return NULL;
}

void args_init(struct args *a, const char *prog, const struct arg_opt *opts, int argc, char **argv)
{
    memset(a, 0, sizeof(*a));
    a->prog = prog;
    a->opts = opts;
    a->argc = argc;
    a->argv = argv;
    a->next = 1;
}

static void report(const struct args *a, bool try_help, const char *fmt, va_list ap)
{
    fprintf(stderr, "%s: ", a->prog);
    if (a->opt && a->by_letter)
        fprintf(stderr, "-%c: ", a->opt->letter);
    else if (a->opt)
        fprintf(stderr, "--%s: ", a->opt->name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    if (try_help)
        fprintf(stderr, "Try '%s --help'.\n", a->prog);
}

void args_error(const struct args *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(a, false, fmt, ap);
    va_end(ap);
}

void args_usage_error(const struct args *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(a, true, fmt, ap);
    va_end(ap);
}

/* The value of a->opt when it was not attached to the option: the next word. */
static int take_value(struct args *a)
{
    a->value = a->opt->kind == ARG_BOOL ? "yes" : NULL;
    if (a->opt->kind != ARG_VALUE)
        return a->opt->id;
    if (a->next >= a->argc) {
        args_usage_error(a, "missing value");
        return ARGS_ERROR;
    }
    a->value = a->argv[a->next++];
    return a->opt->id;
}

static int next_long(struct args *a, const char *word)
{
    const char *eq = strchr(word, '=');
    size_t len = eq ? (size_t)(eq - word) : strlen(word);
    a->by_letter = false;
    a->opt = find_long(a->opts, word, len);
    if (!a->opt) {
        args_usage_error(a, "--%.*s: unknown option", (int)len, word);
        return ARGS_ERROR;
    }
    if (!eq)
        return take_value(a);
    if (a->opt->kind == ARG_FLAG) {
        args_usage_error(a, "takes no value");
        return ARGS_ERROR;
    }
    a->value = eq + 1;
    return a->opt->id;
}

static int next_letter(struct args *a)
{
    char letter = *a->letters++;
    a->by_letter = true;
    a->opt = find_letter(a->opts, letter);
    if (!a->opt) {
        a->letters = NULL;
        args_usage_error(a, "-%c: unknown option", letter);
        return ARGS_ERROR;
    }
    if (a->opt->kind == ARG_VALUE && *a->letters) { /* -kVALUE */
        a->value = a->letters;
        a->letters = NULL;
        return a->opt->id;
    }
    return take_value(a);
}

static int next_word(struct args *a, const char *word)
{
    a->opt = NULL;
    a->value = word;
    a->only_words |= a->words_end_options;
    if (a->max_words >= 0 && a->nwords >= a->max_words) {
        args_usage_error(a, "unexpected argument '%s'", word);
        return ARGS_ERROR;
    }
    a->nwords++;
    return ARGS_WORD;
}

int args_next(struct args *a)
{
    if (a->letters && *a->letters)
        return next_letter(a);
    a->opt = NULL;
    if (a->next >= a->argc)
        return ARGS_END;
    const char *word = a->argv[a->next++];
    if (a->only_words || word[0] != '-' || word[1] == '\0')
        return next_word(a, word);
    if (!strcmp(word, "--")) {
        a->only_words = true;
        return args_next(a);
    }
    if (word[1] == '-')
        return next_long(a, word + 2);
    a->letters = word + 1;
    return next_letter(a);
}

static void help_line(const struct arg_opt *o, FILE *f)
{
    char left[160], letter[8] = "    ";
    if (o->letter)
        snprintf(letter, sizeof(letter), "-%c, ", o->letter);
    snprintf(left, sizeof(left), "  %s--%s%s%s", letter, o->name,
             o->kind == ARG_VALUE  ? " "
             : o->kind == ARG_BOOL ? "[=no]"
                                   : "",
             o->kind == ARG_VALUE ? (o->arg ? o->arg : "VALUE") : "");
    if (strlen(left) > HELP_COLUMN)
        fprintf(f, "%s\n%*s", left, HELP_COLUMN, "");
    else
        fprintf(f, "%-*s", HELP_COLUMN, left);
    fputc(' ', f);
    for (const char *h = o->help; *h; h++) {
        fputc(*h, f);
        if (*h == '\n')
            fprintf(f, "%*s", HELP_COLUMN + 1, "");
    }
    if (o->def)
        fprintf(f, " [%s]", o->def);
    fputc('\n', f);
}

void args_help(const struct arg_opt *opts, FILE *f)
{
    for (const struct arg_opt *o = opts; !is_end(o); o++)
        if (!o->name)
            fprintf(f, "\n%s\n", o->help);
        else if (o->help)
            help_line(o, f);
}

bool args_count(const char *s, int64_t *out)
{
    if (!s || !isdigit((unsigned char)*s))
        return false;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}
