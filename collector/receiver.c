/* receiver.c - the receive loop. One thread reads every socket: at the rates a 2-core machine
 * can store, decoding is cheap next to SQLite, and one thread keeps exporter state lock-free
 * in practice (the lock is uncontended except when the writer or web UI reads counters). */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "collector/decode.h"
#include "collector/receiver.h"
#include "common/addr.h"
#include "common/counter.h"
#include "common/timeutil.h"

#define RECV_BATCH 64
#define RECV_BUFSZ 65536
#define POLL_MS    200
#define FLUSH_MS   20
/* Free batches needed before reading: one recvmmsg (64 datagrams of up to a few hundred
 * records) fits in them. With fewer, the datagrams wait in the socket buffer (rcvbuf, 32M by
 * default: a second or more of records) while the writer catches up; what overflows the
 * buffer the kernel drops and counts (SO_RXQ_OVFL: kernel_drops), so nothing is lost
 * silently, and the writer's pauses (an index built at partition close) cost nothing. */
#define MIN_FREE_BATCHES 8
/* At stop: how long to go on taking what the kernel queued while the writer makes room. */
#define STOP_DRAIN_MS 10000
/* At stop: how long to go on decoding parked datagrams (a full 256 MiB backlog of v5 is about
 * 5.4M records: 20-40 s at the store's sustained rate). */
#define BACKLOG_STOP_MS 120000
/* How often templates not refreshed are looked for (the timeout is minutes by default; a
 * second is also the finest a test may set). */
#define EXPIRY_EVERY_MS 1000
/* At a reload: how long to wait for room to read what waits in a listener being closed. */
#define LISTENER_DRAIN_MS 2000

void receiver_init(struct receiver *r, struct listener *ls, unsigned n, struct exporter_table *t,
                   struct flow_queue *q, size_t backlog_bytes)
{
    memset(r, 0, sizeof(*r));
    r->listeners = ls;
    r->n_listeners = n;
    r->exporters = t;
    r->queue = q;
    struct log_limit lim = LOG_LIMIT_INIT(1.0, 10.0);
    r->reject_log = lim;
    r->expiry_log = lim;
    backlog_init(&r->backlog, backlog_bytes);
    COUNTER_SET(r->beat_ms, mono_ms());
}

static bool queue_has_room(struct receiver *r);

static bool emit_to_batch(void *ctx, const struct flow *f)
{
    struct receiver *r = ctx;
    if (r->cur && r->cur->n == FLOW_BATCH_CAP) {
        flowq_push(r->queue, r->cur);
        r->cur = NULL;
    }
    if (!r->cur) {
        r->cur = flowq_get_free(r->queue);
        r->cur_since = mono_ms();
    }
    if (!r->cur) {
        COUNTER_ADD(r->flows_dropped, 1);
        return false;
    }
    r->cur->flows[r->cur->n++] = *f;
    COUNTER_ADD(r->flows_queued, 1);
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

/* Decodes one datagram (read now, or parked in the backlog earlier) into the queue. */
static void process_datagram(struct receiver *r, const struct backlog_item *it, const uint8_t *buf)
{
    enum reject_reason why;
    struct flow_emitter out = {emit_to_batch, r};
    /* A datagram larger than our buffer is cut by the kernel: reject it, never decode half. */
    if (it->truncated) {
        exporters_lock(r->exporters);
        struct exporter *e = exporters_get(r->exporters, &it->from, it->received_ms);
        if (e) {
            e->packets++;
            e->rejects[REJ_BAD_LENGTH]++;
            e->dirty = true;
        }
        exporters_unlock(r->exporters);
        why = REJ_BAD_LENGTH;
    } else {
        why = decode_packet(r->exporters, &it->from, buf, it->len, it->received_ms, &out);
    }
    if (why != REJ_NONE) {
        char a[FH_ADDR_STRLEN];
        COUNTER_ADD(r->rejected, 1);
        log_ratelimited(&r->reject_log, LOG_LVL_WARN, "rejected a %u-byte datagram from %s: %s",
                        it->len, addr_to_str(&it->from, a, sizeof(a)), reject_reason_name(why));
    }
}

/* Accounts a datagram just read (the kernel's drop counter comes with it), then decodes it
 * at once, or parks it behind those already waiting so that order is kept. */
static void handle_datagram(struct receiver *r, struct listener *l, struct mmsghdr *m,
                            const uint8_t *buf, int64_t now)
{
    struct backlog_item it = {.received_ms = now, .len = m->msg_len};
    addr_from_sockaddr(&it.from, (struct sockaddr *)m->msg_hdr.msg_name);
    it.truncated = (m->msg_hdr.msg_flags & MSG_TRUNC) != 0;
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
        struct exporter *e = exporters_get(r->exporters, &it.from, now);
        if (e)
            e->kernel_drops += dropped;
        exporters_unlock(r->exporters);
    }
    /* Park it behind those waiting, or when the queue is short of room; decode it now when
     * nothing waits and there is room, or when it cannot be parked (no backlog configured,
     * or no memory): then the queue's last free batches take it, or its records are counted
     * as dropped_queue like any the queue cannot take. */
    if (!(backlog_empty(&r->backlog) && queue_has_room(r)) && backlog_push(&r->backlog, &it, buf))
        return;
    process_datagram(r, &it, buf);
}

/* Decodes parked datagrams while the queue has room; at most `max` per call so that the
 * sockets are read in between. Returns how many. */
static size_t pump_backlog(struct receiver *r, size_t max)
{
    size_t done = 0;
    const uint8_t *data;
    const struct backlog_item *it;
    while (done < max && (it = backlog_peek(&r->backlog, &data)) && queue_has_room(r)) {
        process_datagram(r, it, data);
        backlog_pop(&r->backlog);
        done++;
    }
    return done;
}

/* Reading is useful when what is read can go somewhere: decoded now, or parked. */
static bool can_read(struct receiver *r)
{
    if (backlog_empty(&r->backlog) && queue_has_room(r))
        return true;
    return backlog_room_for(&r->backlog, RECV_BATCH);
}

/* The receive buffers of recvmmsg: one set for the one receiving thread (4 MiB, static). */
static struct {
    uint8_t bufs[RECV_BATCH][RECV_BUFSZ];
    struct mmsghdr msgs[RECV_BATCH];
    struct iovec iov[RECV_BATCH];
    struct sockaddr_storage names[RECV_BATCH];
    char ctl[RECV_BATCH][CMSG_SPACE(sizeof(uint32_t)) + 64];
} rx;

static int drain_socket(struct receiver *r, struct listener *l)
{
    uint8_t(*bufs)[RECV_BUFSZ] = rx.bufs;
    struct mmsghdr *msgs = rx.msgs;
    struct iovec *iov = rx.iov;
    /* Bounded: at most 16 rounds per wake-up so one busy socket cannot starve the others. */
    int got = 0;
    for (int round = 0; round < 16; round++) {
        if (!can_read(r))
            return got;
        for (int i = 0; i < RECV_BATCH; i++) {
            iov[i].iov_base = bufs[i];
            iov[i].iov_len = RECV_BUFSZ;
            memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
            msgs[i].msg_hdr.msg_name = &rx.names[i];
            msgs[i].msg_hdr.msg_namelen = sizeof(rx.names[i]);
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            msgs[i].msg_hdr.msg_control = rx.ctl[i];
            msgs[i].msg_hdr.msg_controllen = sizeof(rx.ctl[i]);
        }
        int n = recvmmsg(l->fd, msgs, RECV_BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0)
            return got;
        got += n;
        int64_t now = now_ms();
        for (int i = 0; i < n; i++)
            handle_datagram(r, l, &msgs[i], bufs[i], now);
        if (n < RECV_BATCH)
            return got;
    }
    return got;
}

static void flush_batch(struct receiver *r);

/* Room for one more recvmmsg: checked before reading, not after (see MIN_FREE_BATCHES). */
static bool queue_has_room(struct receiver *r)
{
    if (flowq_free_count(r->queue) >= MIN_FREE_BATCHES ||
        r->queue->n_batches < 2 * MIN_FREE_BATCHES)
        return true;
    COUNTER_ADD(r->waits, 1);
    return false;
}

static void flush_batch(struct receiver *r)
{
    if (r->cur && r->cur->n) {
        flowq_push(r->queue, r->cur);
        r->cur = NULL;
    }
}

/* At stop: take what the kernel has already queued (it was sent to us), then decode every
 * parked datagram. The writer still runs, so wait for room, but not forever: what is left at
 * the deadline is counted and logged, never dropped silently. */
static void stop_drain(struct receiver *r)
{
    unsigned n = r->n_listeners;
    int64_t deadline = mono_ms() + STOP_DRAIN_MS;
    for (int more = 1; more && mono_ms() < deadline;) {
        flush_batch(r);
        pump_backlog(r, SIZE_MAX);
        if (!can_read(r)) {
            poll(NULL, 0, 1);
            continue;
        }
        more = 0;
        for (unsigned i = 0; i < n; i++)
            more += drain_socket(r, &r->listeners[i]);
    }
    if (!backlog_empty(&r->backlog))
        log_info("stopping: decoding %zu datagrams received during a burst (%zu MiB)",
                 r->backlog.count, r->backlog.bytes >> 20);
    deadline = mono_ms() + BACKLOG_STOP_MS;
    while (!backlog_empty(&r->backlog) && mono_ms() < deadline) {
        flush_batch(r);
        if (!pump_backlog(r, SIZE_MAX))
            poll(NULL, 0, 1);
    }
    if (!backlog_empty(&r->backlog)) {
        log_warn("stopping: %zu received datagrams not decoded in %d s, lost", r->backlog.count,
                 BACKLOG_STOP_MS / 1000);
        r->backlog_lost += r->backlog.count;
    }
    backlog_free(&r->backlog);
}

/* A partial batch is handed over FLUSH_MS after its first flow: soon enough for the analyzer
 * (it holds alerts 2 s for other vantage points anyway), and not one batch and one writer
 * wake-up per receive wake-up, which at paced rates was thousands of context switches a
 * second on the core the two threads share. */
static int flush_due_in(const struct receiver *r)
{
    if (!r->cur || !r->cur->n)
        return POLL_MS;
    int64_t left = r->cur_since + FLUSH_MS - mono_ms();
    return left < 0 ? 0 : (int)left;
}

static void flush_if_due(struct receiver *r)
{
    if (r->cur && r->cur->n && flush_due_in(r) == 0)
        flush_batch(r);
}

static void log_expiry(void *ctx, const struct exporter *e, const struct exporter_domain *d,
                       unsigned n)
{
    struct receiver *r = ctx;
    char a[FH_ADDR_STRLEN];
    log_ratelimited(&r->expiry_log, LOG_LVL_INFO,
                    "expired %u v9/IPFIX templates of %s domain %u (not refreshed for %lld s)", n,
                    addr_to_str(&e->addr, a, sizeof(a)), d->domain,
                    (long long)(r->exporters->templates.timeout_ms / 1000));
}

/* Templates are received on the wall clock (as flows are); the sweep is timed on the
 * monotonic one, so that a clock step does not stop it. */
static void expire_if_due(struct receiver *r)
{
    int64_t mono = mono_ms();
    if (mono < r->next_expiry)
        return;
    r->next_expiry = mono + EXPIRY_EVERY_MS;
    decode_expire_templates(r->exporters, now_ms(), log_expiry, r);
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
        expire_if_due(r);
        pump_backlog(r, RECV_BATCH);
        bool pending = !backlog_empty(&r->backlog);
        bool room = queue_has_room(r);
        /* Decoding parked datagrams: just look at the sockets. Writer behind: look again in
         * 1 ms (datagrams are parked, or wait in the socket buffer when the backlog is
         * full). A partial batch: at most until it is due. Otherwise sleep until something
         * arrives. */
        int timeout = pending && room ? 0 : (!room ? 1 : POLL_MS);
        int due = flush_due_in(r);
        if (due < timeout)
            timeout = due;
        flush_if_due(r);
        if (!can_read(r)) {
            poll(NULL, 0, timeout);
            continue;
        }
        int rc = poll(pfd, n, timeout);
        if (rc < 0 && errno != EINTR)
            break;
        for (unsigned i = 0; rc > 0 && i < n; i++)
            if (pfd[i].revents & POLLIN)
                drain_socket(r, &r->listeners[i]);
        flush_if_due(r);
    }
}

void receiver_finish(struct receiver *r)
{
    stop_drain(r);
    flush_batch(r);
    if (r->cur) {
        flowq_release(r->queue, r->cur);
        r->cur = NULL;
    }
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

/* What a listener about to be closed holds is read like the rest, waiting for room as at
 * stop (bounded): datagrams sent to it before the reload are not lost to the close. */
bool receiver_drain_listener(struct receiver *r, struct listener *l)
{
    int64_t deadline = mono_ms() + LISTENER_DRAIN_MS;
    while (mono_ms() < deadline) {
        pump_backlog(r, SIZE_MAX);
        if (!can_read(r)) {
            flush_batch(r);
            poll(NULL, 0, 1);
            continue;
        }
        if (drain_socket(r, l) == 0)
            return true;
    }
    struct pollfd p = {l->fd, POLLIN, 0};
    return poll(&p, 1, 0) == 0;
}
