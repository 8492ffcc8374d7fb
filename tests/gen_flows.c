/* gen_flows.c - fills a store with generated flows, for the query tests and for timing
 * queries on a large store (doc/filter.md, "Performance"). Not a test by itself.
 *
 *   tests/gen_flows DB COUNT [HOURS [START_MS]]
 *
 * COUNT flows spread evenly over HOURS (default 24) of receive time from START_MS (default
 * 2026-11-23T00:00:00Z): clients in 10.0.0.0/16 and 2001:db8:c::/64 (10% IPv6), 200 servers,
 * mostly web and DNS, some LPD (515) with SYN-only attempts, flags as real TCP flows have. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/args.h"
#include "storage/store.h"

static uint64_t state = 88172645463325252ULL;

static uint32_t rnd(uint32_t n)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return (uint32_t)(state % n);
}

static void make_flow(struct flow *f, int64_t recv)
{
    static const uint16_t ports[] = {443, 443, 443, 80, 80, 53, 53, 515, 22, 25, 123, 8080};
    memset(f, 0, sizeof(*f));
    uint8_t ex[4] = {192, 0, 2, (uint8_t)(1 + rnd(4))};
    addr_from_v4(&f->exporter, ex);
    f->version = 10;
    if (rnd(10) == 0) {
        uint8_t c[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0x0c}, s[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0x5};
        c[14] = (uint8_t)rnd(256);
        c[15] = (uint8_t)rnd(256);
        s[15] = (uint8_t)rnd(200);
        addr_from_v6(&f->src_addr, c);
        addr_from_v6(&f->dst_addr, s);
    } else {
        uint8_t c[4] = {10, 0, (uint8_t)rnd(256), (uint8_t)rnd(256)};
        uint8_t s[4] = {192, 168, (uint8_t)rnd(4), (uint8_t)rnd(50)};
        addr_from_v4(&f->src_addr, c);
        addr_from_v4(&f->dst_addr, s);
    }
    f->dst_port = ports[rnd(sizeof(ports) / sizeof(ports[0]))];
    f->src_port = f->dst_port == 515 ? (uint16_t)(721 + rnd(11)) : (uint16_t)(1024 + rnd(64000));
    f->proto = f->dst_port == 53 || f->dst_port == 123 ? 17 : 6;
    f->present = FF_IF | FF_AS;
    if (f->proto == 6) {
        f->present |= FF_TCP_FLAGS;
        uint32_t kind = rnd(20);
        f->tcp_flags = kind == 0   ? TH_SYN_
                       : kind == 1 ? (TH_SYN_ | TH_RST_ | TH_ACK_)
                                   : (TH_SYN_ | TH_ACK_ | TH_PSH_ | TH_FIN_);
    }
    f->packets = f->tcp_flags == TH_SYN_ ? 1 + rnd(3) : 2 + rnd(200);
    f->bytes = f->packets * (40 + rnd(1400));
    f->last_ms = recv - rnd(1000);
    f->first_ms = f->last_ms - rnd(120000);
    f->in_if = 1 + rnd(4);
    f->out_if = 1 + rnd(4);
    f->src_as = 64512;
    f->dst_as = rnd(2) ? 64513 : 15169;
    f->received_ms = recv;
}

static const struct arg_opt options[] = {
    {"help", 'h', ARG_FLAG, 'h', NULL, "this help", NULL},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
};

/* DB COUNT [HOURS [START_MS]] into words; returns -1 to go on, 0 after --help, 2 on error. */
static int parse_args(int argc, char **argv, const char **words)
{
    struct args a;
    args_init(&a, "gen_flows", options, argc, argv);
    a.max_words = 4;
    int id, n = 0;
    while ((id = args_next(&a)) != ARGS_END) {
        if (id == ARGS_ERROR)
            return 2;
        if (id == 'h') {
            printf("Usage: gen_flows DB COUNT [HOURS [START_MS]]\n");
            args_help(options, stdout);
            return 0;
        }
        words[n++] = a.value;
    }
    if (n >= 2)
        return -1;
    args_usage_error(&a, "expected DB COUNT [HOURS [START_MS]]");
    return 2;
}

int main(int argc, char **argv)
{
    const char *words[4] = {NULL, NULL, "24", "1795392000000"};
    int rc = parse_args(argc, argv, words);
    if (rc >= 0)
        return rc;
    int64_t count = strtoll(words[1], NULL, 10);
    int64_t hours = strtoll(words[2], NULL, 10);
    int64_t start = strtoll(words[3], NULL, 10);
    if (count <= 0 || hours <= 0) {
        fprintf(stderr, "gen_flows: COUNT and HOURS must be positive\n");
        return 2;
    }
    char err[256];
    struct store_options opt = {.synchronous_off = true};
    struct store *s = store_open(words[0], STORE_RW, &opt, err, sizeof(err));
    if (!s) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    double step = (double)(hours * 3600000) / (double)count;
    for (int64_t i = 0; i < count; i++) {
        if (i % 100000 == 0 &&
            (store_commit(s, err, sizeof(err)) || store_begin(s, err, sizeof(err))))
            break;
        struct flow f;
        make_flow(&f, start + (int64_t)((double)i * step));
        if (store_add_flow(s, &f, err, sizeof(err))) {
            fprintf(stderr, "%s\n", err);
            store_close(s);
            return 1;
        }
    }
    rc = store_commit(s, err, sizeof(err));
    store_close(s);
    if (rc) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    return 0;
}
