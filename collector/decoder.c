/* decoder.c - the decode stage (see decoder.h). */
#include "config.h"

#include <poll.h>
#include <string.h>

#include "collector/decode.h"
#include "collector/decoder.h"
#include "common/addr.h"
#include "common/counter.h"
#include "common/timeutil.h"

/* A partial batch is handed over this long after its first flow: soon enough for the
 * analyzer (it holds alerts 2 s for other vantage points anyway), and not one writer wake-up
 * per datagram at paced rates. */
#define FLUSH_MS 20
#define IDLE_MS  200

void decoder_init(struct decoder *d, struct journal *j, struct exporter_table *t,
                  struct flow_queue *q)
{
    memset(d, 0, sizeof(*d));
    d->journal = j;
    d->exporters = t;
    d->queue = q;
    struct log_limit lim = LOG_LIMIT_INIT(1.0, 10.0);
    d->reject_log = lim;
}

static void push(struct decoder *d)
{
    flowq_push(d->queue, d->cur);
    d->cur = NULL;
}

/* A free batch, waiting for the writer when it has none: the journal holds what arrives. */
static struct flow_batch *take_batch(struct decoder *d, const struct journal_pos *at)
{
    struct flow_batch *b;
    while (!(b = flowq_get_free(d->queue))) {
        COUNTER_ADD(d->waits, 1);
        poll(NULL, 0, 1);
    }
    b->src_seg = at->seg;
    b->src_off = at->off;
    b->src_whole = true;
    d->cur_since = mono_ms();
    return b;
}

struct emit_ctx {
    struct decoder *d;
    const struct journal_pos *before; /* the end of the previous datagram */
};

static bool emit_to_batch(void *arg, const struct flow *f)
{
    struct emit_ctx *c = arg;
    struct decoder *d = c->d;
    if (d->cur && d->cur->n == FLOW_BATCH_CAP)
        push(d); /* ends inside this datagram: not whole (see decoder.h) */
    if (!d->cur)
        d->cur = take_batch(d, c->before);
    d->cur->flows[d->cur->n++] = *f;
    d->cur->src_whole = false;
    COUNTER_ADD(d->flows_queued, 1);
    return true;
}

/* A datagram longer than the receive buffer was cut by the kernel: rejected, never decoded. */
static enum reject_reason reject_truncated(struct decoder *d, const struct journal_rec *r)
{
    exporters_lock(d->exporters);
    struct exporter *e = exporters_get(d->exporters, &r->from, r->received_ms);
    if (e) {
        e->packets++;
        e->rejects[REJ_BAD_LENGTH]++;
        e->dirty = true;
    }
    exporters_unlock(d->exporters);
    return REJ_BAD_LENGTH;
}

static void decode_one(struct decoder *d, const struct journal_rec *r, const uint8_t *data,
                       const struct journal_pos *before, const struct journal_pos *after)
{
    struct emit_ctx c = {d, before};
    struct flow_emitter out = {emit_to_batch, &c};
    enum reject_reason why =
        r->truncated ? reject_truncated(d, r)
                     : decode_packet(d->exporters, &r->from, data, r->len, r->received_ms, &out);
    COUNTER_ADD(d->datagrams, 1);
    if (why != REJ_NONE) {
        char a[FH_ADDR_STRLEN];
        COUNTER_ADD(d->rejected, 1);
        log_ratelimited(&d->reject_log, LOG_LVL_WARN, "rejected a %u-byte datagram from %s: %s",
                        r->len, addr_to_str(&r->from, a, sizeof(a)), reject_reason_name(why));
    }
    if (d->cur) { /* this datagram's flows are all in: the batch is whole up to its end */
        d->cur->src_seg = after->seg;
        d->cur->src_off = after->off;
        d->cur->src_whole = true;
    }
}

static int flush_due_in(const struct decoder *d)
{
    if (!d->cur || !d->cur->n)
        return IDLE_MS;
    int64_t left = d->cur_since + FLUSH_MS - mono_ms();
    return left < 0 ? 0 : (int)left;
}

static bool done(struct decoder *d)
{
    if (!atomic_load(&d->stop))
        return false;
    if (journal_caught_up(d->journal)) {
        atomic_store(&d->drained, true);
        return true;
    }
    return mono_ms() >= d->drain_deadline_ms;
}

void decoder_run(struct decoder *d)
{
    struct journal_pos before = journal_read_pos(d->journal); /* a new batch starts there */
    char err[256];
    while (!done(d)) {
        struct journal_rec r;
        const uint8_t *data;
        struct journal_pos after;
        int rc = journal_next(d->journal, &r, &data, &after, flush_due_in(d), err, sizeof(err));
        if (rc == 1) {
            decode_one(d, &r, data, &before, &after);
            before = after;
        } else if (rc < 0) {
            log_ratelimited(&d->reject_log, LOG_LVL_ERR, "reading the receive journal: %s", err);
            poll(NULL, 0, 100);
        }
        if (d->cur && d->cur->n && flush_due_in(d) == 0)
            push(d);
    }
    if (d->cur && d->cur->n)
        push(d);
    else if (d->cur)
        flowq_release(d->queue, d->cur);
    d->cur = NULL;
}

static void *decoder_main(void *arg)
{
    decoder_run(arg);
    return NULL;
}

int decoder_start(struct decoder *d)
{
    return pthread_create(&d->thread, NULL, decoder_main, d);
}

void decoder_stop(struct decoder *d, int64_t deadline_ms)
{
    d->drain_deadline_ms = mono_ms() + deadline_ms;
    atomic_store(&d->stop, true);
    pthread_join(d->thread, NULL);
}
