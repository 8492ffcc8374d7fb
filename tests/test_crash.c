/* test_crash.c - the receive journal against the real flowhoundd (issue 15): kill -9 while the
 * store is behind, restart, and every flow received is stored exactly once; a stop leaves what
 * it could not decode in the journal for the next start; a torn journal tail is skipped. */
#include "config.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/timeutil.h"
#include "tests/helpers.h"
#include "tests/traffic.h"

#define SRC "127.0.0.1"

static const char *const args[] = {"--analyzer=no", NULL};

static int64_t stored(const struct th_daemon *d)
{
    return th_db_int(d->db, "SELECT count(*) FROM flows");
}

/* Rows that are the same flow (tr_v5 makes every record distinct) beyond the first. */
static int64_t duplicates(const struct th_daemon *d)
{
    return th_db_int(d->db, "SELECT count(*) - (SELECT count(*) FROM (SELECT DISTINCT src_addr, "
                            "src_port, dst_addr, dst_port, first_ms, last_ms FROM flows)) "
                            "FROM flows");
}

static void kill9(struct th_daemon *d);

/* Bytes of the daemon's journal segments, from their sizes (one 64 MiB segment holds these
 * tests' sends). */
static int64_t journal_bytes(const struct th_daemon *d)
{
    char cmd[700];
    snprintf(cmd, sizeof(cmd),
             "find '%s.received' -name '*.fhj' -printf '%%s\\n' 2>/dev/null | "
             "awk '{ n += $1 } END { print n + 0 }'",
             d->db);
    FILE *p = popen(cmd, "r");
    long long n = 0;
    if (p) {
        if (fscanf(p, "%lld", &n) != 1)
            n = 0;
        pclose(p);
    }
    return n;
}

/* kill -9 once every datagram sent is in the journal: what the kernel still held in the socket
 * (sent, not yet read) dies with the process whatever a collector does, and is not what these
 * tests are about. A datagram of 30 records is 24 + 30 * 48 bytes, 40 more in the journal;
 * each segment has a 32-byte header. */
static void kill9_when_journaled(struct th_daemon *d, int64_t sent)
{
    int64_t want = 32 + sent / 30 * (40 + 24 + 30 * 48), t0 = mono_ms();
    for (int64_t end = t0 + 30000; journal_bytes(d) < want && mono_ms() < end;)
        usleep(2000);
    fprintf(stderr, "journaled %lld ms after the send\n", (long long)(mono_ms() - t0));
    cr_assert_geq(journal_bytes(d), want, "the journal holds what was sent");
    kill9(d);
}

static void kill9(struct th_daemon *d)
{
    cr_assert_eq(kill(d->pid, SIGKILL), 0);
    int status;
    waitpid(d->pid, &status, 0);
    d->pid = 0;
}

static int64_t kernel_drops(const struct th_daemon *d)
{
    return th_db_int(d->db, "SELECT coalesce(sum(kernel_drops), 0) FROM exporters");
}

/* Sends `flows` v5 flows (datagrams of 30) at `rate` a second; returns what the kernel took. */
static int64_t send_flows(const struct th_daemon *d, unsigned rate, unsigned flows)
{
    return (int64_t)tr_good_v5(d->port, SRC, rate, (double)flows / rate);
}

Test(crash, kill_9_with_a_backlog_then_restart_stores_each_flow_once, .timeout = 240)
{
    struct th_daemon d = {0};
    /* a partition (and its index) every 1000 rows: a store far slower than the send, so that
     * at the kill most of what was sent waits in the journal, whatever the machine */
    static const char *const slow_commits[] = {"--analyzer=no", "--partition-rows=1000", NULL};
    th_daemon_start(&d, slow_commits);
    /* faster than a sanitizer build stores: the journal holds the difference at the kill */
    int64_t sent = send_flows(&d, 300000, 600000); /* the rate, 2 s */
    kill9_when_journaled(&d, sent);
    int64_t at_kill = stored(&d); /* what the store had committed */
    fprintf(stderr, "kill -9: sent %lld, stored at the kill %lld\n", (long long)sent,
            (long long)at_kill);
    cr_assert_lt(at_kill, sent, "the store was behind at the kill (else this proves nothing)");
    th_daemon_start_db(&d, d.db, slow_commits);
    int64_t got = th_db_wait(d.db, "SELECT count(*) FROM flows", sent, 120000);
    cr_assert_eq(th_daemon_stop(&d), 0);
    got = stored(&d);
    int64_t drops = kernel_drops(&d);
    fprintf(stderr, "after the restart: stored %lld, kernel drops %lld datagrams\n", (long long)got,
            (long long)drops);
    cr_expect_eq(got + 30 * drops, sent, "stored %lld + dropped by the kernel %lld = sent %lld",
                 (long long)got, (long long)(30 * drops), (long long)sent);
    cr_expect_eq(duplicates(&d), 0, "no flow stored twice");
    /* a checksum of the rows: every flow flowgen's way (1 packet, 60 bytes, 10.x.y.z:768 ->
     * 192.0.2.1:80), its source one of exactly `sent` distinct ones */
    cr_expect_eq(th_db_int(d.db, "SELECT sum(packets) + sum(bytes) FROM flows"), 61 * sent);
    cr_expect_eq(th_db_int(d.db, "SELECT count(*) FROM flows WHERE src_port = 768 AND "
                                 "dst_port = 80 AND dst_addr = '192.0.2.1' AND proto = 6"),
                 sent);
    cr_expect_eq(th_system("test \"$(sqlite3 '%s' 'PRAGMA integrity_check')\" = ok", d.db), 0,
                 "integrity_check");
    th_system("sqlite3 -header '%s' 'SELECT packets, flows, seq_lost, seq_duplicates, seq_resets "
              "FROM exporter_domains' >&2",
              d.db);
    cr_expect_eq(th_db_int(d.db, "SELECT sum(seq_lost) FROM exporter_domains"), 0,
                 "the replay is no sequence gap");
    th_daemon_cleanup(&d);
}

/* The stop decodes what the journal holds (up to its deadline); what it did not is not lost:
 * the next start stores it. Here a journal left by a kill, stopped again at once. */
Test(crash, a_stop_keeps_the_undecoded_rest_for_the_next_start, .timeout = 240)
{
    struct th_daemon d = {0};
    th_daemon_start(&d, args);
    int64_t sent = send_flows(&d, 150000, 150000);
    kill9_when_journaled(&d, sent);
    th_daemon_start_db(&d, d.db, args);
    cr_assert_eq(th_daemon_stop(&d), 0, "a clean stop, whatever the journal holds");
    th_daemon_start_db(&d, d.db, args);
    th_db_wait(d.db, "SELECT count(*) FROM flows", sent - 30 * kernel_drops(&d), 120000);
    cr_assert_eq(th_daemon_stop(&d), 0);
    int64_t got = stored(&d), drops = kernel_drops(&d);
    cr_expect_eq(got + 30 * drops, sent, "stored %lld + dropped by the kernel %lld = sent %lld",
                 (long long)got, (long long)(30 * drops), (long long)sent);
    if (got + 30 * drops != sent)
        th_system("grep -v 'info\\]' '%s' >&2; ls -la '%s.received' >&2", d.log, d.db);
    cr_expect_eq(duplicates(&d), 0);
    th_daemon_cleanup(&d);
}

/* A crash in the middle of a journal write leaves a torn record: skipped and counted, and the
 * records before it stored. */
Test(crash, a_torn_journal_tail_is_skipped, .timeout = 120)
{
    struct th_daemon d = {0};
    th_daemon_start(&d, args);
    cr_assert_eq(th_daemon_stop(&d), 0);
    /* a segment after those the daemon made: 32-byte header, then a record cut short */
    char seg[700];
    snprintf(seg, sizeof(seg), "%s.received/7fffffffffffffff.fhj", d.db);
    FILE *f = fopen(seg, "w");
    cr_assert(f);
    static const char hdr[32] = "FHJOURN1";
    fwrite(hdr, 1, sizeof(hdr), f);
    fwrite("\x40\x00\x00", 1, 3, f);
    fclose(f);
    th_daemon_start_db(&d, d.db, args);
    int64_t sent = send_flows(&d, 20000, 3000);
    th_db_wait(d.db, "SELECT count(*) FROM flows", sent, 60000);
    cr_assert_eq(th_daemon_stop(&d), 0);
    cr_expect_eq(stored(&d), sent, "flows after a torn record are stored");
    cr_expect_eq(th_system("grep -q 'torn' '%s'", d.log), 0, "the torn record is reported");
    th_daemon_cleanup(&d);
}
