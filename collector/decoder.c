/* decoder.c - the decode stage (see decoder.h). */
#include "config.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "collector/decode.h"
#include "collector/decoder.h"
#include "common/addr.h"
#include "common/counter.h"
#include "common/thread_nice.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"

/* A partial batch is handed over this long after its first flow: soon enough for the
 * analyzer (it holds alerts 2 s for other vantage points anyway), and not one writer wake-up
 * per datagram at paced rates. */
#define FLUSH_MS 20
#define IDLE_MS  200
/* How often templates not refreshed are looked for (the timeout is minutes by default; a
 * second is also the finest a test may set). */
#define EXPIRY_EVERY_MS 1000
#define DAY_MS          86400000LL
/* While the store's mark is not known yet (the replay's gate), how often it is asked. */
#define GATE_POLL_MS 100

int decode_mark_cmp(struct decode_mark a, struct decode_mark b)
{
    int c = journal_pos_cmp(a.pos, b.pos);
    return c ? c : (a.part > b.part) - (a.part < b.part);
}

void decoder_init(struct decoder *d, struct journal *j, struct exporter_table *t,
                  struct flow_queue *q)
{
    memset(d, 0, sizeof(*d));
    d->journal = j;
    d->exporters = t;
    d->queue = q;
    d->held_known = true; /* no replay (decoder_set_replay) */
    struct log_limit lim = LOG_LIMIT_INIT(1.0, 10.0);
    d->reject_log = lim;
    d->expiry_log = lim;
    COUNTER_SET(d->beat_ms, mono_ms());
}

void decoder_set_replay(struct decoder *d, const struct decoder_replay *r)
{
    d->replay = *r;
    d->replaying = r->state_end.seg != 0;
    d->held_known = !r->held_mark;
}

static void push(struct decoder *d)
{
    flowq_push(d->queue, d->cur);
    d->cur = NULL;
}

/* A free batch stamped with the position its flows start after, or NULL when the writer has
 * none free. */
static struct flow_batch *new_batch(struct decoder *d, const struct journal_pos *at)
{
    struct flow_batch *b = flowq_get_free(d->queue);
    if (!b)
        return NULL;
    b->src_seg = at->seg;
    b->src_off = at->off;
    b->src_whole = true;
    b->store_only = d->store_only;
    d->cur_since = mono_ms();
    return b;
}

/* Adds f to the current batch; false when there is no room (never waits). */
static bool put(struct decoder *d, const struct journal_pos *at, const struct flow *f)
{
    if (d->cur && d->cur->n == FLOW_BATCH_CAP) {
        d->cur->src_part = d->dgram_passed; /* ends inside this datagram (see decoder.h) */
        push(d);
    }
    if (!d->cur && !(d->cur = new_batch(d, at)))
        return false;
    d->cur->flows[d->cur->n++] = *f;
    d->cur->src_whole = false;
    d->dgram_passed++;
    COUNTER_ADD(d->flows_queued, 1);
    return true;
}

struct emit_ctx {
    struct decoder *d;
    const struct journal_pos *before; /* the end of the previous datagram */
};

/* Called by the decoders with the exporter table locked, which the writer needs for its
 * commit: so it never waits for the writer. A flow that finds no room, and every later one
 * of the datagram (order is kept), is set aside and queued once the lock is released. */
static bool emit_to_batch(void *arg, const struct flow *f)
{
    struct emit_ctx *c = arg;
    struct decoder *d = c->d;
    if (!d->n_aside && d->dgram_passed < d->dgram_skip) {
        d->dgram_passed++; /* the store holds it already (the replay) */
        return true;
    }
    if (d->n_aside || !put(d, c->before, f)) {
        if (d->n_aside == d->cap_aside) {
            d->cap_aside = d->cap_aside ? 2 * d->cap_aside : FLOW_BATCH_CAP;
            d->aside = xreallocarray(d->aside, d->cap_aside, sizeof(*d->aside));
        }
        d->aside[d->n_aside++] = *f;
    }
    return true;
}

/* The flows set aside, waiting for the writer to free batches: the datagrams wait in the
 * journal meanwhile, on disk, and none is dropped for want of room. */
static void queue_aside(struct decoder *d, const struct journal_pos *before)
{
    for (size_t i = 0; i < d->n_aside; i++)
        while (!put(d, before, &d->aside[i])) {
            COUNTER_ADD(d->waits, 1);
            COUNTER_SET(d->beat_ms, mono_ms()); /* waiting for the writer, whose beat says more */
            poll(NULL, 0, 1);
        }
    d->n_aside = 0;
}

/* A datagram longer than the receive buffer was cut by the kernel: rejected, never decoded. */
static enum reject_reason reject_truncated(struct exporter_table *t, const struct journal_rec *r)
{
    exporters_count_rejected(t, &r->from, r->received_ms, REJ_BAD_LENGTH);
    return REJ_BAD_LENGTH;
}

enum fate { DECODE, STORE_ONLY, SKIP };

/* What the replay makes of a datagram (see decoder.h). */
static enum fate replay_fate(struct decoder *d, const struct journal_pos *before,
                             const struct journal_pos *after)
{
    const struct decoder_replay *r = &d->replay;
    d->dgram_skip = 0;
    if (!d->replaying)
        return DECODE;
    if (journal_pos_cmp(*after, r->held.pos) <= 0)
        return SKIP;
    if (journal_pos_cmp(*after, r->state_end) <= 0) {
        if (journal_pos_cmp(*before, r->held.pos) == 0)
            d->dgram_skip = r->held.part;
        return STORE_ONLY;
    }
    d->replaying = false; /* past what the state has: as usual from here on */
    return DECODE;
}

/* A datagram's flows start a new batch when they go elsewhere than the current one's: to the
 * store only, or into another receive day (decoder.h). Between two datagrams: whole. */
static void start_datagram(struct decoder *d, const struct journal_rec *r, bool store_only)
{
    int64_t day = r->received_ms > 0 ? r->received_ms / DAY_MS : 0;
    if (d->cur && (d->cur_day != day || d->store_only != store_only))
        push(d);
    d->cur_day = day;
    d->store_only = store_only;
    d->dgram_passed = 0;
}

static void decode_one(struct decoder *d, const struct journal_rec *r, const uint8_t *data,
                       const struct journal_pos *before, const struct journal_pos *after)
{
    enum fate fate = replay_fate(d, before, after);
    if (fate == SKIP) {
        COUNTER_ADD(d->skipped, 1);
        return;
    }
    start_datagram(d, r, fate == STORE_ONLY);
    struct exporter_table *t = fate == STORE_ONLY ? d->replay.table : d->exporters;
    struct emit_ctx c = {d, before};
    struct flow_emitter out = {emit_to_batch, &c};
    enum reject_reason why = r->truncated
                                 ? reject_truncated(t, r)
                                 : decode_packet(t, &r->from, data, r->len, r->received_ms, &out);
    queue_aside(d, before);
    COUNTER_ADD(d->datagrams, 1);
    if (fate == STORE_ONLY) {
        COUNTER_ADD(d->replayed, 1);
        why = REJ_NONE; /* counted and logged when it was first decoded */
    }
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

static void log_expiry(void *ctx, const struct exporter *e, const struct exporter_domain *dom,
                       unsigned n)
{
    struct decoder *d = ctx;
    char a[FH_ADDR_STRLEN];
    log_ratelimited(&d->expiry_log, LOG_LVL_INFO,
                    "expired %u v9/IPFIX templates of %s domain %u (not refreshed for %lld s)", n,
                    addr_to_str(&e->addr, a, sizeof(a)), dom->domain,
                    (long long)(d->exporters->templates.timeout_ms / 1000));
}

/* Templates are received on the wall clock (as flows are); the sweep is timed on the
 * monotonic one, so that a clock step does not stop it. It runs in the thread that decodes,
 * the only one that changes templates. */
static void expire_if_due(struct decoder *d)
{
    int64_t mono = mono_ms();
    if (mono < d->next_expiry)
        return;
    d->next_expiry = mono + EXPIRY_EVERY_MS;
    decode_expire_templates(d->exporters, now_ms(), log_expiry, d);
}

/* The replay's gate: the store's mark, asked until it knows it. */
static bool held_known(struct decoder *d)
{
    if (d->held_known)
        return true;
    if (!d->replaying || d->replay.held_mark(d->replay.ctx, &d->replay.held) == 1)
        d->held_known = true;
    return d->held_known;
}

static bool done(struct decoder *d)
{
    if (!atomic_load(&d->stop))
        return false;
    if (!d->held_known)
        return true; /* nothing can be decoded before the store says what it holds */
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
        COUNTER_SET(d->beat_ms, mono_ms());
        if (!held_known(d)) {
            poll(NULL, 0, GATE_POLL_MS);
            continue;
        }
        expire_if_due(d);
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
    free(d->aside);
    d->aside = NULL;
    d->cap_aside = 0;
}

static void *decoder_main(void *arg)
{
    thread_nice("decoder", DECODER_NICE);
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
