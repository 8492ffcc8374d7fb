/* test_filter.c - the filter language: every construct, precedence, every error with its
 * column, hostile values staying data, and a differential test holding the SQL compiler and
 * the C evaluator to the same answers over a stored sample of varied flows. */
#include "config.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/prefix.h"
#include "common/xmalloc.h"
#include "storage/store.h"
#include "tests/helpers.h"
#include "query/filter.h"

/* ---- a small store of hand-made flows, each identified by received_ms = T0 + index ---- */

#define T0 1795455000000LL

static struct flow mk(const char *src, uint16_t sport, const char *dst, uint16_t dport,
                      uint8_t proto)
{
    struct flow f = {0};
    addr_from_str("192.0.2.1", &f.exporter);
    addr_from_str(src, &f.src_addr);
    addr_from_str(dst, &f.dst_addr);
    f.version = 10;
    f.src_port = sport;
    f.dst_port = dport;
    f.proto = proto;
    f.packets = 10;
    f.bytes = 1500;
    f.first_ms = T0 - 5000;
    f.last_ms = T0 - 3000; /* 2 s: 5 pps, 6000 bps */
    return f;
}

/* The sample: index = bit in the expected masks below. */
static struct flow sample[8];
static size_t nsample;

static void build_sample(void)
{
    struct flow f;
    nsample = 0;
    /* 0: the LPD client's SYN from port 722, all optional fields present */
    f = mk("10.1.1.50", 722, "192.168.5.10", 515, 6);
    f.present = FF_TCP_FLAGS | FF_IF | FF_AS;
    f.tcp_flags = TH_SYN_;
    f.in_if = 3;
    f.out_if = 7;
    f.src_as = 64500;
    f.dst_as = 64501;
    sample[nsample++] = f;
    /* 1: the server's SYN-ACK back */
    f = mk("192.168.5.10", 515, "10.1.1.50", 722, 6);
    f.present = FF_TCP_FLAGS | FF_IF;
    f.tcp_flags = TH_SYN_ | TH_ACK_;
    f.in_if = 7;
    f.out_if = 3;
    f.packets = 2000000;
    f.bytes = 3000000000LL;
    sample[nsample++] = f;
    /* 2: DNS over IPv6, no optional fields at all */
    f = mk("2001:db8::53", 53, "2001:db8:1::10", 40000, 17);
    f.exporter.family = 0;
    addr_from_str("2001:db8:ffff::1", &f.exporter);
    sample[nsample++] = f;
    /* 3: ICMP echo, zero duration */
    f = mk("172.16.9.1", 0, "10.200.0.1", 0x0800, 1);
    f.first_ms = f.last_ms;
    f.present = FF_AS;
    f.src_as = 0;
    f.dst_as = 15169;
    sample[nsample++] = f;
    /* 4: FIN+RST+ACK web flow, a link-local v6 with a zero hextet */
    f = mk("fe80::1", 443, "2001:0:0:1::5", 50000, 6);
    f.present = FF_TCP_FLAGS;
    f.tcp_flags = TH_FIN_ | TH_RST_ | TH_ACK_;
    f.packets = 1;
    f.bytes = 40;
    sample[nsample++] = f;
    /* 5: an IPv4-mapped IPv6 address, flags with PSH|ACK|SYN */
    f = mk("::ffff:10.1.1.51", 1024, "10.1.255.255", 8080, 6);
    f.present = FF_TCP_FLAGS | FF_IF;
    f.tcp_flags = TH_SYN_ | TH_ACK_ | TH_PSH_;
    f.in_if = 0;
    f.out_if = 65536;
    sample[nsample++] = f;
    for (size_t i = 0; i < nsample; i++)
        sample[i].received_ms = T0 + (int64_t)i;
}

static char *dir;
static char db[512];
static struct store *st;

static void setup(void)
{
    char err[256];
    build_sample();
    dir = th_tmpdir();
    snprintf(db, sizeof(db), "%s/f.db", dir);
    st = store_open(db, STORE_RW, NULL, err, sizeof(err));
    cr_assert(st, "%s", err);
    th_store_flows(st, sample, nsample);
    cr_assert_eq(filter_register_sql(store_sqlite(st)), SQLITE_OK);
}

static void teardown(void)
{
    store_close(st);
    th_rmtree(dir);
    free(dir);
}

/* Which received_ms values the SQL fragment selects from the store, as a bit mask over
 * (received_ms - base). */
static uint64_t sql_mask(struct store *s, const struct filter *f, int64_t base)
{
    char *sql = xasprintf("SELECT received_ms FROM flows WHERE %s", filter_sql(f));
    sqlite3_stmt *q;
    int rc = sqlite3_prepare_v2(store_sqlite(s), sql, -1, &q, NULL);
    cr_assert_eq(rc, SQLITE_OK, "%s: %.300s", sqlite3_errmsg(store_sqlite(s)), sql);
    cr_assert_eq(filter_bind(f, q, 1), filter_param_count(f) + 1);
    uint64_t mask = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        mask |= 1ULL << (sqlite3_column_int64(q, 0) - base);
    cr_assert_eq(rc, SQLITE_DONE, "%s: %.300s", sqlite3_errmsg(store_sqlite(s)), sql);
    sqlite3_finalize(q);
    free(sql);
    return mask;
}

static uint64_t c_mask(const struct filter *f)
{
    uint64_t mask = 0;
    for (size_t i = 0; i < nsample; i++)
        if (filter_match(f, &sample[i]))
            mask |= 1ULL << i;
    return mask;
}

struct case_ {
    const char *text;
    uint64_t want; /* bit i: sample[i] matches */
};

/* Every construct, with the flows of the sample it must select, in C and in SQL. */
static const struct case_ constructs[] = {
    {"any", 0x3f},
    {"", 0x3f},
    {"ip 10.1.1.50", 0x03},
    {"host 10.1.1.50", 0x03},
    {"src ip 10.1.1.50", 0x01},
    {"dst host 10.1.1.50", 0x02},
    {"ip 2001:db8::53", 0x04},
    {"dst ip 2001:DB8:1:0::10", 0x04}, /* any spelling of the address */
    {"ip ::ffff:10.1.1.51", 0x20},
    {"ip 10.1.1.51", 0x00}, /* a mapped address is IPv6, as stored */
    {"net 10.1.0.0/16", 0x23},
    {"src net 10.0.0.0/8", 0x01},
    {"dst net 10.0.0.0/8", 0x2a},
    {"net 10.1.1.48/29", 0x03},
    {"net 10.1.1.0 mask 255.255.255.0", 0x03},
    {"net 10.1.1.99/24", 0x03}, /* host bits ignored */
    {"net 172.16.0.0/12", 0x08},
    {"net 0.0.0.0/0", 0x2b},
    {"net 10.1.128.0/17", 0x20},
    {"net 2001:db8::/32", 0x04},
    {"dst net 2001:db8:1::/48", 0x04},
    {"net 2001::/16", 0x14},
    {"net 2001:0:0:1::/64", 0x10},
    {"net fe80::/10", 0x10},
    {"net ::/0", 0x34},
    {"net ::ffff:0:0/96", 0x20},
    {"ip in [ 10.1.1.50 172.16.9.1 ]", 0x0b},
    {"src ip in [10.1.1.50, 2001:db8::/32]", 0x05},
    {"port 515", 0x03},
    {"src port 722", 0x01},
    {"dst port = 515", 0x01},
    {"dst port == 515", 0x01},
    {"dst port eq 515", 0x01},
    {"src port > 1023", 0x20},
    {"src port gt 1023", 0x20},
    {"src port >= 1024", 0x20},
    {"src port < 53", 0x08},
    {"src port lt 53", 0x08},
    {"src port <= 53", 0x0c},
    {"dst port ge 50000", 0x10},
    {"dst port le 0", 0x00},
    {"port in [ 53 443 ]", 0x14},
    {"dst port in [515, 8080]", 0x21},
    {"proto tcp", 0x33},
    {"proto udp", 0x04},
    {"proto icmp", 0x08},
    {"proto 17", 0x04},
    {"proto TCP", 0x33},
    {"flags S", 0x23},
    {"flags SA", 0x22},
    {"flags AS", 0x22},
    {"flags sa", 0x22},
    {"flags SAF", 0x00},
    {"flags RF", 0x10},
    {"flags = SA", 0x02},
    {"flags == S", 0x01},
    {"flags 18", 0x02},
    {"flags > 18", 0x10 | 0x20},
    {"flags X", 0x00},
    {"not flags R", 0x2f}, /* includes flows with no flags field */
    {"flags S and not flags A", 0x01},
    {"packets > 1000", 0x02},
    {"packets > 1m", 0x02},
    {"packets >= 2M", 0x02},
    {"packets > 2m", 0x00},
    {"bytes 1500", 0x2d},
    {"bytes > 1k", 0x2f},
    {"bytes > 2g", 0x02},
    {"bytes < 0x100", 0x10},
    {"duration 2000", 0x37},
    {"duration < 1", 0x08},
    {"pps 5", 0x25},
    {"pps > 5", 0x02},
    {"bps 6000", 0x25},
    {"bps < 1", 0x08},
    {"bps > 10g", 0x02},
    {"as 64500", 0x01},
    {"src as 64500", 0x01},
    {"dst as 64500", 0x00},
    {"as 0", 0x08},
    {"as in [ 15169 64501 ]", 0x09},
    {"dst as > 20000", 0x01},
    {"in if 3", 0x01},
    {"out if 3", 0x02},
    {"if 7", 0x03},
    {"if 0", 0x20},
    {"out if 65536", 0x20},
    {"not in if 3", 0x3e},
    {"exporter 192.0.2.1", 0x3b},
    {"router 192.0.2.1", 0x3b},
    {"exporter ip 2001:db8:ffff::1", 0x04},
    {"exporter net 2001:db8::/32", 0x04},
    {"not exporter 192.0.2.1", 0x04},
    {"port 515 and proto tcp", 0x03},
    {"port 515 && src port 722", 0x01},
    {"port 515 or port 53", 0x07},
    {"port 515 || port 53", 0x07},
    {"not port 515", 0x3c},
    {"! port 515", 0x3c},
    {"!port 515", 0x3c},
    {"port 53 or port 515 and src port 722", 0x05}, /* and binds tighter than or */
    {"(port 53 or port 515) and src port 722", 0x01},
    {"not port 53 or port 515", 0x3b}, /* not binds tighter than or */
    {"not (port 53 or port 515)", 0x38},
    {"not not port 53", 0x04},
    {"((((port 53))))", 0x04},
    {"PORT 53 AND Proto UDP", 0x04},
    {"dst port 515 and flags S and not flags A", 0x01},
};

TestSuite(filter, .init = setup, .fini = teardown);

Test(filter, every_construct_selects_the_right_flows_in_c_and_in_sql)
{
    char err[256];
    int col;
    for (size_t i = 0; i < sizeof(constructs) / sizeof(constructs[0]); i++) {
        const struct case_ *c = &constructs[i];
        struct filter *f = filter_compile(c->text, err, sizeof(err), &col);
        cr_assert(f, "'%s' did not parse: %s (column %d)", c->text, err, col);
        uint64_t cm = c_mask(f), sm = sql_mask(st, f, T0);
        cr_expect_eq(cm, c->want, "C evaluation of '%s': 0x%02" PRIx64 ", expected 0x%02" PRIx64,
                     c->text, cm, c->want);
        cr_expect_eq(sm, c->want, "SQL of '%s' (%s): 0x%02" PRIx64 ", expected 0x%02" PRIx64,
                     c->text, filter_sql(f), sm, c->want);
        filter_free(f);
    }
}

static void expect_describe(const char *text, const char *want)
{
    char err[256];
    int col;
    struct filter *f = filter_compile(text, err, sizeof(err), &col);
    cr_assert(f, "'%s': %s", text, err);
    char *d = filter_describe(f);
    cr_expect_str_eq(d, want, "'%s'", text);
    free(d);
    filter_free(f);
}

Test(filter, precedence_not_over_and_over_or_left_to_right)
{
    expect_describe("port 1 or port 2 and port 3",
                    "((src_port = 1 or dst_port = 1) or ((src_port = 2 or dst_port = 2) and "
                    "(src_port = 3 or dst_port = 3)))");
    expect_describe("src port 1 and src port 2 or src port 3",
                    "((src_port = 1 and src_port = 2) or src_port = 3)");
    expect_describe("not src port 1 and src port 2", "(not src_port = 1 and src_port = 2)");
    expect_describe("! (src port 1 || src port 2) && src port 3",
                    "(not (src_port = 1 or src_port = 2) and src_port = 3)");
    expect_describe("src port 1 or src port 2 or src port 3",
                    "((src_port = 1 or src_port = 2) or src_port = 3)");
    expect_describe("src net 10.1.2.3/8", "src_addr in 10.0.0.0/8");
    expect_describe("net 10.0.0.0 mask 255.255.240.0",
                    "(src_addr in 10.0.0.0/20 or dst_addr in 10.0.0.0/20)");
    expect_describe("flags SAF", "tcp_flags all 19");
    expect_describe("bytes > 3k", "bytes > 3000");
    expect_describe("packets 2g", "packets = 2000000000");
    expect_describe("src port in [1,2 3]", "src_port in [1 2 3]");
}

struct bad {
    const char *text;
    int column;
    const char *message; /* a substring of the error */
};

static const struct bad errors[] = {
    {"port", 5, "expected port (a number), found end of filter"},
    {"port abc", 6, "expected port (a number), found 'abc'"},
    {"port 65536", 6, "port out of range: 65536 (expected 0 to 65535)"},
    {"port > 99999999999999999999999", 8, "expected port (a number)"},
    {"src port in [ 80 x ]", 18, "expected port (a number), found 'x'"},
    {"port in [ ]", 11, "expected port (a number), found ']'"},
    {"port in 80", 9, "expected '[', found '80'"},
    {"ip", 3, "expected an IPv4 or IPv6 address, found end of filter"},
    {"ip 10.1.1", 4, "expected an IPv4 or IPv6 address, found '10.1.1'"},
    {"ip 300.1.1.1", 4, "expected an IPv4 or IPv6 address"},
    {"host example.com", 6, "expected an IPv4 or IPv6 address, found 'example.com'"},
    {"ip 2001:db8:::1", 4, "expected an IPv4 or IPv6 address"},
    {"net 10.0.0.0", 13, "expected '/' and a prefix length, or 'mask', found end of filter"},
    {"net 10.0.0.0/33", 14, "IPv4 prefix length out of range: 33 (expected 0 to 32)"},
    {"net 2001:db8::/129", 16, "IPv6 prefix length out of range: 129"},
    {"net 10.0.0.0 mask 255.0.255.0", 19, "expected a contiguous IPv4 netmask"},
    {"net 2001:db8:: mask 255.0.0.0", 21, "IPv6 takes /len"},
    {"proto foo", 7, "expected a protocol: tcp, udp, icmp"},
    {"proto 256", 7, "protocol out of range: 256"},
    {"flags SQ", 8, "expected TCP flag letters (F S R P A U E C, or X for all), found 'Q'"},
    {"flags > SA", 7, "expected '=' or nothing before flag letters"},
    {"flags", 6, "expected TCP flag letters such as SA, or a number"},
    {"flags 65536", 7, "TCP flags out of range"},
    {"packets > 10x", 11, "expected packets (a number), found '10x'"},
    {"bytes > 99999999999t", 9, "expected bytes (a number)"},
    {"bytes > 9223372036854775808", 9, "bytes out of range"},
    {"as 4294967296", 4, "AS number out of range"},
    {"in 3", 4, "expected 'if', found '3'"},
    {"out if x", 8, "expected interface index (a number), found 'x'"},
    {"src 10.1.1.1", 5, "expected ip, host, net, port or as, found '10.1.1.1'"},
    {"dst proto tcp", 5, "expected ip, host, net, port or as, found 'proto'"},
    {"exporter", 9, "expected an IPv4 or IPv6 address, found end of filter"},
    {"foo", 1, "expected a filter primitive"},
    {"port 80 port 81", 9, "expected 'and', 'or' or the end of the filter, found 'port'"},
    {"port 80 and", 12, "expected a filter primitive"},
    {"port 80 or or port 81", 12, "expected a filter primitive"},
    {"and port 80", 1, "expected a filter primitive"},
    {"(port 80", 9, "expected ')' to close the '(' at column 1, found end of filter"},
    {"port 80)", 8, "expected no ')' without a '(' before it"},
    {"()", 2, "expected a filter primitive"},
    {"not", 4, "expected a filter primitive"},
    {"port 80 & port 81", 9, "expected '&&', found '&' alone"},
    {"port 80 | port 81", 9, "expected '||', found '|' alone"},
    {"ip 10.0.0.1' or '1'='1", 12, "unexpected character '''"},
    {"port 80; DROP TABLE flows", 8, "unexpected character ';'"},
    {"ip \"10.0.0.1\"", 4, "unexpected character '\"'"},
    {"port 80 \x01", 9, "unexpected byte 0x01"},
    {"port 80 and port é", 18, "unexpected byte 0xc3"},
    {"port !80", 6, "expected port (a number), found '!'"},
};

Test(filter, every_error_says_what_was_expected_and_where)
{
    for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
        const struct bad *b = &errors[i];
        char err[256] = "";
        int col = -1;
        struct filter *f = filter_compile(b->text, err, sizeof(err), &col);
        cr_expect_null(f, "'%s' should not parse", b->text);
        filter_free(f);
        cr_expect_eq(col, b->column, "'%s': column %d, expected %d (%s)", b->text, col, b->column,
                     err);
        cr_expect(strstr(err, b->message), "'%s': message '%s' lacks '%s'", b->text, err,
                  b->message);
    }
}

/* A NUL byte ended the filter where C read it: "%00port 80" through the web API matched every
 * flow. Given with its length, as a request carries it, the filter is refused at the NUL;
 * and so is any control character but tab, CR and LF. */
Test(filter, nul_and_control_bytes_are_refused_where_they_are)
{
    static const struct {
        const char *text;
        size_t len;
        int column;
    } cases[] = {
        {"\0port 80", 8, 1},
        {"port 80\0 and port 81", 20, 8},
        {"port\x1b[2J 80", 11, 5},
        {"port 80 \x7f", 9, 9},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[256] = "";
        int col = 0;
        struct filter *f = filter_compile_n(cases[i].text, cases[i].len, err, sizeof(err), &col);
        cr_expect_null(f, "case %zu parsed", i);
        filter_free(f);
        cr_expect_eq(col, cases[i].column, "case %zu: column %d (%s)", i, col, err);
        cr_expect(strstr(err, "control character"), "case %zu: %s", i, err);
    }
    char err[256];
    int col;
    struct filter *f = filter_compile_n("port 80\t\r\nand proto 6", 21, err, sizeof(err), &col);
    cr_expect(f, "tabs and line ends are spaces: %s", err);
    filter_free(f);
}

Test(filter, limits_on_length_nesting_and_terms_are_errors_not_crashes)
{
    char err[256];
    int col;
    /* nesting */
    char deep[400];
    memset(deep, '(', 100);
    strcpy(deep + 100, "any");
    memset(deep + 103, ')', 100);
    deep[203] = '\0';
    cr_expect_null(filter_compile(deep, err, sizeof(err), &col));
    cr_expect(strstr(err, "nested too deeply"), "%s", err);
    cr_expect_eq(col, FILTER_MAX_DEPTH + 1);
    memset(deep, '!', 300);
    strcpy(deep + 300, "any");
    cr_expect_null(filter_compile(deep, err, sizeof(err), &col));
    cr_expect(strstr(err, "nested too deeply"), "%s", err);
    /* terms: 200 `port N` are 400 primitives */
    size_t cap = 200 * 20, len = 0;
    char *many = xmalloc(cap);
    many[0] = '\0';
    for (int i = 0; i < 200; i++)
        len += (size_t)snprintf(many + len, cap - len, "%sport %d", i ? " or " : "", i);
    cr_expect_null(filter_compile(many, err, sizeof(err), &col));
    cr_expect(strstr(err, "more than 256 primitives"), "%s", err);
    cr_expect_gt(col, 1);
    free(many);
    /* 128 `port N` are 256: allowed, and SQLite accepts the SQL */
    many = xmalloc(cap);
    len = 0;
    for (int i = 0; i < 128; i++)
        len += (size_t)snprintf(many + len, cap - len, "%sport %d", i ? " or " : "", i);
    struct filter *f = filter_compile(many, err, sizeof(err), &col);
    cr_assert(f, "%s", err);
    cr_expect_eq(sql_mask(st, f, T0), 0x0c); /* the ICMP flow (port 0) and DNS (53) */
    filter_free(f);
    free(many);
    /* the deepest filter the parser accepts, alternating or/and/not at every level, is SQL
     * that SQLite accepts (its parser stack is small) */
    struct filter *deepest = NULL;
    for (int levels = 1; levels < 40; levels++) {
        char text[2048];
        size_t n = 0;
        for (int i = 0; i < levels; i++)
            n += (size_t)snprintf(text + n, sizeof(text) - n, "not (src port %d %s ", i,
                                  i % 2 ? "and" : "or");
        n += (size_t)snprintf(text + n, sizeof(text) - n, "flags S");
        for (int i = 0; i < levels; i++)
            n += (size_t)snprintf(text + n, sizeof(text) - n, ")");
        struct filter *g = filter_compile(text, err, sizeof(err), &col);
        if (!g)
            break;
        filter_free(deepest);
        deepest = g;
    }
    cr_assert(deepest);
    (void)sql_mask(st, deepest, T0);
    filter_free(deepest);
    /* text length */
    char *huge = xmalloc(FILTER_MAX_TEXT + 2);
    memset(huge, ' ', FILTER_MAX_TEXT + 1);
    huge[FILTER_MAX_TEXT + 1] = '\0';
    cr_expect_null(filter_compile(huge, err, sizeof(err), &col));
    cr_expect(strstr(err, "filter too long"), "%s", err);
    free(huge);
    /* list length */
    cap = 1100 * 8;
    char *list = xmalloc(cap);
    len = (size_t)snprintf(list, cap, "src port in [");
    for (int i = 0; i < 1100; i++)
        len += (size_t)snprintf(list + len, cap - len, " %d", i);
    snprintf(list + len, cap - len, " ]");
    cr_expect_null(filter_compile(list, err, sizeof(err), &col));
    cr_expect(strstr(err, "list too long"), "%s", err);
    free(list);
}

Test(filter, values_never_become_sql_text)
{
    char err[256];
    int col;
    struct filter *f = filter_compile("src ip 10.9.8.7 and dst port 31337 and net 172.20.0.0/14 "
                                      "and bytes > 424242 and port in [ 60001 60002 ]",
                                      err, sizeof(err), &col);
    cr_assert(f, "%s", err);
    const char *sql = filter_sql(f);
    cr_expect_null(strstr(sql, "10.9.8.7"), "%s", sql);
    cr_expect_null(strstr(sql, "31337"), "%s", sql);
    cr_expect_null(strstr(sql, "172."), "%s", sql);
    cr_expect_null(strstr(sql, "424242"), "%s", sql);
    cr_expect_null(strstr(sql, "6000"), "%s", sql);
    cr_expect_null(strchr(sql, '\''), "%s", sql);
    /* numbered form: the same fragment, ?N from the given index */
    char *num = filter_sql_numbered(f, 5);
    cr_expect(strstr(num, "?5"), "%s", num);
    char last[16];
    snprintf(last, sizeof(last), "?%d", 5 + filter_param_count(f) - 1);
    cr_expect(strstr(num, last), "%s lacks %s", num, last);
    free(num);
    filter_free(f);
    /* hostile text is rejected by the lexer before it reaches SQL; the store is intact */
    cr_expect_null(filter_compile("port 1) OR 1=1 --", err, sizeof(err), &col));
    cr_expect_null(
        filter_compile("ip 1.1.1.1'); DROP TABLE partitions; --", err, sizeof(err), &col));
    cr_expect_eq(th_db_int(db, "SELECT count(*) FROM partitions"), 1);
    cr_expect_eq(th_db_int(db, "SELECT count(*) FROM flows"), (int64_t)nsample);
}

Test(filter, bind_starts_at_the_given_index)
{
    char err[256];
    int col;
    struct filter *f =
        filter_compile("src port 722 and dst ip 192.168.5.10", err, sizeof(err), &col);
    cr_assert(f, "%s", err);
    cr_assert_eq(filter_param_count(f), 2);
    char *sql = xasprintf("SELECT count(*) FROM flows WHERE received_ms >= ? AND %s AND "
                          "received_ms <= ?",
                          filter_sql(f));
    sqlite3_stmt *q;
    cr_assert_eq(sqlite3_prepare_v2(store_sqlite(st), sql, -1, &q, NULL), SQLITE_OK);
    sqlite3_bind_int64(q, 1, T0);
    cr_assert_eq(filter_bind(f, q, 2), 4);
    sqlite3_bind_int64(q, 4, T0 + 100);
    cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
    cr_expect_eq(sqlite3_column_int(q, 0), 1);
    sqlite3_finalize(q);
    free(sql);
    filter_free(f);
}

/* ---- the prefix arithmetic the filter takes from common/prefix.c ---- */

/* p's first address and length as "ADDR/LEN". */
static const char *prefix_text(const struct fh_prefix *p)
{
    static char buf[FH_ADDR_STRLEN + 4], a[FH_ADDR_STRLEN];
    snprintf(buf, sizeof(buf), "%s/%u", addr_to_str(&p->addr, a, sizeof(a)), p->len);
    return buf;
}

static struct fh_addr ip(const char *s)
{
    struct fh_addr a;
    cr_assert(addr_from_str(s, &a), "%s", s);
    return a;
}

Test(prefix, make_clears_the_host_bits_and_refuses_what_is_no_prefix)
{
    struct fh_prefix p;
    struct fh_addr a = ip("10.1.255.77");
    cr_assert(prefix_make(&a, 20, &p));
    cr_expect_str_eq(prefix_text(&p), "10.1.240.0/20");
    cr_assert(prefix_make(&a, 32, &p));
    cr_expect_str_eq(prefix_text(&p), "10.1.255.77/32");
    cr_assert(prefix_make(&a, 0, &p));
    cr_expect_str_eq(prefix_text(&p), "0.0.0.0/0");
    a = ip("2001:db8:ffff::1");
    cr_assert(prefix_make(&a, 36, &p));
    cr_expect_str_eq(prefix_text(&p), "2001:db8:f000::/36");
    cr_expect_not(prefix_make(&a, 129, &p));
    a = ip("10.0.0.1");
    cr_expect_not(prefix_make(&a, 33, &p), "longer than an IPv4 address");
    struct fh_addr none = {0};
    cr_expect_not(prefix_make(&none, 0, &p), "no address");
}

Test(prefix, last_address_has_every_host_bit_set)
{
    static const char *const cases[][2] = {
        {"192.0.2.77/24", "192.0.2.255"},
        {"10.1.240.0/20", "10.1.255.255"},
        {"10.1.1.50", "10.1.1.50"},
        {"0.0.0.0/0", "255.255.255.255"},
        {"2001:db8::/33", "2001:db8:7fff:ffff:ffff:ffff:ffff:ffff"},
        {"2001:db8::1", "2001:db8::1"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fh_prefix p;
        struct fh_addr last;
        char text[FH_ADDR_STRLEN];
        cr_assert(prefix_parse(cases[i][0], &p), "%s", cases[i][0]);
        prefix_last(&p, &last);
        cr_expect_str_eq(addr_to_str(&last, text, sizeof(text)), cases[i][1], "%s", cases[i][0]);
        cr_expect(prefix_contains(&p, &last), "%s", cases[i][0]);
    }
}

Test(prefix, mask_len_only_of_contiguous_masks)
{
    static const struct {
        const char *mask;
        int len;
    } cases[] = {
        {"255.255.240.0", 20},   {"255.255.255.255", 32}, {"0.0.0.0", 0},
        {"255.255.255.254", 31}, {"255.0.255.0", -1},     {"128.0.0.1", -1},
        {"ffff:ff00::", 24},     {"ffff::1", -1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fh_addr m = ip(cases[i].mask);
        cr_expect_eq(prefix_mask_len(&m), cases[i].len, "%s", cases[i].mask);
    }
    struct fh_addr none = {0};
    cr_expect_eq(prefix_mask_len(&none), -1, "no address");
}
