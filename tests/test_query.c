/* test_query.c - the query layer (query/query.h) against brute force over the same flows:
 * time ranges across partitions, order/limit/offset, counts, top-N with totals, JSON rows,
 * bad requests and the time limit. */
#include "config.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/addr.h"
#include "common/xmalloc.h"
#include "query/query.h"
#include "storage/store.h"
#include "tests/helpers.h"
#include "query/filter.h"

#define NF   1500
#define T0   1795392000000LL /* 2026-11-23T00:00:00Z */
#define HOUR 3600000LL

static struct flow fl[NF];
static char *dir;
static char db[512];
static struct query *q;

static uint64_t rs = 1234567;

static uint32_t rnd(uint32_t n)
{
    rs = rs * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)((rs >> 33) % n);
}

/* Flows received over 6 hours; some last up to 2 hours, so they overlap earlier partitions'
 * time. received_ms = T0 + i * 14400 is unique: the flow's identity. Bytes are unique. */
static void make(struct flow *f, int i)
{
    char a[64];
    memset(f, 0, sizeof(*f));
    addr_from_str(i % 3 ? "192.0.2.1" : "192.0.2.2", &f->exporter);
    snprintf(a, sizeof(a), i % 5 ? "10.0.%u.%u" : "2001:db8::%x:%x", rnd(4), rnd(8));
    addr_from_str(a, &f->src_addr);
    snprintf(a, sizeof(a), "192.168.1.%u", rnd(6));
    addr_from_str(a, &f->dst_addr);
    f->version = 10;
    f->src_port = (uint16_t)(700 + rnd(40));
    f->dst_port = (uint16_t)(rnd(2) ? 515 : 443);
    f->proto = 6;
    f->present = FF_TCP_FLAGS | (i % 4 ? FF_AS : 0);
    f->tcp_flags = (uint16_t)(rnd(3) ? 0x1b : 0x02);
    f->src_as = 64500 + rnd(3);
    f->packets = 1 + rnd(100);
    f->bytes = (uint64_t)i * 1000 + rnd(1000);
    f->received_ms = T0 + (int64_t)i * 14400;
    f->last_ms = f->received_ms - rnd(2000);
    f->first_ms = f->last_ms - (rnd(10) ? rnd(60000) : rnd(2 * 3600000));
}

static void setup(void)
{
    char err[256];
    dir = th_tmpdir();
    snprintf(db, sizeof(db), "%s/q.db", dir);
    struct store *s = store_open(db, STORE_RW, NULL, err, sizeof(err));
    cr_assert(s, "%s", err);
    for (int i = 0; i < NF; i++)
        make(&fl[i], i);
    th_store_flows(s, fl, NF);
    store_close(s);
    q = query_open(db, err, sizeof(err));
    cr_assert(q, "%s", err);
}

static void teardown(void)
{
    query_close(q);
    th_rmtree(dir);
    free(dir);
}

TestSuite(query, .init = setup, .fini = teardown, .timeout = 60);

struct ids {
    int64_t v[NF];
    size_t n;
};

static int collect(void *ctx, sqlite3_stmt *row)
{
    struct ids *ids = ctx;
    int c = sqlite3_column_count(row) - 1;
    cr_assert_str_eq(sqlite3_column_name(row, c), "received_ms");
    cr_assert_lt(ids->n, NF);
    ids->v[ids->n++] = (sqlite3_column_int64(row, c) - T0) / 14400;
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void check_range(int64_t from, int64_t to, const char *ftext)
{
    char err[256];
    int col;
    struct filter *f = ftext ? filter_compile(ftext, err, sizeof(err), &col) : NULL;
    cr_assert(!ftext || f, "%s", err);
    struct query_flows req = {.filter = f, .from_ms = from, .to_ms = to};
    struct ids want = {.n = 0};
    for (int i = 0; i < NF; i++)
        if (fl[i].first_ms <= to && fl[i].last_ms >= from && (!f || filter_match(f, &fl[i])))
            want.v[want.n++] = i;
    /* one thread, and more threads than some ranges have partitions */
    for (int threads = 1; threads <= 4; threads += 3) {
        query_set_threads(q, threads);
        static struct ids got;
        got.n = 0;
        cr_assert_eq(query_flows(q, &req, collect, &got, err, sizeof(err)), 0, "%s", err);
        qsort(got.v, got.n, sizeof(got.v[0]), cmp_i64);
        cr_assert_eq(got.n, want.n,
                     "[%" PRId64 ", %" PRId64 "] '%s', %d threads: %zu rows, expected %zu", from,
                     to, ftext ? ftext : "", threads, got.n, want.n);
        for (size_t i = 0; i < got.n; i++)
            cr_assert_eq(got.v[i], want.v[i]);
        int64_t count = -1;
        cr_assert_eq(query_count_flows(q, &req, &count, err, sizeof(err)), 0, "%s", err);
        cr_expect_eq(count, (int64_t)want.n, "%d threads", threads);
    }
    filter_free(f);
}

Test(query, time_ranges_select_overlapping_flows_across_partitions)
{
    check_range(INT64_MIN, INT64_MAX, NULL);
    check_range(T0 + HOUR, T0 + 2 * HOUR, NULL);              /* one hour */
    check_range(T0 + HOUR + 60000, T0 + HOUR + 120000, NULL); /* one minute inside */
    check_range(T0 + 90 * 60000, T0 + 4 * HOUR + 5000, NULL); /* across partitions */
    check_range(T0 - 10 * HOUR, T0 - 9 * HOUR, NULL);         /* before everything */
    check_range(T0 + 10 * HOUR, INT64_MAX, NULL);             /* after everything */
    check_range(T0 + 3 * HOUR, INT64_MAX, "dst port 515 and flags S and not flags A");
    check_range(INT64_MIN, T0 + 2 * HOUR, "src net 2001:db8::/32 or src ip 10.0.1.1");
    check_range(T0 + 30 * 60000, T0 + 5 * HOUR, "as 64501 or not as 64500");
}

struct ordered {
    int64_t v[NF];
    size_t n;
    int col;
};

static int collect_col(void *ctx, sqlite3_stmt *row)
{
    struct ordered *o = ctx;
    o->v[o->n++] = sqlite3_column_int64(row, o->col);
    return 0;
}

static int column_index(const char *name)
{
    const char *const *cols;
    size_t n = query_flow_columns(q, &cols);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(cols[i], name))
            return (int)i;
    cr_assert_fail("no column %s", name);
    return -1;
}

static int cmp_desc(const void *a, const void *b)
{
    return -cmp_i64(a, b);
}

Test(query, order_limit_and_offset)
{
    char err[256];
    struct query_flows req = query_flows_all();
    req.order = "bytes";
    req.desc = true;
    req.limit = 10;
    req.offset = 5;
    struct ordered got = {.n = 0, .col = column_index("bytes")};
    cr_assert_eq(query_flows(q, &req, collect_col, &got, err, sizeof(err)), 0, "%s", err);
    int64_t all[NF];
    for (int i = 0; i < NF; i++)
        all[i] = (int64_t)fl[i].bytes;
    qsort(all, NF, sizeof(all[0]), cmp_desc);
    cr_assert_eq(got.n, 10);
    for (size_t i = 0; i < 10; i++)
        cr_expect_eq(got.v[i], all[5 + i]);
    /* default order: first_ms ascending */
    req = query_flows_all();
    got = (struct ordered){.n = 0, .col = column_index("first_ms")};
    cr_assert_eq(query_flows(q, &req, collect_col, &got, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(got.n, NF);
    for (size_t i = 1; i < got.n; i++)
        cr_assert_leq(got.v[i - 1], got.v[i]);
}

Test(query, bad_requests_are_refused_with_a_message)
{
    char err[256] = "";
    struct query_flows req = query_flows_all();
    req.order = "bytes; DROP TABLE partitions";
    cr_expect_eq(query_flows(q, &req, NULL, NULL, err, sizeof(err)), QUERY_EINVALID);
    cr_expect(strstr(err, "not a column of flows"), "%s", err);
    req.order = "nonsense";
    cr_expect_eq(query_flows(q, &req, NULL, NULL, err, sizeof(err)), QUERY_EINVALID);
    req = query_flows_all();
    req.from_ms = T0 + HOUR;
    req.to_ms = T0;
    cr_expect_eq(query_flows(q, &req, NULL, NULL, err, sizeof(err)), QUERY_EINVALID);
    cr_expect(strstr(err, "ends before it starts"), "%s", err);
    cr_expect_eq(th_db_int(db, "SELECT count(*) FROM partitions"), 6);
    /* not a store */
    char other[600];
    snprintf(other, sizeof(other), "%s/not-a-store", dir);
    FILE *f = fopen(other, "w");
    fputs("hello", f);
    fclose(f);
    cr_expect_null(query_open(other, err, sizeof(err)));
    cr_expect(err[0]);
}

Test(query, columns_are_the_flows_view_s)
{
    const char *const *cols;
    size_t n = query_flow_columns(q, &cols);
    cr_assert_eq(n, 37);
    cr_expect_str_eq(cols[0], "exporter");
    cr_expect_str_eq(cols[3], "src_addr");
    cr_expect_str_eq(cols[n - 1], "received_ms");
    char err[256];
    int code = 99;
    struct query_flows req = query_flows_all();
    req.limit = 3;
    json_t *a = query_flows_json(q, &req, &code, err, sizeof(err));
    cr_assert(a, "%s", err);
    cr_expect_eq(code, 0);
    cr_assert_eq(json_array_size(a), 3);
    json_t *row = json_array_get(a, 0);
    cr_expect_eq(json_object_size(row), n);
    for (size_t i = 0; i < n; i++)
        cr_expect(json_object_get(row, cols[i]), "no %s", cols[i]);
    cr_expect(json_is_string(json_object_get(row, "src_addr")));
    cr_expect(json_is_integer(json_object_get(row, "bytes")));
    cr_expect(json_is_null(json_object_get(row, "in_if")));
    json_decref(a);
}

/* brute-force top-N by src_port, and by AS (with NULL for flows without AS) */
Test(query, top_n_matches_brute_force_with_totals)
{
    char err[256];
    int64_t flows[65536] = {0}, bytes[65536] = {0}, total_b = 0;
    for (int i = 0; i < NF; i++) {
        flows[fl[i].src_port]++;
        bytes[fl[i].src_port] += (int64_t)fl[i].bytes;
        total_b += (int64_t)fl[i].bytes;
    }
    struct query_top req = {.from_ms = INT64_MIN,
                            .to_ms = INT64_MAX,
                            .stat = QS_SRCPORT,
                            .order = QO_BYTES,
                            .limit = 5};
    int code;
    json_t *a = query_top_json(q, &req, &code, err, sizeof(err));
    cr_assert(a, "%s", err);
    cr_assert_eq(json_array_size(a), 5);
    int64_t prev = INT64_MAX;
    size_t i;
    json_t *row;
    json_array_foreach(a, i, row)
    {
        int64_t port = json_integer_value(json_object_get(row, "key"));
        int64_t b = json_integer_value(json_object_get(row, "bytes"));
        cr_expect_eq(b, bytes[port], "port %" PRId64, port);
        cr_expect_eq(json_integer_value(json_object_get(row, "flows")), flows[port]);
        cr_expect_eq(json_integer_value(json_object_get(row, "total_bytes")), total_b);
        cr_expect_eq(json_integer_value(json_object_get(row, "total_flows")), NF);
        cr_expect_leq(b, prev);
        prev = b;
    }
    /* nothing larger was left out */
    int larger = 0;
    for (int p = 0; p < 65536; p++)
        larger += bytes[p] > prev;
    cr_expect_eq(larger, 4);
    json_decref(a);

    /* AS: flows without AS group under null; `as` counts each flow under src and dst */
    int64_t no_as = 0;
    for (int k = 0; k < NF; k++)
        no_as += !(fl[k].present & FF_AS);
    req = (struct query_top){.from_ms = INT64_MIN,
                             .to_ms = INT64_MAX,
                             .stat = QS_SRCAS,
                             .order = QO_FLOWS,
                             .limit = 100};
    a = query_top_json(q, &req, &code, err, sizeof(err));
    cr_assert(a, "%s", err);
    bool saw_null = false;
    json_array_foreach(a, i, row) if (json_is_null(json_object_get(row, "key")))
    {
        saw_null = true;
        cr_expect_eq(json_integer_value(json_object_get(row, "flows")), no_as);
    }
    cr_expect(saw_null);
    json_decref(a);
    req.stat = QS_IP;
    a = query_top_json(q, &req, &code, err, sizeof(err));
    cr_assert(a, "%s", err);
    cr_expect_eq(json_integer_value(json_object_get(json_array_get(a, 0), "total_flows")), 2 * NF);
    json_decref(a);

    enum query_stat s;
    enum query_order o;
    cr_expect(query_stat_parse("dstip", &s) && s == QS_DSTIP);
    cr_expect(query_stat_parse("exporter", &s) && s == QS_EXPORTER);
    cr_expect(!query_stat_parse("nonsense", &s));
    cr_expect(query_order_parse("packets", &o) && o == QO_PACKETS);
    cr_expect(query_order_parse("bps", &o) && o == QO_BPS);
    cr_expect(query_order_parse("tstart", &o) && o == QO_TSTART);
    cr_expect(!query_order_parse("nonsense", &o));
}

/* Each top-N group's span is that of its flows, and pps orders as nfdump: 1000 * packets /
 * span in ms. */
Test(query, top_n_has_spans_and_orders_by_rates)
{
    char err[256];
    int64_t first[65536], last[65536], packets[65536] = {0};
    for (int p = 0; p < 65536; p++) {
        first[p] = INT64_MAX;
        last[p] = INT64_MIN;
    }
    for (int i = 0; i < NF; i++) {
        int p = fl[i].src_port;
        first[p] = fl[i].first_ms < first[p] ? fl[i].first_ms : first[p];
        last[p] = fl[i].last_ms > last[p] ? fl[i].last_ms : last[p];
        packets[p] += (int64_t)fl[i].packets;
    }
    struct query_top req = {
        .from_ms = INT64_MIN, .to_ms = INT64_MAX, .stat = QS_SRCPORT, .order = QO_PPS, .limit = 40};
    int code;
    json_t *a = query_top_json(q, &req, &code, err, sizeof(err));
    cr_assert(a, "%s", err);
    cr_assert_eq(json_array_size(a), 40);
    double prev = 1e300;
    size_t i;
    json_t *row;
    json_array_foreach(a, i, row)
    {
        int64_t p = json_integer_value(json_object_get(row, "key"));
        cr_expect_eq(json_integer_value(json_object_get(row, "first_ms")), first[p]);
        cr_expect_eq(json_integer_value(json_object_get(row, "last_ms")), last[p]);
        double pps = 1000.0 * (double)packets[p] / (double)(last[p] - first[p]);
        cr_expect_leq(pps, prev, "port %" PRId64, p);
        prev = pps;
    }
    json_decref(a);
}

struct agg_want {
    int64_t flows, packets, bytes, first, last;
};

static int collect_json(void *ctx, sqlite3_stmt *row)
{
    json_array_append_new(ctx, query_row_json(row));
    return 0;
}

static json_t *aggregate_json(const struct query_aggregate *req)
{
    char err[256];
    json_t *a = json_array();
    cr_assert_eq(query_aggregate(q, req, collect_json, a, err, sizeof(err)), 0, "%s", err);
    return a;
}

/* -A srcip4/16,dstport: every record against brute force, in bytes order, with the prefix
 * cut applied to IPv4 only. */
Test(query, aggregate_matches_brute_force)
{
    struct agg_want want[2][2][2] = {0}; /* [v6][0..1 of 10.0.x.y is all 10.0/16][port] */
    for (int i = 0; i < NF; i++) {
        struct agg_want *w = &want[fl[i].src_addr.family == 6][0][fl[i].dst_port == 515];
        w->flows++;
        w->packets += (int64_t)fl[i].packets;
        w->bytes += (int64_t)fl[i].bytes;
    }
    struct query_aggregate req = {.from_ms = INT64_MIN,
                                  .to_ms = INT64_MAX,
                                  .fields = 1u << QF_SRCIP | 1u << QF_DSTPORT,
                                  .src_v4len = 16,
                                  .order = QO_BYTES};
    json_t *a = aggregate_json(&req);
    size_t i, v4 = 0;
    json_t *row;
    int64_t prev = INT64_MAX, flows = 0;
    json_array_foreach(a, i, row)
    {
        const char *src = json_string_value(json_object_get(row, "src_addr"));
        int64_t port = json_integer_value(json_object_get(row, "dst_port"));
        int64_t bytes = json_integer_value(json_object_get(row, "bytes"));
        cr_assert(src);
        cr_expect_null(json_object_get(row, "dst_addr"));
        cr_expect_leq(bytes, prev);
        prev = bytes;
        flows += json_integer_value(json_object_get(row, "flows"));
        if (strchr(src, ':'))
            continue; /* IPv6: whole addresses, many records */
        cr_expect_str_eq(src, "10.0.0.0");
        struct agg_want *w = &want[0][0][port == 515];
        cr_expect_eq(json_integer_value(json_object_get(row, "flows")), w->flows);
        cr_expect_eq(json_integer_value(json_object_get(row, "packets")), w->packets);
        cr_expect_eq(bytes, w->bytes);
        v4++;
    }
    cr_expect_eq(v4, 2);
    cr_expect_eq(flows, NF);
    json_decref(a);

    /* no fields: one record of everything, nfdump's summary */
    req = (struct query_aggregate){.from_ms = INT64_MIN, .to_ms = INT64_MAX};
    a = aggregate_json(&req);
    cr_assert_eq(json_array_size(a), 1);
    int64_t first = INT64_MAX, last = INT64_MIN, bytes = 0;
    for (int k = 0; k < NF; k++) {
        first = fl[k].first_ms < first ? fl[k].first_ms : first;
        last = fl[k].last_ms > last ? fl[k].last_ms : last;
        bytes += (int64_t)fl[k].bytes;
    }
    row = json_array_get(a, 0);
    cr_expect_eq(json_integer_value(json_object_get(row, "flows")), NF);
    cr_expect_eq(json_integer_value(json_object_get(row, "bytes")), bytes);
    cr_expect_eq(json_integer_value(json_object_get(row, "first_ms")), first);
    cr_expect_eq(json_integer_value(json_object_get(row, "last_ms")), last);
    json_decref(a);

    /* bidir needs the 5-tuple */
    char err[256];
    req.bidir = true;
    cr_expect_eq(query_aggregate(q, &req, NULL, NULL, err, sizeof(err)), QUERY_EINVALID);
    enum query_field f;
    unsigned l4 = 0, l6 = 0;
    cr_expect(query_field_parse("dstip6/64", &f, &l4, &l6) && f == QF_DSTIP && l6 == 64);
    cr_expect(!query_field_parse("srcip4/33", &f, &l4, &l6));
    cr_expect(!query_field_parse("srcmac", &f, &l4, &l6));
}

static void bidir_flow(struct flow *f, const char *src, int sport, const char *dst, int dport,
                       int proto, int64_t first, uint64_t bytes)
{
    memset(f, 0, sizeof(*f));
    addr_from_str("192.0.2.1", &f->exporter);
    addr_from_str(src, &f->src_addr);
    addr_from_str(dst, &f->dst_addr);
    f->version = 10;
    f->src_port = (uint16_t)sport;
    f->dst_port = (uint16_t)dport;
    f->proto = (uint8_t)proto;
    f->packets = bytes / 100;
    f->bytes = bytes;
    f->first_ms = first;
    f->last_ms = first + 1000;
    f->received_ms = first + 2000;
}

/* -b: the two directions of a TCP or UDP 5-tuple are one record, forward = the earlier flow;
 * ICMP is never paired (as nfdump). */
Test(query, bidirectional_records_pair_the_directions)
{
    struct flow f[6];
    bidir_flow(&f[0], "10.9.0.2", 515, "10.9.0.1", 722, 6, T0 + 5, 800); /* reply, later */
    bidir_flow(&f[1], "10.9.0.1", 722, "10.9.0.2", 515, 6, T0, 2000);    /* request */
    bidir_flow(&f[2], "10.9.0.1", 722, "10.9.0.2", 515, 6, T0 + 9000, 500);
    bidir_flow(&f[3], "10.9.0.1", 0, "10.9.0.2", 2048, 1, T0, 300);
    bidir_flow(&f[4], "10.9.0.2", 0, "10.9.0.1", 0, 1, T0 + 1, 300);
    bidir_flow(&f[5], "10.9.0.3", 53, "10.9.0.1", 4000, 17, T0 + 3, 100); /* alone */
    char err[256], path[600];
    snprintf(path, sizeof(path), "%s/bidir.db", dir);
    struct store *s = store_open(path, STORE_RW, NULL, err, sizeof(err));
    cr_assert(s, "%s", err);
    th_store_flows(s, f, 6);
    store_close(s);
    struct query *bq = query_open(path, err, sizeof(err));
    cr_assert(bq, "%s", err);
    struct query_aggregate req = {.from_ms = INT64_MIN,
                                  .to_ms = INT64_MAX,
                                  .fields = QUERY_FIELDS_5TUPLE,
                                  .bidir = true,
                                  .order = QO_BYTES};
    json_t *a = json_array();
    cr_assert_eq(query_aggregate(bq, &req, collect_json, a, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(json_array_size(a), 4, "%s", json_dumps(a, 0));
    json_t *tcp = json_array_get(a, 0);
    cr_expect_str_eq(json_string_value(json_object_get(tcp, "src_addr")), "10.9.0.1");
    cr_expect_eq(json_integer_value(json_object_get(tcp, "src_port")), 722);
    cr_expect_eq(json_integer_value(json_object_get(tcp, "bytes")), 2500);
    cr_expect_eq(json_integer_value(json_object_get(tcp, "rev_bytes")), 800);
    cr_expect_eq(json_integer_value(json_object_get(tcp, "flows")), 3);
    cr_expect_eq(json_integer_value(json_object_get(tcp, "first_ms")), T0);
    cr_expect_eq(json_integer_value(json_object_get(tcp, "last_ms")), T0 + 10000);
    for (size_t i = 1; i < 4; i++) {
        json_t *r = json_array_get(a, i);
        cr_expect_eq(json_integer_value(json_object_get(r, "rev_bytes")), 0);
        cr_expect_eq(json_integer_value(json_object_get(r, "flows")), 1);
    }
    json_decref(a);
    query_close(bq);
}

Test(query, filter_and_range_apply_to_top_n)
{
    char err[256];
    int col;
    struct filter *f = filter_compile("dst port 515", err, sizeof(err), &col);
    cr_assert(f);
    struct query_top req = {.filter = f,
                            .from_ms = T0 + HOUR,
                            .to_ms = T0 + 2 * HOUR,
                            .stat = QS_DSTPORT,
                            .order = QO_FLOWS};
    int code;
    json_t *a = query_top_json(q, &req, &code, err, sizeof(err));
    cr_assert(a, "%s", err);
    int64_t want = 0;
    for (int i = 0; i < NF; i++)
        want +=
            fl[i].dst_port == 515 && fl[i].first_ms <= T0 + 2 * HOUR && fl[i].last_ms >= T0 + HOUR;
    cr_assert_eq(json_array_size(a), 1);
    cr_expect_eq(json_integer_value(json_object_get(json_array_get(a, 0), "key")), 515);
    cr_expect_eq(json_integer_value(json_object_get(json_array_get(a, 0), "flows")), want);
    json_decref(a);
    filter_free(f);
}

static int slow_row(void *ctx, sqlite3_stmt *row)
{
    (void)row;
    (*(int *)ctx)++;
    struct timespec ts = {0, 2000000}; /* 2 ms per row: the limit must stop the query */
    nanosleep(&ts, NULL);
    return 0;
}

Test(query, time_limit_stops_a_long_query_with_a_clear_error)
{
    char err[256] = "";
    query_set_time_limit(q, 50);
    struct query_flows req = query_flows_all();
    int rows = 0;
    int rc = query_flows(q, &req, slow_row, &rows, err, sizeof(err));
    cr_expect_eq(rc, QUERY_ETIMEOUT, "rc %d after %d rows: %s", rc, rows, err);
    cr_expect(strstr(err, "query took too long (more than 50 ms)"), "%s", err);
    cr_expect_lt(rows, NF);
    /* the connection still works afterwards, and without a limit the query completes */
    query_set_time_limit(q, 0);
    int64_t count;
    cr_expect_eq(query_count_flows(q, &req, &count, err, sizeof(err)), 0, "%s", err);
    cr_expect_eq(count, NF);
}

struct rowtext {
    char *s;
    size_t len, cap;
};

/* Each row as "received_ms,order value;" so that two runs can be compared exactly. */
static int row_text(void *ctx, sqlite3_stmt *row)
{
    struct rowtext *t = ctx;
    json_t *o = query_row_json(row);
    char *line = xasprintf("%" PRId64 "|%s|%" PRId64 ";",
                           (int64_t)json_integer_value(json_object_get(o, "received_ms")),
                           json_string_value(json_object_get(o, "src_addr")),
                           (int64_t)json_integer_value(json_object_get(o, "bytes")));
    json_decref(o);
    size_t n = strlen(line);
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->s = xreallocarray(t->s, t->cap, 1);
    }
    memcpy(t->s + t->len, line, n + 1);
    t->len += n;
    free(line);
    return 0;
}

/* The threaded scan and merge give exactly what one thread gives, for every order,
 * direction, page and thread count. Orders are by unique columns so the answer is unique. */
Test(query, threaded_scan_and_merge_equal_the_single_thread_result)
{
    static const char *const orders[] = {"received_ms", "bytes"};
    static const int64_t pages[][2] = {{0, 0}, {10, 0}, {7, 300}, {0, 1000}, {5000, 0}};
    char err[256];
    int col;
    struct filter *f =
        filter_compile("not dst port 443 or src ip in [10.0.1.1 10.0.2.2]", err, sizeof(err), &col);
    cr_assert(f, "%s", err);
    for (size_t o = 0; o < 2; o++)
        for (int desc = 0; desc < 2; desc++)
            for (size_t p = 0; p < sizeof(pages) / sizeof(pages[0]); p++) {
                struct query_flows req = {.filter = f,
                                          .from_ms = T0 + 20 * 60000,
                                          .to_ms = T0 + 5 * HOUR,
                                          .order = orders[o],
                                          .desc = desc,
                                          .limit = pages[p][0],
                                          .offset = pages[p][1]};
                struct rowtext one = {0};
                query_set_threads(q, 1);
                cr_assert_eq(query_flows(q, &req, row_text, &one, err, sizeof(err)), 0, "%s", err);
                cr_assert(one.len > 0 || pages[p][1] >= 1000);
                for (int threads = 2; threads <= 7; threads += 5) {
                    struct rowtext many = {0};
                    query_set_threads(q, threads);
                    cr_assert_eq(query_flows(q, &req, row_text, &many, err, sizeof(err)), 0, "%s",
                                 err);
                    cr_assert_eq(many.len, one.len, "%s %s page %zu, %d threads", orders[o],
                                 desc ? "desc" : "asc", p, threads);
                    cr_assert(one.len == 0 || !strcmp(one.s, many.s), "%s %s page %zu, %d threads",
                              orders[o], desc ? "desc" : "asc", p, threads);
                    free(many.s);
                }
                free(one.s);
            }
    filter_free(f);
}

/* Every statistic and order, with 1 and 3 threads, equals SQLite's own GROUP BY over the
 * flows view (ties broken by key in both). */
Test(query, top_n_equals_sql_group_by_for_every_stat_order_and_thread_count)
{
    static const char *const single[][2] = {
        {"srcip", "src_addr"},   {"dstip", "dst_addr"}, {"srcport", "src_port"},
        {"dstport", "dst_port"}, {"proto", "proto"},    {"srcas", "src_as"},
        {"dstas", "dst_as"},     {"inif", "in_if"},     {"exporter", "exporter"},
    };
    static const char *const order_names[] = {"flows", "packets", "bytes"};
    char err[256];
    for (size_t s = 0; s < sizeof(single) / sizeof(single[0]); s++)
        for (int o = 0; o < 3; o++) {
            char *sql = xasprintf("SELECT %s AS key, count(*) AS flows, sum(packets) AS packets, "
                                  "sum(bytes) AS bytes FROM flows WHERE first_ms <= %lld AND "
                                  "last_ms >= %lld GROUP BY key ORDER BY %s DESC, key LIMIT 7",
                                  single[s][1], (long long)(T0 + 4 * HOUR), (long long)(T0 + HOUR),
                                  order_names[o]);
            sqlite3_stmt *st;
            cr_assert_eq(sqlite3_prepare_v2(query_sqlite(q), sql, -1, &st, NULL), SQLITE_OK);
            json_t *want = json_array();
            while (sqlite3_step(st) == SQLITE_ROW)
                json_array_append_new(want, query_row_json(st));
            sqlite3_finalize(st);
            free(sql);
            struct query_top req = {.from_ms = T0 + HOUR,
                                    .to_ms = T0 + 4 * HOUR,
                                    .limit = 7,
                                    .order = (enum query_order)o};
            cr_assert(query_stat_parse(single[s][0], &req.stat));
            for (int threads = 1; threads <= 3; threads += 2) {
                query_set_threads(q, threads);
                int code;
                json_t *got = query_top_json(q, &req, &code, err, sizeof(err));
                cr_assert(got, "%s", err);
                cr_assert_eq(json_array_size(got), json_array_size(want));
                for (size_t i = 0; i < json_array_size(want); i++) {
                    json_t *g = json_array_get(got, i), *w = json_array_get(want, i);
                    const char *const keys[] = {"key", "flows", "packets", "bytes"};
                    for (int k = 0; k < 4; k++)
                        cr_assert(
                            json_equal(json_object_get(g, keys[k]), json_object_get(w, keys[k])),
                            "-s %s/%s, %d threads, row %zu, %s", single[s][0], order_names[o],
                            threads, i, keys[k]);
                }
                json_decref(got);
            }
            json_decref(want);
        }
}

/* ---- numbers at the limits ---- */

/* Flows of 2^64 - 1 packets and bytes (the store keeps INT64_MAX) in two partitions: the
 * timeline's buckets and the top-N sums and totals stop at INT64_MAX, in one thread or
 * merged from two, instead of overflowing (the sanitizer build aborted on the timeline's
 * sum); a timeline over the widest range there is puts them in its last bucket. */
Test(query_limits, sums_saturate_and_any_range_is_safe, .timeout = 60)
{
    char err[256], path[600];
    char *tmp = th_tmpdir();
    snprintf(path, sizeof(path), "%s/l.db", tmp);
    struct store *s = store_open(path, STORE_RW, NULL, err, sizeof(err));
    cr_assert(s, "%s", err);
    struct flow f[5];
    for (int i = 0; i < 5; i++) {
        make(&f[i], i);
        f[i].src_port = 722;
        f[i].packets = f[i].bytes = i == 4 ? 10 : UINT64_MAX;
        f[i].received_ms = T0 + (i < 2 ? 0 : HOUR) + i * 1000;
        f[i].first_ms = f[i].last_ms = f[i].received_ms;
    }
    th_store_flows(s, f, 5);
    store_close(s);
    struct query *lq = query_open(path, err, sizeof(err));
    cr_assert(lq, "%s", err);
    for (int threads = 1; threads <= 2; threads++) {
        query_set_threads(lq, threads);
        struct query_bucket b[4];
        cr_assert_eq(query_timeline(lq, NULL, T0, T0 + 4 * HOUR - 1, HOUR, b, 4, err, sizeof(err)),
                     0, "%s", err);
        cr_expect_eq(b[0].flows, 2);
        cr_expect_eq(b[0].bytes, INT64_MAX);
        cr_expect_eq(b[1].flows, 3);
        cr_expect_eq(b[1].packets, INT64_MAX, "%d threads", threads);
        cr_assert_eq(query_timeline(lq, NULL, INT64_MIN, INT64_MAX, 1, b, 4, err, sizeof(err)), 0,
                     "%s", err);
        cr_expect_eq(b[3].flows, 5, "the widest range: everything in the last bucket");
        cr_expect_eq(b[3].bytes, INT64_MAX);
        struct query_top req = {
            .from_ms = INT64_MIN, .to_ms = INT64_MAX, .stat = QS_SRCPORT, .order = QO_BYTES};
        int code;
        json_t *top = query_top_json(lq, &req, &code, err, sizeof(err));
        cr_assert(top, "%s", err);
        json_t *row = json_array_get(top, 0);
        cr_expect_eq(json_integer_value(json_object_get(row, "flows")), 5);
        cr_expect_eq(json_integer_value(json_object_get(row, "bytes")), INT64_MAX);
        cr_expect_eq(json_integer_value(json_object_get(row, "total_packets")), INT64_MAX);
        json_decref(top);
    }
    query_close(lq);
    th_rmtree(tmp);
    free(tmp);
}
