/* prefix.c - prefix parsing and matching. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/prefix.h"

/* Clears (or sets) every bit of a after its first len. */
static void host_bits(struct fh_addr *a, unsigned len, bool set)
{
    unsigned bytes = a->family == 4 ? 4 : 16;
    for (unsigned i = 0; i < bytes; i++) {
        unsigned keep = len >= 8 * (i + 1) ? 8 : len > 8 * i ? len - 8 * i : 0;
        uint8_t host = (uint8_t)(0xffu >> keep);
        a->bytes[i] = set ? a->bytes[i] | host : a->bytes[i] & (uint8_t)~host;
    }
}

bool prefix_make(const struct fh_addr *a, unsigned len, struct fh_prefix *out)
{
    if ((a->family != 4 && a->family != 6) || len > (a->family == 4 ? 32u : 128u))
        return false;
    out->addr = *a;
    out->len = len;
    host_bits(&out->addr, len, false);
    return true;
}

bool prefix_parse(const char *s, struct fh_prefix *out)
{
    char buf[64];
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : strlen(s);
    if (alen == 0 || alen >= sizeof(buf))
        return false;
    memcpy(buf, s, alen);
    buf[alen] = '\0';
    struct fh_addr a;
    if (!addr_from_str(buf, &a))
        return false;
    long len = a.family == 4 ? 32 : 128;
    if (slash) {
        char *end;
        errno = 0;
        len = strtol(slash + 1, &end, 10);
        if (!slash[1] || *end || errno || len < 0 || len > 128)
            return false;
    }
    return prefix_make(&a, (unsigned)len, out);
}

bool prefix_contains(const struct fh_prefix *p, const struct fh_addr *a)
{
    if (a->family != p->addr.family)
        return false;
    struct fh_addr masked = *a;
    host_bits(&masked, p->len, false);
    return addr_equal(&masked, &p->addr);
}

void prefix_last(const struct fh_prefix *p, struct fh_addr *last)
{
    *last = p->addr;
    host_bits(last, p->len, true);
}

int prefix_mask_len(const struct fh_addr *mask)
{
    unsigned max = mask->family == 4 ? 32 : 128, len = 0;
    while (len < max && (mask->bytes[len / 8] & (0x80u >> (len % 8))))
        len++;
    /* contiguous: nothing set after the leading ones */
    struct fh_prefix p;
    return prefix_make(mask, len, &p) && addr_equal(&p.addr, mask) ? (int)len : -1;
}
