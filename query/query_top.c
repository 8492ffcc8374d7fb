/* query_top.c - top-N statistics (nfdump -s STAT/ORDER): group the selected flows by one
 * field, sum flows, packets and bytes, keep the span of each group (for its rates), keep the
 * N largest, with the totals over all groups.
 *
 * SQLite streams (key, packets, bytes) of the selected flows; the grouping is a hash table
 * here (query_agg.c), one per share of the partitions (query_fanout.c), merged at the
 * end. SQLite's own GROUP BY sorts every row first: on 10 M flows that was 3-4 times
 * slower than reading the rows. The result rows are handed out as statements of a
 * constant SELECT, so callers read them like any other query row. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    [QO_FLOWS] = "flows", [QO_PACKETS] = "packets", [QO_BYTES] = "bytes",   [QO_PPS] = "pps",
    [QO_BPS] = "bps",     [QO_BPP] = "bpp",         [QO_TSTART] = "tstart", [QO_TEND] = "tend"};

bool query_stat_parse(const char *name, enum query_stat *out)
{
    if (!strcmp(name, "router")) /* nfdump's name of the exporter */
        name = "exporter";
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

static int too_many_groups(char *err, size_t errlen)
{
    snprintf(err, errlen,
             "too many distinct values (more than %d): narrow the time range or the filter",
             AGG_MAX_GROUPS);
    return QUERY_EFAIL;
}

/* A share's rows into its own table (arg: one table per share). */
static void aggregate(void *arg, struct qshare *s)
{
    struct agg *a = (struct agg *)arg + s->i;
    while ((s->rc = sqlite3_step(s->st)) == SQLITE_ROW)
        if (agg_add(a, s->st)) {
            too_many_groups(s->err, sizeof(s->err));
            s->rc = SQLITE_FULL;
            return;
        }
}

/* The shares' tables summed into the first. */
static int merge_groups(struct agg *a, size_t k, char *err, size_t errlen)
{
    for (size_t i = 1; i < k; i++)
        if (agg_merge(&a[0], &a[i]))
            return too_many_groups(err, errlen);
    return 0;
}

struct emitting {
    const struct agg *a;
    const struct agg_row *top;
};

static void bind_group(void *arg, size_t i, sqlite3_stmt *st)
{
    const struct emitting *e = arg;
    const struct agg_row *r = &e->top[i];
    agg_bind_key(r->g, st, 1);
    sqlite3_bind_int64(st, 2, r->flows);
    sqlite3_bind_int64(st, 3, r->packets);
    sqlite3_bind_int64(st, 4, r->bytes);
    sqlite3_bind_int64(st, 5, r->first);
    sqlite3_bind_int64(st, 6, r->last);
    sqlite3_bind_int64(st, 7, e->a->total_flows);
    sqlite3_bind_int64(st, 8, e->a->total_packets);
    sqlite3_bind_int64(st, 9, e->a->total_bytes);
}

/* Hands each of the top groups to fn as a row of a constant SELECT with the documented
 * column names. */
static int emit_rows(struct query *q, struct agg *a, const struct query_top *req, query_row_fn fn,
                     void *ctx, char *err, size_t errlen)
{
    size_t n;
    struct agg_row *top = agg_top(a, (int)req->order, req->limit > 0 ? req->limit : 10, &n);
    struct emitting e = {.a = a, .top = top};
    int rc = query_emit(q,
                        "SELECT ?1 AS key, ?2 AS flows, ?3 AS packets, ?4 AS bytes, "
                        "?5 AS first_ms, ?6 AS last_ms, ?7 AS total_flows, "
                        "?8 AS total_packets, ?9 AS total_bytes",
                        n, bind_group, &e, fn, ctx, err, errlen);
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
    if (q->ch)
        return query_ch_top(q, req, fn, ctx, err, errlen);
    struct qpart *parts;
    size_t n;
    int rc = query_partitions(q, req->from_ms, req->to_ms, req->filter, &parts, &n, err, errlen);
    if (rc)
        return rc;
    char *selects[3] = {NULL, NULL, NULL};
    for (int i = 0; i < 2 && stats[req->stat].keys[i]; i++)
        selects[i] = xasprintf("%s AS key, " AGG_COUNTERS, stats[req->stat].keys[i]);
    size_t k = query_fanout_shares(q, n);
    struct agg *aggs = xcalloc(k, sizeof(*aggs));
    for (size_t i = 0; i < k; i++)
        agg_init(&aggs[i]);
    struct qfanout fo = {.from = req->from_ms,
                         .to = req->to_ms,
                         .filter = req->filter,
                         .selects = (const char *const *)selects,
                         .run = aggregate,
                         .arg = aggs};
    struct qshare *s;
    rc = query_fanout(q, &fo, parts, n, k, &s, err, errlen);
    if (!rc)
        rc = merge_groups(aggs, k, err, errlen);
    query_fanout_close(s, k);
    if (!rc)
        rc = emit_rows(q, &aggs[0], req, fn, ctx, err, errlen);
    for (size_t i = 0; i < k; i++)
        agg_free(&aggs[i]);
    free(aggs);
    free(selects[0]);
    free(selects[1]);
    query_partitions_free(parts, n);
    return rc;
}
