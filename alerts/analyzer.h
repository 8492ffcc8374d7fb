/* analyzer.h - the stale-state detector: connections rebuilt from flows (alerts/conn.h),
 * failed attempts after an unclosed connection, who holds the stale state, port exhaustion,
 * and the alert lifecycle. See doc/analyzer.md for the rules and every threshold.
 *
 * The same code runs in flowhoundd (a consumer of the storage writer) and in
 * `flowhound analyze` (over stored flows in arrival order). Windows and lifecycle use flow
 * time (each exporter's clock = the largest last_ms it reported, flows dated in the future
 * left out); the only receive-time
 * rule is the short hold before an alert is opened (so the other vantage point's records
 * can arrive), measured on the flows' received_ms, so a replay of stored flows makes the
 * same decisions as the live run did.
 *
 * Writes (connections, alerts, alert_events) go through the given store, inside the
 * transaction its owner keeps open (storage/writer.h: the writer; `flowhound analyze`: its own
 * loop) and never outside one. The owner reports the transaction's fate: after
 * analyzer_committed() the sinks hear of the events written in it; after
 * analyzer_rolled_back() those events are written again in the next transaction. Events that
 * happen while no transaction is open wait for the next. Without a store, sinks are called at
 * the end of each analyzer_consume / analyzer_tick. */
#ifndef FLOWHOUND_ANALYZER_H
#define FLOWHOUND_ANALYZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alerts/alert.h"
#include "common/flow.h"
#include "storage/store.h"
#include "storage/writer.h"

struct query;

struct analyzer_opts {
    int64_t stale_window_ms;          /* attempts this long after the unclosed connection: 24 h */
    int64_t quiet_ms;                 /* an episode ends after this long without attempts: 1 h */
    int64_t hold_ms;                  /* receive-time wait for other vantage points: 2 s */
    int64_t linger_ms;                /* keep closed connections' state: 2 min (flow time) */
    size_t max_conns;                 /* connection state table cap: 1048576 */
    unsigned attempt_max_packets;     /* a failed attempt is a SYN-only flow of at most: 16 */
    unsigned exhaustion_min_ports;    /* port_exhaustion: stale ports of one client: 3 */
    unsigned exhaustion_max_span;     /* ... within a range this wide: 16 */
    const char *const *vantage_inner; /* exporters on the server side: ADDR[/DOM] or * /DOM */
    size_t n_vantage_inner;
    bool store_connections; /* write the connections table */
    /* Flows ending more than this after their received_ms are not analysed: 10 min
     * (common/flowlimits.h). A clock ahead of ours would move its exporter's flow clock, and
     * with it the end of every open episode, forward. */
    int64_t clock_skew_ms;
};

void analyzer_opts_default(struct analyzer_opts *o);
/* Checks an exporter spec (ADDR, ADDR/DOMAIN or * /DOMAIN without the space). */
bool analyzer_vantage_spec_ok(const char *spec);

struct analyzer;

/* store may be NULL (nothing written; sinks still called). The vantage specs are copied. */
struct analyzer *analyzer_new(const struct analyzer_opts *o, struct store *s, char *err,
                              size_t errlen);
void analyzer_free(struct analyzer *a);
int analyzer_add_sink(struct analyzer *a, struct alert_sink sink);
/* After a restart on the same store: the open alerts of the earlier run go on. The stored
 * flows of their client ports (and of the ports their evidence names), read through `flows`
 * (the store the flows went to: the analyzer's own, or ClickHouse), are replayed through
 * the analyzer in the order they were received; the episodes this rebuilds carry on under the
 * stored ids, so that further failed attempts update the same alert and a connection or a
 * quiet period resolves it. Call once, after analyzer_new and before the first
 * analyzer_consume, without a transaction open. *resumed = the alerts carried on, *open = the
 * open alerts found (the others stay as stored). 0, or -1 with a message in err. */
int analyzer_resume(struct analyzer *a, struct query *flows, size_t *resumed, size_t *open,
                    char *err, size_t errlen);
void analyzer_consume(struct analyzer *a, const struct flow *flows, size_t n);
/* now_ms: receive clock (wall clock live, the last received_ms in a replay); final: flush. */
void analyzer_tick(struct analyzer *a, int64_t now_ms, bool final);
/* The transaction the analyzer wrote in was committed / rolled back (see above). */
void analyzer_committed(struct analyzer *a);
void analyzer_rolled_back(struct analyzer *a);
/* The four calls above as a consumer of the storage writer (its store must be the
 * analyzer's). */
struct writer_consumer analyzer_consumer(struct analyzer *a);

struct analyzer_stats {
    uint64_t records, tcp_records;
    uint64_t sampled_skipped; /* TCP records of sampled flows: not analysed */
    uint64_t future_skipped;  /* TCP records dated beyond clock_skew_ms: not analysed */
    size_t conns_tracked, conn_cap;
    uint64_t conn_evictions, conn_expired;
    uint64_t episodes_evicted;
    uint64_t alerts_opened, alerts_updated, alerts_resolved;
    uint64_t store_errors;
    size_t bytes_per_conn;
    int64_t stale_window_ms, quiet_ms, hold_ms; /* the thresholds in force */
};
/* As of the end of the last analyzer_consume or analyzer_tick (or analyzer_set_opts): any
 * thread may ask while another feeds the analyzer. */
void analyzer_get_stats(struct analyzer *a, struct analyzer_stats *st);
/* Changes the thresholds of a running analyzer, keeping its state (connections, episodes,
 * open alerts): stale_window_ms, quiet_ms, hold_ms, store_connections and the vantage specs
 * (copied) are taken from o; max_conns and the rest stay as analyzer_new set them. Call in
 * the thread that feeds it (flowhoundd: through the writer's mailbox). A new stale window
 * applies to connections as they are next updated; a new hold to episodes started after. */
void analyzer_set_opts(struct analyzer *a, const struct analyzer_opts *o);
/* The last store error, "" if none. */
const char *analyzer_last_error(const struct analyzer *a);

#endif
