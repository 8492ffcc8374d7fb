/* ch_sink.h - the ClickHouse backend's write side: the writer's flows leave through here.
 *
 * The writer (its thread) encodes each flow of a transaction in RowBinary into blocks (one
 * per receive day, about CH_BLOCK_ROWS rows at most: each INSERT is then one part, which
 * ClickHouse stores whole or not at all), each ending at a batch's end, whose place in the
 * receive journal is exact (collector/decoder.h). When the transaction commits, its blocks
 * join a queue bounded in bytes (buffer_bytes); while it is full the writer waits
 * (flow_sink.room), and with it the decoder: the datagrams wait in the journal, on disk. A
 * sender thread inserts the blocks in order over HTTP, retrying with a backoff (0.1 s
 * doubling to 5 s) for as long as the server is away, each after its journal mark
 * (storage/ch_marks.h); once a block is in, the journal before its mark can go
 * (journal_taken), and the state records how far ClickHouse has it (storage/ch_resume.h).
 * After a failure that leaves the outcome unknown (the connection broke or timed out after
 * the rows went out), it asks the server whether the block's rows are there (by instance and
 * seq) before sending them again: no duplicates. At stop it keeps trying for stop_wait_ms;
 * what is left stays in the journal, and the next start resumes after ClickHouse's newest
 * mark (ch_sink_held): no loss, no duplicates, across a crash too. Retention (drop whole
 * receive days) runs in the sender thread as well. */
#ifndef FLOWHOUND_CH_SINK_H
#define FLOWHOUND_CH_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collector/exporters.h"
#include "collector/journal.h"
#include "storage/ch_resume.h"
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

/* Checks the server (version, schema: created or migrated, its newest journal mark of this
 * instance) and starts the sender thread. A server that cannot be reached is not an error:
 * the sender sets the schema up when it comes (the flows wait meanwhile), and *warning says
 * so. A server that answers with an error (a schema newer than ours, credentials refused)
 * is: NULL with a message. */
struct ch_sink *ch_sink_start(const struct ch_sink_options *o, struct exporter_table *t,
                              char *warning, size_t wlen, char *err, size_t errlen);
/* The writer's sink (writer_set_sink). */
struct flow_sink ch_sink_flow_sink(struct ch_sink *s);
/* After the writer has finished (its finish call stopped the sender thread). */
void ch_sink_free(struct ch_sink *s);
/* The receive journal the writer's batches come from (before the writer starts; without one,
 * what is not delivered at stop is counted as dropped_store), the state's place in it (it has
 * every datagram before state_end), and the sender's record the state saved
 * (ch_resume_load). */
void ch_sink_set_journal(struct ch_sink *s, struct journal *j, struct journal_pos state_end,
                         const struct ch_resume *saved);
/* The decoder's replay gate (decoder_replay.held_mark, ctx the sink): 1 and the mark after
 * which ClickHouse lacks the flows, once known: when ClickHouse has answered, or at once after
 * a clean stop (the state's record is exact then); 0 while not. Any thread. */
int ch_sink_held(void *ctx, struct decode_mark *held);

/* Counters, readable from any thread. */
struct ch_sink_stats {
    uint64_t rows_inserted; /* in ClickHouse */
    uint64_t rows_dropped;  /* counted as dropped_store: not sent at stop, without a journal */
    uint64_t rows_left;     /* not sent at stop: left in the journal for the next start */
    uint64_t rows_queued;   /* committed, waiting to be inserted */
    uint64_t bytes_queued;
    uint64_t inserts, retries, checks; /* checks: outcome asked after a broken insert */
    uint64_t partitions_dropped;       /* by retention */
    uint64_t buffer_bytes;             /* the queue's bound (buffer_bytes) */
    /* mono_ms() since which the server has not taken the queue's head (unreachable, the
     * schema not set up, inserts failing); 0 while it does */
    int64_t failing_since_ms;
    bool full; /* the queue is full: the writer waits (the journal holds the rest) */
};
void ch_sink_get_stats(struct ch_sink *s, struct ch_sink_stats *st);

#endif
