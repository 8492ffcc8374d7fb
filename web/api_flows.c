/* api_flows.c - /api/v1/flows, /api/v1/stats/top, /api/v1/stats/timeline and
 * /api/v1/stats/summary: everything that reads the `flows` view.
 *
 * Listings and top-N go through the one query layer (query/query.h), as `flowhound query`
 * does, so the CLI and the API answer the same filter alike. The filter text is compiled
 * once per request (query/filter.h); a bad one answers 400 with the column. */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "common/flowlimits.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "query/query.h"
#include "query/filter.h"
#include "web/http.h"

/* A request's compiled filter. */
struct where {
    struct filter *filter; /* NULL: every flow */
};

/* Compiles a filter text of len bytes (nfdump syntax). Returns 0, or -1 with a message and
 * the 1-based column where the text went wrong. */
static int compile_filter(const char *text, size_t len, struct where *w, char *err, size_t errlen,
                          int *column)
{
    memset(w, 0, sizeof(*w));
    *column = 0;
    if (text && (strlen(text) < len || text[strspn(text, " \t\r\n")])) {
        w->filter = filter_compile_n(text, len, err, errlen, column);
        if (!w->filter)
            return -1;
    }
    return 0;
}

static void where_free(struct where *w)
{
    filter_free(w->filter);
}

/* What every flows query shares: the time range and the filter. */
struct flows_query {
    int64_t from, to;
    struct where where;
};

static bool parse_query(struct web_req *r, struct flows_query *q, json_t **err)
{
    q->from = INT64_MIN;
    q->to = INT64_MAX;
    memset(&q->where, 0, sizeof(q->where));
    if (!web_param_time(r, "from", &q->from, err) || !web_param_time(r, "to", &q->to, err))
        return false;
    if (q->from > q->to) {
        *err = web_error(r, MHD_HTTP_BAD_REQUEST, 0, "from is after to");
        return false;
    }
    char msg[512];
    int column = 0;
    size_t len;
    const char *text = web_param_n(r, "filter", &len);
    if (compile_filter(text, len, &q->where, msg, sizeof(msg), &column)) {
        *err = web_error(r, MHD_HTTP_BAD_REQUEST, column > 0 ? column : 1, "%s", msg);
        return false;
    }
    return true;
}

/* Answers a query layer failure: a bad request is the client's, a timeout 503, else 500. */
static json_t *query_error(struct web_req *r, int code, const char *msg)
{
    int status = code == QUERY_EINVALID   ? MHD_HTTP_BAD_REQUEST
                 : code == QUERY_ETIMEOUT ? MHD_HTTP_SERVICE_UNAVAILABLE
                                          : MHD_HTTP_INTERNAL_SERVER_ERROR;
    return web_error(r, status, 0, "%s", msg);
}

json_t *api_flows(struct web_req *r)
{
    static const char *const known[] = {"filter", "from", "to", "limit", "offset", "order", NULL};
    json_t *err = NULL;
    int64_t limit = 100, offset = 0;
    struct flows_query q;
    if (!web_params_known(r, known, &err) ||
        !web_param_int(r, "limit", 1, web_max_rows(r), &limit, &err) ||
        !web_param_int(r, "offset", 0, INT32_MAX, &offset, &err) || !parse_query(r, &q, &err))
        return err;
    const char *order = web_param(r, "order");
    bool desc = order && order[0] == '-';
    struct query *qy = web_query(r, &err);
    if (!qy) {
        where_free(&q.where);
        return err;
    }
    /* One row more than asked tells whether there is a next page. */
    struct query_flows req = {.filter = q.where.filter,
                              .from_ms = q.from,
                              .to_ms = q.to,
                              .order = order ? order + desc : "first_ms",
                              .desc = desc,
                              .limit = limit + 1,
                              .offset = offset};
    char msg[512];
    int code = 0;
    json_t *rows = query_flows_json(qy, &req, &code, msg, sizeof(msg));
    where_free(&q.where);
    if (!rows)
        return code == QUERY_EINVALID && order
                   ? web_error(r, MHD_HTTP_BAD_REQUEST, 0,
                               "order: not a column of the flows view (e.g. first_ms, -bytes)")
                   : query_error(r, code, msg);
    bool more = (int64_t)json_array_size(rows) > limit;
    if (more)
        json_array_remove(rows, json_array_size(rows) - 1);
    return json_pack("{s:o, s:I, s:I, s:b, s:s, s:s}", "flows", rows, "limit", (json_int_t)limit,
                     "offset", (json_int_t)offset, "more", more, "order", req.order, "direction",
                     desc ? "desc" : "asc");
}

/* ---- top-N ---- */

/* The API's names for what top-N groups by (nfdump's and the flows view's), and the
 * query layer's statistic for each. */
static const struct {
    const char *name, *label;
    enum query_stat stat;
} top_keys[] = {
    {"src_addr", "src_addr", QS_SRCIP},
    {"srcip", "src_addr", QS_SRCIP},
    {"dst_addr", "dst_addr", QS_DSTIP},
    {"dstip", "dst_addr", QS_DSTIP},
    {"src_port", "src_port", QS_SRCPORT},
    {"srcport", "src_port", QS_SRCPORT},
    {"dst_port", "dst_port", QS_DSTPORT},
    {"dstport", "dst_port", QS_DSTPORT},
    {"proto", "proto", QS_PROTO},
    {"src_as", "src_as", QS_SRCAS},
    {"srcas", "src_as", QS_SRCAS},
    {"dst_as", "dst_as", QS_DSTAS},
    {"dstas", "dst_as", QS_DSTAS},
    {"in_if", "in_if", QS_INIF},
    {"inif", "in_if", QS_INIF},
    {"out_if", "out_if", QS_OUTIF},
    {"outif", "out_if", QS_OUTIF},
    {"exporter", "exporter", QS_EXPORTER},
    {"router", "exporter", QS_EXPORTER},
    {"ip", "ip", QS_IP},
    {"port", "port", QS_PORT},
    {"as", "as", QS_AS},
    {"if", "if", QS_IF},
};

/* Moves the totals every top-N row carries into one object. */
static json_t *split_totals(json_t *rows)
{
    json_t *first = json_array_get(rows, 0);
    json_t *total = json_pack("{s:I, s:I, s:I}", "flows",
                              json_integer_value(json_object_get(first, "total_flows")), "packets",
                              json_integer_value(json_object_get(first, "total_packets")), "bytes",
                              json_integer_value(json_object_get(first, "total_bytes")));
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        json_object_del(row, "total_flows");
        json_object_del(row, "total_packets");
        json_object_del(row, "total_bytes");
    }
    return total;
}

/* Top-N by exporter: each row's key is an exporter's address; its name goes beside it, as
 * everywhere else an exporter is named (names.c). */
static void name_keys(const struct exporter_names *names, json_t *rows)
{
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        const char *key = json_string_value(json_object_get(row, "key"));
        const char *name = key ? exporter_names_find(names, key) : NULL;
        json_object_set_new(row, "exporter_name", name ? json_string(name) : json_null());
    }
}

json_t *api_top(struct web_req *r)
{
    static const char *const known[] = {"by", "order", "n", "filter", "from", "to", NULL};
    json_t *err = NULL;
    int64_t n = 10;
    if (!web_params_known(r, known, &err) || !web_param_int(r, "n", 1, 1000, &n, &err))
        return err;
    const char *by = web_param(r, "by") ? web_param(r, "by") : "src_addr";
    size_t k = 0;
    while (k < sizeof(top_keys) / sizeof(top_keys[0]) && strcmp(top_keys[k].name, by))
        k++;
    if (k == sizeof(top_keys) / sizeof(top_keys[0]))
        return web_error(r, MHD_HTTP_BAD_REQUEST, 0,
                         "by: one of src_addr, dst_addr, ip, src_port, dst_port, port, proto, "
                         "src_as, dst_as, as, in_if, out_if, if, exporter");
    enum query_order order = QO_FLOWS;
    if (web_param(r, "order") && !query_order_parse(web_param(r, "order"), &order))
        return web_error(r, MHD_HTTP_BAD_REQUEST, 0, "order: flows, packets or bytes");
    struct flows_query q;
    if (!parse_query(r, &q, &err))
        return err;
    struct query *qy = web_query(r, &err);
    if (!qy) {
        where_free(&q.where);
        return err;
    }
    struct query_top req = {.filter = q.where.filter,
                            .from_ms = q.from,
                            .to_ms = q.to,
                            .stat = top_keys[k].stat,
                            .order = order,
                            .limit = n};
    char msg[512];
    int code = 0;
    json_t *rows = query_top_json(qy, &req, &code, msg, sizeof(msg));
    where_free(&q.where);
    if (!rows)
        return query_error(r, code, msg);
    json_t *total = split_totals(rows);
    if (top_keys[k].stat == QS_EXPORTER)
        name_keys(&r->srv->names, rows);
    return json_pack("{s:s, s:s, s:o, s:o}", "by", top_keys[k].label, "order",
                     query_order_name(order), "top", rows, "total", total);
}

/* ---- timeline: flows, packets and bytes per time bucket ---- */

/* The store's span of flow times for the default ranges (query_summary: cheap, no flow is
 * read): the smallest first_ms, and the newest flow end with each flow's end taken no later
 * than its receipt, so that one flow dated in the year 9999 does not move the pages there
 * (doc/storage.md "Exporters' clocks"). */
static bool data_span(struct web_req *r, int64_t *first, int64_t *last, json_t **err)
{
    struct query *qy = web_query(r, err);
    struct query_summary s;
    char msg[512];
    if (!qy)
        return false;
    int code = query_summary(qy, &s, msg, sizeof(msg));
    if (code) {
        *err = query_error(r, code, msg);
        return false;
    }
    if (s.flows == 0)
        return false;
    *first = s.first_ms;
    *last = s.last_ms;
    return true;
}

static json_t *timeline_points(struct web_req *r, const struct flows_query *q, int64_t step,
                               int64_t buckets, json_t **err)
{
    struct query *qy = web_query(r, err);
    if (!qy)
        return NULL;
    struct query_bucket *b = xcalloc((size_t)buckets, sizeof(*b));
    char msg[512];
    int code = query_timeline(qy, q->where.filter, q->from, q->to, step, b, (size_t)buckets, msg,
                              sizeof(msg));
    if (code) {
        free(b);
        *err = query_error(r, code, msg);
        return NULL;
    }
    json_t *points = json_array();
    for (int64_t i = 0; i < buckets; i++)
        json_array_append_new(
            points, json_pack("{s:I, s:I, s:I, s:I}", "t", (json_int_t)(q->from + i * step),
                              "flows", (json_int_t)b[i].flows, "packets", (json_int_t)b[i].packets,
                              "bytes", (json_int_t)b[i].bytes));
    free(b);
    return points;
}

json_t *api_timeline(struct web_req *r)
{
    static const char *const known[] = {"filter", "from", "to", "buckets", NULL};
    json_t *err = NULL;
    int64_t buckets = 120;
    struct flows_query q;
    if (!web_params_known(r, known, &err) ||
        !web_param_int(r, "buckets", 1, 2000, &buckets, &err) || !parse_query(r, &q, &err))
        return err;
    int64_t first = 0, last = 0;
    if ((q.from == INT64_MIN || q.to == INT64_MAX) && data_span(r, &first, &last, &err)) {
        if (q.from == INT64_MIN)
            q.from = first;
        if (q.to == INT64_MAX)
            q.to = last;
    }
    if (err || q.from == INT64_MIN || q.to == INT64_MAX || q.from > q.to) {
        where_free(&q.where);
        if (err)
            return err;
        return json_pack("{s:[], s:n, s:n, s:n}", "points", "from", "to", "step_ms");
    }
    /* Flow times lie in this range (the decoders clamp them): so do the buckets, and the
     * span, the step and every bucket's time fit in 64 bits whatever was asked. */
    q.from = flow_time_clamp(q.from);
    q.to = flow_time_clamp(q.to);
    int64_t span = q.to - q.from + 1;
    int64_t step = span / buckets + (span % buckets != 0);
    if (step < 1000)
        step = 1000;
    buckets = span / step + (span % step != 0);
    json_t *points = timeline_points(r, &q, step, buckets, &err);
    where_free(&q.where);
    if (!points)
        return err;
    return json_pack("{s:o, s:I, s:I, s:I}", "points", points, "from", (json_int_t)q.from, "to",
                     (json_int_t)q.to, "step_ms", (json_int_t)step);
}

/* ---- summary: what the store holds, for the pages' defaults ---- */

json_t *api_summary(struct web_req *r)
{
    static const char *const known[] = {NULL};
    json_t *err = NULL;
    if (!web_params_known(r, known, &err))
        return err;
    struct query *qy = web_query(r, &err);
    struct query_summary s;
    char msg[512];
    if (!qy)
        return err;
    int code = query_summary(qy, &s, msg, sizeof(msg));
    if (code)
        return query_error(r, code, msg);
    /* exporters and alerts are this collector's (its own store, or its state file) */
    sqlite3_stmt *st = web_prepare(r,
                                   "SELECT (SELECT count(*) FROM exporters) AS exporters, "
                                   "(SELECT count(*) FROM alerts WHERE state = 'open') AS "
                                   "alerts_open",
                                   &err);
    if (!st)
        return err;
    json_t *o = sqlite3_step(st) == SQLITE_ROW ? web_row_object(st) : NULL;
    sqlite3_finalize(st);
    if (!o)
        return web_db_error(r, "summary");
    json_object_set_new(o, "flows", json_integer(s.flows));
    json_object_set_new(o, "first_ms", s.flows ? json_integer(s.first_ms) : json_null());
    json_object_set_new(o, "last_ms", s.flows ? json_integer(s.last_ms) : json_null());
    json_object_set_new(o, "partitions", json_integer(s.partitions));
    json_object_set_new(o, "now_ms", json_integer(now_ms()));
    return o;
}
