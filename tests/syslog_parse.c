/* syslog_parse.c - strict RFC 5424 parser for the tests (see syslog_parse.h). */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/syslog_parse.h"

struct cur {
    const unsigned char *p, *end;
    char *err;
    size_t errlen;
};

static bool fail(struct cur *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(struct cur *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, c->errlen, fmt, ap);
    va_end(ap);
    return false;
}

static bool sp(struct cur *c)
{
    if (c->p < c->end && *c->p == ' ') {
        c->p++;
        return true;
    }
    return false;
}

/* 1*max PRINTUSASCII (33..126), or NILVALUE; copied into out. */
static bool token(struct cur *c, size_t max, char *out)
{
    size_t n = 0;
    while (c->p < c->end && *c->p >= 33 && *c->p <= 126) {
        if (n == max)
            return false;
        out[n++] = (char)*c->p++;
    }
    out[n] = '\0';
    return n > 0;
}

static bool digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

/* FULL-DATE "T" FULL-TIME with optional TIME-SECFRAC (1-6 digits) and Z or +hh:mm. */
static bool timestamp_ok(const char *t)
{
    size_t n = strlen(t);
    if (!strcmp(t, "-"))
        return true;
    if (n < 20 || !digits(t, 4) || t[4] != '-' || !digits(t + 5, 2) || t[7] != '-' ||
        !digits(t + 8, 2) || t[10] != 'T' || !digits(t + 11, 2) || t[13] != ':' ||
        !digits(t + 14, 2) || t[16] != ':' || !digits(t + 17, 2))
        return false;
    const char *p = t + 19;
    if (*p == '.') {
        size_t f = 0;
        p++;
        while (isdigit((unsigned char)p[f]))
            f++;
        if (f < 1 || f > 6)
            return false;
        p += f;
    }
    if (!strcmp(p, "Z"))
        return true;
    return (p[0] == '+' || p[0] == '-') && strlen(p) == 6 && digits(p + 1, 2) && p[3] == ':' &&
           digits(p + 4, 2);
}

static bool header(struct cur *c, struct sp_msg *m)
{
    if (c->p >= c->end || *c->p++ != '<')
        return fail(c, "no '<'");
    int pri = 0, nd = 0;
    while (c->p < c->end && isdigit(*c->p) && nd < 4)
        pri = pri * 10 + (*c->p++ - '0'), nd++;
    if (nd < 1 || nd > 3 || pri > 191 || c->p >= c->end || *c->p++ != '>')
        return fail(c, "bad PRI");
    m->pri = pri;
    if (c->end - c->p < 2 || c->p[0] != '1' || c->p[1] != ' ')
        return fail(c, "VERSION is not 1");
    c->p += 2;
    if (!token(c, 63, m->timestamp) || !timestamp_ok(m->timestamp) || !sp(c))
        return fail(c, "bad TIMESTAMP '%s'", m->timestamp);
    if (!token(c, 255, m->hostname) || !sp(c))
        return fail(c, "bad HOSTNAME");
    if (!token(c, 48, m->app) || !sp(c))
        return fail(c, "bad APP-NAME");
    if (!token(c, 128, m->procid) || !sp(c))
        return fail(c, "bad PROCID");
    if (!token(c, 32, m->msgid) || !sp(c))
        return fail(c, "bad MSGID");
    return true;
}

/* SD-NAME: 1*32 PRINTUSASCII except '=', SP, ']', '"'. */
static bool sd_name(struct cur *c, char *out)
{
    size_t n = 0;
    while (c->p < c->end && *c->p >= 33 && *c->p <= 126 && *c->p != '=' && *c->p != ']' &&
           *c->p != '"') {
        if (n == 32)
            return false;
        out[n++] = (char)*c->p++;
    }
    out[n] = '\0';
    return n > 0;
}

static bool param_value(struct cur *c, char **out)
{
    size_t cap = 64, n = 0;
    char *v = malloc(cap);
    const unsigned char *start = c->p;
    while (c->p < c->end && *c->p != '"') {
        unsigned char ch = *c->p++;
        if (ch == ']') {
            free(v);
            return fail(c, "unescaped ']' in PARAM-VALUE");
        }
        if (ch == '\\' && c->p < c->end && (*c->p == '"' || *c->p == '\\' || *c->p == ']'))
            ch = *c->p++;
        if (n + 2 > cap)
            v = realloc(v, cap *= 2);
        v[n++] = (char)ch;
    }
    if (c->p >= c->end) {
        free(v);
        return fail(c, "unterminated PARAM-VALUE");
    }
    if (!sp_valid_utf8((const char *)start, (size_t)(c->p - start))) {
        free(v);
        return fail(c, "PARAM-VALUE is not UTF-8");
    }
    c->p++; /* closing quote */
    v[n] = '\0';
    *out = v;
    return true;
}

static bool element(struct cur *c, struct sp_msg *m)
{
    char id[33];
    c->p++; /* '[' */
    if (!sd_name(c, id))
        return fail(c, "bad SD-ID");
    while (c->p < c->end && *c->p == ' ') {
        c->p++;
        if (m->n_params == SP_MAX_PARAMS)
            return fail(c, "too many params for the test parser");
        struct sp_param *pa = &m->params[m->n_params];
        if (!sd_name(c, pa->name))
            return fail(c, "bad PARAM-NAME");
        if (c->end - c->p < 2 || c->p[0] != '=' || c->p[1] != '"')
            return fail(c, "expected =\" after %s", pa->name);
        c->p += 2;
        if (!param_value(c, &pa->value))
            return false;
        snprintf(pa->sd_id, sizeof(pa->sd_id), "%s", id);
        m->n_params++;
    }
    if (c->p >= c->end || *c->p != ']')
        return fail(c, "SD-ELEMENT not closed");
    c->p++;
    m->n_elements++;
    return true;
}

bool sp_parse(const char *buf, size_t len, struct sp_msg *m, char *err, size_t errlen)
{
    memset(m, 0, sizeof(*m));
    struct cur c = {(const unsigned char *)buf, (const unsigned char *)buf + len, err, errlen};
    if (!header(&c, m))
        return false;
    if (c.p < c.end && *c.p == '-') {
        c.p++;
    } else {
        if (c.p >= c.end || *c.p != '[')
            return fail(&c, "no STRUCTURED-DATA");
        while (c.p < c.end && *c.p == '[')
            if (!element(&c, m))
                return false;
    }
    if (c.p < c.end && !sp(&c))
        return fail(&c, "no SP before MSG");
    if (c.end - c.p >= 3 && !memcmp(c.p, "\xEF\xBB\xBF", 3)) {
        m->has_bom = true;
        c.p += 3;
        if (!sp_valid_utf8((const char *)c.p, (size_t)(c.end - c.p)))
            return fail(&c, "MSG after BOM is not UTF-8");
    }
    m->msg_len = (size_t)(c.end - c.p);
    m->msg = malloc(m->msg_len + 1);
    memcpy(m->msg, c.p, m->msg_len);
    m->msg[m->msg_len] = '\0';
    return true;
}

const char *sp_get(const struct sp_msg *m, const char *name)
{
    for (size_t i = 0; i < m->n_params; i++)
        if (!strcmp(m->params[i].name, name))
            return m->params[i].value;
    return NULL;
}

void sp_free(struct sp_msg *m)
{
    for (size_t i = 0; i < m->n_params; i++)
        free(m->params[i].value);
    free(m->msg);
    m->n_params = 0;
    m->msg = NULL;
}

bool sp_valid_utf8(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned char b = u[i];
        size_t len;
        unsigned v, min;
        if (b < 0x80) {
            i++;
            continue;
        } else if (b >= 0xC2 && b <= 0xDF) {
            len = 2, v = b & 0x1F, min = 0x80;
        } else if (b >= 0xE0 && b <= 0xEF) {
            len = 3, v = b & 0x0F, min = 0x800;
        } else if (b >= 0xF0 && b <= 0xF4) {
            len = 4, v = b & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (i + len > n)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((u[i + k] & 0xC0) != 0x80)
                return false;
            v = v << 6 | (u[i + k] & 0x3F);
        }
        if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}
