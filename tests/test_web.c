/* test_web.c - the web server inside the real flowhoundd, over real HTTP (libcurl): every API
 * endpoint on the story's stored flows, bad parameters (4xx + a JSON error, never 5xx),
 * hostile strings, security headers, credentials, the query time limit, TLS. */
#include "config.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <curl/curl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/helpers.h"
#include "tests/web/webtest.h"

static const char HOSTILE_SUMMARY[] = "<img src=x onerror=\"document.body.dataset.pwned=1\">"
                                      "hostile summary";
static const char HOSTILE_REASON[] = "<script>document.body.dataset.pwned=3</script>";

static json_int_t jint(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    cr_assert(json_is_integer(v), "%s is not an integer", k);
    return json_integer_value(v);
}

/* The column names of the flows view, in order. */
static json_t *flows_columns(const char *db)
{
    sqlite3 *h;
    cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(h, "SELECT * FROM flows LIMIT 0", -1, &st, NULL), SQLITE_OK);
    json_t *cols = json_array();
    for (int i = 0; i < sqlite3_column_count(st); i++)
        json_array_append_new(cols, json_string(sqlite3_column_name(st, i)));
    sqlite3_finalize(st);
    sqlite3_close(h);
    return cols;
}

static void expect_flows_page(const char *addr, const char *db)
{
    json_t *v = wt_get_json(addr, "/api/v1/flows?limit=5", 200);
    json_t *flows = json_object_get(v, "flows");
    cr_assert_eq(json_array_size(flows), 5);
    cr_expect(json_is_true(json_object_get(v, "more")));
    /* Each row has exactly the flows view's columns, and its exporter's name (null: none is
     * configured). */
    json_t *cols = flows_columns(db), *row = json_array_get(flows, 0);
    cr_expect_eq(json_object_size(row), json_array_size(cols) + 1);
    cr_expect(json_is_null(json_object_get(row, "exporter_name")), "exporter_name: null");
    size_t i;
    json_t *c;
    json_array_foreach(cols, i, c) cr_expect(json_object_get(row, json_string_value(c)),
                                             "column %s missing", json_string_value(c));
    json_decref(cols);
    json_decref(v);
}

/* Every page of 7 together is every flow exactly once, in first_ms order. */
static void expect_paging_covers_all(const char *addr)
{
    int64_t seen = 0, last_first = 0;
    json_t *keys = json_object();
    for (int page = 0; page < 10; page++) {
        char path[128];
        snprintf(path, sizeof(path), "/api/v1/flows?limit=7&offset=%d", page * 7);
        json_t *v = wt_get_json(addr, path, 200);
        size_t i;
        json_t *f;
        json_array_foreach(json_object_get(v, "flows"), i, f)
        {
            cr_expect_geq(jint(f, "first_ms"), last_first, "ascending first_ms");
            last_first = jint(f, "first_ms");
            char key[256];
            snprintf(key, sizeof(key), "%s|%s|%lld|%lld",
                     json_string_value(json_object_get(f, "exporter")),
                     json_string_value(json_object_get(f, "src_addr")),
                     (long long)jint(f, "src_port"), (long long)jint(f, "first_ms"));
            cr_expect_null(json_object_get(keys, key), "row %s on two pages", key);
            json_object_set_new(keys, key, json_true());
            seen++;
        }
        bool more = json_is_true(json_object_get(v, "more"));
        json_decref(v);
        if (!more)
            break;
    }
    cr_expect_eq(seen, 26);
    json_decref(keys);
}

static void expect_order_and_range(const char *addr, const char *db)
{
    json_t *v = wt_get_json(addr, "/api/v1/flows?order=-bytes&limit=1", 200);
    cr_expect_eq(jint(json_array_get(json_object_get(v, "flows"), 0), "bytes"),
                 th_db_int(db, "SELECT max(bytes) FROM flows"));
    json_decref(v);
    /* RFC 3339 and Unix ms bounds: the morning half of the story. */
    v = wt_get_json(addr, "/api/v1/flows?from=2026-11-24T00:00:00Z&to=1795600000000", 200);
    cr_expect_eq((int64_t)json_array_size(json_object_get(v, "flows")),
                 th_db_int(db, "SELECT count(*) FROM flows WHERE first_ms >= 1795478400000"));
    cr_expect_gt(json_array_size(json_object_get(v, "flows")), 0);
    json_decref(v);
}

static void expect_stats(const char *addr, const char *db)
{
    json_t *v = wt_get_json(addr, "/api/v1/stats/top?by=dst_port&order=bytes&n=3", 200);
    json_t *top = json_object_get(v, "top");
    cr_assert_eq(json_array_size(top), 3);
    cr_expect_eq(jint(json_array_get(top, 0), "key"), 515);
    cr_expect_eq(jint(json_array_get(top, 0), "bytes"),
                 th_db_int(db, "SELECT sum(bytes) FROM flows WHERE dst_port = 515"));
    cr_expect_eq(jint(json_object_get(v, "total"), "flows"), 26);
    json_decref(v);
    /* Either side, as nfdump -s port: every story flow has 515 on one side. */
    v = wt_get_json(addr, "/api/v1/stats/top?by=port&order=flows&n=3", 200);
    top = json_object_get(v, "top");
    cr_expect_eq(jint(json_array_get(top, 0), "key"), 515);
    cr_expect_eq(
        jint(json_array_get(top, 0), "flows"),
        th_db_int(db, "SELECT count(*) FROM flows WHERE src_port = 515 OR dst_port = 515"));
    /* Combined statistics count a flow once per side in the totals too (query/query.h). */
    cr_expect_eq(jint(json_object_get(v, "total"), "flows"), 2 * 26);
    cr_expect_str_eq(json_string_value(json_object_get(v, "by")), "port");
    json_decref(v);
    v = wt_get_json(addr, "/api/v1/stats/top?by=ip&order=bytes", 200);
    top = json_object_get(v, "top");
    cr_expect_eq(json_array_size(top), 2, "two addresses in the story");
    cr_expect_eq(jint(json_array_get(top, 0), "bytes"),
                 th_db_int(db, "SELECT sum(bytes) FROM flows"));
    json_decref(v);
    v = wt_get_json(addr, "/api/v1/stats/top?by=srcip&order=flows", 200);
    cr_expect_str_eq(json_string_value(json_object_get(v, "by")), "src_addr");
    json_decref(v);
    v = wt_get_json(addr, "/api/v1/stats/timeline?buckets=10", 200);
    json_int_t flows = 0, bytes = 0;
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(v, "points"), i, p)
    {
        flows += jint(p, "flows");
        bytes += jint(p, "bytes");
    }
    cr_expect_eq(flows, 26);
    cr_expect_eq(bytes, th_db_int(db, "SELECT sum(bytes) FROM flows"));
    cr_expect_leq(json_array_size(json_object_get(v, "points")), 10);
    json_decref(v);
    v = wt_get_json(addr, "/api/v1/stats/summary", 200);
    cr_expect_eq(jint(v, "flows"), 26);
    cr_expect_eq(jint(v, "exporters"), 2);
    cr_expect_eq(jint(v, "alerts_open"), 3);
    json_decref(v);
}

static void expect_exporters(const char *addr)
{
    json_t *v = wt_get_json(addr, "/api/v1/exporters", 200);
    json_t *ex = json_object_get(v, "exporters");
    cr_assert_eq(json_array_size(ex), 2);
    json_t *first = json_array_get(ex, 0);
    cr_expect_str_eq(json_string_value(json_object_get(first, "exporter")), "127.0.1.1");
    cr_expect_eq(jint(first, "flows") + jint(json_array_get(ex, 1), "flows"), 26);
    cr_expect_eq(json_array_size(json_object_get(first, "domains")), 1);
    /* A hostile string comes back as the same JSON string, nothing interpreted or lost. */
    bool found = false;
    size_t i;
    json_t *rj;
    json_array_foreach(json_object_get(first, "rejects"), i, rj) found |=
        !strcmp(json_string_value(json_object_get(rj, "reason")), HOSTILE_REASON);
    cr_expect(found, "hostile reject reason returned verbatim");
    json_decref(v);
}

/* One rebuilt connection row: its sequence number, exporter, client port, start, state. */
static void expect_conn(json_t *c, json_int_t id, const char *exporter, json_int_t cport,
                        json_int_t start_ms, const char *state)
{
    cr_assert(json_is_object(c), "connection %lld missing", (long long)id);
    cr_expect_eq(json_integer_value(json_object_get(c, "id")), id);
    cr_expect_str_eq(json_string_value(json_object_get(c, "exporter")), exporter);
    cr_expect_str_eq(json_string_value(json_object_get(c, "client_addr")), "10.1.1.50");
    cr_expect_eq(json_integer_value(json_object_get(c, "client_port")), cport);
    cr_expect_eq(json_integer_value(json_object_get(c, "start_ms")), start_ms, "id %lld",
                 (long long)id);
    cr_expect_str_eq(json_string_value(json_object_get(c, "state")), state, "id %lld",
                     (long long)id);
}

static void expect_alerts(const char *addr)
{
    json_t *v = wt_get_json(addr, "/api/v1/alerts", 200);
    json_t *alerts = json_object_get(v, "alerts");
    cr_assert_eq(json_array_size(alerts), 4);
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(alerts, 0), "state")),
                     "open");
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(alerts, 1), "state")),
                     "open");
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(alerts, 2), "state")),
                     "open");
    /* No client port (port exhaustion): null, not 0. */
    cr_expect(json_is_null(json_object_get(json_array_get(alerts, 0), "client_port")));
    json_t *hostile = json_array_get(alerts, 3);
    cr_expect_str_eq(json_string_value(json_object_get(hostile, "summary")), HOSTILE_SUMMARY);
    cr_expect(json_is_object(json_object_get(hostile, "evidence")), "evidence is an object");
    json_t *a1 = json_array_get(alerts, 2);
    cr_expect_eq(jint(a1, "id"), 1);
    cr_expect_eq(jint(json_object_get(a1, "evidence"), "stale_since_ms"), 1795455040570);
    json_decref(v);

    v = wt_get_json(addr, "/api/v1/alerts?state=resolved", 200);
    cr_expect_eq(json_array_size(json_object_get(v, "alerts")), 1);
    json_decref(v);
    v = wt_get_json(addr, "/api/v1/alerts?state=open&client=10.1.1.50&kind=stale_state", 200);
    cr_expect_eq(json_array_size(json_object_get(v, "alerts")), 2);
    json_decref(v);

    v = wt_get_json(addr, "/api/v1/alerts/1", 200);
    cr_expect_str_eq(json_string_value(json_object_get(json_object_get(v, "alert"), "holder")),
                     "middlebox");
    /* Rebuilt from the stored flows, up to an hour after the alert: the stale connection as
     * both exporters saw it, then the attempts (softflowd exported the SYN and its two
     * retransmissions as one flow: one connection of 3 packets, answered by 3 bare ACKs),
     * seen outside only; then what the client did next (evidence: client_next), the job
     * from port 723 that worked, as both exporters saw it. */
    json_t *conns = json_object_get(v, "connections");
    cr_expect_eq(json_array_size(conns), 5);
    expect_conn(json_array_get(conns, 0), 1, "127.0.1.1/1", 722, 1795455040337, "S1");
    expect_conn(json_array_get(conns, 1), 2, "127.0.1.2/2", 722, 1795455040338, "S1");
    expect_conn(json_array_get(conns, 2), 3, "127.0.1.1/1", 722, 1795455065598, "SBA");
    expect_conn(json_array_get(conns, 3), 4, "127.0.1.1/1", 723, 1795455086598, "SF");
    cr_expect_eq(json_integer_value(json_object_get(json_array_get(conns, 4), "client_port")), 723);
    json_t *sba = json_array_get(conns, 2);
    cr_expect_eq(json_integer_value(json_object_get(sba, "c_packets")), 3);
    cr_expect_eq(json_integer_value(json_object_get(sba, "s_packets")), 3);
    cr_expect_eq(json_integer_value(json_object_get(sba, "c_flags")), 2, "SYN only");
    cr_expect_eq(json_integer_value(json_object_get(sba, "s_flags")), 16, "bare ACK");
    json_decref(v);
    /* Port exhaustion has no client port: every port its evidence lists (721-731), of which
     * the story used 721 (4 connections: 2 jobs x 2 exporters), 722 (5) and 723 (4). */
    v = wt_get_json(addr, "/api/v1/alerts/4", 200);
    conns = json_object_get(v, "connections");
    cr_expect_eq(json_array_size(conns), 13);
    size_t i;
    json_t *c;
    int per_port[3] = {0};
    json_array_foreach(conns, i, c)
    {
        json_int_t p = json_integer_value(json_object_get(c, "client_port"));
        cr_expect(p >= 721 && p <= 723, "port %lld", (long long)p);
        if (p >= 721 && p <= 723)
            per_port[p - 721]++;
        cr_expect_eq(json_integer_value(json_object_get(c, "id")), (json_int_t)i + 1);
    }
    cr_expect(per_port[0] == 4 && per_port[1] == 5 && per_port[2] == 4);
    json_decref(v);
    json_decref(wt_get_json(addr, "/api/v1/alerts/999", 404));
}

static void expect_connections(const char *addr)
{
    /* Port 722 rebuilt from the 26 stored flows: the unclosed job (both exporters), the
     * evening attempts the firewall answered (outside only), the morning attempts the server
     * answered (both exporters). */
    json_t *v = wt_get_json(addr, "/api/v1/connections?client=10.1.1.50&port=722", 200);
    json_t *conns = json_object_get(v, "connections");
    cr_expect_eq(json_array_size(conns), 5);
    expect_conn(json_array_get(conns, 0), 1, "127.0.1.1/1", 722, 1795455040337, "S1");
    expect_conn(json_array_get(conns, 1), 2, "127.0.1.2/2", 722, 1795455040338, "S1");
    expect_conn(json_array_get(conns, 2), 3, "127.0.1.1/1", 722, 1795455065598, "SBA");
    expect_conn(json_array_get(conns, 3), 4, "127.0.1.1/1", 722, 1795507230338, "SBA");
    expect_conn(json_array_get(conns, 4), 5, "127.0.1.2/2", 722, 1795507230339, "SBA");
    json_t *s1 = json_array_get(conns, 0);
    cr_expect_str_eq(json_string_value(json_object_get(s1, "server_addr")), "10.2.2.10");
    cr_expect_eq(json_integer_value(json_object_get(s1, "server_port")), 515);
    cr_expect_eq(json_integer_value(json_object_get(s1, "c_packets")), 24);
    cr_expect_eq(json_integer_value(json_object_get(s1, "s_packets")), 18);
    cr_expect_eq(json_integer_value(json_object_get(s1, "end_ms")), 1795455040570);
    cr_expect_eq(json_integer_value(json_object_get(s1, "records")), 2);
    cr_expect(json_is_false(json_object_get(v, "more")));
    /* Both stale-state alerts of the port and the client's port exhaustion. */
    cr_expect_eq(json_array_size(json_object_get(v, "alerts")), 3);
    json_decref(v);
    v = wt_get_json(addr, "/api/v1/connections?client=10.1.1.50&port=722&from=2026-11-24T00:00:00Z",
                    200);
    conns = json_object_get(v, "connections");
    cr_expect_eq(json_array_size(conns), 2);
    expect_conn(json_array_get(conns, 0), 1, "127.0.1.1/1", 722, 1795507230338, "SBA");
    json_decref(v);
    /* server filter, limit and more */
    v = wt_get_json(addr, "/api/v1/connections?client=10.1.1.50&port=722&server=10.2.2.10", 200);
    cr_expect_eq(json_array_size(json_object_get(v, "connections")), 5);
    json_decref(v);
    v = wt_get_json(addr, "/api/v1/connections?client=10.1.1.50&port=722&server=10.2.2.11", 200);
    cr_expect_eq(json_array_size(json_object_get(v, "connections")), 0);
    json_decref(v);
    v = wt_get_json(addr, "/api/v1/connections?client=10.1.1.50&port=722&limit=2", 200);
    cr_expect_eq(json_array_size(json_object_get(v, "connections")), 2);
    cr_expect(json_is_true(json_object_get(v, "more")));
    json_decref(v);
    /* the server side is not a client port */
    v = wt_get_json(addr, "/api/v1/connections?client=10.2.2.10&port=515", 200);
    cr_expect_eq(json_array_size(json_object_get(v, "connections")), 0);
    json_decref(v);
}

Test(web, every_endpoint_on_the_story, .timeout = 120)
{
    struct th_daemon d = {0};
    char addr[128];
    wt_start(&d, NULL, addr, sizeof(addr));
    wt_store_story(&d);
    expect_flows_page(addr, d.db);
    expect_paging_covers_all(addr);
    expect_order_and_range(addr, d.db);
    expect_stats(addr, d.db);
    expect_exporters(addr);
    expect_alerts(addr);
    expect_connections(addr);
    cr_expect_eq(th_daemon_stop(&d), 0);
    th_daemon_cleanup(&d);
}

struct bad_case {
    const char *method;
    const char *path;
    long status;
    int column; /* 0: no column expected */
};

static const struct bad_case bad_cases[] = {
    {NULL, "/api/v1/flows?limit=0", 400, 0},
    {NULL, "/api/v1/flows?limit=abc", 400, 0},
    {NULL, "/api/v1/flows?limit=10001", 400, 0},
    {NULL, "/api/v1/flows?limit=99999999999999999999999", 400, 0},
    {NULL, "/api/v1/flows?offset=-1", 400, 0},
    {NULL, "/api/v1/flows?from=yesterday", 400, 0},
    {NULL, "/api/v1/flows?from=2026-11-24T00:00:00Z&to=2026-11-23T00:00:00Z", 400, 0},
    {NULL, "/api/v1/flows?order=nonexistent", 400, 0},
    {NULL, "/api/v1/flows?order=bytes%22%3B%20DROP%20TABLE%20alerts%3B%20--", 400, 0},
    {NULL, "/api/v1/flows?filter=%3Cscript%3Ealert(1)%3C%2Fscript%3E", 400, 1},
    {NULL, "/api/v1/flows?bogus=1", 400, 0},
    {NULL, "/api/v1/stats/top?by=evil", 400, 0},
    {NULL, "/api/v1/stats/top?filter=src%20ip%2010.0.0.300", 400, 8},
    {NULL, "/api/v1/stats/timeline?filter=proto%20tcp%20and", 400, 14},
    {NULL, "/api/v1/flows?filter=port%20%3E%20x", 400, 8},
    {NULL, "/api/v1/stats/top?order=rows", 400, 0},
    {NULL, "/api/v1/stats/top?n=0", 400, 0},
    {NULL, "/api/v1/stats/timeline?buckets=100000", 400, 0},
    {NULL, "/api/v1/connections", 400, 0},
    {NULL, "/api/v1/connections?client=not-an-ip&port=1", 400, 0},
    {NULL, "/api/v1/connections?client=10.1.1.50&port=70000", 400, 0},
    {NULL, "/api/v1/alerts?state=closed", 400, 0},
    {NULL, "/api/v1/alerts?client=%3Cb%3E", 400, 0},
    {NULL, "/api/v1/alerts/abc", 400, 0},
    {NULL, "/api/v1/alerts/0", 400, 0},
    {NULL, "/api/v1/alerts/1.5", 400, 0},
    {NULL, "/api/v1/alerts/-1", 400, 0},
    {NULL, "/api/v1/nope", 404, 0},
    {"POST", "/api/v1/flows", 405, 0},
    {"DELETE", "/api/v1/alerts/1", 405, 0},
    {"PUT", "/", 405, 0},
};

static const char HOSTILE_NAME[] = "<script>document.body.dataset.pwned=4</script>";

/* The name the answer gives an exporter: a string, or NULL for JSON null. Fails when the
 * member is missing. */
static const char *name_of(json_t *o)
{
    json_t *v = json_object_get(o, "exporter_name");
    cr_assert(v, "no exporter_name beside exporter %s",
              json_string_value(json_object_get(o, "exporter")));
    return json_string_value(v);
}

static void expect_named_exporters(const char *addr)
{
    /* By address as a number: .1 .2 .9 .10 (as text .10 would come before .2). */
    static const char *const order[][2] = {{"127.0.1.1", "fw outside"},
                                           {"127.0.1.2", HOSTILE_NAME},
                                           {"127.0.1.9", "nine"},
                                           {"127.0.1.10", NULL}};
    json_t *v = wt_get_json(addr, "/api/v1/exporters", 200);
    json_t *ex = json_object_get(v, "exporters");
    cr_assert_eq(json_array_size(ex), 4);
    for (size_t i = 0; i < 4; i++) {
        json_t *e = json_array_get(ex, i);
        cr_expect_str_eq(json_string_value(json_object_get(e, "exporter")), order[i][0]);
        if (order[i][1])
            cr_expect_str_eq(name_of(e), order[i][1], "name of %s", order[i][0]);
        else
            cr_expect_null(name_of(e), "%s has no name: null", order[i][0]);
    }
    json_decref(v);
    /* The hostile name in the raw answer: "</script>" never appears as such. */
    char url[256];
    snprintf(url, sizeof(url), "http://%s/api/v1/exporters", addr);
    struct wt_resp r;
    wt_request(url, NULL, NULL, NULL, &r);
    cr_expect_null(strstr(r.body, "</script>"), "'/' is escaped in JSON");
    cr_expect(strstr(r.body, "<\\/script>"), "the name is in the answer, escaped");
    wt_resp_free(&r);
}

static void expect_names_beside_addresses(const char *addr)
{
    json_t *v = wt_get_json(addr, "/api/v1/flows?limit=100", 200);
    size_t i, n = 0;
    json_t *f;
    json_array_foreach(json_object_get(v, "flows"), i, f)
    {
        bool outside = !strcmp(json_string_value(json_object_get(f, "exporter")), "127.0.1.1");
        cr_expect_str_eq(name_of(f), outside ? "fw outside" : HOSTILE_NAME);
        n++;
    }
    cr_expect_eq(n, 26);
    json_decref(v);
    v = wt_get_json(addr, "/api/v1/stats/top?by=exporter&order=flows", 200);
    json_t *top = json_object_get(v, "top");
    cr_assert_eq(json_array_size(top), 2);
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(top, 0), "key")), "127.0.1.1",
                     "14 flows outside, 12 inside");
    cr_expect_str_eq(name_of(json_array_get(top, 0)), "fw outside");
    json_decref(v);
    /* Connections name their exporter ADDR/DOMAIN; so does the analyzer's evidence. */
    v = wt_get_json(addr, "/api/v1/alerts/1", 200);
    json_t *c0 = json_array_get(json_object_get(v, "connections"), 0);
    cr_expect_str_eq(json_string_value(json_object_get(c0, "exporter")), "127.0.1.1/1");
    cr_expect_str_eq(name_of(c0), "fw outside");
    json_t *ev = json_object_get(json_object_get(v, "alert"), "evidence");
    cr_expect_str_eq(name_of(json_object_get(ev, "last_viable_connection")), "fw outside");
    json_t *by = json_object_get(json_object_get(ev, "failed_attempts"), "by_exporter");
    cr_expect_str_eq(name_of(json_array_get(by, 0)), "fw outside");
    json_decref(v);
}

Test(web, exporter_names_beside_every_address, .timeout = 120)
{
    struct th_daemon d = {0};
    char addr[128];
    char hostile[128];
    snprintf(hostile, sizeof(hostile), "127.0.1.2  %s ", HOSTILE_NAME);
    /* the later value for an address wins (the command line over the file) */
    const char *const extra[] = {"--exporter-name",       "127.0.1.9 old name", "--exporter-name",
                                 "127.0.1.1\tfw outside", "--exporter-name",    hostile,
                                 "--exporter-name",       "127.0.1.9 nine",     NULL};
    wt_start(&d, extra, addr, sizeof(addr));
    wt_store_story(&d);
    wt_sql_file(d.db, "exporters_fixture.sql");
    expect_named_exporters(addr);
    expect_names_beside_addresses(addr);
    cr_expect_eq(th_daemon_stop(&d), 0);
    th_daemon_cleanup(&d);
}

/* A bad exporter-name stops flowhoundd at start with the setting named; a good one is shown
 * by --check-config. */
Test(web, exporter_names_are_checked)
{
    static const char *const bad[] = {
        "127.0.1.1",    /* no name */
        "127.0.1.1   ", /* blanks only */
        "fw 127.0.1.1", /* name first */
        "10.0.0.300 x", /* not an address */
        "127.0.1.1 a\x01"
        "b",                      /* a control character */
        "127.0.1.1 caf\xe9",      /* Latin-1, not UTF-8 */
        "127.0.1.1 \xed\xa0\x80", /* a surrogate */
        "127.0.1.1 12345678901234567890123456789012345678901234567890123456789012345",
    };
    char *dir = th_tmpdir();
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char conf[512];
        snprintf(conf, sizeof(conf), "%s/bad.conf", dir);
        FILE *f = fopen(conf, "w");
        cr_assert(f);
        fprintf(f, "exporter-name = %s\n", bad[i]);
        fclose(f);
        int rc = th_system("'%s/flowhoundd' -c '%s' --db '%s/x.db' --check-config >'%s/out' 2>&1",
                           th_builddir(), conf, dir, dir);
        cr_expect_eq(rc, 2, "refused: %zu", i);
        cr_expect_eq(th_system("grep -q 'exporter-name' '%s/out'", dir), 0,
                     "the message names the setting (%zu)", i);
    }
    int rc =
        th_system("'%s/flowhoundd' --db '%s/x.db' --exporter-name '2001:db8::1 core \xc3\xa9 1' "
                  "--check-config >'%s/out' 2>&1",
                  th_builddir(), dir, dir);
    cr_expect_eq(rc, 0, "IPv6, UTF-8 and blanks in the name are fine");
    cr_expect_eq(th_system("grep -qx 'exporter-name = 2001:db8::1 core \xc3\xa9 1' '%s/out'", dir),
                 0, "--check-config shows it");
    th_rmtree(dir);
    free(dir);
}

Test(web, bad_parameters_answer_4xx_with_a_json_error, .timeout = 120)
{
    struct th_daemon d = {0};
    char addr[128], url[8192];
    wt_start(&d, NULL, addr, sizeof(addr));
    wt_store_story(&d);
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *b = &bad_cases[i];
        snprintf(url, sizeof(url), "http://%s%s", addr, b->path);
        struct wt_resp r;
        wt_request(url, b->method, NULL, NULL, &r);
        cr_expect_eq(r.status, b->status, "%s: %ld, want %ld (%s)", b->path, r.status, b->status,
                     r.body);
        json_t *v = json_loads(r.body, 0, NULL);
        cr_expect(v && json_is_string(json_object_get(v, "error")), "%s: JSON error: %s", b->path,
                  r.body);
        if (b->column)
            cr_expect_eq(json_integer_value(json_object_get(v, "column")), b->column, "%s column",
                         b->path);
        json_decref(v);
        wt_resp_free(&r);
    }
    /* A parameter longer than the limit, and a request with a body. */
    char *long_url = malloc(6000);
    int n = snprintf(long_url, 6000, "http://%s/api/v1/flows?filter=", addr);
    memset(long_url + n, 'a', 5000);
    long_url[n + 5000] = '\0';
    struct wt_resp r;
    wt_request(long_url, NULL, NULL, NULL, &r);
    cr_expect_eq(r.status, 414, "long parameter: %ld", r.status);
    wt_resp_free(&r);
    free(long_url);
    snprintf(url, sizeof(url), "http://%s/api/v1/flows", addr);
    const char *const body_hdr[] = {"Content-Length: 5", NULL};
    wt_request(url, "GET", body_hdr, NULL, &r);
    cr_expect(r.status == 413 || r.status == 400, "GET with a body: %ld", r.status);
    wt_resp_free(&r);
    /* Nothing was dropped, and the server still answers. */
    cr_expect_eq(th_db_int(d.db, "SELECT count(*) FROM alerts"), 4);
    json_decref(wt_get_json(addr, "/api/v1/flows?limit=1", 200));
    cr_expect_eq(th_daemon_stop(&d), 0);
    th_daemon_cleanup(&d);
}

/* The Content-Type a static file must be served with, by its name. */
static const char *static_type(const char *path)
{
    const char *dot = strrchr(path, '.');
    return !dot                   ? "?"
           : !strcmp(dot, ".js")  ? "text/javascript; charset=utf-8"
           : !strcmp(dot, ".css") ? "text/css; charset=utf-8"
           : !strcmp(dot, ".svg") ? "image/svg+xml"
           : !strcmp(dot, ".txt") ? "text/plain; charset=utf-8"
                                  : "?";
}

/* One static file: served with its type, and a script sets text only as text. */
static void expect_static_file(const char *addr, const char *path)
{
    char url[512];
    snprintf(url, sizeof(url), "http://%s%s", addr, path);
    struct wt_resp r;
    wt_request(url, NULL, NULL, NULL, &r);
    cr_expect_eq(r.status, 200, "%s", path);
    cr_expect_str_eq(wt_header(&r, "Content-Type"), static_type(path), "%s", path);
    cr_expect_null(strstr(r.body, "innerHTML"), "%s uses innerHTML", path);
    cr_expect_null(strstr(r.body, "insertAdjacentHTML"), "%s", path);
    cr_expect_null(strstr(r.body, "eval("), "%s uses eval", path);
    wt_resp_free(&r);
}

/* Every file the page shell loads (its scripts, the vendored uPlot among them, and style
 * sheets), found in the shell itself so that a new one cannot escape the checks; and the
 * vendored library's licence, which the binary carries. */
static void expect_static_files(const char *addr)
{
    char url[512];
    snprintf(url, sizeof(url), "http://%s/", addr);
    struct wt_resp page;
    wt_request(url, NULL, NULL, NULL, &page);
    int n = 0;
    for (const char *p = strstr(page.body, "\"/static/"); p; p = strstr(p + 1, "\"/static/")) {
        char path[256];
        size_t len = strcspn(p + 1, "\"");
        cr_assert_lt(len, sizeof(path));
        memcpy(path, p + 1, len);
        path[len] = '\0';
        expect_static_file(addr, path);
        n++;
    }
    wt_resp_free(&page);
    cr_expect_geq(n, 18, "the shell loads its scripts and style sheets (%d found)", n);
    expect_static_file(addr, "/static/vendor/uPlot.LICENSE.txt");
}

Test(web, pages_and_security_headers, .timeout = 60)
{
    struct th_daemon d = {0};
    char addr[128], url[512];
    wt_start(&d, NULL, addr, sizeof(addr));
    static const char *const pages[] = {"/", "/flows", "/top", "/port", "/alerts", "/alerts/12"};
    for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
        snprintf(url, sizeof(url), "http://%s%s", addr, pages[i]);
        struct wt_resp r;
        wt_request(url, NULL, NULL, NULL, &r);
        cr_expect_eq(r.status, 200, "%s", pages[i]);
        const char *csp = wt_header(&r, "Content-Security-Policy");
        cr_assert(csp, "%s: no CSP", pages[i]);
        cr_expect(strstr(csp, "script-src 'self'") && !strstr(csp, "unsafe"), "CSP: %s", csp);
        cr_expect(strstr(csp, "default-src 'none'"), "CSP: %s", csp);
        cr_expect_str_eq(wt_header(&r, "X-Content-Type-Options"), "nosniff");
        cr_expect_str_eq(wt_header(&r, "Content-Type"), "text/html; charset=utf-8");
        /* No inline script and no style attributes: every <script has a src. */
        for (const char *p = strstr(r.body, "<script"); p; p = strstr(p + 1, "<script"))
            cr_expect(strncmp(p, "<script src=\"/static/", 21) == 0, "inline script in %s",
                      pages[i]);
        cr_expect_null(strstr(r.body, "style="), "style attribute in %s", pages[i]);
        cr_expect_null(strstr(r.body, "http://"), "no external resource in %s", pages[i]);
        cr_expect_null(strstr(r.body, "https://"), "no external resource in %s", pages[i]);
        wt_resp_free(&r);
    }
    expect_static_files(addr);
    struct wt_resp r;
    snprintf(url, sizeof(url), "http://%s/static/../../etc/passwd", addr);
    wt_request(url, NULL, NULL, NULL, &r);
    cr_expect(r.status == 404 || r.status == 400, "traversal: %ld", r.status);
    cr_expect_null(strstr(r.body, "root:"));
    wt_resp_free(&r);
    /* DNS rebinding: a page on another name must not read the API through the browser. */
    snprintf(url, sizeof(url), "http://%s/api/v1/alerts", addr);
    const char *const evil[] = {"Host: attacker.example", NULL};
    wt_request(url, NULL, evil, NULL, &r);
    cr_expect_eq(r.status, 403, "foreign Host: %ld", r.status);
    wt_resp_free(&r);
    const char *const local[] = {"Host: localhost:1234", NULL};
    wt_request(url, NULL, local, NULL, &r);
    cr_expect_eq(r.status, 200, "localhost Host: %ld", r.status);
    cr_expect_str_eq(wt_header(&r, "Cache-Control"), "no-store");
    wt_resp_free(&r);
    wt_request(url, "HEAD", NULL, NULL, &r);
    cr_expect_eq(r.status, 200);
    cr_expect_eq(r.len, 0);
    wt_resp_free(&r);
    cr_expect_eq(th_daemon_stop(&d), 0);
    th_daemon_cleanup(&d);
}

Test(web, off_loopback_needs_credentials)
{
    char *dir = th_tmpdir();
    /* Validation refuses before binding anything (192.0.2.1 is not even local). */
    int rc = th_system("'%s/flowhoundd' --db '%s/x.db' --web 192.0.2.1:8080 --check-config "
                       ">'%s/out' 2>&1",
                       th_builddir(), dir, dir);
    cr_expect_eq(rc, 2, "refused: exit 2, got %d", rc);
    cr_expect_eq(th_system("grep -q 'web-user' '%s/out'", dir), 0, "the message names the fix");
    rc = th_system("'%s/flowhoundd' --db '%s/x.db' --web '[::]:0' --web-token s3cret "
                   "--check-config >'%s/out' 2>&1",
                   th_builddir(), dir, dir);
    cr_expect_eq(rc, 0, "with a token it is accepted");
    cr_expect_neq(th_system("grep -q s3cret '%s/out'", dir), 0, "the secret is not printed");
    rc = th_system("'%s/flowhoundd' --db '%s/x.db' --web-user admin --check-config >/dev/null "
                   "2>&1",
                   th_builddir(), dir);
    cr_expect_eq(rc, 2, "a user without a password is refused");
    th_rmtree(dir);
    free(dir);
}

Test(web, credentials_are_required_when_configured, .timeout = 60)
{
    struct th_daemon d = {0};
    char addr[128], url[512];
    const char *const extra[] = {"--web-token",    "t0ken", "--web-user", "admin",
                                 "--web-password", "pa:ss", NULL};
    wt_start(&d, extra, addr, sizeof(addr));
    snprintf(url, sizeof(url), "http://%s/api/v1/alerts", addr);
    struct wt_resp r;
    wt_request(url, NULL, NULL, NULL, &r);
    cr_expect_eq(r.status, 401);
    cr_expect(wt_header(&r, "WWW-Authenticate"), "asks for basic credentials");
    wt_resp_free(&r);
    const char *const bearer[] = {"Authorization: Bearer t0ken", NULL};
    wt_request(url, NULL, bearer, NULL, &r);
    cr_expect_eq(r.status, 200, "bearer token");
    wt_resp_free(&r);
    const char *const wrong[] = {"Authorization: Bearer t0ke", NULL};
    wt_request(url, NULL, wrong, NULL, &r);
    cr_expect_eq(r.status, 401, "wrong token");
    wt_resp_free(&r);
    wt_request(url, NULL, NULL, "admin:pa:ss", &r);
    cr_expect_eq(r.status, 200, "basic");
    wt_resp_free(&r);
    wt_request(url, NULL, NULL, "admin:pass", &r);
    cr_expect_eq(r.status, 401, "wrong password");
    wt_resp_free(&r);
    snprintf(url, sizeof(url), "http://%s/", addr);
    wt_request(url, NULL, NULL, NULL, &r);
    cr_expect_eq(r.status, 401, "pages too");
    wt_resp_free(&r);
    cr_expect_eq(th_daemon_stop(&d), 0);
    th_daemon_cleanup(&d);
}

Test(web, query_time_limit_and_row_limit, .timeout = 120)
{
    struct th_daemon d = {0};
    char addr[128];
    const char *const extra[] = {"--web-query-timeout", "0.05", "--web-max-rows", "50", NULL};
    wt_start(&d, extra, addr, sizeof(addr));
    wt_store_story(&d);
    /* 600k more rows in the story's partition: a full scan takes far more than 50 ms. */
    wt_add_rows(d.db, 600000);
    json_t *v = wt_get_json(addr, "/api/v1/stats/top?by=src_port&n=5", 503);
    const char *msg = json_string_value(json_object_get(v, "error"));
    cr_expect(msg && strstr(msg, "took too long"), "a clear message: %s", msg ? msg : "none");
    json_decref(v);
    json_decref(wt_get_json(addr, "/api/v1/flows?limit=51", 400));
    /* the server still answers what is cheap (the open partition holds 600k unindexed rows,
     * so any flows listing over it scans them: that is what the limit is for) */
    json_decref(wt_get_json(addr, "/api/v1/alerts", 200));
    cr_expect_eq(th_daemon_stop(&d), 0);
    th_daemon_cleanup(&d);
}

Test(web, https_with_configured_certificate, .timeout = 60)
{
    if (!th_have("openssl"))
        cr_skip_test("openssl (to make a test certificate) is not installed");
    char *dir = th_tmpdir();
    cr_assert_eq(th_system("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                           "-subj /CN=localhost -days 1 -keyout '%s/key.pem' -out '%s/cert.pem' "
                           ">/dev/null 2>&1",
                           dir, dir),
                 0);
    char cert[600], key[600];
    snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
    snprintf(key, sizeof(key), "%s/key.pem", dir);
    const char *const extra[] = {"--web-cert", cert, "--web-key", key, NULL};
    struct th_daemon d = {0};
    char addr[128], url[512];
    wt_start(&d, extra, addr, sizeof(addr));
    snprintf(url, sizeof(url), "https://%s/api/v1/stats/summary", addr);
    struct wt_resp r;
    wt_request(url, NULL, NULL, NULL, &r);
    cr_expect_eq(r.status, 200, "HTTPS answers");
    cr_expect(strstr(r.body, "\"flows\""), "%s", r.body);
    wt_resp_free(&r);
    cr_expect_eq(th_daemon_stop(&d), 0);
    th_daemon_cleanup(&d);
    th_rmtree(dir);
    free(dir);
}

Test(web, ipv6_loopback, .timeout = 60)
{
    struct th_daemon d = {0};
    char addr[128];
    const char *const extra[] = {"--web", "[::1]:0", NULL};
    wt_start(&d, extra, addr, sizeof(addr));
    cr_assert(!strncmp(addr, "[::1]:", 6), "bound address %s", addr);
    cr_expect_gt(atoi(addr + 6), 0, "the real port, not 0");
    json_t *v = wt_get_json(addr, "/api/v1/stats/summary", 200);
    cr_expect_eq(jint(v, "flows"), 0);
    json_decref(v);
    cr_expect_eq(th_daemon_stop(&d), 0);
    th_daemon_cleanup(&d);
}

static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
    (void)p;
    (void)ctx;
    return size * n;
}

/* Regression: answering from libmicrohttpd's first call closed every connection, so each of
 * a page's requests paid a new TCP (and TLS) handshake. */
Test(web, connections_are_kept_alive, .timeout = 60)
{
    struct th_daemon d = {0};
    char addr[128], url[512];
    wt_start(&d, NULL, addr, sizeof(addr));
    CURL *c = curl_easy_init();
    cr_assert(c);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    static const char *const paths[] = {"/", "/static/app.js", "/api/v1/stats/summary"};
    for (int i = 0; i < 3; i++) {
        snprintf(url, sizeof(url), "http://%s%s", addr, paths[i]);
        curl_easy_setopt(c, CURLOPT_URL, url);
        cr_assert_eq(curl_easy_perform(c), CURLE_OK);
        long status = 0, connects = -1;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &connects);
        cr_expect_eq(status, 200, "%s", paths[i]);
        cr_expect_eq(connects, i == 0 ? 1 : 0, "%s: %ld new connections", paths[i], connects);
    }
    /* While the connection is open, its thread (which queried the store) runs at nice 10 and
     * the daemon's main thread (the receiver) at 0. */
    cr_expect_eq(th_system("for f in /proc/%d/task/*/stat; do sed 's/.*) //' $f | cut -d' ' -f17; "
                           "done | grep -qx 10",
                           (int)d.pid),
                 0, "a web thread at nice 10");
    cr_expect_eq(
        th_system("sed 's/.*) //' /proc/%d/stat | cut -d' ' -f17 | grep -qx 0", (int)d.pid), 0,
        "the main thread at nice 0");
    curl_easy_cleanup(c);
    cr_expect_eq(th_daemon_stop(&d), 0);
    th_daemon_cleanup(&d);
}

Test(web, start_failures_are_clear, .timeout = 60)
{
    struct th_daemon d = {0};
    char addr[128];
    wt_start(&d, NULL, addr, sizeof(addr));
    /* The same web port again: the second daemon refuses to start and says why. */
    int rc = th_system("'%s/flowhoundd' --db '%s/b.db' --listen 127.0.0.1:0 --web %s "
                       ">'%s/b.log' 2>&1",
                       th_builddir(), d.dir, addr, d.dir);
    cr_expect_eq(rc, 1, "port in use: exit 1, got %d", rc);
    cr_expect_eq(th_system("grep -q 'cannot listen on %s' '%s/b.log'", addr, d.dir), 0);
    rc = th_system("'%s/flowhoundd' --db '%s/c.db' --listen 127.0.0.1:0 --web 127.0.0.1:0 "
                   "--web-cert /nonexistent/cert.pem --web-key /nonexistent/key.pem "
                   ">'%s/c.log' 2>&1",
                   th_builddir(), d.dir, d.dir);
    cr_expect_eq(rc, 1, "missing certificate: exit 1, got %d", rc);
    cr_expect_eq(th_system("grep -q '/nonexistent/cert.pem' '%s/c.log'", d.dir), 0);
    cr_expect_eq(th_daemon_stop(&d), 0);
    th_daemon_cleanup(&d);
}

/* A request line longer than libmicrohttpd takes: it answers 414 and logs an error. */
static char too_long[70000];
static uint16_t web_port;

/* Requests reset before their answer could be read: libmicrohttpd answers 414 and closes
 * while the rest of the request is still unread in its socket, so the kernel may send a reset
 * that overtakes the answer (seen once in 80 under CI's load). Not a failure of ours. */
static _Atomic int resets;

/* Sends 10 such requests, one connection each; returns how many were answered 414. */
static void *send_too_long(void *arg)
{
    (void)arg;
    intptr_t answered = 0;
    for (int i = 0; i < 10; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(web_port)};
        inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
        char got[16];
        ssize_t len = -1;
        if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
            send(fd, too_long, strlen(too_long), MSG_NOSIGNAL) > 0)
            len = recv(fd, got, 12, MSG_WAITALL);
        if (len == 12 && !memcmp(got, "HTTP/1.1 414", 12))
            answered++;
        else if (len < 0 && errno == ECONNRESET)
            resets++;
        if (fd >= 0)
            close(fd);
    }
    return (void *)answered;
}

/* Regression (issue 12, found by ThreadSanitizer): libmicrohttpd's connection threads log
 * through one rate limit, which they updated at once without a lock. Under --enable-tsan
 * (make check-threaded) the race is reported; in any build, every such request is answered,
 * logged, and the daemon carries on. */
Test(web, errors_logged_from_many_connections_at_once, .timeout = 120)
{
    struct th_daemon d = {0};
    char addr[128];
    const char *const extra[] = {"--log-level", "debug", NULL};
    wt_start(&d, extra, addr, sizeof(addr));
    web_port = (uint16_t)atoi(strrchr(addr, ':') + 1);
    size_t n = (size_t)snprintf(too_long, sizeof(too_long), "GET /");
    memset(too_long + n, 'a', sizeof(too_long) - n - 64);
    snprintf(too_long + sizeof(too_long) - 64, 64, " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    pthread_t t[8];
    for (int i = 0; i < 8; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, send_too_long, NULL), 0);
    intptr_t answered = 0;
    for (int i = 0; i < 8; i++) {
        void *r;
        pthread_join(t[i], &r);
        answered += (intptr_t)r;
    }
    cr_expect_eq(answered + resets, 80, "every request answered 414 (%ld) or reset (%d)",
                 (long)answered, resets);
    cr_expect_geq(answered, 72, "most answers read before a reset: %ld", (long)answered);
    cr_expect_eq(th_system("grep -q 'web: Error processing request' '%s'", d.log), 0,
                 "libmicrohttpd's errors are logged");
    json_t *v = wt_get_json(addr, "/api/v1/stats/summary", 200);
    json_decref(v);
    cr_expect_eq(th_daemon_stop(&d), 0);
    th_daemon_cleanup(&d);
}

static size_t keep_body(char *p, size_t size, size_t n, void *ctx)
{
    struct wt_resp *r = ctx;
    size_t add = size * n;
    if (r->len + add < 65536) {
        memcpy(r->body + r->len, p, add);
        r->len += add;
        r->body[r->len] = '\0';
    }
    return add;
}

/* Random parameters (any bytes, invalid UTF-8, NULs, huge numbers) on every endpoint: the
 * answer is always JSON with a status below 500, and the daemon survives (sanitizers on). */
Test(web, random_parameters_never_answer_5xx, .timeout = 120)
{
    /* Each endpoint with its parameters (and one it does not know). */
    static const char *const eps[][8] = {
        {"flows", "filter", "from", "to", "limit", "offset", "order", "x"},
        {"stats/top", "by", "order", "n", "filter", "from", "to", "x"},
        {"stats/timeline", "buckets", "from", "to", "filter", "from", "to", "x"},
        {"connections", "client", "port", "server", "from", "to", "limit", "x"},
        {"alerts", "state", "kind", "client", "limit", "offset", "state", "x"},
        {"alerts/1", "x", "x", "x", "x", "x", "x", "x"},
    };
    static const char *const seeds[] = {"-1",         "0",
                                        "1",          "99999999999999999999",
                                        "2026-11-23", "2026-13-45T99:99:99Z",
                                        "-bytes",     "src_addr",
                                        "::1",        "10.1.1.50",
                                        "open",       "1e3",
                                        " ",          ""};
    struct th_daemon d = {0};
    char addr[128];
    wt_start(&d, NULL, addr, sizeof(addr));
    wt_store_story(&d);
    CURL *c = curl_easy_init();
    cr_assert(c);
    struct wt_resp r = {0};
    r.body = malloc(65536);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    srand(7);
    int ok = 0, refused = 0;
    for (int i = 0; i < 400; i++) {
        char url[4096];
        const char *const *ep = eps[rand() % 6];
        int n = snprintf(url, sizeof(url), "http://%s/api/v1/%s?", addr, ep[0]);
        for (int p = rand() % 4; p >= 0 && n < 3000; p--) {
            char value[64];
            size_t vl;
            if (rand() % 2) {
                vl = (size_t)snprintf(value, sizeof(value), "%s", seeds[rand() % 14]);
            } else {
                vl = (size_t)(rand() % 40);
                for (size_t k = 0; k < vl; k++)
                    value[k] = (char)(rand() % 256);
            }
            char *esc = curl_easy_escape(c, value, (int)vl);
            /* The unknown name rarely, so that most requests reach the values' checks. */
            const char *name = ep[1 + rand() % 7];
            if (!strcmp(name, "x") && rand() % 4)
                name = ep[1];
            n += snprintf(url + n, sizeof(url) - (size_t)n, "%s=%s&", name, esc);
            curl_free(esc);
        }
        r.len = 0;
        r.body[0] = '\0';
        curl_easy_setopt(c, CURLOPT_URL, url);
        cr_assert_eq(curl_easy_perform(c), CURLE_OK, "%s", url);
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        cr_expect(status == 200 || (status >= 400 && status < 500), "%s: %ld", url, status);
        ok += status == 200;
        refused += status >= 400 && status < 500;
        json_t *v = json_loads(r.body, 0, NULL);
        cr_expect(json_is_object(v), "%s: not a JSON object: %s", url, r.body);
        json_decref(v);
    }
    curl_easy_cleanup(c);
    free(r.body);
    cr_log_info("random parameters: %d answered, %d refused", ok, refused);
    cr_expect_gt(ok, 0, "some random requests are valid (%d)", ok);
    cr_expect_gt(refused, 100, "many are refused (%d)", refused);
    cr_expect_eq(th_daemon_stop(&d), 0, "the daemon exits cleanly (no sanitizer report)");
    th_daemon_cleanup(&d);
}
