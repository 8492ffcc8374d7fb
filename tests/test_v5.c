/* test_v5.c - the NetFlow v5 decoder against the corpus (tshark's decoding), malformed
 * datagrams, and sequence accounting. */
#include "config.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include "collector/decode.h"
#include "collector/sequence.h"
#include "collector/v5.h"
#include "common/addr.h"
#include "tests/helpers.h"

static void check_field(json_t *fields, const char *name, int64_t got, const char *file, int rec)
{
    json_t *v = json_object_get(fields, name);
    if (!v)
        return;
    cr_expect_eq(json_integer_value(v), got, "%s record %d: %s = %lld, tshark says %lld", file,
                 rec, name, (long long)got, (long long)json_integer_value(v));
}

static void check_addr(json_t *fields, const char *name, const struct fh_addr *a, const char *file,
                       int rec)
{
    json_t *v = json_object_get(fields, name);
    char buf[FH_ADDR_STRLEN];
    if (!v)
        return;
    cr_expect_str_eq(addr_to_str(a, buf, sizeof(buf)), json_string_value(v), "%s record %d: %s",
                     file, rec, name);
}

/* Decodes every datagram of a v5 corpus file and compares each record, field by field. */
static void check_corpus_file(const char *name)
{
    char rel[256];
    snprintf(rel, sizeof(rel), "corpus/%s.pcap", name);
    size_t n;
    struct th_datagram *d = th_read_pcap(th_shared_path(rel), &n);
    snprintf(rel, sizeof(rel), "corpus/%s.expected.json", name);
    json_error_t jerr;
    json_t *exp = json_load_file(th_shared_path(rel), 0, &jerr);
    cr_assert(exp, "%s: %s", rel, jerr.text);
    json_t *records = json_object_get(exp, "records");
    size_t next = 0, decoded = 0;
    for (size_t i = 0; i < n; i++) {
        struct v5_header hdr;
        cr_assert_eq(v5_parse_header(d[i].data, d[i].len, &hdr), REJ_NONE, "%s datagram %zu",
                     name, i + 1);
        struct flow flows[V5_MAX_RECORDS];
        v5_decode_records(d[i].data, &hdr, &d[i].src, 0, flows);
        for (unsigned r = 0; r < hdr.count; r++, next++) {
            json_t *rec = json_array_get(records, next);
            cr_assert(rec, "%s: more records decoded than expected", name);
            cr_assert_eq(json_integer_value(json_object_get(rec, "frame")), (json_int_t)(i + 1));
            json_t *fl = json_object_get(rec, "fields");
            struct flow *f = &flows[r];
            int k = (int)next;
            check_addr(fl, "src_addr", &f->src_addr, name, k);
            check_addr(fl, "dst_addr", &f->dst_addr, name, k);
            check_addr(fl, "next_hop", &f->next_hop, name, k);
            check_field(fl, "src_port", f->src_port, name, k);
            check_field(fl, "dst_port", f->dst_port, name, k);
            check_field(fl, "proto", f->proto, name, k);
            check_field(fl, "tcp_flags", f->tcp_flags, name, k);
            check_field(fl, "packets", (int64_t)f->packets, name, k);
            check_field(fl, "bytes", (int64_t)f->bytes, name, k);
            check_field(fl, "in_if", f->in_if, name, k);
            check_field(fl, "out_if", f->out_if, name, k);
            check_field(fl, "src_as", f->src_as, name, k);
            check_field(fl, "dst_as", f->dst_as, name, k);
            check_field(fl, "src_mask", f->src_mask, name, k);
            check_field(fl, "dst_mask", f->dst_mask, name, k);
            check_field(fl, "tos", f->tos, name, k);
            check_field(fl, "sampling_interval", f->sampling_interval, name, k);
            check_field(fl, "first_ms", f->first_ms, name, k);
            check_field(fl, "last_ms", f->last_ms, name, k);
            cr_expect_eq(f->domain, json_integer_value(json_object_get(rec, "domain")));
            decoded++;
        }
    }
    cr_expect_eq(decoded, json_array_size(records), "%s: %zu records decoded, %zu expected", name,
                 decoded, json_array_size(records));
    json_decref(exp);
    th_free_datagrams(d, n);
}

Test(v5_corpus, softflowd_uptime_wrap)
{
    check_corpus_file("v5_softflowd");
}

Test(v5_corpus, mikrotik)
{
    check_corpus_file("v5_mikrotik");
}

Test(v5_corpus, akvorado_engine_ids)
{
    check_corpus_file("v5_akvorado");
}

/* ---- malformed datagrams ---- */

static size_t make_v5(uint8_t *buf, uint16_t count, size_t records_present)
{
    memset(buf, 0, V5_HEADER_LEN + V5_RECORD_LEN * records_present);
    buf[1] = 5;
    buf[2] = (uint8_t)(count >> 8);
    buf[3] = (uint8_t)count;
    return V5_HEADER_LEN + V5_RECORD_LEN * records_present;
}

Test(v5_malformed, rejects_each_case_with_its_reason)
{
    uint8_t buf[V5_HEADER_LEN + V5_RECORD_LEN * 32] = {0};
    struct v5_header h;
    cr_assert_eq(v5_parse_header(buf, 0, &h), REJ_EMPTY);
    make_v5(buf, 1, 1);
    cr_assert_eq(v5_parse_header(buf, 10, &h), REJ_TRUNCATED, "shorter than a header");
    cr_assert_eq(v5_parse_header(buf, V5_HEADER_LEN + 20, &h), REJ_TRUNCATED, "half a record");
    cr_assert_eq(v5_parse_header(buf, V5_HEADER_LEN + V5_RECORD_LEN, &h), REJ_NONE);
    make_v5(buf, 2, 3);
    cr_assert_eq(v5_parse_header(buf, V5_HEADER_LEN + 3 * V5_RECORD_LEN, &h), REJ_BAD_LENGTH,
                 "trailing bytes after count records");
    make_v5(buf, 0, 0);
    cr_assert_eq(v5_parse_header(buf, V5_HEADER_LEN, &h), REJ_BAD_COUNT, "count 0");
    make_v5(buf, 31, 31);
    cr_assert_eq(v5_parse_header(buf, V5_HEADER_LEN + 31 * V5_RECORD_LEN, &h), REJ_BAD_COUNT,
                 "count 31");
    make_v5(buf, 30, 30);
    cr_assert_eq(v5_parse_header(buf, V5_HEADER_LEN + 30 * V5_RECORD_LEN, &h), REJ_NONE, "30 ok");
    buf[1] = 6;
    cr_assert_eq(v5_parse_header(buf, V5_HEADER_LEN + 30 * V5_RECORD_LEN, &h),
                 REJ_UNKNOWN_VERSION);
}

static bool count_emit(void *ctx, const struct flow *f)
{
    (void)f;
    (*(int *)ctx)++;
    return true;
}

Test(v5_malformed, decode_packet_counts_rejects_per_exporter_and_reason)
{
    struct exporter_table t;
    exporters_init(&t, 16, 4);
    struct fh_addr a;
    addr_from_str("192.0.2.7", &a);
    int emitted = 0;
    struct flow_emitter out = {count_emit, &emitted};
    uint8_t buf[2048] = {0};
    uint8_t rnd[512];
    for (size_t i = 0; i < sizeof(rnd); i++)
        rnd[i] = (uint8_t)(i * 131 + 7);
    cr_expect_eq(decode_packet(&t, &a, buf, 0, 1, &out), REJ_EMPTY);
    cr_expect_eq(decode_packet(&t, &a, rnd, sizeof(rnd), 1, &out), REJ_UNKNOWN_VERSION);
    size_t len = make_v5(buf, 3, 2);
    cr_expect_eq(decode_packet(&t, &a, buf, len, 1, &out), REJ_TRUNCATED);
    len = make_v5(buf, 2, 2);
    cr_expect_eq(decode_packet(&t, &a, buf, len, 1, &out), REJ_NONE);
    cr_expect_eq(emitted, 2);
    exporters_lock(&t);
    struct exporter *e = exporters_get(&t, &a, 1);
    cr_assert(e);
    cr_expect_eq(e->packets, 4);
    cr_expect_eq(e->rejects[REJ_EMPTY], 1);
    cr_expect_eq(e->rejects[REJ_UNKNOWN_VERSION], 1);
    cr_expect_eq(e->rejects[REJ_TRUNCATED], 1);
    cr_expect_eq(e->n_domains, 1);
    cr_expect_eq(e->domains[0].flows, 2);
    exporters_unlock(&t);
    exporters_free(&t);
}

/* ---- times ---- */

Test(v5_time, uptime_wrap_and_future_last)
{
    int64_t export_ms = 1700000000000;
    /* First = 0xFFFFFFFF with sysUptime 3381: the uptime wrapped 3382 ms ago. */
    cr_expect_eq(uptime_to_unix_ms(export_ms, 3381, 0xFFFFFFFFu), export_ms - 3382);
    /* Last a few ms after the header's uptime stays a few ms in the future. */
    cr_expect_eq(uptime_to_unix_ms(export_ms, 1000, 1005), export_ms + 5);
    cr_expect_eq(uptime_to_unix_ms(export_ms, 100000, 40000), export_ms - 60000);
}

static void put32_at(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

struct kept {
    struct flow f[8];
    int n;
};

static bool keep_emit(void *ctx, const struct flow *f)
{
    struct kept *k = ctx;
    if (k->n < 8)
        k->f[k->n++] = *f;
    return true;
}

/* One record whose header says unix_secs, sysUptime 100 s, the flow from uptime first to last. */
static size_t v5_dated(uint8_t *buf, uint32_t unix_secs, uint32_t first, uint32_t last)
{
    size_t len = make_v5(buf, 1, 1);
    put32_at(buf + 4, 100000);
    put32_at(buf + 8, unix_secs);
    put32_at(buf + V5_HEADER_LEN + 24, first);
    put32_at(buf + V5_HEADER_LEN + 28, last);
    return len;
}

/* An exporter whose clock is at 1970 (flows dated before it: clamped, counted in the past),
 * one an hour ahead of ours (counted in the future), one right: the domain's counters and its
 * clock offset (header export time minus receipt) say which. */
Test(v5_time, exporter_clocks_are_measured_and_times_clamped)
{
    struct exporter_table t;
    exporters_init(&t, 16, 4);
    struct fh_addr a;
    addr_from_str("192.0.2.8", &a);
    struct kept k = {0};
    struct flow_emitter out = {keep_emit, &k};
    uint8_t buf[V5_HEADER_LEN + V5_RECORD_LEN];
    const int64_t now = 1700000000000;
    size_t len = v5_dated(buf, 0, 1000, 2000); /* 99 s and 98 s before 1970 */
    cr_assert_eq(decode_packet(&t, &a, buf, len, now, &out), REJ_NONE);
    cr_expect_eq(k.f[0].first_ms, 0, "clamped to 1970, not %lld", (long long)k.f[0].first_ms);
    cr_expect_eq(k.f[0].last_ms, 0);
    exporters_lock(&t);
    struct exporter_domain *d = &exporters_get(&t, &a, now)->domains[0];
    cr_expect_eq(d->clock_past, 1);
    cr_expect(d->clock_measured);
    cr_expect_eq(d->clock_offset_ms, -now);
    exporters_unlock(&t);
    len = v5_dated(buf, (uint32_t)(now / 1000 + 3600), 90000, 99000);
    cr_assert_eq(decode_packet(&t, &a, buf, len, now, &out), REJ_NONE);
    len = v5_dated(buf, (uint32_t)(now / 1000), 90000, 99000);
    cr_assert_eq(decode_packet(&t, &a, buf, len, now, &out), REJ_NONE);
    cr_assert_eq(k.n, 3, "every flow is handed on, whatever its date");
    cr_expect_eq(k.f[1].last_ms, now + 3600000 - 1000);
    exporters_lock(&t);
    d = &exporters_get(&t, &a, now)->domains[0];
    cr_expect_eq(d->clock_future, 1);
    cr_expect_eq(d->clock_past, 1, "the one in time is neither");
    cr_expect_eq(d->flows, 3);
    cr_expect_eq(d->clock_offset_ms, 0, "the last datagram's");
    exporters_unlock(&t);
    exporters_free(&t);
}

/* ---- sequence accounting ---- */

Test(v5_sequence, first_packet_sets_baseline)
{
    struct seq_state s = {0};
    cr_expect_eq(seq_update(&s, 5000, 30), SEQ_FIRST);
    cr_expect_eq(s.lost, 0, "no loss is claimed for what came before we listened");
    cr_expect_eq(seq_update(&s, 5030, 30), SEQ_OK);
}

Test(v5_sequence, gap_counts_missing_flows)
{
    struct seq_state s = {0};
    seq_update(&s, 0, 30);
    cr_expect_eq(seq_update(&s, 90, 30), SEQ_GAP);
    cr_expect_eq(s.lost, 60);
    cr_expect_eq(seq_update(&s, 120, 10), SEQ_OK);
}

Test(v5_sequence, wraps_at_32_bits)
{
    struct seq_state s = {0};
    seq_update(&s, 0xFFFFFFF0u, 16);
    cr_expect_eq(seq_update(&s, 0, 30), SEQ_OK, "wrap is not a gap");
    cr_expect_eq(seq_update(&s, 40, 30), SEQ_GAP);
    cr_expect_eq(s.lost, 10);
}

Test(v5_sequence, duplicate_and_reset)
{
    struct seq_state s = {0};
    seq_update(&s, 5000000, 30);
    seq_update(&s, 5000030, 30);
    cr_expect_eq(seq_update(&s, 5000000, 30), SEQ_DUPLICATE);
    cr_expect_eq(s.duplicates, 1);
    cr_expect_eq(s.lost, 0);
    /* exporter restarted: sequence back to 0 */
    cr_expect_eq(seq_update(&s, 0, 30), SEQ_RESET);
    cr_expect_eq(s.resets, 1);
    cr_expect_eq(s.lost, 0, "a reset is not loss");
    cr_expect_eq(seq_update(&s, 30, 30), SEQ_OK);
}
