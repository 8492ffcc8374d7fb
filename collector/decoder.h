/* decoder.h - the decode stage: reads the receive journal in order, decodes each datagram
 * (v5, v9, IPFIX) and hands the flows to the writer in batches, each stamped with the journal
 * position the writer commits with it.
 *
 * It runs in a thread of its own between the receiver (which only appends to the journal) and
 * the writer (which only stores), so the three stages use the cores side by side. When the
 * queue to the writer is full it waits: the datagrams wait in the journal, on disk, and none
 * is dropped for want of room.
 *
 * A batch's position is the end of the last datagram whose flows it completes; `whole` is
 * false when the batch ends inside a datagram (its flows continue in the next batch). The
 * writer commits only after a whole batch, so the committed position never splits a
 * datagram: replaying from it stores each flow exactly once. A batch that ends inside a
 * datagram says how many of its flows it holds (src_part): (position, part) is then the exact
 * place of its end, a decode_mark. A batch never spans two receive days (UTC), so that a store
 * partitioned by receive day can cut its inserts at batch ends, where the place is exact.
 *
 * The replay (decoder_set_replay), for a store that takes flows after the state's commit
 * (ClickHouse: storage/ch_sink.h): the state (exporter counters, templates, alerts) has every
 * datagram up to state_end, the store only those up to a mark it holds. The datagrams up to
 * that mark are skipped; those after it up to state_end are decoded with a table of their own
 * (so that no counter counts them twice) into batches flagged store_only; the rest as usual. */
#ifndef FLOWHOUND_DECODER_H
#define FLOWHOUND_DECODER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "collector/exporters.h"
#include "collector/journal.h"
#include "common/flowqueue.h"
#include "common/log.h"

/* The place of a flow boundary in the journal: after every flow of the datagrams before
 * pos, and the first `part` flows of the datagram at pos. */
struct decode_mark {
    struct journal_pos pos;
    uint32_t part;
};

/* <0, 0, >0 as a is before, at, after b. */
int decode_mark_cmp(struct decode_mark a, struct decode_mark b);

struct decoder_replay {
    struct journal_pos state_end; /* the state has the datagrams before it */
    struct exporter_table *table; /* decodes the datagrams the state has (templates loaded) */
    /* The store's mark: 1 and *held once it knows it (called in the decoder's thread until
     * then: nothing is decoded meanwhile), 0 while it does not; NULL: `held` below. */
    int (*held_mark)(void *ctx, struct decode_mark *held);
    void *ctx;
    struct decode_mark held;
};

struct decoder {
    struct journal *journal;
    struct exporter_table *exporters;
    struct flow_queue *queue;
    struct flow_batch *cur;
    struct flow *aside; /* flows of the datagram being decoded that found no room */
    size_t n_aside, cap_aside;
    int64_t cur_since; /* monotonic ms when cur got its first flow */
    int64_t cur_day;   /* the receive day of cur's flows */
    /* the datagram being decoded: its flows passed (put in a batch, or skipped), and how
     * many of its first flows the store holds already */
    uint32_t dgram_passed, dgram_skip;
    struct decoder_replay replay; /* state_end {0, 0}: none */
    bool replaying, held_known, store_only;
    pthread_t thread;
    atomic_bool stop;          /* decoder_stop: drain what the journal holds, then end */
    int64_t drain_deadline_ms; /* monotonic; at stop, what is left stays for the next start */
    /* Changed by the decoder's thread only (common/counter.h), readable while it runs. */
    _Atomic uint64_t datagrams, rejected, flows_queued, waits;
    _Atomic uint64_t replayed, skipped; /* datagrams decoded for the store only, or skipped */
    _Atomic bool drained;               /* at stop: everything in the journal was decoded */
    _Atomic int64_t beat_ms; /* mono_ms() of the loop's last turn: the decoder is alive */
    struct log_limit reject_log;
    struct log_limit expiry_log;
    int64_t next_expiry; /* monotonic ms of the next sweep of templates not refreshed */
};

void decoder_init(struct decoder *d, struct journal *j, struct exporter_table *t,
                  struct flow_queue *q);
/* Before decoder_start: the replay above (the decoder reads from the journal's position, at
 * or before the store's mark). */
void decoder_set_replay(struct decoder *d, const struct decoder_replay *r);
int decoder_start(struct decoder *d);
/* Asks the thread to decode what the receiver has flushed to the journal (at most until
 * deadline_ms from now), hand over the last batch and end; then joins it. */
void decoder_stop(struct decoder *d, int64_t deadline_ms);
/* The decode loop, in the calling thread, until decoder_stop's flag (tests, batch tools). */
void decoder_run(struct decoder *d);

#endif
