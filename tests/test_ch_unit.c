/* test_ch_unit.c - the ClickHouse backend's parts that need no server: the store URL, and a
 * flow through RowBinary and back (the encoder the sender uses, the decoder the query layer
 * uses) as the SQLite store would give it back. */
#include "config.h"

#include <criterion/criterion.h>
#include <string.h>

#include "common/addr.h"
#include "collector/exporters.h"
#include "storage/ch_http.h"
#include "storage/ch_sink.h"
#include "storage/ch_rowbinary.h"
#include "storage/store_url.h"

Test(ch_unit, store_urls)
{
    struct store_url u;
    char err[256];
    cr_assert_eq(store_url_parse("flowhound.db", &u, err, sizeof(err)), 0);
    cr_expect_eq(u.kind, STORE_SQLITE);
    cr_expect_str_eq(u.path, "flowhound.db");
    cr_assert_eq(store_url_parse("sqlite:///var/lib/f.db", &u, err, sizeof(err)), 0);
    cr_expect_str_eq(u.path, "/var/lib/f.db");
    cr_assert_eq(store_url_parse("clickhouse://ch1", &u, err, sizeof(err)), 0);
    cr_expect_str_eq(u.base, "http://ch1:8123/");
    cr_expect_str_eq(u.database, "flowhound");
    cr_assert_eq(
        store_url_parse("clickhouses://n%40c:p%3Aw@[2001:db8::1]:9443/flows_1?cluster=a.b-c", &u,
                        err, sizeof(err)),
        0, "%s", err);
    cr_expect_str_eq(u.base, "https://[2001:db8::1]:9443/");
    cr_expect_str_eq(u.user, "n@c");
    cr_expect_str_eq(u.password, "p:w");
    cr_expect_str_eq(u.database, "flows_1");
    cr_expect_str_eq(u.cluster, "a.b-c");
    /* names that would become SQL text are refused unless plain */
    static const char *const bad[] = {
        "clickhouse://h/db;drop", "clickhouse://h/d'b",       "clickhouse://h/db?cluster=x'y",
        "clickhouse://h:0/db",    "clickhouse://h:99999/db",  "clickhouse:///db",
        "mysql://h/db",           "clickhouse://h/db?user=x", "sqlite:"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_expect_neq(store_url_parse(bad[i], &u, err, sizeof(err)), 0, "%s accepted", bad[i]);
}

static void flow_with_everything(struct flow *f)
{
    memset(f, 0, sizeof(*f));
    addr_from_str("192.0.2.1", &f->exporter);
    addr_from_str("2001:db8::1", &f->src_addr);
    addr_from_str("::ffff:10.0.0.1", &f->dst_addr);
    f->domain = 0xfffffffe;
    f->version = 10;
    f->src_port = 722;
    f->dst_port = 515;
    f->proto = 6;
    f->packets = UINT64_MAX; /* clamped, as SQLite keeps it */
    f->bytes = 12345;
    f->first_ms = -5;
    f->last_ms = INT64_MAX;
    f->received_ms = 1795455000123;
    f->present = FF_TCP_FLAGS | FF_IF | FF_NEXT_HOP | FF_AS | FF_MASK | FF_TOS | FF_SAMPLING |
                 FF_END_REASON | FF_DIRECTION | FF_INITIAL_FLAGS | FF_UNION_FLAGS | FF_REVERSE |
                 FF_REV_FLAGS | FF_FW_EVENT | FF_INIT_RESP_BYTES | FF_POST_NAT;
    f->tcp_flags = 0x1ff;
    f->in_if = 4000000000u;
    f->out_if = 2;
    addr_from_str("10.0.0.254", &f->next_hop);
    f->src_as = 4294967295u;
    f->dst_as = 64500;
    f->src_mask = 24, f->dst_mask = 128, f->tos = 0xb8, f->sampling_interval = 1000;
    f->end_reason = 3, f->direction = 1, f->initial_flags = 2, f->union_flags = 0x1a;
    f->rev_packets = 7, f->rev_bytes = 900, f->rev_tcp_flags = 0x12, f->fw_event = 2;
    f->initiator_bytes = 1, f->responder_bytes = 2;
    addr_from_str("198.51.100.7", &f->post_nat_src);
    f->post_nat_src_port = 40000, f->post_nat_dst_port = 443; /* post_nat_dst: none */
}

/* Skips the hidden columns ch_put_flow writes before the view's. */
static size_t hidden(const uint8_t *p, size_t n)
{
    struct rb_in in = {.p = p, .end = p + n};
    char instance[64];
    cr_assert(rb_get_str(&in, instance, sizeof(instance)));
    cr_expect_str_eq(instance, "c1");
    cr_expect_eq(rb_get_u64(&in), 42u);
    cr_expect_eq(rb_get_u32(&in), ch_rhour(1795455000123));
    rb_get_u64(&in);
    rb_get_u64(&in);
    return (size_t)(in.p - p);
}

Test(ch_unit, a_flow_reads_back_as_stored)
{
    struct flow f, g;
    flow_with_everything(&f);
    struct rb_out b = {0};
    ch_put_flow(&b, &f, "c1", 42);
    size_t skip = hidden(b.p, b.len);
    /* every cut short of the whole row is "not complete yet" */
    for (size_t n = skip; n < b.len; n++)
        cr_assert_eq(ch_get_flow(b.p + skip, n - skip, &g), 0, "at %zu of %zu", n, b.len);
    cr_assert_eq(ch_get_flow(b.p + skip, b.len - skip, &g), (long)(b.len - skip));
    f.packets = INT64_MAX;
    cr_expect(addr_equal(&g.src_addr, &f.src_addr) && addr_equal(&g.dst_addr, &f.dst_addr));
    cr_expect_eq(g.dst_addr.family, 6, "a mapped IPv6 address stays IPv6");
    cr_expect_eq(g.post_nat_dst.family, 0);
    cr_expect(g.present == f.present, "present %x, stored %x", g.present, f.present);
    /* the rest field by field, through the one struct (addresses compared above) */
    g.src_addr = f.src_addr, g.dst_addr = f.dst_addr;
    cr_expect_eq(memcmp(&g, &f, sizeof(f)), 0, "the flow read back differs");
    rb_free(&b);
    /* an address column that is not an address is a bad row, not a crash */
    struct rb_out bad = {0};
    rb_str(&bad, "not-an-address", 14);
    cr_expect_eq(ch_get_flow(bad.p, bad.len, &g), CH_ROW_BAD);
    rb_free(&bad);
}

Test(ch_unit, an_instance_name_that_is_not_plain_is_refused_before_any_sql)
{
    static const char *const bad[] = {"a'b", "x); DROP TABLE flows --", "", "a b", "tab\there"};
    struct exporter_table t;
    exporters_init(&t, 8, 8);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct ch_sink_options o = {.instance = bad[i], .buffer_bytes = 1 << 20};
        char err[256], warn[256];
        /* a port nothing listens on: refused before it would be tried */
        cr_assert_eq(store_url_parse("clickhouse://127.0.0.1:9/x", &o.url, err, sizeof(err)), 0);
        cr_expect_null(ch_sink_start(&o, &t, warn, sizeof(warn), err, sizeof(err)), "'%s'", bad[i]);
    }
    exporters_free(&t);
}
