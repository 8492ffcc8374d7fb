/* prefix.h - IPv4/IPv6 prefixes ("192.0.2.0/24", "2001:db8::/32", or one address). */
#ifndef FLOWHOUND_PREFIX_H
#define FLOWHOUND_PREFIX_H

#include <stdbool.h>

#include "common/addr.h"

struct fh_prefix {
    struct fh_addr addr; /* host bits cleared */
    unsigned len;        /* 0..32 or 0..128 */
};

/* Parses "ADDR" or "ADDR/LEN". Returns false on anything else. */
bool prefix_parse(const char *s, struct fh_prefix *out);
bool prefix_contains(const struct fh_prefix *p, const struct fh_addr *a);

#endif
