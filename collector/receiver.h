/* receiver.h - the receive loop: poll the listeners, recvmmsg in batches, decode, queue. */
#ifndef FLOWHOUND_RECEIVER_H
#define FLOWHOUND_RECEIVER_H

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>

#include "collector/backlog.h"
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
    int64_t cur_since; /* monotonic ms when cur got its first flow */
    /* Changed by the receiver's thread only (common/counter.h), readable while it runs.
     * waits: times the queue had no room (datagrams parked or left in the socket). */
    _Atomic uint64_t datagrams, rejected, flows_queued, flows_dropped, waits;
    _Atomic int64_t beat_ms; /* mono_ms() of the loop's last turn: the receiver is alive */
    uint64_t backlog_lost;   /* parked datagrams not decoded by the stop deadline */
    struct backlog backlog;  /* datagrams read while the queue had no room */
    struct log_limit reject_log;
    struct log_limit expiry_log;
    int64_t next_expiry; /* monotonic ms of the next sweep of templates not refreshed */
};

/* backlog_bytes: memory for datagrams read while the queue is full (0: leave them in the
 * socket buffer). */
void receiver_init(struct receiver *r, struct listener *ls, unsigned n, struct exporter_table *t,
                   struct flow_queue *q, size_t backlog_bytes);
/* The most listeners one receiver polls. */
#define RECEIVER_MAX_LISTENERS 64

/* Runs until *stop is set (by a signal handler), then drains (receiver_finish). */
void receiver_run(struct receiver *r, volatile sig_atomic_t *stop);
/* Runs until *stop is set or the monotonic clock reaches until_ms, and returns without
 * draining: the caller (flowhoundd's main loop) acts on its own flags and runs it again. */
void receiver_run_for(struct receiver *r, volatile sig_atomic_t *stop, int64_t until_ms);
/* At stop: takes what the kernel queued, decodes what is parked, queues the last batch. */
void receiver_finish(struct receiver *r);
/* Between two receiver_run_for calls (in the receiver's thread): the listeners from now on. */
void receiver_set_listeners(struct receiver *r, struct listener *ls, unsigned n);
/* Reads what waits in a listener about to be closed (waiting for room up to 2 s). False when
 * datagrams were still left in it. */
bool receiver_drain_listener(struct receiver *r, struct listener *l);

#endif
