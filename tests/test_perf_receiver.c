/* test_perf_receiver.c - when the queue to the writer is (nearly) full, the receiver leaves
 * datagrams in the socket buffer instead of reading and dropping them, and takes them once
 * the writer made room. */
#include "config.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

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
    receiver_init(&r, &l, 1, &t, &q);
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
