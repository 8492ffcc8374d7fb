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
 *     key, flows, packets, bytes, total_flows, total_packets, total_bytes
 * where key is the grouped value (address TEXT or INTEGER; NULL for flows that do not carry
 * the field, e.g. no AS) and total_* are the sums over every flow the request selected
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
enum query_order { QO_FLOWS, QO_PACKETS, QO_BYTES };

/* "srcip", "dstport", "exporter", ...; "flows", "packets", "bytes". */
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

/* Flows, packets and bytes of the flows whose first_ms lies in [from_ms, to_ms], counted in
 * n buckets of step ms from from_ms (bucket i: from_ms + i * step onwards; the last one
 * takes everything after it). Fills buckets[0 .. n-1]; reads only the partitions the range
 * can touch. */
struct query_bucket {
    int64_t flows, packets, bytes;
};
int query_timeline(struct query *q, const struct filter *f, int64_t from_ms, int64_t to_ms,
                   int64_t step, struct query_bucket *buckets, size_t n, char *err, size_t errlen);

/* What the store holds: flows, the smallest first_ms and largest last_ms (0 and 0 when it
 * holds none), and its partitions (SQLite tables; ClickHouse receive hours). */
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

/* One row as a JSON object: column name -> integer, real, string or null. */
json_t *query_row_json(sqlite3_stmt *row);

#endif
