/* test_conn.c - connection rebuild and outcome classification on hand-built flow records:
 * pairing in any order, active-timeout stitching, splitting on a new SYN, a reply recorded
 * before its SYN, client/server rules, and the table cap. */
#include "config.h"

#include <criterion/criterion.h>
#include <string.h>

#include "alerts/conn.h"
#include "common/addr.h"

#define MAXC 64
static struct conn_info done_list[MAXC], last_update;
static int n_done, n_updates;

static void on_updated(void *ctx, struct conn_entry *e, const struct conn_info *ci)
{
    (void)ctx, (void)e;
    last_update = *ci;
    n_updates++;
}

static void on_done(void *ctx, struct conn_entry *e, const struct conn_info *ci)
{
    (void)ctx, (void)e;
    if (n_done < MAXC)
        done_list[n_done] = *ci;
    n_done++;
}

static struct conn_tracker *tracker(size_t cap)
{
    n_done = n_updates = 0;
    struct conn_tracker_opts o = {cap, 0, 0, 0};
    struct conn_events ev = {on_updated, on_done, NULL};
    return conn_tracker_new(&o, &ev);
}

#define T0 1795455000000LL

/* One direction record: src -> dst, flags, packets, times relative to T0 (ms). */
static struct flow rec(const char *src, uint16_t sp, const char *dst, uint16_t dp, uint16_t flags,
                       uint64_t pkts, int64_t first, int64_t last)
{
    struct flow f;
    memset(&f, 0, sizeof(f));
    addr_from_str(src, &f.src_addr);
    addr_from_str(dst, &f.dst_addr);
    f.src_port = sp, f.dst_port = dp, f.proto = 6;
    f.tcp_flags = flags;
    f.present = FF_TCP_FLAGS;
    f.packets = pkts, f.bytes = pkts * 60;
    f.first_ms = T0 + first, f.last_ms = T0 + last;
    return f;
}

#define C "10.1.1.50"
#define S "10.2.2.10"
enum { SYN = TH_SYN_, ACK = TH_ACK_, PSH = TH_PSH_, FIN = TH_FIN_, RST = TH_RST_ };

static void add(struct conn_tracker *t, struct flow f)
{
    cr_assert(conn_tracker_add(t, 0, &f));
}

Test(conn, pair_in_either_order_is_one_normal_connection)
{
    for (int order = 0; order < 2; order++) {
        struct conn_tracker *t = tracker(0);
        struct flow c = rec(C, 721, S, 515, SYN | ACK | PSH | FIN, 23, 14, 322);
        struct flow s = rec(S, 515, C, 721, SYN | ACK | PSH | FIN, 20, 14, 322);
        add(t, order ? s : c);
        add(t, order ? c : s);
        conn_tracker_flush(t);
        cr_assert_eq(n_done, 1);
        cr_expect_str_eq(conn_state_name(done_list[0].state), "SF");
        cr_expect_eq(done_list[0].cport, 721);
        cr_expect_eq(done_list[0].sport, 515, "lower/well-known port is the server");
        cr_expect_eq(done_list[0].rule, ROLE_PORT, "softflowd: same first/last both ways");
        cr_expect_eq(done_list[0].c.packets, 23);
        cr_expect_eq(done_list[0].s.packets, 20);
        conn_tracker_free(t);
    }
}

Test(conn, unclosed_then_attempt_answered_by_bare_ack)
{
    struct conn_tracker *t = tracker(0);
    add(t, rec(C, 722, S, 515, SYN | ACK | PSH, 24, 40337, 40570));
    add(t, rec(S, 515, C, 722, SYN | ACK | PSH, 18, 40337, 40570));
    add(t, rec(C, 722, S, 515, SYN, 3, 65598, 74598));
    add(t, rec(S, 515, C, 722, ACK, 3, 65598, 74598));
    cr_assert_eq(n_done, 1);
    cr_expect_str_eq(conn_state_name(done_list[0].state), "S1");
    cr_expect(conn_unclosed(&done_list[0]));
    cr_expect_str_eq(conn_state_name(last_update.state), "SBA");
    cr_expect_eq(last_update.rule, ROLE_SYN);
    cr_expect_eq(last_update.c.packets, 3);
    cr_expect_eq(last_update.s.packets, 3);
    conn_tracker_free(t);
}

Test(conn, reply_recorded_before_its_syn_moves_to_the_new_connection)
{
    struct conn_tracker *t = tracker(0);
    add(t, rec(C, 722, S, 515, SYN | ACK | PSH, 24, 40337, 40570));
    add(t, rec(S, 515, C, 722, SYN | ACK | PSH, 18, 40337, 40570));
    add(t, rec(S, 515, C, 722, ACK, 3, 65598, 74598)); /* out of order: the answer first */
    add(t, rec(C, 722, S, 515, SYN, 3, 65598, 74598));
    cr_assert_eq(n_done, 1);
    cr_expect_str_eq(conn_state_name(done_list[0].state), "S1");
    cr_expect_eq(done_list[0].end_ms, T0 + 40570, "old connection keeps its end");
    cr_expect_eq(done_list[0].s.packets, 18);
    cr_expect_str_eq(conn_state_name(last_update.state), "SBA");
    cr_expect_eq(last_update.s.packets, 3);
    conn_tracker_free(t);
}

Test(conn, active_timeout_fragments_are_stitched_into_one_connection)
{
    struct conn_tracker *t = tracker(0);
    int64_t s = 14;
    for (int i = 0; i < 5; i++) {
        uint16_t cf = (i == 0 ? SYN : 0) | ACK | PSH | (i == 4 ? FIN : 0);
        int64_t e = s + (i == 4 ? 100000 : 300000);
        /* directions out of order in every other pair */
        struct flow a = rec(C, 722, S, 515, cf, 150, s, e), b = rec(S, 515, C, 722, cf, 150, s, e);
        add(t, i % 2 ? b : a);
        add(t, i % 2 ? a : b);
        s = e + 1100;
    }
    conn_tracker_flush(t);
    cr_assert_eq(n_done, 1, "one connection, not %d", n_done);
    cr_expect_str_eq(conn_state_name(done_list[0].state), "SF");
    cr_expect_eq(done_list[0].records, 10);
    cr_expect_eq(done_list[0].c.packets, 750);
    conn_tracker_free(t);
}

Test(conn, reuse_after_fin_starts_a_new_connection)
{
    struct conn_tracker *t = tracker(0);
    add(t, rec(C, 722, S, 515, SYN | ACK | PSH | FIN, 22, 40337, 40646));
    add(t, rec(S, 515, C, 722, SYN | ACK | PSH | FIN, 19, 40337, 40646));
    add(t, rec(C, 722, S, 515, SYN | ACK | PSH | FIN, 25, 65661, 65970));
    add(t, rec(S, 515, C, 722, SYN | ACK | PSH | FIN, 21, 65661, 65970));
    conn_tracker_flush(t);
    cr_assert_eq(n_done, 2);
    cr_expect_str_eq(conn_state_name(done_list[0].state), "SF");
    cr_expect_str_eq(conn_state_name(done_list[1].state), "SF");
    conn_tracker_free(t);
}

Test(conn, attempts_no_reply_rejected_and_client_reset)
{
    struct conn_tracker *t = tracker(0);
    add(t, rec(C, 40001, S, 8080, SYN, 3, 0, 9000));
    cr_expect_str_eq(conn_state_name(last_update.state), "S0");
    cr_expect_eq(last_update.cport, 40001, "SYN without ACK names the client");
    cr_expect_eq(last_update.rule, ROLE_SYN);
    add(t, rec(C, 40002, S, 22, SYN, 1, 0, 0));
    add(t, rec(S, 22, C, 40002, RST | ACK, 1, 0, 0));
    cr_expect_str_eq(conn_state_name(last_update.state), "REJ");
    add(t, rec(C, 40003, S, 22, SYN | RST, 2, 0, 10));
    add(t, rec(S, 22, C, 40003, SYN | ACK, 1, 0, 10));
    cr_expect_str_eq(conn_state_name(last_update.state), "RSTOS0");
    add(t, rec(C, 40004, S, 443, SYN | ACK | PSH | RST, 9, 0, 900));
    add(t, rec(S, 443, C, 40004, SYN | ACK | PSH, 7, 0, 900));
    cr_expect_str_eq(conn_state_name(last_update.state), "RSTO");
    add(t, rec(C, 40005, S, 443, ACK | PSH, 9, 0, 900)); /* mid-stream, no SYN */
    add(t, rec(S, 443, C, 40005, ACK | PSH, 7, 0, 900));
    cr_expect_str_eq(conn_state_name(last_update.state), "OTH");
    cr_expect(conn_established(&last_update), "data both ways");
    cr_expect(conn_unclosed(&last_update));
    conn_tracker_free(t);
}

Test(conn, earlier_syn_names_the_client_when_exporter_has_per_direction_times)
{
    struct conn_tracker *t = tracker(0);
    add(t, rec(S, 5000, C, 6000, SYN | ACK | PSH | FIN, 5, 30, 400)); /* reply starts later */
    add(t, rec(C, 6000, S, 5000, SYN | ACK | PSH | FIN, 6, 0, 400));
    cr_expect_eq(last_update.rule, ROLE_SYN_FIRST);
    cr_expect_eq(last_update.cport, 6000);
    cr_expect_eq(last_update.sport, 5000);
    conn_tracker_free(t);
}

Test(conn, initial_flags_decide_when_exported)
{
    struct conn_tracker *t = tracker(0);
    struct flow s = rec(S, 9000, C, 100, SYN | ACK | PSH, 5, 0, 400);
    s.initial_flags = SYN | ACK, s.present |= FF_INITIAL_FLAGS;
    struct flow c = rec(C, 100, S, 9000, SYN | ACK | PSH, 6, 0, 400);
    c.initial_flags = SYN, c.present |= FF_INITIAL_FLAGS;
    add(t, s);
    add(t, c);
    cr_expect_eq(last_update.rule, ROLE_INITIAL_FLAGS);
    cr_expect_eq(last_update.cport, 100, "port rule would have said otherwise");
    conn_tracker_free(t);
}

Test(conn, table_is_capped_and_evictions_counted)
{
    struct conn_tracker *t = tracker(100);
    for (int p = 0; p < 1000; p++)
        add(t, rec(C, (uint16_t)(20000 + p), S, 515, SYN | ACK | PSH, 5, p, p + 10));
    cr_expect_leq(conn_tracker_count(t), 100);
    cr_expect_eq(conn_tracker_evictions(t), 900);
    cr_expect_eq(n_done, 900, "evicted connections are reported (stored), not lost silently");
    conn_tracker_free(t);
}

Test(conn, entries_expire_in_flow_time)
{
    struct conn_tracker *t = tracker(0);
    add(t, rec(C, 721, S, 515, SYN | ACK | FIN, 5, 0, 10));
    add(t, rec(S, 515, C, 721, SYN | ACK | FIN, 5, 0, 10));
    add(t, rec(C, 722, S, 515, SYN | ACK | PSH, 5, 0, 10)); /* unclosed: kept for the window */
    add(t, rec(S, 515, C, 722, SYN | ACK | PSH, 5, 0, 10));
    int64_t clock = T0 + 3600 * 1000;
    conn_tracker_sweep(t, &clock, 1);
    cr_expect_eq(conn_tracker_count(t), 1, "closed one gone after linger, unclosed one kept");
    clock = T0 + 25 * 3600 * 1000LL;
    conn_tracker_sweep(t, &clock, 1);
    cr_expect_eq(conn_tracker_count(t), 0);
    cr_expect_eq(conn_tracker_expired(t), 2);
    conn_tracker_free(t);
}

Test(conn, exporter_end_of_flow_means_closed)
{
    struct conn_tracker *t = tracker(0);
    struct flow c = rec(C, 722, S, 515, SYN | ACK | PSH, 24, 0, 233);
    struct flow s = rec(S, 515, C, 722, SYN | ACK | PSH, 18, 0, 233);
    c.end_reason = s.end_reason = END_OF_FLOW;
    c.present |= FF_END_REASON, s.present |= FF_END_REASON;
    add(t, c);
    add(t, s);
    cr_expect(conn_established(&last_update));
    cr_expect(!conn_unclosed(&last_update), "the exporter saw it end");
    struct flow i = rec(C, 723, S, 515, SYN | ACK | PSH, 24, 0, 233);
    i.end_reason = END_IDLE_TIMEOUT, i.present |= FF_END_REASON;
    add(t, i);
    add(t, rec(S, 515, C, 723, SYN | ACK | PSH, 18, 0, 233));
    cr_expect(conn_unclosed(&last_update), "idle timeout: no closure seen");
    conn_tracker_free(t);
}

/* The pool: entries released by eviction and expiry are handed out again (the table never
 * holds more than the cap), and a reused entry starts clean. */
Test(conn, pool_entries_are_reused_and_start_clean)
{
    cr_expect_leq(conn_entry_size(), 400, "%zu bytes per tracked connection", conn_entry_size());
    struct conn_tracker *t = tracker(100);
    for (int round = 0; round < 10; round++)
        for (int p = 0; p < 1000; p++)
            add(t, rec(C, (uint16_t)(20000 + p), S, 515, SYN | ACK | PSH, 5, round * 5000 + p,
                       round * 5000 + p + 10));
    cr_expect_eq(conn_tracker_count(t), 100);
    cr_expect_eq(conn_tracker_evictions(t), 9900);
    struct fh_addr c0, s0;
    addr_from_str(C, &c0);
    addr_from_str(S, &s0);
    int found = 0;
    for (int p = 0; p < 1000; p++)
        found += conn_tracker_find(t, 0, &c0, (uint16_t)(20000 + p), &s0, 515) != NULL;
    cr_expect_eq(found, 100, "exactly the 100 newest are in the table");
    for (int p = 900; p < 1000; p++)
        cr_expect(conn_tracker_find(t, 0, &c0, (uint16_t)(20000 + p), &s0, 515), "port %d", p);
    /* an unclosed connection, then a new attempt on the same entry */
    add(t, rec(C, 722, S, 515, SYN | ACK | PSH, 24, 100000, 100233));
    add(t, rec(S, 515, C, 722, SYN | ACK | PSH, 18, 100000, 100233));
    add(t, rec(C, 722, S, 515, SYN, 3, 125000, 134000));
    struct fh_addr c, s;
    addr_from_str(C, &c);
    addr_from_str(S, &s);
    struct conn_entry *e = conn_tracker_find(t, 0, &c, 722, &s, 515);
    cr_assert(e);
    struct conn_info last, cur;
    cr_assert(conn_entry_last_established(e, &last));
    cr_expect_eq(last.state, CS_S1);
    cr_expect_eq(last.cport, 722);
    cr_expect_eq(last.c.packets, 24);
    cr_expect_eq(last.s.packets, 18);
    cr_expect_eq(last.end_ms, T0 + 100233);
    cr_expect(conn_unclosed(&last));
    conn_entry_current(e, &cur);
    cr_expect_eq(cur.state, CS_S0);
    cr_expect_eq(cur.records, 1, "a reused pool entry starts without the old records");
    /* a fresh port through an entry freed by eviction: nothing of the old one */
    add(t, rec(C, 9999, S, 515, SYN, 1, 200000, 200000));
    addr_from_str(C, &c);
    e = conn_tracker_find(t, 0, &c, 9999, &s, 515);
    cr_assert(e);
    cr_expect(!conn_entry_last_established(e, &last));
    conn_tracker_free(t);
}
