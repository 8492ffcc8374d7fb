/* flowqueue.h - the bounded queue between the receiver (decoders) and the writer.
 *
 * A fixed pool of batches is allocated at start: memory is bounded whatever the load. The
 * receiver takes a free batch, fills it, pushes it; the writer pops, consumes, releases.
 * The receiver never blocks: when no batch is free, it drops records and counts them
 * (exporter_domain.dropped_queue). */
#ifndef FLOWHOUND_FLOWQUEUE_H
#define FLOWHOUND_FLOWQUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/flow.h"

#define FLOW_BATCH_CAP 512

struct flow_batch {
    size_t n;
    struct flow_batch *next;
    /* Where the flows came from (the receive journal, collector/decoder.h): every flow of the
     * datagrams before position (src_seg, src_off) is in this batch or an earlier one, and
     * src_whole says this batch holds none after it (false: it ends inside a datagram, and
     * src_part of that datagram's flows are in this batch or earlier ones: the exact place of
     * its end, the same whatever the batching, for a store that must resume there). */
    uint64_t src_seg, src_off;
    uint32_t src_part;
    bool src_whole;
    /* Decoded again from the journal for a store that lacks them, after the rest of the state
     * (counters, alerts) had them already: they go to the store only (collector/decoder.h). */
    bool store_only;
    struct flow flows[FLOW_BATCH_CAP];
};

struct flow_queue {
    pthread_mutex_t lock;
    pthread_cond_t nonempty;
    struct flow_batch *free_list;
    struct flow_batch *head, *tail; /* full batches, FIFO */
    size_t queued, n_batches, n_free;
    bool closed;
    struct flow_batch *pool;
};

void flowq_init(struct flow_queue *q, size_t n_batches);
void flowq_destroy(struct flow_queue *q);
/* A free batch (n = 0), or NULL when all are in use. Never blocks. */
struct flow_batch *flowq_get_free(struct flow_queue *q);
void flowq_push(struct flow_queue *q, struct flow_batch *b);
/* The oldest full batch; waits up to timeout_ms. NULL on timeout, or when closed and empty. */
struct flow_batch *flowq_pop(struct flow_queue *q, int timeout_ms);
void flowq_release(struct flow_queue *q, struct flow_batch *b);
/* No more pushes: pop returns NULL once the queue is drained. */
void flowq_close(struct flow_queue *q);
bool flowq_closed(struct flow_queue *q);
bool flowq_closed_and_empty(struct flow_queue *q);
size_t flowq_depth(struct flow_queue *q);
/* Batches free right now (the receiver reads only when enough are: see receiver.c). */
size_t flowq_free_count(struct flow_queue *q);

#endif
