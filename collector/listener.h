/* listener.h - UDP sockets for exporters: parse "[ADDR]:PORT", bind, receive in batches. */
#ifndef FLOWHOUND_LISTENER_H
#define FLOWHOUND_LISTENER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct listener {
    int fd;
    char spec[80];                 /* as configured */
    struct sockaddr_storage bound; /* after bind: the real port when 0 was asked */
    uint32_t last_ovfl;            /* SO_RXQ_OVFL counter at the last datagram */
    /* Changed by the receiver's thread only (common/counter.h), readable while it runs. */
    _Atomic uint64_t kernel_drops; /* datagrams the kernel dropped at this socket (exact) */
    _Atomic uint64_t datagrams;
    int rcvbuf_granted; /* bytes, as the kernel reports it */
};

/* Parses "PORT", ":PORT", "ADDR:PORT", "[V6ADDR]:PORT" (an empty or "*" address = 0.0.0.0). */
bool listener_parse(const char *spec, struct sockaddr_storage *ss, socklen_t *len, char *err,
                    size_t errlen);
/* Opens and binds. rcvbuf: bytes of receive buffer asked for (0 = kernel default). */
int listener_open(struct listener *l, const char *spec, int rcvbuf, char *err, size_t errlen);
void listener_close(struct listener *l);
/* The bound port (host order). */
uint16_t listener_port(const struct listener *l);
/* "ADDR:PORT" or "[V6ADDR]:PORT" as bound (the real port when 0 was asked). Returns buf. */
const char *listener_address(const struct listener *l, char *buf, size_t len);
/* Whether a listener opened from spec would bind where l is bound, so that a reload keeps
 * l's socket (and the datagrams waiting in it): the same address, and the same port, or port
 * 0 asked for both times. */
bool listener_same(const struct listener *l, const char *spec);

#endif
