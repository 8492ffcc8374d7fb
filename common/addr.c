/* addr.c - struct fh_addr helpers. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "common/addr.h"

static size_t addr_len(const struct fh_addr *a)
{
    return a->family == 4 ? 4 : a->family == 6 ? 16 : 0;
}

const char *addr_to_str(const struct fh_addr *a, char *buf, size_t len)
{
    if (len == 0)
        return buf;
    buf[0] = '\0';
    if (a->family == 4)
        inet_ntop(AF_INET, a->bytes, buf, (socklen_t)len);
    else if (a->family == 6)
        inet_ntop(AF_INET6, a->bytes, buf, (socklen_t)len);
    return buf;
}

bool addr_from_str(const char *s, struct fh_addr *out)
{
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, s, out->bytes) == 1) {
        out->family = 4;
        return true;
    }
    if (inet_pton(AF_INET6, s, out->bytes) == 1) {
        out->family = 6;
        return true;
    }
    memset(out, 0, sizeof(*out));
    return false;
}

void addr_from_v4(struct fh_addr *a, const uint8_t bytes[4])
{
    memset(a, 0, sizeof(*a));
    a->family = 4;
    memcpy(a->bytes, bytes, 4);
}

void addr_from_v6(struct fh_addr *a, const uint8_t bytes[16])
{
    memset(a, 0, sizeof(*a));
    a->family = 6;
    memcpy(a->bytes, bytes, 16);
}

void addr_from_sockaddr(struct fh_addr *a, const struct sockaddr *sa)
{
    static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

    memset(a, 0, sizeof(*a));
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
        addr_from_v4(a, (const uint8_t *)&sin->sin_addr);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
        const uint8_t *b = sin6->sin6_addr.s6_addr;
        if (memcmp(b, v4mapped, sizeof(v4mapped)) == 0)
            addr_from_v4(a, b + 12);
        else
            addr_from_v6(a, b);
    }
}

bool addr_equal(const struct fh_addr *a, const struct fh_addr *b)
{
    return a->family == b->family && memcmp(a->bytes, b->bytes, addr_len(a)) == 0;
}

int addr_cmp(const struct fh_addr *a, const struct fh_addr *b)
{
    if (a->family != b->family)
        return a->family < b->family ? -1 : 1;
    return memcmp(a->bytes, b->bytes, addr_len(a));
}

bool addr_is_zero(const struct fh_addr *a)
{
    for (size_t i = 0; i < addr_len(a); i++)
        if (a->bytes[i])
            return false;
    return true;
}

/* FNV-1a over family and bytes: cheap and good enough for our hash tables. */
uint64_t addr_hash(const struct fh_addr *a, uint64_t seed)
{
    uint64_t h = seed ^ 1469598103934665603ULL;
    h = (h ^ a->family) * 1099511628211ULL;
    for (size_t i = 0; i < addr_len(a); i++)
        h = (h ^ a->bytes[i]) * 1099511628211ULL;
    return h;
}
