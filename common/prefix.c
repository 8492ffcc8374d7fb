/* prefix.c - prefix parsing and matching. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/prefix.h"

static void clear_host_bits(struct fh_addr *a, unsigned len)
{
    unsigned bytes = a->family == 4 ? 4 : 16;
    for (unsigned i = 0; i < bytes; i++) {
        unsigned keep = len >= 8 * (i + 1) ? 8 : len > 8 * i ? len - 8 * i : 0;
        a->bytes[i] &= (uint8_t)(0xff00u >> keep);
    }
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
    if (!addr_from_str(buf, &out->addr))
        return false;
    unsigned max = out->addr.family == 4 ? 32 : 128;
    out->len = max;
    if (slash) {
        char *end;
        errno = 0;
        long len = strtol(slash + 1, &end, 10);
        if (!slash[1] || *end || errno || len < 0 || (unsigned long)len > max)
            return false;
        out->len = (unsigned)len;
    }
    clear_host_bits(&out->addr, out->len);
    return true;
}

bool prefix_contains(const struct fh_prefix *p, const struct fh_addr *a)
{
    if (a->family != p->addr.family)
        return false;
    struct fh_addr masked = *a;
    clear_host_bits(&masked, p->len);
    return addr_equal(&masked, &p->addr);
}
