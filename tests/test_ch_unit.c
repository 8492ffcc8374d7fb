/* test_ch_unit.c - the ClickHouse backend's parts that need no server: the store URL, a flow
 * through RowBinary and back (the encoder the sender uses, the decoder the query layer uses)
 * as the SQLite store would give it back, and the replay of the receive journal for it (the
 * decoder's marks, skipped and store-only datagrams; where the sender resumes). */
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/decoder.h"
#include "collector/exporters.h"
#include "collector/journal.h"
#include "common/addr.h"
#include "common/flowqueue.h"
#include "storage/ch_http.h"
#include "storage/ch_resume.h"
#include "storage/ch_rowbinary.h"
#include "storage/ch_sink.h"
#include "storage/store_url.h"
#include "tests/helpers.h"

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

/* ---- the replay of the receive journal (collector/decoder.h) ---- */

#define DATAGRAMS 3000
#define DAY_MS    86400000LL

/* Datagram i: a v5 datagram of 1..30 records (batches of 512 end inside datagrams), flow k of
 * all from 10.x.y.z (x.y.z = k), received around a midnight (UTC) so that the day turns at
 * datagram 1500. */
static unsigned records_of(uint32_t i)
{
    return 1 + (i * 7) % 30;
}

static void append_v5(struct journal *j, uint32_t i, uint32_t first)
{
    uint8_t buf[24 + 48 * 30];
    unsigned n = records_of(i);
    memset(buf, 0, sizeof(buf));
    buf[1] = 5, buf[3] = (uint8_t)n, buf[5] = 0x10, buf[8] = 0x6a;
    for (unsigned r = 0; r < n; r++) {
        uint8_t *p = buf + 24 + 48 * r;
        uint32_t k = first + r;
        p[0] = 10, p[1] = (uint8_t)(k >> 16), p[2] = (uint8_t)(k >> 8), p[3] = (uint8_t)k;
        p[4] = 192, p[5] = 0, p[6] = 2, p[7] = 1, p[19] = 1, p[23] = 60, p[35] = 80, p[38] = 17;
    }
    struct journal_rec rec = {.port = 2055, .received_ms = 20000 * DAY_MS - 1500 + i};
    addr_from_str("192.0.2.7", &rec.from);
    rec.len = (uint32_t)(24 + 48 * n);
    cr_assert_eq(journal_append(j, &rec, buf), 0);
}

/* The flow index (in the whole journal) of a flow, from its source address. */
static uint32_t flow_index(const struct flow *f)
{
    const uint8_t *a = f->src_addr.bytes + (f->src_addr.family == 4 ? 0 : 12);
    return (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
}

struct replay_fixture {
    char *dir;
    struct journal *j;
    struct journal_pos end[DATAGRAMS]; /* after each datagram */
    uint32_t before[DATAGRAMS + 1];    /* flows in the datagrams before it */
};

static void fill_journal(struct replay_fixture *fx)
{
    char err[256], jdir[600];
    fx->dir = th_tmpdir();
    snprintf(jdir, sizeof(jdir), "%s/j", fx->dir);
    struct journal_opts o = {.dir = jdir, .segment_bytes = 65536, .no_sync = true};
    fx->j = journal_open(&o, (struct journal_pos){0, 0}, err, sizeof(err));
    cr_assert(fx->j, "%s", err);
    for (uint32_t i = 0; i < DATAGRAMS; i++) {
        append_v5(fx->j, i, fx->before[i]);
        fx->before[i + 1] = fx->before[i] + records_of(i);
    }
    cr_assert_eq(journal_flush(fx->j), 0);
    struct journal_rec r;
    const uint8_t *data;
    for (uint32_t i = 0; i < DATAGRAMS; i++)
        cr_assert_eq(journal_next(fx->j, &r, &data, &fx->end[i], 0, err, sizeof(err)), 1);
    journal_close(fx->j);
    fx->j = journal_open(&o, (struct journal_pos){0, 0}, err, sizeof(err));
    cr_assert(fx->j, "%s", err);
}

/* The flows before a mark: its position is a datagram's end (or 0:0 for the start). */
static uint32_t flows_before(const struct replay_fixture *fx, struct decode_mark m)
{
    for (uint32_t i = 0; i < DATAGRAMS; i++)
        if (journal_pos_cmp(m.pos, fx->end[i]) == 0)
            return fx->before[i + 1] + m.part;
    cr_assert_fail("mark %llu:%llu is no datagram's end", (unsigned long long)m.pos.seg,
                   (unsigned long long)m.pos.off);
    return 0;
}

static uint64_t domain_flows(struct exporter_table *t)
{
    struct fh_addr a;
    addr_from_str("192.0.2.7", &a);
    exporters_lock(t);
    struct exporter *e = exporters_get(t, &a, 0);
    uint64_t n = e && e->n_domains ? e->domains[0].flows : 0;
    exporters_unlock(t);
    return n;
}

/* The state has the datagrams up to 2400, the store the flows up to datagram 901's 7th
 * (a mark inside it): the decoder skips what the store has, decodes the rest of what the
 * state has for the store only (counted in the replay's table, not the state's), then goes on
 * as usual; every batch ends at an exact mark and in one receive day. */
Test(ch_unit, the_replay_skips_what_the_store_holds_and_counts_nothing_twice)
{
    static struct replay_fixture fx;
    fill_journal(&fx);
    struct exporter_table state, replay;
    exporters_init(&state, 8, 8);
    exporters_init(&replay, 8, 8);
    struct flow_queue q;
    flowq_init(&q, 2 * 60000 / FLOW_BATCH_CAP);
    struct decoder d;
    decoder_init(&d, fx.j, &state, &q);
    struct decode_mark held = {fx.end[900], 7}; /* datagram 901 has 8 flows */
    struct decoder_replay r = {.state_end = fx.end[2399], .table = &replay, .held = held};
    decoder_set_replay(&d, &r);
    atomic_store(&d.stop, true); /* decode the whole journal in this thread, then end */
    d.drain_deadline_ms = INT64_MAX;
    decoder_run(&d);

    uint32_t next = fx.before[901] + 7, batches = 0;
    for (struct flow_batch *b; (b = flowq_pop(&q, 0)); flowq_release(&q, b), batches++) {
        bool store_only = next < fx.before[2400];
        cr_assert_eq(b->store_only, store_only, "batch %u from flow %u", batches, next);
        for (size_t i = 0; i < b->n; i++, next++) {
            cr_assert_eq(flow_index(&b->flows[i]), next, "batch %u flow %zu", batches, i);
            cr_assert_eq(b->flows[i].received_ms / DAY_MS, b->flows[0].received_ms / DAY_MS,
                         "batch %u: one receive day", batches);
        }
        struct decode_mark end = {{b->src_seg, b->src_off}, b->src_whole ? 0 : b->src_part};
        cr_assert_eq(flows_before(&fx, end), next, "batch %u ends at its mark", batches);
    }
    cr_expect_eq(next, fx.before[DATAGRAMS], "every flow after the store's mark, once");
    cr_expect_eq(domain_flows(&state), fx.before[DATAGRAMS] - fx.before[2400],
                 "the state's counters count only what it did not have");
    cr_expect_eq(domain_flows(&replay), fx.before[2400] - fx.before[901],
                 "the replay's table the datagrams decoded again");
    cr_expect_eq(atomic_load(&d.skipped), 901);
    cr_expect_eq(atomic_load(&d.replayed), 1499);
    flowq_destroy(&q);
    exporters_free(&state);
    exporters_free(&replay);
    journal_close(fx.j);
    th_rmtree(fx.dir);
    free(fx.dir);
}

/* Where the sender resumes: the state's record, or ClickHouse's newest mark when it is further
 * and within what the state has; never a mark beyond the state. */
Test(ch_unit, the_sender_resumes_after_clickhouse_only_within_the_state)
{
    struct ch_resume r = {.acked = {{3, 1000}, 0}, .found = true};
    struct journal_pos state = {5, 200};
    char note[300];
    struct decode_mark got, ahead = {{4, 64}, 3}, beyond = {{5, 300}, 0}, behind = {{2, 9}, 0};
    got = ch_resume_decide(&r, state, 0, ahead, note, sizeof(note));
    cr_expect(decode_mark_cmp(got, r.acked) == 0 && !note[0], "ClickHouse not asked: the record");
    got = ch_resume_decide(&r, state, 1, ahead, note, sizeof(note));
    cr_expect(decode_mark_cmp(got, ahead) == 0 && note[0], "acknowledged after the record");
    got = ch_resume_decide(&r, state, 1, (struct decode_mark){state, 0}, note, sizeof(note));
    cr_expect(decode_mark_cmp(got, (struct decode_mark){state, 0}) == 0, "up to the state");
    got = ch_resume_decide(&r, state, 1, (struct decode_mark){state, 1}, note, sizeof(note));
    cr_expect(decode_mark_cmp(got, r.acked) == 0 && note[0], "a flow beyond the state: refused");
    got = ch_resume_decide(&r, state, 1, beyond, note, sizeof(note));
    cr_expect(decode_mark_cmp(got, r.acked) == 0 && note[0], "not this state's mark");
    got = ch_resume_decide(&r, state, 1, behind, note, sizeof(note));
    cr_expect(decode_mark_cmp(got, r.acked) == 0 && note[0], "what ClickHouse lost is gone");
}
