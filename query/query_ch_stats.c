/* query_ch_stats.c - top-N, timeline, summary and the story's hunt over ClickHouse, with the
 * rows and values the SQLite store gives (query_top.c, query_timeline.c, query_hunt.c).
 *
 * Sums saturate at INT64_MAX as SQLite's integers cannot go past it: where a sum's floating
 * point twin reaches 2^63 the integer sum (which ClickHouse lets wrap) is not used. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/xmalloc.h"
#include "query/query_int.h"
#include "storage/ch_http.h"
#include "storage/ch_rowbinary.h"

#define SAT_SUM(col)                                                                               \
    "if(sum(toFloat64(" col ")) >= 9223372036854775807., toInt64(9223372036854775807), sum(" col   \
    "))"

/* ---- top-N ---- */

static const struct {
    bool text;           /* addresses: String keys */
    const char *keys[2]; /* one column, or both sides of a combined statistic */
} top_keys[] = {
    [QS_SRCIP] = {true, {"src_addr"}},
    [QS_DSTIP] = {true, {"dst_addr"}},
    [QS_IP] = {true, {"src_addr", "dst_addr"}},
    [QS_SRCPORT] = {false, {"src_port"}},
    [QS_DSTPORT] = {false, {"dst_port"}},
    [QS_PORT] = {false, {"src_port", "dst_port"}},
    [QS_PROTO] = {false, {"proto"}},
    [QS_SRCAS] = {false, {"src_as"}},
    [QS_DSTAS] = {false, {"dst_as"}},
    [QS_AS] = {false, {"src_as", "dst_as"}},
    [QS_INIF] = {false, {"in_if"}},
    [QS_OUTIF] = {false, {"out_if"}},
    [QS_IF] = {false, {"in_if", "out_if"}},
    [QS_EXPORTER] = {true, {"exporter"}},
};

/* The key expression: a column, or arrayJoin of both sides (a flow counts once per side);
 * integers as Nullable(Int64), the type SQLite hands them out as. */
static char *key_sql(enum query_stat st)
{
    const char *a = top_keys[st].keys[0], *b = top_keys[st].keys[1];
    if (top_keys[st].text)
        return b ? xasprintf("arrayJoin([%s, %s])", a, b) : xstrdup(a);
    if (b)
        return xasprintf("arrayJoin([CAST(%s AS Nullable(Int64)), CAST(%s AS Nullable(Int64))])", a,
                         b);
    return xasprintf("CAST(%s AS Nullable(Int64))", a);
}

struct totals {
    uint64_t flows;
    int64_t packets, bytes;
};

static long read_totals(void *ctx, const uint8_t *p, size_t n)
{
    struct totals *t = ctx;
    struct rb_in in = {.p = p, .end = p + n};
    t->flows = rb_get_u64(&in);
    t->packets = rb_get_i64(&in);
    t->bytes = rb_get_i64(&in);
    return in.short_ ? 0 : (long)(in.p - p);
}

struct top_rows {
    bool text;
    struct totals t;
    sqlite3_stmt *st;
    query_row_fn fn;
    void *ctx;
};

static long hand_out_group(void *arg, const uint8_t *p, size_t n)
{
    struct top_rows *r = arg;
    struct rb_in in = {.p = p, .end = p + n};
    char text[FH_ADDR_STRLEN + 1];
    bool null = false;
    int64_t key = 0;
    if (r->text) {
        if (!rb_get_str(&in, text, sizeof(text)))
            return CH_ROW_BAD;
    } else if (!(null = rb_get_null(&in))) {
        key = rb_get_i64(&in);
    }
    int64_t flows = (int64_t)rb_get_u64(&in), packets = rb_get_i64(&in), bytes = rb_get_i64(&in);
    int64_t first = rb_get_i64(&in), last = rb_get_i64(&in);
    if (in.short_)
        return 0;
    if (r->text)
        sqlite3_bind_text(r->st, 1, text, -1, SQLITE_TRANSIENT);
    else if (null)
        sqlite3_bind_null(r->st, 1);
    else
        sqlite3_bind_int64(r->st, 1, key);
    int64_t vals[] = {flows,        packets,   bytes, first, last, (int64_t)r->t.flows,
                      r->t.packets, r->t.bytes};
    for (int i = 0; i < 8; i++)
        sqlite3_bind_int64(r->st, i + 2, vals[i]);
    bool stop = sqlite3_step(r->st) == SQLITE_ROW && r->fn && r->fn(r->ctx, r->st);
    sqlite3_reset(r->st);
    return stop ? CH_ROW_STOP : (long)(in.p - p);
}

static int top_totals(struct query *q, const struct query_top *req, const char *where,
                      struct totals *t, char *err, size_t errlen)
{
    char *sql = xasprintf("SELECT count(), " SAT_SUM("packets") ", " SAT_SUM(
                              "bytes") " FROM %s.flows WHERE %s FORMAT RowBinary",
                          query_ch_db(q), where);
    int rc = query_ch_select(q, sql, read_totals, t, err, errlen);
    free(sql);
    if (top_keys[req->stat].keys[1]) {
        /* a combined statistic counts each flow on both sides */
        t->flows *= 2;
        t->packets = t->packets > INT64_MAX / 2 ? INT64_MAX : t->packets * 2;
        t->bytes = t->bytes > INT64_MAX / 2 ? INT64_MAX : t->bytes * 2;
    }
    return rc;
}

int query_ch_top(struct query *q, const struct query_top *req, query_row_fn fn, void *ctx,
                 char *err, size_t errlen)
{
    /* larger first, as query_agg.c orders (its doubles, computed alike) */
    static const char *const metric[] = {
        [QO_FLOWS] = "g_flows DESC",
        [QO_PACKETS] = "g_packets DESC",
        [QO_BYTES] = "g_bytes DESC",
        [QO_PPS] = "if(g_last > g_first, 1000. * toFloat64(g_packets) / (toFloat64(g_last) - "
                   "toFloat64(g_first)), 0.) DESC",
        [QO_BPS] = "8. * if(g_last > g_first, 1000. * toFloat64(g_bytes) / (toFloat64(g_last) - "
                   "toFloat64(g_first)), 0.) DESC",
        [QO_BPP] =
            "if(g_packets != 0, toFloat64(intDiv(g_bytes, greatest(g_packets, 1))), 0.) DESC",
        [QO_TSTART] = "g_first",
        [QO_TEND] = "g_last"};
    int rc;
    char *where = query_ch_where(q, req->from_ms, req->to_ms, req->filter, &rc, err, errlen);
    if (!where)
        return rc;
    struct top_rows r = {.text = top_keys[req->stat].text, .fn = fn, .ctx = ctx};
    rc = top_totals(q, req, where, &r.t, err, errlen);
    r.st = rc ? NULL
              : query_ch_row_stmt(q,
                                  "SELECT ?1 AS key, ?2 AS flows, ?3 AS packets, ?4 AS bytes, "
                                  "?5 AS first_ms, ?6 AS last_ms, ?7 AS total_flows, "
                                  "?8 AS total_packets, ?9 AS total_bytes",
                                  err, errlen);
    if (!rc && !r.st)
        rc = QUERY_EFAIL;
    if (!rc) {
        /* descending; ties by key in SQLite's order: NULL, then numbers or text ascending */
        char *key = key_sql(req->stat);
        char *sql = xasprintf(
            /* aliases of their own: the WHERE reads the columns of the same names */
            "SELECT %s AS g_key, count() AS g_flows, " SAT_SUM("packets") " AS g_packets, " SAT_SUM(
                "bytes") " AS g_bytes, min(first_ms) AS g_first, max(last_ms) AS g_last FROM "
                         "%s.flows WHERE %s GROUP BY g_key ORDER BY %s, isNotNull(g_key), g_key "
                         "LIMIT %" PRId64 " FORMAT RowBinary",
            key, query_ch_db(q), where, metric[req->order], req->limit > 0 ? req->limit : 10);
        rc = query_ch_select(q, sql, hand_out_group, &r, err, errlen);
        free(sql);
        free(key);
    }
    sqlite3_finalize(r.st);
    free(where);
    return rc;
}

/* ---- timeline ---- */

struct tl_rows {
    struct query_bucket *b;
    size_t n;
};

static long read_bucket(void *ctx, const uint8_t *p, size_t n)
{
    struct tl_rows *t = ctx;
    struct rb_in in = {.p = p, .end = p + n};
    uint64_t i = rb_get_u64(&in);
    int64_t flows = (int64_t)rb_get_u64(&in), packets = rb_get_i64(&in), bytes = rb_get_i64(&in);
    if (in.short_)
        return 0;
    if (i >= t->n)
        i = t->n - 1;
    t->b[i].flows += flows;
    t->b[i].packets += packets;
    t->b[i].bytes += bytes;
    return (long)(in.p - p);
}

int query_ch_timeline(struct query *q, const struct filter *f, int64_t from, int64_t to,
                      int64_t step, struct query_bucket *buckets, size_t n, char *err,
                      size_t errlen)
{
    int rc;
    char *where = query_ch_where(q, from, to, f, &rc, err, errlen);
    if (!where)
        return rc;
    /* flows overlapping the range, counted in the bucket of their first_ms when it lies in
     * the range (query_timeline.c) */
    char *sql = xasprintf("SELECT least(intDiv(toUInt64(first_ms - %" PRId64 "), %" PRId64
                          "), %zu) AS i, count(), " SAT_SUM("packets") ", " SAT_SUM(
                              "bytes") " FROM %s.flows WHERE %s AND first_ms >= %" PRId64
                                       " AND first_ms <= %" PRId64 " GROUP BY i FORMAT RowBinary",
                          from, step, n - 1, query_ch_db(q), where, from, to);
    free(where);
    struct tl_rows t = {buckets, n};
    rc = query_ch_select(q, sql, read_bucket, &t, err, errlen);
    free(sql);
    return rc;
}

/* ---- summary ---- */

static long read_summary(void *ctx, const uint8_t *p, size_t n)
{
    struct query_summary *s = ctx;
    struct rb_in in = {.p = p, .end = p + n};
    s->flows = (int64_t)rb_get_u64(&in);
    s->first_ms = rb_get_i64(&in);
    s->last_ms = rb_get_i64(&in);
    s->partitions = (int64_t)rb_get_u64(&in);
    return in.short_ ? 0 : (long)(in.p - p);
}

int query_ch_summary(struct query *q, struct query_summary *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    /* the spans know the times and hours; the flows themselves their count (a span can
     * outlive a block lost in a crash) */
    char *sql = xasprintf("SELECT (SELECT count() FROM %s.flows), min(min_first), max(newest), "
                          "uniqExact(rhour) FROM %s.flow_spans FORMAT RowBinary",
                          query_ch_db(q), query_ch_db(q));
    int rc = query_ch_select(q, sql, read_summary, out, err, errlen);
    free(sql);
    if (out->flows == 0)
        out->first_ms = out->last_ms = 0;
    return rc;
}

/* ---- the hunt ---- */

/* The endpoint: its key, and the address text and port that settle it (an IPv6 key is a
 * hash). The address text is inet_ntop's of a parsed address: safe as a literal. */
static char *endpoint_sql(const char *side, const struct query_hunt *h)
{
    char text[FH_ADDR_STRLEN];
    addr_to_str(&h->addr, text, sizeof(text));
    return xasprintf("%s_key = %" PRId64 " AND %s_addr = '%s' AND %s_port = %u", side,
                     store_endpoint_key(&h->addr, h->port), side, text, side, h->port);
}

int query_ch_hunt(struct query *q, const struct query_hunt *h, query_flow_fn fn, void *ctx,
                  char *err, size_t errlen)
{
    int rc;
    char *where = query_ch_where(q, h->from_ms, h->to_ms, NULL, &rc, err, errlen);
    if (!where)
        return rc;
    char proto[32] = "";
    if (h->proto >= 0)
        snprintf(proto, sizeof(proto), " AND proto = %d", h->proto);
    char *from_ep = endpoint_sql("src", h), *to_ep = endpoint_sql("dst", h);
    /* the endpoints it sent flows to: their replies are src_key IN those AND dst_key = K */
    char *sql = xasprintf("SELECT DISTINCT dst_key FROM %s.flows WHERE %s AND %s LIMIT 10000 "
                          "FORMAT RowBinary",
                          query_ch_db(q), where, from_ep);
    struct rb_ints ps = {.width = 8};
    rc = query_ch_select(q, sql, rb_int_row, &ps, err, errlen);
    free(sql);
    char *in = xstrdup("");
    for (size_t i = 0; i < ps.n && !rc; i++) {
        char *more = xasprintf("%s%s%" PRId64, in, i ? ", " : "", ps.v[i]);
        free(in);
        in = more;
    }
    free(ps.v);
    if (!rc) {
        char *replies = ps.n ? xasprintf(" OR (src_key IN (%s) AND %s)", in, to_ep) : xstrdup("");
        sql = xasprintf("SELECT %s FROM %s.flows WHERE %s%s AND ((%s)%s) ORDER BY received_ms, "
                        "first_ms, last_ms, seq FORMAT RowBinary",
                        store_flow_columns, query_ch_db(q), where, proto, from_ep, replies);
        free(replies);
        rc = query_ch_select_flows(q, sql, fn, ctx, err, errlen);
        free(sql);
    }
    free(in);
    free(from_ep);
    free(to_ep);
    free(where);
    return rc;
}

int query_ch_replay(struct query *q, int64_t from, int64_t to, int proto, query_flow_fn fn,
                    void *ctx, char *err, size_t errlen)
{
    int rc;
    char *where = query_ch_where(q, from, to, NULL, &rc, err, errlen);
    if (!where)
        return rc;
    char p[32] = "";
    if (proto >= 0)
        snprintf(p, sizeof(p), " AND proto = %d", proto);
    /* receive order: each collector's seq; collectors of a cluster side by side by time */
    char *sql = xasprintf("SELECT %s FROM %s.flows WHERE %s%s ORDER BY received_ms, instance, seq "
                          "FORMAT RowBinary",
                          store_flow_columns, query_ch_db(q), where, p);
    free(where);
    rc = query_ch_select_flows(q, sql, fn, ctx, err, errlen);
    free(sql);
    return rc;
}
