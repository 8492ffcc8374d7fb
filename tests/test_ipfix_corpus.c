/* test_ipfix_corpus.c - every file of ../shared/corpus replayed through the real flowhoundd on
 * loopback; each stored flow compared with tshark's decoding (NAME.expected.json), field by
 * field, for every column we store. A new corpus file is one line in `corpus_files`.
 *
 * Rules of the comparison (all in compare_row):
 *   - every normalised field of the expected record must equal its column;
 *   - every other optional column must be NULL (we must not invent values), except:
 *       . columns that share one presence bit with an expected one (in_if/out_if,
 *         src_as/dst_as, src_mask/dst_mask, rev_packets/rev_bytes,
 *         initiator_bytes/responder_bytes, the post-NAT group): the exporter sent one of
 *         the pair, the other is stored as 0;
 *       . the deliberate exceptions in `not_compared` below, each with its reason;
 *   - sampling_interval: from the record, else from the options records before it (as the
 *     decoder must: see sampling_learn);
 *   - NOT NULL core columns (ports, proto, packets, bytes, times) absent from the expected
 *     record hold our defaults and are not compared (see not_compared);
 *   - nothing is stored that no expected record claims, and every undecodable data set of the
 *     expected file is counted in exporter_domains.records_rejected.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "tests/helpers.h"

static const char *const corpus_files[] = {
    "v5_softflowd",
    "v5_mikrotik",
    "v5_akvorado",
    "v9_cisco_asa_nsel",
    "v9_cisco_asr9k",
    "v9_fortigate_fortios542",
    "v9_paloalto_panos",
    "v9_h3c_netstream_varstring",
    "v9_ipt_netflow",
    "v9_softflowd",
    "v9_nprobe",
    "v9_akvorado_sampling",
    "v9_huawei_netstream",
    "v9_cisco_nbar",
    "v9_multisampling_data_first",
    "v9_cisco_asa_nsel_2",
    "v9_paloalto_81_zerofill",
    "v9_fortigate_fortios521",
    "ipfix_openbsd_pflow",
    "ipfix_mikrotik",
    "ipfix_yaf",
    "ipfix_netscaler",
    "ipfix_barracuda",
    "ipfix_ipfixprobe_biflow",
    "ipfix_softflowd",
    "ipfix_ixia",
    "ipfix_akvorado_mpls",
};
#define N_FILES (sizeof(corpus_files) / sizeof(corpus_files[0]))

/* Columns of the `flows` view that we compare, in order. */
static const char *const cols[] = {
    "src_addr",
    "dst_addr",
    "src_port",
    "dst_port",
    "proto",
    "tcp_flags",
    "packets",
    "bytes",
    "first_ms",
    "last_ms",
    "in_if",
    "out_if",
    "next_hop",
    "src_as",
    "dst_as",
    "src_mask",
    "dst_mask",
    "tos",
    "sampling_interval",
    "end_reason",
    "direction",
    "initial_flags",
    "union_flags",
    "rev_packets",
    "rev_bytes",
    "rev_tcp_flags",
    "fw_event",
    "initiator_bytes",
    "responder_bytes",
    "post_nat_src_addr",
    "post_nat_dst_addr",
    "post_nat_src_port",
    "post_nat_dst_port",
};
#define N_COLS (sizeof(cols) / sizeof(cols[0]))

/* Columns we deliberately do not hold to "NULL unless expected", and why. */
static const struct {
    const char *col;
    const char *why;
} not_compared[] = {
    {"src_port", "NOT NULL column: 0 (or ICMP type<<8|code from IE 32/139) when not exported"},
    {"dst_port", "NOT NULL column: 0 (or ICMP type<<8|code from IE 32/139) when not exported"},
    {"proto", "NOT NULL column: 0 when not exported"},
    {"packets", "NOT NULL column: 0 when not exported (NSEL flow-create events)"},
    {"bytes", "NOT NULL column: 0 when not exported"},
    {"first_ms", "NOT NULL column: the other end's time, or the export time, when not exported; "
                 "IPFIX uptimes without systemInitTimeMilliseconds: checked by duration below"},
    {"last_ms", "NOT NULL column: as first_ms (NSEL events carry one timestamp)"},
};

/* Expected `other` entries (tshark field names) that map onto a column of ours. */
static const struct {
    const char *tshark;
    const char *col;
} other_fields[] = {
    {"cflow.post_natsource_ipv4_address", "post_nat_src_addr"},
    {"cflow.post_natdestination_ipv4_address", "post_nat_dst_addr"},
    {"cflow.post_natsource_ipv6_address", "post_nat_src_addr"},
    {"cflow.post_natdestination_ipv6_address", "post_nat_dst_addr"},
    {"cflow.post_naptsource_transport_port", "post_nat_src_port"},
    {"cflow.post_naptdestination_transport_port", "post_nat_dst_port"},
};

/* Columns sharing one presence bit: when one is expected, the other may hold 0. */
static const char *const partners[][4] = {
    {"in_if", "out_if"},
    {"src_as", "dst_as"},
    {"src_mask", "dst_mask"},
    {"rev_packets", "rev_bytes"},
    {"initiator_bytes", "responder_bytes"},
    {"post_nat_src_addr", "post_nat_dst_addr", "post_nat_src_port", "post_nat_dst_port"},
};

struct row {
    char *v[N_COLS]; /* text of each column, NULL for SQL NULL */
    bool claimed;
};

struct rows {
    struct row *r;
    size_t n;
};

static void load_rows(const char *db, unsigned base, struct rows *out)
{
    sqlite3 *h;
    cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    char sql[2048] = "SELECT ";
    for (size_t c = 0; c < N_COLS; c++) {
        strcat(sql, cols[c]);
        strcat(sql, c + 1 < N_COLS ? "," : " FROM flows WHERE exporter LIKE ?1");
    }
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK, "%s", sqlite3_errmsg(h));
    char like[32];
    snprintf(like, sizeof(like), "127.0.%u.%%", base);
    sqlite3_bind_text(st, 1, like, -1, SQLITE_STATIC);
    out->r = NULL;
    out->n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        out->r = xreallocarray(out->r, out->n + 1, sizeof(*out->r));
        struct row *r = &out->r[out->n++];
        memset(r, 0, sizeof(*r));
        for (size_t c = 0; c < N_COLS; c++) {
            const char *t = (const char *)sqlite3_column_text(st, (int)c);
            r->v[c] = t ? xstrdup(t) : NULL;
        }
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
}

static void free_rows(struct rows *rs)
{
    for (size_t i = 0; i < rs->n; i++)
        for (size_t c = 0; c < N_COLS; c++)
            free(rs->r[i].v[c]);
    free(rs->r);
}

static int col_index(const char *name)
{
    for (size_t c = 0; c < N_COLS; c++)
        if (strcmp(cols[c], name) == 0)
            return (int)c;
    return -1;
}

/* The expected value of each column as text (NULL: not in the expected record). */
struct want {
    char *v[N_COLS];
    bool have_uptimes;
    long long first_up, last_up;
};

static void want_set(struct want *w, const char *col, json_t *val)
{
    int c = col_index(col);
    if (c < 0)
        return;
    char buf[64];
    if (json_is_integer(val))
        snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(val));
    else if (json_is_string(val))
        snprintf(buf, sizeof(buf), "%s", json_string_value(val));
    else
        return;
    free(w->v[c]);
    w->v[c] = xstrdup(buf);
}

static void want_int(struct want *w, const char *col, long long v)
{
    json_t *j = json_integer(v);
    want_set(w, col, j);
    json_decref(j);
}

/* YAF's initialTCPFlags/unionTCPFlags (CERT PEN 6871, IE 14/15, reverse 16398/16399) are
 * shown by tshark as "(CERT Coordination Center) Type 14: Value (hex bytes): c2". YAF sends
 * no tcpControlBits: we store their OR as tcp_flags (and rev_tcp_flags), so expect that. */
static void want_cert_flags(struct want *w, json_t *entries)
{
    int v[4] = {-1, -1, -1, -1}; /* 14, 15, 16398, 16399 */
    static const int types[4] = {14, 15, 16398, 16399};
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e)
    {
        int type;
        unsigned val;
        if (!json_is_string(e) ||
            sscanf(json_string_value(e),
                   "(CERT Coordination Center) Type %d: Value (hex bytes): %x", &type, &val) != 2)
            continue;
        for (int k = 0; k < 4; k++)
            if (type == types[k])
                v[k] = (int)val;
    }
    if (v[0] >= 0)
        want_int(w, "initial_flags", v[0]);
    if (v[1] >= 0)
        want_int(w, "union_flags", v[1]);
    if ((v[0] >= 0 || v[1] >= 0) && !w->v[col_index("tcp_flags")])
        want_int(w, "tcp_flags", (v[0] > 0 ? v[0] : 0) | (v[1] > 0 ? v[1] : 0));
    if ((v[2] >= 0 || v[3] >= 0) && !w->v[col_index("rev_tcp_flags")])
        want_int(w, "rev_tcp_flags", (v[2] > 0 ? v[2] : 0) | (v[3] > 0 ? v[3] : 0));
}

static void want_from_record(json_t *rec, struct want *w)
{
    memset(w, 0, sizeof(*w));
    json_t *fields = json_object_get(rec, "fields");
    const char *key;
    json_t *val;
    json_object_foreach(fields, key, val) want_set(w, key, val);
    json_t *other = json_object_get(rec, "other");
    for (size_t i = 0; i < sizeof(other_fields) / sizeof(other_fields[0]); i++) {
        json_t *o = json_object_get(other, other_fields[i].tshark);
        if (json_is_string(o))
            want_set(w, other_fields[i].col, o);
    }
    want_cert_flags(w, json_object_get(other, "cflow.enterprise_private_entry"));
    json_t *fu = json_object_get(fields, "first_uptime_ms");
    json_t *lu = json_object_get(fields, "last_uptime_ms");
    if (fu && lu) {
        w->have_uptimes = true;
        w->first_up = json_integer_value(fu);
        w->last_up = json_integer_value(lu);
    }
}

static void want_free(struct want *w)
{
    for (size_t c = 0; c < N_COLS; c++)
        free(w->v[c]);
}

static bool matches(const struct row *r, const struct want *w)
{
    for (size_t c = 0; c < N_COLS; c++)
        if (w->v[c] && (!r->v[c] || strcmp(r->v[c], w->v[c]) != 0))
            return false;
    if (w->have_uptimes) {
        /* No systemInitTimeMilliseconds: absolute times are unknowable; the duration is. */
        long long d = atoll(r->v[col_index("last_ms")]) - atoll(r->v[col_index("first_ms")]);
        if (d != w->last_up - w->first_up)
            return false;
    }
    return true;
}

static bool excused(size_t c, const struct want *w)
{
    for (size_t i = 0; i < sizeof(not_compared) / sizeof(not_compared[0]); i++)
        if (strcmp(not_compared[i].col, cols[c]) == 0)
            return true;
    for (size_t g = 0; g < sizeof(partners) / sizeof(partners[0]); g++) {
        bool in_group = false, group_expected = false;
        for (size_t k = 0; k < 4 && partners[g][k]; k++) {
            int pc = col_index(partners[g][k]);
            in_group |= pc == (int)c;
            group_expected |= pc >= 0 && w->v[pc] != NULL;
        }
        if (in_group && group_expected)
            return true;
    }
    return false;
}

/* Columns the expected record does not have must be NULL (or excused). */
static void expect_nothing_invented(const char *name, json_t *rec, const struct row *r,
                                    const struct want *w)
{
    for (size_t c = 0; c < N_COLS; c++) {
        if (w->v[c] || excused(c, w))
            continue;
        cr_expect_null(r->v[c], "%s frame %lld: column %s = %s but tshark has no such field", name,
                       (long long)json_integer_value(json_object_get(rec, "frame")), cols[c],
                       r->v[c]);
    }
}

static void describe_miss(const char *name, json_t *rec, const struct want *w,
                          const struct rows *rs)
{
    char *txt = json_dumps(json_object_get(rec, "fields"), JSON_COMPACT | JSON_SORT_KEYS);
    /* The unclaimed row with the most equal columns, to say which field differs. */
    size_t best = SIZE_MAX;
    int best_score = -1;
    for (size_t i = 0; i < rs->n; i++) {
        int score = 0;
        for (size_t c = 0; c < N_COLS; c++)
            score += w->v[c] && rs->r[i].v[c] && strcmp(w->v[c], rs->r[i].v[c]) == 0;
        if (!rs->r[i].claimed && score > best_score)
            best = i, best_score = score;
    }
    char diff[1024] = "";
    for (size_t c = 0; best != SIZE_MAX && c < N_COLS; c++) {
        const char *got = rs->r[best].v[c];
        if (w->v[c] && (!got || strcmp(got, w->v[c])))
            snprintf(diff + strlen(diff), sizeof(diff) - strlen(diff), " %s: want %s got %s;",
                     cols[c], w->v[c], got ? got : "NULL");
    }
    cr_expect_fail("%s frame %lld: no stored flow matches %s (closest row:%s)", name,
                   (long long)json_integer_value(json_object_get(rec, "frame")), txt,
                   best_score < 0 ? " none" : diff);
    free(txt);
}

static json_t *load_expected(const char *name)
{
    char rel[256];
    snprintf(rel, sizeof(rel), "corpus/%s.expected.json", name);
    json_error_t jerr;
    json_t *exp = json_load_file(th_shared_path(rel), 0, &jerr);
    cr_assert(exp, "%s: %s", rel, jerr.text);
    return exp;
}

/* Flow records of the expected file: data records with addresses (options records and
 * statistics records are not flows). */
static bool is_flow_record(json_t *rec)
{
    json_t *kind = json_object_get(rec, "kind");
    return !(kind && strcmp(json_string_value(kind), "options") == 0) &&
           json_object_get(json_object_get(rec, "fields"), "src_addr");
}

/* Sampling as the options records of the expected file define it, in wire order: tshark
 * puts an interval into `fields` only when the record itself carries one, so the interval a
 * flow gets from its sampler (v9 48 / IPFIX 302 -> 34/50 in an options record) or from a
 * domain-wide options record (34/50, or 305/306) is derived here the same way. */
struct sampling {
    long long id[64], interval[64];
    size_t n;
    long long dflt; /* 0: none */
};

static long long other_int(json_t *rec, const char *key)
{
    json_t *v = json_object_get(json_object_get(rec, "other"), key);
    return json_is_string(v) ? atoll(json_string_value(v)) : -1;
}

static void sampling_learn(struct sampling *sp, json_t *rec)
{
    json_t *iv = json_object_get(json_object_get(rec, "fields"), "sampling_interval");
    long long interval = iv ? json_integer_value(iv) : 0;
    long long pi = other_int(rec, "cflow.sampling_packet_interval");
    long long ps = other_int(rec, "cflow.sampling_packet_space");
    if (!interval && pi > 0 && ps >= 0)
        interval = (pi + ps) / pi;
    if (!interval)
        return;
    long long id = other_int(rec, "cflow.sampler_id");
    if (id < 0) {
        sp->dflt = interval;
        return;
    }
    for (size_t i = 0; i < sp->n; i++)
        if (sp->id[i] == id) {
            sp->interval[i] = interval;
            return;
        }
    if (sp->n < 64)
        sp->id[sp->n] = id, sp->interval[sp->n++] = interval;
}

static void sampling_want(const struct sampling *sp, json_t *rec, struct want *w)
{
    if (w->v[col_index("sampling_interval")])
        return; /* carried by the record itself */
    long long id = other_int(rec, "cflow.sampler_id");
    for (size_t i = 0; id >= 0 && i < sp->n; i++)
        if (sp->id[i] == id) {
            want_int(w, "sampling_interval", sp->interval[i]);
            return;
        }
    if (sp->dflt)
        want_int(w, "sampling_interval", sp->dflt);
}

static void compare_file(const char *db, const char *name, unsigned base)
{
    struct sampling sp = {0};
    json_t *exp = load_expected(name);
    struct rows rs;
    load_rows(db, base, &rs);
    size_t i, n_flows = 0, n_ok = 0;
    json_t *rec;
    json_array_foreach(json_object_get(exp, "records"), i, rec)
    {
        json_t *kind = json_object_get(rec, "kind");
        if (kind && strcmp(json_string_value(kind), "options") == 0)
            sampling_learn(&sp, rec);
        if (!is_flow_record(rec))
            continue;
        n_flows++;
        struct want w;
        want_from_record(rec, &w);
        sampling_want(&sp, rec, &w);
        size_t hit = SIZE_MAX;
        for (size_t k = 0; k < rs.n && hit == SIZE_MAX; k++)
            if (!rs.r[k].claimed && matches(&rs.r[k], &w))
                hit = k;
        if (hit == SIZE_MAX) {
            describe_miss(name, rec, &w, &rs);
        } else {
            rs.r[hit].claimed = true;
            n_ok++;
            expect_nothing_invented(name, rec, &rs.r[hit], &w);
        }
        want_free(&w);
    }
    cr_expect_eq(n_ok, n_flows, "%s: %zu of %zu expected flows stored exactly", name, n_ok,
                 n_flows);
    cr_expect_eq(rs.n, n_flows, "%s: %zu rows stored for %zu expected flows", name, rs.n, n_flows);
    /* Undecodable data sets (no template in the capture) are counted, one per set. */
    size_t undecodable = json_array_size(json_object_get(exp, "undecodable"));
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT coalesce(sum(records_rejected), 0) FROM exporter_domains"
             " WHERE addr LIKE '127.0.%u.%%'",
             base);
    cr_expect_eq(th_db_int(db, sql), (int64_t)undecodable, "%s: undecodable sets counted", name);
    free_rows(&rs);
    json_decref(exp);
}

#define BASE0 20u /* exporter of corpus_files[i] is 127.0.(BASE0 + i).x */

Test(ipfix_corpus, every_corpus_file_decodes_to_the_expected_flows, .timeout = 180)
{
    struct th_daemon d = {0};
    th_daemon_start(&d, NULL);
    for (size_t i = 0; i < N_FILES; i++) {
        char rel[256];
        snprintf(rel, sizeof(rel), "corpus/%s.pcap", corpus_files[i]);
        cr_assert_gt(th_replay(th_shared_path(rel), d.port, 2000, BASE0 + (unsigned)i), 0, "%s",
                     rel);
    }
    cr_assert_eq(th_daemon_stop(&d), 0, "SIGTERM: clean exit");
    for (size_t i = 0; i < N_FILES; i++)
        compare_file(d.db, corpus_files[i], BASE0 + (unsigned)i);

    /* The shared checker, a second opinion, must agree. */
    if (th_have("python3")) {
        char cmd[8192];
        int off = snprintf(cmd, sizeof(cmd), "python3 %s --db %s",
                           th_shared_path("tools/check/check_corpus.py"), d.db);
        for (size_t i = 0; i < N_FILES; i++) {
            char rel[256];
            snprintf(rel, sizeof(rel), "corpus/%s.expected.json", corpus_files[i]);
            off += snprintf(cmd + off, sizeof(cmd) - (size_t)off, " %s", th_shared_path(rel));
        }
        snprintf(cmd + off, sizeof(cmd) - (size_t)off, " >&2");
        cr_expect_eq(th_system("%s", cmd), 0, "check_corpus.py agrees");
    }
    th_daemon_cleanup(&d);
}
