/* test_hostile.c - issue 13's attacks on v9/IPFIX template state, against the real flowhoundd:
 * a good v5 exporter at a steady rate stores every flow it sends while another source churns
 * one template between two 512-field layouts, or while 40 addresses flood 512-field templates
 * (and the daemon's memory stays within the template budget); templates not refreshed expire.
 * The senders are tests/traffic.c, over real loopback sockets. */
#include "config.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/helpers.h"
#include "tests/traffic.h"

#define GOOD         "127.0.30.1"
#define GOOD_RATE    6000 /* flows a second, as a busy router's v5 export */
#define ATTACK_SECS  4.0
#define CHURNER      "127.0.30.2"
#define CHURN_RATE   300 /* datagrams a second: ten times the rate of the report */
#define CHURN_FIELDS 512

struct good_run {
    uint16_t port;
    uint64_t sent;
};

static void *good_exporter(void *arg)
{
    struct good_run *g = arg;
    g->sent = tr_good_v5(g->port, GOOD, GOOD_RATE, ATTACK_SECS);
    return NULL;
}

/* Runs the good exporter in a thread while `attack` runs in this one; returns flows sent. */
static uint64_t beside_good_exporter(uint16_t port, void (*attack)(void *), void *arg)
{
    struct good_run g = {port, 0};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, good_exporter, &g), 0);
    attack(arg);
    pthread_join(th, NULL);
    cr_assert_gt(g.sent, 0);
    return g.sent;
}

static void expect_all_stored(const char *db, uint64_t sent)
{
    int64_t stored = th_db_int(db, "SELECT count(*) FROM flows WHERE exporter = '" GOOD "'");
    cr_expect_eq(stored, (int64_t)sent, "the good exporter: %lld flows stored of %llu sent",
                 (long long)stored, (unsigned long long)sent);
    cr_expect_eq(th_db_int(db, "SELECT seq_lost FROM exporter_domains WHERE addr = '" GOOD "'"), 0);
}

struct churn_run {
    uint16_t port;
    uint64_t sent;
};

static void churn(void *arg)
{
    struct churn_run *c = arg;
    c->sent = tr_churn(c->port, CHURNER, CHURN_RATE, ATTACK_SECS, CHURN_FIELDS);
}

/* A 4 MiB socket buffer instead of 32: a receiver that falls behind loses datagrams within
 * the seconds of the test, as it did within minutes in the report. */
static const char *const small_buffer = "4M";

/* Starts the daemon with template-changes `changes`, churns beside the good exporter, stops
 * the daemon and checks that the good exporter lost nothing. Returns churn datagrams sent. */
static uint64_t churn_beside_good_exporter(struct th_daemon *d, const char *changes)
{
    const char *args[] = {"--rcvbuf", small_buffer, "--template-changes", changes, NULL};
    th_daemon_start(d, args);
    struct churn_run c = {d->port, 0};
    uint64_t sent = beside_good_exporter(d->port, churn, &c);
    cr_assert_eq(th_daemon_stop(d), 0);
    expect_all_stored(d->db, sent);
    cr_expect_eq(c.sent, (uint64_t)(CHURN_RATE * ATTACK_SECS));
    return c.sent;
}

/* Every redefinition accepted (no rate limit): what is tested is what one costs. Before issue
 * 13 each cost libfixbuf 3.4 ms and the good exporter lost most of its flows. */
Test(hostile, template_churn_costs_a_good_exporter_nothing, .timeout = 120)
{
    struct th_daemon d = {0};
    uint64_t churned = churn_beside_good_exporter(&d, "0");
    cr_expect_eq(th_db_int(d.db, "SELECT count(*) FROM flows WHERE exporter = '" CHURNER "'"),
                 (int64_t)churned, "every churned layout was used: each record decoded");
    th_daemon_cleanup(&d);
}

Test(hostile, template_changes_beyond_the_rate_are_refused_and_counted, .timeout = 120)
{
    struct th_daemon d = {0};
    uint64_t churned = churn_beside_good_exporter(&d, "30");
    /* 30 changes a minute: the first 30 and about two more in a 4-second run. After those,
     * every other datagram brings the layout held (a refresh, used) and the others a change
     * (refused). */
    int64_t used = th_db_int(d.db, "SELECT count(*) FROM flows WHERE exporter = '" CHURNER "'");
    int64_t refused = th_db_int(d.db, "SELECT templates_refused FROM exporter_domains"
                                      " WHERE addr = '" CHURNER "'");
    cr_expect_eq(used + refused, (int64_t)churned, "each change used or refused");
    cr_expect(refused >= (int64_t)churned / 2 - 40, "%lld of %llu refused", (long long)refused,
              (unsigned long long)churned);
    cr_expect_eq(th_db_int(d.db, "SELECT records_rejected FROM exporter_domains"
                                 " WHERE addr = '" CHURNER "'"),
                 refused, "the record in a refused layout is not read with the held one");
    cr_expect_eq(th_db_int(d.db, "SELECT count FROM exporter_rejects WHERE addr = '" CHURNER
                                 "' AND reason = 'template_churn'"),
                 refused);
    cr_expect_eq(th_db_int(d.db, "SELECT count(*) FROM templates WHERE exporter = '" CHURNER "'"),
                 1);
    th_daemon_cleanup(&d);
}

/* ---- the flood: memory ---- */

#define FLOOD_SOURCES   40
#define FLOOD_TEMPLATES 512 /* per source; 40 x 512 x 512 fields: 20480 templates */
#define BUDGET_MIB      8
/* What else the daemon's memory grows by in the test: the good exporter's flows through the
 * queue (up to 8 MiB of batches) and SQLite's page cache, the receive buffers of big
 * datagrams (64 x 64 KiB), ASan's quarantine (4 MiB, below) and allocator caches. Measured:
 * +25 MiB under ASan with the budget, +245 MiB without; in a release build +14 and +168. */
#define MARGIN_MIB 40

static int64_t rss_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    int64_t kib = -1;
    while (f && kib < 0 && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) != 1)
            kib = -1;
    if (f)
        fclose(f);
    return kib;
}

struct flood_run {
    uint16_t port;
    pid_t pid;
    uint64_t sent;
    int64_t peak_kib;
    atomic_bool done; /* set by the flood thread, read by the sampling one */
};

static void *flood_thread(void *arg)
{
    struct flood_run *r = arg;
    r->sent = tr_flood(r->port, 31, FLOOD_SOURCES, FLOOD_TEMPLATES, 512, 16, 400);
    atomic_store(&r->done, true);
    return NULL;
}

/* Floods from a thread while this one samples the daemon's memory every 20 ms. */
static void flood(void *arg)
{
    struct flood_run *r = arg;
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, flood_thread, r), 0);
    while (!atomic_load(&r->done)) {
        int64_t kib = rss_kib(r->pid);
        if (kib > r->peak_kib)
            r->peak_kib = kib;
        usleep(20000);
    }
    pthread_join(th, NULL);
}

/* Before issue 13 this took RSS from 9 to 468 MB (40 x 1024 templates) and wrote them all to
 * the store. ASan keeps freed memory aside (quarantine, 256 MB by default) to catch uses after
 * free: the flood's refused templates are freed at once, so the daemon gets a small one. */
Test(hostile, template_flood_stays_within_the_budget, .timeout = 180)
{
    const char *asan = getenv("ASAN_OPTIONS");
    char opts[512];
    snprintf(opts, sizeof(opts), "%s%squarantine_size_mb=4", asan ? asan : "", asan ? ":" : "");
    setenv("ASAN_OPTIONS", opts, 1);
    struct th_daemon d = {0};
    const char *args[] = {"--template-budget", "8M", "--template-budget-exporter", "1M", NULL};
    th_daemon_start(&d, args);
    struct flood_run r = {.port = d.port, .pid = d.pid};
    int64_t before = rss_kib(d.pid);
    cr_assert_gt(before, 0);
    uint64_t sent = beside_good_exporter(d.port, flood, &r);
    int64_t grew = r.peak_kib - before;
    cr_assert_eq(th_daemon_stop(&d), 0);
    cr_log_info("flood: %llu templates sent; RSS %lld KiB, peak %lld KiB (+%lld)",
                (unsigned long long)r.sent, (long long)before, (long long)r.peak_kib,
                (long long)grew);
    expect_all_stored(d.db, sent);
    cr_expect_eq(r.sent, (uint64_t)FLOOD_SOURCES * FLOOD_TEMPLATES);
#ifndef FH_TSAN /* ThreadSanitizer's shadow memory is several times the heap */
    cr_expect_lt(grew, (BUDGET_MIB + MARGIN_MIB) * 1024, "RSS grew by %lld KiB", (long long)grew);
#endif
    cr_expect_leq(th_db_int(d.db, "SELECT sum(template_bytes) FROM exporter_domains"),
                  BUDGET_MIB << 20);
    cr_expect_gt(th_db_int(d.db, "SELECT sum(templates_refused) FROM exporter_domains"), 0);
    cr_expect_gt(th_db_int(d.db, "SELECT sum(count) FROM exporter_rejects"
                                 " WHERE reason = 'template_budget'"),
                 0);
    /* A 512-field template costs more than 64 KiB: 128 of them at most, in memory and stored. */
    cr_expect_leq(th_db_int(d.db, "SELECT count(*) FROM templates"), (BUDGET_MIB << 20) / 65536);
    th_daemon_cleanup(&d);
}

/* ---- expiry ---- */

/* Template 256 of a few fields, with one record when with_record; from src. */
static void send_small_template(uint16_t port, const char *src, bool with_record)
{
    uint8_t buf[1024];
    size_t len = tr_template_msg(buf, 256, 1, 8, 0, with_record, 0);
    cr_assert(th_udp_send(port, src, buf, len));
}

Test(hostile, templates_not_refreshed_expire, .timeout = 90)
{
    struct th_daemon d = {0};
    const char *args[] = {"--template-timeout", "2s", NULL};
    th_daemon_start(&d, args);
    send_small_template(d.port, "127.0.32.1", true); /* sent once */
    cr_assert_eq(th_db_wait(d.db,
                            "SELECT count(*) FROM templates WHERE exporter = '127.0.32.1'"
                            " AND template_id = 256",
                            1, 10000),
                 1, "stored");
    /* 127.0.32.2 resends its template every 300 ms (an exporter's refresh), while we wait up
     * to 20 s for the other one's to expire. */
    bool expired = false;
    for (int i = 0; i < 66 && !expired; i++) {
        send_small_template(d.port, "127.0.32.2", false);
        usleep(300000);
        expired = th_db_int(d.db, "SELECT templates_expired FROM exporter_domains"
                                  " WHERE addr = '127.0.32.1'") == 1 &&
                  th_db_int(d.db, "SELECT count(*) FROM templates"
                                  " WHERE exporter = '127.0.32.1'") == 0;
    }
    cr_expect(expired, "counted, and withdrawn from the store");
    cr_expect_eq(th_db_int(d.db, "SELECT templates_expired FROM exporter_domains"
                                 " WHERE addr = '127.0.32.2'"),
                 0, "a refreshed template does not expire");
    cr_expect_eq(th_db_int(d.db, "SELECT count(*) FROM templates WHERE exporter = '127.0.32.2'"),
                 1);
    /* Data for the expired template: counted as having none. */
    uint8_t buf[1024];
    size_t len = tr_template_msg(buf, 256, 1, 8, 0, true, 0);
    size_t tlen = tr_template_msg(buf, 256, 1, 8, 0, false, 0);
    memmove(buf + 16, buf + tlen, len - tlen); /* the data set alone */
    buf[2] = (uint8_t)((16 + len - tlen) >> 8), buf[3] = (uint8_t)(16 + len - tlen);
    cr_assert(th_udp_send(d.port, "127.0.32.1", buf, 16 + len - tlen));
    cr_expect_eq(th_db_wait(d.db,
                            "SELECT count FROM exporter_rejects WHERE addr = '127.0.32.1'"
                            " AND reason = 'template_missing'",
                            1, 10000),
                 1);
    cr_assert_eq(th_daemon_stop(&d), 0);
    cr_expect_eq(th_db_int(d.db, "SELECT count(*) FROM flows WHERE exporter = '127.0.32.1'"), 1);
    th_daemon_cleanup(&d);
}
