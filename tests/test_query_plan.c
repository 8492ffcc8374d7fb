/* test_query_plan.c - what the query layer does to be fast, checked for giving the same
 * answers: pages in first_ms order read partition by partition (query_walk.c), the endpoint
 * key range next to IPv4 `src host|net` (filter_sql_keyed), the indexes a closed partition
 * gets and the plans that use them, stores whose old partitions carry the old index set,
 * and the timeline counted over pruned partitions. Each against brute force in C. */
#include "config.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/xmalloc.h"
#include "query/query.h"
#include "query/query_int.h"
#include "storage/store.h"
#include "tests/helpers.h"
#include "query/filter.h"

#define NF   3000
#define T0   1795392000000LL /* 2026-11-23T00:00:00Z */
#define STEP 7200LL          /* received_ms = T0 + i * STEP: 6 hours in all */
#define HOUR 3600000LL

static struct flow fl[NF];
static char *dir;
static char db[512];
static struct query *q;
static uint64_t rs;

static uint32_t rnd(uint32_t n)
{
    rs = rs * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)((rs >> 33) % n);
}

/* Flow i: first_ms is unique (first_ms % 1000 == i % 1000, and flows 1000 apart are 2 h apart
 * in receive time, more than any flow lasts), so a page in first_ms order has one answer. */
static void make(struct flow *f, int i)
{
    char a[64];
    memset(f, 0, sizeof(*f));
    addr_from_str("192.0.2.1", &f->exporter);
    if (i % 7 == 0)
        snprintf(a, sizeof(a), "2001:db8::%x", rnd(16));
    else
        snprintf(a, sizeof(a), "10.%u.%u.%u", rnd(2), rnd(4), rnd(8));
    addr_from_str(a, &f->src_addr);
    snprintf(a, sizeof(a), "192.168.1.%u", rnd(6));
    addr_from_str(a, &f->dst_addr);
    f->version = 10;
    f->src_port = (uint16_t)(700 + rnd(40));
    f->dst_port = (uint16_t)(rnd(4) ? 443 : 515);
    if (i % 50 == 3)
        f->dst_port = 9; /* a rare port: 2% of the flows */
    f->proto = 6;
    f->present = FF_TCP_FLAGS;
    f->tcp_flags = (uint16_t)(rnd(3) ? 0x1b : 0x02);
    f->packets = 1 + rnd(100);
    f->bytes = 40 * f->packets;
    f->received_ms = T0 + (int64_t)i * STEP;
    f->last_ms = f->received_ms - 1000 * rnd(20);
    f->first_ms = f->last_ms - 1000 * (rnd(10) ? rnd(60) : rnd(5000)) - i % 1000;
}

/* 400 rows per partition: closed (indexed) partitions and the open one at the end. */
static void setup(void)
{
    char err[256];
    rs = 42;
    dir = th_tmpdir();
    snprintf(db, sizeof(db), "%s/p.db", dir);
    struct store_options o = {.partition_rows = 400};
    struct store *s = store_open(db, STORE_RW, &o, err, sizeof(err));
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

TestSuite(query_plan, .init = setup, .fini = teardown, .timeout = 60);

struct rows {
    int64_t first[NF];
    int id[NF];
    size_t n;
};

static int collect(void *ctx, sqlite3_stmt *row)
{
    struct rows *r = ctx;
    int nc = sqlite3_column_count(row);
    cr_assert_lt(r->n, NF);
    for (int c = 0; c < nc; c++) {
        if (!strcmp(sqlite3_column_name(row, c), "first_ms"))
            r->first[r->n] = sqlite3_column_int64(row, c);
        if (!strcmp(sqlite3_column_name(row, c), "received_ms"))
            r->id[r->n] = (int)((sqlite3_column_int64(row, c) - T0) / STEP);
    }
    r->n++;
    return 0;
}

static int by_first(const void *a, const void *b)
{
    int64_t x = fl[*(const int *)a].first_ms, y = fl[*(const int *)b].first_ms;
    return (x > y) - (x < y);
}

static struct filter *compile(const char *text)
{
    char err[256];
    int col;
    struct filter *f = text ? filter_compile(text, err, sizeof(err), &col) : NULL;
    cr_assert(!text || f, "%s: %s", text, err);
    return f;
}

/* The flows a request selects, by brute force, in first_ms order (ascending). */
static size_t brute(const struct filter *f, int64_t from, int64_t to, int *out)
{
    size_t n = 0;
    for (int i = 0; i < NF; i++)
        if (fl[i].first_ms <= to && fl[i].last_ms >= from && (!f || filter_match(f, &fl[i])))
            out[n++] = i;
    qsort(out, n, sizeof(*out), by_first);
    return n;
}

static void check_page(const char *text, int64_t from, int64_t to, bool desc, int64_t limit,
                       int64_t offset)
{
    static int want[NF];
    static struct rows got;
    char err[256];
    struct filter *f = compile(text);
    size_t nw = brute(f, from, to, want);
    struct query_flows req = {
        .filter = f, .from_ms = from, .to_ms = to, .desc = desc, .limit = limit, .offset = offset};
    got.n = 0;
    cr_assert_eq(query_flows(q, &req, collect, &got, err, sizeof(err)), 0, "%s", err);
    size_t start = (size_t)offset < nw ? (size_t)offset : nw;
    size_t expect = nw - start < (size_t)limit ? nw - start : (size_t)limit;
    cr_assert_eq(got.n, expect, "'%s' %s limit %" PRId64 " offset %" PRId64 ": %zu rows, not %zu",
                 text ? text : "", desc ? "desc" : "asc", limit, offset, got.n, expect);
    for (size_t k = 0; k < got.n; k++) {
        int w = want[desc ? nw - 1 - start - k : start + k];
        cr_assert_eq(got.id[k], w, "'%s' %s row %zu: flow %d, expected %d", text ? text : "",
                     desc ? "desc" : "asc", k, got.id[k], w);
        cr_assert_eq(got.first[k], fl[w].first_ms);
    }
    filter_free(f);
}

Test(query_plan, pages_in_first_ms_order_equal_brute_force_across_partitions)
{
    static const char *const filters[] = {NULL, "dst port 515 and flags S",
                                          "src net 10.1.2.0/24 or src host 2001:db8::3",
                                          "dst port 9"};
    static const int64_t pages[][2] = {{1, 0}, {10, 0}, {100, 0}, {100, 250}, {50, 2990}};
    static const int64_t ranges[][2] = {
        {INT64_MIN, INT64_MAX}, {T0 + HOUR, T0 + 2 * HOUR}, {T0 + 5 * HOUR + 1800000, INT64_MAX}};
    for (size_t f = 0; f < sizeof(filters) / sizeof(filters[0]); f++)
        for (size_t p = 0; p < sizeof(pages) / sizeof(pages[0]); p++)
            for (size_t r = 0; r < sizeof(ranges) / sizeof(ranges[0]); r++)
                for (int desc = 0; desc < 2; desc++)
                    check_page(filters[f], ranges[r][0], ranges[r][1], desc, pages[p][0],
                               pages[p][1]);
}

/* Flows that run long start before partitions received earlier than theirs: the newest
 * page must still merge them in. */
Test(query_plan, newest_page_includes_long_flows_from_later_partitions)
{
    check_page(NULL, INT64_MIN, INT64_MAX, true, 500, 0);
    check_page(NULL, INT64_MIN, INT64_MAX, false, 500, 0);
    check_page("dst port 515", T0 + 2 * HOUR, T0 + 4 * HOUR, true, 300, 20);
}

/* Every row a filter selects through the query layer (partition arms, keyed) equals C. */
static void check_all(const char *text)
{
    static int want[NF];
    static struct rows got;
    char err[256];
    struct filter *f = compile(text);
    size_t nw = brute(f, INT64_MIN, INT64_MAX, want);
    for (int threads = 1; threads <= 2; threads++) {
        query_set_threads(q, threads);
        struct query_flows req = query_flows_all();
        req.filter = f;
        got.n = 0;
        cr_assert_eq(query_flows(q, &req, collect, &got, err, sizeof(err)), 0, "%s", err);
        cr_assert_eq(got.n, nw, "'%s', %d threads: %zu rows, not %zu", text, threads, got.n, nw);
        for (size_t k = 0; k < nw; k++)
            cr_assert_eq(got.id[k], want[k], "'%s' row %zu", text, k);
        int64_t count = -1;
        cr_assert_eq(query_count_flows(q, &req, &count, err, sizeof(err)), 0, "%s", err);
        cr_assert_eq(count, (int64_t)nw, "'%s' count", text);
    }
    filter_free(f);
}

Test(query_plan, key_ranges_give_the_same_rows_as_the_text_conditions)
{
    static const char *const filters[] = {
        "src host 10.1.2.3",
        "src ip 10.0.0.5 or src ip 10.1.3.7",
        "src net 10.1.2.0/24",
        "src net 10.1.2.0/29 and dst port 515",
        "src net 10.1.0.0/16", /* too wide for a key range: text only */
        "not src host 10.0.1.1",
        "host 10.0.1.1",
        "src host 10.0.1.1 or dst port 515",
        "src net 10.0.0.0 mask 255.255.255.0 and not flags A",
        "src host 2001:db8::5", /* IPv6 keys are hashed: no range */
        "src ip in [10.0.0.1 10.1.1.1]",
    };
    for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++)
        check_all(filters[i]);
}

Test(query_plan, keyed_fragment_adds_a_range_only_for_ipv4_src_of_24_bits_or_more)
{
    struct {
        const char *text;
        int keys;
    } cases[] = {{"src host 10.1.2.3", 1},
                 {"src net 10.1.2.0/24", 1},
                 {"src net 10.1.2.0/23", 0},
                 {"dst host 10.1.2.3", 0},
                 {"src host 2001:db8::1", 0},
                 {"host 10.1.2.3", 1},
                 {"src host 10.1.2.3 or not src net 10.2.3.0/28", 2},
                 {"dst port 515", 0}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct filter *f = compile(cases[i].text);
        cr_assert_eq(filter_param_count_keyed(f), filter_param_count(f) + 2 * cases[i].keys, "%s",
                     cases[i].text);
        char *sql = filter_sql_keyed(f, 3, true);
        cr_assert_eq(strstr(sql, "src_key BETWEEN") != NULL, cases[i].keys > 0, "%s: %s",
                     cases[i].text, sql);
        free(sql);
        filter_free(f);
    }
}

/* The plan of one arm over partition p, as query_union writes it (whole partition). */
static void plan(const char *p, const char *text, char *out, size_t len)
{
    struct filter *f = compile(text);
    char *frag = filter_sql_keyed(f, 1, true);
    char *sql = xasprintf("EXPLAIN QUERY PLAN SELECT * FROM \"%s\" WHERE %s", p, frag);
    sqlite3_stmt *st;
    sqlite3 *d = query_sqlite(q);
    cr_assert_eq(sqlite3_prepare_v2(d, sql, -1, &st, NULL), SQLITE_OK, "%s: %s", sqlite3_errmsg(d),
                 sql);
    out[0] = '\0';
    while (sqlite3_step(st) == SQLITE_ROW) {
        size_t used = strlen(out);
        snprintf(out + used, len - used, "%s;", (const char *)sqlite3_column_text(st, 3));
    }
    sqlite3_finalize(st);
    free(sql);
    free(frag);
    filter_free(f);
}

static char *partition(bool indexed)
{
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(query_sqlite(q),
                                    "SELECT name FROM partitions WHERE indexed = ?1 LIMIT 1", -1,
                                    &st, NULL),
                 SQLITE_OK);
    sqlite3_bind_int(st, 1, indexed);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    char *name = xstrdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return name;
}

Test(query_plan, closed_partitions_serve_src_host_and_dst_port_from_their_indexes)
{
    char *closed = partition(true), *open = partition(false), p[1024];
    plan(closed, "src host 10.1.2.3", p, sizeof(p));
    cr_expect(strstr(p, "_ep (src_key>? AND src_key<?)"), "%s", p);
    plan(closed, "src net 10.1.2.0/24 and not flags A", p, sizeof(p));
    cr_expect(strstr(p, "_ep (src_key>? AND src_key<?)"), "%s", p);
    plan(closed, "dst port 515 and flags S and not flags A", p, sizeof(p));
    cr_expect(strstr(p, "_dport (dst_port=?)"), "%s", p);
    /* a host is a handful of rows, a port a few percent: the key leads */
    plan(closed, "src host 10.1.2.3 and dst port 515", p, sizeof(p));
    cr_expect(strstr(p, "_ep (src_key>? AND src_key<?)"), "%s", p);
    plan(closed, "src net 10.0.0.0/8", p, sizeof(p));
    cr_expect(!strncmp(p, "SCAN ", 5), "a wide network is a scan: %s", p);
    plan(open, "src host 10.1.2.3 or dst port 515", p, sizeof(p));
    cr_expect(!strncmp(p, "SCAN ", 5), "the open partition has no index: %s", p);
    free(closed);
    free(open);
}

/* A store made before this index set: its closed partitions have (src_key, dst_key) and
 * first_ms indexes, no dst_port index. Queries answer the same; the next partition closed
 * gets the new set. */
Test(query_plan, partitions_with_the_old_index_set_answer_the_same)
{
    char err[256];
    query_close(q);
    q = NULL;
    sqlite3 *d;
    cr_assert_eq(sqlite3_open(db, &d), SQLITE_OK);
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(d, "SELECT name FROM partitions WHERE indexed = 1 LIMIT 3", -1,
                                    &st, NULL),
                 SQLITE_OK);
    char names[3][64];
    int converted = 0;
    while (converted < 3 && sqlite3_step(st) == SQLITE_ROW)
        snprintf(names[converted++], sizeof(names[0]), "%s", sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    for (int i = 0; i < converted; i++) {
        const char *p = names[i];
        char *sql = xasprintf("DROP INDEX \"%s_dport\"; CREATE INDEX \"%s_first\" ON \"%s\" "
                              "(first_ms);",
                              p, p, p);
        cr_assert_eq(sqlite3_exec(d, sql, NULL, NULL, NULL), SQLITE_OK, "%s", sqlite3_errmsg(d));
        free(sql);
    }
    sqlite3_close(d);
    cr_assert_eq(converted, 3);
    q = query_open(db, err, sizeof(err));
    cr_assert(q, "%s", err);
    check_all("dst port 515 and flags S and not flags A");
    check_all("src host 10.1.2.3");
    check_page(NULL, INT64_MIN, INT64_MAX, false, 100, 0);
    check_page("dst port 515", INT64_MIN, INT64_MAX, true, 100, 0);
    /* writing on: the open partition closes with the new set */
    struct store_options o = {.partition_rows = 400};
    struct store *s = store_open(db, STORE_RW, &o, err, sizeof(err));
    cr_assert(s, "%s", err);
    store_begin(s, err, sizeof(err));
    for (int i = 0; i < 400; i++) {
        struct flow f = fl[i];
        f.received_ms = T0 + (int64_t)(NF + i) * STEP;
        cr_assert_eq(store_add_flow(s, &f, err, sizeof(err)), 0, "%s", err);
    }
    cr_assert_eq(store_commit(s, err, sizeof(err)), 0, "%s", err);
    store_close(s);
    cr_expect_eq(th_db_int(db, "SELECT count(*) FROM sqlite_master WHERE name LIKE '%_first'"), 3);
    cr_expect_eq(th_db_int(db, "SELECT count(*) FROM partitions WHERE indexed = 1"),
                 th_db_int(db, "SELECT count(*) FROM sqlite_master WHERE name LIKE '%_dport'") + 3);
}

Test(query_plan, an_empty_store_answers_keyed_filters_and_pages_with_no_rows)
{
    char err[256], path[600];
    snprintf(path, sizeof(path), "%s/empty.db", dir);
    struct store *s = store_open(path, STORE_RW, NULL, err, sizeof(err));
    cr_assert(s, "%s", err);
    store_close(s);
    struct query *e = query_open(path, err, sizeof(err));
    cr_assert(e, "%s", err);
    struct filter *f = compile("src host 10.1.2.3 and dst port 515");
    struct query_flows req = query_flows_all();
    req.filter = f;
    static struct rows got;
    for (int limit = 0; limit <= 10; limit += 10) {
        req.limit = limit;
        got.n = 0;
        cr_assert_eq(query_flows(e, &req, collect, &got, err, sizeof(err)), 0, "%s", err);
        cr_expect_eq(got.n, 0);
    }
    int64_t count = -1;
    cr_assert_eq(query_count_flows(e, &req, &count, err, sizeof(err)), 0, "%s", err);
    cr_expect_eq(count, 0);
    struct query_bucket b[4];
    cr_assert_eq(query_timeline(e, f, T0, T0 + HOUR, HOUR / 4, b, 4, err, sizeof(err)), 0, "%s",
                 err);
    filter_free(f);
    query_close(e);
}

Test(query_plan, timeline_buckets_equal_brute_force)
{
    static const char *const filters[] = {NULL, "dst port 515", "src net 10.1.2.0/24"};
    const int64_t from = T0 + 30 * 60000, to = T0 + 4 * HOUR, step = 7 * 60000;
    const size_t n = (size_t)((to - from) / step + 1);
    struct query_bucket *got = xcalloc(n, sizeof(*got)), *want = xcalloc(n, sizeof(*want));
    char err[256];
    for (size_t k = 0; k < sizeof(filters) / sizeof(filters[0]); k++) {
        struct filter *f = compile(filters[k]);
        memset(want, 0, n * sizeof(*want));
        int64_t total = 0;
        for (int i = 0; i < NF; i++) {
            if (fl[i].first_ms < from || fl[i].first_ms > to || (f && !filter_match(f, &fl[i])))
                continue;
            size_t b = (size_t)((fl[i].first_ms - from) / step);
            want[b].flows++;
            want[b].packets += (int64_t)fl[i].packets;
            want[b].bytes += (int64_t)fl[i].bytes;
            total++;
        }
        cr_assert_gt(total, 10);
        for (int threads = 1; threads <= 3; threads += 2) {
            query_set_threads(q, threads);
            cr_assert_eq(query_timeline(q, f, from, to, step, got, n, err, sizeof(err)), 0, "%s",
                         err);
            for (size_t b = 0; b < n; b++) {
                cr_assert_eq(got[b].flows, want[b].flows, "'%s' bucket %zu, %d threads", filters[k],
                             b, threads);
                cr_assert_eq(got[b].packets, want[b].packets);
                cr_assert_eq(got[b].bytes, want[b].bytes);
            }
        }
        filter_free(f);
    }
    free(got);
    free(want);
}

/* The dst_port index for a rare port, a scan for a common one (query_plan.c); same rows. */
static bool port_index_for(const char *text)
{
    char err[256];
    struct filter *f = compile(text);
    struct qpart *parts;
    size_t n;
    cr_assert_eq(query_partitions(q, INT64_MIN, INT64_MAX, f, &parts, &n, err, sizeof(err)), 0,
                 "%s", err);
    cr_assert_gt(n, 2);
    bool all = true, none = true;
    for (size_t i = 0; i < n; i++) {
        all = all && parts[i].port_index;
        none = none && !parts[i].port_index;
    }
    cr_assert(all || none, "one decision for every partition");
    query_partitions_free(parts, n);
    filter_free(f);
    return all;
}

Test(query_plan, a_common_dst_port_is_scanned_and_a_rare_one_uses_its_index)
{
    cr_expect(port_index_for("dst port 9 and flags S"), "2%% of the flows: index");
    cr_expect(!port_index_for("dst port 443"), "3/4 of the flows: scan");
    cr_expect(!port_index_for("dst port in [9 515]"), "together 25%%: scan");
    cr_expect(port_index_for("src port 443"), "no dst port in the filter: nothing to decide");
    static const char *const filters[] = {"dst port 9", "dst port 443 and flags S",
                                          "dst port in [9 515] and not flags A",
                                          "not dst port 9 or src host 10.1.2.3"};
    for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++) {
        check_all(filters[i]);
        check_page(filters[i], INT64_MIN, INT64_MAX, true, 20, 3);
    }
}
