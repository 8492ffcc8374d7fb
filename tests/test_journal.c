/* test_journal.c - the receive journal on its own: order across segments, reading from a
 * committed position, the size bound and what it counts, torn and damaged records, and an
 * appender and a reader in two threads. */
#include "config.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collector/journal.h"
#include "tests/helpers.h"

#define SEG 4096 /* small segments: a few records each */

/* Record i: from 10.0.x.y, port 2055 + i % 3, payload of i % 700 + 1 bytes of i. */
static void make_rec(uint32_t i, struct journal_rec *r, uint8_t *data)
{
    memset(r, 0, sizeof(*r));
    uint8_t a[4] = {10, 0, (uint8_t)(i >> 8), (uint8_t)i};
    addr_from_v4(&r->from, a);
    r->port = (uint16_t)(2055 + i % 3);
    r->received_ms = 1700000000000LL + i;
    r->len = i % 700 + 1;
    memset(data, (int)(i & 0xff), r->len);
    memcpy(data, &i, r->len < 4 ? r->len : 4);
}

static void check_rec(uint32_t i, const struct journal_rec *r, const uint8_t *data)
{
    struct journal_rec want;
    uint8_t wdata[1024];
    make_rec(i, &want, wdata);
    cr_assert_eq(r->len, want.len, "record %u: length", i);
    cr_assert(addr_equal(&r->from, &want.from), "record %u: source", i);
    cr_assert_eq(r->port, want.port, "record %u: port", i);
    cr_assert_eq(r->received_ms, want.received_ms, "record %u: time", i);
    cr_assert_eq(memcmp(data, wdata, r->len), 0, "record %u: bytes", i);
}

static struct journal *open_j(const char *dir, struct journal_pos from, uint64_t max)
{
    char err[256];
    struct journal_opts o = {.dir = dir, .segment_bytes = SEG, .max_bytes = max};
    struct journal *j = journal_open(&o, from, err, sizeof(err));
    cr_assert(j, "%s", err);
    return j;
}

static void append_n(struct journal *j, uint32_t from, uint32_t n)
{
    uint8_t data[1024];
    struct journal_rec r;
    for (uint32_t i = from; i < from + n; i++) {
        make_rec(i, &r, data);
        cr_assert_eq(journal_append(j, &r, data), 0, "append %u", i);
    }
    cr_assert_eq(journal_flush(j), 0);
}

/* Reads what is there; checks records first, first+1, ...; returns how many, *last = the
 * position after the last one. */
static uint32_t read_all(struct journal *j, uint32_t first, struct journal_pos *last)
{
    struct journal_rec r;
    const uint8_t *data;
    struct journal_pos after, prev = {0, 0};
    char err[256];
    uint32_t n = 0;
    while (journal_next(j, &r, &data, &after, 0, err, sizeof(err)) == 1) {
        check_rec(first + n, &r, data);
        cr_assert(after.seg > prev.seg || (after.seg == prev.seg && after.off > prev.off),
                  "positions only grow");
        prev = after;
        n++;
    }
    if (last)
        *last = prev;
    return n;
}

static int count_segments(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "ls %s/*.fhj 2>/dev/null | wc -l", dir);
    FILE *p = popen(cmd, "r");
    int n = -1;
    cr_assert(p && fscanf(p, "%d", &n) == 1);
    pclose(p);
    return n;
}

Test(journal, order_is_kept_across_segments)
{
    char *dir = th_tmpdir(), jdir[600];
    snprintf(jdir, sizeof(jdir), "%s/j", dir);
    struct journal *j = open_j(jdir, (struct journal_pos){0, 0}, 0);
    append_n(j, 0, 500);
    cr_expect_eq(read_all(j, 0, NULL), 500);
    cr_expect(journal_caught_up(j));
    struct journal_stats st;
    journal_get_stats(j, &st);
    cr_expect_eq(st.appended, 500);
    cr_expect_eq(st.read, 500);
    cr_expect_gt(st.segments, 10, "many segments: %llu", (unsigned long long)st.segments);
    cr_expect_eq(st.lost + st.torn, 0);
    journal_close(j);
    th_rmtree(dir);
    free(dir);
}

/* A restart reads from the position the store committed: exactly the records after it. */
Test(journal, a_restart_reads_from_the_committed_position)
{
    char *dir = th_tmpdir(), jdir[600];
    snprintf(jdir, sizeof(jdir), "%s/j", dir);
    struct journal *j = open_j(jdir, (struct journal_pos){0, 0}, 0);
    append_n(j, 0, 300);
    struct journal_rec r;
    const uint8_t *data;
    struct journal_pos taken = {0, 0};
    char err[256];
    for (int i = 0; i < 123; i++)
        cr_assert_eq(journal_next(j, &r, &data, &taken, 0, err, sizeof(err)), 1);
    journal_close(j); /* as after kill -9: the rest was read but never stored */
    j = open_j(jdir, taken, 0);
    cr_expect_eq(read_all(j, 123, NULL), 300 - 123, "the rest, nothing twice");
    append_n(j, 300, 50);
    cr_expect_eq(read_all(j, 300, NULL), 50, "then what arrives after the restart");
    journal_close(j);
    th_rmtree(dir);
    free(dir);
}

Test(journal, segments_the_store_has_taken_are_deleted)
{
    char *dir = th_tmpdir(), jdir[600];
    snprintf(jdir, sizeof(jdir), "%s/j", dir);
    struct journal *j = open_j(jdir, (struct journal_pos){0, 0}, 0);
    append_n(j, 0, 400);
    struct journal_pos last;
    cr_assert_eq(read_all(j, 0, &last), 400);
    int before = count_segments(jdir);
    journal_taken(j, last);
    cr_expect_lt(count_segments(jdir), before);
    cr_expect_leq(count_segments(jdir), 2, "only the last segment(s) remain");
    journal_close(j);
    th_rmtree(dir);
    free(dir);
}

static uint64_t lost_seen;
static void on_lost(void *ctx, const struct journal_rec *r)
{
    (void)ctx;
    cr_assert(r->len >= 1 && r->len <= 700);
    lost_seen++;
}

/* Over the bound the oldest unread segments go, and every record in them is counted. */
Test(journal, the_bound_drops_the_oldest_and_counts_every_record)
{
    char *dir = th_tmpdir(), jdir[600], err[256];
    snprintf(jdir, sizeof(jdir), "%s/j", dir);
    struct journal_opts o = {
        .dir = jdir, .segment_bytes = SEG, .max_bytes = 4 * SEG, .on_lost = on_lost};
    lost_seen = 0;
    struct journal *j = journal_open(&o, (struct journal_pos){0, 0}, err, sizeof(err));
    cr_assert(j, "%s", err);
    append_n(j, 0, 1000); /* the reader reads nothing meanwhile */
    struct journal_stats st;
    journal_get_stats(j, &st);
    cr_expect_leq(st.bytes, 4 * SEG + SEG, "bounded: %llu bytes", (unsigned long long)st.bytes);
    cr_expect_gt(st.lost, 0);
    cr_expect_eq(st.lost, lost_seen, "each lost record reported");
    struct journal_rec r;
    const uint8_t *data;
    struct journal_pos after;
    uint64_t got = 0;
    uint32_t prev = 0;
    while (journal_next(j, &r, &data, &after, 0, err, sizeof(err)) == 1) {
        uint32_t i;
        memcpy(&i, data, r.len < 4 ? r.len : 4);
        cr_assert(got == 0 || i == prev + 1 || i > prev, "order kept");
        check_rec(i, &r, data);
        prev = i;
        got++;
    }
    journal_get_stats(j, &st);
    cr_expect_eq(got + st.lost, 1000, "read %llu + lost %llu = appended", (unsigned long long)got,
                 (unsigned long long)st.lost);
    cr_expect_eq(prev, 999, "the newest survive");
    journal_close(j);
    th_rmtree(dir);
    free(dir);
}

static char *last_segment(const char *jdir)
{
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "ls %s/*.fhj | tail -n 1", jdir);
    FILE *p = popen(cmd, "r");
    static char path[700];
    cr_assert(p && fgets(path, sizeof(path), p));
    pclose(p);
    path[strcspn(path, "\n")] = '\0';
    return path;
}

/* A crash in the middle of a write leaves a torn last record: ignored, counted. */
Test(journal, a_torn_last_record_is_ignored)
{
    char *dir = th_tmpdir(), jdir[600];
    snprintf(jdir, sizeof(jdir), "%s/j", dir);
    struct journal *j = open_j(jdir, (struct journal_pos){0, 0}, 0);
    append_n(j, 0, 100);
    journal_close(j);
    const char *seg = last_segment(jdir);
    struct stat sb;
    cr_assert_eq(stat(seg, &sb), 0);
    cr_assert_eq(truncate(seg, sb.st_size - 3), 0);
    j = open_j(jdir, (struct journal_pos){0, 0}, 0);
    cr_expect_eq(read_all(j, 0, NULL), 99, "every whole record, the torn one not");
    struct journal_stats st;
    journal_get_stats(j, &st);
    cr_expect_eq(st.torn, 1);
    append_n(j, 100, 10);
    cr_expect_eq(read_all(j, 100, NULL), 10, "new records after the torn one are read");
    journal_close(j);
    th_rmtree(dir);
    free(dir);
}

/* A damaged byte fails the record's CRC: it is never handed out as a datagram. */
Test(journal, a_damaged_record_fails_its_crc_and_is_skipped)
{
    char *dir = th_tmpdir(), jdir[600];
    snprintf(jdir, sizeof(jdir), "%s/j", dir);
    struct journal *j = open_j(jdir, (struct journal_pos){0, 0}, 0);
    append_n(j, 0, 3);
    journal_close(j);
    const char *seg = last_segment(jdir);
    int fd = open(seg, O_RDWR);
    cr_assert_geq(fd, 0);
    uint8_t b = 0x5a;
    /* the third record's payload: after the 32-byte header and two records (40 + 1, 40 + 2) */
    cr_assert_eq(pwrite(fd, &b, 1, 32 + 41 + 42 + 40 + 1), 1);
    close(fd);
    j = open_j(jdir, (struct journal_pos){0, 0}, 0);
    cr_expect_eq(read_all(j, 0, NULL), 2);
    struct journal_stats st;
    journal_get_stats(j, &st);
    cr_expect_eq(st.torn, 1);
    journal_close(j);
    th_rmtree(dir);
    free(dir);
}

struct appender {
    struct journal *j;
    uint32_t n;
};

static void *append_thread(void *arg)
{
    struct appender *a = arg;
    uint8_t data[1024];
    struct journal_rec r;
    for (uint32_t i = 0; i < a->n; i++) {
        make_rec(i, &r, data);
        journal_append(a->j, &r, data);
        if (i % 64 == 63)
            journal_flush(a->j); /* as the receiver after each recvmmsg */
    }
    journal_flush(a->j);
    return NULL;
}

/* The receiver appends while the decoder reads, the reader waiting for the appender. */
Test(journal, an_appender_and_a_reader_in_two_threads, .timeout = 60)
{
    char *dir = th_tmpdir(), jdir[600], err[256];
    snprintf(jdir, sizeof(jdir), "%s/j", dir);
    struct journal_opts o = {.dir = jdir, .segment_bytes = 64 * 1024, .max_bytes = 1u << 30};
    struct journal *j = journal_open(&o, (struct journal_pos){0, 0}, err, sizeof(err));
    cr_assert(j, "%s", err);
    struct appender a = {j, 20000};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, append_thread, &a), 0);
    uint32_t got = 0;
    struct journal_rec r;
    const uint8_t *data;
    struct journal_pos after, taken = {0, 0};
    int idle = 0;
    while (got < a.n && idle < 200) {
        int rc = journal_next(j, &r, &data, &after, 50, err, sizeof(err));
        cr_assert_geq(rc, 0, "%s", err);
        if (rc == 0) {
            idle++;
            continue;
        }
        idle = 0;
        check_rec(got++, &r, data);
        if (got % 1000 == 0)
            journal_taken(j, taken), taken = after; /* the store commits behind the reader */
    }
    pthread_join(t, NULL);
    cr_expect_eq(got, a.n, "every record, in order");
    struct journal_stats st;
    journal_get_stats(j, &st);
    cr_expect_eq(st.lost + st.torn, 0);
    cr_expect_gt(st.syncs, 0, "read only what was synced");
    journal_close(j);
    th_rmtree(dir);
    free(dir);
}
