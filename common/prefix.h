/* prefix.h - IPv4/IPv6 prefixes ("192.0.2.0/24", "2001:db8::/32", or one address). */
#ifndef FLOWHOUND_PREFIX_H
#define FLOWHOUND_PREFIX_H

#include <stdbool.h>

#include "common/addr.h"

struct fh_prefix {
    struct fh_addr addr; /* host bits cleared: the first address */
    unsigned len;        /* 0..32 or 0..128 */
};

/* Parses "ADDR" or "ADDR/LEN". Returns false on anything else. */
bool prefix_parse(const char *s, struct fh_prefix *out);
/* The prefix of a's first len bits. False when a is no IPv4 or IPv6 address or len is
 * longer than it. */
bool prefix_make(const struct fh_addr *a, unsigned len, struct fh_prefix *out);
bool prefix_contains(const struct fh_prefix *p, const struct fh_addr *a);
/* The prefix's last address (every host bit set); its first is p->addr. */
void prefix_last(const struct fh_prefix *p, struct fh_addr *last);
/* The length of a contiguous netmask ("255.255.240.0": 20), or -1 when it is not one. */
int prefix_mask_len(const struct fh_addr *mask);

#endif
