/* receiver.h - the receive loop: poll the listeners, recvmmsg in batches, append every datagram
 * to the receive journal (collector/journal.h). Nothing else: decoding and storing read the
 * journal at their own pace (collector/decoder.h), so the sockets are read at the speed of
 * the disk's page cache whatever the store's pace. */
#ifndef FLOWHOUND_RECEIVER_H
#define FLOWHOUND_RECEIVER_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "collector/exporters.h"
#include "collector/journal.h"
#include "collector/listener.h"
#include "common/log.h"

struct receiver {
    struct listener *listeners;
    unsigned n_listeners;
    struct exporter_table *exporters; /* the kernel's drops are counted per exporter */
    struct journal *journal;
    bool unflushed;          /* records appended since the last journal_flush */
    int64_t unflushed_since; /* monotonic ms of the first of them */
    /* Changed by the receiver's thread only (common/counter.h), readable while it runs. */
    _Atomic uint64_t datagrams;
    _Atomic uint64_t journal_lost; /* datagrams the journal lost (bound, disk error) */
    _Atomic int64_t beat_ms;       /* mono_ms() of the loop's last turn: the receiver is alive */
    struct log_limit journal_log;
};

void receiver_init(struct receiver *r, struct listener *ls, unsigned n, struct exporter_table *t,
                   struct journal *j);
/* For journal_opts.on_lost (ctx: the receiver): counts a datagram the journal lost against
 * its exporter (reject reason journal_lost) and logs it, rate-limited. */
void receiver_journal_lost(void *ctx, const struct journal_rec *rec);
/* The most listeners one receiver polls. */
#define RECEIVER_MAX_LISTENERS 64

/* Runs until *stop is set (by a signal handler), then drains (receiver_finish). */
void receiver_run(struct receiver *r, volatile sig_atomic_t *stop);
/* Runs until *stop is set or the monotonic clock reaches until_ms, and returns without
 * draining: the caller (flowhoundd's main loop) acts on its own flags and runs it again. */
void receiver_run_for(struct receiver *r, volatile sig_atomic_t *stop, int64_t until_ms);
/* At stop: takes what the kernel queued (bounded in time) and flushes the journal. */
void receiver_finish(struct receiver *r);
/* Between two receiver_run_for calls (in the receiver's thread): the listeners from now on. */
void receiver_set_listeners(struct receiver *r, struct listener *ls, unsigned n);
/* Reads what waits in a listener about to be closed (up to 2 s). False when datagrams were
 * still left in it. */
bool receiver_drain_listener(struct receiver *r, struct listener *l);

#endif
