/* ch_sink.h - the ClickHouse backend's write side: the writer's flows leave through here.
 *
 * The writer (its thread) encodes each flow of a transaction in RowBinary into blocks (one
 * per receive day, at most CH_BLOCK_ROWS rows: each INSERT is then one part, which ClickHouse
 * stores whole or not at all). When the transaction commits, its blocks join a queue bounded
 * in bytes (buffer_bytes); a block that does not fit is dropped and its flows counted as
 * dropped_store per exporter, so a slow or stopped ClickHouse never blocks the writer, let
 * alone the socket. A sender thread inserts the blocks in order over HTTP, retrying with a
 * backoff (0.1 s doubling to 5 s) for as long as the server is away. After a failure that
 * leaves the outcome unknown (the connection broke or timed out after the rows went out), it
 * asks the server whether the block's rows are there (by instance and seq) before sending
 * them again: no duplicates. At stop it keeps trying for stop_wait_ms, then counts what is
 * left as dropped_store. Retention (drop whole receive days) runs in the sender thread too.
 *
 * With the receive journal, the journal and not this queue is the buffer: the hook for it is
 * the position a block will carry (doc/clickhouse.md). */
#ifndef FLOWHOUND_CH_SINK_H
#define FLOWHOUND_CH_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collector/exporters.h"
#include "storage/store_url.h"
#include "storage/writer.h"

#define CH_BLOCK_ROWS 500000

struct ch_sink_options {
    struct store_url url;
    const char *instance; /* this collector's name in the cluster */
    int64_t buffer_bytes; /* encoded flows waiting for ClickHouse, at most */
    int64_t stop_wait_ms; /* how long the last blocks are tried at stop; 0 = 5 s */
};

struct ch_sink;

/* Checks the server (version, schema: created or migrated) and starts the sender thread. A
 * server that cannot be reached is not an error: the sender sets the schema up when it
 * comes (the flows wait in the queue meanwhile), and *warning says so. A server that answers
 * with an error (a schema newer than ours, credentials refused) is: NULL with a message. */
struct ch_sink *ch_sink_start(const struct ch_sink_options *o, struct exporter_table *t,
                              char *warning, size_t wlen, char *err, size_t errlen);
/* The writer's sink (writer_set_sink). */
struct flow_sink ch_sink_flow_sink(struct ch_sink *s);
/* After the writer has finished (its finish call stopped the sender thread). */
void ch_sink_free(struct ch_sink *s);

/* Counters, readable from any thread. */
struct ch_sink_stats {
    uint64_t rows_inserted; /* in ClickHouse */
    uint64_t rows_dropped;  /* counted as dropped_store: queue full, or not sent at stop */
    uint64_t rows_queued;   /* committed, waiting to be inserted */
    uint64_t bytes_queued;
    uint64_t inserts, retries, checks; /* checks: outcome asked after a broken insert */
    uint64_t partitions_dropped;       /* by retention */
    uint64_t buffer_bytes;             /* the queue's bound (buffer_bytes) */
    /* mono_ms() since which the server has not taken the queue's head (unreachable, the
     * schema not set up, inserts failing); 0 while it does */
    int64_t failing_since_ms;
};
void ch_sink_get_stats(struct ch_sink *s, struct ch_sink_stats *st);

#endif
