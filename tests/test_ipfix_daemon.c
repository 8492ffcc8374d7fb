/* test_ipfix_daemon.c - v9/IPFIX through the real flowhoundd: template scoping between two
 * exporters, template persistence across a restart, and softflowd's v9 and IPFIX exports of
 * the scenario pcaps decoding to the same flows as its v5 export. */
#include "config.h"

#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "tests/helpers.h"

static void put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v >> 16), put16(p + 2, v & 0xffff);
}

/* An IPFIX message: template 256 with `nf` (id, len) fields, then one data record `rec`. */
static size_t ipfix_msg(uint8_t *b, uint32_t seq, const uint16_t (*fields)[2], unsigned nf,
                        const uint8_t *rec, size_t rec_len)
{
    size_t n = 16;
    put16(b + n, 2), put16(b + n + 2, (unsigned)(8 + 4 * nf));
    put16(b + n + 4, 256), put16(b + n + 6, nf);
    n += 8;
    for (unsigned i = 0; i < nf; i++, n += 4)
        put16(b + n, fields[i][0]), put16(b + n + 2, fields[i][1]);
    put16(b + n, 256), put16(b + n + 2, (unsigned)(4 + rec_len));
    memcpy(b + n + 4, rec, rec_len);
    n += 4 + rec_len;
    put16(b, 10), put16(b + 2, (unsigned)n);
    put32(b + 4, 1700000000), put32(b + 8, seq), put32(b + 12, 0);
    return n;
}

Test(ipfix_daemon, two_exporters_same_template_id_different_layouts, .timeout = 60)
{
    struct th_daemon d = {0};
    th_daemon_start(&d, NULL);
    /* A: 256 = src v4, dst v4, sport, dport, proto. B: 256 = dport, sport, proto, dst, src
     * (same length, other order): mixing them up would swap everything. */
    static const uint16_t fa[][2] = {{8, 4}, {12, 4}, {7, 2}, {11, 2}, {4, 1}};
    static const uint16_t fb[][2] = {{11, 2}, {7, 2}, {4, 1}, {12, 4}, {8, 4}};
    const uint8_t ra[] = {10, 0, 0, 1, 10, 0, 0, 2, 0x04, 0x00, 0x00, 80, 6};
    const uint8_t rb[] = {0x01, 0xbb, 0x30, 0x39, 17, 10, 9, 9, 2, 10, 9, 9, 1};
    uint8_t buf[512];
    for (uint32_t i = 0; i < 3; i++) {
        cr_assert(th_udp_send(d.port, "127.0.5.1", buf, ipfix_msg(buf, i, fa, 5, ra, 13)));
        cr_assert(th_udp_send(d.port, "127.0.5.2", buf, ipfix_msg(buf, i, fb, 5, rb, 13)));
    }
    cr_assert_eq(th_daemon_stop(&d), 0);
    cr_expect_eq(th_db_int(d.db, "SELECT count(*) FROM flows WHERE exporter = '127.0.5.1' AND "
                                 "src_addr = '10.0.0.1' AND dst_addr = '10.0.0.2' AND "
                                 "src_port = 1024 AND dst_port = 80 AND proto = 6"),
                 3);
    cr_expect_eq(th_db_int(d.db, "SELECT count(*) FROM flows WHERE exporter = '127.0.5.2' AND "
                                 "src_addr = '10.9.9.1' AND dst_addr = '10.9.9.2' AND "
                                 "src_port = 12345 AND dst_port = 443 AND proto = 17"),
                 3);
    cr_expect_eq(th_db_int(d.db, "SELECT count(*) FROM flows"), 6);
    cr_expect_eq(th_db_int(d.db, "SELECT count(*) FROM templates"), 2, "one template each");
    th_daemon_cleanup(&d);
}

/* Sends datagram `i` of a corpus pcap from `src`. */
static void send_frame(uint16_t port, const char *src, const char *pcap, size_t i)
{
    size_t n;
    struct th_datagram *dg = th_read_pcap(th_shared_path(pcap), &n);
    cr_assert(dg && i < n);
    cr_assert(th_udp_send(port, src, dg[i].data, dg[i].len));
    th_free_datagrams(dg, n);
}

Test(ipfix_daemon, templates_survive_a_restart, .timeout = 90)
{
    const char *pcap = "corpus/v9_cisco_asa_nsel.pcap"; /* frame 1 templates, 2 data */
    struct th_daemon d = {0};
    th_daemon_start(&d, NULL);
    send_frame(d.port, "127.0.6.1", pcap, 0);
    cr_assert_eq(th_daemon_stop(&d), 0);
    cr_expect_eq(th_db_int(d.db, "SELECT count(*) FROM templates WHERE exporter = '127.0.6.1'"), 13,
                 "the 13 NSEL templates are stored");

    /* A new process on the same store decodes data before any template refresh. */
    struct th_daemon d2 = {0};
    th_daemon_start_db(&d2, d.db, NULL);
    send_frame(d2.port, "127.0.6.1", pcap, 1);
    cr_assert_eq(th_daemon_stop(&d2), 0);
    cr_expect_eq(th_db_int(d.db, "SELECT count(*) FROM flows WHERE exporter = '127.0.6.1'"), 14);
    cr_expect_eq(th_db_int(d.db, "SELECT count(*) FROM flows WHERE src_addr = '192.168.14.1' "
                                 "AND dst_addr = '2.2.2.11' AND dst_port = 17549 AND "
                                 "fw_event = 2 AND first_ms = 1444384067569"),
                 1);
    cr_expect_eq(th_db_int(d.db, "SELECT records_rejected FROM exporter_domains"
                                 " WHERE addr = '127.0.6.1'"),
                 0);

    /* Control: the same data to a fresh store is counted as undecodable, not decoded. */
    struct th_daemon d3 = {0};
    th_daemon_start(&d3, NULL);
    send_frame(d3.port, "127.0.6.1", pcap, 1);
    cr_assert_eq(th_daemon_stop(&d3), 0);
    cr_expect_eq(th_db_int(d3.db, "SELECT count(*) FROM flows"), 0);
    cr_expect_gt(th_db_int(d3.db, "SELECT records_rejected FROM exporter_domains"), 0);
    cr_expect_gt(th_db_int(d3.db, "SELECT count FROM exporter_rejects"
                                  " WHERE reason = 'template_missing'"),
                 0);
    th_daemon_cleanup(&d3);
    th_daemon_cleanup(&d2);
    th_daemon_cleanup(&d);
}

static void db_exec(const char *db, const char *sql)
{
    sqlite3 *h;
    cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
    char *err = NULL;
    cr_assert_eq(sqlite3_exec(h, sql, NULL, NULL, &err), SQLITE_OK, "%s: %s", sql, err);
    sqlite3_close(h);
}

Test(ipfix_daemon, withdrawals_persist_and_bad_stored_templates_are_skipped, .timeout = 90)
{
    static const uint16_t fa[][2] = {{8, 4}, {12, 4}, {7, 2}, {11, 2}, {4, 1}};
    const uint8_t ra[] = {10, 0, 0, 1, 10, 0, 0, 2, 0x04, 0x00, 0x00, 80, 6};
    uint8_t buf[512];
    struct th_daemon d = {0};
    th_daemon_start(&d, NULL);
    cr_assert(th_udp_send(d.port, "127.0.8.1", buf, ipfix_msg(buf, 0, fa, 5, ra, 13)));
    cr_assert(th_udp_send(d.port, "127.0.8.2", buf, ipfix_msg(buf, 0, fa, 5, ra, 13)));
    /* 127.0.8.2 then withdraws template 256 (set 2: id 256, field count 0) */
    uint8_t wd[24] = {0, 10, 0, 24, 0x65, 0x53, 0xf1, 0x00, 0, 0, 0, 1,
                      0, 0,  0, 0,  0,    2,    0,    8,    1, 0, 0, 0};
    cr_assert(th_udp_send(d.port, "127.0.8.2", wd, sizeof(wd)));
    cr_assert_eq(th_daemon_stop(&d), 0);
    cr_expect_eq(th_db_int(d.db, "SELECT count(*) FROM templates WHERE exporter = '127.0.8.1'"), 1);
    cr_expect_eq(th_db_int(d.db, "SELECT count(*) FROM templates WHERE exporter = '127.0.8.2'"), 0,
                 "the withdrawal is persisted");
    /* Hostile or damaged rows: junk bytes, a raw record that says another id, an unknown
     * version, a field count far past the blob. None may crash or be used. */
    db_exec(d.db, "INSERT INTO templates VALUES ('127.0.8.3', 0, 10, 256, 0, x'00', 0);"
                  "INSERT INTO templates VALUES ('127.0.8.3', 0, 10, 300, 0, "
                  "x'0101000100080004', 0);"
                  "INSERT INTO templates VALUES ('127.0.8.3', 0, 7, 256, 0, "
                  "x'0100000100080004', 0);"
                  "INSERT INTO templates VALUES ('not an address', 0, 10, 256, 0, "
                  "x'0100000100080004', 0);"
                  "INSERT INTO templates VALUES ('127.0.8.4', 0, 10, 256, 0, "
                  "x'0100ffff00080004', 0);"
                  "INSERT INTO template_domains VALUES ('127.0.8.4', 0, 10, NULL, 0, x'01');");
    struct th_daemon d2 = {0};
    th_daemon_start_db(&d2, d.db, NULL);
    for (int i = 1; i <= 4; i++) {
        char src[32];
        snprintf(src, sizeof(src), "127.0.8.%d", i);
        /* data only: set 256 with one record */
        uint8_t m[16 + 4 + 13] = {0, 10, 0, 33, 0x65, 0x53, 0xf1, 0x00, 0, 0,
                                  0, 1,  0, 0,  0,    0,    1,    0,    0, 17};
        memcpy(m + 20, ra, 13);
        cr_assert(th_udp_send(d2.port, src, m, sizeof(m)));
    }
    cr_assert_eq(th_daemon_stop(&d2), 0);
    cr_expect_eq(th_db_int(d.db, "SELECT count(*) FROM flows WHERE exporter = '127.0.8.1'"), 2,
                 "the good stored template still decodes");
    cr_expect_eq(th_db_int(d.db, "SELECT count(*) FROM flows WHERE exporter <> '127.0.8.1'"), 1,
                 "127.0.8.2's flow from before the withdrawal only");
    cr_expect_eq(th_db_int(d.db, "SELECT count(*) FROM exporter_rejects WHERE reason = "
                                 "'template_missing' AND addr IN ('127.0.8.2', '127.0.8.3',"
                                 " '127.0.8.4')"),
                 3);
    th_daemon_cleanup(&d2);
    th_daemon_cleanup(&d);
}

Test(ipfix_daemon, uptime_times_survive_a_restart, .timeout = 90)
{
    /* softflowd IPFIX: frame 1 has templates, the options record with
     * systemInitTimeMilliseconds and data; frames 2-3 data with uptime-relative times. */
    const char *pcap = "corpus/ipfix_softflowd.pcap";
    struct th_daemon d = {0};
    th_daemon_start(&d, NULL);
    send_frame(d.port, "127.0.7.1", pcap, 0);
    cr_assert_eq(th_daemon_stop(&d), 0);
    cr_expect_eq(th_db_int(d.db, "SELECT sys_init_ms FROM template_domains"
                                 " WHERE exporter = '127.0.7.1'"),
                 1431516013506LL, "systemInitTimeMilliseconds stored");
    struct th_daemon d2 = {0};
    th_daemon_start_db(&d2, d.db, NULL);
    send_frame(d2.port, "127.0.7.1", pcap, 1);
    send_frame(d2.port, "127.0.7.1", pcap, 2);
    cr_assert_eq(th_daemon_stop(&d2), 0);
    cr_expect_eq(th_db_int(d.db, "SELECT count(*) FROM flows"), 12);
    cr_expect_eq(th_db_int(d.db, "SELECT count(*) FROM flows WHERE src_port = 38254 AND "
                                 "first_ms = 1431516014862 AND last_ms = 1431516014862"),
                 1, "frame 2 after the restart: absolute times from the stored boot time");
    cr_expect_eq(th_db_int(d.db, "SELECT count(*) FROM flows WHERE src_port = 5353 AND "
                                 "first_ms = 1431516026247 AND last_ms = 1431516026247"),
                 1);
    if (th_have("python3"))
        cr_expect_eq(th_system("python3 %s --db %s %s >&2",
                               th_shared_path("tools/check/check_corpus.py"), d.db,
                               th_shared_path("corpus/ipfix_softflowd.expected.json")),
                     0);
    th_daemon_cleanup(&d2);
    th_daemon_cleanup(&d);
}

static const char *const scenarios[] = {
    "active_timeout_split",
    "busy_server",
    "idle_never_reused",
    "port_scan_rst",
    "reuse_after_fin",
    "reuse_after_rst",
    "story",
    "story_exhaustion",
    "syn_retrans_success",
};
#define N_SCEN (sizeof(scenarios) / sizeof(scenarios[0]))

/* Rows of exporter base `a` with no row of base `b` for the same flow (5-tuple, flags,
 * counts; times within 1 s). */
static int64_t unmatched(const char *db, unsigned a, unsigned b)
{
    char sql[1024];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM flows x WHERE x.exporter LIKE '127.0.%u.%%' AND NOT EXISTS ("
             "SELECT 1 FROM flows y WHERE y.exporter LIKE '127.0.%u.%%' AND "
             "y.src_addr = x.src_addr AND y.dst_addr = x.dst_addr AND "
             "y.src_port = x.src_port AND y.dst_port = x.dst_port AND y.proto = x.proto AND "
             "y.tcp_flags = x.tcp_flags AND y.packets = x.packets AND y.bytes = x.bytes AND "
             "abs(y.first_ms - x.first_ms) <= 1000 AND abs(y.last_ms - x.last_ms) <= 1000)",
             a, b);
    return th_db_int(db, sql);
}

Test(ipfix_daemon, softflowd_v9_and_ipfix_match_its_v5_export, .timeout = 180)
{
    static const char *const versions[] = {"v5", "v9", "ipfix"};
    struct th_daemon d = {0};
    th_daemon_start(&d, NULL);
    for (size_t s = 0; s < N_SCEN; s++)
        for (unsigned v = 0; v < 3; v++) {
            char rel[256];
            snprintf(rel, sizeof(rel), "scenarios/%s/outside.%s.pcap", scenarios[s], versions[v]);
            cr_assert_gt(th_replay(th_shared_path(rel), d.port, 1000, 100 + (unsigned)s * 3 + v),
                         0);
        }
    cr_assert_eq(th_daemon_stop(&d), 0);
    for (size_t s = 0; s < N_SCEN; s++) {
        unsigned b5 = 100 + (unsigned)s * 3;
        char sql[256];
        int64_t n[3];
        for (unsigned v = 0; v < 3; v++) {
            snprintf(sql, sizeof(sql),
                     "SELECT count(*) FROM flows WHERE exporter LIKE '127.0.%u.%%'", b5 + v);
            n[v] = th_db_int(d.db, sql);
        }
        cr_expect_gt(n[0], 0, "%s: v5 flows stored", scenarios[s]);
        for (unsigned v = 1; v < 3; v++) {
            cr_expect_eq(n[v], n[0], "%s: %s stored %lld flows, v5 %lld", scenarios[s], versions[v],
                         (long long)n[v], (long long)n[0]);
            cr_expect_eq(unmatched(d.db, b5 + v, b5), 0, "%s: %s flows without a v5 twin",
                         scenarios[s], versions[v]);
            cr_expect_eq(unmatched(d.db, b5, b5 + v), 0, "%s: v5 flows without a %s twin",
                         scenarios[s], versions[v]);
        }
    }
    cr_expect_eq(th_db_int(d.db, "SELECT coalesce(sum(records_rejected), 0) FROM "
                                 "exporter_domains"),
                 0);
    /* Everything softflowd sent arrived: no sequence gaps in any version (IPFIX needs the
     * softflowd numbering convention to be recognised), unless the kernel dropped some. */
    if (th_db_int(d.db, "SELECT sum(kernel_drops) FROM exporters") == 0)
        cr_expect_eq(th_db_int(d.db, "SELECT sum(seq_lost + seq_duplicates + seq_resets) FROM "
                                     "exporter_domains"),
                     0, "sequence accounting of softflowd v5, v9 and IPFIX");
    th_daemon_cleanup(&d);
}
