/* conn.h - TCP connections rebuilt from flow records (fragments, one per direction).
 *
 * A record is one direction of (part of) a connection, as one exporter saw it. The tracker
 * keeps one entry per (exporter, 5-tuple in canonical order): the connection being built
 * from that entry's records, and a copy of the last established connection (what the
 * stale-state detector compares later attempts with). Records are:
 *   - paired: the other direction of the same connection joins it (any order);
 *   - stitched: a record without SYN continues the connection (active-timeout splits, and
 *     idle-timeout records of a connection that was only quiet);
 *   - split: a record with SYN that starts after that direction's data ends starts a new
 *     connection (port reuse, retried attempts); a reply that arrived before its SYN is
 *     moved to the new connection.
 * Client and server are decided per connection (conn_role_rule_name says which rule won).
 * Memory is bounded: at most `cap` entries, in one pool allocated at the start (its pages are
 * touched only as entries are first used; no allocation per connection); the least recently
 * touched entry is evicted (counted) when full, and entries expire in flow time (see
 * conn_tracker_sweep). */
#ifndef FLOWHOUND_CONN_H
#define FLOWHOUND_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/flow.h"

/* One direction of a connection: the sum of its records. */
struct conn_dir {
    uint64_t packets, bytes;
    int64_t first_ms, last_ms;
    uint16_t flags;  /* OR of the records' tcp_flags */
    uint8_t initial; /* initialTCPFlags of the first record, when exported */
    uint8_t has_initial;
    uint8_t end_reason; /* of the last record (0 = not exported) */
    uint16_t records;
};

/* Connection states: Zeek's conn_state words, plus SBA ("SYN answered by a bare ACK"). */
enum conn_state {
    CS_S0,     /* SYN, no reply */
    CS_SBA,    /* SYN answered by ACK without SYN (stale state answering) */
    CS_REJ,    /* SYN answered by RST */
    CS_RSTOS0, /* SYN then RST from the client, no SYN-ACK */
    CS_SH,     /* SYN (and FIN) from the client, reply without handshake */
    CS_S1,     /* established, not closed */
    CS_SF,     /* established, closed by FIN both ways */
    CS_S2,     /* established, FIN from the client only */
    CS_S3,     /* established, FIN from the server only */
    CS_RSTO,   /* established, client reset */
    CS_RSTR,   /* established, server reset */
    CS_OTH,    /* no SYN seen: mid-stream */
};

enum conn_role_rule {
    ROLE_INITIAL_FLAGS, /* initialTCPFlags: the side whose first packet was a bare SYN */
    ROLE_SYN,           /* only one side sent SYN, or SYN without ACK */
    ROLE_SYN_FIRST,     /* both sent SYN: the earlier start is the client */
    ROLE_PRIOR,         /* as the previous connection of the same 5-tuple */
    ROLE_PORT,          /* the well-known (< 1024) or else the lower port is the server */
};

/* A connection as the detector and the store see it: oriented client -> server. */
struct conn_info {
    uint32_t exporter; /* the analyzer's exporter index */
    struct fh_addr client, server;
    uint16_t cport, sport;
    struct conn_dir c, s; /* client->server, server->client (records == 0: not seen) */
    int64_t start_ms, end_ms;
    uint32_t records;
    enum conn_role_rule rule;
    enum conn_state state;
};

const char *conn_state_name(enum conn_state s);
const char *conn_role_rule_name(enum conn_role_rule r);
/* Classifies a connection from its two directions (c, s as in conn_info). */
enum conn_state conn_classify(const struct conn_dir *c, const struct conn_dir *s);
/* Established: handshake seen, or data both ways. */
bool conn_state_established(enum conn_state s);
/* Established and ended without FIN or RST. */
bool conn_state_unclosed(enum conn_state s);
/* A connection attempt that never completed (client sent SYN, never ACK). */
bool conn_state_attempt(enum conn_state s);

struct conn_info;
/* Established (incl. OTH with ACKs both ways) / established and no FIN or RST either way. */
bool conn_established(const struct conn_info *ci);
bool conn_unclosed(const struct conn_info *ci);

struct conn_entry;

struct conn_events {
    /* The entry's current connection changed (a record joined or started it). */
    void (*updated)(void *ctx, struct conn_entry *e, const struct conn_info *ci);
    /* A connection is finished: replaced by a newer one, expired, evicted or flushed. */
    void (*done)(void *ctx, struct conn_entry *e, const struct conn_info *ci);
    void *ctx;
};

struct conn_tracker_opts {
    size_t cap;          /* most entries kept (default 1048576, at most 2^30) */
    int64_t linger_ms;   /* keep a finished, closed connection's entry this long (flow time) */
    int64_t window_ms;   /* keep an unclosed established connection this long (stale window) */
    int64_t pair_tol_ms; /* time tolerance when pairing directions (default 2000) */
};

struct conn_tracker;

struct conn_tracker *conn_tracker_new(const struct conn_tracker_opts *o,
                                      const struct conn_events *ev);
void conn_tracker_free(struct conn_tracker *t);
/* Feeds one record (TCP only; others are ignored: returns NULL). */
struct conn_entry *conn_tracker_add(struct conn_tracker *t, uint32_t exporter,
                                    const struct flow *f);
/* The analyzer's rule for the records connections are rebuilt from, live (alerts/analyzer.c)
 * and on request (alerts/conn_rebuild.c) alike: TCP, and not sampled (the flags of a sampled
 * flow prove nothing about one connection). */
bool conn_flow_tracked(const struct flow *f);
/* Feeds one tracked record, then the reverse direction an RFC 5103 biflow carries (rev_*
 * fields) as a record of its own. */
void conn_tracker_add_record(struct conn_tracker *t, uint32_t exporter, const struct flow *f);
/* Expires entries whose time has passed by their exporter's flow clock (clocks[exporter]). */
void conn_tracker_sweep(struct conn_tracker *t, const int64_t *clocks, size_t n_clocks);
/* Reports every current connection as done and empties the table (shutdown). */
void conn_tracker_flush(struct conn_tracker *t);

/* Looks up an entry without creating it. */
struct conn_entry *conn_tracker_find(struct conn_tracker *t, uint32_t exporter,
                                     const struct fh_addr *a, uint16_t pa, const struct fh_addr *b,
                                     uint16_t pb);
/* The entry's current connection. */
void conn_entry_current(const struct conn_entry *e, struct conn_info *out);
/* The last established connection finished on this entry into *out; false if none. */
bool conn_entry_last_established(const struct conn_entry *e, struct conn_info *out);

/* A new stale window (conn_tracker_opts.window_ms), for the entries updated from now on. */
void conn_tracker_set_window(struct conn_tracker *t, int64_t window_ms);
size_t conn_tracker_count(const struct conn_tracker *t);
uint64_t conn_tracker_evictions(const struct conn_tracker *t);
uint64_t conn_tracker_expired(const struct conn_tracker *t);
/* Bytes of memory one entry takes (for the documentation and the report). */
size_t conn_entry_size(void);

#endif
