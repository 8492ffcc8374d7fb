/* prom_text.c - see prom_text.h. The grammar: https://prometheus.io/docs/instrumenting/
 * exposition_formats/ ("Text-based format"). */
#include "config.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "tests/prom_text.h"

struct family {
    char name[256];
    bool typed, done;
};

struct reader {
    struct family *fam;
    size_t n_fam;
    struct family *cur; /* in fam: set again after each family_of */
    char *err;
    size_t errlen;
    int line;
};

static bool fail(struct reader *r, const char *what)
{
    snprintf(r->err, r->errlen, "line %d: %s", r->line, what);
    return false;
}

static size_t name_len(const char *s, bool colon)
{
    size_t n = 0;
    if (!isalpha((unsigned char)s[0]) && s[0] != '_' && !(colon && s[0] == ':'))
        return 0;
    while (isalnum((unsigned char)s[n]) || s[n] == '_' || (colon && s[n] == ':'))
        n++;
    return n;
}

static struct family *family_of(struct reader *r, const char *name, size_t len)
{
    for (size_t i = 0; i < r->n_fam; i++)
        if (strlen(r->fam[i].name) == len && !strncmp(r->fam[i].name, name, len))
            return &r->fam[i];
    r->fam = xreallocarray(r->fam, r->n_fam + 1, sizeof(*r->fam));
    struct family *f = &r->fam[r->n_fam++];
    memset(f, 0, sizeof(*f));
    snprintf(f->name, sizeof(f->name), "%.*s", (int)len, name);
    return f;
}

/* The family a sample belongs to: its name, or for _total of a counter the same name (we write
 * counters with the suffix in the family name, as Prometheus recommends). */
static bool enter_family(struct reader *r, const char *name, size_t len)
{
    size_t cur = r->cur ? (size_t)(r->cur - r->fam) : SIZE_MAX;
    struct family *f = family_of(r, name, len); /* may move the array */
    r->cur = cur == SIZE_MAX ? NULL : &r->fam[cur];
    if (f != r->cur) {
        if (r->cur)
            r->cur->done = true;
        if (f->done)
            return fail(r, "the samples of a family are not together");
        r->cur = f;
    }
    return true;
}

static bool comment(struct reader *r, const char *l)
{
    bool help = !strncmp(l, "# HELP ", 7), type = !strncmp(l, "# TYPE ", 7);
    if (!help && !type)
        return true; /* any other comment */
    const char *name = l + 7;
    size_t n = name_len(name, true);
    if (!n || name[n] != ' ')
        return fail(r, "HELP or TYPE without a valid metric name and text");
    if (!enter_family(r, name, n))
        return false;
    if (help)
        return true;
    const char *t = name + n + 1;
    if (r->cur->typed)
        return fail(r, "a second TYPE line for the family");
    if (strcmp(t, "counter") && strcmp(t, "gauge") && strcmp(t, "histogram") &&
        strcmp(t, "summary") && strcmp(t, "untyped"))
        return fail(r, "unknown TYPE");
    r->cur->typed = true;
    return true;
}

/* {name="value",...}: names valid, values with \\ \" \n escapes only. */
static const char *labels(struct reader *r, const char *p)
{
    p++;
    while (*p != '}') {
        size_t n = name_len(p, false);
        if (!n || p[n] != '=' || p[n + 1] != '"')
            return fail(r, "bad label name or no '=\"'"), NULL;
        for (p += n + 2; *p != '"'; p++) {
            if (!*p || *p == '\n')
                return fail(r, "unterminated label value"), NULL;
            if (*p == '\\' && !strchr("\\\"n", *++p))
                return fail(r, "bad escape in a label value"), NULL;
        }
        p++;
        if (*p == ',')
            p++;
        else if (*p != '}')
            return fail(r, "expected ',' or '}' after a label"), NULL;
    }
    return p + 1;
}

static bool value(const char *s, double *v)
{
    if (!strcmp(s, "NaN") || !strcmp(s, "+Inf") || !strcmp(s, "-Inf")) {
        *v = !strcmp(s, "NaN") ? NAN : s[0] == '+' ? INFINITY : -INFINITY;
        return true;
    }
    char *end;
    *v = strtod(s, &end);
    if (end == s)
        return false;
    if (*end == ' ') /* an optional timestamp: an integer */
        for (end++; isdigit((unsigned char)*end) || *end == '-'; end++)
            ;
    return *end == '\0' && !isspace((unsigned char)s[0]);
}

static bool sample(struct reader *r, const char *l, struct prom_text *out)
{
    size_t n = name_len(l, true);
    if (!n || (l[n] != '{' && l[n] != ' '))
        return fail(r, "bad metric name");
    if (!enter_family(r, l, n))
        return false;
    if (!r->cur->typed)
        return fail(r, "a sample before its family's TYPE");
    const char *p = l + n, *lab = p;
    if (*p == '{' && !(p = labels(r, p)))
        return false;
    if (*p != ' ')
        return fail(r, "expected a space before the value");
    struct prom_sample s = {xstrndup(l, n), xstrndup(lab, (size_t)(p - lab)), 0};
    if (s.labels[0] == '{') { /* keep k="v",... without the braces */
        memmove(s.labels, s.labels + 1, strlen(s.labels));
        s.labels[strlen(s.labels) - 1] = '\0';
    }
    double dup;
    const char *wrong = !value(p + 1, &s.value)                 ? "the value is not a float"
                        : prom_get(out, s.name, s.labels, &dup) ? "a series given twice"
                                                                : NULL;
    if (wrong) {
        free(s.name);
        free(s.labels);
        return fail(r, wrong);
    }
    out->v = xreallocarray(out->v, out->n + 1, sizeof(*out->v));
    out->v[out->n++] = s;
    return true;
}

bool prom_parse(const char *text, struct prom_text *out, char *err, size_t errlen)
{
    struct reader r = {.err = err, .errlen = errlen};
    memset(out, 0, sizeof(*out));
    bool ok = true;
    char *copy = xstrdup(text), *save = NULL;
    if (*text && text[strlen(text) - 1] != '\n')
        ok = fail(&r, "the text does not end with a newline");
    for (char *l = strtok_r(copy, "\n", &save); ok && l; l = strtok_r(NULL, "\n", &save)) {
        r.line++;
        if (*l == '#')
            ok = comment(&r, l);
        else if (*l)
            ok = sample(&r, l, out);
    }
    free(copy);
    free(r.fam);
    if (!ok)
        prom_free(out);
    return ok;
}

void prom_free(struct prom_text *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].name);
        free(p->v[i].labels);
    }
    free(p->v);
    memset(p, 0, sizeof(*p));
}

bool prom_get(const struct prom_text *p, const char *name, const char *labels, double *value)
{
    for (size_t i = 0; i < p->n; i++)
        if (!strcmp(p->v[i].name, name) && !strcmp(p->v[i].labels, labels)) {
            *value = p->v[i].value;
            return true;
        }
    return false;
}
