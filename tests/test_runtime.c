/* test_runtime.c - flowhoundd run as a service: SIGHUP under load (a good config applied, a bad
 * one refused, ten in a row losing nothing), journald's priority prefixes and the alert lines,
 * sd_notify readiness and watchdog on a socket of ours, /metrics read by promtool and by a
 * strict parser after a known replay, /healthz, `flowhound status`, and alert delivery
 * reconfigured by a reload (a real rsyslog). The load is ../shared/tools/flowgen, built here. */
#include "config.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/timeutil.h"
#include "tests/helpers.h"
#include "tests/prom_text.h"
#include "tests/rsyslog.h"
#include "tests/web/webtest.h"

/* A steady sender: v5 at 5000 records/s (about 170 datagrams/s of 30 records). */
#define LOAD_RATE 5000

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- the daemon with a config file and its web server ---- */

struct rig {
    struct th_daemon d;
    char conf[600];
    char web[128];
};

/* Written whole, then renamed: a reload never reads half a file. */
static void write_conf(const struct rig *g, const char *fmt, ...)
{
    char tmp[700];
    snprintf(tmp, sizeof(tmp), "%s.tmp", g->conf);
    FILE *f = fopen(tmp, "w");
    cr_assert(f, "%s: %s", tmp, strerror(errno));
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    cr_assert_eq(fclose(f), 0);
    cr_assert_eq(rename(tmp, g->conf), 0);
}

static void read_web_address(struct rig *g)
{
    char ready[600], line[256];
    snprintf(ready, sizeof(ready), "%s/ready", g->d.dir);
    FILE *f = fopen(ready, "r");
    cr_assert(f, "no ready file");
    g->web[0] = '\0';
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "web %127s", g->web) == 1)
            break;
    fclose(f);
    cr_assert(g->web[0], "no web line in the ready file");
}

/* flowhoundd -c CONF --web 127.0.0.1:0 --listen 127.0.0.1:0 EXTRA...; conf_text is the file
 * it starts with. In g->d.dir when set, else a new temporary directory. */
static void rig_start(struct rig *g, const char *conf_text, const char *const *extra)
{
    const char *args[32];
    size_t n = 0;
    if (!g->d.dir)
        g->d.dir = th_tmpdir();
    snprintf(g->conf, sizeof(g->conf), "%s/flowhound.conf", g->d.dir);
    write_conf(g, "%s", conf_text);
    args[n++] = "-c";
    args[n++] = g->conf;
    args[n++] = "--web";
    args[n++] = "127.0.0.1:0";
    args[n++] = "--listen";
    args[n++] = "127.0.0.1:0";
    for (size_t i = 0; extra && extra[i] && n < 30; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    char db[600];
    snprintf(db, sizeof(db), "%s/flows.db", g->d.dir);
    th_daemon_start_db(&g->d, db, args);
    read_web_address(g);
}

static void hup(const struct rig *g)
{
    cr_assert_eq(kill(g->d.pid, SIGHUP), 0);
}

/* The daemon's log (stderr) as text: malloc'd, "" when empty. */
static char *log_text(const struct rig *g)
{
    FILE *f = fopen(g->d.log, "r");
    cr_assert(f, "%s", g->d.log);
    size_t cap = 1 << 16, n = 0, got;
    char *text = malloc(cap + 1);
    while ((got = fread(text + n, 1, cap - n, f)) > 0)
        if ((n += got) == cap)
            text = realloc(text, (cap *= 2) + 1);
    fclose(f);
    text[n] = '\0';
    return text;
}

static bool log_has(const struct rig *g, const char *text)
{
    char *log = log_text(g);
    bool found = strstr(log, text) != NULL;
    free(log);
    return found;
}

static bool log_wait(const struct rig *g, const char *text, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 100) {
        if (log_has(g, text))
            return true;
        sleep_ms(100);
    }
    return false;
}

/* ---- /metrics ---- */

static char *get(const struct rig *g, const char *path, long *status, const char *const *hdrs)
{
    char url[400];
    snprintf(url, sizeof(url), "http://%s%s", g->web, path);
    struct wt_resp r;
    wt_request(url, NULL, hdrs, NULL, &r);
    *status = r.status;
    free(r.headers);
    return r.body;
}

static void scrape(const struct rig *g, struct prom_text *p)
{
    long status;
    char *body = get(g, "/metrics", &status, NULL);
    char err[256];
    cr_assert_eq(status, 200, "/metrics: %ld %s", status, body);
    cr_assert(prom_parse(body, p, err, sizeof(err)), "/metrics does not parse: %s", err);
    free(body);
}

/* One sample's value; -1 when absent. */
static double metric(const struct rig *g, const char *name, const char *labels)
{
    struct prom_text p;
    double v = -1;
    scrape(g, &p);
    if (!prom_get(&p, name, labels, &v))
        v = -1;
    prom_free(&p);
    return v;
}

static double metric_wait(const struct rig *g, const char *name, const char *labels, double want,
                          int timeout_ms)
{
    double v = -1;
    for (int waited = 0; waited <= timeout_ms; waited += 100) {
        v = metric(g, name, labels);
        if (v == want)
            return v;
        sleep_ms(100);
    }
    return v;
}

/* ---- the load ---- */

struct load {
    pid_t pid;
    char out[700];
};

/* flowgen, built from ../shared into the test's directory, sending n v5 records to port. */
static void load_start(struct load *l, const struct rig *g, uint16_t port, unsigned n)
{
    char prog[700], rate[16], count[16], p[16];
    snprintf(prog, sizeof(prog), "%s/flowgen", g->d.dir);
    if (access(prog, X_OK) != 0)
        cr_assert_eq(
            th_system("cc -O2 -o '%s' '%s'", prog, th_shared_path("tools/flowgen/flowgen.c")), 0,
            "building flowgen");
    snprintf(l->out, sizeof(l->out), "%s/flowgen.out", g->d.dir);
    snprintf(rate, sizeof(rate), "%u", LOAD_RATE);
    snprintf(count, sizeof(count), "%u", n);
    snprintf(p, sizeof(p), "%u", port);
    l->pid = fork();
    cr_assert(l->pid >= 0);
    if (l->pid == 0) {
        int fd = open(l->out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        execl(prog, prog, "-v", "5", "-p", p, "-r", rate, "-n", count, "-d", "60", "-q", NULL);
        _exit(127);
    }
}

/* Waits for flowgen; returns the records the kernel accepted (its RESULT line). */
static int64_t load_wait(struct load *l)
{
    int status;
    cr_assert_eq(waitpid(l->pid, &status, 0), l->pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "flowgen failed");
    FILE *f = fopen(l->out, "r");
    cr_assert(f);
    char line[1024];
    long long records = -1;
    while (fgets(line, sizeof(line), f))
        if (strstr(line, "RESULT") && strstr(line, "records="))
            sscanf(strstr(line, "records="), "records=%lld", &records);
    fclose(f);
    cr_assert_gt(records, 0, "no RESULT line from flowgen");
    return records;
}

/* After the stop: every record flowgen (exporter 127.0.0.1) sent is stored or counted lost. */
static void expect_nothing_lost(const struct rig *g, int64_t sent, const char *what)
{
    int64_t stored = th_db_int(g->d.db, "SELECT count(*) FROM flows WHERE exporter = '127.0.0.1'");
    int64_t counted = th_db_int(g->d.db, "SELECT sum(seq_lost + dropped_queue + dropped_store + "
                                         "records_rejected) FROM exporter_domains "
                                         "WHERE addr = '127.0.0.1'");
    fprintf(stderr, "%s: sent %lld, stored %lld, counted lost %lld\n", what, (long long)sent,
            (long long)stored, (long long)counted);
    cr_expect_eq(stored + counted, sent, "%s: stored %lld + counted %lld = sent %lld", what,
                 (long long)stored, (long long)counted, (long long)sent);
}

/* A UDP socket of the test's on 127.0.0.1, at a free port (*port). */
static int udp_socket(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    getsockname(fd, (struct sockaddr *)&sa, &len);
    *port = ntohs(sa.sin_port);
    return fd;
}

static uint16_t free_udp_port(void)
{
    uint16_t port;
    close(udp_socket(&port));
    return port;
}

static struct rig rig_;

static void teardown(void)
{
    th_daemon_cleanup(&rig_.d);
}

TestSuite(reload, .fini = teardown);

/* ---- reload ---- */

Test(reload, a_good_config_under_load_takes_effect_and_the_command_line_still_wins, .timeout = 120)
{
    struct rig *g = &rig_;
    const char *const cli[] = {"--alert-hold", "3s", NULL};
    rig_start(g, "stale-window = 24h\nalert-hold = 5s\n", cli);
    cr_expect_eq(metric(g, "flowhound_analyzer_stale_window_seconds", ""), 86400);
    cr_expect_eq(metric(g, "flowhound_analyzer_alert_hold_seconds", ""), 3, "command line wins");
    struct load l;
    load_start(&l, g, g->d.port, 4 * LOAD_RATE);
    sleep_ms(1000);
    uint16_t extra = free_udp_port();
    write_conf(g, "stale-window = 12h\nalert-hold = 9s\nretention = 30d\nlisten = 127.0.0.1:%u\n",
               extra);
    hup(g);
    cr_expect_eq(metric_wait(g, "flowhound_analyzer_stale_window_seconds", "", 43200, 10000), 43200,
                 "the analyzer's new threshold, applied by the writer's thread");
    cr_expect_eq(metric(g, "flowhound_retention_seconds", ""), 30 * 86400.0);
    cr_expect_eq(metric(g, "flowhound_analyzer_alert_hold_seconds", ""), 3,
                 "--alert-hold still wins over the file after the reload");
    cr_expect_eq(metric(g, "flowhound_config_reloads_total", "result=\"applied\""), 1);
    char label[64];
    snprintf(label, sizeof(label), "listener=\"127.0.0.1:%u\"", extra);
    cr_expect_eq(metric(g, "flowhound_listener_datagrams_total", label), 0, "the new socket");
    cr_assert_gt(th_replay(th_shared_path("corpus/v5_mikrotik.pcap"), extra, 1000, 9), 0);
    cr_expect_eq(
        metric_wait(g, "flowhound_exporter_records_total", "exporter=\"127.0.9.1\"", 30, 10000), 30,
        "flows sent to the added listener are decoded");
    cr_expect(log_has(g, "reload: stale-window: 86400s -> 43200s"));
    cr_expect(log_has(g, "reload: listening on UDP 127.0.0.1:"));
    int64_t sent = load_wait(&l);
    cr_assert_eq(th_daemon_stop(&g->d), 0);
    expect_nothing_lost(g, sent, "one reload under load");
    cr_expect_eq(th_db_int(g->d.db, "SELECT count(*) FROM flows WHERE exporter = '127.0.9.1'"), 30);
}

Test(reload, a_bad_config_is_refused_with_file_line_and_problem_and_the_old_one_stays,
     .timeout = 120)
{
    struct rig *g = &rig_;
    rig_start(g, "stale-window = 24h\n", NULL);
    struct load l;
    load_start(&l, g, g->d.port, 3 * LOAD_RATE);
    sleep_ms(500);
    write_conf(g, "# a typo\nretention = 7d\nstale-window = banana\n");
    hup(g);
    cr_expect_eq(metric_wait(g, "flowhound_config_reloads_total", "result=\"refused\"", 1, 10000),
                 1);
    char want[900];
    snprintf(want, sizeof(want),
             "reload refused: %s:3: stale-window: 'banana' is not a duration (e.g. 30s, 15m, "
             "1h, 7d); the running configuration stays in force",
             g->conf);
    cr_expect(log_wait(g, want, 5000), "the log names the file, the line and the problem");
    cr_expect_eq(metric(g, "flowhound_config_last_reload_successful", ""), 0);
    cr_expect_eq(metric(g, "flowhound_retention_seconds", ""), 0, "nothing of it applied");
    cr_expect_eq(metric(g, "flowhound_analyzer_stale_window_seconds", ""), 86400);
    /* Valid, but a socket that cannot be bound: refused as a whole too. */
    uint16_t taken;
    int busy = udp_socket(&taken);
    write_conf(g, "retention = 7d\nlisten = 127.0.0.1:%u\n", taken);
    hup(g);
    cr_expect_eq(metric_wait(g, "flowhound_config_reloads_total", "result=\"refused\"", 2, 10000),
                 2);
    char taken_msg[128];
    snprintf(taken_msg, sizeof(taken_msg), "address in use: another process listens on UDP %u",
             taken);
    cr_expect(log_wait(g, taken_msg, 5000));
    cr_expect(log_wait(g, "the running configuration stays in force", 5000));
    cr_expect_eq(metric(g, "flowhound_retention_seconds", ""), 0);
    close(busy);
    /* logrotate's SIGUSR1 is said and survived */
    cr_assert_eq(kill(g->d.pid, SIGUSR1), 0);
    cr_expect(log_wait(g, "SIGUSR1 ignored: flowhoundd writes no log file of its own", 5000));
    int64_t sent = load_wait(&l);
    cr_assert_eq(th_daemon_stop(&g->d), 0, "still running, stops cleanly");
    expect_nothing_lost(g, sent, "refused reloads under load");
}

Test(reload, ten_reloads_under_load_lose_nothing, .timeout = 180)
{
    struct rig *g = &rig_;
    rig_start(g, "stale-window = 24h\n", NULL);
    uint16_t extra = free_udp_port();
    struct load l;
    load_start(&l, g, g->d.port, 6 * LOAD_RATE);
    sleep_ms(300);
    for (int i = 1; i <= 10; i++) {
        /* every other one adds a socket and the next removes it again */
        if (i % 2)
            write_conf(g, "stale-window = %dh\nlisten = 127.0.0.1:%u\nretention = %dd\n", i, extra,
                       i);
        else
            write_conf(g, "stale-window = %dh\nlog-level = %s\n", i, i % 4 ? "debug" : "info");
        hup(g);
        cr_assert_eq(
            metric_wait(g, "flowhound_config_reloads_total", "result=\"applied\"", i, 10000), i,
            "reload %d applied", i);
        sleep_ms(200);
    }
    cr_expect_eq(metric_wait(g, "flowhound_analyzer_stale_window_seconds", "", 36000, 10000),
                 36000);
    int64_t sent = load_wait(&l);
    cr_assert_eq(th_daemon_stop(&g->d), 0);
    expect_nothing_lost(g, sent, "ten reloads under load");
}

/* The store cannot change while running. A reload that does not name it says nothing of it
 * (the store is resolved from --db alike at start and at each reload); one that names another
 * keeps the running store, says it needs a restart, and does not log the URL's password. */
Test(reload, a_store_change_needs_a_restart_and_its_password_is_not_logged, .timeout = 60)
{
    struct rig *g = &rig_;
    rig_start(g, "stale-window = 24h\n", NULL);
    write_conf(g, "stale-window = 12h\n");
    hup(g);
    cr_assert_eq(metric_wait(g, "flowhound_config_reloads_total", "result=\"applied\"", 1, 10000),
                 1);
    cr_expect(log_has(g, "reload: stale-window: 86400s -> 43200s"));
    cr_expect(!log_has(g, "reload: store:") && !log_has(g, "reload: db:") &&
                  !log_has(g, "reload: instance:"),
              "a reload that leaves the store alone says nothing of it");
    write_conf(g, "stale-window = 12h\nstore = clickhouse://fh:s3cret@127.0.0.1:9/flowhound\n");
    hup(g);
    cr_assert_eq(metric_wait(g, "flowhound_config_reloads_total", "result=\"applied\"", 2, 10000),
                 2);
    cr_expect(log_has(g, "reload: store: sqlite:"));
    cr_expect(log_has(g, "-> clickhouse://fh:(set)@127.0.0.1:9/flowhound needs a restart"));
    cr_expect(!log_has(g, "s3cret"), "the password stays out of the log");
    cr_assert_gt(th_replay(th_shared_path("scenarios/story/merged.v5.pcap"), g->d.port, 2000, 1),
                 0);
    cr_expect_eq(th_db_wait(g->d.db, "SELECT count(*) FROM flows", 26, 15000), 26,
                 "flows still go to the running store");
}

/* ---- logs ---- */

TestSuite(logs, .fini = teardown);

/* Each line of the log starts with <N>, N a syslog priority, and carries no time of ours. */
static void expect_journal_lines(const char *log)
{
    int lines = 0;
    for (const char *l = log; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l)) {
        if (*l == '\n')
            continue;
        lines++;
        cr_expect(l[0] == '<' && l[1] >= '0' && l[1] <= '7' && l[2] == '>',
                  "not a <N> prefix: %.80s", l);
        cr_expect(strncmp(l + 3, "20", 2) != 0, "a timestamp of our own: %.80s", l);
    }
    cr_expect_gt(lines, 3);
}

Test(logs, journald_gets_priority_prefixes_and_a_line_per_alert_opened_and_resolved, .timeout = 90)
{
    struct rig *g = &rig_;
    /* stderr is a file here: JOURNAL_STREAM names that file, as systemd names its stream */
    g->d.dir = th_tmpdir();
    snprintf(g->d.log, sizeof(g->d.log), "%s/flowhoundd.log", g->d.dir);
    int fd = open(g->d.log, O_WRONLY | O_CREAT, 0644);
    struct stat st;
    cr_assert(fd >= 0 && fstat(fd, &st) == 0);
    close(fd);
    char env[64];
    snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
    setenv("JOURNAL_STREAM", env, 1);
    char db[600];
    snprintf(db, sizeof(db), "%s/flows.db", g->d.dir);
    th_daemon_start_db(&g->d, db, NULL);
    unsetenv("JOURNAL_STREAM");
    char junk[1] = {0};
    cr_assert(th_udp_send(g->d.port, "127.0.2.1", junk, 1));
    cr_assert_gt(th_replay(th_shared_path("scenarios/story/merged.v5.pcap"), g->d.port, 2000, 1),
                 0);
    cr_expect(log_wait(g,
                       "<4>alert 1 opened stale_state: client 10.1.1.50 port 722 -> server "
                       "10.2.2.10 port 515, held by middlebox, 3 attempts - ",
                       15000),
              "an alert opened is a warning");
    cr_expect(log_wait(g, "<5>alert 1 resolved stale_state: client 10.1.1.50 port 722 -> ", 15000),
              "its resolution a notice");
    cr_assert_eq(th_daemon_stop(&g->d), 0);
    char *log = log_text(g);
    cr_expect(strstr(log, "<6>listening on UDP 127.0.0.1:0"), "info: %s", log);
    cr_expect(strstr(log, "<4>rejected a 1-byte datagram from 127.0.2.1: truncated"), "%s", log);
    expect_journal_lines(log);
    free(log);
}

Test(logs, plain_lines_with_time_and_level_when_stderr_is_not_the_journal, .timeout = 60)
{
    struct rig *g = &rig_;
    setenv("JOURNAL_STREAM", "1:1", 1); /* inherited from a unit, but not our stderr */
    th_daemon_start(&g->d, NULL);
    unsetenv("JOURNAL_STREAM");
    cr_assert_eq(th_daemon_stop(&g->d), 0);
    char *log = log_text(g);
    cr_expect(log[0] == '2' && strstr(log, "Z flowhoundd[info]: listening on UDP"), "%s", log);
    cr_expect(!strstr(log, "<6>"), "%s", log);
    free(log);
}

/* ---- sd_notify ---- */

TestSuite(notify, .fini = teardown);

struct notify_sock {
    int fd;
    char path[108];
};

/* A datagram socket where the test plays systemd (NOTIFY_SOCKET); name "@..." is abstract. */
static void notify_open(struct notify_sock *n, const char *name)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(n->path, sizeof(n->path), "%s", name);
    memcpy(sa.sun_path, name, strlen(name));
    if (name[0] == '@')
        sa.sun_path[0] = '\0';
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name) +
                                (name[0] == '@' ? 0 : 1));
    n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    cr_assert(n->fd >= 0);
    cr_assert_eq(bind(n->fd, (struct sockaddr *)&sa, len), 0, "bind %s: %s", name, strerror(errno));
    setenv("NOTIFY_SOCKET", name, 1);
}

/* Waits for a notification containing `want` (messages before it are skipped). */
static bool notify_wait(struct notify_sock *n, const char *want, int timeout_ms, char *got,
                        size_t len)
{
    int64_t deadline = mono_ms() + timeout_ms;
    while (mono_ms() < deadline) {
        struct timeval tv = {0, 100000};
        setsockopt(n->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        ssize_t r = recv(n->fd, got, len - 1, 0);
        if (r <= 0)
            continue;
        got[r] = '\0';
        if (strstr(got, want))
            return true;
    }
    return false;
}

Test(notify, ready_watchdog_reloading_and_stopping_reach_the_notify_socket, .timeout = 90)
{
    struct rig *g = &rig_;
    struct notify_sock n;
    char dir_sock[200], msg[1024];
    g->d.dir = th_tmpdir();
    snprintf(dir_sock, sizeof(dir_sock), "%s/notify", g->d.dir);
    notify_open(&n, dir_sock);
    setenv("WATCHDOG_USEC", "1000000", 1); /* a ping every 500 ms */
    rig_start(g, "stale-window = 24h\n", NULL);
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    cr_expect(notify_wait(&n, "READY=1", 10000, msg, sizeof(msg)), "READY=1");
    char mainpid[32];
    snprintf(mainpid, sizeof(mainpid), "MAINPID=%ld", (long)g->d.pid);
    cr_expect(strstr(msg, mainpid), "%s", msg);
    int64_t t0 = mono_ms();
    for (int i = 0; i < 3; i++)
        cr_expect(notify_wait(&n, "WATCHDOG=1", 3000, msg, sizeof(msg)), "WATCHDOG=1 #%d", i);
    cr_expect_lt(mono_ms() - t0, 3000, "three pings at half of WATCHDOG_USEC");
    write_conf(g, "stale-window = 12h\n");
    hup(g);
    cr_expect(notify_wait(&n, "RELOADING=1", 10000, msg, sizeof(msg)), "RELOADING=1");
    cr_expect(strstr(msg, "MONOTONIC_USEC="), "%s", msg);
    cr_expect(notify_wait(&n, "READY=1", 10000, msg, sizeof(msg)), "READY=1 after the reload");
    cr_expect_eq(metric(g, "flowhound_analyzer_stale_window_seconds", ""), 43200,
                 "READY=1 once the writer has applied it");
    kill(g->d.pid, SIGTERM);
    cr_expect(notify_wait(&n, "STOPPING=1", 10000, msg, sizeof(msg)), "STOPPING=1");
    cr_assert_eq(th_daemon_stop(&g->d), 0);
    close(n.fd);
}

Test(notify, an_abstract_notify_socket_works_too, .timeout = 60)
{
    struct rig *g = &rig_;
    struct notify_sock n;
    char name[64], msg[1024];
    snprintf(name, sizeof(name), "@flowhound-test-%ld", (long)getpid());
    notify_open(&n, name);
    th_daemon_start(&g->d, NULL);
    unsetenv("NOTIFY_SOCKET");
    cr_expect(notify_wait(&n, "READY=1", 10000, msg, sizeof(msg)));
    cr_assert_eq(th_daemon_stop(&g->d), 0);
    close(n.fd);
}

/* ---- /metrics, /healthz, flowhound status ---- */

TestSuite(metrics, .fini = teardown);

static void expect_metric(const struct prom_text *p, const char *name, const char *labels,
                          double want)
{
    double v = -1;
    cr_expect(prom_get(p, name, labels, &v), "no %s{%s}", name, labels);
    cr_expect_eq(v, want, "%s{%s} = %g, want %g", name, labels, v, want);
}

/* The story (26 flows from two exporters, 127.0.1.1 and .2) and one junk datagram. */
static void replay_known(struct rig *g)
{
    uint8_t junk[1500];
    memset(junk, 0xab, sizeof(junk));
    cr_assert(th_udp_send(g->d.port, "127.0.2.1", junk, sizeof(junk)));
    cr_assert_gt(th_replay(th_shared_path("scenarios/story/merged.v5.pcap"), g->d.port, 2000, 1),
                 0);
    cr_assert_eq(metric_wait(g, "flowhound_rows_stored_total", "", 26, 15000), 26);
}

Test(metrics, a_scrape_parses_with_promtool_and_strictly_and_counts_a_known_replay, .timeout = 90)
{
    struct rig *g = &rig_;
    rig_start(g, "retention = 7d\n", NULL);
    replay_known(g);
    long status;
    int64_t t0 = mono_ms();
    char *body = get(g, "/metrics", &status, NULL);
    fprintf(stderr, "scrape: %lld ms, %zu bytes\n", (long long)(mono_ms() - t0), strlen(body));
    cr_assert_eq(status, 200);
    char path[700];
    snprintf(path, sizeof(path), "%s/metrics.txt", g->d.dir);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fputs(body, f);
    fclose(f);
    cr_assert(th_have("promtool"), "promtool (Debian: prometheus) is not installed: "
                                   "scripts/install-deps.sh --test");
    cr_expect_eq(th_system("promtool check metrics < '%s' >&2", path), 0, "promtool check metrics");
    struct prom_text p;
    char err[256];
    cr_assert(prom_parse(body, &p, err, sizeof(err)), "%s", err);
    free(body);
    expect_metric(&p, "flowhound_rows_stored_total", "", 26);
    expect_metric(&p, "flowhound_rows_failed_total", "", 0);
    expect_metric(&p, "flowhound_records_queued_total", "", 26);
    expect_metric(&p, "flowhound_datagrams_received_total", "", 14);
    expect_metric(&p, "flowhound_datagrams_rejected_total", "", 1);
    expect_metric(&p, "flowhound_exporter_packets_total", "exporter=\"127.0.1.1\"", 7);
    expect_metric(&p, "flowhound_exporter_records_total", "exporter=\"127.0.1.1\"", 14);
    expect_metric(&p, "flowhound_exporter_records_total", "exporter=\"127.0.1.2\"", 12);
    expect_metric(&p, "flowhound_exporter_bytes_total", "exporter=\"127.0.2.1\"", 1500);
    expect_metric(&p, "flowhound_exporter_rejected_packets_total",
                  "exporter=\"127.0.2.1\",reason=\"unknown_version\"", 1);
    expect_metric(&p, "flowhound_exporter_rejected_packets_total",
                  "exporter=\"127.0.1.1\",reason=\"truncated\"", 0);
    expect_metric(&p, "flowhound_exporter_records_lost_total",
                  "exporter=\"127.0.1.2\",reason=\"sequence_gap\"", 0);
    char label[64];
    snprintf(label, sizeof(label), "listener=\"127.0.0.1:%u\"", g->d.port);
    expect_metric(&p, "flowhound_listener_datagrams_total", label, 14);
    expect_metric(&p, "flowhound_listener_kernel_drops_total", label, 0);
    expect_metric(&p, "flowhound_queue_capacity_batches", "", 64);
    expect_metric(&p, "flowhound_retention_seconds", "", 7 * 86400);
    expect_metric(&p, "flowhound_analyzer_tcp_records_total", "", 26);
    expect_metric(&p, "flowhound_alert_events_total", "event=\"opened\"", 1);
    expect_metric(&p, "flowhound_healthy", "", 1);
    double size = -1;
    cr_expect(prom_get(&p, "flowhound_store_size_bytes", "", &size) && size > 0);
    prom_free(&p);
    body = get(g, "/healthz", &status, NULL);
    cr_expect_eq(status, 200);
    cr_expect_str_eq(body, "ok\n");
    free(body);
    cr_assert_eq(th_daemon_stop(&g->d), 0);
}

Test(metrics, the_endpoints_need_the_api_credentials, .timeout = 60)
{
    struct rig *g = &rig_;
    const char *const token[] = {"--web-token", "s3cret", NULL};
    rig_start(g, "", token);
    long status;
    free(get(g, "/metrics", &status, NULL));
    cr_expect_eq(status, 401, "no token, no metrics");
    free(get(g, "/healthz", &status, NULL));
    cr_expect_eq(status, 401);
    const char *const auth[] = {"Authorization: Bearer s3cret", NULL};
    free(get(g, "/metrics", &status, auth));
    cr_expect_eq(status, 200);
    /* flowhound status finds the address and the token in the config file */
    char conf[700], out[700];
    snprintf(conf, sizeof(conf), "%s/status.conf", g->d.dir);
    snprintf(out, sizeof(out), "%s/status.out", g->d.dir);
    FILE *f = fopen(conf, "w");
    fprintf(f, "web = %s\nweb-token = s3cret\n", g->web);
    fclose(f);
    cr_expect_eq(th_system("'%s/flowhound' status -c '%s' > '%s'", th_builddir(), conf, out), 0);
    cr_expect_eq(th_system("grep -q '^flowhoundd .* healthy$' '%s'", out), 0);
    cr_expect_eq(
        th_system("'%s/flowhound' status --url http://%s > /dev/null 2>&1", th_builddir(), g->web),
        1, "without the token: not authorized, exit 1");
    cr_assert_eq(th_daemon_stop(&g->d), 0);
}

Test(metrics, flowhound_status_prints_the_same_for_a_terminal, .timeout = 90)
{
    struct rig *g = &rig_;
    rig_start(g, "stale-window = 12h\n", NULL);
    replay_known(g);
    char out[700];
    snprintf(out, sizeof(out), "%s/status.out", g->d.dir);
    int rc = th_system("'%s/flowhound' status --url http://%s > '%s'", th_builddir(), g->web, out);
    th_system("cat '%s' >&2", out);
    cr_expect_eq(rc, 0, "exit 0: healthy");
    static const char *const lines[] = {
        "^flowhoundd [0-9.]* at http://127\\.0\\.0\\.1:[0-9]*, up [0-9]*s: healthy$",
        "^receiving   14 datagrams, 1 rejected, 0 from exporters not allowed$",
        "^  UDP 127\\.0\\.0\\.1:[0-9]* *14 datagrams *0 dropped by the kernel$",
        "^storing     26 rows stored, 0 failed; 0 datagrams lost in the journal$",
        "^  journal [0-9.]* KiB of 8\\.0 GiB, 0 B not yet decoded; queue 0/64 batches$",
        "^127\\.0\\.1\\.1 *7 *14 *0 *0/0/0/0 ",
        "^127\\.0\\.2\\.1 *1 *0 *1 *0/0/0/0 ",
        "^  alerts 1 opened, .*stale-window 12h, alert-quiet 1h, alert-hold 2s$",
        "^alert delivery: no alert-syslog destination$",
    };
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
        cr_expect_eq(th_system("grep -q '%s' '%s'", lines[i], out), 0, "no line %s", lines[i]);
    char raw[700];
    snprintf(raw, sizeof(raw), "%s/raw.out", g->d.dir);
    cr_expect_eq(
        th_system("'%s/flowhound' status --raw --url http://%s > '%s'", th_builddir(), g->web, raw),
        0);
    cr_expect_eq(th_system("grep -q '^flowhound_rows_stored_total 26$' '%s'", raw), 0);
    cr_assert_eq(th_daemon_stop(&g->d), 0);
    cr_expect_eq(
        th_system("'%s/flowhound' status --url http://%s 2>/dev/null", th_builddir(), g->web), 1,
        "nothing listening: exit 1");
}

Test(metrics, flowhound_status_over_https_trusts_the_daemons_own_certificate, .timeout = 60)
{
    struct rig *g = &rig_;
    g->d.dir = th_tmpdir();
    if (!th_have("openssl"))
        cr_skip_test("openssl (to make a test certificate) is not installed");
    cr_assert_eq(th_system("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                           "-subj /CN=localhost -days 1 -keyout '%s/key.pem' -out '%s/cert.pem' "
                           ">/dev/null 2>&1",
                           g->d.dir, g->d.dir),
                 0);
    char cert[600], key[600], conf[700], other[700];
    snprintf(cert, sizeof(cert), "%s/cert.pem", g->d.dir);
    snprintf(key, sizeof(key), "%s/key.pem", g->d.dir);
    const char *const tls[] = {"--web-cert", cert, "--web-key", key, NULL};
    rig_start(g, "", tls);
    /* the daemon's config file as an operator has it: web, web-cert (status needs no key) */
    snprintf(conf, sizeof(conf), "%s/status.conf", g->d.dir);
    FILE *f = fopen(conf, "w");
    fprintf(f, "web = %s\nweb-cert = %s\n", g->web, cert);
    fclose(f);
    cr_expect_eq(th_system("'%s/flowhound' status -c '%s' | grep -q '^flowhoundd .* at https://'",
                           th_builddir(), conf),
                 0, "HTTPS, the certificate pinned");
    /* another certificate: the server's is not trusted, nothing is shown */
    cr_assert_eq(th_system("cd '%s' && openssl req -x509 -newkey ec -pkeyopt "
                           "ec_paramgen_curve:P-256 -nodes -subj /CN=localhost -days 1 -keyout "
                           "k2.pem -out c2.pem >/dev/null 2>&1",
                           g->d.dir),
                 0);
    snprintf(other, sizeof(other), "%s/c2.pem", g->d.dir);
    cr_expect_eq(th_system("'%s/flowhound' status --web-cert '%s' --url https://%s 2>&1 | "
                           "grep -q 'TLS handshake'",
                           th_builddir(), other, g->web),
                 0, "a certificate other than the pinned one is refused");
    cr_assert_eq(th_daemon_stop(&g->d), 0);
}

Test(metrics, healthz_is_503_with_the_reason_while_the_store_refuses_writes, .timeout = 120)
{
    struct rig *g = &rig_;
    rig_start(g, "", NULL);
    cr_assert_eq(metric_wait(g, "flowhound_healthy", "", 1, 5000), 1);
    /* Another writer holds the store: the daemon's commits fail (busy) and it counts what it
     * drops, as on a full disk. */
    sqlite3 *h;
    cr_assert_eq(sqlite3_open(g->d.db, &h), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    th_replay(th_shared_path("scenarios/story/merged.v5.pcap"), g->d.port, 2000, 1);
    long status = 0;
    char *body = NULL;
    for (int i = 0; i < 200 && status != 503; i++) {
        free(body);
        body = get(g, "/healthz", &status, NULL);
        if (status != 503)
            sleep_ms(100);
    }
    cr_expect_eq(status, 503, "unhealthy while writes fail");
    cr_expect(body && strstr(body, "unhealthy: store: writes are failing"), "%s", body);
    free(body);
    sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(h);
    cr_expect_eq(metric_wait(g, "flowhound_healthy", "", 1, 30000), 1, "healthy again");
    body = get(g, "/healthz", &status, NULL);
    cr_expect_eq(status, 200, "%s", body);
    free(body);
    cr_assert_eq(th_daemon_stop(&g->d), 0);
}

/* ---- alert delivery reconfigured by a reload ---- */

static struct rs rs_;

static void teardown_rs(void)
{
    th_daemon_cleanup(&rig_.d);
    rs_cleanup(&rs_);
}

TestSuite(delivery, .fini = teardown_rs);

Test(delivery, a_destination_added_by_a_reload_gets_the_alerts_and_one_removed_stops,
     .timeout = 120)
{
    struct rig *g = &rig_;
    rs_start(&rs_, false);
    rig_start(g, "", NULL);
    char dest[64], label[128];
    snprintf(dest, sizeof(dest), "tcp://127.0.0.1:%u", rs_.tcp_port);
    snprintf(label, sizeof(label), "destination=\"%s\"", dest);
    write_conf(g, "alert-syslog = %s\nalert-syslog-hostname = reloaded\n", dest);
    hup(g);
    /* it connects when it has something to send */
    cr_assert_eq(metric_wait(g, "flowhound_alert_delivery_connected", label, 0, 15000), 0,
                 "the new destination is configured");
    cr_assert_gt(th_replay(th_shared_path("scenarios/story/merged.v5.pcap"), g->d.port, 2000, 1),
                 0);
    cr_expect_geq(rs_wait(&rs_, 1, 30000), 1, "an alert reached the destination the reload added");
    json_t *all = rs_messages(&rs_), *m = json_array_get(all, 0);
    cr_expect_str_eq(json_string_value(json_object_get(m, "hostname")), "reloaded");
    cr_expect_str_eq(rs_param(m, "event"), "opened");
    json_decref(all);
    cr_expect_eq(metric(g, "flowhound_alert_delivery_connected", label), 1);
    write_conf(g, "\n");
    hup(g);
    cr_expect_eq(metric_wait(g, "flowhound_alert_delivery_connected", label, -1, 15000), -1,
                 "removed by the next reload");
    cr_expect(log_wait(g, "alert delivery stopped: no alert-syslog destination any more", 5000));
    cr_assert_eq(th_daemon_stop(&g->d), 0);
}
