/* metrics_read.c - see metrics_read.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/metrics_read.h"
#include "common/xmalloc.h"

/* One sample line: NAME[{LABELS}] VALUE. Comments and blank lines are skipped by the caller. */
static bool parse_sample(const char *line, struct sample *s)
{
    size_t n = strcspn(line, "{ ");
    if (!n || n >= sizeof(s->name))
        return false;
    memcpy(s->name, line, n);
    s->name[n] = '\0';
    const char *p = line + n;
    s->labels[0] = '\0';
    if (*p == '{') {
        const char *q = ++p;
        for (bool quoted = false; *q && (quoted || *q != '}'); q++) {
            if (*q == '\\' && q[1])
                q++;
            else if (*q == '"')
                quoted = !quoted;
        }
        if (*q != '}' || (size_t)(q - p) >= sizeof(s->labels))
            return false;
        memcpy(s->labels, p, (size_t)(q - p));
        s->labels[q - p] = '\0';
        p = q + 1;
    }
    char *end;
    s->value = strtod(p, &end);
    return end != p;
}

static int by_series(const void *a, const void *b)
{
    const struct sample *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->labels, y->labels);
}

/* Sorted by name, then labels: a family, and one exporter's samples within it, are a range
 * found by binary search (4096 exporters are 70,000 samples). */
void metrics_parse(char *text, struct samples *out)
{
    size_t cap = 0;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (*l == '#' || !*l)
            continue;
        if (out->n == cap)
            out->v = xreallocarray(out->v, cap = cap ? cap * 2 : 256, sizeof(*out->v));
        if (parse_sample(l, &out->v[out->n]))
            out->n++;
    }
    if (out->n)
        qsort(out->v, out->n, sizeof(*out->v), by_series);
}

const char *metrics_label(const struct sample *s, const char *key, char *buf, size_t len)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "%s=\"", key);
    buf[0] = '\0';
    for (const char *p = s->labels; (p = strstr(p, pat)); p++) {
        if (p != s->labels && p[-1] != ',')
            continue;
        size_t o = 0;
        for (p += strlen(pat); *p && *p != '"' && o + 1 < len; p++)
            buf[o++] = *p == '\\' && p[1] ? (++p, *p == 'n' ? '\n' : *p) : *p;
        buf[o] = '\0';
        break;
    }
    return buf;
}

/* The first sample not before (name, labels). */
static size_t lower_bound(const struct samples *m, const char *name, const char *labels)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(m->v[mid].name, name);
        if (c < 0 || (c == 0 && strcmp(m->v[mid].labels, labels) < 0))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* key="value" as the daemon writes it (escaped), after `,` when the text is not empty. */
static void add_label(char *buf, size_t len, const char *key, const char *value)
{
    size_t o = strlen(buf);
    o += (size_t)snprintf(buf + o, len - o, "%s%s=\"", o ? "," : "", key);
    for (; *value && o + 3 < len; value++) {
        if (*value == '\\' || *value == '"' || *value == '\n')
            buf[o++] = '\\';
        buf[o++] = *value == '\n' ? 'n' : *value;
    }
    snprintf(buf + o, len - o, "\"");
}

double metrics_val2(const struct samples *m, const char *name, const char *key, const char *value,
                    const char *key2, const char *value2)
{
    char prefix[1024] = "";
    if (key)
        add_label(prefix, sizeof(prefix), key, value);
    if (key2)
        add_label(prefix, sizeof(prefix), key2, value2);
    size_t plen = strlen(prefix);
    double sum = 0;
    for (size_t i = lower_bound(m, name, prefix); i < m->n && !strcmp(m->v[i].name, name); i++) {
        if (strncmp(m->v[i].labels, prefix, plen))
            break;
        char next = m->v[i].labels[plen];
        if (!plen || next == '\0' || next == ',')
            sum += m->v[i].value;
    }
    return sum;
}

double metrics_val(const struct samples *m, const char *name, const char *key, const char *value)
{
    return metrics_val2(m, name, key, value, NULL, NULL);
}

/* The samples named `name`: [*first, return value). */
static size_t family(const struct samples *m, const char *name, size_t *first)
{
    size_t i = *first = lower_bound(m, name, "");
    while (i < m->n && !strcmp(m->v[i].name, name))
        i++;
    return i;
}

bool metrics_has(const struct samples *m, const char *name)
{
    size_t first;
    return family(m, name, &first) > first;
}
