/* flowqueue.c - bounded batch queue (mutex + condition variable; one producer, one consumer
 * in the daemon, but safe for more). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "common/flowqueue.h"
#include "common/xmalloc.h"

void flowq_init(struct flow_queue *q, size_t n_batches)
{
    pthread_mutex_init(&q->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->nonempty, &ca);
    pthread_condattr_destroy(&ca);
    q->n_batches = n_batches ? n_batches : 1;
    q->pool = xcalloc(q->n_batches, sizeof(struct flow_batch));
    q->free_list = NULL;
    for (size_t i = 0; i < q->n_batches; i++) {
        q->pool[i].next = q->free_list;
        q->free_list = &q->pool[i];
    }
    q->n_free = q->n_batches;
    q->head = q->tail = NULL;
    q->queued = 0;
    q->closed = false;
}

void flowq_destroy(struct flow_queue *q)
{
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->nonempty);
    free(q->pool);
    q->pool = NULL;
}

struct flow_batch *flowq_get_free(struct flow_queue *q)
{
    pthread_mutex_lock(&q->lock);
    struct flow_batch *b = q->free_list;
    if (b) {
        q->free_list = b->next;
        b->next = NULL;
        b->n = 0;
        b->src_seg = b->src_off = 0; /* from no journal unless the decoder says so */
        b->src_part = 0;
        b->src_whole = true;
        b->store_only = false;
        q->n_free--;
    }
    pthread_mutex_unlock(&q->lock);
    return b;
}

void flowq_push(struct flow_queue *q, struct flow_batch *b)
{
    pthread_mutex_lock(&q->lock);
    b->next = NULL;
    if (q->tail)
        q->tail->next = b;
    else
        q->head = b;
    q->tail = b;
    q->queued++;
    pthread_cond_signal(&q->nonempty);
    pthread_mutex_unlock(&q->lock);
}

struct flow_batch *flowq_pop(struct flow_queue *q, int timeout_ms)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&q->lock);
    while (!q->head && !q->closed)
        if (pthread_cond_timedwait(&q->nonempty, &q->lock, &deadline) == ETIMEDOUT)
            break;
    struct flow_batch *b = q->head;
    if (b) {
        q->head = b->next;
        if (!q->head)
            q->tail = NULL;
        q->queued--;
        b->next = NULL;
    }
    pthread_mutex_unlock(&q->lock);
    return b;
}

void flowq_release(struct flow_queue *q, struct flow_batch *b)
{
    pthread_mutex_lock(&q->lock);
    b->n = 0;
    b->next = q->free_list;
    q->free_list = b;
    q->n_free++;
    pthread_mutex_unlock(&q->lock);
}

void flowq_close(struct flow_queue *q)
{
    pthread_mutex_lock(&q->lock);
    q->closed = true;
    pthread_cond_broadcast(&q->nonempty);
    pthread_mutex_unlock(&q->lock);
}

bool flowq_closed(struct flow_queue *q)
{
    pthread_mutex_lock(&q->lock);
    bool r = q->closed;
    pthread_mutex_unlock(&q->lock);
    return r;
}

bool flowq_closed_and_empty(struct flow_queue *q)
{
    pthread_mutex_lock(&q->lock);
    bool r = q->closed && !q->head;
    pthread_mutex_unlock(&q->lock);
    return r;
}

size_t flowq_depth(struct flow_queue *q)
{
    pthread_mutex_lock(&q->lock);
    size_t n = q->queued;
    pthread_mutex_unlock(&q->lock);
    return n;
}

size_t flowq_free_count(struct flow_queue *q)
{
    pthread_mutex_lock(&q->lock);
    size_t n = q->n_free;
    pthread_mutex_unlock(&q->lock);
    return n;
}
