/* test_perf_receiver.c - when the queue to the writer is (nearly) full, the receiver parks
 * datagrams in its backlog, or leaves them in the socket buffer, instead of reading and
 * dropping them, and decodes them in order once the writer made room; the backlog itself. */
#include "config.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "collector/backlog.h"
#include "collector/exporters.h"
#include "collector/listener.h"
#include "collector/receiver.h"
#include "common/flowqueue.h"
#include "common/timeutil.h"
#include "tests/helpers.h"

/* A receiver on a loopback socket with a 16-batch queue, and the batches a test holds to
 * play a writer that is behind. The tests read its counters while it runs (they are atomic). */
struct rig {
    struct listener l;
    struct exporter_table t;
    struct flow_queue q;
    struct receiver r;
    struct flow_batch *held[16];
    int n_held;
    pthread_t th;
};

/* The daemon stops the receiver from a signal handler on the receiver's thread; so do the
 * tests (setting the flag from another thread would race with its reads). */
static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
    (void)sig;
    stop = 1;
}

static void *run_receiver(void *arg)
{
    receiver_run(arg, &stop);
    return NULL;
}

static void rig_open(struct rig *g, int rcvbuf, size_t backlog)
{
    char err[256];
    memset(g, 0, sizeof(*g));
    cr_assert_eq(listener_open(&g->l, "127.0.0.1:0", rcvbuf, err, sizeof(err)), 0, "%s", err);
    exporters_init(&g->t, 16, 16);
    flowq_init(&g->q, 16);
    receiver_init(&g->r, &g->l, 1, &g->t, &g->q, backlog);
    struct sigaction sa = {.sa_handler = on_stop};
    sigaction(SIGUSR1, &sa, NULL);
}

/* Takes free batches until `free` are left (8 is the least the receiver reads with). */
static void rig_hold(struct rig *g, size_t free)
{
    while (flowq_free_count(&g->q) > free)
        g->held[g->n_held++] = flowq_get_free(&g->q);
}

static void rig_start(struct rig *g)
{
    stop = 0;
    cr_assert_eq(pthread_create(&g->th, NULL, run_receiver, &g->r), 0);
}

/* Again until the thread has ended: under ThreadSanitizer a signal sent to a thread may be
 * lost (seen in Criterion's test processes). */
static void rig_stop(struct rig *g)
{
    for (;;) {
        pthread_kill(g->th, SIGUSR1);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 100000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        if (pthread_timedjoin_np(g->th, NULL, &until) == 0)
            return;
    }
}

/* Waits until `done` holds of the running receiver (or 10 s pass). */
static void rig_wait(struct rig *g, bool (*done)(const struct receiver *))
{
    for (int64_t end = mono_ms() + 10000; !done(&g->r) && mono_ms() < end;)
        usleep(10000);
}

/* The writer makes room. */
static void rig_release(struct rig *g)
{
    for (int i = 0; i < g->n_held; i++)
        flowq_release(&g->q, g->held[i]);
    g->n_held = 0;
}

static bool found_no_room(const struct receiver *r)
{
    return r->waits > 0;
}

static bool took_all_20(const struct receiver *r)
{
    return r->datagrams == 20 && r->rejected == 20;
}

static void rig_close(struct rig *g)
{
    for (int i = 0; i < g->n_held; i++)
        flowq_release(&g->q, g->held[i]);
    listener_close(&g->l);
    flowq_destroy(&g->q);
    exporters_free(&g->t);
}

Test(perf_receiver, full_queue_leaves_datagrams_in_the_socket, .timeout = 30)
{
    struct rig g;
    rig_open(&g, 1 << 20, 0);
    rig_hold(&g, 4);
    static const char junk[] = "not a netflow datagram";
    for (int i = 0; i < 20; i++)
        cr_assert(th_udp_send(listener_port(&g.l), NULL, junk, sizeof(junk)));
    /* 4 of 16 batches free: the receiver finds no room, then reads nothing (a fixed wait:
     * this asserts that something does not happen) */
    rig_start(&g);
    rig_wait(&g, found_no_room);
    cr_expect_gt(g.r.waits, 0);
    usleep(100000);
    cr_expect_eq(g.r.datagrams, 0, "no datagram read while the queue has no room");
    /* the writer makes room: the receiver takes what waited in the socket */
    rig_release(&g);
    rig_wait(&g, took_all_20);
    cr_expect_eq(g.r.datagrams, 20, "every datagram read once there was room");
    cr_expect_eq(g.r.rejected, 20);
    rig_stop(&g);
    cr_expect_eq(g.l.kernel_drops, 0);
    rig_start(&g);
    usleep(50000);
    rig_stop(&g);
    rig_close(&g);
}

/* A one-record v5 datagram whose source port says which one it is. */
static size_t v5_datagram(uint8_t *p, uint16_t n)
{
    memset(p, 0, 72);
    p[1] = 5;                  /* version */
    p[3] = 1;                  /* count */
    p[4] = 0, p[5] = 1;        /* sysuptime 65536 ms */
    p[8] = 0x6a, p[9] = 0x00;  /* unix secs, some time in 2026 */
    p[14] = (uint8_t)(n >> 8); /* flow_sequence = n */
    p[15] = (uint8_t)n;
    uint8_t *r = p + 24;
    r[0] = 10, r[3] = 1;     /* 10.0.0.1 */
    r[4] = 10, r[7] = 2;     /* 10.0.0.2 */
    r[19] = 1;               /* 1 packet */
    r[23] = 40;              /* 40 bytes */
    r[25] = 0, r[26] = 0xf0; /* first, last: before sysuptime */
    r[29] = 0, r[30] = 0xf8;
    r[32] = (uint8_t)(n >> 8), r[33] = (uint8_t)n; /* src port */
    r[35] = 80;                                    /* dst port */
    r[38] = 6;                                     /* TCP */
    return 72;
}

/* Sends n one-record v5 datagrams, source ports 0..n-1. */
static void send_v5(struct rig *g, int n)
{
    uint8_t d[72];
    for (int i = 0; i < n; i++)
        cr_assert(th_udp_send(listener_port(&g->l), NULL, d, v5_datagram(d, (uint16_t)i)));
}

/* Every queued flow's source port, in queue order. */
static int queued_ports(struct flow_queue *q, uint16_t *ports, int cap)
{
    int n = 0;
    struct flow_batch *b;
    while ((b = flowq_pop(q, 0))) {
        for (size_t i = 0; i < b->n && n < cap; i++)
            ports[n++] = b->flows[i].src_port;
        flowq_release(q, b);
    }
    return n;
}

static bool parked_50(const struct receiver *r)
{
    return r->datagrams == 50 && r->backlog.count == 50;
}

static bool drained(const struct receiver *r)
{
    return r->backlog.count == 0 && r->backlog.bytes == 0;
}

Test(perf_receiver, full_queue_parks_datagrams_in_the_backlog, .timeout = 30)
{
    struct rig g;
    rig_open(&g, 1 << 20, 64u << 20);
    rig_hold(&g, 4);
    send_v5(&g, 50);
    rig_start(&g);
    rig_wait(&g, parked_50);
    cr_expect_eq(g.r.datagrams, 50, "read although the queue had no room");
    cr_expect_eq(g.r.backlog.count, 50, "parked, not decoded");
    cr_expect_eq(g.r.flows_queued, 0);
    cr_expect_eq(g.r.flows_dropped, 0);
    rig_release(&g);
    rig_wait(&g, drained);
    cr_expect_eq(g.r.backlog.count, 0, "decoded once the writer made room");
    cr_expect_eq(g.r.backlog.bytes, 0, "and its memory given back");
    rig_stop(&g);
    uint16_t ports[64];
    cr_assert_eq(queued_ports(&g.q, ports, 64), 50);
    for (int i = 0; i < 50; i++)
        cr_expect_eq(ports[i], i, "arrival order kept: #%d is %u", i, ports[i]);
    cr_expect_eq(g.r.rejected, 0);
    rig_close(&g);
}

static bool read_192(const struct receiver *r)
{
    return r->datagrams >= 192;
}

static bool took_all_200(const struct receiver *r)
{
    return r->datagrams == 200 && r->rejected == 200;
}

Test(perf_receiver, full_backlog_leaves_the_rest_in_the_socket, .timeout = 30)
{
    struct rig g;
    /* 8 MiB: a read needs room for 64 datagrams of the largest size (64 KiB each). 200
     * datagrams of 32 kB: three reads (192) fill it, the rest waits in the socket. */
    rig_open(&g, 32 << 20, 8u << 20);
    rig_hold(&g, 4);
    static uint8_t junk[32000]; /* version 0: rejected when decoded */
    for (int i = 0; i < 200; i++)
        cr_assert(th_udp_send(listener_port(&g.l), NULL, junk, sizeof(junk)));
    rig_start(&g);
    rig_wait(&g, read_192);
    usleep(100000); /* time to read on, were it not stopped (a fixed wait: see the first test) */
    cr_expect_eq(g.r.datagrams, 192, "three reads of 64, then stopped: %llu",
                 (unsigned long long)g.r.datagrams);
    cr_expect_eq(g.r.backlog.count, g.r.datagrams, "all parked");
    cr_expect_leq(g.r.backlog.peak_bytes, 8u << 20, "bounded by its limit");
    rig_release(&g);
    rig_wait(&g, took_all_200);
    cr_expect_eq(g.r.datagrams, 200, "the rest taken from the socket later");
    cr_expect_eq(g.r.rejected, 200, "every one decoded (and rejected: junk)");
    rig_stop(&g);
    cr_expect_eq(g.l.kernel_drops, 0);
    rig_close(&g);
}

Test(perf_receiver, backlog_is_a_fifo_across_chunks)
{
    struct backlog b;
    backlog_init(&b, 16u << 20);
    static uint8_t data[60000];
    /* 200 datagrams of 1..60000 bytes: ~6 MB, two chunks at least */
    for (uint32_t i = 0; i < 200; i++) {
        struct backlog_item it = {.received_ms = i, .len = (i * 7919) % 60000 + 1};
        memset(data, (int)i, it.len);
        cr_assert(backlog_push(&b, &it, data), "push %u", i);
    }
    cr_expect_gt(b.bytes, 4u << 20);
    for (uint32_t i = 0; i < 200; i++) {
        const uint8_t *p;
        const struct backlog_item *it = backlog_peek(&b, &p);
        cr_assert_not_null(it);
        cr_expect_eq(it->received_ms, i);
        cr_expect_eq(it->len, (i * 7919) % 60000 + 1);
        cr_expect_eq(p[0], (uint8_t)i);
        cr_expect_eq(p[it->len - 1], (uint8_t)i);
        backlog_pop(&b);
    }
    cr_expect_null(backlog_peek(&b, &(const uint8_t *){NULL}));
    cr_expect_eq(b.bytes, 0);
    /* the limit: a 4 MiB backlog takes one chunk's worth, then refuses */
    backlog_init(&b, 4u << 20);
    struct backlog_item big = {.len = 60000};
    int pushed = 0;
    while (backlog_push(&b, &big, data) && pushed < 1000)
        pushed++;
    cr_expect(pushed >= 65 && pushed <= 69, "one chunk of 60 kB entries: %d", pushed);
    cr_expect_eq(b.bytes, 4u << 20);
    backlog_free(&b);
}

/* A partial batch is handed to the writer while the receiver runs (FLUSH_MS after its first
 * flow), not only when a batch fills or the receiver stops: the analyzer sees a trickle. */
Test(perf_receiver, a_partial_batch_is_handed_over_while_running, .timeout = 30)
{
    struct rig g;
    rig_open(&g, 1 << 20, 0);
    rig_start(&g);
    send_v5(&g, 3);
    struct flow_batch *b = flowq_pop(&g.q, 2000); /* the writer's wait */
    cr_assert_not_null(b, "3 flows handed over without a full batch or a stop");
    size_t got = b->n;
    flowq_release(&g.q, b);
    while (got < 3 && (b = flowq_pop(&g.q, 500))) {
        got += b->n;
        flowq_release(&g.q, b);
    }
    cr_expect_eq(got, 3);
    rig_stop(&g);
    rig_close(&g);
}

/* Regression: without a backlog (receive-backlog = 0), datagrams read in one recvmmsg while
 * the queue went short of room (fewer than 8 free batches, but some) were lost uncounted;
 * they are decoded into the batches left. 64 datagrams of 30 records: 1920 flows, 4 batches. */
static bool read_64(const struct receiver *r)
{
    return r->datagrams == 64;
}

Test(perf_receiver, no_backlog_decodes_a_whole_read_into_the_last_batches, .timeout = 30)
{
    struct rig g;
    rig_open(&g, 1 << 20, 0);
    rig_hold(&g, 8); /* room, just: the first batch taken ends it */
    static uint8_t d[24 + 30 * 48];
    for (int i = 0; i < 64; i++) {
        v5_datagram(d, (uint16_t)i);
        d[3] = 30; /* count: 30 records, the first as built, the others copies */
        for (int k = 1; k < 30; k++)
            memcpy(d + 24 + k * 48, d + 24, 48);
        d[14] = (uint8_t)((i * 30) >> 8), d[15] = (uint8_t)(i * 30); /* flow_sequence */
        cr_assert(th_udp_send(listener_port(&g.l), NULL, d, sizeof(d)));
    }
    rig_start(&g);
    rig_wait(&g, read_64);
    rig_release(&g); /* else the stop waits its whole drain deadline for room */
    rig_stop(&g);
    cr_expect_eq(g.r.datagrams, 64);
    cr_expect_eq(g.r.flows_dropped, 0);
    uint16_t ports[2048];
    cr_expect_eq(queued_ports(&g.q, ports, 2048), 1920, "every record of every datagram read");
    rig_close(&g);
}
