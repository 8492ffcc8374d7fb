/* exporter_names.c - exporter names from the configuration, and their lookup. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/exporter_names.h"
#include "common/xmalloc.h"

/* Length of the UTF-8 sequence at s (1-4), or 0 when it is not valid UTF-8 (overlong forms
 * and surrogates included: JSON encoders refuse them) or is a control character (a name is
 * one line of a table cell). */
static size_t text_char_len(const unsigned char *s)
{
    static const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
    size_t n = s[0] < 0x80 ? 1 : s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
    if (n == 0 || s[0] > 0xf4)
        return 0;
    uint32_t cp = n == 1 ? s[0] : s[0] & (0x7fu >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) /* the terminating NUL stops here too */
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < least[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    bool control = cp < 0x20 || (cp >= 0x7f && cp < 0xa0);
    return control ? 0 : n;
}

static bool name_ok(const char *name, size_t len)
{
    for (size_t i = 0, n; i < len; i += n)
        if (!(n = text_char_len((const unsigned char *)name + i)))
            return false;
    return true;
}

/* One "ADDR NAME" value into out (its name allocated). */
static int parse_one(const char *spec, struct exporter_name *out, char *err, size_t errlen)
{
    char addr[FH_ADDR_STRLEN + 1];
    size_t alen = strcspn(spec, " \t");
    if (alen >= sizeof(addr)) {
        snprintf(err, errlen, "'%.60s': expected ADDR NAME", spec);
        return -1;
    }
    memcpy(addr, spec, alen);
    addr[alen] = '\0';
    if (!addr_from_str(addr, &out->addr)) {
        snprintf(err, errlen, "'%s': expected ADDR NAME, ADDR an IPv4 or IPv6 address", addr);
        return -1;
    }
    const char *name = spec + alen + strspn(spec + alen, " \t");
    size_t len = strlen(name);
    while (len && (name[len - 1] == ' ' || name[len - 1] == '\t'))
        len--;
    if (len == 0 || len > EXPORTER_NAME_MAX || !name_ok(name, len)) {
        snprintf(err, errlen,
                 "%s: the name must be 1 to %d bytes of UTF-8 text without control characters",
                 addr, EXPORTER_NAME_MAX);
        return -1;
    }
    out->name = xstrndup(name, len);
    return 0;
}

static struct exporter_name *find(const struct exporter_names *names, const struct fh_addr *a)
{
    for (size_t i = 0; i < names->n; i++)
        if (addr_equal(&names->v[i].addr, a))
            return &names->v[i];
    return NULL;
}

int exporter_names_parse(struct exporter_names *out, const char *const *specs, size_t n, char *err,
                         size_t errlen)
{
    memset(out, 0, sizeof(*out));
    out->v = xcalloc(n ? n : 1, sizeof(*out->v));
    for (size_t i = 0; i < n; i++) {
        struct exporter_name e;
        if (parse_one(specs[i], &e, err, errlen)) {
            exporter_names_free(out);
            return -1;
        }
        struct exporter_name *same = find(out, &e.addr);
        if (same) {
            free(same->name);
            *same = e;
        } else {
            out->v[out->n++] = e;
        }
    }
    return 0;
}

const char *exporter_names_find(const struct exporter_names *names, const char *exporter)
{
    char addr[FH_ADDR_STRLEN + 1];
    size_t len = strcspn(exporter, "/");
    if (!names || !names->n || len >= sizeof(addr))
        return NULL;
    memcpy(addr, exporter, len);
    addr[len] = '\0';
    struct fh_addr a;
    const struct exporter_name *e = addr_from_str(addr, &a) ? find(names, &a) : NULL;
    return e ? e->name : NULL;
}

void exporter_names_free(struct exporter_names *names)
{
    for (size_t i = 0; i < names->n; i++)
        free(names->v[i].name);
    free(names->v);
    memset(names, 0, sizeof(*names));
}
