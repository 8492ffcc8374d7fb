/* sequence.h - loss accounting from an exporter's sequence numbers, wrap-safe.
 *
 * Each protocol numbers a different unit: v5 flows (flow_sequence = flows sent before this
 * packet), v9 export packets, IPFIX data records. The caller says how many units this packet
 * carries; we compare its sequence with the one we expected. The first packet after start-up
 * sets the baseline (no loss is claimed for what happened before we listened). */
#ifndef FLOWHOUND_SEQUENCE_H
#define FLOWHOUND_SEQUENCE_H

#include <stdbool.h>
#include <stdint.h>

struct seq_state {
    bool started;
    uint32_t expected;   /* the sequence number the next packet should carry */
    uint64_t lost;       /* units missing (gaps) */
    uint64_t duplicates; /* packets whose sequence we had already passed (late or replayed) */
    uint64_t resets;     /* jumps too large to be loss: exporter restarted or renumbered */
};

enum seq_event { SEQ_OK, SEQ_FIRST, SEQ_GAP, SEQ_DUPLICATE, SEQ_RESET };

/* A jump larger than this (forward) is taken as a reset, not as loss. */
#define SEQ_RESET_THRESHOLD (1u << 24)

enum seq_event seq_update(struct seq_state *s, uint32_t seq, uint32_t units);

#endif
