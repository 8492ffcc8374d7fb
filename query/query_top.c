/* query_top.c - top-N statistics (nfdump -s STAT/ORDER): group the selected flows by one
 * field, sum flows, packets and bytes, keep the N largest, with the totals over all groups.
 *
 * SQLite streams (key, packets, bytes) of the selected flows; the grouping is a hash table
 * here (query_agg.c), one per worker thread over a share of the partitions, merged at the
 * end. SQLite's own GROUP BY sorts every row first: on 10 M flows that was 3-4 times
 * slower than reading the rows. The result rows are handed out as statements of a
 * constant SELECT, so callers read them like any other query row. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "query/query_agg.h"
#include "query/query_int.h"

static const struct {
    const char *name;
    const char *keys[2]; /* one column, or two for the combined stats */
} stats[] = {
    [QS_SRCIP] = {"srcip", {"src_addr"}},
    [QS_DSTIP] = {"dstip", {"dst_addr"}},
    [QS_IP] = {"ip", {"src_addr", "dst_addr"}},
    [QS_SRCPORT] = {"srcport", {"src_port"}},
    [QS_DSTPORT] = {"dstport", {"dst_port"}},
    [QS_PORT] = {"port", {"src_port", "dst_port"}},
    [QS_PROTO] = {"proto", {"proto"}},
    [QS_SRCAS] = {"srcas", {"src_as"}},
    [QS_DSTAS] = {"dstas", {"dst_as"}},
    [QS_AS] = {"as", {"src_as", "dst_as"}},
    [QS_INIF] = {"inif", {"in_if"}},
    [QS_OUTIF] = {"outif", {"out_if"}},
    [QS_IF] = {"if", {"in_if", "out_if"}},
    [QS_EXPORTER] = {"exporter", {"exporter"}},
};

static const char *const orders[] = {
    [QO_FLOWS] = "flows", [QO_PACKETS] = "packets", [QO_BYTES] = "bytes"};

bool query_stat_parse(const char *name, enum query_stat *out)
{
    for (size_t i = 0; i < sizeof(stats) / sizeof(stats[0]); i++)
        if (!strcmp(name, stats[i].name)) {
            *out = (enum query_stat)i;
            return true;
        }
    return false;
}

bool query_order_parse(const char *name, enum query_order *out)
{
    for (size_t i = 0; i < sizeof(orders) / sizeof(orders[0]); i++)
        if (!strcmp(name, orders[i])) {
            *out = (enum query_order)i;
            return true;
        }
    return false;
}

const char *query_stat_name(enum query_stat s)
{
    return (size_t)s < sizeof(stats) / sizeof(stats[0]) ? stats[s].name : "?";
}

const char *query_order_name(enum query_order o)
{
    return (size_t)o < sizeof(orders) / sizeof(orders[0]) ? orders[o] : "?";
}

struct top_worker {
    struct query *q;
    sqlite3 *db; /* own connection, or the query's for a single worker */
    sqlite3_stmt *st;
    struct agg agg;
    int rc;
    pthread_t tid;
    bool started, own_db;
    char err[256];
};

static void *aggregate(void *arg)
{
    struct top_worker *w = arg;
    int rc;
    while ((rc = sqlite3_step(w->st)) == SQLITE_ROW) {
        if (agg_add(&w->agg, w->st)) {
            snprintf(w->err, sizeof(w->err),
                     "too many distinct values (more than %d): narrow the time range or the "
                     "filter",
                     AGG_MAX_GROUPS);
            rc = SQLITE_FULL;
            break;
        }
    }
    w->rc = rc;
    return NULL;
}

static int prepare_top_worker(struct top_worker *w, const struct query_top *req,
                              const char *const *selects, const struct qpart *parts, size_t n)
{
    if (w->own_db) {
        w->db = query_connect(w->q, w->err, sizeof(w->err));
        if (!w->db)
            return QUERY_EFAIL;
    }
    char *sql = query_union(parts, n, selects, req->filter);
    int rc = sqlite3_prepare_v2(w->db, sql, -1, &w->st, NULL);
    free(sql);
    if (rc != SQLITE_OK) {
        snprintf(w->err, sizeof(w->err), "preparing the query: %s", sqlite3_errmsg(w->db));
        return QUERY_EFAIL;
    }
    query_bind_range(w->st, req->from_ms, req->to_ms, req->filter);
    return 0;
}

static int top_error(struct top_worker *w, size_t k, char *err, size_t errlen)
{
    for (size_t i = 0; i < k; i++) {
        if (w[i].rc == SQLITE_DONE)
            continue;
        if (w[i].rc == SQLITE_INTERRUPT) {
            snprintf(err, errlen,
                     "query took too long (more than %lld ms): narrow the time range or make "
                     "the filter more selective",
                     (long long)w[i].q->limit_ms);
            return QUERY_ETIMEOUT;
        }
        snprintf(err, errlen, "%s", w[i].err[0] ? w[i].err : sqlite3_errmsg(w[i].db));
        return QUERY_EFAIL;
    }
    return 0;
}

/* Runs k workers over shares of parts (k == 1: in this thread, on the query's connection). */
static int run_workers(struct query *q, struct top_worker *w, size_t k, const struct query_top *req,
                       const char *const *selects, const struct qpart *parts, size_t n, char *err,
                       size_t errlen)
{
    size_t *cut = xcalloc(k + 1, sizeof(*cut));
    if (n)
        query_split(parts, n, k, cut);
    int rc = 0;
    for (size_t i = 0; i < k && !rc; i++) {
        w[i].q = q;
        w[i].db = q->db;
        w[i].own_db = k > 1;
        w[i].rc = SQLITE_DONE;
        agg_init(&w[i].agg);
        rc = prepare_top_worker(&w[i], req, selects, parts + cut[i], cut[i + 1] - cut[i]);
        if (rc)
            snprintf(err, errlen, "%s", w[i].err);
    }
    free(cut);
    if (rc)
        return rc;
    if (k == 1) {
        aggregate(&w[0]);
    } else {
        for (size_t i = 0; i < k; i++) {
            if (pthread_create(&w[i].tid, NULL, aggregate, &w[i]) != 0) {
                w[i].rc = SQLITE_ERROR;
                snprintf(w[i].err, sizeof(w[i].err), "cannot start a query thread");
                break;
            }
            w[i].started = true;
        }
        for (size_t i = 0; i < k; i++)
            if (w[i].started)
                pthread_join(w[i].tid, NULL);
    }
    return top_error(w, k, err, errlen);
}

/* Hands each of the top groups to fn as a row of a constant SELECT with the documented
 * column names. */
static int emit_rows(struct query *q, struct agg *a, const struct query_top *req, query_row_fn fn,
                     void *ctx, char *err, size_t errlen)
{
    size_t n;
    struct agg_group **top = agg_top(a, (int)req->order, req->limit > 0 ? req->limit : 10, &n);
    sqlite3_stmt *st;
    int rc = query_prepare(q,
                           "SELECT ?1 AS key, ?2 AS flows, ?3 AS packets, ?4 AS bytes, "
                           "?5 AS total_flows, ?6 AS total_packets, ?7 AS total_bytes",
                           &st, err, errlen);
    for (size_t i = 0; i < n && !rc; i++) {
        agg_bind_key(top[i], st, 1);
        sqlite3_bind_int64(st, 2, top[i]->flows);
        sqlite3_bind_int64(st, 3, top[i]->packets);
        sqlite3_bind_int64(st, 4, top[i]->bytes);
        sqlite3_bind_int64(st, 5, a->total_flows);
        sqlite3_bind_int64(st, 6, a->total_packets);
        sqlite3_bind_int64(st, 7, a->total_bytes);
        bool stop = sqlite3_step(st) == SQLITE_ROW && fn && fn(ctx, st);
        sqlite3_reset(st);
        if (stop)
            break;
    }
    if (!rc)
        sqlite3_finalize(st);
    free(top);
    return rc;
}

int query_top(struct query *q, const struct query_top *req, query_row_fn fn, void *ctx, char *err,
              size_t errlen)
{
    if ((size_t)req->stat >= sizeof(stats) / sizeof(stats[0]) ||
        (size_t)req->order >= sizeof(orders) / sizeof(orders[0])) {
        snprintf(err, errlen, "unknown statistic or order");
        return QUERY_EINVALID;
    }
    struct qpart *parts;
    size_t n;
    int rc = query_partitions(q, req->from_ms, req->to_ms, req->filter, &parts, &n, err, errlen);
    if (rc)
        return rc;
    char *selects[3] = {NULL, NULL, NULL};
    for (int i = 0; i < 2 && stats[req->stat].keys[i]; i++)
        selects[i] = xasprintf("%s AS key, packets, bytes", stats[req->stat].keys[i]);
    size_t k = n >= 2 && q->threads > 1 ? ((size_t)q->threads < n ? (size_t)q->threads : n) : 1;
    struct top_worker *w = xcalloc(k, sizeof(*w));
    q->deadline = q->limit_ms ? mono_ms() + q->limit_ms : 0;
    rc = run_workers(q, w, k, req, (const char *const *)selects, parts, n, err, errlen);
    for (size_t i = 1; i < k && !rc; i++)
        if (agg_merge(&w[0].agg, &w[i].agg)) {
            snprintf(err, errlen,
                     "too many distinct values (more than %d): narrow the time "
                     "range or the filter",
                     AGG_MAX_GROUPS);
            rc = QUERY_EFAIL;
        }
    q->deadline = 0;
    for (size_t i = 0; i < k; i++) {
        sqlite3_finalize(w[i].st);
        if (w[i].own_db)
            sqlite3_close(w[i].db);
    }
    if (!rc)
        rc = emit_rows(q, &w[0].agg, req, fn, ctx, err, errlen);
    for (size_t i = 0; i < k; i++)
        agg_free(&w[i].agg);
    free(w);
    free(selects[0]);
    free(selects[1]);
    query_partitions_free(parts, n);
    return rc;
}
