/* test_perf_receiver.c - the receive path as flowhoundd runs it: the receiver appends every
 * datagram to the receive journal whatever the writer's pace, the decoder reads the journal
 * into the queue and waits (the datagrams wait on disk) when the writer is behind; order is
 * kept; what the journal cannot hold is counted against its exporter. */
#include "config.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "collector/decoder.h"
#include "collector/exporters.h"
#include "collector/journal.h"
#include "collector/listener.h"
#include "collector/receiver.h"
#include "common/flowqueue.h"
#include "common/timeutil.h"
#include "tests/helpers.h"

/* A receiver on a loopback socket writing a journal in a temporary directory, a decoder
 * reading it into a 16-batch queue, and the batches a test holds to play a writer that is
 * behind. The tests read the counters while the threads run (they are atomic). */
struct rig {
    char dir[64];
    struct listener l;
    struct exporter_table t;
    struct flow_queue q;
    struct journal *j;
    struct receiver r;
    struct decoder d;
    bool decoding;
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

/* max_bytes 0: the journal's defaults. */
static void rig_open(struct rig *g, int rcvbuf, uint64_t segment_bytes, uint64_t max_bytes)
{
    char err[256];
    memset(g, 0, sizeof(*g));
    snprintf(g->dir, sizeof(g->dir), "/tmp/fh-recv-XXXXXX");
    cr_assert_not_null(mkdtemp(g->dir));
    cr_assert_eq(listener_open(&g->l, "127.0.0.1:0", rcvbuf, err, sizeof(err)), 0, "%s", err);
    exporters_init(&g->t, 16, 16);
    flowq_init(&g->q, 16);
    receiver_init(&g->r, &g->l, 1, &g->t, NULL);
    struct journal_opts o = {.dir = g->dir,
                             .segment_bytes = segment_bytes,
                             .max_bytes = max_bytes,
                             .min_free_bytes = 1,
                             .no_sync = true,
                             .on_lost = receiver_journal_lost,
                             .ctx = &g->r};
    g->j = journal_open(&o, (struct journal_pos){0, 0}, err, sizeof(err));
    cr_assert_not_null(g->j, "%s", err);
    g->r.journal = g->j;
    decoder_init(&g->d, g->j, &g->t, &g->q);
    struct sigaction sa = {.sa_handler = on_stop};
    sigaction(SIGUSR1, &sa, NULL);
}

/* Takes free batches until `free` are left. */
static void rig_hold(struct rig *g, size_t free)
{
    while (flowq_free_count(&g->q) > free)
        g->held[g->n_held++] = flowq_get_free(&g->q);
}

static void rig_start(struct rig *g, bool decode)
{
    stop = 0;
    cr_assert_eq(pthread_create(&g->th, NULL, run_receiver, &g->r), 0);
    if (decode) {
        cr_assert_eq(decoder_start(&g->d), 0);
        g->decoding = true;
    }
}

/* Again until the thread has ended: under ThreadSanitizer a signal sent to a thread may be
 * lost (seen in Criterion's test processes). Then the decoder, as flowhoundd stops them. */
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
            break;
    }
    if (g->decoding)
        decoder_stop(&g->d, 10000);
    g->decoding = false;
}

/* Waits until `done` holds (or 10 s pass). */
static void rig_wait(struct rig *g, bool (*done)(const struct rig *))
{
    for (int64_t end = mono_ms() + 10000; !done(g) && mono_ms() < end;)
        usleep(10000);
}

/* The writer makes room. */
static void rig_release(struct rig *g)
{
    for (int i = 0; i < g->n_held; i++)
        flowq_release(&g->q, g->held[i]);
    g->n_held = 0;
}

static void rig_close(struct rig *g)
{
    rig_release(g);
    journal_close(g->j);
    listener_close(&g->l);
    flowq_destroy(&g->q);
    exporters_free(&g->t);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", g->dir);
    cr_expect_eq(system(cmd), 0);
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

static bool read_50_and_waiting(const struct rig *g)
{
    return g->r.datagrams == 50 && g->d.waits > 0;
}

static bool decoded_50(const struct rig *g)
{
    return g->d.datagrams == 50 && journal_caught_up(g->j);
}

/* The writer far behind (no free batch): the sockets are read all the same, into the journal,
 * and the decoder waits instead of dropping; once there is room every datagram is decoded, in
 * arrival order. */
Test(perf_receiver, a_writer_behind_costs_no_datagram, .timeout = 30)
{
    struct rig g;
    rig_open(&g, 1 << 20, 0, 0);
    rig_hold(&g, 0);
    rig_start(&g, true);
    send_v5(&g, 50);
    rig_wait(&g, read_50_and_waiting);
    cr_expect_eq(g.r.datagrams, 50, "read although the queue had no room");
    cr_expect_gt(g.d.waits, 0, "the decoder waited for room");
    cr_expect_eq(g.d.flows_queued, 0);
    struct journal_stats st;
    journal_get_stats(g.j, &st);
    cr_expect_eq(st.appended, 50, "all 50 in the journal");
    rig_release(&g);
    rig_wait(&g, decoded_50);
    rig_stop(&g);
    uint16_t ports[64];
    cr_assert_eq(queued_ports(&g.q, ports, 64), 50);
    for (int i = 0; i < 50; i++)
        cr_expect_eq(ports[i], i, "arrival order kept: #%d is %u", i, ports[i]);
    cr_expect_eq(g.d.rejected, 0);
    cr_expect_eq(g.l.kernel_drops, 0);
    cr_expect_eq(g.r.journal_lost, 0);
    rig_close(&g);
}

/* A partial batch is handed to the writer while the decoder runs (FLUSH_MS after its first
 * flow), not only when a batch fills or it stops: the analyzer sees a trickle. */
Test(perf_receiver, a_partial_batch_is_handed_over_while_running, .timeout = 30)
{
    struct rig g;
    rig_open(&g, 1 << 20, 0, 0);
    rig_start(&g, true);
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

static bool read_64(const struct rig *g)
{
    return g->r.datagrams == 64;
}

static bool decoded_64(const struct rig *g)
{
    return g->d.datagrams == 64 && journal_caught_up(g->j);
}

/* Regression (the memory backlog's): datagrams read in one recvmmsg while the queue went short
 * of room were lost uncounted. 64 datagrams of 30 records (1920 flows, 4 batches) against one
 * free batch: every record reaches the queue as the writer makes room. */
Test(perf_receiver, a_whole_read_reaches_the_queue_with_one_batch_free, .timeout = 30)
{
    struct rig g;
    rig_open(&g, 1 << 20, 0, 0);
    rig_hold(&g, 1);
    static uint8_t d[24 + 30 * 48];
    for (int i = 0; i < 64; i++) {
        v5_datagram(d, (uint16_t)i);
        d[3] = 30; /* count: 30 records, the first as built, the others copies */
        for (int k = 1; k < 30; k++)
            memcpy(d + 24 + k * 48, d + 24, 48);
        d[14] = (uint8_t)((i * 30) >> 8), d[15] = (uint8_t)(i * 30); /* flow_sequence */
        cr_assert(th_udp_send(listener_port(&g.l), NULL, d, sizeof(d)));
    }
    rig_start(&g, true);
    rig_wait(&g, read_64);
    uint16_t ports[2048];
    int got = 0;
    /* the writer: takes what is queued, then gives back one held batch at a time */
    for (int64_t end = mono_ms() + 10000; got < 1920 && mono_ms() < end;) {
        got += queued_ports(&g.q, ports + got, 2048 - got);
        if (g.n_held)
            flowq_release(&g.q, g.held[--g.n_held]);
        usleep(2000);
    }
    rig_wait(&g, decoded_64);
    rig_stop(&g);
    got += queued_ports(&g.q, ports + got, 2048 - got);
    cr_expect_eq(g.r.datagrams, 64);
    cr_expect_eq(got, 1920, "every record of every datagram queued: %d", got);
    rig_close(&g);
}

static bool read_200(const struct rig *g)
{
    return g->r.datagrams == 200;
}

/* Nothing decodes (a store stopped for good): the journal keeps its bound by dropping its
 * oldest segments, and every datagram dropped is counted against its exporter as
 * journal_lost: received = appended + lost, and lost = the exporter's count. */
Test(perf_receiver, what_the_journal_cannot_hold_is_counted_per_exporter, .timeout = 30)
{
    struct rig g;
    rig_open(&g, 16 << 20, 256 << 10, 1 << 20); /* 256 KiB segments, 1 MiB at most */
    static uint8_t junk[30000];
    rig_start(&g, false);
    for (int i = 0; i < 200; i++) /* 6 MB */
        cr_assert(th_udp_send(listener_port(&g.l), NULL, junk, sizeof(junk)));
    rig_wait(&g, read_200);
    rig_stop(&g);
    struct journal_stats st;
    journal_get_stats(g.j, &st);
    cr_expect_eq(g.r.datagrams, 200);
    cr_expect_gt(st.lost, 100, "most of 6 MB is over a 1 MiB bound: %llu lost",
                 (unsigned long long)st.lost);
    cr_expect_leq(st.bytes, 1 << 20, "the bound holds: %llu bytes", (unsigned long long)st.bytes);
    cr_expect_eq(g.r.journal_lost, st.lost);
    struct fh_addr lo;
    cr_assert(addr_from_str("127.0.0.1", &lo));
    exporters_lock(&g.t);
    struct exporter *e = exporters_get(&g.t, &lo, now_ms());
    cr_assert_not_null(e);
    cr_expect_eq(e->rejects[REJ_JOURNAL_LOST], st.lost, "counted against the exporter");
    exporters_unlock(&g.t);
    cr_expect_eq(g.l.kernel_drops, 0);
    rig_close(&g);
}
