/* receiver.h - the receive loop: poll the listeners, recvmmsg in batches, decode, queue. */
#ifndef FLOWHOUND_RECEIVER_H
#define FLOWHOUND_RECEIVER_H

#include <signal.h>
#include <stdint.h>

#include "collector/exporters.h"
#include "collector/listener.h"
#include "common/flowqueue.h"
#include "common/log.h"

struct receiver {
    struct listener *listeners;
    unsigned n_listeners;
    struct exporter_table *exporters;
    struct flow_queue *queue;
    struct flow_batch *cur;
    uint64_t datagrams, rejected, flows_queued, flows_dropped;
    uint64_t waits; /* times the queue had no room and datagrams were left in the socket */
    struct log_limit reject_log;
};

void receiver_init(struct receiver *r, struct listener *ls, unsigned n, struct exporter_table *t,
                   struct flow_queue *q);
/* Runs until *stop is set (by a signal handler). Queues the last partial batch on return. */
void receiver_run(struct receiver *r, volatile sig_atomic_t *stop);

#endif
