/* listener.c - UDP sockets. IPv6 sockets are IPV6_V6ONLY so that 0.0.0.0:P and [::]:P can both
 * be configured. SO_RXQ_OVFL makes the kernel report, with each datagram, how many it dropped
 * on this socket: the one loss we could not see otherwise.
 *
 * No SO_REUSEADDR (nor SO_REUSEPORT): on a UDP socket it lets any local user bind the same
 * port with the option too and receive the exports in our place (issue 13: the daemon stored 0
 * of 3000). UDP has no TIME_WAIT, so a restart does not need it; a port already taken is an
 * error that says who holds it. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector/listener.h"
#include "collector/port_holder.h"

bool listener_parse(const char *spec, struct sockaddr_storage *ss, socklen_t *len, char *err,
                    size_t errlen)
{
    char host[64] = "";
    const char *port_s;
    memset(ss, 0, sizeof(*ss));
    if (spec[0] == '[') {
        const char *close = strchr(spec, ']');
        if (!close || close[1] != ':' || (size_t)(close - spec - 1) >= sizeof(host)) {
            snprintf(err, errlen, "'%s': expected [IPV6ADDR]:PORT", spec);
            return false;
        }
        memcpy(host, spec + 1, (size_t)(close - spec - 1));
        port_s = close + 2;
    } else {
        const char *colon = strrchr(spec, ':');
        if (colon && strchr(spec, ':') != colon) {
            snprintf(err, errlen, "'%s': put IPv6 addresses in brackets: [ADDR]:PORT", spec);
            return false;
        }
        if (colon) {
            if ((size_t)(colon - spec) >= sizeof(host)) {
                snprintf(err, errlen, "'%s': address too long", spec);
                return false;
            }
            memcpy(host, spec, (size_t)(colon - spec));
            port_s = colon + 1;
        } else {
            port_s = spec;
        }
    }
    char *end;
    errno = 0;
    long port = strtol(port_s, &end, 10);
    if (!*port_s || *end || errno || port < 0 || port > 65535) {
        snprintf(err, errlen, "'%s': port must be 0..65535", spec);
        return false;
    }
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    if (host[0] == '\0' || strcmp(host, "*") == 0) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        *len = sizeof(*sin);
    } else if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        *len = sizeof(*sin);
    } else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*sin6);
    } else {
        snprintf(err, errlen, "'%s': '%s' is not an IPv4 or IPv6 address", spec, host);
        return false;
    }
    return true;
}

static uint16_t port_of(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
    return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

/* Why bind failed; for a port in use, who holds it when we can see it. */
static void bind_error(const struct sockaddr_storage *ss, const char *spec, int e, char *err,
                       size_t errlen)
{
    if (e != EADDRINUSE) {
        snprintf(err, errlen, "%s: bind: %s", spec, strerror(e));
        return;
    }
    char who[128];
    bool known = port_holder(ss, who, sizeof(who));
    snprintf(err, errlen, "%s: address in use: another process listens on UDP %u%s%s%s", spec,
             port_of(ss), known ? " (" : "", who, known ? ")" : "");
}

int listener_open(struct listener *l, const char *spec, int rcvbuf, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t len;
    memset(l, 0, sizeof(*l));
    l->fd = -1;
    snprintf(l->spec, sizeof(l->spec), "%s", spec);
    if (!listener_parse(spec, &ss, &len, err, errlen))
        return -1;
    int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "%s: socket: %s", spec, strerror(errno));
        return -1;
    }
    int one = 1;
    if (ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one)) < 0) {
        snprintf(err, errlen, "%s: SO_RXQ_OVFL: %s", spec, strerror(errno));
        close(fd);
        return -1;
    }
    if (rcvbuf > 0) {
        /* SO_RCVBUFFORCE passes net.core.rmem_max when we have CAP_NET_ADMIN. */
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    }
    socklen_t ol = sizeof(l->rcvbuf_granted);
    getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &l->rcvbuf_granted, &ol);
    /* The kernel doubles the value for bookkeeping and reports the doubled one. */
    l->rcvbuf_granted /= 2;
    if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
        bind_error(&ss, spec, errno, err, errlen);
        close(fd);
        return -1;
    }
    socklen_t bl = sizeof(l->bound);
    getsockname(fd, (struct sockaddr *)&l->bound, &bl);
    l->fd = fd;
    return 0;
}

void listener_close(struct listener *l)
{
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
}

uint16_t listener_port(const struct listener *l)
{
    return port_of(&l->bound);
}

static bool same_address(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET6)
        return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                       &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr));
    return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
           ((const struct sockaddr_in *)b)->sin_addr.s_addr;
}

bool listener_same(const struct listener *l, const char *spec)
{
    struct sockaddr_storage want, asked;
    socklen_t len;
    char err[128];
    if (!listener_parse(spec, &want, &len, err, sizeof(err)) ||
        !listener_parse(l->spec, &asked, &len, err, sizeof(err)) || !same_address(&want, &asked))
        return false;
    struct sockaddr_in *w = (struct sockaddr_in *)&want, *a = (struct sockaddr_in *)&asked;
    struct sockaddr_in6 *w6 = (struct sockaddr_in6 *)&want, *a6 = (struct sockaddr_in6 *)&asked;
    /* sin_port and sin6_port: the same position in both layouts, but say which. */
    uint16_t wp = want.ss_family == AF_INET6 ? w6->sin6_port : w->sin_port;
    uint16_t ap = want.ss_family == AF_INET6 ? a6->sin6_port : a->sin_port;
    return wp == ap;
}

const char *listener_address(const struct listener *l, char *buf, size_t len)
{
    char host[INET6_ADDRSTRLEN] = "";
    if (l->bound.ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&l->bound)->sin6_addr, host,
                  sizeof(host));
        snprintf(buf, len, "[%s]:%u", host, listener_port(l));
    } else {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)&l->bound)->sin_addr, host, sizeof(host));
        snprintf(buf, len, "%s:%u", host, listener_port(l));
    }
    return buf;
}
