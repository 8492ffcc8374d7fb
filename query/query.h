/* query.h - the one read path over the store, shared by the web UI, the JSON API and the
 * `flowhound query` CLI: flows and top-N statistics, filtered (query/filter.h), restricted to a
 * time range, ordered, paged, and bounded in time.
 *
 * Rows reach the caller in one of two forms:
 *   - a callback per row with the live sqlite3_stmt (read columns by index; names with
 *     sqlite3_column_name). Cheapest: no allocation per row. Do not step or reset it.
 *   - jansson: query_row_json() turns one such row into an object, and the *_json helpers
 *     collect a whole (limited!) result into an array of objects.
 *
 * Flow rows have exactly the columns of the `flows` view, in its order (storage/schema.sql).
 * Top-N rows have the columns
 *     key, flows, packets, bytes, first_ms, last_ms, total_flows, total_packets, total_bytes
 * where key is the grouped value (address TEXT or INTEGER; NULL for flows that do not carry
 * the field, e.g. no AS), first_ms and last_ms the span of the group's flows (the earliest
 * first seen, the latest last seen), and total_* are the sums over every flow the request selected
 * (all groups, before the limit), for percentages; with the combined statistics (ip, port,
 * as, if) a flow counts once per side, in its groups and in the totals alike.
 *
 * Time range: a flow is in [from_ms, to_ms] when it overlaps it (first_ms <= to_ms and
 * last_ms >= from_ms); INT64_MIN / INT64_MAX leave a side open. Partitions that cannot hold
 * such flows are not read at all.
 *
 * Errors: functions return 0, or one of the negative QUERY_E* codes with a message in err.
 * Nothing here logs or exits. One struct query is one SQLite connection: use it from one
 * thread at a time (open one per web worker thread). Scans over several partitions (filtered
 * listings, counts, top-N) also open short-lived worker connections and threads of their
 * own; query_set_threads(q, 1) keeps everything in the calling thread. */
#ifndef FLOWHOUND_QUERY_H
#define FLOWHOUND_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#include "common/flow.h"
#include "query/filter.h"

enum {
    QUERY_EFAIL = -1,    /* SQLite or the store failed (message says why) */
    QUERY_ETIMEOUT = -2, /* the query ran longer than the time limit */
    QUERY_EINVALID = -3, /* the request itself is wrong (unknown order column, from > to) */
};

/* Default time limit of a query, ms. */
#define QUERY_DEFAULT_TIME_LIMIT_MS 10000

struct query;

/* Opens the store at path read-only (storage/store.h STORE_RO); a store URL works too
 * (query_open_store). */
struct query *query_open(const char *path, char *err, size_t errlen);
/* Opens the store a URL names (storage/store_url.h): sqlite:PATH or a bare path as
 * query_open, or clickhouse://..., whose flows are read from ClickHouse (query_ch.c). With
 * ClickHouse, `state` is the collector's own SQLite file (alerts, exporters): the connection
 * query_sqlite() gives (NULL: an empty in-memory database instead). */
struct query *query_open_store(const char *store, const char *state, char *err, size_t errlen);
void query_close(struct query *q);
/* Every later query stops with QUERY_ETIMEOUT after ms milliseconds; 0 = no limit. */
void query_set_time_limit(struct query *q, int64_t ms);
/* Filtered listings scan their partitions with up to n threads, each on its own read-only
 * connection (default: the number of CPUs, at most 4); 1 = in the calling thread only. */
void query_set_threads(struct query *q, int n);
/* The connection, e.g. for the web's own read-only statements (fh_net() is registered). */
sqlite3 *query_sqlite(struct query *q);

/* Called once per row; return nonzero to stop early (the query then returns 0). */
typedef int (*query_row_fn)(void *ctx, sqlite3_stmt *row);

struct query_flows {
    const struct filter *filter; /* NULL: every flow */
    int64_t from_ms, to_ms;
    const char *order; /* a column of the flows view; NULL: first_ms */
    bool desc;
    int64_t limit;  /* 0: no limit */
    int64_t offset; /* rows to skip */
};

/* A request with everything open: all flows, by first_ms, no limit. */
struct query_flows query_flows_all(void);

int query_flows(struct query *q, const struct query_flows *req, query_row_fn fn, void *ctx,
                char *err, size_t errlen);
/* How many flows the request selects, ignoring limit and offset (for pagination). */
int query_count_flows(struct query *q, const struct query_flows *req, int64_t *count, char *err,
                      size_t errlen);
/* The rows as a JSON array of objects, or NULL (then err says why, *code the QUERY_E*). */
json_t *query_flows_json(struct query *q, const struct query_flows *req, int *code, char *err,
                         size_t errlen);
/* Names of the flows view's columns, in order, as the store has them (e.g. for a CSV header
 * when no row comes). Valid until query_close. Returns how many. */
size_t query_flow_columns(struct query *q, const char *const **names);

/* What top-N statistics group by. The combined ones count each flow under both of its
 * values (nfdump's `-s ip`): a flow from A to B adds to A and to B. */
enum query_stat {
    QS_SRCIP,
    QS_DSTIP,
    QS_IP,
    QS_SRCPORT,
    QS_DSTPORT,
    QS_PORT,
    QS_PROTO,
    QS_SRCAS,
    QS_DSTAS,
    QS_AS,
    QS_INIF,
    QS_OUTIF,
    QS_IF,
    QS_EXPORTER,
};
/* How groups (top-N entries, aggregated records) are ordered, as nfdump's -s .../ORDER and
 * -O: flows, packets, bytes and the rates largest first; tstart and tend oldest first; ties
 * by key. pps and bps are over the group's span (last seen - first seen, 0 when it has none),
 * bpp is bytes / packets, all as nfdump computes them. */
enum query_order { QO_FLOWS, QO_PACKETS, QO_BYTES, QO_PPS, QO_BPS, QO_BPP, QO_TSTART, QO_TEND };

/* "srcip", "dstport", "exporter", ...; "flows", "packets", "bytes", "pps", "bps", "bpp",
 * "tstart", "tend". */
bool query_stat_parse(const char *name, enum query_stat *out);
bool query_order_parse(const char *name, enum query_order *out);
const char *query_stat_name(enum query_stat s);
const char *query_order_name(enum query_order o);

struct query_top {
    const struct filter *filter;
    int64_t from_ms, to_ms;
    enum query_stat stat;
    enum query_order order; /* descending; ties by key */
    int64_t limit;          /* 0: 10 */
};

int query_top(struct query *q, const struct query_top *req, query_row_fn fn, void *ctx, char *err,
              size_t errlen);
json_t *query_top_json(struct query *q, const struct query_top *req, int *code, char *err,
                       size_t errlen);

/* What aggregated records (nfdump's -A, -a, -b, -s record) are keyed by: columns of the
 * flows view. */
enum query_field {
    QF_PROTO,
    QF_SRCIP,
    QF_DSTIP,
    QF_SRCPORT,
    QF_DSTPORT,
    QF_SRCAS,
    QF_DSTAS,
    QF_INIF,
    QF_OUTIF,
    QF_SRCMASK,
    QF_DSTMASK,
    QF_TOS,
    QF_NEXTHOP,
    QF_ROUTER,
    QF_ODID,
    QF_COUNT
};
/* nfdump's default aggregation (-a): the 5-tuple. */
#define QUERY_FIELDS_5TUPLE                                                                        \
    (1u << QF_PROTO | 1u << QF_SRCIP | 1u << QF_DSTIP | 1u << QF_SRCPORT | 1u << QF_DSTPORT)

/* One -A element: "proto", "srcip", "dstport", "router", ...; "srcip4/24", "dstip6/64" also
 * set a prefix length that the addresses are cut to (into *v4len or *v6len, else left as
 * they are). */
bool query_field_parse(const char *name, enum query_field *out, unsigned *v4len, unsigned *v6len);
/* The flows view's column a field reads ("src_addr" for QF_SRCIP). */
const char *query_field_column(enum query_field f);

struct query_aggregate {
    const struct filter *filter;
    int64_t from_ms, to_ms;
    unsigned fields; /* bits 1u << QF_*: the key; 0: one record of every selected flow */
    /* addresses of QF_SRCIP / QF_DSTIP cut to these prefix lengths (0 = whole address) */
    unsigned src_v4len, src_v6len, dst_v4len, dst_v6len;
    /* nfdump's -b: TCP and UDP flows of both directions of a 5-tuple make one record, whose
     * direction is that of its earliest flow; needs fields == QUERY_FIELDS_5TUPLE */
    bool bidir;
    enum query_order order;
    int64_t limit; /* 0: every record */
};

/* Groups the selected flows by the fields (nfdump -A) and hands each record to fn, in order.
 * A record's row has the key's columns under the flows view's names (addresses cut to their
 * prefix), then first_ms, last_ms (the span of its flows), packets, bytes, tcp_flags (the OR
 * of its flows' flags; NULL when none carried any), flows, and with bidir rev_packets,
 * rev_bytes and rev_tcp_flags (the reverse direction; packets and bytes are the forward
 * one). With fields == 0: one record (the totals of a request, nfdump's summary line) when
 * any flow is selected. QUERY_EINVALID for bidir with other fields. */
int query_aggregate(struct query *q, const struct query_aggregate *req, query_row_fn fn, void *ctx,
                    char *err, size_t errlen);

/* Flows, packets and bytes of the flows whose first_ms lies in [from_ms, to_ms], counted in
 * n buckets of step ms from from_ms (bucket i: from_ms + i * step onwards; the last one
 * takes everything after it). Fills buckets[0 .. n-1]; reads only the partitions the range
 * can touch. */
struct query_bucket {
    int64_t flows, packets, bytes;
};
int query_timeline(struct query *q, const struct filter *f, int64_t from_ms, int64_t to_ms,
                   int64_t step, struct query_bucket *buckets, size_t n, char *err, size_t errlen);

/* What the store holds: flows, the smallest first_ms and the newest flow end, each flow's end
 * taken no later than its receipt (0 and 0 when it holds none), and its partitions (SQLite
 * tables; ClickHouse receive hours). */
struct query_summary {
    int64_t flows, first_ms, last_ms, partitions;
};
int query_summary(struct query *q, struct query_summary *out, char *err, size_t errlen);

/* The story's hunt: every flow of one endpoint (address + port) over a time range, both
 * directions (storage/store.h store_client_port_sql: flows from it, and replies to it from
 * the endpoints it sent to), of one protocol (-1: any), in the order they were received, each
 * as the struct flow that was stored (store_row_to_flow's fields). fn returns nonzero to
 * stop. */
struct query_hunt {
    struct fh_addr addr;
    uint16_t port;
    int64_t from_ms, to_ms;
    int proto;
};
typedef int (*query_flow_fn)(void *ctx, const struct flow *f);
int query_hunt(struct query *q, const struct query_hunt *req, query_flow_fn fn, void *ctx,
               char *err, size_t errlen);

/* Every flow of one protocol (-1: any) overlapping [from_ms, to_ms] by flow time of a
 * ClickHouse store, in the order the collectors received them, as the struct flow that was
 * stored: what `flowhound analyze` feeds the analyzer, so that it decides as it did live.
 * QUERY_EINVALID on a SQLite store, whose reader goes through its partitions itself. */
int query_replay(struct query *q, int64_t from_ms, int64_t to_ms, int proto, query_flow_fn fn,
                 void *ctx, char *err, size_t errlen);

/* One row as a JSON object: column name -> integer, real, string or null. */
json_t *query_row_json(sqlite3_stmt *row);

#endif
