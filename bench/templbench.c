/* templbench.c - what v9/IPFIX template state costs the decoder, in process through
 * decode_packet (issue 13; doc/ipfix.md "Template state"):
 *
 *   templbench churn [DATAGRAMS [RUNS]]    CPU per datagram of one source alternating two
 *                                          512-field layouts of template 256, one record
 *                                          each: every change accepted, then at the default
 *                                          rate of changes; beside it a refresh (same layout)
 *                                          and a v5 datagram. Medians of RUNS (default 5).
 *   templbench memory [FIELDS...]          heap per template held (mallinfo2), without and
 *                                          with libfixbuf's copy (data decoded), against the
 *                                          budget's estimate (tmpl_cost).
 *   templbench flood [SOURCES [TEMPLATES]] 512-field templates from SOURCES addresses,
 *                                          TEMPLATES each, at the default budgets: held,
 *                                          refused, heap, CPU per template.
 *
 * The datagrams are tests/traffic.c's, as the end-to-end tests send them. */
#include "config.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collector/decode.h"
#include "collector/fixbuf_decode.h"
#include "common/args.h"
#include "tests/traffic.h"

static bool discard(void *ctx, const struct flow *f)
{
    (void)f;
    (*(uint64_t *)ctx)++;
    return true;
}

static uint64_t flows_out;
static const struct flow_emitter out = {discard, &flows_out};

static void table_init(struct exporter_table *t)
{
    exporters_init(t, 4096, 64);
    t->free_proto_state = fixbuf_free_state;
}

static double cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, unsigned n)
{
    qsort(v, n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* CPU µs per datagram of decoding msgs[i % 2] n times from one source, a fresh table. */
static double run_datagrams(uint8_t *const msgs[2], const size_t lens[2], unsigned n,
                            unsigned changes_per_min)
{
    struct exporter_table t;
    table_init(&t);
    t.templates.changes_per_min = changes_per_min;
    struct fh_addr from = {.family = 4, .bytes = {127, 0, 30, 2}};
    double start = cpu_us();
    for (unsigned i = 0; i < n; i++)
        decode_packet(&t, &from, msgs[i % 2], lens[i % 2], 1700000000000LL + i, &out);
    double us = (cpu_us() - start) / n;
    exporters_free(&t);
    return us;
}

static void churn(unsigned n, unsigned runs)
{
    uint8_t *a = malloc(TR_MAX_MSG), *b = malloc(TR_MAX_MSG), v5[24 + 48 * 30];
    size_t la = tr_template_msg(a, 256, 1, 512, 0, true, 0);
    size_t lb = tr_template_msg(b, 256, 1, 512, 1, true, 0);
    size_t l5 = tr_v5(v5, 30, 0, 0);
    struct {
        const char *what;
        uint8_t *m[2];
        size_t l[2];
        unsigned changes;
    } cases[] = {
        {"churn, every change accepted", {a, b}, {la, lb}, 0},
        {"churn, default rate of changes", {a, b}, {la, lb}, EXPORTERS_TEMPLATE_CHANGES},
        {"refresh (the same layout again)", {a, a}, {la, la}, 0},
        {"v5, 30 records", {v5, v5}, {l5, l5}, 0},
    };
    printf("%u datagrams of %zu bytes, median of %u runs (CPU us per datagram):\n", n, la, runs);
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        double us[64];
        for (unsigned r = 0; r < runs; r++)
            us[r] = run_datagrams(cases[c].m, cases[c].l, n, cases[c].changes);
        printf("  %-34s %8.1f\n", cases[c].what, median(us, runs));
    }
    free(a);
    free(b);
}

/* Heap in use now (bytes). */
static size_t heap(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

/* Heap per template of n fields held by one domain (with_data: decoded, so libfixbuf holds
 * its copy too), over 200 templates. */
static double heap_per_template(unsigned fields, bool with_data, size_t *estimate)
{
    struct exporter_table t;
    table_init(&t);
    t.templates.budget_all = t.templates.budget_exporter = 0;
    uint8_t *m = malloc(TR_MAX_MSG);
    struct fh_addr from = {.family = 4, .bytes = {127, 0, 30, 3}};
    size_t len = tr_template_msg(m, 256, 1, fields, 0, with_data, 0);
    decode_packet(&t, &from, m, len, 1, &out); /* the session and first-use state */
    size_t before = heap();
    uint64_t charged = t.templates.used_all;
    for (unsigned i = 1; i <= 200; i++) {
        len = tr_template_msg(m, (uint16_t)(256 + i), 1, fields, 0, with_data, 0);
        decode_packet(&t, &from, m, len, 1, &out);
    }
    double per = (double)(heap() - before) / 200;
    *estimate = (size_t)((t.templates.used_all - charged) / 200);
    exporters_free(&t);
    free(m);
    return per;
}

static unsigned arg_or(int argc, char **argv, int i, unsigned def);

static void memory(int argc, char **argv)
{
    static const unsigned defaults[] = {5, 30, 64, 512};
    unsigned n = argc > 2 ? (unsigned)argc - 2 : 4;
    printf("%8s %14s %14s %14s\n", "fields", "heap", "heap+fixbuf", "tmpl_cost");
    for (unsigned i = 0; i < n; i++) {
        unsigned f = argc > 2 ? arg_or(argc, argv, (int)i + 2, 0) : defaults[i];
        size_t est;
        double plain = heap_per_template(f > 512 ? 512 : f, false, &est);
        double fed = heap_per_template(f > 512 ? 512 : f, true, &est);
        printf("%8u %14.0f %14.0f %14zu\n", f, plain, fed, est);
    }
}

static void flood(unsigned sources, unsigned templates)
{
    struct exporter_table t;
    table_init(&t);
    uint8_t *m = malloc(TR_MAX_MSG);
    size_t before = heap();
    double start = cpu_us();
    for (unsigned k = 0; k < templates; k += 16) {
        size_t len = tr_template_msg(m, (uint16_t)(256 + k), 16, 512, 0, false, 0);
        for (unsigned s = 0; s < sources; s++) {
            struct fh_addr from = {
                .family = 4, .bytes = {127, 0, (uint8_t)(31 + s / 250), (uint8_t)(1 + s % 250)}};
            decode_packet(&t, &from, m, len, 1700000000000LL, &out);
        }
    }
    double us = cpu_us() - start;
    uint64_t held = 0, refused = 0;
    for (unsigned i = 0; i < t.cap; i++)
        for (unsigned d = 0; t.slots[i] && d < t.slots[i]->n_domains; d++) {
            held += fixbuf_templates(&t.slots[i]->domains[d])->n;
            refused += t.slots[i]->domains[d].templates_refused;
        }
    printf("%u sources x %u templates x 512 fields: %llu held (%.1f MiB charged of %.0f), %llu "
           "refused; heap +%.1f MiB; %.2f us CPU a template\n",
           sources, templates, (unsigned long long)held, t.templates.used_all / 1048576.0,
           t.templates.budget_all / 1048576.0, (unsigned long long)refused,
           (double)(heap() - before) / 1048576.0, us / ((double)sources * templates));
    exporters_free(&t);
    free(m);
}

static unsigned arg_or(int argc, char **argv, int i, unsigned def)
{
    int64_t v;
    if (i >= argc)
        return def;
    if (!args_count(argv[i], &v) || v < 1 || v > 1000000) {
        fprintf(stderr, "templbench: '%s' is not a count (1..1000000)\n", argv[i]);
        exit(2);
    }
    return (unsigned)v;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "churn")) {
        unsigned runs = arg_or(argc, argv, 3, 5);
        churn(arg_or(argc, argv, 2, 2000), runs > 64 ? 64 : runs);
    } else if (argc >= 2 && !strcmp(argv[1], "memory")) {
        memory(argc, argv);
    } else if (argc >= 2 && !strcmp(argv[1], "flood")) {
        flood(arg_or(argc, argv, 2, 40), arg_or(argc, argv, 3, 1024));
    } else {
        fprintf(stderr, "usage: templbench churn [DATAGRAMS [RUNS]] | memory [FIELDS...] | "
                        "flood [SOURCES [TEMPLATES]]\n");
        return 2;
    }
    return 0;
}
