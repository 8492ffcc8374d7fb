/* receiver.c - the receive loop. One thread reads every socket: at the rates a 2-core machine
 * can store, decoding is cheap next to SQLite, and one thread keeps exporter state lock-free
 * in practice (the lock is uncontended except when the writer or web UI reads counters). */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include "collector/decode.h"
#include "collector/receiver.h"
#include "common/addr.h"
#include "common/timeutil.h"

#define RECV_BATCH 64
#define RECV_BUFSZ 65536
#define POLL_MS    200

void receiver_init(struct receiver *r, struct listener *ls, unsigned n, struct exporter_table *t,
                   struct flow_queue *q)
{
    memset(r, 0, sizeof(*r));
    r->listeners = ls;
    r->n_listeners = n;
    r->exporters = t;
    r->queue = q;
    struct log_limit lim = LOG_LIMIT_INIT(1.0, 10.0);
    r->reject_log = lim;
}

static bool emit_to_batch(void *ctx, const struct flow *f)
{
    struct receiver *r = ctx;
    if (r->cur && r->cur->n == FLOW_BATCH_CAP) {
        flowq_push(r->queue, r->cur);
        r->cur = NULL;
    }
    if (!r->cur)
        r->cur = flowq_get_free(r->queue);
    if (!r->cur) {
        r->flows_dropped++;
        return false;
    }
    r->cur->flows[r->cur->n++] = *f;
    r->flows_queued++;
    return true;
}

static uint32_t ovfl_from_cmsg(struct msghdr *mh, bool *found)
{
    *found = false;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL &&
            c->cmsg_len >= CMSG_LEN(sizeof(uint32_t))) {
            uint32_t v;
            memcpy(&v, CMSG_DATA(c), sizeof(v));
            *found = true;
            return v;
        }
    }
    return 0;
}

static void handle_datagram(struct receiver *r, struct listener *l, struct mmsghdr *m,
                            const uint8_t *buf, int64_t now)
{
    struct fh_addr from;
    addr_from_sockaddr(&from, (struct sockaddr *)m->msg_hdr.msg_name);
    bool found;
    uint32_t ovfl = ovfl_from_cmsg(&m->msg_hdr, &found);
    uint32_t dropped = found ? ovfl - l->last_ovfl : 0;
    if (found)
        l->last_ovfl = ovfl;
    l->kernel_drops += dropped;
    l->datagrams++;
    r->datagrams++;

    size_t len = m->msg_len;
    /* A datagram larger than our buffer is cut by the kernel: reject it, never decode half. */
    enum reject_reason why;
    struct flow_emitter out = {emit_to_batch, r};
    if (m->msg_hdr.msg_flags & MSG_TRUNC) {
        exporters_lock(r->exporters);
        struct exporter *e = exporters_get(r->exporters, &from, now);
        if (e) {
            e->packets++;
            e->rejects[REJ_BAD_LENGTH]++;
            e->dirty = true;
        }
        exporters_unlock(r->exporters);
        why = REJ_BAD_LENGTH;
    } else {
        why = decode_packet(r->exporters, &from, buf, len, now, &out);
    }
    if (dropped) {
        exporters_lock(r->exporters);
        struct exporter *e = exporters_get(r->exporters, &from, now);
        if (e)
            e->kernel_drops += dropped;
        exporters_unlock(r->exporters);
    }
    if (why != REJ_NONE) {
        char a[FH_ADDR_STRLEN];
        r->rejected++;
        log_ratelimited(&r->reject_log, LOG_LVL_WARN, "rejected a %zu-byte datagram from %s: %s",
                        len, addr_to_str(&from, a, sizeof(a)), reject_reason_name(why));
    }
}

static void drain_socket(struct receiver *r, struct listener *l, uint8_t (*bufs)[RECV_BUFSZ],
                         struct mmsghdr *msgs, struct iovec *iov, struct sockaddr_storage *names,
                         char (*ctl)[CMSG_SPACE(sizeof(uint32_t)) + 64])
{
    /* Bounded: at most 16 rounds per wake-up so one busy socket cannot starve the others. */
    for (int round = 0; round < 16; round++) {
        for (int i = 0; i < RECV_BATCH; i++) {
            iov[i].iov_base = bufs[i];
            iov[i].iov_len = RECV_BUFSZ;
            memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
            msgs[i].msg_hdr.msg_name = &names[i];
            msgs[i].msg_hdr.msg_namelen = sizeof(names[i]);
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            msgs[i].msg_hdr.msg_control = ctl[i];
            msgs[i].msg_hdr.msg_controllen = sizeof(ctl[i]);
        }
        int n = recvmmsg(l->fd, msgs, RECV_BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0)
            return;
        int64_t now = now_ms();
        for (int i = 0; i < n; i++)
            handle_datagram(r, l, &msgs[i], bufs[i], now);
        if (n < RECV_BATCH)
            return;
    }
}

static void flush_batch(struct receiver *r)
{
    if (r->cur && r->cur->n) {
        flowq_push(r->queue, r->cur);
        r->cur = NULL;
    }
}

void receiver_run(struct receiver *r, volatile sig_atomic_t *stop)
{
    static uint8_t bufs[RECV_BATCH][RECV_BUFSZ];
    static struct mmsghdr msgs[RECV_BATCH];
    static struct iovec iov[RECV_BATCH];
    static struct sockaddr_storage names[RECV_BATCH];
    static char ctl[RECV_BATCH][CMSG_SPACE(sizeof(uint32_t)) + 64];
    struct pollfd pfd[64];
    unsigned n = r->n_listeners < 64 ? r->n_listeners : 64;

    for (unsigned i = 0; i < n; i++) {
        pfd[i].fd = r->listeners[i].fd;
        pfd[i].events = POLLIN;
    }
    while (!*stop) {
        int rc = poll(pfd, n, POLL_MS);
        if (rc < 0 && errno != EINTR)
            break;
        for (unsigned i = 0; rc > 0 && i < n; i++)
            if (pfd[i].revents & POLLIN)
                drain_socket(r, &r->listeners[i], bufs, msgs, iov, names, ctl);
        /* Hand over what we have after every wake-up: latency matters to the analyzer. */
        flush_batch(r);
    }
    /* Stop reading, but take what the kernel has already queued: it was sent to us. */
    for (unsigned i = 0; i < n; i++)
        drain_socket(r, &r->listeners[i], bufs, msgs, iov, names, ctl);
    flush_batch(r);
    if (r->cur) {
        flowq_release(r->queue, r->cur);
        r->cur = NULL;
    }
}
