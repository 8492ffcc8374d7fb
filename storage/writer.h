/* writer.h - the storage writer thread: pops flow batches, inserts them in big transactions
 * (committed at least every commit_interval_ms, so a crash loses at most that much), persists
 * exporter counters with each commit, and passes every batch to the consumers that follow
 * storage (the analyzer). */
#ifndef FLOWHOUND_WRITER_H
#define FLOWHOUND_WRITER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "collector/exporters.h"
#include "common/flowqueue.h"
#include "common/log.h"
#include "storage/store.h"

/* Called in the writer thread after a batch is stored (or failed to be). */
struct flow_consumer {
    void (*consume)(void *ctx, const struct flow *flows, size_t n);
    /* Called about once a second even without traffic, and once at shutdown (final=1). */
    void (*tick)(void *ctx, int64_t now_ms, int final);
    void *ctx;
};

#define WRITER_MAX_CONSUMERS 4

struct txn_count; /* per-exporter rows in the open transaction */

struct writer {
    struct store *store;
    struct flow_queue *queue;
    struct exporter_table *exporters;
    int64_t commit_interval_ms;
    struct flow_consumer consumers[WRITER_MAX_CONSUMERS];
    unsigned n_consumers;
    pthread_t thread;
    _Atomic uint64_t rows_stored, rows_failed, commits;
    int64_t txn_started;
    struct txn_count *txn;
    unsigned n_txn, cap_txn;
    struct log_limit err_log;
    /* retention (writer_set_retention) */
    int64_t retention_ms, max_bytes;
    _Atomic uint64_t partitions_dropped;
    /* after a store failure (disk full...): batches are dropped and counted, not tried,
     * until retry_at (monotonic ms); full_dropped counts them for the "resumed" message */
    bool failing;
    int64_t retry_at;
    uint64_t failing_dropped;
};

void writer_init(struct writer *w, struct store *s, struct flow_queue *q,
                 struct exporter_table *t, int64_t commit_interval_ms);
void writer_add_consumer(struct writer *w, struct flow_consumer c);
/* Drop partitions older than retention_ms and/or while the store exceeds max_bytes (0 = no
 * limit), checked about once a second between transactions (store_expire). */
void writer_set_retention(struct writer *w, int64_t retention_ms, int64_t max_bytes);
int writer_start(struct writer *w);
/* Waits until the queue (closed by the caller) is drained and everything committed. */
void writer_join(struct writer *w);
/* Drains and commits synchronously in the calling thread (for tests and batch tools). */
void writer_run(struct writer *w);

#endif
