/* test_daemon.c - the real flowhoundd on loopback: corpus replay into SQLite, a real
 * exporter (softflowd), bad input beside good input, loss accounting, SIGTERM flush. */
#include "config.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/helpers.h"
#include "tests/traffic.h"

/* Every expected record of a corpus file is in `flows` with the same values, nothing else. */
static void expect_corpus_in_store(const char *db, const char *name)
{
    char rel[256];
    snprintf(rel, sizeof(rel), "corpus/%s.expected.json", name);
    json_error_t jerr;
    json_t *exp = json_load_file(th_shared_path(rel), 0, &jerr);
    cr_assert(exp, "%s: %s", rel, jerr.text);
    json_t *records = json_object_get(exp, "records");
    size_t i;
    json_t *rec;
    json_array_foreach(records, i, rec)
    {
        json_t *f = json_object_get(rec, "fields");
        char sql[1024];
        snprintf(sql, sizeof(sql),
                 "SELECT count(*) FROM flows WHERE src_addr = '%s' AND dst_addr = '%s' AND "
                 "src_port = %lld AND dst_port = %lld AND proto = %lld AND tcp_flags = %lld AND "
                 "packets = %lld AND bytes = %lld AND first_ms = %lld AND last_ms = %lld AND "
                 "next_hop = '%s' AND in_if = %lld AND out_if = %lld AND tos = %lld",
                 json_string_value(json_object_get(f, "src_addr")),
                 json_string_value(json_object_get(f, "dst_addr")),
                 json_integer_value(json_object_get(f, "src_port")),
                 json_integer_value(json_object_get(f, "dst_port")),
                 json_integer_value(json_object_get(f, "proto")),
                 json_integer_value(json_object_get(f, "tcp_flags")),
                 json_integer_value(json_object_get(f, "packets")),
                 json_integer_value(json_object_get(f, "bytes")),
                 json_integer_value(json_object_get(f, "first_ms")),
                 json_integer_value(json_object_get(f, "last_ms")),
                 json_string_value(json_object_get(f, "next_hop")),
                 json_integer_value(json_object_get(f, "in_if")),
                 json_integer_value(json_object_get(f, "out_if")),
                 json_integer_value(json_object_get(f, "tos")));
        cr_expect_geq(th_db_int(db, sql), 1, "%s record %zu not stored as expected", name, i);
    }
    json_decref(exp);
}

static size_t expected_count(const char *name)
{
    char rel[256];
    snprintf(rel, sizeof(rel), "corpus/%s.expected.json", name);
    json_error_t jerr;
    json_t *exp = json_load_file(th_shared_path(rel), 0, &jerr);
    cr_assert(exp);
    size_t n = json_array_size(json_object_get(exp, "records"));
    json_decref(exp);
    return n;
}

Test(daemon, corpus_v5_replayed_over_udp_is_stored_exactly, .timeout = 120)
{
    static const char *files[] = {"v5_softflowd", "v5_mikrotik", "v5_akvorado"};
    struct th_daemon d = {0};
    th_daemon_start(&d, NULL);
    size_t want = 0;
    for (size_t i = 0; i < 3; i++) {
        char rel[256];
        snprintf(rel, sizeof(rel), "corpus/%s.pcap", files[i]);
        cr_assert_gt(th_replay(th_shared_path(rel), d.port, 2000, 10 + (unsigned)i), 0);
        want += expected_count(files[i]);
    }
    cr_assert_eq(th_daemon_stop(&d), 0, "SIGTERM: clean exit");
    cr_expect_eq(th_db_int(d.db, "SELECT count(*) FROM flows"), (int64_t)want,
                 "every record stored, nothing else");
    for (size_t i = 0; i < 3; i++)
        expect_corpus_in_store(d.db, files[i]);
    cr_expect_eq(th_db_int(d.db, "SELECT count(*) FROM exporters"), 3, "one row per exporter");
    cr_expect_eq(th_db_int(d.db, "SELECT sum(rejected) FROM exporters"), 0);
    cr_expect_eq(th_db_int(d.db, "SELECT sum(flows) FROM exporter_domains"), (int64_t)want);
    th_daemon_cleanup(&d);
}

Test(daemon, bad_datagrams_are_counted_while_good_exporter_is_served, .timeout = 120)
{
    struct th_daemon d = {0};
    th_daemon_start(&d, NULL);
    uint8_t junk[1500];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)(i * 7 + 3);
    uint8_t v5bad[24 + 48] = {0, 5, 0, 2}; /* count 2, one record: truncated */
    uint8_t v5count0[24] = {0, 5, 0, 0};
    uint8_t v5long[24 + 48 + 5] = {0, 5, 0, 1}; /* trailing bytes */
    cr_assert(th_udp_send(d.port, "127.0.2.1", junk, 0));
    cr_assert(th_udp_send(d.port, "127.0.2.1", junk, sizeof(junk)));
    cr_assert(th_udp_send(d.port, "127.0.2.1", v5bad, sizeof(v5bad)));
    cr_assert(th_udp_send(d.port, "127.0.2.1", v5count0, sizeof(v5count0)));
    cr_assert(th_udp_send(d.port, "127.0.2.1", v5long, sizeof(v5long)));
    cr_assert(th_udp_send(d.port, "127.0.2.1", junk, 1));
    th_replay(th_shared_path("corpus/v5_mikrotik.pcap"), d.port, 1000, 0);
    cr_assert_eq(th_daemon_stop(&d), 0);
    cr_expect_eq(th_db_int(d.db, "SELECT count(*) FROM flows"), 30, "the good exporter's flows");
    cr_expect_eq(th_db_int(d.db, "SELECT rejected FROM exporters WHERE addr = '127.0.2.1'"), 6);
    char sql[256];
    static const struct {
        const char *reason;
        int n;
    } want[] = {{"empty", 1},     {"unknown_version", 1}, {"truncated", 2},
                {"bad_count", 1}, {"bad_length", 1}};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        snprintf(sql, sizeof(sql),
                 "SELECT count FROM exporter_rejects WHERE addr = '127.0.2.1' AND reason = '%s'",
                 want[i].reason);
        cr_expect_eq(th_db_int(d.db, sql), want[i].n, "reason %s", want[i].reason);
    }
    th_daemon_cleanup(&d);
}

Test(daemon, every_record_sent_is_stored_or_counted, .timeout = 180)
{
    struct th_daemon d = {0};
    th_daemon_start(&d, NULL);
    enum { PACKETS = 2000 };
    uint8_t buf[24 + 48 * 30] = {0};
    size_t sent = 0;
    for (uint32_t i = 0; i < PACKETS; i++) {
        size_t len = tr_v5(buf, 30, i * 30, i);
        if (th_udp_send(d.port, "127.0.3.1", buf, len))
            sent++;
        if (i % 100 == 99)
            usleep(2000);
    }
    cr_assert_eq(sent, PACKETS);
    cr_assert_eq(th_daemon_stop(&d), 0);
    int64_t stored = th_db_int(d.db, "SELECT count(*) FROM flows");
    int64_t dropped = th_db_int(d.db, "SELECT dropped_queue + dropped_store FROM exporter_domains");
    int64_t kernel = th_db_int(d.db, "SELECT kernel_drops FROM exporters");
    int64_t lost = th_db_int(d.db, "SELECT seq_lost FROM exporter_domains");
    cr_expect_eq(stored + dropped + kernel * 30, PACKETS * 30,
                 "stored %lld + dropped %lld + kernel-dropped %lld*30 = sent %d", (long long)stored,
                 (long long)dropped, (long long)kernel, PACKETS * 30);
    cr_expect_eq(lost, kernel * 30, "sequence gaps match what the kernel dropped");
    cr_expect_eq(th_db_int(d.db, "SELECT packets FROM exporters"), PACKETS - kernel);
    th_daemon_cleanup(&d);
}

Test(daemon, sequence_gaps_are_counted_as_lost, .timeout = 60)
{
    struct th_daemon d = {0};
    th_daemon_start(&d, NULL);
    uint8_t buf[24 + 48 * 30] = {0};
    /* packets 0, 1, (2 and 3 missing), 4 */
    uint32_t seqs[] = {0, 30, 120};
    for (int i = 0; i < 3; i++)
        cr_assert(th_udp_send(d.port, "127.0.4.1", buf, tr_v5(buf, 30, seqs[i], (uint32_t)i)));
    cr_assert_eq(th_daemon_stop(&d), 0);
    cr_expect_eq(th_db_int(d.db, "SELECT seq_lost FROM exporter_domains"), 60);
    cr_expect_eq(th_db_int(d.db, "SELECT count(*) FROM flows"), 90);
    th_daemon_cleanup(&d);
}

Test(daemon, help_and_check_config)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "%s/flowhoundd --help | grep -q -- '--listen'", th_builddir());
    cr_expect_eq(th_system("%s", cmd), 0, "--help lists --listen");
    cr_expect_eq(th_system("%s/flowhoundd --check-config --web off >/dev/null", th_builddir()), 0);
    cr_expect_eq(th_system("%s/flowhoundd --listen 1.2.3:99999 --check-config 2>/dev/null",
                           th_builddir()),
                 2, "a bad listen address is refused before start");
    cr_expect_eq(th_system("%s/flowhoundd --no-such-option 2>/dev/null", th_builddir()), 2);
    /* The man page and the example config document every setting --check-config knows. */
    cr_expect_eq(th_system("sh %s/tests/check-docs.sh %s/flowhoundd %s", getenv("FH_SRCDIR"),
                           th_builddir(), getenv("FH_SRCDIR")),
                 0, "every setting is in the man page and the example file");
    char ex[1024];
    snprintf(ex, sizeof(ex), "%s/flowhoundd -c %s/doc/flowhound.conf.example --check-config",
             th_builddir(), getenv("FH_SRCDIR"));
    cr_expect_eq(th_system("%s >/dev/null", ex), 0, "the example config is valid");
    char *dir = th_tmpdir();
    /* --key=value as --key value; booleans bare or =no */
    cr_expect_eq(th_system("%s/flowhoundd --db=%s/y.db --listen=127.0.0.1:0 --listen [::1]:0 "
                           "--web=off --analyzer=no --daemon --check-config >%s/out",
                           th_builddir(), dir, dir),
                 0);
    cr_expect_eq(th_system("grep -qx 'db = %s/y.db' %s/out && grep -qx 'web = off' %s/out && "
                           "grep -qx 'listen = 127.0.0.1:0' %s/out && "
                           "grep -qx 'listen = \\[::1\\]:0' %s/out && "
                           "grep -qx 'analyzer = no' %s/out && grep -qx 'daemon = yes' %s/out",
                           dir, dir, dir, dir, dir, dir, dir),
                 0, "every option as given");
    cr_expect_eq(th_system("%s/flowhoundd --rcvbuf=lots 2>%s/err", th_builddir(), dir), 2);
    cr_expect_eq(th_system("grep -qx \"flowhoundd: --rcvbuf: 'lots' is not a size (e.g. 512K, "
                           "32M, 50G)\" %s/err",
                           dir),
                 0, "the error names the option");
    cr_assert_eq(th_system("printf 'db = %s/x.db\\nlisten = 127.0.0.1:0 # any port\\nbogus = 1\\n'"
                           " > %s/f.conf",
                           dir, dir),
                 0);
    cr_expect_eq(th_system("%s/flowhoundd -c %s/f.conf --check-config 2>%s/err", th_builddir(), dir,
                           dir),
                 2, "unknown key in the file is an error");
    cr_expect_eq(th_system("grep -q 'f.conf:3: unknown setting' %s/err", dir), 0,
                 "the error names file and line");
    th_rmtree(dir);
    free(dir);
}

/* A db setting that would store nowhere lasting, or in another program's file, is refused
 * with a clear message: the empty path, ":memory:" and a URI by --check-config already;
 * another application's SQLite file when the daemon opens it, leaving it as it was. */
Test(daemon, a_db_that_keeps_nothing_or_is_not_ours_is_refused, .timeout = 60)
{
    static const struct {
        const char *line, *says;
    } refused[] = {
        {"db =", "the path is empty"},
        {"db = :memory:", "':memory:' is SQLite's memory database"},
        {"db = file:f.db?mode=memory", "is an SQLite URI"},
    };
    char *dir = th_tmpdir();
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        cr_assert_eq(th_system("echo '%s' > %s/db.conf", refused[i].line, dir), 0);
        cr_expect_eq(th_system("%s/flowhoundd -c %s/db.conf --web off --check-config >/dev/null "
                               "2>%s/err",
                               th_builddir(), dir, dir),
                     2, "'%s' is refused by --check-config", refused[i].line);
        cr_expect_eq(th_system("grep -q '^flowhoundd: db: ' %s/err && grep -qF \"%s\" %s/err", dir,
                               refused[i].says, dir),
                     0, "and says why: %s", refused[i].says);
    }
    cr_assert_eq(th_system("sqlite3 %s/app.db \"CREATE TABLE notes (body); INSERT INTO notes "
                           "VALUES ('x')\" && cp %s/app.db %s/app.orig",
                           dir, dir, dir),
                 0);
    /* timeout: without the check the daemon would start and store into it */
    cr_expect_eq(th_system("timeout 20 %s/flowhoundd --db %s/app.db --listen 127.0.0.1:0 --web off "
                           ">/dev/null 2>%s/err",
                           th_builddir(), dir, dir),
                 1, "another application's database is refused at start");
    cr_expect_eq(th_system("grep -q 'app.db is not a flowhound store' %s/err", dir), 0,
                 "the log names the file and says why");
    cr_expect_eq(
        th_system("cmp -s %s/app.db %s/app.orig && test ! -e %s/app.db-wal", dir, dir, dir), 0,
        "the file is as it was");
    th_rmtree(dir);
    free(dir);
}

/* Sends one v5 datagram over IPv6 loopback. */
static bool send_v6(uint16_t port, const void *buf, size_t len)
{
    int fd = socket(AF_INET6, SOCK_DGRAM, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in6 to = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
    inet_pton(AF_INET6, "::1", &to.sin6_addr);
    ssize_t n = sendto(fd, buf, len, 0, (struct sockaddr *)&to, sizeof(to));
    close(fd);
    return n == (ssize_t)len;
}

Test(daemon, ipv6_listener_and_exporter_address, .timeout = 60)
{
    struct th_daemon d = {0};
    const char *args[] = {"--listen", "[::1]:0", NULL};
    th_daemon_start(&d, args);
    uint8_t buf[24 + 48 * 30] = {0};
    size_t len = tr_v5(buf, 5, 0, 1);
    cr_assert(send_v6(d.port, buf, len), "IPv6 loopback send");
    cr_assert_eq(th_daemon_stop(&d), 0);
    cr_expect_eq(th_db_int(d.db, "SELECT count(*) FROM flows WHERE exporter = '::1'"), 5);
    cr_expect_eq(th_db_int(d.db, "SELECT count(*) FROM exporters WHERE addr = '::1'"), 1);
    th_daemon_cleanup(&d);
}

Test(daemon, a_crash_loses_at_most_the_uncommitted_second, .timeout = 60)
{
    struct th_daemon d = {0};
    th_daemon_start(&d, NULL);
    uint8_t buf[24 + 48 * 30] = {0};
    for (uint32_t i = 0; i < 20; i++)
        cr_assert(th_udp_send(d.port, "127.0.6.1", buf, tr_v5(buf, 30, i * 30, i)));
    /* Wait for the commit (at most commit-interval = 1 s after the flows arrive), then kill. */
    cr_expect_eq(th_db_wait(d.db, "SELECT count(*) FROM flows", 600, 5000), 600,
                 "flows are committed within seconds, before any shutdown");
    kill(d.pid, SIGKILL);
    waitpid(d.pid, NULL, 0);
    d.pid = 0;
    cr_expect_eq(th_db_int(d.db, "SELECT count(*) FROM flows"), 600, "committed flows survive");
    /* The store is usable after the crash: a restart on it keeps storing. */
    th_daemon_start_db(&d, d.db, NULL);
    cr_assert(th_udp_send(d.port, "127.0.6.1", buf, tr_v5(buf, 30, 600, 21)));
    cr_assert_eq(th_daemon_stop(&d), 0);
    cr_expect_eq(th_db_int(d.db, "SELECT count(*) FROM flows"), 630);
    cr_expect_eq(th_db_int(d.db, "SELECT packets FROM exporters WHERE addr = '127.0.6.1'"), 21,
                 "counters resume across the restart");
    th_daemon_cleanup(&d);
}

Test(daemon, allow_exporter_rejects_others_without_tracking_them, .timeout = 60)
{
    struct th_daemon d = {0};
    const char *args[] = {"--allow-exporter", "127.0.7.0/30", NULL};
    th_daemon_start(&d, args);
    uint8_t buf[24 + 48 * 30] = {0};
    size_t len = tr_v5(buf, 3, 0, 1);
    cr_assert(th_udp_send(d.port, "127.0.7.1", buf, len));
    cr_assert(th_udp_send(d.port, "127.0.7.9", buf, len));
    cr_assert_eq(th_daemon_stop(&d), 0);
    cr_expect_eq(th_db_int(d.db, "SELECT count(*) FROM flows"), 3, "only the allowed exporter");
    cr_expect_eq(th_db_int(d.db, "SELECT count(*) FROM exporters"), 1,
                 "the refused source gets no exporter entry");
    cr_expect_eq(th_system("grep -q 'rejected 1 datagrams from exporters not in allow-exporter' "
                           "'%s'",
                           d.log),
                 0, "the refusal is counted and said");
    th_daemon_cleanup(&d);
}

Test(daemon, detaches_with_pidfile_and_stops_on_sigterm, .timeout = 60)
{
    char *dir = th_tmpdir();
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "%s/flowhoundd --daemon --pidfile %s/pid --db %s/d.db --listen 127.0.0.1:0 "
             "--web off --ready-file %s/ready",
             th_builddir(), dir, dir, dir);
    cr_assert_eq(th_system("%s", cmd), 0, "the foreground process exits 0 once detached");
    char path[600];
    snprintf(path, sizeof(path), "%s/ready", dir);
    long pid = 0;
    for (int i = 0; i < 200 && pid == 0; i++) {
        char pp[600];
        snprintf(pp, sizeof(pp), "%s/pid", dir);
        FILE *f = fopen(pp, "r");
        if (f) {
            if (fscanf(f, "%ld", &pid) != 1)
                pid = 0;
            fclose(f);
        }
        if (pid == 0 || access(path, R_OK) != 0) {
            pid = 0;
            usleep(50000);
        }
    }
    cr_assert_gt(pid, 0, "pid file and ready file written");
    cr_assert_eq(kill((pid_t)pid, 0), 0, "the daemon runs");
    kill((pid_t)pid, SIGTERM);
    int gone = 0;
    for (int i = 0; i < 200 && !gone; i++) {
        gone = kill((pid_t)pid, 0) != 0;
        usleep(50000);
    }
    cr_expect(gone, "SIGTERM stops it");
    snprintf(path, sizeof(path), "%s/pid", dir);
    cr_expect_neq(access(path, F_OK), 0, "the pid file is removed");
    th_rmtree(dir);
    free(dir);
}

/* A UDP socket on 127.0.0.1:port with socket option `opt` set (0: none); -1 when bind fails. */
static int bind_udp(uint16_t port, int opt)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    cr_assert_geq(fd, 0);
    int one = 1;
    if (opt)
        setsockopt(fd, SOL_SOCKET, opt, &one, sizeof(one));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Issue 13: with SO_REUSEADDR on the daemon's socket, any local user binding the port with it
 * too received the exports (the daemon stored 0 of 3000). */
Test(daemon, another_process_cannot_take_the_udp_port, .timeout = 60)
{
    struct th_daemon d = {0};
    th_daemon_start(&d, NULL);
    cr_expect_eq(bind_udp(d.port, SO_REUSEADDR), -1, "SO_REUSEADDR: bound the daemon's port");
    cr_expect_eq(errno, EADDRINUSE);
    cr_expect_eq(bind_udp(d.port, SO_REUSEPORT), -1, "SO_REUSEPORT: bound the daemon's port");
    uint8_t buf[24 + 48 * 30];
    for (uint32_t i = 0; i < 100; i++)
        cr_assert(th_udp_send(d.port, "127.0.3.9", buf, tr_v5(buf, 30, i * 30, i)));
    cr_assert_eq(th_daemon_stop(&d), 0);
    cr_expect_eq(th_db_int(d.db, "SELECT count(*) FROM flows"), 3000, "every export stored");
    th_daemon_cleanup(&d);
}

/* A port already taken: flowhoundd exits 1 and says which port and who has it (here: this
 * test process). */
Test(daemon, a_taken_port_is_a_clear_error, .timeout = 60)
{
    int fd = bind_udp(0, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    unsigned port = ntohs(sa.sin_port);
    char *dir = th_tmpdir();
    int rc = th_system("%s/flowhoundd --db %s/d.db --web off --listen 127.0.0.1:%u 2>%s/err",
                       th_builddir(), dir, port, dir);
    cr_expect_eq(rc, 1, "exit status 1");
    char path[600], err[1024] = "", want[128];
    snprintf(path, sizeof(path), "%s/err", dir);
    FILE *f = fopen(path, "r");
    cr_assert(f);
    size_t n = fread(err, 1, sizeof(err) - 1, f);
    err[n] = '\0';
    fclose(f);
    snprintf(want, sizeof(want), "address in use: another process listens on UDP %u (", port);
    cr_expect(strstr(err, want), "the message names the port: %s", err);
    snprintf(want, sizeof(want), ", pid %d)", (int)getpid());
    cr_expect(strstr(err, want), "... and who holds it: %s", err);
    close(fd);
    th_rmtree(dir);
    free(dir);
}
