/* test_clock.c - numbers at the limits and exporters' clocks through the real flowhoundd
 * (issue 13): a record of 2^64 - 1 packets and bytes ending at 2^64 - 1 ms gives sane
 * totals in the timeline, top-N and summary over HTTP under the sanitizer build, and does not
 * move the pages' default range; the exporters API shows each exporter's clock offset and
 * its flows dated out of bounds; a NUL byte in a filter is refused through the API and the
 * CLI. */
#include "config.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "common/timeutil.h"
#include "tests/helpers.h"
#include "tests/web/webtest.h"

#define YEAR_9999 253402300799999LL /* 9999-12-31T23:59:59.999Z: the latest flow time */

struct rec {
    uint8_t src, dst; /* 10.0.0.N */
    uint16_t sport, dport;
    uint8_t flags;
    uint64_t packets, bytes, start_ms, end_ms;
};

static size_t put(uint8_t *p, uint64_t v, int len)
{
    for (int i = 0; i < len; i++)
        p[i] = (uint8_t)(v >> (8 * (len - 1 - i)));
    return (size_t)len;
}

/* An IPFIX message exported at export_s: template 256 (addresses, ports, proto, flags,
 * 64-bit packets and bytes, flowStart/EndMilliseconds) and the records. */
static size_t ipfix(uint8_t *b, uint32_t export_s, uint32_t seq, const struct rec *r, size_t n)
{
    static const uint16_t fields[][2] = {{8, 4}, {12, 4}, {7, 2}, {11, 2},  {4, 1},
                                         {6, 1}, {2, 8},  {1, 8}, {152, 8}, {153, 8}};
    size_t o = 16;
    o += put(b + o, 2, 2), o += put(b + o, 8 + 4 * 10, 2);
    o += put(b + o, 256, 2), o += put(b + o, 10, 2);
    for (int i = 0; i < 10; i++)
        o += put(b + o, fields[i][0], 2), o += put(b + o, fields[i][1], 2);
    o += put(b + o, 256, 2), o += put(b + o, 4 + 46 * n, 2);
    for (size_t i = 0; i < n; i++) {
        o += put(b + o, 0x0a000000u | r[i].src, 4), o += put(b + o, 0x0a000000u | r[i].dst, 4);
        o += put(b + o, r[i].sport, 2), o += put(b + o, r[i].dport, 2);
        o += put(b + o, 6, 1), o += put(b + o, r[i].flags, 1);
        o += put(b + o, r[i].packets, 8), o += put(b + o, r[i].bytes, 8);
        o += put(b + o, r[i].start_ms, 8), o += put(b + o, r[i].end_ms, 8);
    }
    put(b, 10, 2), put(b + 2, o, 2), put(b + 4, export_s, 4), put(b + 8, seq, 4), put(b + 12, 1, 4);
    return o;
}

static void send_ipfix(uint16_t port, const char *src, int64_t export_ms, const struct rec *r,
                       size_t n)
{
    static uint32_t seq;
    uint8_t buf[1500];
    size_t len = ipfix(buf, (uint32_t)(export_ms / 1000), seq, r, n);
    seq += (uint32_t)n;
    cr_assert(th_udp_send(port, src, buf, len));
}

static json_int_t jint(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    cr_assert(json_is_integer(v), "%s is not an integer", k);
    return json_integer_value(v);
}

static json_t *exporter_of(json_t *exporters, const char *addr)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(exporters, "exporters"), i, e)
    {
        if (!strcmp(json_string_value(json_object_get(e, "exporter")), addr))
            return e;
    }
    cr_assert_fail("exporter %s not in the API's answer", addr);
    return NULL;
}

static const char *const daemon_args[] = {"--analyzer=yes", "--analyzer-connections",
                                          "--commit-interval", "0.2s", NULL};

/* Three records of one connection with 2^64 - 1 packets and bytes each (their sums in the
 * analyzer saturate), one of them too ending at 2^64 - 1 ms (the year 584 million: clamped
 * to the year 9999, dated in the future), and one ordinary flow. */
Test(clock, numbers_at_the_limits_give_sane_totals_and_ranges, .timeout = 60)
{
    struct th_daemon d = {0};
    char addr[128];
    wt_start(&d, daemon_args, addr, sizeof(addr));
    int64_t now = now_ms();
    const uint64_t max = UINT64_MAX;
    const uint64_t t = (uint64_t)now - 3000;
    struct rec r[] = {
        {1, 2, 40000, 80, 0x10, max, max, t, t + 100},
        {1, 2, 40000, 80, 0x10, max, max, t + 200, t + 300},
        {1, 2, 40000, 80, 0x10, max, max, t + 400, t + 500},
        {1, 2, 40001, 80, 0x10, max, max, t, max},
        {3, 2, 40002, 443, 0x1b, 10, 1000, t, t + 600},
    };
    send_ipfix(d.port, "127.0.9.1", now, r, 5);
    cr_assert_eq(th_db_wait(d.db, "SELECT count(*) FROM flows", 5, 5000), 5);

    json_t *v = wt_get_json(addr, "/api/v1/stats/timeline", 200);
    int64_t flows = 0, bytes_max = 0;
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(v, "points"), i, p)
    {
        flows += jint(p, "flows");
        if (jint(p, "bytes") > bytes_max)
            bytes_max = jint(p, "bytes");
    }
    cr_expect_eq(flows, 5, "every flow in the default timeline");
    cr_expect_eq(bytes_max, INT64_MAX, "a bucket's bytes stop at 2^63 - 1");
    cr_expect_leq(jint(v, "to"), now_ms(), "the default range ends no later than now");
    json_decref(v);

    v = wt_get_json(addr, "/api/v1/stats/top?by=dst_port&order=bytes", 200);
    json_t *total = json_object_get(v, "total");
    cr_expect_eq(jint(total, "flows"), 5);
    cr_expect_eq(jint(total, "bytes"), INT64_MAX);
    cr_expect_eq(jint(total, "packets"), INT64_MAX);
    cr_expect_eq(jint(json_array_get(json_object_get(v, "top"), 0), "key"), 80);
    json_decref(v);

    /* What the pages open on: the last day of flows, not of the year 9999. */
    v = wt_get_json(addr, "/api/v1/stats/summary", 200);
    cr_expect_geq(jint(v, "last_ms"), (json_int_t)t + 600, "the newest ordinary flow's end");
    cr_expect_leq(jint(v, "last_ms"), jint(v, "now_ms"), "no later than now");
    json_decref(v);
    v = wt_get_json(addr, "/api/v1/flows?order=-last_ms&limit=1", 200);
    cr_expect_eq(jint(json_array_get(json_object_get(v, "flows"), 0), "last_ms"), YEAR_9999,
                 "stored, its time clamped to the year 9999");
    json_decref(v);

    v = wt_get_json(addr, "/api/v1/exporters", 200);
    json_t *e = exporter_of(v, "127.0.9.1");
    cr_expect_eq(jint(e, "flows"), 5);
    cr_expect_eq(jint(e, "clock_future"), 1);
    cr_expect_eq(jint(e, "clock_past"), 0);
    json_decref(v);

    cr_assert_eq(th_daemon_stop(&d), 0, "the daemon ran clean (sanitizers abort on overflow)");
    cr_expect_eq(th_db_int(d.db, "SELECT c_packets FROM connections WHERE client_port = 40000"),
                 INT64_MAX, "the analyzer's sum of three, stored as the limit");
    th_daemon_cleanup(&d);
}

/* The exporters API: an exporter two hours ahead of us, one three days behind, one right;
 * each one's clock offset (export time minus our receipt) and its flows dated out of
 * bounds (clock-skew 10 min, clock-max-age 1 day by default). */
Test(clock, exporters_show_their_clock_and_flows_out_of_bounds, .timeout = 60)
{
    struct th_daemon d = {0};
    char addr[128];
    wt_start(&d, NULL, addr, sizeof(addr));
    const int64_t hour = 3600000, offsets[] = {2 * hour, -72 * hour, 0};
    const char *const srcs[] = {"127.0.9.2", "127.0.9.3", "127.0.9.4"};
    for (int k = 0; k < 3; k++) {
        int64_t their = now_ms() + offsets[k];
        uint64_t t = (uint64_t)their - 2000;
        struct rec r[2] = {{1, 2, 40000, 80, 0x1b, 5, 500, t, t + 100},
                           {2, 1, 80, 40000, 0x1b, 4, 400, t, t + 100}};
        send_ipfix(d.port, srcs[k], their, r, 2);
    }
    cr_assert_eq(th_db_wait(d.db, "SELECT count(*) FROM flows", 6, 5000), 6);
    cr_assert_eq(th_db_wait(d.db, "SELECT count(clock_offset_ms) FROM exporter_domains", 3, 5000),
                 3);
    json_t *v = wt_get_json(addr, "/api/v1/exporters", 200);
    const int64_t future[] = {2, 0, 0}, past[] = {0, 2, 0};
    for (int k = 0; k < 3; k++) {
        json_t *e = exporter_of(v, srcs[k]);
        int64_t off = jint(e, "clock_offset_ms");
        /* whole seconds in the header, and the time it took to arrive */
        cr_expect(off <= offsets[k] && off > offsets[k] - 3000, "%s: clock offset %lld", srcs[k],
                  (long long)off);
        cr_expect_eq(jint(e, "clock_future"), future[k], "%s", srcs[k]);
        cr_expect_eq(jint(e, "clock_past"), past[k], "%s", srcs[k]);
        json_t *dom = json_array_get(json_object_get(e, "domains"), 0);
        cr_expect_eq(jint(dom, "clock_future"), future[k], "%s: per domain too", srcs[k]);
    }
    json_decref(v);
    cr_assert_eq(th_daemon_stop(&d), 0);
    th_daemon_cleanup(&d);
}

/* `flowhound query` with the filter as printf(1) writes `filter`: its exit status, and its
 * output (stdout and stderr) in out. */
static int query_cli(char *out, size_t outlen, const char *db, const char *filter)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "%s/flowhound query -r %s \"$(printf '%s')\" 2>&1", th_builddir(),
             db, filter);
    FILE *pp = popen(cmd, "r");
    cr_assert(pp, "%s", cmd);
    size_t n = fread(out, 1, outlen - 1, pp);
    out[n] = '\0';
    int st = pclose(pp);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* `%00port 80` ended the filter at the NUL and listed every flow. */
Test(clock, a_nul_byte_in_a_filter_is_refused_by_the_api_and_the_cli, .timeout = 60)
{
    struct th_daemon d = {0};
    char addr[128];
    wt_start(&d, NULL, addr, sizeof(addr));
    uint64_t t = (uint64_t)now_ms() - 2000;
    struct rec r[2] = {{1, 2, 40000, 80, 0x1b, 5, 500, t, t + 100},
                       {1, 2, 40001, 443, 0x1b, 5, 500, t, t + 100}};
    send_ipfix(d.port, "127.0.9.5", now_ms(), r, 2);
    cr_assert_eq(th_db_wait(d.db, "SELECT count(*) FROM flows", 2, 5000), 2);
    static const char *const refused[] = {
        "/api/v1/flows?filter=%00port%2080", "/api/v1/flows?filter=port%2080%00%20or%20any",
        "/api/v1/stats/top?filter=%00port%2080", "/api/v1/stats/timeline?filter=%00",
        "/api/v1/flows?from=%00"};
    for (size_t k = 0; k < sizeof(refused) / sizeof(refused[0]); k++) {
        json_t *v = wt_get_json(addr, refused[k], 400);
        const char *msg = json_string_value(json_object_get(v, "error"));
        cr_expect(msg && strstr(msg, "NUL"), "%s: %s", refused[k], msg ? msg : "no error");
        json_decref(v);
    }
    json_t *v = wt_get_json(addr, "/api/v1/flows?filter=port%2080", 200);
    cr_expect_eq(json_array_size(json_object_get(v, "flows")), 1, "the filter without the NUL");
    json_decref(v);
    char out[4096];
    cr_expect_eq(query_cli(out, sizeof(out), d.db, "\\001port 80"), 2, "%s", out);
    cr_expect(strstr(out, "unexpected byte 0x01"), "%s", out);
    cr_expect_eq(query_cli(out, sizeof(out), d.db, "%%00port 80"), 2, "%s", out);
    cr_expect(strstr(out, "bad filter"), "%s", out);
    cr_expect_eq(query_cli(out, sizeof(out), d.db, "port 80"), 0, "%s", out);
    cr_expect(strstr(out, "1 flow\n"), "%s", out);
    cr_assert_eq(th_daemon_stop(&d), 0);
    th_daemon_cleanup(&d);
}
