/* test_clickhouse.c - the ClickHouse store against Debian's real clickhouse-server
 * (tests/chserver.h), beside the SQLite store:
 *   - the random filters of test_filter_diff.c select the same flows on ClickHouse as the C
 *     evaluator (and so as SQLite), and no filter value reaches the SQL as anything but a
 *     literal made from a parsed value;
 *   - the corpus and the scenarios, replayed into two real flowhoundd, one on each store, read
 *     back through the query layer row for row the same: listings, top-N, filters, the
 *     connections rebuilt for the alert pages;
 *   - ClickHouse stopped mid-ingest and restarted: what the buffer holds waits in memory, the
 *     rest in the receive journal (the writer waits), a stop meanwhile keeps it there, and
 *     every flow arrives once; beyond the journal's bound the loss is counted (journal_lost);
 *     /metrics, /healthz and `flowhound status` say what the sender does meanwhile;
 *   - kill -9 while ClickHouse lacks flows the state has, restarted: every flow once;
 *   - the analyzer's open alerts resume after a restart from the flows in ClickHouse;
 *   - two collectors writing to a cluster of two servers (a Distributed table): the web API of
 *     either one sees the flows of both. */
#include "config.h"

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "alerts/conn_rebuild.h"
#include "collector/exporters.h"
#include "common/addr.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "query/filter.h"
#include "query/query.h"
#include "storage/ch_marks.h"
#include "storage/ch_sink.h"
#include "tests/chserver.h"
#include "tests/filter_gen.h"
#include "tests/helpers.h"
#include "tests/prom_text.h"

#define NFLOWS   3000
#define NFILTERS 1000
#define BATCH    50

static struct flow flows[NFLOWS];

/* Stores flows in the database `db` of c through the real sender (as the writer would). */
static void ch_store(const struct chs *c, const char *db, const struct flow *f, size_t n)
{
    struct exporter_table t;
    exporters_init(&t, 64, 8);
    struct ch_sink_options o = {.instance = "test", .buffer_bytes = 256 << 20};
    char err[512], warn[512], url[200];
    snprintf(url, sizeof(url), "clickhouse://127.0.0.1:%u/%s", c->http_port, db);
    cr_assert_eq(store_url_parse(url, &o.url, err, sizeof(err)), 0, "%s", err);
    struct ch_sink *s = ch_sink_start(&o, &t, warn, sizeof(warn), err, sizeof(err));
    cr_assert(s, "%s", err);
    struct flow_sink fs = ch_sink_flow_sink(s);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(fs.add(fs.ctx, &f[i], err, sizeof(err)), 0);
    fs.committed(fs.ctx);
    fs.finish(fs.ctx);
    struct ch_sink_stats st;
    ch_sink_get_stats(s, &st);
    cr_assert_eq(st.rows_inserted, n, "%llu of %zu inserted", (unsigned long long)st.rows_inserted,
                 n);
    ch_sink_free(s);
    exporters_free(&t);
}

/* A filter's ClickHouse SQL quotes nothing but address texts and hex digits it made. */
static void expect_only_made_literals(const char *sql, const char *filter)
{
    for (const char *p = strchr(sql, '\''); p; p = strchr(p + 1, '\'')) {
        size_t n = strspn(p + 1, "0123456789abcdef.:");
        cr_assert_eq(p[1 + n], '\'', "'%s': a quoted literal of other text in %s", filter, sql);
        p += 1 + n;
    }
}

/* For each of k filters (1-based index k in the answer), the flows it selects, as bits. */
static void ch_select_batch(const struct chs *c, char **where, int k, bool sel[][NFLOWS])
{
    char *sql = xstrdup("");
    for (int i = 0; i < k; i++) {
        char *more = xasprintf("%s%sSELECT %d AS k, received_ms FROM fdiff.flows WHERE %s", sql,
                               i ? " UNION ALL " : "", i, where[i]);
        free(sql);
        sql = more;
    }
    char *full = xasprintf("%s FORMAT TSV", sql);
    char *ans = chs_query(c, full);
    cr_assert(ans, "ClickHouse refused: %.800s", full);
    for (char *line = strtok(ans, "\n"); line; line = strtok(NULL, "\n")) {
        int i;
        long long recv;
        cr_assert_eq(sscanf(line, "%d\t%lld", &i, &recv), 2);
        sel[i][(recv - T0) / 3600] = true;
    }
    free(ans);
    free(full);
    free(sql);
}

Test(clickhouse, random_filters_select_the_same_flows_as_in_c, .timeout = 300)
{
    struct chs c = {0};
    chs_start(&c, NULL);
    for (int i = 0; i < NFLOWS; i++)
        fg_random_flow(&flows[i], i);
    ch_store(&c, "fdiff", flows, NFLOWS);
    static bool sel[BATCH][NFLOWS];
    struct filter *fs[BATCH];
    char *where[BATCH];
    char texts[BATCH][4096];
    size_t nonempty = 0;
    for (int k = 0; k < NFILTERS; k += BATCH) {
        memset(sel, 0, sizeof(sel));
        for (int i = 0; i < BATCH; i++) {
            struct out o;
            char err[256];
            int col;
            fg_filter(&o);
            snprintf(texts[i], sizeof(texts[i]), "%s", o.s);
            fs[i] = filter_compile(o.s, err, sizeof(err), &col);
            cr_assert(fs[i], "'%s': %s", o.s, err);
            where[i] = filter_ch_sql(fs[i]);
            expect_only_made_literals(where[i], o.s);
        }
        ch_select_batch(&c, where, BATCH, sel);
        for (int i = 0; i < BATCH; i++) {
            size_t n = 0;
            for (int f = 0; f < NFLOWS; f++) {
                bool want = filter_match(fs[i], &flows[f]);
                cr_assert_eq(sel[i][f], want, "'%s': flow %d is %s in C, %s on ClickHouse\n%s",
                             texts[i], f, want ? "in" : "out", sel[i][f] ? "in" : "out", where[i]);
                n += want;
            }
            nonempty += n > 0;
            free(where[i]);
            filter_free(fs[i]);
        }
    }
    cr_expect_gt(nonempty, NFILTERS / 4, "the filters should select something");
    chs_cleanup(&c);
}

Test(clickhouse, filter_values_never_become_sql_text)
{
    /* What a user may type where a value goes: the parser refuses all of it, so nothing of it
     * can reach either dialect. */
    static const char *const hostile[] = {"src host 10.0.0.1'",
                                          "src host '10.0.0.1'",
                                          "port 80' OR 1=1 --",
                                          "src net 10.0.0.0/8'",
                                          "proto tcp'; DROP TABLE flows",
                                          "src host 10.0.0.1\\' OR 1",
                                          "as 1) OR (1",
                                          "bytes > 1e3'"};
    for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        char err[256];
        int col;
        struct filter *f = filter_compile(hostile[i], err, sizeof(err), &col);
        cr_expect_null(f, "'%s' compiled", hostile[i]);
        filter_free(f);
    }
    /* and every literal of a valid filter is one we printed */
    const char *ok[] = {"src host 2001:db8::1 and dst net 10.1.0.0/17",
                        "src ip in [ 192.0.2.1 ::ffff:10.0.0.1/120 ] or exporter 192.0.2.9",
                        "not (bps > 1000000 or pps < 5) and flags SA and in if 3"};
    for (size_t i = 0; i < 3; i++) {
        char err[256];
        int col;
        struct filter *f = filter_compile(ok[i], err, sizeof(err), &col);
        cr_assert(f, "%s", err);
        char *sql = filter_ch_sql(f);
        expect_only_made_literals(sql, ok[i]);
        free(sql);
        filter_free(f);
    }
}

/* ---- the corpus and the scenarios through two real daemons ---- */

static const char *const pcaps[] = {
    "corpus/ipfix_akvorado_mpls.pcap",      "corpus/ipfix_barracuda.pcap",
    "corpus/ipfix_ipfixprobe_biflow.pcap",  "corpus/ipfix_ixia.pcap",
    "scenarios/story/outside.v5.pcap",      "scenarios/story/outside.ipfix.pcap",
    "scenarios/busy_server/inside.v9.pcap", "scenarios/reuse_after_fin/outside.v9.pcap",
};
#define NPCAPS (sizeof(pcaps) / sizeof(pcaps[0]))

struct rows {
    char **s;
    size_t n;
};

/* A flow row as text, every column but received_ms (each daemon received at its own time). */
static int row_text(void *ctx, sqlite3_stmt *st)
{
    struct rows *r = ctx;
    char *line = xstrdup("");
    for (int i = 0; i < sqlite3_column_count(st); i++) {
        if (!strcmp(sqlite3_column_name(st, i), "received_ms"))
            continue;
        const unsigned char *t = sqlite3_column_text(st, i);
        char *more = xasprintf("%s|%s", line, t ? (const char *)t : "NULL");
        free(line);
        line = more;
    }
    r->s = xreallocarray(r->s, r->n + 1, sizeof(char *));
    r->s[r->n++] = line;
    return 0;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void rows_free(struct rows *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->s[i]);
    free(r->s);
}

static void expect_same_rows(struct rows *a, struct rows *b, const char *what)
{
    qsort(a->s, a->n, sizeof(char *), str_cmp);
    qsort(b->s, b->n, sizeof(char *), str_cmp);
    cr_expect_eq(a->n, b->n, "%s: SQLite %zu rows, ClickHouse %zu", what, a->n, b->n);
    for (size_t i = 0; i < a->n && i < b->n; i++)
        cr_expect_str_eq(a->s[i], b->s[i], "%s: row %zu", what, i);
}

static void list(struct query *q, const char *filter, struct rows *out)
{
    char err[512];
    int col;
    struct filter *f = filter ? filter_compile(filter, err, sizeof(err), &col) : NULL;
    struct query_flows req = query_flows_all();
    req.filter = f;
    memset(out, 0, sizeof(*out));
    cr_assert_eq(query_flows(q, &req, row_text, out, err, sizeof(err)), 0, "%s", err);
    filter_free(f);
}

static void top(struct query *q, enum query_stat s, enum query_order o, struct rows *out)
{
    char err[512];
    struct query_top req = {
        .from_ms = INT64_MIN, .to_ms = INT64_MAX, .stat = s, .order = o, .limit = 20};
    memset(out, 0, sizeof(*out));
    cr_assert_eq(query_top(q, &req, row_text, out, err, sizeof(err)), 0, "%s", err);
}

/* The connections rebuilt for each of the first TCP client endpoints, as JSON text. */
static void rebuilt(struct query *q, struct query *endpoints, struct rows *out)
{
    char err[512];
    struct rows eps = {0};
    list(endpoints, "proto tcp and src port > 700 and src port < 1024", &eps);
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < eps.n && i < 40; i++) {
        /* |exporter|domain|version|src_addr|dst_addr|src_port|... */
        char addr[64];
        unsigned port;
        cr_assert_eq(sscanf(eps.s[i], "|%*[^|]|%*[^|]|%*[^|]|%63[^|]|%*[^|]|%u", addr, &port), 2);
        struct conn_rebuild_req req = {.sport = -1, .from_ms = INT64_MIN, .to_ms = INT64_MAX};
        cr_assert(addr_from_str(addr, &req.client));
        req.cports[req.n_cports++] = (uint16_t)port;
        struct conn_rebuild_result res;
        cr_assert_eq(conn_rebuild(q, &req, &res, err, sizeof(err)), 0, "%s", err);
        for (size_t k = 0; k < res.n; k++) {
            json_t *o = conn_row_json(&res.rows[k], 0);
            out->s = xreallocarray(out->s, out->n + 1, sizeof(char *));
            out->s[out->n++] = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
            json_decref(o);
        }
        conn_rebuild_free(&res);
    }
    rows_free(&eps);
}

Test(clickhouse, corpus_and_scenarios_read_back_as_from_sqlite, .timeout = 300)
{
    struct chs c = {0};
    chs_start(&c, NULL);
    struct th_daemon lite = {0}, ch = {0};
    th_daemon_start(&lite, NULL);
    const char *args[] = {"--store", c.url, NULL};
    th_daemon_start(&ch, args);
    for (size_t i = 0; i < NPCAPS; i++) {
        cr_assert_gt(th_replay(th_shared_path(pcaps[i]), lite.port, 2000, 1 + (unsigned)i), 0);
        cr_assert_gt(th_replay(th_shared_path(pcaps[i]), ch.port, 2000, 1 + (unsigned)i), 0);
    }
    cr_assert_eq(th_daemon_stop(&lite), 0);
    cr_assert_eq(th_daemon_stop(&ch), 0);
    int64_t n = th_db_int(lite.db, "SELECT count(*) FROM flows");
    cr_assert_gt(n, 100);
    cr_assert_eq(chs_int(&c, "SELECT count() FROM flowhound.flows"), n);
    char err[512];
    struct query *ql = query_open(lite.db, err, sizeof(err));
    struct query *qc = query_open_store(c.url, NULL, err, sizeof(err));
    cr_assert(ql && qc, "%s", err);
    /* the store's extent, which the web pages' default ranges and storebench's queries start
     * from (regression: ClickHouse's newest flow end was never written, 0) */
    struct query_summary sl, sc;
    cr_assert_eq(query_summary(ql, &sl, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(query_summary(qc, &sc, err, sizeof(err)), 0, "%s", err);
    cr_expect_eq(sc.flows, sl.flows);
    cr_expect_eq(sc.first_ms, sl.first_ms);
    cr_expect_eq(sc.last_ms, sl.last_ms, "newest flow end: ClickHouse %lld, SQLite %lld",
                 (long long)sc.last_ms, (long long)sl.last_ms);
    static const char *const filters[] = {NULL,
                                          "proto tcp and flags S and not flags A",
                                          "src net 10.0.0.0/8 or dst port 515",
                                          "not in if 3 and bytes > 1000",
                                          "src host 10.0.0.1 or ip 2001:db8::/32",
                                          "bps > 8000"};
    for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++) {
        struct rows a, b;
        list(ql, filters[i], &a);
        list(qc, filters[i], &b);
        expect_same_rows(&a, &b, filters[i] ? filters[i] : "every flow");
        rows_free(&a);
        rows_free(&b);
    }
    /* a page is the same rows as the whole listing has there (ClickHouse reads it in two
     * steps: query_ch.c) */
    for (int desc = 0; desc < 2; desc++) {
        struct rows all = {0}, page = {0};
        struct query_flows req = query_flows_all();
        req.order = "bytes";
        req.desc = desc;
        cr_assert_eq(query_flows(qc, &req, row_text, &all, err, sizeof(err)), 0, "%s", err);
        req.offset = 7;
        req.limit = 25;
        cr_assert_eq(query_flows(qc, &req, row_text, &page, err, sizeof(err)), 0, "%s", err);
        cr_assert_eq(page.n, 25);
        for (size_t i = 0; i < page.n; i++)
            cr_expect_str_eq(page.s[i], all.s[7 + i], "page row %zu", i);
        rows_free(&all);
        rows_free(&page);
    }
    for (int s = QS_SRCIP; s <= QS_EXPORTER; s++)
        for (int o = QO_FLOWS; o <= QO_TEND; o++) {
            struct rows a, b;
            top(ql, (enum query_stat)s, (enum query_order)o, &a);
            top(qc, (enum query_stat)s, (enum query_order)o, &b);
            /* top-N comes ordered: compare in order */
            cr_expect_eq(a.n, b.n, "-s %s/%s", query_stat_name(s), query_order_name(o));
            for (size_t i = 0; i < a.n && i < b.n; i++)
                cr_expect_str_eq(a.s[i], b.s[i], "-s %s/%s row %zu", query_stat_name(s),
                                 query_order_name(o), i);
            rows_free(&a);
            rows_free(&b);
        }
    /* nfdump's aggregated records (-a, -b, -A srcip4/24,proto): the same C aggregation reads
     * ClickHouse's rows (query_ch_scan.c) */
    struct query_aggregate aggs[] = {
        {.fields = QUERY_FIELDS_5TUPLE, .order = QO_BYTES},
        {.fields = QUERY_FIELDS_5TUPLE, .bidir = true, .order = QO_FLOWS},
        {.fields = 1u << QF_SRCIP | 1u << QF_PROTO, .src_v4len = 24, .order = QO_TSTART},
        {.fields = 0}};
    for (size_t i = 0; i < sizeof(aggs) / sizeof(aggs[0]); i++) {
        struct rows a = {0}, b = {0};
        aggs[i].from_ms = INT64_MIN;
        aggs[i].to_ms = INT64_MAX;
        cr_assert_eq(query_aggregate(ql, &aggs[i], row_text, &a, err, sizeof(err)), 0, "%s", err);
        cr_assert_eq(query_aggregate(qc, &aggs[i], row_text, &b, err, sizeof(err)), 0, "%s", err);
        cr_expect_gt(a.n, 0);
        cr_expect_eq(a.n, b.n, "aggregation %zu", i);
        for (size_t r = 0; r < a.n && r < b.n; r++)
            cr_expect_str_eq(a.s[r], b.s[r], "aggregation %zu row %zu", i, r);
        rows_free(&a);
        rows_free(&b);
    }
    struct rows a, b;
    rebuilt(ql, ql, &a);
    rebuilt(qc, ql, &b);
    cr_expect_gt(a.n, 0, "no connection rebuilt");
    expect_same_rows(&a, &b, "rebuilt connections");
    rows_free(&a);
    rows_free(&b);
    query_close(ql);
    query_close(qc);
    /* flowhound analyze over either store raises the same alerts (the story's among them) */
    cr_assert_eq(th_system("'%s/flowhound' analyze --db '%s' > '%s/lite.alerts' 2>/dev/null",
                           th_builddir(), lite.db, lite.dir),
                 0);
    cr_assert_eq(th_system("'%s/flowhound' analyze --store '%s' > '%s/ch.alerts' 2>/dev/null",
                           th_builddir(), c.url, lite.dir),
                 0);
    cr_expect_eq(th_system("grep -q stale_state '%s/lite.alerts'", lite.dir), 0,
                 "the story raises its alert");
    cr_expect_eq(th_system("cmp '%s/lite.alerts' '%s/ch.alerts'", lite.dir, lite.dir), 0,
                 "analyze: the same alerts from SQLite and ClickHouse");
    th_daemon_cleanup(&lite);
    th_daemon_cleanup(&ch);
    chs_cleanup(&c);
}

/* ---- ClickHouse away ---- */

/* v5 header + 30 records, each flow distinct by (id, r). */
static size_t make_v5(uint8_t *buf, uint32_t seq, uint32_t id)
{
    memset(buf, 0, 24 + 48 * 30);
    buf[1] = 5;
    buf[3] = 30;
    buf[5] = 0x10;
    buf[8] = 0x65;
    buf[16] = (uint8_t)(seq >> 24), buf[17] = (uint8_t)(seq >> 16);
    buf[18] = (uint8_t)(seq >> 8), buf[19] = (uint8_t)seq;
    for (unsigned r = 0; r < 30; r++) {
        uint8_t *p = buf + 24 + 48 * r;
        uint32_t k = id * 30 + r;
        p[0] = 10, p[1] = (uint8_t)(k >> 16), p[2] = (uint8_t)(k >> 8), p[3] = (uint8_t)k;
        p[4] = 192, p[5] = 0, p[6] = 2, p[7] = 1;
        p[19] = 1, p[23] = 60, p[32] = 3, p[35] = 80, p[38] = 6;
    }
    return 24 + 48 * 30;
}

static void send_v5(uint16_t port, uint32_t from, uint32_t count)
{
    uint8_t buf[24 + 48 * 30];
    for (uint32_t i = from; i < from + count; i++) {
        size_t len = make_v5(buf, i * 30, i);
        cr_assert(th_udp_send(port, "127.0.3.1", buf, len));
        /* 1 ms apart: several transactions (and blocks) of the writer, no kernel drop */
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

/* The body (caller frees); the HTTP status in *status if not NULL. */
static char *http_get(const char *url, long *status)
{
    CURL *h = curl_easy_init();
    FILE *f = tmpfile();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    cr_assert_eq(curl_easy_perform(h), CURLE_OK, "%s", url);
    if (status)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    curl_easy_cleanup(h);
    long n = ftell(f);
    rewind(f);
    char *s = xcalloc(1, (size_t)n + 1);
    cr_assert_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return s;
}

static const char *web_of(const struct th_daemon *d, char *buf, size_t len)
{
    char path[700], spec[128];
    snprintf(path, sizeof(path), "%s/ready", d->dir);
    FILE *f = fopen(path, "r");
    cr_assert(f);
    buf[0] = '\0';
    while (fscanf(f, "%127s", spec) == 1)
        if (!strcmp(spec, "web") && fscanf(f, "%127s", spec) == 1)
            snprintf(buf, len, "http://%s", spec);
    fclose(f);
    cr_assert(buf[0]);
    return buf;
}

/* GET path from d's web server: the body (caller frees), the status in *status if not NULL. */
static char *web_get(const struct th_daemon *d, const char *path, long *status)
{
    char base[200], url[400];
    snprintf(url, sizeof(url), "%s%s", web_of(d, base, sizeof(base)), path);
    return http_get(url, status);
}

static json_t *api(const struct th_daemon *d, const char *path)
{
    char *body = web_get(d, path, NULL);
    json_t *j = json_loads(body, 0, NULL);
    cr_assert(j, "%s: %s", path, body);
    free(body);
    return j;
}

/* One sample of d's /metrics (without labels), parsed as Prometheus does; -1 when absent. */
static double metric(const struct th_daemon *d, const char *name)
{
    long status;
    char *body = web_get(d, "/metrics", &status);
    char err[256];
    struct prom_text p;
    double v = -1;
    cr_assert_eq(status, 200, "/metrics: %ld", status);
    cr_assert(prom_parse(body, &p, err, sizeof(err)), "/metrics: %s", err);
    if (!prom_get(&p, name, "", &v))
        v = -1;
    prom_free(&p);
    free(body);
    return v;
}

/* Polls until cond(d, arg) holds or timeout_ms passes; returns whether it held. */
static bool wait_until(const struct th_daemon *d, bool (*cond)(const struct th_daemon *, double),
                       double arg, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 100) {
        if (cond(d, arg))
            return true;
        struct timespec ts = {0, 100000000};
        nanosleep(&ts, NULL);
    }
    return false;
}

/* The datagrams sent so far are received, and the writer has handed every flow decoded from
 * them to the ClickHouse sender (queued, or dropped when the queue is full). */
static bool all_committed(const struct th_daemon *d, double datagrams)
{
    return metric(d, "flowhound_datagrams_received_total") >= datagrams &&
           metric(d, "flowhound_rows_stored_total") == metric(d, "flowhound_records_queued_total");
}

/* The sender's queue is empty and the server takes flows again. */
static bool queue_empty(const struct th_daemon *d, double unused)
{
    (void)unused;
    return metric(d, "flowhound_clickhouse_queue_rows") == 0 &&
           metric(d, "flowhound_clickhouse_failing") == 0;
}

static bool healthy(const struct th_daemon *d, double unused)
{
    (void)unused;
    long status;
    free(web_get(d, "/healthz", &status));
    return status == 200;
}

/* Records the state counted as lost, for any reason: ours (dropped_queue, dropped_store), the
 * journal's (journal_lost, in datagrams of 30 flows) and the kernel's (datagrams). */
static int64_t counted_lost(const struct th_daemon *d)
{
    return th_db_int(d->db, "SELECT coalesce(sum(dropped_queue + dropped_store), 0) FROM "
                            "exporter_domains") +
           30 * th_db_int(d->db, "SELECT coalesce(sum(count), 0) FROM exporter_rejects WHERE "
                                 "reason = 'journal_lost'") +
           30 * th_db_int(d->db, "SELECT coalesce(sum(kernel_drops), 0) FROM exporters");
}

/* ClickHouse holds want flows, each once: send_v5 gives every flow its own source address. */
static void expect_each_once(const struct chs *c, int64_t want)
{
    cr_expect_eq(chs_int(c, "SELECT count() FROM flowhound.flows"), want, "rows");
    cr_expect_eq(chs_int(c, "SELECT uniqExact(src_addr) FROM flowhound.flows"), want,
                 "distinct flows");
    cr_expect_eq(chs_int(c, "SELECT count() - uniqExact(seq) FROM flowhound.flows"), 0,
                 "no seq twice");
}

/* Every one of the 48,000 flows sent (3,000 then 45,000) in ClickHouse once, none counted
 * lost, and the state's exporter counters saying how many it counted. */
static int64_t expect_48000_once(const struct chs *c, const struct th_daemon *d)
{
    expect_each_once(c, 48000);
    cr_expect_eq(counted_lost(d), 0, "nothing counted lost");
    return th_db_int(d->db, "SELECT sum(flows) FROM exporter_domains");
}

/* The sender's queue is full: the writer waits, and what follows waits in the journal. */
static bool full(const struct th_daemon *d, double datagrams)
{
    return metric(d, "flowhound_journal_appended_total") >= datagrams &&
           metric(d, "flowhound_clickhouse_full") == 1;
}

/* Everything received is in ClickHouse: nothing waits in the journal or the queue. */
static bool all_sent(const struct th_daemon *d, double datagrams)
{
    return metric(d, "flowhound_journal_appended_total") >= datagrams &&
           metric(d, "flowhound_journal_backlog_bytes") == 0 && queue_empty(d, 0);
}

#define AWAY_ARGS 13

/* flowhoundd's arguments here: the store c, a small buffer, a short queue to the writer (so
 * that the decoder waits with it and the journal holds the rest; and what a crash makes the
 * state count twice, the decoder's lead on the writer, is small beside the buffer's 14,000
 * flows: doc/clickhouse.md), the web server for the metrics, and journal-size if given. */
static void away_args(const char **args, const struct chs *c, const char *buffer,
                      const char *journal_size)
{
    const char *a[AWAY_ARGS] = {"--store",
                                c->url,
                                "--clickhouse-buffer",
                                buffer,
                                "--queue-batches",
                                "4",
                                "--commit-interval",
                                "0.2s",
                                "--web",
                                "127.0.0.1:0",
                                "--journal-size",
                                journal_size,
                                NULL};
    memcpy(args, a, sizeof(a));
    if (!journal_size)
        args[10] = NULL;
}

Test(clickhouse, stopped_server_waits_in_the_buffer_then_in_the_journal, .timeout = 300)
{
    struct chs c = {0};
    chs_start(&c, NULL);
    struct th_daemon d = {0};
    const char *args[AWAY_ARGS];
    away_args(args, &c, "2M", NULL);
    th_daemon_start(&d, args);
    /* within the buffer: the flows wait in memory and arrive once the server is back */
    chs_stop(&c);
    send_v5(d.port, 0, 100); /* 3,000 flows, about 0.4 MiB encoded */
    cr_assert(wait_until(&d, all_committed, 100, 20000), "the writer took the flows");
    cr_expect_eq(metric(&d, "flowhound_clickhouse_queue_rows"), 3000, "they wait in the queue");
    cr_expect_eq(metric(&d, "flowhound_clickhouse_failing"), 1);
    cr_expect_eq(metric(&d, "flowhound_clickhouse_full"), 0);
    /* /healthz and flowhound status say so, as for a failing SQLite store */
    long status;
    char *body = web_get(&d, "/healthz", &status);
    cr_expect_eq(status, 503);
    cr_expect(strstr(body, "ClickHouse has taken no flows for"), "%s", body);
    free(body);
    char base[200];
    cr_expect_eq(th_system("'%s/flowhound' status --url %s | grep -q '^  ClickHouse 0 inserted, "
                           "[0-9]* retries; queue 3000 rows, .* of 2.0 MiB; INSERTS FAILING$'",
                           th_builddir(), web_of(&d, base, sizeof(base))),
                 0, "flowhound status shows the sender");
    chs_restart(&c);
    cr_expect_eq(chs_wait(&c, "SELECT count() FROM flowhound.flows", 3000, 30000), 3000);
    cr_expect(wait_until(&d, queue_empty, 0, 20000), "the queue is sent");
    cr_expect(wait_until(&d, healthy, 0, 20000), "healthy again");
    cr_expect_eq(metric(&d, "flowhound_clickhouse_rows_inserted_total"), 3000);
    cr_expect_gt(metric(&d, "flowhound_clickhouse_insert_retries_total"), 0);

    /* beyond the buffer: the writer waits, the rest waits in the journal on disk; a stop
     * meanwhile is bounded and leaves it there for the next start */
    chs_stop(&c);
    int64_t away = mono_ms();
    send_v5(d.port, 100, 1500); /* 45,000 flows, about 6 MiB encoded */
    cr_assert(wait_until(&d, full, 1600, 30000), "the queue fills, the writer waits");
    cr_expect_gt(metric(&d, "flowhound_journal_backlog_bytes"), 0, "the journal holds the rest");
    cr_expect_lt(metric(&d, "flowhound_clickhouse_queue_rows"), 45000);
    cr_expect_eq(th_system("'%s/flowhound' status --url %s | grep -q '^  ClickHouse .*(full: the "
                           "rest waits in the journal); INSERTS FAILING$'",
                           th_builddir(), web_of(&d, base, sizeof(base))),
                 0, "flowhound status says the queue is full");
    int64_t t0 = mono_ms();
    cr_assert_eq(th_daemon_stop(&d), 0, "a clean stop while ClickHouse is away");
    int64_t stop_ms = mono_ms() - t0;
    cr_expect_lt(stop_ms, 20000, "bounded: %lld ms", (long long)stop_ms);
    th_daemon_start_db(&d, d.db, args);
    cr_expect(wait_until(&d, full, 0, 30000), "the journal's rest fills the queue again");
    chs_restart(&c);
    int64_t t1 = mono_ms();
    away = t1 - away;
    cr_expect(wait_until(&d, all_sent, 0, 60000), "everything sent");
    int64_t catch_up = mono_ms() - t1;
    cr_assert_eq(th_daemon_stop(&d), 0);
    fprintf(stderr,
            "45,000 flows against a 2 MiB buffer: ClickHouse away %lld ms, flowhoundd's stop "
            "%lld ms, caught up %lld ms after the server answered\n",
            (long long)away, (long long)stop_ms, (long long)catch_up);
    cr_expect_eq(expect_48000_once(&c, &d), 48000,
                 "the datagrams decoded again for ClickHouse are not counted twice");
    cr_expect_eq(
        th_system("grep -q 'stay in the receive journal: stored at the next start' '%s'", d.log), 0,
        "the stop says what it left");
    th_daemon_cleanup(&d);
    chs_cleanup(&c);
}

/* kill -9 while the state has flows ClickHouse lacks, restarted while it is still away (the
 * decoder waits for it to say what it holds), then ClickHouse back: every flow once. */
Test(clickhouse, a_kill_9_while_clickhouse_lacks_flows_stores_each_once, .timeout = 300)
{
    struct chs c = {0};
    chs_start(&c, NULL);
    struct th_daemon d = {0};
    const char *args[AWAY_ARGS];
    away_args(args, &c, "2M", NULL);
    th_daemon_start(&d, args);
    send_v5(d.port, 0, 100);
    cr_assert_eq(chs_wait(&c, "SELECT count() FROM flowhound.flows", 3000, 30000), 3000);
    chs_stop(&c);
    send_v5(d.port, 100, 1500);
    /* every datagram in the journal, the state ahead of ClickHouse by the queue */
    cr_assert(wait_until(&d, full, 1600, 30000), "the queue fills, the writer waits");
    cr_assert_eq(kill(d.pid, SIGKILL), 0);
    waitpid(d.pid, NULL, 0);
    d.pid = 0;
    th_daemon_start_db(&d, d.db, args);
    /* not knowing what ClickHouse holds, it decodes nothing (a fixed wait: something that
     * must not happen) */
    struct timespec ts = {1, 0};
    nanosleep(&ts, NULL);
    cr_expect_eq(metric(&d, "flowhound_datagrams_decoded_total"), 0, "the replay waits");
    chs_restart(&c);
    cr_expect(wait_until(&d, all_sent, 0, 60000), "everything sent");
    cr_expect_gt(metric(&d, "flowhound_datagrams_replayed_total"), 0,
                 "the state's datagrams decoded again for ClickHouse");
    cr_assert_eq(th_daemon_stop(&d), 0);
    int64_t counted = expect_48000_once(&c, &d);
    fprintf(stderr, "kill -9: 48,000 flows sent, the state counted %lld\n", (long long)counted);
    cr_expect(counted >= 48000 && counted <= 48000 + (4 + 1) * 512 + 30,
              "the datagrams decoded again for ClickHouse are not counted again: %lld",
              (long long)counted);
    th_daemon_cleanup(&d);
    chs_cleanup(&c);
}

/* Beyond the journal's bound the oldest datagrams not stored go, counted (journal_lost): what
 * ClickHouse gets and what is counted add up to what was sent. */
Test(clickhouse, beyond_the_journal_the_loss_is_counted, .timeout = 300)
{
    struct chs c = {0};
    chs_start(&c, NULL);
    struct th_daemon d = {0};
    const char *args[AWAY_ARGS];
    away_args(args, &c, "1M", "4M");
    th_daemon_start(&d, args);
    chs_stop(&c);
    send_v5(d.port, 0, 5000); /* 150,000 flows, 7.5 MB in the journal */
    cr_assert(wait_until(&d, full, 5000, 30000), "the queue fills, the writer waits");
    double lost = metric(&d, "flowhound_journal_lost_total");
    cr_expect_gt(lost, 0, "a 4 MB journal cannot hold 7.5 MB");
    chs_restart(&c);
    cr_expect(wait_until(&d, all_sent, 0, 60000), "everything left sent");
    cr_assert_eq(th_daemon_stop(&d), 0);
    int64_t stored = chs_int(&c, "SELECT count() FROM flowhound.flows");
    fprintf(stderr, "4 MB journal: 150,000 flows sent, %lld stored, %.0f datagrams lost\n",
            (long long)stored, lost);
    expect_each_once(&c, stored);
    cr_expect_eq(th_db_int(d.db, "SELECT sum(count) FROM exporter_rejects WHERE reason = "
                                 "'journal_lost'"),
                 (int64_t)lost, "counted per exporter as /metrics counts them");
    cr_expect_eq(stored + counted_lost(&d), 150000, "stored %lld + counted lost %lld",
                 (long long)stored, (long long)counted_lost(&d));
    th_daemon_cleanup(&d);
    chs_cleanup(&c);
}

/* ---- where ClickHouse stands in a collector's journal (storage/ch_marks.h) ---- */

/* Three blocks through the real sender, each ending at a place in the journal (the second
 * inside a datagram): ClickHouse's newest held block says where the collector stands; a
 * mark whose block never arrived, or another instance's, says nothing; and a restart after a
 * crash resumes there, past the state's record, but never past the state. */
Test(clickhouse, the_newest_held_block_says_where_clickhouse_stands, .timeout = 120)
{
    struct chs c = {0};
    chs_start(&c, NULL);
    struct exporter_table t;
    exporters_init(&t, 8, 8);
    struct ch_sink_options o = {.instance = "m1", .buffer_bytes = 1 << 20};
    char err[512], warn[512];
    cr_assert_eq(store_url_parse(c.url, &o.url, err, sizeof(err)), 0, "%s", err);
    struct ch_sink *s = ch_sink_start(&o, &t, warn, sizeof(warn), err, sizeof(err));
    cr_assert(s, "%s", err);
    struct flow_sink fs = ch_sink_flow_sink(s);
    static struct flow_batch b;
    for (int k = 0; k < 3; k++) {
        b.n = 100;
        for (size_t i = 0; i < b.n; i++) {
            fg_random_flow(&b.flows[i], (int)(k * 100 + i));
            b.flows[i].received_ms = 1764800000000; /* one receive day */
            cr_assert_eq(fs.add(fs.ctx, &b.flows[i], err, sizeof(err)), 0);
        }
        b.src_seg = 1, b.src_off = 1000 * (uint64_t)(k + 1), b.src_part = 7;
        b.src_whole = k != 1;
        fs.reached(fs.ctx, &b);
        fs.committed(fs.ctx);
    }
    fs.finish(fs.ctx);
    ch_sink_free(s);
    cr_assert_eq(chs_int(&c, "SELECT count() FROM flowhound.flows"), 300);

    struct ch_client *cl = ch_client_new(&o.url);
    struct decode_mark m = {0}, want = {{1, 3000}, 0};
    cr_assert_eq(ch_marks_held(cl, "m1", &m, err, sizeof(err)), 1, "%s", err);
    cr_expect(decode_mark_cmp(m, want) == 0, "%llu:%llu+%u", (unsigned long long)m.pos.seg,
              (unsigned long long)m.pos.off, m.part);
    free(chs_query(&c, "INSERT INTO flowhound.journal_marks VALUES ('m1', 20426, "
                       "18446744073709551000, 1, 9999, 0)"));
    cr_assert_eq(ch_marks_held(cl, "m1", &m, err, sizeof(err)), 1, "%s", err);
    cr_expect(decode_mark_cmp(m, want) == 0, "a mark without its block says nothing");
    cr_expect_eq(ch_marks_held(cl, "m2", &m, err, sizeof(err)), 0, "another instance's");
    ch_client_free(cl);

    /* a restart after a crash: the state recorded the first block only */
    struct ch_resume saved = {.acked = {{1, 1000}, 0}, .found = true};
    struct journal_pos states[] = {{1, 5000}, {1, 2500}};
    struct decode_mark wants[] = {want, saved.acked}; /* the second: ClickHouse is beyond */
    for (int i = 0; i < 2; i++) {
        s = ch_sink_start(&o, &t, warn, sizeof(warn), err, sizeof(err));
        cr_assert(s, "%s", err);
        ch_sink_set_journal(s, NULL, states[i], &saved);
        cr_assert_eq(ch_sink_held(s, &m), 1, "ClickHouse answered at start");
        cr_expect(decode_mark_cmp(m, wants[i]) == 0, "state %d: %llu:%llu+%u", i,
                  (unsigned long long)m.pos.seg, (unsigned long long)m.pos.off, m.part);
        ch_sink_free(s);
    }
    exporters_free(&t);
    chs_cleanup(&c);
}

/* ---- the analyzer's open alerts go on after a restart, read back from ClickHouse ---- */

Test(clickhouse, open_alerts_resume_from_the_flows_in_clickhouse, .timeout = 120)
{
    struct chs c = {0};
    chs_start(&c, NULL);
    struct th_daemon d = {0};
    const char *args[] = {"--store", c.url, "--vantage-inner", "*/2", "--commit-interval",
                          "0.2s",    NULL};
    th_daemon_start(&d, args);
    cr_assert_gt(
        th_replay(th_shared_path("scenarios/story_exhaustion/merged.v5.pcap"), d.port, 5000, 0), 0);
    cr_assert_eq(th_daemon_stop(&d), 0);
    const char *open = "SELECT count(*) FROM alerts WHERE state = 'open'";
    cr_assert_eq(th_db_int(d.db, open), 12, "11 ports and their port_exhaustion alert");
    cr_assert_eq(th_db_int(d.db, "SELECT count(*) FROM flows"), 0, "the flows are in ClickHouse");
    int64_t events = th_db_int(d.db, "SELECT count(*) FROM alert_events");
    th_daemon_start_db(&d, d.db, args);
    cr_assert_eq(th_daemon_stop(&d), 0);
    cr_expect_eq(th_system("grep -q 'resumed 12 of 12 open alerts' '%s'", d.log), 0,
                 "every open alert resumed from ClickHouse's flows");
    cr_expect_eq(th_db_int(d.db, "SELECT count(*) FROM alert_events"), events,
                 "resuming says nothing the store does not hold already");
    th_daemon_cleanup(&d);
    chs_cleanup(&c);
}

/* ---- two collectors, one cluster ---- */

Test(clickhouse, two_collectors_write_one_cluster_and_each_web_ui_sees_both, .timeout = 300)
{
    struct chs s1 = {0}, s2 = {0};
    chs_ports(&s1);
    chs_ports(&s2);
    char *cluster = xasprintf(
        "<remote_servers><fh><shard><replica><host>127.0.0.1</host><port>%u</port></replica>"
        "</shard><shard><replica><host>127.0.0.1</host><port>%u</port></replica></shard></fh>"
        "</remote_servers>",
        s1.tcp_port, s2.tcp_port);
    chs_start(&s1, cluster);
    chs_start(&s2, cluster);
    free(cluster);
    char u1[200], u2[200];
    snprintf(u1, sizeof(u1), "%s?cluster=fh", s1.url);
    snprintf(u2, sizeof(u2), "%s?cluster=fh", s2.url);
    struct th_daemon a = {0}, b = {0};
    const char *args_a[] = {"--store", u1, "--instance", "a", "--web", "127.0.0.1:0", NULL};
    const char *args_b[] = {"--store", u2, "--instance", "b", "--web", "127.0.0.1:0", NULL};
    th_daemon_start(&a, args_a);
    th_daemon_start(&b, args_b);
    cr_assert_gt(th_replay(th_shared_path("scenarios/story/outside.v5.pcap"), a.port, 2000, 1), 0);
    cr_assert_gt(th_replay(th_shared_path("corpus/ipfix_barracuda.pcap"), b.port, 2000, 2), 0);
    int64_t na = chs_wait(&s1, "SELECT count() FROM flowhound.flows_local", 1, 20000);
    int64_t nb = chs_wait(&s2, "SELECT count() FROM flowhound.flows_local", 1, 20000);
    cr_assert_gt(na, 0);
    cr_assert_gt(nb, 0);
    /* each shard holds its collector's flows; the Distributed table all of them */
    cr_expect_eq(chs_int(&s1, "SELECT count() FROM flowhound.flows_local WHERE instance = 'b'"), 0);
    cr_expect_eq(chs_int(&s2, "SELECT count() FROM flowhound.flows"), na + nb);
    const struct th_daemon *ds[] = {&a, &b};
    for (int i = 0; i < 2; i++) {
        json_t *sum = api(ds[i], "/api/v1/stats/summary");
        cr_expect_eq(json_integer_value(json_object_get(sum, "flows")), na + nb, "web of %c",
                     'a' + i);
        json_decref(sum);
        /* the flows of the other collector's exporters, through this one's web API */
        json_t *page = api(ds[i], i == 0 ? "/api/v1/flows?limit=5&filter=exporter%20127.0.2.1"
                                         : "/api/v1/flows?limit=5&filter=exporter%20127.0.1.1");
        json_t *rows = json_object_get(page, "flows");
        cr_expect_gt(json_array_size(rows), 0, "web of %c: %s", 'a' + i,
                     json_dumps(page, JSON_COMPACT));
        json_decref(page);
    }
    th_daemon_cleanup(&a);
    th_daemon_cleanup(&b);
    chs_cleanup(&s1);
    chs_cleanup(&s2);
}
