/* backlog.h - received datagrams held raw in memory while the writer catches up.
 *
 * A burst can arrive faster than SQLite stores it. Decoded flows are large (struct flow is
 * 248 bytes; a v5 record is 48 on the wire), so when the flow queue is full the receiver
 * keeps reading the sockets and parks the datagrams here, raw and in arrival order, and
 * decodes them when the queue has room again. Memory is bounded by `limit` bytes; chunks are
 * allocated while it grows and freed (returned to the system) as it drains, so the daemon's
 * memory at a sustained rate does not include it. When it is full, datagrams wait in the
 * socket buffer and what overflows that the kernel drops and counts (SO_RXQ_OVFL). */
#ifndef FLOWHOUND_BACKLOG_H
#define FLOWHOUND_BACKLOG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"

/* What the receiver knew of a datagram when it read it. */
struct backlog_item {
    struct fh_addr from;
    int64_t received_ms;
    uint32_t len;
    uint8_t truncated; /* MSG_TRUNC: longer than the receive buffer (rejected when decoded) */
};

struct backlog_chunk;

/* bytes, count and peak_bytes: changed by the owner's thread only (common/counter.h), readable
 * while it runs. */
struct backlog {
    size_t limit;                      /* most bytes held (chunks included whole) */
    _Atomic size_t bytes;              /* bytes of chunks allocated now */
    _Atomic size_t count;              /* datagrams held */
    _Atomic size_t peak_bytes;         /* largest `bytes` seen (for the stop log and tests) */
    _Atomic uint64_t total;            /* datagrams ever parked */
    struct backlog_chunk *head, *tail; /* read from head, append at tail */
};

/* The largest datagram a chunk takes (and the receive buffer: a UDP payload is < 64 KiB). */
#define BACKLOG_MAX_DATAGRAM 65536

void backlog_init(struct backlog *b, size_t limit);
void backlog_free(struct backlog *b);
static inline bool backlog_empty(const struct backlog *b)
{
    return b->count == 0;
}
/* True when `n` more datagrams of up to BACKLOG_MAX_DATAGRAM bytes surely fit. */
bool backlog_room_for(const struct backlog *b, size_t n);
/* Copies one datagram in at the tail. False (nothing stored) when the limit would be passed
 * or the system has no memory for another chunk. */
bool backlog_push(struct backlog *b, const struct backlog_item *it, const uint8_t *data);
/* The oldest datagram, or NULL when empty; valid until the next pop. */
const struct backlog_item *backlog_peek(const struct backlog *b, const uint8_t **data);
void backlog_pop(struct backlog *b);

#endif
