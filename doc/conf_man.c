/* conf_man.c - writes flowhound.conf(5): copies the page's text (stdin) and puts every key of
 * the settings table (common/settings.c), with its value's form, help and default, where a
 * line says @KEYS@. The page lists what flowhoundd reads, so it cannot fall behind it. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "common/settings.h"

/* Text as roff reads it: '-' is a hyphen unless escaped (options are copied and pasted),
 * '\' starts an escape, and a line may not start with '.' or '\''. */
static void roff(const char *s, FILE *out)
{
    if (*s == '.' || *s == '\'')
        fputs("\\&", out);
    for (; *s; s++) {
        if (*s == '-')
            fputs("\\-", out);
        else if (*s == '\\')
            fputs("\\e", out);
        else
            fputc(*s, out);
    }
}

/* "key = ARG", or "key = yes|no" for a boolean. */
static void key_line(const struct cfg_key *k, FILE *out)
{
    fputs(".TP\n\\fB", out);
    roff(k->key, out);
    fputs("\\fR = ", out);
    if (k->type == CFG_BOOL) {
        fputs("\\fByes\\fR|\\fBno\\fR\n", out);
        return;
    }
    fputs("\\fI", out);
    roff(k->arg ? k->arg : "VALUE", out);
    fputs("\\fR\n", out);
}

/* A repeatable key's default is a list of words: "A and B". */
static void default_line(const struct cfg_key *k, FILE *out)
{
    if (!k->def) {
        fputs("Not set by default.\n", out);
        return;
    }
    fputs("Default: ", out);
    char words[512];
    snprintf(words, sizeof(words), "%s", k->def);
    const char *sep = "";
    char *save = NULL;
    for (char *w = strtok_r(words, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        fputs(sep, out);
        fputs("\\fB", out);
        roff(w, out);
        fputs("\\fR", out);
        sep = " and ";
    }
    fputs(".\n", out);
}

static void keys(FILE *out)
{
    for (const struct cfg_key *k = config_keys; k->key; k++) {
        key_line(k, out);
        roff(k->help, out);
        fputs(k->type == CFG_STRLIST ? ".\nEach line adds one value.\n" : ".\n", out);
        default_line(k, out);
    }
}

int main(void)
{
    char line[4096];
    while (fgets(line, sizeof(line), stdin)) {
        if (strcmp(line, "@KEYS@\n") == 0)
            keys(stdout);
        else
            fputs(line, stdout);
    }
    return ferror(stdin) || fflush(stdout) ? 1 : 0;
}
