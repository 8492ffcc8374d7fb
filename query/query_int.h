/* query_int.h - what query/query*.c share: the connection, partition pruning, the UNION ALL
 * over partitions, and running a statement under the time limit. Private to query/query*. */
#ifndef FLOWHOUND_QUERY_INT_H
#define FLOWHOUND_QUERY_INT_H

#include "query/query.h"
#include "storage/store.h"

struct query_ch;

struct query {
    struct query_ch *ch; /* the ClickHouse backend (query_ch.c); NULL: SQLite */
    struct store *store;
    sqlite3 *db;
    int64_t limit_ms;
    int64_t deadline; /* mono_ms; 0 = none */
    char **cols;      /* the flows view's columns */
    size_t ncols;
    int threads; /* for scans split between threads (query_fanout.c) */
};

/* A partition to read; `whole` when every flow in it lies inside the time range, so the
 * arm needs no time test. */
struct qpart {
    char *name;
    bool whole;
    int64_t rows;
    /* bounds of its flows' first_ms: the smallest stored, and the largest last_ms (first_ms
     * <= last_ms for every flow the collector stores); INT64_MIN / INT64_MAX when the
     * partition's statistics are not written yet */
    int64_t min_first, max_last;
    bool indexed;    /* closed: has the partition indexes */
    bool port_index; /* the filter's `dst port` may use the dst_port index (query_plan.c) */
};

/* The partitions a time range can touch, planned for filter f (may be NULL; see
 * query_plan_ports); QUERY_EINVALID when the range ends before it starts (every request
 * checks this here, once). */
int query_partitions(struct query *q, int64_t from, int64_t to, const struct filter *f,
                     struct qpart **parts, size_t *n, char *err, size_t errlen);
/* Sets parts[].port_index: whether the filter's dst ports are rare enough in these
 * partitions for their index to beat a scan (query_plan.c). */
void query_plan_ports(struct query *q, const struct filter *f, struct qpart *parts, size_t n);
void query_partitions_free(struct qpart *parts, size_t n);

/* "arm UNION ALL arm ...", one arm per partition and per select list in `selects` (NULL-
 * terminated), each "SELECT <select> FROM <partition> WHERE <time> AND <filter>". The time
 * test uses ?1 (from) and ?2 (to); the filter's values are ?3 onwards (query_bind_range),
 * its keyed fragment (filter_sql_keyed) with or without the dst_port index as the partition's
 * port_index says. With no partition: one arm over the (empty) flows view, so the columns
 * are still right. */
char *query_union(const struct qpart *parts, size_t n, const char *const *selects,
                  const struct filter *f);
/* Binds ?1, ?2 and the filter's values; returns the next free index or -1. */
int query_bind_range(sqlite3_stmt *st, int64_t from, int64_t to, const struct filter *f);

/* The flow listing over `parts`: "SELECT * FROM (union) ORDER BY +col LIMIT ?L OFFSET ?O"
 * with ?L, ?O right after the filter's values. */
char *query_flows_sql(const struct qpart *parts, size_t n, const struct query_flows *req,
                      const char *col);
/* Opens another read-only connection to the same store, set up like q's (query_fanout.c
 * shares). */
sqlite3 *query_connect(struct query *q, char *err, size_t errlen);

/* A scan of parts split into k shares (query_fanout.c). Each share's statement is `sql`
 * over the share's partitions (NULL: query_union of `selects` and `filter`), bound to ?1
 * from, ?2 to and the filter's values (query_bind_range), then by `bind` from `next`, the
 * first free parameter, when it is set. `run` steps it in the share's thread and leaves the
 * last step's result in s->rc. */
struct qshare;
struct qfanout {
    int64_t from, to;
    const struct filter *filter;
    const char *const *selects;
    char *(*sql)(void *arg, const struct qpart *parts, size_t n);
    void (*bind)(void *arg, sqlite3_stmt *st, int next);
    void (*run)(void *arg, struct qshare *s);
    void *arg;
};
/* One share: its connection (the query's own when it is the only share) and statement, and
 * how its run ended. */
struct qshare {
    struct query *q;
    const struct qfanout *fo;
    size_t i; /* 0 .. k-1: which of the caller's per-share states is this share's */
    sqlite3 *db;
    sqlite3_stmt *st;
    int rc;        /* of the last step: SQLITE_ROW or SQLITE_DONE unless it failed */
    char err[256]; /* why, when the run failed for a reason of its own (not SQLite's) */
};
/* How many shares a scan of n partitions gets: q's threads, at most n; 1 below 2. */
size_t query_fanout_shares(const struct query *q, size_t n);
/* Starts q's deadline, splits parts into k contiguous shares of about equal rows, opens
 * (k > 1), prepares and runs each (k == 1: in the calling thread), and waits for them.
 * Returns 0 or the first error (query_fanout_error). Always sets *shares: the caller reads
 * (and may step on) what the shares left, then calls query_fanout_close. */
int query_fanout(struct query *q, const struct qfanout *fo, const struct qpart *parts, size_t n,
                 size_t k, struct qshare **shares, char *err, size_t errlen);
/* The first failed share's error as QUERY_E* and message (query_step_error), or 0. */
int query_fanout_error(const struct qshare *s, size_t k, char *err, size_t errlen);
/* Ends q's deadline, finalizes the statements, closes the shares' own connections. */
void query_fanout_close(struct qshare *s, size_t k);

/* A filtered listing scanned by the shares of a fan-out, merged in order. */
int query_flows_parallel(struct query *q, const struct query_flows *req, const char *col,
                         const struct qpart *parts, size_t n, query_row_fn fn, void *ctx, char *err,
                         size_t errlen);

/* A listing in first_ms order with a limit: the partitions one after the other, in the
 * order their first_ms bounds allow, each sorted on its own, merged, and stopped as soon as
 * no partition not yet read can hold a row of the page (query_walk.c). */
int query_flows_walk(struct query *q, const struct query_flows *req, struct qpart *parts, size_t n,
                     query_row_fn fn, void *ctx, char *err, size_t errlen);

/* The same split for query_count_flows. */
int query_count_parallel(struct query *q, const struct query_flows *req, const struct qpart *parts,
                         size_t n, int64_t *count, char *err, size_t errlen);

/* ---- the ClickHouse backend (query_ch.c, query_ch_stats.c): the same requests ---- */
struct store_url;
int query_ch_open(struct query *q, const struct store_url *u, const char *state, char *err,
                  size_t errlen);
void query_ch_close(struct query *q);
int query_ch_flows(struct query *q, const struct query_flows *req, query_row_fn fn, void *ctx,
                   char *err, size_t errlen);
int query_ch_count(struct query *q, const struct query_flows *req, int64_t *count, char *err,
                   size_t errlen);
int query_ch_top(struct query *q, const struct query_top *req, query_row_fn fn, void *ctx,
                 char *err, size_t errlen);
int query_ch_timeline(struct query *q, const struct filter *f, int64_t from, int64_t to,
                      int64_t step, struct query_bucket *buckets, size_t n, char *err,
                      size_t errlen);
int query_ch_summary(struct query *q, struct query_summary *out, char *err, size_t errlen);
int query_ch_hunt(struct query *q, const struct query_hunt *req, query_flow_fn fn, void *ctx,
                  char *err, size_t errlen);
int query_ch_replay(struct query *q, int64_t from, int64_t to, int proto, query_flow_fn fn,
                    void *ctx, char *err, size_t errlen);
/* ... and what its files share: the WHERE of a request (time range through flow_spans, and
 * the filter), a SELECT's RowBinary rows read under the time limit, rows handed out. */
char *query_ch_where(struct query *q, int64_t from, int64_t to, const struct filter *f, int *rc,
                     char *err, size_t errlen);
int query_ch_select(struct query *q, const char *sql, long (*row)(void *, const uint8_t *, size_t),
                    void *ctx, char *err, size_t errlen);
/* A SELECT of store_flow_columns: each row to fn as the struct flow it encodes. */
int query_ch_select_flows(struct query *q, const char *sql, query_flow_fn fn, void *ctx, char *err,
                          size_t errlen);
sqlite3_stmt *query_ch_row_stmt(struct query *q, const char *sql, char *err, size_t errlen);
struct ch_call;
int query_ch_call(struct query *q, const struct ch_call *k, char *err, size_t errlen);
/* A fan-out's one share on ClickHouse: its rows fetched into a temporary table that s->st
 * reads (query_ch_scan.c). */
struct qshare;
int query_ch_prepare_share(struct qshare *s, char *err, size_t errlen);
const char *query_ch_db(const struct query *q);

int query_prepare(struct query *q, const char *sql, sqlite3_stmt **st, char *err, size_t errlen);
/* The error of a statement of q's on db whose step returned rc (neither SQLITE_ROW nor
 * SQLITE_DONE): QUERY_ETIMEOUT when q's deadline interrupted it, else QUERY_EFAIL. The one
 * wording of both for every read path. */
int query_step_error(const struct query *q, sqlite3 *db, int rc, char *err, size_t errlen);
/* Steps st to the end under the time limit, calling fn per row (fn may be NULL). Finalizes
 * st. Returns 0 or QUERY_E*. */
int query_run(struct query *q, sqlite3_stmt *st, query_row_fn fn, void *ctx, char *err,
              size_t errlen);
/* Hands n rows made here (top-N groups, aggregated records) to fn as rows of `sql`, a
 * constant SELECT of parameters with the documented column names: bind(arg, i, st) binds row
 * i's values. Stops early when fn returns nonzero. Returns 0 or QUERY_E*. */
int query_emit(struct query *q, const char *sql, size_t n,
               void (*bind)(void *arg, size_t i, sqlite3_stmt *st), void *arg, query_row_fn fn,
               void *ctx, char *err, size_t errlen);
#endif
