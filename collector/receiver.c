/* receiver.c - the receive loop (receiver.h). One thread reads every socket and appends to the
 * journal: a memcpy per datagram and a write(2) per 256 KiB, so it keeps up with the socket
 * on one core while the decoder and the writer use the other. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "collector/receiver.h"
#include "common/addr.h"
#include "common/counter.h"
#include "common/timeutil.h"

#define RECV_BATCH 64
#define RECV_BUFSZ 65536
#define POLL_MS    200
/* Appended records are made visible to the decoder (one write) at least this often, and at
 * once whenever the sockets are empty: a datagram waits at most this long in our buffer. */
#define FLUSH_MS 5
/* At stop: how long to go on taking what the kernel queued. */
#define STOP_DRAIN_MS 10000
/* At a reload: how long to read what waits in a listener being closed. */
#define LISTENER_DRAIN_MS 2000

void receiver_init(struct receiver *r, struct listener *ls, unsigned n, struct exporter_table *t,
                   struct journal *j)
{
    memset(r, 0, sizeof(*r));
    r->listeners = ls;
    r->n_listeners = n;
    r->exporters = t;
    r->journal = j;
    struct log_limit lim = LOG_LIMIT_INIT(1.0 / 10, 3.0);
    r->journal_log = lim;
    COUNTER_SET(r->beat_ms, mono_ms());
}

void receiver_journal_lost(void *ctx, const struct journal_rec *rec)
{
    struct receiver *r = ctx;
    COUNTER_ADD(r->journal_lost, 1);
    exporters_count_rejected(r->exporters, &rec->from, rec->received_ms, REJ_JOURNAL_LOST);
    log_ratelimited(&r->journal_log, LOG_LVL_ERR,
                    "receive journal: received datagrams lost before they were stored, %llu so "
                    "far (over journal-size or the free-disk bound while the store is behind, or "
                    "not written: counted as journal_lost)",
                    (unsigned long long)atomic_load(&r->journal_lost));
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

static uint16_t source_port(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)sa)->sin_port);
    if (sa->sa_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
    return 0;
}

/* A write error of the journal (disk full, I/O error): its records are counted through
 * receiver_journal_lost; the cause is said here, where no lock of the journal is held. */
static void log_write_error(struct receiver *r)
{
    log_ratelimited(&r->journal_log, LOG_LVL_ERR, "%s", journal_last_error(r->journal));
}

/* Accounts a datagram just read (the kernel's drop counter comes with it) and appends it. */
static void handle_datagram(struct receiver *r, struct listener *l, struct mmsghdr *m,
                            const uint8_t *buf, int64_t now)
{
    struct journal_rec rec = {.received_ms = now, .len = m->msg_len};
    addr_from_sockaddr(&rec.from, (struct sockaddr *)m->msg_hdr.msg_name);
    rec.port = source_port((struct sockaddr *)m->msg_hdr.msg_name);
    /* A datagram larger than our buffer is cut by the kernel: journaled as such, rejected by
     * the decoder, never decoded half. */
    rec.truncated = (m->msg_hdr.msg_flags & MSG_TRUNC) != 0;
    if (rec.len > RECV_BUFSZ)
        rec.len = RECV_BUFSZ;
    bool found;
    uint32_t ovfl = ovfl_from_cmsg(&m->msg_hdr, &found);
    uint32_t dropped = found ? ovfl - l->last_ovfl : 0;
    if (found)
        l->last_ovfl = ovfl;
    COUNTER_ADD(l->kernel_drops, dropped);
    COUNTER_ADD(l->datagrams, 1);
    COUNTER_ADD(r->datagrams, 1);
    if (dropped) {
        exporters_lock(r->exporters);
        struct exporter *e = exporters_get(r->exporters, &rec.from, now);
        if (e)
            e->kernel_drops += dropped;
        exporters_unlock(r->exporters);
    }
    if (!r->unflushed) {
        r->unflushed = true;
        r->unflushed_since = mono_ms();
    }
    if (journal_append(r->journal, &rec, buf)) /* counted through on_lost */
        log_write_error(r);
}

static void flush(struct receiver *r)
{
    if (!r->unflushed)
        return;
    if (journal_flush(r->journal))
        log_write_error(r);
    r->unflushed = false;
}

/* The receive buffers of recvmmsg: one set for the one receiving thread (4 MiB, static). */
static struct {
    uint8_t bufs[RECV_BATCH][RECV_BUFSZ];
    struct mmsghdr msgs[RECV_BATCH];
    struct iovec iov[RECV_BATCH];
    struct sockaddr_storage names[RECV_BATCH];
    char ctl[RECV_BATCH][CMSG_SPACE(sizeof(uint32_t)) + 64];
} rx;

/* Reads one socket until it is empty, at most 16 rounds so that one busy socket cannot
 * starve the others. Returns the datagrams read. */
static int drain_socket(struct receiver *r, struct listener *l)
{
    int got = 0;
    for (int round = 0; round < 16; round++) {
        for (int i = 0; i < RECV_BATCH; i++) {
            rx.iov[i].iov_base = rx.bufs[i];
            rx.iov[i].iov_len = RECV_BUFSZ;
            memset(&rx.msgs[i].msg_hdr, 0, sizeof(rx.msgs[i].msg_hdr));
            rx.msgs[i].msg_hdr.msg_name = &rx.names[i];
            rx.msgs[i].msg_hdr.msg_namelen = sizeof(rx.names[i]);
            rx.msgs[i].msg_hdr.msg_iov = &rx.iov[i];
            rx.msgs[i].msg_hdr.msg_iovlen = 1;
            rx.msgs[i].msg_hdr.msg_control = rx.ctl[i];
            rx.msgs[i].msg_hdr.msg_controllen = sizeof(rx.ctl[i]);
        }
        int n = recvmmsg(l->fd, rx.msgs, RECV_BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0)
            return got;
        got += n;
        int64_t now = now_ms();
        for (int i = 0; i < n; i++)
            handle_datagram(r, l, &rx.msgs[i], rx.bufs[i], now);
        if (n < RECV_BATCH)
            return got;
    }
    return got;
}

static int flush_due_in(const struct receiver *r)
{
    if (!r->unflushed)
        return POLL_MS;
    int64_t left = r->unflushed_since + FLUSH_MS - mono_ms();
    return left < 0 ? 0 : (int)left;
}

void receiver_run_for(struct receiver *r, volatile sig_atomic_t *stop, int64_t until_ms)
{
    struct pollfd pfd[RECEIVER_MAX_LISTENERS];
    unsigned n = r->n_listeners < RECEIVER_MAX_LISTENERS ? r->n_listeners : RECEIVER_MAX_LISTENERS;

    for (unsigned i = 0; i < n; i++) {
        pfd[i].fd = r->listeners[i].fd;
        pfd[i].events = POLLIN;
    }
    while (!*stop && mono_ms() < until_ms) {
        COUNTER_SET(r->beat_ms, mono_ms());
        int rc = poll(pfd, n, flush_due_in(r));
        if (rc < 0 && errno != EINTR)
            break;
        int got = 0;
        for (unsigned i = 0; rc > 0 && i < n; i++)
            if (pfd[i].revents & POLLIN)
                got += drain_socket(r, &r->listeners[i]);
        /* the sockets are empty (or a flush is due): hand what we have to the decoder */
        if (got < RECV_BATCH || flush_due_in(r) == 0)
            flush(r);
    }
}

/* At stop: take what the kernel has already queued (it was sent to us) into the journal, where
 * the decoder, or the next start, finds it. */
void receiver_finish(struct receiver *r)
{
    int64_t deadline = mono_ms() + STOP_DRAIN_MS;
    for (int more = 1; more && mono_ms() < deadline;) {
        more = 0;
        for (unsigned i = 0; i < r->n_listeners; i++)
            more += drain_socket(r, &r->listeners[i]);
    }
    flush(r);
}

void receiver_run(struct receiver *r, volatile sig_atomic_t *stop)
{
    receiver_run_for(r, stop, INT64_MAX);
    receiver_finish(r);
}

void receiver_set_listeners(struct receiver *r, struct listener *ls, unsigned n)
{
    r->listeners = ls;
    r->n_listeners = n;
}

/* What a listener about to be closed holds is read like the rest (bounded): datagrams sent to
 * it before the reload are not lost to the close. */
bool receiver_drain_listener(struct receiver *r, struct listener *l)
{
    int64_t deadline = mono_ms() + LISTENER_DRAIN_MS;
    while (mono_ms() < deadline)
        if (drain_socket(r, l) == 0) {
            flush(r);
            return true;
        }
    flush(r);
    struct pollfd p = {l->fd, POLLIN, 0};
    return poll(&p, 1, 0) == 0;
}
