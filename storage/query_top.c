/* query_top.c - top-N statistics (nfdump -s STAT/ORDER): group the selected flows by one
 * field, sum flows, packets and bytes, keep the N largest. The totals over all groups come
 * with every row from the same scan (a window over the groups, computed before the LIMIT). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "storage/query_int.h"

static const struct {
    const char *name;
    const char *keys[2]; /* one column, or two for the combined stats */
} stats[] = {
    [QS_SRCIP] = {"srcip", {"src_addr"}},      [QS_DSTIP] = {"dstip", {"dst_addr"}},
    [QS_IP] = {"ip", {"src_addr", "dst_addr"}}, [QS_SRCPORT] = {"srcport", {"src_port"}},
    [QS_DSTPORT] = {"dstport", {"dst_port"}},   [QS_PORT] = {"port", {"src_port", "dst_port"}},
    [QS_PROTO] = {"proto", {"proto"}},          [QS_SRCAS] = {"srcas", {"src_as"}},
    [QS_DSTAS] = {"dstas", {"dst_as"}},         [QS_AS] = {"as", {"src_as", "dst_as"}},
    [QS_INIF] = {"inif", {"in_if"}},            [QS_OUTIF] = {"outif", {"out_if"}},
    [QS_IF] = {"if", {"in_if", "out_if"}},      [QS_EXPORTER] = {"exporter", {"exporter"}},
};

static const char *const orders[] = {[QO_FLOWS] = "flows", [QO_PACKETS] = "packets",
                                     [QO_BYTES] = "bytes"};

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

int query_top(struct query *q, const struct query_top *req, query_row_fn fn, void *ctx,
              char *err, size_t errlen)
{
    if ((size_t)req->stat >= sizeof(stats) / sizeof(stats[0]) ||
        (size_t)req->order >= sizeof(orders) / sizeof(orders[0])) {
        snprintf(err, errlen, "unknown statistic or order");
        return QUERY_EINVALID;
    }
    char *selects[3] = {NULL, NULL, NULL};
    for (int i = 0; i < 2 && stats[req->stat].keys[i]; i++)
        selects[i] = xasprintf("%s AS key, packets, bytes", stats[req->stat].keys[i]);
    char *arms;
    int rc = query_plan(q, req->from_ms, req->to_ms, req->filter, (const char *const *)selects,
                        &arms, err, errlen);
    free(selects[0]);
    free(selects[1]);
    if (rc)
        return rc;
    const char *by = orders[req->order];
    char *sql = xasprintf(
        "SELECT key, count(*) AS flows, sum(packets) AS packets, sum(bytes) AS bytes, "
        "sum(count(*)) OVER () AS total_flows, sum(sum(packets)) OVER () AS total_packets, "
        "sum(sum(bytes)) OVER () AS total_bytes FROM (%s) GROUP BY key "
        "ORDER BY %s DESC, key LIMIT ?%d",
        arms, by, 3 + (req->filter ? filter_param_count(req->filter) : 0));
    free(arms);
    sqlite3_stmt *st;
    rc = query_prepare(q, sql, &st, err, errlen);
    free(sql);
    if (rc)
        return rc;
    int next = query_bind_range(st, req->from_ms, req->to_ms, req->filter);
    sqlite3_bind_int64(st, next, req->limit > 0 ? req->limit : 10);
    return query_run(q, st, fn, ctx, err, errlen);
}
