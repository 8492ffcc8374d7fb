/* filter_gen.c - random flows and random nfdump filters over them, deterministic (a fixed
 * seed), shared by the differential filter tests of SQLite (test_filter_diff.c) and
 * ClickHouse (test_clickhouse.c). */
#include "config.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/addr.h"
#include "tests/filter_gen.h"

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
    /* xorshift64*: deterministic, so a failure reproduces */
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 2685821657736338717ULL;
}

unsigned fg_pick(unsigned n)
{
    return (unsigned)(rnd() % n);
}

static unsigned pick(unsigned n)
{
    return fg_pick(n);
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

void fg_random_flow(struct flow *f, int i)
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

static void expr(struct out *o, int depth);

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

void fg_filter(struct out *o)
{
    o->n = 0;
    o->s[0] = '\0';
    expr(o, 0);
}
