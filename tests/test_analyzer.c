/* test_analyzer.c - the analyzer end to end.
 *   - every public scenario, replayed as softflowd exported it (v5, v9, IPFIX; both taps
 *     merged, outside alone, inside alone) through the real flowhoundd: exactly the labelled
 *     alerts (kind, client, port, server, holder, attempts, times), raised within seconds;
 *     `flowhound analyze` over the stored flows gives identical alert rows; the shared
 *     check_alerts.py agrees;
 *   - the state table stays under its cap under a flood of distinct client ports;
 *   - generated episodes mixed into benign background traffic: precision and recall. */
#include "config.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/analyzer.h"
#include "alerts/conn_rebuild.h"
#include "common/addr.h"
#include "common/timeutil.h"
#include "tests/helpers.h"

/* The scenarios' inside tap exports with observation domain / engine id 2. */
static const char *const inner_args[] = {"--vantage-inner", "*/2", "--commit-interval", "0.2s",
                                         NULL};
/* The same, with the connections table written (off by default) to compare the rebuild. */
static const char *const table_args[] = {
    "--vantage-inner", "*/2", "--commit-interval", "0.2s", "--analyzer-connections", NULL};

struct run {
    char scenario[32];
    char vantage[8]; /* merged, outside, inside */
    char version[8]; /* v5, v9, ipfix */
};

static const char *const scenarios[] = {
    "story",           "story_exhaustion",     "reuse_after_fin",
    "reuse_after_rst", "active_timeout_split", "idle_never_reused",
    "port_scan_rst",   "syn_retrans_success",  "busy_server"};

ParameterizedTestParameters(analyzer, scenario)
{
    static struct run runs[9 * 3 * 3];
    static const char *const vantages[] = {"merged", "outside", "inside"};
    static const char *const versions[] = {"v5", "v9", "ipfix"};
    size_t n = 0;
    for (size_t s = 0; s < 9; s++)
        for (size_t v = 0; v < 3; v++)
            for (size_t k = 0; k < 3; k++, n++) {
                snprintf(runs[n].scenario, sizeof(runs[n].scenario), "%s", scenarios[s]);
                snprintf(runs[n].vantage, sizeof(runs[n].vantage), "%s", vantages[v]);
                snprintf(runs[n].version, sizeof(runs[n].version), "%s", versions[k]);
            }
    return cr_make_param_array(struct run, runs, n);
}

static json_t *expected_alerts(json_t *labels, const char *vantage)
{
    if (!strcmp(vantage, "merged"))
        return json_object_get(labels, "alerts");
    return json_object_get(json_object_get(labels, "alerts_by_vantage"), vantage);
}

/* Is the label's alert in the store (same kind, endpoints, holder, attempts, times)? */
static void expect_alert(const char *db, json_t *lab, const char *what)
{
    const char *kind = json_string_value(json_object_get(lab, "kind"));
    bool exh = !strcmp(kind, "port_exhaustion");
    char port[32] = "client_port IS NULL";
    if (!exh)
        snprintf(port, sizeof(port), "client_port = %lld",
                 json_integer_value(json_object_get(lab, "client_port")));
    double first = json_number_value(json_object_get(lab, "first_attempt"));
    double last = json_number_value(json_object_get(lab, "last_attempt"));
    char sql[1024];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM alerts WHERE kind = '%s' AND client_addr = '%s' AND %s AND "
             "server_addr = '%s' AND server_port = %lld AND holder = '%s' AND attempts = %lld "
             "AND abs(opened_ms - %.0f) <= 2000 AND abs(updated_ms - %.0f) <= 2000",
             kind, json_string_value(json_object_get(lab, "client_addr")), port,
             json_string_value(json_object_get(lab, "server_addr")),
             json_integer_value(json_object_get(lab, "server_port")),
             json_string_value(json_object_get(lab, "holder")),
             json_integer_value(json_object_get(lab, "failed_attempts")), first * 1000,
             last * 1000);
    cr_expect_eq(th_db_int(db, sql), 1, "%s: labelled alert %s port %s holder %s not raised", what,
                 kind, port, json_string_value(json_object_get(lab, "holder")));
}

/* Runs a command and returns its first output line (static buffer). */
static const char *first_line(const char *cmd)
{
    static char line[512];
    line[0] = '\0';
    FILE *p = popen(cmd, "r");
    cr_assert(p, "%s", cmd);
    if (!fgets(line, sizeof(line), p))
        line[0] = '\0';
    pclose(p);
    line[strcspn(line, "\n")] = '\0';
    return line;
}

static const char alert_cols[] =
    "kind, state, client_addr, client_port, server_addr, server_port, holder, attempts, "
    "opened_ms, updated_ms, resolved_ms, summary, evidence";

/* `flowhound analyze` over the daemon's store writes the same alert rows. */
static void expect_analyze_identical(const struct th_daemon *d)
{
    char out[700], cmd[2048];
    snprintf(out, sizeof(out), "%s/analyze.db", d->dir);
    snprintf(cmd, sizeof(cmd),
             "%s/flowhound analyze --db %s --out %s --vantage-inner '*/2' > %s/analyze.json",
             th_builddir(), d->db, out, d->dir);
    cr_assert_eq(th_system("%s", cmd), 0, "flowhound analyze failed");
    snprintf(cmd, sizeof(cmd),
             "sqlite3 %s \"SELECT %s FROM alerts ORDER BY id\" | md5sum; "
             "sqlite3 %s \"SELECT %s FROM alerts ORDER BY id\" | md5sum",
             d->db, alert_cols, out, alert_cols);
    FILE *p = popen(cmd, "r");
    cr_assert(p);
    char a[128] = "", b[128] = "";
    cr_assert(fgets(a, sizeof(a), p) && fgets(b, sizeof(b), p));
    pclose(p);
    cr_expect_str_eq(a, b, "live and `flowhound analyze` alerts differ");
    /* --out is an export: the connections table is written there (the daemon ran with
     * analyzer-connections on: the same rows) */
    snprintf(cmd, sizeof(cmd), "SELECT count(*) FROM connections");
    cr_expect_eq(th_db_int(out, cmd), th_db_int(d->db, cmd), "connections in --out");
}

static int str_cmp(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

#define CONN_ROW_TEXT                                                                              \
    "exporter || '|' || server_addr || '|' || server_port || '|' || start_ms || '|' || end_ms || " \
    "'|' || state || '|' || role_rule || '|' || ifnull(c_packets, '') || '|' || "                  \
    "ifnull(c_bytes, '') || '|' || ifnull(c_flags, '') || '|' || ifnull(s_packets, '') || '|' "    \
    "|| ifnull(s_bytes, '') || '|' || ifnull(s_flags, '') || '|' || ifnull(end_reason, '') || "    \
    "'|' || records"

/* The rows of one rebuilt connection in the text form CONN_ROW_TEXT gives a table row. */
static char *rebuilt_text(const struct conn_row *r)
{
    json_t *o = conn_row_json(r, 0);
    const char *keys[] = {"exporter",  "server_addr", "server_port", "start_ms",   "end_ms",
                          "state",     "role_rule",   "c_packets",   "c_bytes",    "c_flags",
                          "s_packets", "s_bytes",     "s_flags",     "end_reason", "records"};
    char buf[512] = "";
    size_t len = 0;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        json_t *v = json_object_get(o, keys[i]);
        char part[128] = "";
        if (json_is_string(v))
            snprintf(part, sizeof(part), "%s", json_string_value(v));
        else if (json_is_integer(v))
            snprintf(part, sizeof(part), "%lld", (long long)json_integer_value(v));
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", i ? "|" : "", part);
    }
    json_decref(o);
    return strdup(buf);
}

/* The connections rebuilt on request from the stored flows (what the web UI shows) are the
 * ones the live analyzer wrote to the connections table, field by field, for every client
 * port in the table. */
static void expect_rebuild_identical(const char *db, const char *what)
{
    sqlite3 *h;
    cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *ports, *rows;
    cr_assert_eq(sqlite3_prepare_v2(h, "SELECT DISTINCT client_addr, client_port FROM connections",
                                    -1, &ports, NULL),
                 SQLITE_OK);
    cr_assert_eq(sqlite3_prepare_v2(h,
                                    "SELECT " CONN_ROW_TEXT " FROM connections WHERE client_addr = "
                                    "?1 AND client_port = ?2 ORDER BY 1",
                                    -1, &rows, NULL),
                 SQLITE_OK);
    size_t compared = 0, endpoints = 0;
    while (sqlite3_step(ports) == SQLITE_ROW) {
        struct conn_rebuild_req q = {.sport = -1, .from_ms = INT64_MIN, .to_ms = INT64_MAX};
        cr_assert(addr_from_str((const char *)sqlite3_column_text(ports, 0), &q.client));
        q.cports[q.n_cports++] = (uint16_t)sqlite3_column_int(ports, 1);
        struct conn_rebuild_result res;
        char err[256];
        struct query *qy = query_open(db, err, sizeof(err));
        cr_assert(qy, "%s", err);
        cr_assert_eq(conn_rebuild(qy, &q, &res, err, sizeof(err)), 0, "%s", err);
        query_close(qy);
        char **got = calloc(res.n + 1, sizeof(char *));
        for (size_t i = 0; i < res.n; i++)
            got[i] = rebuilt_text(&res.rows[i]);
        qsort(got, res.n, sizeof(char *), str_cmp);
        sqlite3_bind_value(rows, 1, sqlite3_column_value(ports, 0));
        sqlite3_bind_value(rows, 2, sqlite3_column_value(ports, 1));
        size_t i = 0;
        while (sqlite3_step(rows) == SQLITE_ROW) {
            const char *want = (const char *)sqlite3_column_text(rows, 0);
            cr_expect(i < res.n && !strcmp(got[i], want), "%s: %s:%d: stored %s, rebuilt %s", what,
                      sqlite3_column_text(ports, 0), sqlite3_column_int(ports, 1), want,
                      i < res.n ? got[i] : "(none)");
            i++;
        }
        sqlite3_reset(rows);
        cr_expect_eq(i, res.n, "%s: %s:%d: %zu stored, %zu rebuilt", what,
                     sqlite3_column_text(ports, 0), sqlite3_column_int(ports, 1), i, res.n);
        compared += i;
        endpoints++;
        for (size_t k = 0; k < res.n; k++)
            free(got[k]);
        free(got);
        conn_rebuild_free(&res);
    }
    sqlite3_finalize(ports);
    sqlite3_finalize(rows);
    sqlite3_close(h);
    cr_expect_gt(compared, 0);
    fprintf(stderr, "%s: %zu connections of %zu client ports rebuilt = stored\n", what, compared,
            endpoints);
}

ParameterizedTest(struct run *r, analyzer, scenario, .timeout = 120)
{
    char rel[256], lab_rel[256];
    snprintf(rel, sizeof(rel), "scenarios/%s/%s.%s.pcap", r->scenario, r->vantage, r->version);
    snprintf(lab_rel, sizeof(lab_rel), "scenarios/%s/labels.json", r->scenario);
    json_error_t jerr;
    json_t *labels = json_load_file(th_shared_path(lab_rel), 0, &jerr);
    cr_assert(labels, "%s: %s", lab_rel, jerr.text);
    json_t *want = expected_alerts(labels, r->vantage);
    size_t n_want = json_array_size(want);
    char what[128];
    snprintf(what, sizeof(what), "%s %s %s", r->scenario, r->vantage, r->version);

    struct th_daemon d = {0};
    th_daemon_start(&d, table_args);
    int64_t sent_ms = now_ms();
    cr_assert_gt(th_replay(th_shared_path(rel), d.port, 5000, 0), 0);
    int64_t got = 0;
    th_db_wait(d.db, "SELECT count(*) FROM flows", 1, 5000);
    if (n_want && !strcmp(r->vantage, "merged")) {
        /* Live: every alert is open within seconds of the records reaching the daemon (the
         * single-vantage runs stop at once: shutdown opens what is held, same alerts). */
        got = th_db_wait(d.db, "SELECT count(*) FROM alerts", (int64_t)n_want, 8000);
        int64_t took = th_db_int(d.db, "SELECT max(created_ms) FROM alert_events "
                                       "WHERE event = 'opened'") -
                       sent_ms;
        cr_expect_eq(got, (int64_t)n_want, "%s: alerts not raised live", what);
        cr_expect_leq(took, 5000, "%s: alerts took %lld ms", what, (long long)took);
        fprintf(stderr, "%s: all %zu alerts open %lld ms after the replay started\n", what, n_want,
                (long long)took);
    }
    cr_assert_eq(th_daemon_stop(&d), 0);
    int64_t flows = th_db_int(d.db, "SELECT count(*) FROM flows");
    cr_assert_gt(flows, 0, "%s: nothing stored", what);
    cr_expect_eq(th_db_int(d.db, "SELECT count(*) FROM alerts"), (int64_t)n_want,
                 "%s: exactly the labelled alerts", what);
    size_t i;
    json_t *lab;
    json_array_foreach(want, i, lab) expect_alert(d.db, lab, what);
    cr_expect_gt(th_db_int(d.db, "SELECT count(*) FROM connections"), 0, "connections stored");
    expect_rebuild_identical(d.db, what);
    cr_expect_eq(th_db_int(d.db, "SELECT count(*) FROM alert_events e LEFT JOIN alerts a ON "
                                 "a.id = e.alert_id WHERE a.id IS NULL"),
                 0, "every event belongs to a stored alert");
    if (!strcmp(r->vantage, "merged")) {
        char cmd[1024], expect[64];
        snprintf(cmd, sizeof(cmd), "python3 %s --db %s %s 2>/dev/null",
                 th_shared_path("tools/check/check_alerts.py"), d.db, th_shared_path(lab_rel));
        snprintf(expect, sizeof(expect), "%zu 0 0 %zu %zu", n_want, n_want, n_want);
        if (th_have("python3"))
            cr_expect_str_eq(first_line(cmd), expect, "%s: check_alerts.py", what);
    }
    expect_analyze_identical(&d);
    json_decref(labels);
    th_daemon_cleanup(&d);
}

/* ---- through the analyzer API ---- */

#define GEN_MAX_ALERTS 4096
struct collected {
    struct {
        int64_t id;
        enum alert_kind kind;
        struct fh_addr client;
        int32_t cport;
        enum alert_holder holder;
        uint32_t attempts;
    } a[GEN_MAX_ALERTS];
    size_t n;
};

static void collect(void *ctx, enum alert_event ev, const struct alert *al, int64_t event_id)
{
    (void)event_id;
    struct collected *c = ctx;
    size_t i = 0;
    while (i < c->n && c->a[i].id != al->id)
        i++;
    if (i == c->n) {
        if (c->n == GEN_MAX_ALERTS || ev != ALERT_EV_OPENED)
            return;
        c->n++;
    }
    c->a[i].id = al->id;
    c->a[i].kind = al->kind;
    c->a[i].client = al->client_addr;
    c->a[i].cport = al->client_port;
    c->a[i].holder = al->holder;
    c->a[i].attempts = al->attempts;
}

static struct flow mk(uint32_t exporter_dom, const struct fh_addr *src, uint16_t sp,
                      const struct fh_addr *dst, uint16_t dp, uint16_t flags, uint64_t pkts,
                      int64_t first, int64_t last, int64_t recv)
{
    struct flow f;
    memset(&f, 0, sizeof(f));
    addr_from_str("192.0.2.1", &f.exporter);
    f.domain = exporter_dom;
    f.version = 5;
    f.src_addr = *src, f.dst_addr = *dst;
    f.src_port = sp, f.dst_port = dp, f.proto = 6;
    f.tcp_flags = flags, f.present = FF_TCP_FLAGS;
    f.packets = pkts, f.bytes = pkts * 64;
    f.first_ms = first, f.last_ms = last, f.received_ms = recv;
    return f;
}

static void v4(struct fh_addr *a, unsigned x)
{
    uint8_t b[4] = {10, (uint8_t)(x >> 16), (uint8_t)(x >> 8), (uint8_t)x};
    addr_from_v4(a, b);
}

Test(analyzer, state_table_stays_under_its_cap, .timeout = 60)
{
    struct analyzer_opts o;
    analyzer_opts_default(&o);
    o.max_conns = 5000;
    struct analyzer *a = analyzer_new(&o, NULL, NULL, 0);
    cr_assert(a);
    struct fh_addr c, s;
    v4(&c, 0x010132);
    v4(&s, 0x02020a);
    enum { B = 512, N = 400 * (B / 2) };
    static struct flow batch[B];
    int64_t t = 1795455000000LL;
    size_t max_seen = 0;
    for (int i = 0; i < N; i += B / 2) {
        for (int k = 0; k < B / 2; k++) {
            /* distinct client address and port: unclosed connections, the costliest kind */
            struct fh_addr ci;
            v4(&ci, 0x100000 + (unsigned)(i + k));
            uint16_t p = (uint16_t)(1024 + (i + k) % 60000);
            batch[2 * k] = mk(1, &ci, p, &s, 515, 0x1a, 10, t, t + 50, t);
            batch[2 * k + 1] = mk(1, &s, 515, &ci, p, 0x1a, 8, t, t + 50, t);
            t += 1;
        }
        analyzer_consume(a, batch, B);
        struct analyzer_stats st;
        analyzer_get_stats(a, &st);
        if (st.conns_tracked > max_seen)
            max_seen = st.conns_tracked;
    }
    analyzer_tick(a, t, true);
    struct analyzer_stats st;
    analyzer_get_stats(a, &st);
    cr_expect_leq(max_seen, o.max_conns, "state table above its cap: %zu", max_seen);
    cr_expect_eq(st.conn_evictions, N - o.max_conns, "evictions counted");
    fprintf(stderr,
            "memory bound: %d connections, cap %zu, peak %zu, %llu evicted, %zu bytes "
            "per tracked connection\n",
            N, o.max_conns, max_seen, (unsigned long long)st.conn_evictions, st.bytes_per_conn);
    analyzer_free(a);
}

/* Generated episodes mixed into benign traffic. Each stale episode: an unclosed connection
 * from a client port, then failed SYNs from the same port answered by bare ACKs or by nothing,
 * seen by one or two exporters (outside 1, inside 2), sometimes through NAT at the inside tap,
 * sometimes split into several records (short exporter timeouts), sometimes moving from the
 * middlebox to the server (two alerts); directions arrive in random order. Benign: closed
 * connections with constant port reuse, active-timeout splits, idle connections never reused,
 * SYN retransmissions that succeed, scans answered by RST, unanswered SYNs to closed ports,
 * reuse after RST, and after an unclosed connection: a lost SYN then success, an RST answer, a
 * port that simply works again. */
struct gen {
    struct flow *f;
    size_t n, cap;
};

static void push(struct gen *g, struct flow f)
{
    if (g->n == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 4096;
        g->f = realloc(g->f, g->cap * sizeof(*g->f));
        cr_assert(g->f);
    }
    g->f[g->n++] = f;
}

static void pair(struct gen *g, uint32_t dom, const struct fh_addr *c, uint16_t cp,
                 const struct fh_addr *s, uint16_t sp, uint16_t cf, uint16_t sf, int64_t t0,
                 int64_t t1, uint64_t cpk, uint64_t spk)
{
    /* exported ~1 s after FIN or RST, else after the 15 s idle timeout (softflowd -t) */
    bool ended = ((cf | sf) & (TH_FIN_ | TH_RST_)) != 0;
    int64_t recv = t1 + (ended ? 1000 : 16000) + rand() % 1500;
    struct flow a = mk(dom, c, cp, s, sp, cf, cpk, t0, t1, recv);
    struct flow b = mk(dom, s, sp, c, cp, sf, spk, t0, t1, recv);
    bool reply_first = rand() % 2;
    if (sf && reply_first)
        push(g, b);
    push(g, a);
    if (sf && !reply_first)
        push(g, b);
}

static int cmp_recv(const void *x, const void *y)
{
    const struct flow *a = x, *b = y;
    return (a->received_ms > b->received_ms) - (a->received_ms < b->received_ms);
}

struct truth {
    struct fh_addr c;
    uint16_t port;
    enum alert_holder holder;
    uint32_t attempts;
};

enum { GEN_EPISODES = 80, GEN_CLIENTS = 300 };

/* Failed attempts at one exporter: `recs` records of `syns` SYNs in all (bare ACK or none). */
static void attempts(struct gen *g, uint32_t dom, const struct fh_addr *c, uint16_t cp,
                     const struct fh_addr *s, int64_t t, uint32_t syns, unsigned recs, bool ack)
{
    for (unsigned r = 0; r < recs; r++) {
        uint32_t k = syns / recs + (r < syns % recs);
        int64_t t0 = t + (int64_t)r * 6000;
        pair(g, dom, c, cp, s, 515, TH_SYN_, ack ? TH_ACK_ : 0, t0, t0 + 3000 * (k - 1), k, k);
    }
}

static size_t gen_episode(struct gen *g, int e, const struct fh_addr *server, struct truth *t)
{
    struct fh_addr c, nat;
    v4(&c, 0x050000 + (unsigned)e);
    v4(&nat, 0x090000 + (unsigned)e);
    uint16_t port = (uint16_t)(721 + rand() % 11), nat_port = (uint16_t)(port + 40000);
    int64_t t0 = 1795455000000LL + (int64_t)e * 900000 + rand() % 300000;
    int kind = rand() % 6; /* middlebox, server, one exporter, NAT middlebox, moved, no answer */
    bool nat_on = kind == 3;
    /* unanswered, a client always retransmits at least once */
    uint32_t syns = (uint32_t)((kind == 5 ? 2 : 1) + rand() % 3);
    unsigned recs = 1 + (unsigned)(rand() % 2) * (syns > 1);
    int64_t gap = 20000 + (int64_t)(rand() % 1800) * 1000;
    int64_t dur = 150 + rand() % 3000;
    uint64_t cpk = 10 + (uint64_t)(rand() % 50), spk = 8 + (uint64_t)(rand() % 30);
    for (uint32_t dom = 1; dom <= (kind == 2 ? 1u : 2u); dom++) {
        const struct fh_addr *cc = dom == 2 && nat_on ? &nat : &c;
        uint16_t cp = dom == 2 && nat_on ? nat_port : port;
        pair(g, dom, cc, cp, server, 515, 0x1a, 0x1a, t0, t0 + dur, cpk, spk);
        if (dom == 1 || kind == 1)
            attempts(g, dom, cc, cp, server, t0 + gap, syns, recs, kind != 5);
        pair(g, dom, cc, (uint16_t)(cp + 1), server, 515, 0x1b, 0x1b, t0 + gap + 30000,
             t0 + gap + 30300, 20, 15);
    }
    size_t n = 0;
    enum alert_holder h[] = {HOLDER_MIDDLEBOX, HOLDER_SERVER,    HOLDER_UNKNOWN,
                             HOLDER_MIDDLEBOX, HOLDER_MIDDLEBOX, HOLDER_MIDDLEBOX};
    t[n++] = (struct truth){c, port, h[kind], syns};
    if (kind == 4) { /* 30 min later the firewall has forgotten: the server answers */
        int64_t t2 = t0 + gap + 1800000;
        for (uint32_t dom = 1; dom <= 2; dom++)
            attempts(g, dom, &c, port, server, t2, 2, 1, true);
        t[n++] = (struct truth){c, port, HOLDER_SERVER, 2};
    }
    return n;
}

static void gen_benign(struct gen *g, const struct fh_addr *server, int64_t span_s)
{
    struct fh_addr c;
    v4(&c, 0x030000 + (unsigned)(rand() % GEN_CLIENTS));
    int64_t t = 1795455000000LL + (int64_t)(rand() % span_s) * 1000;
    uint16_t p = (uint16_t)(721 + rand() % 11), ep = (uint16_t)(32768 + rand() % 28000);
    uint32_t dom = 1 + (uint32_t)(rand() % 2);
    int64_t d = 150 + rand() % 3000; /* a job's duration and size */
    uint64_t cpk = 10 + (uint64_t)(rand() % 50), spk = 8 + (uint64_t)(rand() % 30);
    switch (rand() % 11) {
    case 0: /* reuse after FIN */
        pair(g, dom, &c, p, server, 515, 0x1b, 0x1b, t, t + d, cpk, spk);
        pair(g, dom, &c, p, server, 515, 0x1b, 0x1b, t + 25000, t + 25300, 20, 15);
        break;
    case 1: /* reuse after RST */
        pair(g, dom, &c, p, server, 515, 0x1e, 0x1a, t, t + 2000, 20, 15);
        pair(g, dom, &c, p, server, 515, 0x1b, 0x1b, t + 25000, t + 25300, 20, 15);
        break;
    case 2: /* active-timeout split: first without FIN, continuation without SYN */
        pair(g, dom, &c, ep, server, 9100, 0x1a, 0x1a, t, t + 300000, 200, 150);
        pair(g, dom, &c, ep, server, 9100, 0x19, 0x11, t + 301000, t + 400000, 90, 80);
        break;
    case 3: /* idle, never reused */
        pair(g, dom, &c, ep, server, 631, 0x1a, 0x1a, t, t + d, cpk, spk);
        break;
    case 4: /* SYN retransmission that succeeds */
        pair(g, dom, &c, ep, server, 515, 0x1b, 0x1b, t, t + 3500, 25, 18);
        break;
    case 5: /* scan answered by RST */
        pair(g, dom, &c, 40123, server, (uint16_t)(1 + rand() % 1024), TH_SYN_, 0x14, t, t, 1, 1);
        break;
    case 6: /* SYN unanswered (closed, filtered) */
        pair(g, dom, &c, ep, server, 8443, TH_SYN_, 0, t, t + 9000, 3, 0);
        break;
    case 7: /* unclosed, then a lost SYN split off by a short timeout, then success */
        pair(g, dom, &c, p, server, 515, 0x1a, 0x1a, t, t + d, cpk, spk);
        pair(g, dom, &c, p, server, 515, TH_SYN_, 0, t + 25000, t + 25000, 1, 0);
        pair(g, dom, &c, p, server, 515, 0x1b, 0x1b, t + 28000, t + 28300, 20, 15);
        break;
    case 8: /* unclosed, then the port is refused (RST): a closed service, not stale state */
        pair(g, dom, &c, p, server, 515, 0x1a, 0x1a, t, t + d, cpk, spk);
        pair(g, dom, &c, p, server, 515, TH_SYN_, 0x14, t + 25000, t + 25000, 1, 1);
        break;
    case 9: /* unclosed, then the same port simply works again */
        pair(g, dom, &c, p, server, 515, 0x1a, 0x1a, t, t + d, cpk, spk);
        pair(g, dom, &c, p, server, 515, 0x1b, 0x1b, t + 25000, t + 25300, 20, 15);
        break;
    default: /* mid-stream (exporter started late), closed */
        pair(g, dom, &c, ep, server, 443, 0x19, 0x19, t, t + 800, 30, 25);
    }
}

Test(analyzer, generated_episodes_precision_and_recall, .timeout = 60)
{
    const char *seed = getenv("FH_GEN_SEED"); /* other seeds: FH_GEN_SEED=N */
    srand(seed ? (unsigned)atoi(seed) : 5u);
    struct gen g = {0};
    struct fh_addr server;
    v4(&server, 0x02020a);
    static struct truth truth[GEN_EPISODES * 2];
    size_t n_truth = 0;
    for (int e = 0; e < GEN_EPISODES; e++)
        n_truth += gen_episode(&g, e, &server, &truth[n_truth]);
    for (int i = 0; i < 8000; i++)
        gen_benign(&g, &server, GEN_EPISODES * 900);
    qsort(g.f, g.n, sizeof(*g.f), cmp_recv);
    const char *dump = getenv("FH_GEN_DUMP"); /* FH_GEN_DUMP=client: its records, to debug */
    for (size_t i = 0; dump && i < g.n; i++) {
        char s1[64], s2[64];
        addr_to_str(&g.f[i].src_addr, s1, 64), addr_to_str(&g.f[i].dst_addr, s2, 64);
        if (!strcmp(s1, dump) || !strcmp(s2, dump))
            fprintf(stderr, "dom %u %s:%u > %s:%u flags %#x pk %llu %lld-%lld recv %lld\n",
                    g.f[i].domain, s1, g.f[i].src_port, s2, g.f[i].dst_port, g.f[i].tcp_flags,
                    (unsigned long long)g.f[i].packets, (long long)(g.f[i].first_ms % 10000000),
                    (long long)(g.f[i].last_ms % 10000000),
                    (long long)(g.f[i].received_ms % 10000000));
    }

    struct analyzer_opts o;
    analyzer_opts_default(&o);
    const char *inner[] = {"*/2"};
    o.vantage_inner = inner, o.n_vantage_inner = 1;
    struct analyzer *a = analyzer_new(&o, NULL, NULL, 0);
    static struct collected got;
    memset(&got, 0, sizeof(got));
    cr_assert_eq(analyzer_add_sink(a, (struct alert_sink){collect, &got}), 0);
    for (size_t i = 0; i < g.n; i += 512)
        analyzer_consume(a, &g.f[i], g.n - i < 512 ? g.n - i : 512);
    analyzer_tick(a, g.f[g.n - 1].received_ms, true);

    size_t tp = 0, fp = 0, holder_ok = 0;
    static bool found[GEN_EPISODES * 2];
    memset(found, 0, sizeof(found));
    for (size_t i = 0; i < got.n; i++) {
        if (got.a[i].kind != ALERT_STALE_STATE)
            continue;
        size_t m = n_truth;
        for (size_t e = 0; e < n_truth && m == n_truth; e++)
            if (!found[e] && addr_equal(&truth[e].c, &got.a[i].client) &&
                truth[e].port == got.a[i].cport)
                m = e;
        if (m == n_truth) {
            char buf[64];
            fprintf(stderr, "false alert %s:%d holder %d attempts %u\n",
                    addr_to_str(&got.a[i].client, buf, 64), got.a[i].cport, got.a[i].holder,
                    got.a[i].attempts);
            fp++;
            continue;
        }
        found[m] = true;
        tp++;
        bool ok = got.a[i].holder == truth[m].holder && got.a[i].attempts == truth[m].attempts;
        holder_ok += ok;
        if (!ok)
            fprintf(stderr, "alert %zu: holder %d attempts %u, expected %d %u\n", m,
                    got.a[i].holder, got.a[i].attempts, truth[m].holder, truth[m].attempts);
    }
    double precision = tp + fp ? (double)tp / (double)(tp + fp) : 1.0;
    double recall = (double)tp / (double)n_truth;
    fprintf(stderr,
            "generated: %zu flow records, %d episodes, %zu expected alerts: %zu true, %zu false; "
            "precision %.3f recall %.3f; holder and attempts right %zu/%zu\n",
            g.n, GEN_EPISODES, n_truth, tp, fp, precision, recall, holder_ok, tp);
    cr_expect_eq(fp, 0, "no alert on benign traffic");
    cr_expect_eq(tp, n_truth, "every episode found");
    cr_expect_eq(holder_ok, tp, "holder and attempt count right");
    analyzer_free(a);
    free(g.f);
}

/* ---- detection rules on hand-built flows ---- */

static struct collected rules_got;

/* The last event's holder.why (every run_flows() run collects it). */
static char holder_why[512];

static void why_sink(void *ctx, enum alert_event ev, const struct alert *al, int64_t event_id)
{
    (void)ctx, (void)ev, (void)event_id;
    json_t *e = json_loads(al->evidence_json, 0, NULL);
    snprintf(holder_why, sizeof(holder_why), "%s",
             json_string_value(json_object_get(json_object_get(e, "holder"), "why")));
    json_decref(e);
}

static void run_flows(struct flow *f, size_t n, const char *inner)
{
    struct analyzer_opts o;
    analyzer_opts_default(&o);
    const char *specs[] = {inner};
    if (inner)
        o.vantage_inner = specs, o.n_vantage_inner = 1;
    struct analyzer *a = analyzer_new(&o, NULL, NULL, 0);
    memset(&rules_got, 0, sizeof(rules_got));
    holder_why[0] = '\0';
    cr_assert_eq(analyzer_add_sink(a, (struct alert_sink){collect, &rules_got}), 0);
    cr_assert_eq(analyzer_add_sink(a, (struct alert_sink){why_sink, NULL}), 0);
    for (size_t i = 0; i < n; i++)
        analyzer_consume(a, &f[i], 1);
    analyzer_tick(a, f[n - 1].received_ms + 60000, true);
    analyzer_free(a);
}

#define RT 1795455000000LL

/* An unclosed job from c:722 seen by the exporters in doms (bit 1 = outside, 2 = inside,
 * inside sees the client as `nat` when given), then bare-ACK attempts seen per `att_doms`. */
static size_t story_like(struct flow *f, const struct fh_addr *c, const struct fh_addr *nat,
                         uint16_t nat_port, unsigned att_doms, uint16_t sflags)
{
    struct fh_addr s;
    v4(&s, 0x02020a);
    size_t n = 0;
    for (uint32_t dom = 1; dom <= 2; dom++) {
        const struct fh_addr *cc = dom == 2 && nat ? nat : c;
        uint16_t cp = dom == 2 && nat ? nat_port : 722;
        f[n++] = mk(dom, cc, cp, &s, 515, 0x1a, 24, RT, RT + 233, RT + 16000);
        f[n++] = mk(dom, &s, 515, cc, cp, 0x1a, 18, RT, RT + 233, RT + 16000);
    }
    for (uint32_t dom = 1; dom <= 2; dom++) {
        if (!(att_doms & dom))
            continue;
        const struct fh_addr *cc = dom == 2 && nat ? nat : c;
        uint16_t cp = dom == 2 && nat ? nat_port : 722;
        f[n++] = mk(dom, cc, cp, &s, 515, TH_SYN_, 3, RT + 25000, RT + 34000, RT + 50000);
        if (sflags)
            f[n++] = mk(dom, &s, 515, cc, cp, sflags, 3, RT + 25000, RT + 34000, RT + 50000);
    }
    return n;
}

Test(rules, nat_between_vantage_points_middlebox_answers)
{
    struct flow f[16];
    struct fh_addr c, nat;
    v4(&c, 0x010132);
    v4(&nat, 0x090909);
    size_t n = story_like(f, &c, &nat, 40722, 1, TH_ACK_);
    run_flows(f, n, NULL);
    cr_assert_eq(rules_got.n, 1);
    cr_expect_eq(rules_got.a[0].holder, HOLDER_MIDDLEBOX,
                 "inside saw the same connection (translated), no SYN");
    cr_expect_eq(rules_got.a[0].attempts, 3);
}

Test(rules, nat_between_vantage_points_server_answers_one_alert)
{
    struct flow f[16];
    struct fh_addr c, nat;
    v4(&c, 0x010132);
    v4(&nat, 0x090909);
    size_t n = story_like(f, &c, &nat, 40722, 3, TH_ACK_);
    run_flows(f, n, NULL);
    cr_assert_eq(rules_got.n, 1, "one alert, not one per translated view");
    cr_expect_eq(rules_got.a[0].holder, HOLDER_SERVER);
}

Test(rules, unanswered_syns_are_middlebox_when_inner_saw_no_syn)
{
    struct flow f[16];
    struct fh_addr c;
    v4(&c, 0x010132);
    size_t n = story_like(f, &c, NULL, 0, 1, 0);
    run_flows(f, n, NULL);
    cr_assert_eq(rules_got.n, 1);
    cr_expect_eq(rules_got.a[0].holder, HOLDER_MIDDLEBOX);
}

Test(rules, rst_answer_is_no_stale_state)
{
    struct flow f[16];
    struct fh_addr c;
    v4(&c, 0x010132);
    size_t n = story_like(f, &c, NULL, 0, 3, TH_RST_ | TH_ACK_);
    run_flows(f, n, NULL);
    cr_expect_eq(rules_got.n, 0);
}

Test(rules, lost_syn_then_success_on_the_same_port_is_silent)
{
    struct flow f[16];
    struct fh_addr c, s;
    v4(&c, 0x010132);
    v4(&s, 0x02020a);
    size_t n = story_like(f, &c, NULL, 0, 0, 0);
    /* exporter with a 3 s idle timeout: the lost first SYN is a record of its own */
    f[n++] = mk(1, &c, 722, &s, 515, TH_SYN_, 1, RT + 25000, RT + 25000, RT + 28000);
    f[n++] = mk(1, &c, 722, &s, 515, 0x1b, 20, RT + 28000, RT + 28300, RT + 28500);
    f[n++] = mk(1, &s, 515, &c, 722, 0x1b, 15, RT + 28000, RT + 28300, RT + 28500);
    run_flows(f, n, NULL);
    cr_expect_eq(rules_got.n, 0);
}

Test(rules, attempts_split_by_short_exporter_timeouts_are_one_episode)
{
    struct flow f[16];
    struct fh_addr c, s;
    v4(&c, 0x010132);
    v4(&s, 0x02020a);
    size_t n = story_like(f, &c, NULL, 0, 0, 0);
    f[n++] = mk(1, &c, 722, &s, 515, TH_SYN_, 2, RT + 25000, RT + 28000, RT + 31000);
    f[n++] = mk(1, &s, 515, &c, 722, TH_ACK_, 2, RT + 25000, RT + 28000, RT + 31000);
    f[n++] = mk(1, &s, 515, &c, 722, TH_ACK_, 1, RT + 34000, RT + 34000, RT + 37000);
    f[n++] = mk(1, &c, 722, &s, 515, TH_SYN_, 1, RT + 34000, RT + 34000, RT + 37000);
    run_flows(f, n, "*/2");
    cr_assert_eq(rules_got.n, 1);
    cr_expect_eq(rules_got.a[0].attempts, 3);
    cr_expect_eq(rules_got.a[0].holder, HOLDER_MIDDLEBOX, "inside saw the old one, no SYN");
}

Test(rules, attempt_outside_the_stale_window_is_silent)
{
    struct flow f[16];
    struct fh_addr c, s;
    v4(&c, 0x010132);
    v4(&s, 0x02020a);
    size_t n = story_like(f, &c, NULL, 0, 0, 0);
    int64_t t = RT + 25 * 3600 * 1000LL;
    f[n++] = mk(1, &c, 722, &s, 515, TH_SYN_, 3, t, t + 9000, t + 25000);
    f[n++] = mk(1, &s, 515, &c, 722, TH_ACK_, 3, t, t + 9000, t + 25000);
    run_flows(f, n, NULL);
    cr_expect_eq(rules_got.n, 0);
}

/* ---- the contract with alert delivery (alerts/alert.h) ---- */

struct sink_log {
    int calls;
    int64_t event_id, alert_id;
    enum alert_event ev;
};

static void sink_cb(void *ctx, enum alert_event ev, const struct alert *al, int64_t event_id)
{
    struct sink_log *l = ctx;
    l->calls++;
    l->ev = ev;
    l->event_id = event_id;
    l->alert_id = al->id;
}

Test(contract, events_stored_with_the_alert_and_sinks_called_after_commit)
{
    char *dir = th_tmpdir(), path[600], err[256];
    snprintf(path, sizeof(path), "%s/a.db", dir);
    struct store *s = store_open(path, STORE_RW, NULL, err, sizeof(err));
    cr_assert(s, "%s", err);
    struct analyzer_opts o;
    analyzer_opts_default(&o);
    o.store_connections = true; /* its rows in the same transaction too */
    struct analyzer *a = analyzer_new(&o, s, err, sizeof(err));
    cr_assert(a, "%s", err);
    struct sink_log log = {0};
    cr_assert_eq(analyzer_add_sink(a, (struct alert_sink){sink_cb, &log}), 0);
    struct flow f[16];
    struct fh_addr c;
    v4(&c, 0x010132);
    size_t n = story_like(f, &c, NULL, 0, 1, TH_ACK_);
    /* as the writer does: the batch and the analyzer's rows in one open transaction */
    cr_assert_eq(store_begin(s, err, sizeof(err)), 0);
    analyzer_consume(a, f, n);
    analyzer_tick(a, f[n - 1].received_ms + 5000, false); /* the hold has passed: opened */
    cr_expect_eq(log.calls, 0, "not delivered before the commit");
    cr_assert_eq(store_commit(s, err, sizeof(err)), 0);
    cr_expect_eq(log.calls, 0, "not before the writer says it committed");
    analyzer_committed(a); /* as the writer reports its commit */
    cr_expect_eq(log.calls, 1, "delivered once the transaction committed");
    cr_expect_eq(log.ev, ALERT_EV_OPENED);
    cr_assert_eq(store_begin(s, err, sizeof(err)), 0); /* the writer's next transaction */
    analyzer_tick(a, f[n - 1].received_ms + 6000, true);
    cr_assert_eq(store_commit(s, err, sizeof(err)), 0);
    analyzer_committed(a);
    analyzer_free(a);
    store_close(s);
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM alert_events e JOIN alerts a ON a.id = e.alert_id "
             "WHERE e.id = %lld AND a.id = %lld AND e.event = 'opened' AND a.kind = "
             "'stale_state' AND a.holder = 'middlebox'",
             (long long)log.event_id, (long long)log.alert_id);
    cr_expect_eq(th_db_int(path, sql), 1, "the event the sink got is the stored one");
    cr_expect_eq(th_db_int(path, "SELECT count(*) FROM alerts"), 1);
    cr_expect_gt(th_db_int(path, "SELECT count(*) FROM connections"), 0);
    th_rmtree(dir);
    free(dir);
}

/* The writer's transaction rolled back (disk full): the events written in it are gone; the
 * analyzer writes them again in the next one and the sinks hear of each once. */
Test(contract, events_of_a_rolled_back_transaction_are_written_again)
{
    char *dir = th_tmpdir(), path[600], err[256];
    snprintf(path, sizeof(path), "%s/a.db", dir);
    struct store *s = store_open(path, STORE_RW, NULL, err, sizeof(err));
    cr_assert(s, "%s", err);
    struct analyzer_opts o;
    analyzer_opts_default(&o);
    struct analyzer *a = analyzer_new(&o, s, err, sizeof(err));
    cr_assert(a, "%s", err);
    struct sink_log log = {0};
    cr_assert_eq(analyzer_add_sink(a, (struct alert_sink){sink_cb, &log}), 0);
    struct flow f[16];
    struct fh_addr c;
    v4(&c, 0x010133);
    size_t n = story_like(f, &c, NULL, 0, 1, TH_ACK_);
    cr_assert_eq(store_begin(s, err, sizeof(err)), 0);
    analyzer_consume(a, f, n);
    analyzer_tick(a, f[n - 1].received_ms + 5000, false); /* opened, in this transaction */
    store_rollback(s);
    analyzer_rolled_back(a);
    cr_expect_eq(log.calls, 0, "nothing delivered from a rolled-back transaction");
    cr_expect_eq(th_db_int(path, "SELECT count(*) FROM alert_events"), 0);
    analyzer_consume(a, NULL, 0); /* no transaction open (the store still fails): waits */
    cr_assert_eq(store_begin(s, err, sizeof(err)), 0);
    analyzer_consume(a, NULL, 0); /* the next transaction: written again */
    cr_assert_eq(store_commit(s, err, sizeof(err)), 0);
    analyzer_committed(a);
    cr_expect_eq(log.calls, 1, "delivered once");
    cr_expect_eq(log.ev, ALERT_EV_OPENED);
    analyzer_free(a);
    store_close(s);
    cr_expect_eq(th_db_int(path, "SELECT count(*) FROM alert_events WHERE event = 'opened'"), 1,
                 "the event stored once");
    cr_expect_eq(th_db_int(path, "SELECT count(*) FROM alerts"), 1);
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM alert_events WHERE id = %lld",
             (long long)log.event_id);
    cr_expect_eq(th_db_int(path, sql), 1, "the sink got the stored event's id");
    th_rmtree(dir);
    free(dir);
}

Test(rules, biflow_records_carry_both_directions)
{
    struct flow f[8];
    struct fh_addr c, s;
    v4(&c, 0x010132);
    v4(&s, 0x02020a);
    size_t n = 0;
    f[n] = mk(1, &c, 722, &s, 515, 0x1a, 24, RT, RT + 233, RT + 16000);
    f[n].rev_packets = 18, f[n].rev_bytes = 700, f[n].rev_tcp_flags = 0x1a;
    f[n++].present |= FF_REVERSE | FF_REV_FLAGS;
    f[n] = mk(1, &c, 722, &s, 515, TH_SYN_, 3, RT + 25000, RT + 34000, RT + 50000);
    f[n].rev_packets = 3, f[n].rev_bytes = 120, f[n].rev_tcp_flags = TH_ACK_;
    f[n++].present |= FF_REVERSE | FF_REV_FLAGS;
    run_flows(f, n, NULL);
    cr_assert_eq(rules_got.n, 1);
    cr_expect_eq(rules_got.a[0].attempts, 3);
}

Test(rules, sampled_flows_are_not_judged)
{
    struct flow f[16];
    struct fh_addr c;
    v4(&c, 0x010132);
    size_t n = story_like(f, &c, NULL, 0, 3, TH_ACK_);
    for (size_t i = 0; i < n; i++)
        f[i].sampling_interval = 100, f[i].present |= FF_SAMPLING;
    run_flows(f, n, NULL);
    cr_expect_eq(rules_got.n, 0, "1-in-100 sampling: a SYN and an ACK may be one connection");
}

Test(cli, analyze_looks_back_over_a_time_range, .timeout = 60)
{
    struct th_daemon d = {0};
    th_daemon_start(&d, inner_args);
    cr_assert_gt(th_replay(th_shared_path("scenarios/story/merged.v5.pcap"), d.port, 5000, 0), 0);
    cr_assert_eq(th_daemon_stop(&d), 0);
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "%s/flowhound analyze --db %s --vantage-inner '*/2' --to 2026-11-24T00:00:00Z "
             "| grep -c '\"holder\":\"middlebox\"'",
             th_builddir(), d.db);
    cr_expect_str_eq(first_line(cmd), "1", "evening only: the firewall's alert");
    snprintf(cmd, sizeof(cmd),
             "%s/flowhound analyze --db=%s --vantage-inner='*/2' --from=2026-11-24T00:00:00Z "
             "| wc -l",
             th_builddir(), d.db);
    cr_expect_str_eq(first_line(cmd), "0", "morning alone: the old connection is not in range");
    snprintf(cmd, sizeof(cmd), "%s/flowhound analyze --db %s/nonexistent.db 2>/dev/null; echo $?",
             th_builddir(), d.dir);
    cr_expect_str_eq(first_line(cmd), "1");
    /* analyze reads each partition in a snapshot of its own (not the whole store in one, which
     * kept flowhoundd's WAL from being emptied for the whole run), so retention may drop one
     * it has listed before it gets there: as this listed one that is not there */
    cr_assert_eq(th_system("sqlite3 %s \"INSERT INTO partitions (name, span_start, span_end) "
                           "VALUES ('flows_200001010000', 0, 1)\"",
                           d.db),
                 0);
    snprintf(cmd, sizeof(cmd),
             "%s/flowhound analyze --db %s --vantage-inner '*/2' --to 2026-11-24T00:00:00Z "
             "2>%s/analyze.err | grep -c '\"holder\":\"middlebox\"'",
             th_builddir(), d.db, d.dir);
    cr_expect_str_eq(first_line(cmd), "1", "the rest is analyzed");
    cr_expect_eq(th_system("grep -q 'flows_200001010000 was dropped by retention meanwhile: "
                           "skipped' %s/analyze.err",
                           d.dir),
                 0, "and the skipped one named");
    th_daemon_cleanup(&d);
}

/* Phase 1 within the hour: the firewall answers (outside only); 40 min later the firewall has
 * forgotten and the server answers (both see it): two alerts, live or replayed at once. */
static size_t moved_state(struct flow *f, bool same_recv)
{
    struct fh_addr c, s;
    v4(&c, 0x010132);
    v4(&s, 0x02020a);
    size_t n = story_like(f, &c, NULL, 0, 1, TH_ACK_);
    int64_t t = RT + 40 * 60000;
    for (uint32_t dom = 1; dom <= 2; dom++) {
        f[n++] = mk(dom, &c, 722, &s, 515, TH_SYN_, 2, t, t + 3000, t + 19000);
        f[n++] = mk(dom, &s, 515, &c, 722, TH_ACK_, 2, t, t + 3000, t + 19000);
    }
    for (size_t i = 0; same_recv && i < n; i++)
        f[i].received_ms = RT + 60 * 60000;
    return n;
}

Test(rules, stale_state_moving_from_middlebox_to_server_is_a_new_alert)
{
    for (int same = 0; same < 2; same++) {
        struct flow f[16];
        size_t n = moved_state(f, same);
        run_flows(f, n, NULL);
        cr_assert_eq(rules_got.n, 2, "%s", same ? "replayed at once" : "live");
        cr_expect_eq(rules_got.a[0].holder, HOLDER_MIDDLEBOX);
        cr_expect_eq(rules_got.a[0].attempts, 3);
        cr_expect_eq(rules_got.a[1].holder, HOLDER_SERVER);
        cr_expect_eq(rules_got.a[1].attempts, 2);
    }
}

Test(rules, one_unanswered_syn_is_not_believed_even_if_success_comes_late)
{
    struct flow f[16];
    struct fh_addr c, s;
    v4(&c, 0x010132);
    v4(&s, 0x02020a);
    size_t n = story_like(f, &c, NULL, 0, 0, 0);
    f[n++] = mk(1, &c, 722, &s, 515, TH_SYN_, 1, RT + 25000, RT + 25000, RT + 40000);
    /* the success is exported much later than the hold */
    f[n++] = mk(1, &c, 722, &s, 515, 0x1b, 20, RT + 28000, RT + 28300, RT + 49000);
    f[n++] = mk(1, &s, 515, &c, 722, 0x1b, 15, RT + 28000, RT + 28300, RT + 49000);
    run_flows(f, n, NULL);
    cr_expect_eq(rules_got.n, 0);
    /* two unanswered SYNs in separate records are believed */
    n = story_like(f, &c, NULL, 0, 0, 0);
    f[n++] = mk(1, &c, 722, &s, 515, TH_SYN_, 1, RT + 25000, RT + 25000, RT + 28000);
    f[n++] = mk(1, &c, 722, &s, 515, TH_SYN_, 1, RT + 31000, RT + 31000, RT + 34000);
    run_flows(f, n, NULL);
    cr_assert_eq(rules_got.n, 1);
    cr_expect_eq(rules_got.a[0].attempts, 2);
    cr_expect_eq(rules_got.a[0].holder, HOLDER_MIDDLEBOX, "inside saw the old one, no SYN");
}

/* ---- the server side (vantage-inner) saw the SYNs answered ---- */

/* Drops the bare ACKs that story_like() wrote for exporter dom's view of the attempts. */
static size_t drop_answers(struct flow *f, size_t n, uint32_t dom)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (f[i].domain != dom || f[i].tcp_flags != TH_ACK_)
            f[k++] = f[i];
    return k;
}

/* One alert of 3 attempts: holder `inner` with the inside tap (domain 2) configured as
 * vantage-inner, its why containing `why` (when given); holder `plain` without, as before. */
static void expect_holders(struct flow *f, size_t n, enum alert_holder inner,
                           enum alert_holder plain, const char *why)
{
    run_flows(f, n, "*/2");
    cr_assert_eq(rules_got.n, 1);
    cr_expect_eq(rules_got.a[0].holder, inner);
    cr_expect_eq(rules_got.a[0].attempts, 3);
    if (why)
        cr_expect(strstr(holder_why, why), "why: %s", holder_why);
    run_flows(f, n, NULL);
    cr_assert_eq(rules_got.n, 1);
    cr_expect_eq(rules_got.a[0].holder, plain, "not configured: as before");
}

Test(rules, inside_only_with_vantage_inner_is_the_server)
{
    struct flow f[16];
    struct fh_addr c;
    v4(&c, 0x010132);
    size_t n = story_like(f, &c, NULL, 0, 2, TH_ACK_);
    size_t k = 0; /* the outside exporter sends nothing at all */
    for (size_t i = 0; i < n; i++)
        if (f[i].domain == 2)
            f[k++] = f[i];
    expect_holders(f, k, HOLDER_SERVER, HOLDER_UNKNOWN,
                   "the only vantage point, 192.0.2.1/2, is on the server side");
}

Test(rules, server_side_saw_the_answers_the_outside_no_attempt)
{
    struct flow f[16];
    struct fh_addr c;
    v4(&c, 0x010132);
    /* both saw the old connection; only the inner one has records of the attempts */
    size_t n = story_like(f, &c, NULL, 0, 2, TH_ACK_);
    expect_holders(f, n, HOLDER_SERVER, HOLDER_MIDDLEBOX,
                   "192.0.2.1/2 is on the server side of the middleboxes (vantage-inner) and "
                   "saw the SYNs arrive and bare ACKs");
}

Test(rules, server_side_saw_the_answers_the_outside_only_the_syns)
{
    struct flow f[16];
    struct fh_addr c;
    v4(&c, 0x010132);
    size_t n = story_like(f, &c, NULL, 0, 3, TH_ACK_);
    n = drop_answers(f, n, 1); /* the answers took another way back */
    expect_holders(f, n, HOLDER_SERVER, HOLDER_MIDDLEBOX, NULL);
}

Test(rules, server_side_silent_keeps_the_middlebox)
{
    struct flow f[16];
    struct fh_addr c;
    v4(&c, 0x010132);
    /* the story's evening with the inner exporter configured: it saw no SYN */
    size_t n = story_like(f, &c, NULL, 0, 1, TH_ACK_);
    expect_holders(f, n, HOLDER_MIDDLEBOX, HOLDER_MIDDLEBOX, NULL);
}

/* ---- a restart between the failed attempts ---- */

static const char *const restart_args[] = {"--commit-interval", "0.2s", NULL};

/* Sends a connection's two directions (client 10.1.1.50:cport, server 10.2.2.10:515) as the
 * v5 exporter 127.0.4.1 (engine 1) would export them. */
static void send_conn(const struct th_daemon *d, uint16_t cport, uint16_t cflags, uint16_t sflags,
                      uint64_t pkts, int64_t t0, int64_t t1, uint32_t *seq)
{
    struct fh_addr c, s;
    v4(&c, 0x010132);
    v4(&s, 0x02020a);
    struct flow f[2];
    size_t n = 0;
    f[n++] = mk(1, &c, cport, &s, 515, cflags, pkts, t0, t1, 0);
    if (sflags)
        f[n++] = mk(1, &s, 515, &c, cport, sflags, pkts, t0, t1, 0);
    cr_assert(th_send_v5(d->port, "127.0.4.1", f, n, *seq));
    *seq += (uint32_t)n;
}

/* An unclosed job from 722, then two SYNs answered by bare ACKs: the alert is open; the
 * daemon is stopped. Returns the alert's id. */
static int64_t open_then_stop(struct th_daemon *d, uint32_t *seq)
{
    th_daemon_start(d, restart_args);
    send_conn(d, 722, 0x1a, 0x1a, 20, RT, RT + 233, seq);
    send_conn(d, 722, TH_SYN_, TH_ACK_, 2, RT + 25000, RT + 28000, seq);
    cr_assert_eq(th_db_wait(d->db, "SELECT count(*) FROM alerts WHERE state = 'open'", 1, 8000), 1,
                 "the alert did not open");
    cr_assert_eq(th_daemon_stop(d), 0);
    int64_t id = th_db_int(d->db, "SELECT id FROM alerts");
    cr_assert_eq(th_db_int(d->db, "SELECT attempts FROM alerts"), 2);
    return id;
}

static void expect_events(const char *db, int64_t id, const char *want)
{
    char sql[256], cmd[1024];
    snprintf(sql, sizeof(sql),
             "SELECT group_concat(event, ',') FROM (SELECT event FROM alert_events WHERE "
             "alert_id = %lld ORDER BY id)",
             (long long)id);
    snprintf(cmd, sizeof(cmd), "sqlite3 '%s' \"%s\"", db, sql);
    cr_expect_str_eq(first_line(cmd), want, "events of alert %lld", (long long)id);
}

Test(restart, the_open_alert_goes_on_and_the_port_connecting_resolves_it, .timeout = 60)
{
    struct th_daemon d = {0};
    uint32_t seq = 0;
    int64_t id = open_then_stop(&d, &seq);
    th_daemon_start_db(&d, d.db, restart_args);
    /* the client tries once more from 722: the same alert, updated */
    send_conn(&d, 722, TH_SYN_, TH_ACK_, 1, RT + 40000, RT + 40000, &seq);
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT attempts FROM alerts WHERE id = %lld", (long long)id);
    cr_expect_eq(th_db_wait(d.db, sql, 3, 8000), 3, "the stored alert was not updated");
    /* then 722 works again: resolved */
    send_conn(&d, 722, 0x1b, 0x1b, 20, RT + 60000, RT + 60300, &seq);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM alerts WHERE id = %lld AND state = 'resolved' AND "
             "resolved_ms = %lld",
             (long long)id, RT + 60000);
    cr_expect_eq(th_db_wait(d.db, sql, 1, 8000), 1, "the port's connection did not resolve it");
    cr_assert_eq(th_daemon_stop(&d), 0);
    cr_expect_eq(th_db_int(d.db, "SELECT count(*) FROM alerts"), 1, "no second alert");
    expect_events(d.db, id, "opened,updated,resolved");
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "grep -c 'resumed 1 of 1 open alerts' '%s'", d.log);
    cr_expect_str_eq(first_line(cmd), "1", "the daemon says what it resumed");
    th_daemon_cleanup(&d);
}

Test(restart, the_open_alert_goes_on_and_a_quiet_hour_resolves_it, .timeout = 60)
{
    struct th_daemon d = {0};
    uint32_t seq = 0;
    int64_t id = open_then_stop(&d, &seq);
    th_daemon_start_db(&d, d.db, restart_args);
    /* the exporter's clock passes an hour after the last attempt (another port's traffic) */
    int64_t t = RT + 28000 + 3600 * 1000LL + 60000;
    send_conn(&d, 723, 0x1b, 0x1b, 20, t, t + 300, &seq);
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM alerts WHERE id = %lld AND state = 'resolved' AND "
             "resolved_ms = %lld",
             (long long)id, RT + 28000 + 3600 * 1000LL);
    cr_expect_eq(th_db_wait(d.db, sql, 1, 8000), 1, "the quiet hour did not resolve it");
    cr_assert_eq(th_daemon_stop(&d), 0);
    cr_expect_eq(th_db_int(d.db, "SELECT count(*) FROM alerts"), 1, "no second alert");
    expect_events(d.db, id, "opened,resolved");
    th_daemon_cleanup(&d);
}

Test(restart, every_open_alert_of_a_scenario_resumes_without_a_new_event, .timeout = 60)
{
    struct th_daemon d = {0};
    th_daemon_start(&d, inner_args);
    cr_assert_gt(
        th_replay(th_shared_path("scenarios/story_exhaustion/merged.v5.pcap"), d.port, 5000, 0), 0);
    cr_assert_eq(th_daemon_stop(&d), 0);
    const char *open = "SELECT count(*) FROM alerts WHERE state = 'open'";
    cr_assert_eq(th_db_int(d.db, open), 12, "11 ports and their port_exhaustion alert");
    int64_t events = th_db_int(d.db, "SELECT count(*) FROM alert_events");
    th_daemon_start_db(&d, d.db, inner_args);
    cr_assert_eq(th_daemon_stop(&d), 0);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "grep -c 'resumed 12 of 12 open alerts' '%s'", d.log);
    cr_expect_str_eq(first_line(cmd), "1", "every open alert resumed, port_exhaustion too");
    cr_expect_eq(th_db_int(d.db, "SELECT count(*) FROM alert_events"), events,
                 "resuming says nothing the store does not hold already");
    cr_expect_eq(th_db_int(d.db, open), 12);
    th_daemon_cleanup(&d);
}

/* ---- exporters' clocks (common/flowlimits.h) ---- */

struct ev_count {
    int opened, updated, resolved;
};

static void count_events(void *ctx, enum alert_event ev, const struct alert *al, int64_t id)
{
    (void)al, (void)id;
    struct ev_count *c = ctx;
    c->opened += ev == ALERT_EV_OPENED;
    c->updated += ev == ALERT_EV_UPDATED;
    c->resolved += ev == ALERT_EV_RESOLVED;
}

/* The story's alert is open; then the same exporter sends the port's next job, dated a year
 * ahead of when it arrives (a wrong clock, a replayed capture). It would resolve the alert
 * twice over: as the port connecting again, and by moving the exporter's flow clock a year
 * past the episode's quiet hour. Dated in the future, it is not analysed: the alert stays
 * open. The same job dated right resolves it (so this test can tell). */
Test(rules, a_flow_dated_in_the_future_does_not_resolve_an_open_alert)
{
    struct flow f[16];
    struct fh_addr c, s;
    v4(&c, 0x010132);
    v4(&s, 0x02020a);
    size_t n = story_like(f, &c, NULL, 0, 1, TH_ACK_);
    struct analyzer_opts o;
    analyzer_opts_default(&o);
    struct analyzer *a = analyzer_new(&o, NULL, NULL, 0);
    struct ev_count ev = {0};
    cr_assert_eq(analyzer_add_sink(a, (struct alert_sink){count_events, &ev}), 0);
    analyzer_consume(a, f, n);
    int64_t recv = f[n - 1].received_ms + 5000;
    analyzer_tick(a, recv, false);
    cr_assert_eq(ev.opened, 1, "the story's alert is open");
    int64_t year = 365 * 86400000LL, t = RT + 60000 + year;
    struct flow job[2] = {mk(1, &c, 722, &s, 515, 0x1b, 20, t, t + 300, recv),
                          mk(1, &s, 515, &c, 722, 0x1b, 15, t, t + 300, recv)};
    analyzer_consume(a, job, 2);
    analyzer_tick(a, recv + 1000, false);
    struct analyzer_stats st;
    analyzer_get_stats(a, &st);
    cr_expect_eq(ev.resolved, 0, "resolved by a flow dated a year ahead");
    cr_expect_eq(st.future_skipped, 2);
    for (int i = 0; i < 2; i++)
        job[i].first_ms -= year, job[i].last_ms -= year, job[i].received_ms = RT + 61000;
    analyzer_consume(a, job, 2);
    analyzer_tick(a, recv + 2000, false);
    cr_expect_eq(ev.resolved, 1, "the same job dated right resolves it");
    analyzer_free(a);
}

static void be16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v;
}

static void be32(uint8_t *p, uint32_t v)
{
    be16(p, v >> 16), be16(p + 2, v & 0xffff);
}

/* A v5 datagram of engine 0/1 (the story's outside tap) dated unix_secs, sysUptime 100 s: the
 * client 10.1.1.50:722 printing to 10.2.2.10:515 again, a closed job both ways. */
static size_t story_job_v5(uint8_t *b, uint32_t unix_secs)
{
    memset(b, 0, 24 + 2 * 48);
    be16(b, 5), be16(b + 2, 2), be32(b + 4, 100000), be32(b + 8, unix_secs);
    b[21] = 1;
    static const uint8_t client[] = {10, 1, 1, 50}, server[] = {10, 2, 2, 10};
    for (int i = 0; i < 2; i++) {
        uint8_t *r = b + 24 + 48 * i;
        memcpy(r, i ? server : client, 4);
        memcpy(r + 4, i ? client : server, 4);
        be32(r + 16, 20), be32(r + 20, 2000);
        be32(r + 24, 90000), be32(r + 28, 90300);
        be16(r + 32, i ? 515 : 722), be16(r + 34, i ? 722 : 515);
        r[37] = 0x1b, r[38] = 6;
    }
    return 24 + 2 * 48;
}

/* Through the daemon: after the story the server's alert (the morning's) is open. The outside
 * exporter then sends port 722's next job dated a year ahead: stored, counted as dated in the
 * future, not analysed, so the alert stays open; dated in the story's time, the same job
 * resolves it. */
Test(analyzer, future_dated_flows_through_the_daemon_leave_the_alert_open, .timeout = 60)
{
    struct th_daemon d = {0};
    th_daemon_start(&d, inner_args);
    cr_assert_gt(th_replay(th_shared_path("scenarios/story/merged.v5.pcap"), d.port, 5000, 0), 0);
    const char *open_sql = "SELECT count(*) FROM alerts WHERE state = 'open' AND holder = 'server'";
    cr_assert_eq(th_db_wait(d.db, open_sql, 1, 8000), 1, "the story's morning alert is open");
    int64_t stored = th_db_wait(d.db, "SELECT count(*) FROM flows", 26, 5000);
    uint8_t buf[24 + 2 * 48];
    size_t len = story_job_v5(buf, (uint32_t)(now_ms() / 1000 + 365 * 86400));
    cr_assert(th_udp_send(d.port, "127.0.1.1", buf, len));
    /* the analyzer consumes a batch in the transaction that stores it */
    cr_assert_eq(th_db_wait(d.db, "SELECT count(*) FROM flows", stored + 2, 5000), stored + 2);
    cr_expect_eq(th_db_int(d.db, open_sql), 1, "a flow dated a year ahead resolved the alert");
    cr_expect_eq(th_db_wait(d.db,
                            "SELECT clock_future FROM exporter_domains WHERE addr = '127.0.1.1' "
                            "AND domain = 1",
                            2, 5000),
                 2, "counted as dated in the future");
    len = story_job_v5(buf, 1795510800); /* 2026-11-24T09:00:00Z, after the morning's attempts */
    cr_assert(th_udp_send(d.port, "127.0.1.1", buf, len));
    cr_expect_eq(th_db_wait(d.db, "SELECT count(*) FROM alerts WHERE state = 'resolved'", 2, 5000),
                 2, "the same job dated right resolves it");
    cr_expect_eq(th_db_int(d.db, open_sql), 0);
    cr_assert_eq(th_daemon_stop(&d), 0);
    th_daemon_cleanup(&d);
}
