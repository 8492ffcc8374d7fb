/* test_filter_diff.c - differential test of the filter language: thousands of random filters
 * must select exactly the same flows through the SQL compiler (on a real store, across
 * partitions) as through the C evaluator on the same struct flows. Plus mutated filters:
 * never a crash, and every error has a column inside the text. */
#include "config.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/xmalloc.h"
#include "storage/store.h"
#include "tests/helpers.h"
#include "query/filter.h"

#define NFLOWS   3000
#define NFILTERS 2500
#define T0       1795455000000LL

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
    /* xorshift64*: deterministic, so a failure reproduces */
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 2685821657736338717ULL;
}

static unsigned pick(unsigned n)
{
    return (unsigned)(rnd() % n);
}

/* Address templates: %u are filled with small random numbers so that filters hit. */
static const char *const addr_tmpl[] = {
    "10.0.0.%u",
    "10.1.%u.%u",
    "192.168.1.%u",
    "172.16.%u.%u",
    "172.31.255.%u",
    "2001:db8::%x",
    "2001:db8:1::%x",
    "fe80::%x:%x",
    "2001:0:0:1::%x",
    "::ffff:10.0.0.%u",
    "2001:db8:%x::1",
    "8.8.%u.%u",
    /* texts that share a prefix with the networks above without being in them */
    "2001:db80::%x",
    "2001:db8a:%x::1",
    "2001:db8:%x:%x::",
    "10.10.%u.%u",
    "100.0.%u.%u",
    "2001:db8:1%x::1",
};
#define NTMPL (sizeof(addr_tmpl) / sizeof(addr_tmpl[0]))

static void random_addr_text(char *buf, size_t len)
{
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(buf, len, addr_tmpl[pick(NTMPL)], pick(8), pick(4));
#pragma GCC diagnostic pop
}

static void random_addr(struct fh_addr *a)
{
    char buf[64];
    random_addr_text(buf, sizeof(buf));
    cr_assert(addr_from_str(buf, a), "%s", buf);
}

static const unsigned ports[] = {0, 22, 53, 80, 443, 515, 722, 1023, 1024, 8080, 65535};
static const unsigned protos[] = {1, 6, 17, 47, 58};
static const unsigned ases[] = {0, 13335, 15169, 64500, 4294967295u};
static const char *const exporters[] = {"192.0.2.1", "192.0.2.2", "2001:db8:ffff::1"};
static const int64_t durations[] = {0, 1, 999, 1000, 2000, 59999, 3600000};
static const uint64_t counts[] = {1, 2, 10, 999, 1000, 1001, 1500000, 2000000000ULL};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static struct flow flows[NFLOWS];

static void random_flow(struct flow *f, int i)
{
    memset(f, 0, sizeof(*f));
    addr_from_str(exporters[pick(N(exporters))], &f->exporter);
    random_addr(&f->src_addr);
    random_addr(&f->dst_addr);
    f->version = 10;
    f->src_port = (uint16_t)(pick(4) ? ports[pick(N(ports))] : pick(65536));
    f->dst_port = (uint16_t)(pick(4) ? ports[pick(N(ports))] : pick(65536));
    f->proto = (uint8_t)protos[pick(N(protos))];
    f->packets = pick(3) ? counts[pick(N(counts))] : rnd() % (1ULL << 32);
    f->bytes = pick(3) ? counts[pick(N(counts))] * 40 : rnd() % (1ULL << 40);
    f->first_ms = T0 - 4000000 + (int64_t)pick(4000000);
    f->last_ms = f->first_ms + (pick(2) ? durations[pick(N(durations))] : (int64_t)pick(100000));
    f->present =
        (uint32_t)(pick(2) ? FF_TCP_FLAGS : 0) | (pick(2) ? FF_IF : 0) | (pick(2) ? FF_AS : 0);
    f->tcp_flags = (uint16_t)pick(256);
    f->in_if = pick(6);
    f->out_if = pick(6);
    f->src_as = ases[pick(N(ases))];
    f->dst_as = ases[pick(N(ases))];
    f->received_ms = T0 + (int64_t)i * 3600; /* three hourly partitions */
}

/* ---- random filters ---- */

struct out {
    char s[4096];
    size_t n;
};

static void emit(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void emit(struct out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(o->s + o->n, sizeof(o->s) - o->n, fmt, ap);
    va_end(ap);
    if (w > 0)
        o->n += (size_t)w;
    if (o->n >= sizeof(o->s))
        o->n = sizeof(o->s) - 1;
}

static const char *dir(void)
{
    static const char *const d[] = {"", "src ", "dst "};
    return d[pick(3)];
}

static const char *cmp(void)
{
    static const char *const c[] = {
        "", "= ", "== ", "> ", "< ", ">= ", "<= ", "eq ", "gt ", "lt ", "ge ", "le "};
    return c[pick(N(c))];
}

static void number(struct out *o, const uint64_t *pool, size_t n)
{
    uint64_t v = pool[pick((unsigned)n)];
    if (v >= 1000000 && v % 1000000 == 0 && pick(2))
        emit(o, "%" PRIu64 "m", v / 1000000);
    else if (v >= 1000 && v % 1000 == 0 && pick(2))
        emit(o, "%" PRIu64 "k", v / 1000);
    else
        emit(o, "%" PRIu64, v);
}

static void net_text(struct out *o)
{
    char a[64];
    random_addr_text(a, sizeof(a));
    bool v6 = strchr(a, ':') != NULL;
    static const int v4len[] = {0, 1, 7, 8, 9, 12, 16, 17, 20, 24, 29, 31, 32};
    static const int v6len[] = {0, 3, 10, 16, 31, 32, 33, 48, 64, 96, 100, 127, 128};
    if (!v6 && pick(4) == 0) {
        static const char *const masks[] = {"255.0.0.0",     "255.255.0.0",     "255.255.240.0",
                                            "255.255.255.0", "255.255.255.252", "0.0.0.0"};
        emit(o, "%s mask %s", a, masks[pick(N(masks))]);
        return;
    }
    emit(o, "%s/%d", a, v6 ? v6len[pick(N(v6len))] : v4len[pick(N(v4len))]);
}

static void flags_text(struct out *o)
{
    static const char letters[] = "FSRPAUECX";
    char f[10];
    int n = 1 + (int)pick(3);
    for (int i = 0; i < n; i++)
        f[i] = letters[pick(pick(4) ? 8 : 9)];
    f[n] = '\0';
    emit(o, "%s%s", pick(5) ? "" : "= ", f);
}

static void leaf(struct out *o)
{
    static const uint64_t portv[] = {0, 22, 53, 80, 443, 515, 722, 1023, 1024, 8080, 65535};
    static const uint64_t asv[] = {0, 13335, 15169, 64500, 4294967295u};
    static const uint64_t ifv[] = {0, 1, 2, 3, 5};
    static const uint64_t cntv[] = {0, 1, 2, 10, 999, 1000, 1001, 40000, 1500000, 2000000000};
    static const uint64_t durv[] = {0, 1, 999, 1000, 2000, 60000, 3600000};
    static const uint64_t ratev[] = {0, 1, 8, 1000, 8000, 1000000, 80000000};
    char a[64];
    switch (pick(18)) {
    case 0:
        emit(o, "any");
        break;
    case 1:
    case 2:
        random_addr_text(a, sizeof(a));
        emit(o, "%s%s %s", dir(), pick(2) ? "ip" : "host", a);
        break;
    case 3:
    case 4:
        emit(o, "%snet ", dir());
        net_text(o);
        break;
    case 5:
        emit(o, "%sip in [", dir());
        for (unsigned i = 0, n = 1 + pick(3); i < n; i++) {
            random_addr_text(a, sizeof(a));
            emit(o, "%s%s%s", i ? (pick(2) ? ", " : " ") : " ", a, pick(3) ? "" : "/24");
        }
        emit(o, " ]");
        break;
    case 6:
    case 7:
        emit(o, "%sport %s", dir(), cmp());
        number(o, portv, N(portv));
        break;
    case 8:
        emit(o, "%sport in [", dir());
        for (unsigned i = 0, n = 1 + pick(4); i < n; i++) {
            emit(o, " ");
            number(o, portv, N(portv));
        }
        emit(o, " ]");
        break;
    case 9:
        emit(o, "proto %s", (const char *[]){"tcp", "udp", "icmp", "47", "6", "gre"}[pick(6)]);
        break;
    case 10:
    case 11:
        emit(o, "flags ");
        flags_text(o);
        break;
    case 12:
        emit(o, "%s %s", pick(2) ? "packets" : "bytes", cmp());
        number(o, cntv, N(cntv));
        break;
    case 13:
        emit(o, "%s %s", (const char *[]){"duration", "bps", "pps"}[pick(3)], cmp());
        number(o, pick(2) ? durv : ratev, 7);
        break;
    case 14:
        if (pick(3)) {
            emit(o, "%sas %s", dir(), cmp());
            number(o, asv, N(asv));
        } else {
            emit(o, "%sas in [ %u %u ]", dir(), (unsigned)asv[pick(5)], (unsigned)asv[pick(5)]);
        }
        break;
    case 15:
        emit(o, "%sif %s", (const char *[]){"", "in ", "out "}[pick(3)], cmp());
        number(o, ifv, N(ifv));
        break;
    case 16:
        emit(o, "%s %s", pick(2) ? "exporter" : "router", exporters[pick(N(exporters))]);
        break;
    default:
        emit(o, "exporter net 192.0.2.0/%d", (int)pick(33));
        break;
    }
}

static void expr(struct out *o, int depth)
{
    unsigned k = depth >= 3 ? 0 : pick(6);
    switch (k) {
    case 0:
    case 1:
        leaf(o);
        break;
    case 2:
        emit(o, pick(2) ? "not " : "!");
        expr(o, depth + 1);
        break;
    case 3:
        emit(o, "(");
        expr(o, depth + 1);
        emit(o, ")");
        break;
    default:
        expr(o, depth + 1);
        emit(o, " %s ", (const char *[]){"and", "or", "&&", "||"}[pick(4)]);
        expr(o, depth + 1);
        break;
    }
}

/* ---- the test ---- */

static char *dir_;
static struct store *st;

static void setup(void)
{
    char err[256], db[512];
    dir_ = th_tmpdir();
    snprintf(db, sizeof(db), "%s/d.db", dir_);
    st = store_open(db, STORE_RW, NULL, err, sizeof(err));
    cr_assert(st, "%s", err);
    for (int i = 0; i < NFLOWS; i++)
        random_flow(&flows[i], i);
    th_store_flows(st, flows, NFLOWS);
    cr_assert_eq(filter_register_sql(store_sqlite(st)), SQLITE_OK);
}

static void teardown(void)
{
    store_close(st);
    th_rmtree(dir_);
    free(dir_);
}

TestSuite(filter_diff, .init = setup, .fini = teardown, .timeout = 120);

/* Indices of the flows the SQL selects, in order; returns how many. */
static size_t sql_rows(const struct filter *f, int *idx)
{
    char *sql =
        xasprintf("SELECT received_ms FROM flows WHERE %s ORDER BY received_ms", filter_sql(f));
    sqlite3_stmt *q;
    int rc = sqlite3_prepare_v2(store_sqlite(st), sql, -1, &q, NULL);
    cr_assert_eq(rc, SQLITE_OK, "%s: %.500s", sqlite3_errmsg(store_sqlite(st)), sql);
    filter_bind(f, q, 1);
    size_t n = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        idx[n++] = (int)((sqlite3_column_int64(q, 0) - T0) / 3600);
    cr_assert_eq(rc, SQLITE_DONE, "%s", sqlite3_errmsg(store_sqlite(st)));
    sqlite3_finalize(q);
    free(sql);
    return n;
}

/* The same through the fragment a partition arm uses (filter_sql_keyed: src_key ranges next
 * to IPv4 src host/net, served by the closed partitions' index), over every partition. */
static size_t keyed_rows(const struct filter *f, int *idx, size_t *keyed, bool port_index)
{
    sqlite3 *d = store_sqlite(st);
    sqlite3_stmt *q;
    cr_assert_eq(
        sqlite3_prepare_v2(d, "SELECT name FROM partitions ORDER BY span_start", -1, &q, NULL),
        SQLITE_OK);
    char *frag = filter_sql_keyed(f, 1, port_index), *sql = xstrdup("");
    if (strstr(frag, "src_key"))
        (*keyed)++;
    while (sqlite3_step(q) == SQLITE_ROW) {
        char *more = xasprintf("%s%sSELECT received_ms FROM \"%s\" WHERE %s", sql,
                               sql[0] ? " UNION ALL " : "", sqlite3_column_text(q, 0), frag);
        free(sql);
        sql = more;
    }
    sqlite3_finalize(q);
    char *all = xasprintf("SELECT received_ms FROM (%s) ORDER BY received_ms", sql);
    int rc = sqlite3_prepare_v2(d, all, -1, &q, NULL);
    cr_assert_eq(rc, SQLITE_OK, "%s: %.500s", sqlite3_errmsg(d), all);
    cr_assert_eq(filter_bind_keyed(f, q, 1), 1 + filter_param_count_keyed(f));
    size_t n = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        idx[n++] = (int)((sqlite3_column_int64(q, 0) - T0) / 3600);
    cr_assert_eq(rc, SQLITE_DONE, "%s", sqlite3_errmsg(d));
    sqlite3_finalize(q);
    free(all);
    free(sql);
    free(frag);
    return n;
}

Test(filter_diff, random_filters_select_the_same_flows_in_sql_and_in_c)
{
    static int want[NFLOWS], got[NFLOWS];
    char err[256];
    int col;
    size_t parsed = 0, nonempty = 0, partial = 0, keyed = 0;
    for (int k = 0; k < NFILTERS; k++) {
        struct out o = {.n = 0};
        o.s[0] = '\0';
        expr(&o, 0);
        struct filter *f = filter_compile(o.s, err, sizeof(err), &col);
        cr_assert(f, "generated filter '%s' did not parse: %s (column %d)", o.s, err, col);
        parsed++;
        size_t nw = 0;
        for (int i = 0; i < NFLOWS; i++)
            if (filter_match(f, &flows[i]))
                want[nw++] = i;
        size_t ng = sql_rows(f, got);
        cr_assert_eq(ng, nw, "'%s': SQL selects %zu flows, C %zu\nSQL: %s", o.s, ng, nw,
                     filter_sql(f));
        for (size_t i = 0; i < nw; i++)
            cr_assert_eq(got[i], want[i], "'%s': row %zu is flow %d in SQL, %d in C", o.s, i,
                         got[i], want[i]);
        ng = keyed_rows(f, got, &keyed, k % 2);
        cr_assert_eq(ng, nw, "'%s': partition SQL selects %zu flows, C %zu", o.s, ng, nw);
        for (size_t i = 0; i < nw; i++)
            cr_assert_eq(got[i], want[i], "'%s': row %zu is flow %d in partition SQL, %d in C", o.s,
                         i, got[i], want[i]);
        nonempty += nw > 0;
        partial += nw > 0 && nw < NFLOWS;
        filter_free(f);
    }
    cr_log_info("%zu filters, %zu select something, %zu select some but not all", parsed, nonempty,
                partial);
    /* a differential test whose filters select nothing would prove nothing */
    cr_expect_gt(partial, NFILTERS / 3, "only %zu filters discriminate", partial);
    /* and the key ranges must have been tried, on indexed partitions */
    cr_log_info("%zu filters with a key range", keyed);
    cr_expect_gt(keyed, NFILTERS / 20, "only %zu filters had a key range", keyed);
    cr_expect_gt(th_db_int(store_path(st), "SELECT count(*) FROM partitions WHERE indexed"), 0);
}

Test(filter_diff, mutated_filters_never_crash_and_errors_point_inside_the_text)
{
    static const char junk[] = "()[]!&|=<>/,. :-_'\";\\\x01\x7f\xc3xyzSA09";
    char err[256];
    int col;
    size_t rejected = 0;
    for (int k = 0; k < 3000; k++) {
        struct out o = {.n = 0};
        o.s[0] = '\0';
        expr(&o, 0);
        /* a few random edits: replace, delete or insert characters */
        for (unsigned e = 0, n = 1 + pick(3); e < n && o.n > 0; e++) {
            size_t at = pick((unsigned)o.n);
            switch (pick(3)) {
            case 0:
                o.s[at] = junk[pick(sizeof(junk) - 1)];
                break;
            case 1:
                memmove(o.s + at, o.s + at + 1, o.n - at);
                o.n--;
                break;
            default:
                if (o.n + 1 < sizeof(o.s)) {
                    memmove(o.s + at + 1, o.s + at, o.n - at + 1);
                    o.s[at] = junk[pick(sizeof(junk) - 1)];
                    o.n++;
                }
            }
        }
        struct filter *f = filter_compile(o.s, err, sizeof(err), &col);
        if (f) {
            /* whatever parsed must also run in SQLite */
            static int rows[NFLOWS];
            (void)sql_rows(f, rows);
            filter_free(f);
            continue;
        }
        rejected++;
        cr_assert(col >= 1 && (size_t)col <= strlen(o.s) + 1, "'%s': column %d out of range", o.s,
                  col);
        cr_assert(err[0], "'%s': empty error message", o.s);
    }
    cr_expect_gt(rejected, 1000);
}
