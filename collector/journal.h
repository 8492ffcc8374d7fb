/* journal.h - the receive journal: every datagram, as received, on disk before it is decoded.
 *
 * The receiver thread appends each datagram (source, arrival time, bytes) to segment files in
 * one directory and does nothing else, so it keeps up with the socket whatever the store's
 * pace; a decoder thread reads the journal in order at its own pace. A burst above the store's
 * rate waits here, on disk, instead of in memory or in the kernel's socket buffer.
 *
 * Positions: a record is addressed by (segment, offset of the byte after it). The store
 * commits the position of the last datagram whose flows it holds in the same transaction as
 * those flows (storage/journal_pos), so after kill -9 or a power loss the restart reads from
 * exactly there: nothing lost, nothing stored twice. Segments wholly before the committed
 * position are deleted (journal_taken).
 *
 * Durability: the reader sees only what the appender has written (write(2): survives the
 * process) and, with sync on, what has reached the disk (fdatasync, done by the reader before
 * it reads, off the receiver's thread), so nothing the store took can vanish with a power
 * loss while the store's own last transactions survive it.
 *
 * Bounds: at most max_bytes of segments, and never less than min_free_bytes left on the
 * filesystem. When a new segment would pass either, the oldest segments are deleted first,
 * read or not: what was not read is counted (datagrams, bytes) and reported through on_lost.
 *
 * Format of a segment (little-endian, this machine's; the journal is not a transfer format):
 * a 32-byte header ("FHJOURN1", segment number, creation time), then records of a 40-byte
 * header (payload length, CRC-32 of the rest, arrival ms, address family, flags, port,
 * address) and the payload. A record that is cut short or fails its CRC ends its segment: the
 * torn tail of a crash is ignored and counted, never decoded.
 *
 * Threads: one appender and one reader; journal_taken and journal_get_stats from any thread. */
#ifndef FLOWHOUND_JOURNAL_H
#define FLOWHOUND_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"

#define JOURNAL_MAX_PAYLOAD 65535u

struct journal_pos {
    uint64_t seg; /* segment number (its file is %016llx.fhj) */
    uint64_t off; /* bytes into the segment file: the end of a record */
};

/* <0, 0, >0 as a is before, at, after b in the journal. */
static inline int journal_pos_cmp(struct journal_pos a, struct journal_pos b)
{
    if (a.seg != b.seg)
        return a.seg < b.seg ? -1 : 1;
    return a.off < b.off ? -1 : a.off > b.off;
}

/* One datagram as the receiver saw it. */
struct journal_rec {
    struct fh_addr from;
    uint16_t port;
    bool truncated; /* longer than the receive buffer (MSG_TRUNC): rejected when decoded */
    int64_t received_ms;
    uint32_t len;
};

struct journal_opts {
    const char *dir;
    uint64_t segment_bytes;  /* a new segment after this many bytes; default 64 MiB */
    uint64_t max_bytes;      /* all segments; default 8 GiB */
    uint64_t min_free_bytes; /* leave on the filesystem; default 512 MiB */
    bool no_sync;            /* reader skips fdatasync (power loss may then lose the tail) */
    /* A record deleted unread when over a bound, or that could not be written (disk full):
     * called in the appender's thread, for each. */
    void (*on_lost)(void *ctx, const struct journal_rec *r);
    void *ctx;
};

struct journal;

/* Opens (creating the directory) and starts reading at `from` (a position the store committed;
 * {0, 0}: from the oldest segment). Segments wholly before it are deleted. Appending always
 * starts a new segment after the newest one found. NULL with a message on error. */
struct journal *journal_open(const struct journal_opts *o, struct journal_pos from, char *err,
                             size_t errlen);
/* After the appender and the reader have stopped. */
void journal_close(struct journal *j);

/* ---- the appender's thread ---- */

/* Buffers one record; data is r->len bytes (at most JOURNAL_MAX_PAYLOAD). Writes when the
 * buffer is full. Returns 0, or -1 when it could not be written (disk full...): counted as
 * lost and the message kept for journal_last_error. */
int journal_append(struct journal *j, const struct journal_rec *r, const uint8_t *data);
/* Writes what is buffered and makes it visible to the reader. */
int journal_flush(struct journal *j);

/* ---- the reader's thread ---- */

/* The next record: 1 with *r, *data (valid until the next call) and *after (the position to
 * commit once its flows are stored); 0 when there is nothing more for now (waits up to
 * wait_ms for the appender); -1 on an error (message in err). */
int journal_next(struct journal *j, struct journal_rec *r, const uint8_t **data,
                 struct journal_pos *after, int wait_ms, char *err, size_t errlen);
/* Where this process appends (the start of a new segment): every position before it was
 * in the journal when it was opened. */
struct journal_pos journal_append_start(struct journal *j);
/* Where the reader is: the position before the record journal_next returns next. */
struct journal_pos journal_read_pos(struct journal *j);
/* Everything is read up to what the appender has flushed. */
bool journal_caught_up(struct journal *j);

/* ---- any thread ---- */

/* The store holds everything before pos: the segments wholly before it can go. */
void journal_taken(struct journal *j, struct journal_pos pos);

struct journal_stats {
    uint64_t appended;         /* records written since open */
    uint64_t read;             /* records handed to the reader since open */
    uint64_t bytes, segments;  /* on disk now */
    uint64_t lost, lost_bytes; /* deleted unread (over a bound) or not written */
    uint64_t torn;             /* records cut short or failing their CRC, skipped */
    uint64_t syncs;            /* fdatasync calls */
    uint64_t backlog_bytes;    /* flushed but not yet read */
};
void journal_get_stats(struct journal *j, struct journal_stats *st);
/* The last write error ("" if none). */
const char *journal_last_error(struct journal *j);

#endif
