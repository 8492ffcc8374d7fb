/* test_conn_rebuild.c - a client port's connections rebuilt on request from a real SQLite
 * store (alerts/conn_rebuild.h): both directions found through the hunt, before and after the
 * partition is indexed; IPv6; the server filter, the time range and several ports; what the
 * analyzer skips (UDP, sampled flows); RFC 5103 biflows; the exporter's name. */
#include "config.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/conn_rebuild.h"
#include "common/addr.h"
#include "storage/store.h"
#include "tests/helpers.h"

#define T0 1795455000000LL
enum { SYN = TH_SYN_, ACK = TH_ACK_, PSH = TH_PSH_, FIN = TH_FIN_ };

#define CL  "2001:db8::50"
#define SV  "2001:db8::10"
#define SV2 "2001:db8::11"

static struct store *st;
static char *dir;
static int64_t recv_ms = T0;

static void add(const char *src, uint16_t sp, const char *dst, uint16_t dp, uint16_t flags,
                uint64_t pkts, int64_t first, int64_t last)
{
    struct flow f;
    memset(&f, 0, sizeof(f));
    addr_from_str("192.0.2.1", &f.exporter);
    f.domain = 7, f.version = 10;
    addr_from_str(src, &f.src_addr);
    addr_from_str(dst, &f.dst_addr);
    f.src_port = sp, f.dst_port = dp, f.proto = 6;
    f.tcp_flags = flags, f.present = FF_TCP_FLAGS;
    f.packets = pkts, f.bytes = pkts * 60;
    f.first_ms = T0 + first, f.last_ms = T0 + last;
    f.received_ms = recv_ms++;
    char err[256];
    cr_assert_eq(store_add_flow(st, &f, err, sizeof(err)), 0, "%s", err);
}

/* The story on port 722 (an unclosed job, then SYNs answered by bare ACKs), a normal job on
 * 723, 722 to another server, and records the analyzer ignores. */
static void story(void)
{
    char err[256];
    dir = th_tmpdir();
    char path[600];
    snprintf(path, sizeof(path), "%s/f.db", dir);
    st = store_open(path, STORE_RW, NULL, err, sizeof(err));
    cr_assert(st, "%s", err);
    cr_assert_eq(store_begin(st, err, sizeof(err)), 0);
    add(CL, 722, SV, 515, SYN | ACK | PSH, 24, 0, 233);
    add(SV, 515, CL, 722, SYN | ACK | PSH, 18, 0, 233);
    add(CL, 722, SV, 515, SYN, 3, 25000, 34000); /* attempts, answered by bare ACKs */
    add(SV, 515, CL, 722, ACK, 3, 25001, 34001);
    add(CL, 723, SV, 515, SYN | ACK | PSH | FIN, 25, 46000, 46300);
    add(SV, 515, CL, 723, SYN | ACK | PSH | FIN, 21, 46000, 46300);
    add(CL, 722, SV2, 9100, SYN, 1, 50000, 50000); /* to another server: no reply, S0 */
    struct flow u; /* UDP from the same endpoint: not a connection */
    memset(&u, 0, sizeof(u));
    addr_from_str("192.0.2.1", &u.exporter);
    u.domain = 7, u.version = 10;
    addr_from_str(CL, &u.src_addr);
    addr_from_str(SV, &u.dst_addr);
    u.src_port = 722, u.dst_port = 53, u.proto = 17, u.packets = 1, u.bytes = 80;
    u.first_ms = u.last_ms = T0 + 60000, u.received_ms = recv_ms++;
    cr_assert_eq(store_add_flow(st, &u, err, sizeof(err)), 0);
    struct flow b = u; /* a sampled TCP flow: flags prove nothing, skipped as live */
    b.proto = 6, b.dst_port = 515, b.tcp_flags = SYN, b.present = FF_TCP_FLAGS | FF_SAMPLING;
    b.sampling_interval = 100, b.first_ms = b.last_ms = T0 + 70000, b.received_ms = recv_ms++;
    cr_assert_eq(store_add_flow(st, &b, err, sizeof(err)), 0);
    /* an RFC 5103 biflow: both directions in one record */
    struct flow bi = b;
    bi.src_port = 724, bi.present = FF_TCP_FLAGS | FF_REVERSE | FF_REV_FLAGS;
    bi.tcp_flags = SYN | ACK | PSH | FIN, bi.rev_tcp_flags = SYN | ACK | PSH | FIN;
    bi.packets = 10, bi.bytes = 900, bi.rev_packets = 8, bi.rev_bytes = 700;
    bi.first_ms = T0 + 80000, bi.last_ms = T0 + 80500, bi.received_ms = recv_ms++;
    cr_assert_eq(store_add_flow(st, &bi, err, sizeof(err)), 0);
    cr_assert_eq(store_commit(st, err, sizeof(err)), 0);
}

static void done(void)
{
    store_close(st);
    th_rmtree(dir);
    free(dir);
}

static void rebuild(struct conn_rebuild_result *res, const uint16_t *ports, size_t n,
                    const char *server, int64_t from, int64_t to)
{
    struct conn_rebuild_req q = {.sport = -1, .from_ms = from, .to_ms = to};
    cr_assert(addr_from_str(CL, &q.client));
    for (size_t i = 0; i < n; i++)
        q.cports[q.n_cports++] = ports[i];
    if (server)
        q.has_server = addr_from_str(server, &q.server);
    char err[256];
    struct query *qy = query_open(store_path(st), err, sizeof(err));
    cr_assert(qy, "%s", err);
    cr_assert_eq(conn_rebuild(qy, &q, res, err, sizeof(err)), 0, "%s", err);
    query_close(qy);
}

static void expect_row(const struct conn_row *r, uint16_t cport, const char *server, int64_t start,
                       enum conn_state state)
{
    char buf[FH_ADDR_STRLEN];
    cr_expect_eq(r->ci.cport, cport);
    cr_expect_str_eq(addr_to_str(&r->ci.server, buf, sizeof(buf)), server);
    cr_expect_eq(r->ci.start_ms, T0 + start);
    cr_expect_eq(r->ci.state, state, "%s, want %s", conn_state_name(r->ci.state),
                 conn_state_name(state));
    cr_expect_str_eq(r->exporter, "192.0.2.1/7");
}

static void expect_port_722(void)
{
    struct conn_rebuild_result res;
    uint16_t p722 = 722;
    rebuild(&res, &p722, 1, NULL, INT64_MIN, INT64_MAX);
    cr_assert_eq(res.n, 3);
    expect_row(&res.rows[0], 722, SV, 0, CS_S1);
    cr_expect_eq(res.rows[0].ci.c.packets, 24);
    cr_expect_eq(res.rows[0].ci.s.packets, 18);
    expect_row(&res.rows[1], 722, SV, 25000, CS_SBA);
    expect_row(&res.rows[2], 722, SV2, 50000, CS_S0);
    cr_expect_eq(res.rows[2].ci.s.records, 0, "no reply");
    cr_expect(!res.truncated);
    json_t *o = conn_row_json(&res.rows[2], 3);
    cr_expect_eq(json_integer_value(json_object_get(o, "id")), 3);
    cr_expect_str_eq(json_string_value(json_object_get(o, "client_addr")), CL);
    cr_expect_str_eq(json_string_value(json_object_get(o, "state")), "S0");
    cr_expect(json_is_null(json_object_get(o, "s_packets")), "a direction not seen is null");
    cr_expect(json_is_null(json_object_get(o, "end_reason")));
    json_decref(o);
    conn_rebuild_free(&res);
}

Test(rebuild, a_client_port_from_the_stored_flows, .init = story, .fini = done)
{
    expect_port_722(); /* the partition being filled: scanned */
    char err[256], **names;
    size_t n;
    cr_assert_eq(store_partitions_for(st, INT64_MIN, INT64_MAX, &names, &n, err, sizeof(err)), 0);
    cr_assert_gt(n, 0);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(store_index_partition(st, names[i], err, sizeof(err)), 0, "%s", err);
        free(names[i]);
    }
    free(names);
    expect_port_722(); /* indexed: replies found through the peers' keys */
}

Test(rebuild, server_filter_time_range_and_ports, .init = story, .fini = done)
{
    struct conn_rebuild_result res;
    uint16_t p722 = 722;
    rebuild(&res, &p722, 1, SV, INT64_MIN, INT64_MAX);
    cr_expect_eq(res.n, 2, "only the connections to " SV);
    conn_rebuild_free(&res);
    rebuild(&res, &p722, 1, NULL, T0 + 1000, T0 + 49999);
    cr_assert_eq(res.n, 1, "start in the range: the attempts only");
    expect_row(&res.rows[0], 722, SV, 25000, CS_SBA);
    conn_rebuild_free(&res);
    uint16_t ports[] = {721, 722, 723, 724};
    rebuild(&res, ports, 4, SV, INT64_MIN, INT64_MAX);
    cr_assert_eq(res.n, 4, "722 twice, 723, the biflow on 724; UDP and the sampled flow skipped");
    expect_row(&res.rows[2], 723, SV, 46000, CS_SF);
    expect_row(&res.rows[3], 724, SV, 80000, CS_SF);
    cr_expect_eq(res.rows[3].ci.s.packets, 8, "the biflow's reverse direction");
    cr_expect_eq(res.rows[3].ci.records, 2);
    conn_rebuild_free(&res);
    /* the server side is no client port */
    struct conn_rebuild_req q = {.sport = -1, .from_ms = INT64_MIN, .to_ms = INT64_MAX};
    addr_from_str(SV, &q.client);
    q.cports[q.n_cports++] = 515;
    char err[256];
    struct query *qy = query_open(store_path(st), err, sizeof(err));
    cr_assert(qy, "%s", err);
    cr_assert_eq(conn_rebuild(qy, &q, &res, err, sizeof(err)), 0);
    query_close(qy);
    cr_expect_eq(res.n, 0);
    cr_expect_gt(res.flows, 0, "its flows were read");
    conn_rebuild_free(&res);
}
