/* test_perf_receiver.c - when the queue to the writer is (nearly) full, the receiver leaves
 * datagrams in the socket buffer instead of reading and dropping them, and takes them once
 * the writer made room. */
#include "config.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "collector/backlog.h"
#include "collector/exporters.h"
#include "collector/listener.h"
#include "collector/receiver.h"
#include "common/flowqueue.h"
#include "tests/helpers.h"

struct run {
    struct receiver *r;
    volatile sig_atomic_t stop;
};

static void *run_receiver(void *arg)
{
    struct run *x = arg;
    receiver_run(x->r, &x->stop);
    return NULL;
}

static void run_for(struct receiver *r, int ms)
{
    struct run x = {.r = r, .stop = 0};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, run_receiver, &x), 0);
    usleep((useconds_t)ms * 1000);
    x.stop = 1;
    pthread_join(t, NULL);
}

Test(perf_receiver, full_queue_leaves_datagrams_in_the_socket, .timeout = 30)
{
    char err[256];
    struct listener l;
    cr_assert_eq(listener_open(&l, "127.0.0.1:0", 1 << 20, err, sizeof(err)), 0, "%s", err);
    struct exporter_table t;
    exporters_init(&t, 16, 16);
    struct flow_queue q;
    flowq_init(&q, 16);
    struct flow_batch *held[16];
    int n_held = 0;
    while (flowq_free_count(&q) > 4)
        held[n_held++] = flowq_get_free(&q);
    struct receiver r;
    receiver_init(&r, &l, 1, &t, &q, 0);
    static const char junk[] = "not a netflow datagram";
    for (int i = 0; i < 20; i++)
        cr_assert(th_udp_send(listener_port(&l), NULL, junk, sizeof(junk)));
    /* 200 ms with 4 of 16 batches free: nothing is read */
    struct run x = {.r = &r, .stop = 0};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, run_receiver, &x), 0);
    usleep(200000);
    cr_expect_eq(r.datagrams, 0, "no datagram read while the queue has no room");
    cr_expect_gt(r.waits, 0);
    /* the writer makes room: the receiver takes what waited in the socket */
    for (int i = 0; i < n_held; i++)
        flowq_release(&q, held[i]);
    usleep(200000);
    x.stop = 1;
    pthread_join(th, NULL);
    cr_expect_eq(r.datagrams, 20, "every datagram read once there was room");
    cr_expect_eq(r.rejected, 20);
    cr_expect_eq(l.kernel_drops, 0);
    run_for(&r, 50);
    listener_close(&l);
    flowq_destroy(&q);
    exporters_free(&t);
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

/* Holds the queue's batches but 4 (no room), sends n datagrams and starts the receiver;
 * the caller releases the held batches, then stops it. */
static int fill_while_full(struct run *x, pthread_t *th, struct listener *l, struct flow_queue *q,
                           struct flow_batch **held, int n, int ms)
{
    int n_held = 0;
    while (flowq_free_count(q) > 4)
        held[n_held++] = flowq_get_free(q);
    uint8_t d[72];
    for (int i = 0; i < n; i++)
        cr_assert(th_udp_send(listener_port(l), NULL, d, v5_datagram(d, (uint16_t)i)));
    cr_assert_eq(pthread_create(th, NULL, run_receiver, x), 0);
    usleep((useconds_t)ms * 1000);
    return n_held;
}

static void release_and_stop(struct run *x, pthread_t th, struct flow_queue *q,
                             struct flow_batch **held, int n_held)
{
    for (int i = 0; i < n_held; i++)
        flowq_release(q, held[i]);
    usleep(200000);
    x->stop = 1;
    pthread_join(th, NULL);
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

Test(perf_receiver, full_queue_parks_datagrams_in_the_backlog, .timeout = 30)
{
    char err[256];
    struct listener l;
    cr_assert_eq(listener_open(&l, "127.0.0.1:0", 1 << 20, err, sizeof(err)), 0, "%s", err);
    struct exporter_table t;
    exporters_init(&t, 16, 16);
    struct flow_queue q;
    flowq_init(&q, 16);
    struct receiver r;
    receiver_init(&r, &l, 1, &t, &q, 64u << 20);
    struct flow_batch *held[16];
    struct run x = {.r = &r, .stop = 0};
    pthread_t th;
    int n_held = fill_while_full(&x, &th, &l, &q, held, 50, 200);
    cr_expect_eq(r.datagrams, 50, "read although the queue had no room");
    cr_expect_eq(r.backlog.count, 50, "parked, not decoded");
    cr_expect_eq(r.flows_queued, 0);
    cr_expect_eq(r.flows_dropped, 0);
    release_and_stop(&x, th, &q, held, n_held);
    cr_expect_eq(r.backlog.count, 0, "decoded once the writer made room");
    cr_expect_eq(r.backlog.bytes, 0, "and its memory given back");
    uint16_t ports[64];
    cr_assert_eq(queued_ports(&q, ports, 64), 50);
    for (int i = 0; i < 50; i++)
        cr_expect_eq(ports[i], i, "arrival order kept: #%d is %u", i, ports[i]);
    cr_expect_eq(r.rejected, 0);
    listener_close(&l);
    flowq_destroy(&q);
    exporters_free(&t);
}

Test(perf_receiver, full_backlog_leaves_the_rest_in_the_socket, .timeout = 30)
{
    char err[256];
    struct listener l;
    cr_assert_eq(listener_open(&l, "127.0.0.1:0", 32 << 20, err, sizeof(err)), 0, "%s", err);
    struct exporter_table t;
    exporters_init(&t, 16, 16);
    struct flow_queue q;
    flowq_init(&q, 16);
    struct receiver r;
    /* 8 MiB: a read needs room for 64 datagrams of the largest size (64 KiB each). 200
     * datagrams of 32 kB: three reads (192) fill it, the rest waits in the socket. */
    receiver_init(&r, &l, 1, &t, &q, 8u << 20);
    struct flow_batch *held[16];
    int n_held = 0;
    while (flowq_free_count(&q) > 4)
        held[n_held++] = flowq_get_free(&q);
    static uint8_t junk[32000]; /* version 0: rejected when decoded */
    for (int i = 0; i < 200; i++)
        cr_assert(th_udp_send(listener_port(&l), NULL, junk, sizeof(junk)));
    struct run x = {.r = &r, .stop = 0};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, run_receiver, &x), 0);
    usleep(200000);
    cr_expect_eq(r.datagrams, 192, "three reads of 64, then stopped: %llu",
                 (unsigned long long)r.datagrams);
    cr_expect_eq(r.backlog.count, r.datagrams, "all parked");
    cr_expect_leq(r.backlog.peak_bytes, 8u << 20, "bounded by its limit");
    release_and_stop(&x, th, &q, held, n_held);
    cr_expect_eq(r.datagrams, 200, "the rest taken from the socket later");
    cr_expect_eq(r.rejected, 200, "every one decoded (and rejected: junk)");
    cr_expect_eq(l.kernel_drops, 0);
    listener_close(&l);
    flowq_destroy(&q);
    exporters_free(&t);
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
    char err[256];
    struct listener l;
    cr_assert_eq(listener_open(&l, "127.0.0.1:0", 1 << 20, err, sizeof(err)), 0, "%s", err);
    struct exporter_table t;
    exporters_init(&t, 16, 16);
    struct flow_queue q;
    flowq_init(&q, 16);
    struct receiver r;
    receiver_init(&r, &l, 1, &t, &q, 0);
    struct run x = {.r = &r, .stop = 0};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, run_receiver, &x), 0);
    uint8_t d[72];
    for (int i = 0; i < 3; i++)
        cr_assert(th_udp_send(listener_port(&l), NULL, d, v5_datagram(d, (uint16_t)i)));
    struct flow_batch *b = flowq_pop(&q, 2000); /* the writer's wait */
    cr_assert_not_null(b, "3 flows handed over without a full batch or a stop");
    size_t got = b->n;
    flowq_release(&q, b);
    while (got < 3 && (b = flowq_pop(&q, 500))) {
        got += b->n;
        flowq_release(&q, b);
    }
    cr_expect_eq(got, 3);
    x.stop = 1;
    pthread_join(th, NULL);
    listener_close(&l);
    flowq_destroy(&q);
    exporters_free(&t);
}

/* Regression: without a backlog (receive-backlog = 0), datagrams read in one recvmmsg while
 * the queue went short of room (fewer than 8 free batches, but some) were lost uncounted;
 * they are decoded into the batches left. 64 datagrams of 30 records: 1920 flows, 4 batches. */
Test(perf_receiver, no_backlog_decodes_a_whole_read_into_the_last_batches, .timeout = 30)
{
    char err[256];
    struct listener l;
    cr_assert_eq(listener_open(&l, "127.0.0.1:0", 1 << 20, err, sizeof(err)), 0, "%s", err);
    struct exporter_table t;
    exporters_init(&t, 16, 16);
    struct flow_queue q;
    flowq_init(&q, 16);
    struct flow_batch *held[16];
    int n_held = 0;
    while (flowq_free_count(&q) > 8) /* room, just: the first batch taken ends it */
        held[n_held++] = flowq_get_free(&q);
    struct receiver r;
    receiver_init(&r, &l, 1, &t, &q, 0);
    static uint8_t d[24 + 30 * 48];
    for (int i = 0; i < 64; i++) {
        v5_datagram(d, (uint16_t)i);
        d[3] = 30; /* count: 30 records, the first as built, the others copies */
        for (int k = 1; k < 30; k++)
            memcpy(d + 24 + k * 48, d + 24, 48);
        d[14] = (uint8_t)((i * 30) >> 8), d[15] = (uint8_t)(i * 30); /* flow_sequence */
        cr_assert(th_udp_send(listener_port(&l), NULL, d, sizeof(d)));
    }
    usleep(50000);
    run_for(&r, 100);
    cr_expect_eq(r.datagrams, 64);
    cr_expect_eq(r.flows_dropped, 0);
    uint16_t ports[2048];
    cr_expect_eq(queued_ports(&q, ports, 2048), 1920, "every record of every datagram read");
    for (int i = 0; i < n_held; i++)
        flowq_release(&q, held[i]);
    listener_close(&l);
    flowq_destroy(&q);
    exporters_free(&t);
}
