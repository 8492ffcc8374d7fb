/* writer.h - the storage writer thread: pops flow batches, inserts them in big transactions
 * (committed at least every commit_interval_ms, so a crash loses at most that much), persists
 * exporter counters with each commit, and passes every batch to the consumers that follow
 * storage (the analyzer, the template saver).
 *
 * The writer owns the transactions. Consumers write on the writer's store connection
 * (writer_store) inside the writer's open transaction and learn its fate from the writer:
 * `committed` after a commit, `rolled_back` after a rollback (a failed insert or commit, e.g.
 * the disk full), so what they wrote in it is gone and theirs to write again. While the store
 * is failing the writer may hold no transaction when it calls consume or tick: a consumer then
 * writes nothing (store_in_transaction() tells) and keeps it for the next transaction. */
#ifndef FLOWHOUND_WRITER_H
#define FLOWHOUND_WRITER_H

#include <stdbool.h>
#include <stdint.h>

#include "collector/exporters.h"
#include "common/flowqueue.h"
#include "storage/store.h"

/* Called in the writer thread, in this order for each batch: consume, and later committed or
 * rolled_back for the transaction the batch went into. Any may be NULL. Batches flagged
 * store_only (the replay, collector/decoder.h) go to the sink only: the consumers had them. */
struct writer_consumer {
    /* A batch just inserted (or, while the store fails, dropped and counted). */
    void (*consume)(void *ctx, const struct flow *flows, size_t n);
    /* About once a second even without traffic, and once at shutdown (final). */
    void (*tick)(void *ctx, int64_t now_ms, bool final);
    /* The transaction of everything since the last committed/rolled_back is durable. */
    void (*committed)(void *ctx);
    /* ... was rolled back: nothing written in it is in the store. */
    void (*rolled_back)(void *ctx);
    void *ctx;
};

#define WRITER_MAX_CONSUMERS 4

/* Where the writer puts flows: the store's SQLite partitions (store_add_flow; the default),
 * or ClickHouse (storage/ch_sink.h), whose flows leave through its own queue while the
 * store keeps the rest (exporters, templates, alerts). Called in the writer thread. */
struct flow_sink {
    /* One flow of the open transaction. 0, or -1 with a message: the transaction is then
     * abandoned (rolled back, its flows counted as dropped). */
    int (*add)(void *ctx, const struct flow *f, char *err, size_t errlen);
    /* The transaction committed / was rolled back: the flows added since the last of these
     * calls are the sink's to keep / are gone. Either may be NULL. */
    void (*committed)(void *ctx);
    void (*rolled_back)(void *ctx);
    /* Retention between transactions, as store_expire: returns partitions dropped, or -1. */
    int (*expire)(void *ctx, int64_t now_ms, int64_t retention_ms, int64_t max_bytes, char *err,
                  size_t errlen);
    /* The writer is stopping, after its last commit: deliver what is held (bounded in time)
     * and count what cannot be. NULL: nothing is held. */
    void (*finish)(void *ctx);
    /* For a sink that holds flows after the commit (ClickHouse); each may be NULL. */
    /* The batch just added ends at its place in the receive journal (flow_batch.src_*). A sink
     * with `reached` takes the journal's positions itself: it tells the journal (journal_taken)
     * once its flows are delivered, and the writer does not. */
    void (*reached)(void *ctx, const struct flow_batch *b);
    /* In each transaction, before its commit: what the sink keeps in the store (how far it
     * has delivered). 0, or -1 with a message: the commit fails. */
    int (*save)(void *ctx, struct store *s, char *err, size_t errlen);
    /* Whether it has room for more flows, waiting up to wait_ms for some. While it has not,
     * the writer takes no batch: they wait in the queue, and the datagrams in the journal. */
    bool (*room)(void *ctx, int wait_ms);
    void *ctx;
};

struct writer;

struct writer *writer_new(struct store *s, struct flow_queue *q, struct exporter_table *t,
                          int64_t commit_interval_ms);
/* After writer_join (or writer_run): frees the writer, not the store, queue or table. */
void writer_free(struct writer *w);
/* Flows go to `sink` instead of the store's partitions (call before the writer starts). */
void writer_set_sink(struct writer *w, const struct flow_sink *sink);
/* Counts n records of one exporter domain that the store could not keep (dropped_store), as
 * the writer does for a failed transaction; for sinks that drop flows after the commit. */
void writer_count_dropped(struct exporter_table *t, const struct fh_addr *a, uint32_t domain,
                          uint8_t version, uint64_t n);
/* Returns 0, or -1 when WRITER_MAX_CONSUMERS are registered already. */
int writer_add_consumer(struct writer *w, const struct writer_consumer *c);
/* The store the writer writes, for consumers that write in its transactions. */
struct store *writer_store(struct writer *w);
/* The receive journal the batches come from: the position they bring the store to is saved
 * in the transaction that holds their flows, and the journal told after the commit
 * (journal_taken). Commits wait for a batch that ends at a datagram's end. */
void writer_set_journal(struct writer *w, struct journal *j);
/* The stop has begun: from now on the writer takes every batch, room in its sink or not, so
 * that the decoder can finish (what the sink cannot deliver in time it keeps for the next
 * start, flow_sink.finish). Any thread. */
void writer_drain(struct writer *w);
/* Drop partitions older than retention_ms and/or while the store exceeds max_bytes (0 = no
 * limit), checked about once a second between transactions (store_expire). */
void writer_set_retention(struct writer *w, int64_t retention_ms, int64_t max_bytes);
/* The longest time between commits (0: 1 s). */
void writer_set_commit_interval(struct writer *w, int64_t ms);
/* The mailbox: run(ctx) is called once in the writer's thread between two transactions (within
 * about a second), where it may call the writer_set_* functions above and change what the
 * consumers own (e.g. the analyzer's thresholds) without a lock; tasks run in the order
 * posted; ctx is the task's to free. Tasks posted before the queue is closed all run before
 * the writer ends. Returns a ticket (> 0) that writer_applied() reaches once the task has run, or
 * 0 when 8 tasks wait already (nothing posted). Any thread. */
uint64_t writer_post(struct writer *w, void (*run)(void *ctx), void *ctx);
uint64_t writer_applied(const struct writer *w);
int writer_start(struct writer *w);
/* Waits until the queue (closed by the caller) is drained and everything committed. With the
 * store failing at the end (a full disk), the exporter counters are still written, alone and
 * in the room of the store's reserve, or logged when not even they can be. */
void writer_join(struct writer *w);
/* Drains and commits synchronously in the calling thread (for tests and batch tools). */
void writer_run(struct writer *w);

/* Counters, readable from any thread while the writer runs. */
struct writer_stats {
    uint64_t rows_stored; /* committed */
    uint64_t rows_failed; /* dropped because the store failed (counted per exporter) */
    uint64_t commits;
    uint64_t partitions_dropped; /* by retention */
    bool failing;                /* writes fail (disk full...): batches dropped and counted */
    int64_t beat_ms;             /* mono_ms() of the writer loop's last turn */
    int64_t retention_ms, max_bytes, commit_interval_ms; /* in force */
};
void writer_get_stats(const struct writer *w, struct writer_stats *st);

#endif
