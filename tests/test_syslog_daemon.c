/* test_syslog_daemon.c - syslog delivery as an operator meets it: `flowhound test-alert`
 * against a real rsyslog, flowhoundd's --alert-syslog settings and --check-config, the
 * daemon delivering spooled alerts across a receiver outage and its own restart, and the
 * story end to end (exports -> flowhoundd -> analyzer -> rsyslog). */
#include "config.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/alert_fixture.h"
#include "common/timeutil.h"
#include "tests/helpers.h"
#include "tests/rsyslog.h"
#include "tests/syslog_parse.h"

#define T0 1795455074598LL

static struct rs rs;
static struct th_daemon daemon_;

static void teardown(void)
{
    th_daemon_cleanup(&daemon_);
    rs_cleanup(&rs);
}

TestSuite(syslog_daemon, .fini = teardown, .timeout = 90);

static void expect_rfc5424(json_t *m)
{
    const char *raw = json_string_value(json_object_get(m, "raw"));
    struct sp_msg p;
    char err[256];
    cr_assert(sp_parse(raw, strlen(raw), &p, err, sizeof(err)), "%s: %s", err, raw);
    sp_free(&p);
}

Test(syslog_daemon, test_alert_reaches_rsyslog_and_reports_failures)
{
    rs_start(&rs, false);
    char out[700], conf[700];
    snprintf(out, sizeof(out), "%s/test-alert.out", rs.dir);
    snprintf(conf, sizeof(conf), "%s/flowhound.conf", rs.dir);
    FILE *f = fopen(conf, "w");
    cr_assert(f);
    fprintf(f,
            "# as an operator writes it\nalert-syslog = tcp://127.0.0.1:%u\n"
            "alert-syslog-facility = local5\nalert-syslog-hostname = fh-cli\n",
            rs.tcp_port);
    fclose(f);
    int rc = th_system("'%s/flowhound' test-alert -c '%s' --alert-syslog=udp://127.0.0.1:%u "
                       "> '%s' 2>&1",
                       th_builddir(), conf, rs.udp_port, out);
    th_system("cat '%s' >&2", out);
    cr_expect_eq(rc, 0);
    cr_expect_eq(
        th_system("grep -q '^tcp://127.0.0.1:%u: sent, [0-9]* octets' '%s'", rs.tcp_port, out), 0);
    cr_expect_eq(th_system("grep -q '^udp://127.0.0.1:%u: sent' '%s'", rs.udp_port, out), 0);
    cr_assert_eq(rs_wait(&rs, 2, 5000), 2);
    json_t *all = rs_messages(&rs);
    size_t i;
    json_t *m;
    json_array_foreach(all, i, m)
    {
        expect_rfc5424(m);
        cr_expect_str_eq(rs_param(m, "test"), "1");
        cr_expect_str_eq(rs_param(m, "client"), "192.0.2.50");
        cr_expect_str_eq(rs_param(m, "holder"), "middlebox");
        cr_expect_str_eq(json_string_value(json_object_get(m, "msgid")), "STALE_STATE");
        cr_expect_str_eq(json_string_value(json_object_get(m, "hostname")), "fh-cli");
        cr_expect_str_eq(json_string_value(json_object_get(m, "pri")), "172", "local5.warning");
        cr_expect(strstr(json_string_value(json_object_get(m, "msg")), "TEST ALERT"));
    }
    json_decref(all);

    /* a receiver that is not there: reported, exit status 1 */
    rs_stop(&rs);
    rc = th_system("'%s/flowhound' test-alert --alert-syslog tcp://127.0.0.1:%u > '%s' 2>&1",
                   th_builddir(), rs.tcp_port, out);
    cr_expect_eq(rc, 1);
    cr_expect_eq(th_system("grep -q 'FAILED: connect: Connection refused' '%s'", out), 0);
    rc = th_system("'%s/flowhound' test-alert > '%s' 2>&1", th_builddir(), out);
    cr_expect_eq(rc, 2, "no destination is a usage error");
}

Test(syslog_daemon, check_config_catches_bad_destinations)
{
    char *dir = th_tmpdir();
    const char *bad[] = {"--alert-syslog ftp://x:1",
                         "--alert-syslog tcp://h:0",
                         "--alert-syslog tcp://h:1 --alert-syslog-facility local9",
                         "--alert-syslog tcp://h:1 --alert-syslog-severity loud",
                         "--alert-syslog tls://h:1 --alert-syslog-ca /nonexistent/ca.pem",
                         "--alert-syslog tls://h:1 --alert-syslog-cert /etc/hostname"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = th_system("'%s/flowhoundd' --db '%s/x.db' %s --check-config > /dev/null 2>&1",
                           th_builddir(), dir, bad[i]);
        cr_expect_eq(rc, 2, "accepted: %s", bad[i]);
    }
    int rc = th_system("'%s/flowhoundd' --db '%s/x.db' --alert-syslog local --alert-syslog "
                       "'tls://[::1]:6514' --alert-syslog-facility local0 --check-config "
                       "| grep -q '^alert-syslog = tls://\\[::1\\]:6514'",
                       th_builddir(), dir);
    cr_expect_eq(rc, 0);
    th_rmtree(dir);
    free(dir);
}

static json_t *wait_messages(size_t want, int timeout_ms)
{
    rs_wait(&rs, want, timeout_ms);
    return rs_messages(&rs);
}

/* flowhoundd delivers what the analyzer commits, keeps it while the receiver is down, and
 * sends it after its own restart: every event exactly once. */
Test(syslog_daemon, daemon_delivers_through_outage_and_restart)
{
    rs_start(&rs, false);
    char dest[64];
    snprintf(dest, sizeof(dest), "tcp://127.0.0.1:%u", rs.tcp_port);
    const char *args[] = {"--alert-syslog", dest, "--alert-syslog-hostname", "fh-daemon", NULL};
    th_daemon_start(&daemon_, args);
    struct alert a;
    fx_story_alert(&a);
    fx_commit_event(daemon_.db, &a, ALERT_EV_OPENED, T0);
    json_t *all = wait_messages(1, 8000);
    cr_assert_eq(json_array_size(all), 1, "the daemon picked the event from the spool");
    cr_expect_str_eq(rs_param(json_array_get(all, 0), "client"), "10.1.1.50");
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(all, 0), "hostname")),
                     "fh-daemon");
    json_decref(all);

    rs_stop(&rs);
    a.attempts = 6;
    fx_commit_event(daemon_.db, &a, ALERT_EV_UPDATED, T0 + 600000);
    cr_expect_geq(th_db_wait(daemon_.db, "SELECT errors FROM alert_destinations", 1, 8000), 1,
                  "the outage shows in alert_destinations");
    cr_expect_eq(th_daemon_stop(&daemon_), 0);
    a.state = ALERT_RESOLVED;
    a.resolved_ms = T0 + 900000;
    fx_commit_event(daemon_.db, &a, ALERT_EV_RESOLVED, T0 + 900000);
    rs_restart(&rs);
    char db[512];
    snprintf(db, sizeof(db), "%s", daemon_.db); /* th_daemon_start_db copies into daemon_.db */
    th_daemon_start_db(&daemon_, db, args);
    all = wait_messages(3, 10000);
    cr_expect_eq(json_array_size(all), 3, "opened, updated, resolved: once each");
    size_t i;
    json_t *m;
    json_array_foreach(all, i, m)
    {
        expect_rfc5424(m);
        char want[24];
        snprintf(want, sizeof(want), "%zu", i + 1);
        cr_expect_str_eq(rs_param(m, "eventId"), want, "in order, no duplicate");
    }
    cr_expect_str_eq(rs_param(json_array_get(all, 2), "event"), "resolved");
    json_decref(all);
    cr_expect_eq(th_db_wait(daemon_.db, "SELECT sent FROM alert_destinations", 3, 5000), 3);
    alert_free_fields(&a);
}

/* The story: softflowd's exports of both taps -> flowhoundd -> analyzer -> rsyslog: both
 * episodes arrive, the evening one naming the firewall, the morning one the server. */
Test(syslog_daemon, story_exports_end_as_a_stale_state_alert_in_rsyslog, .timeout = 120)
{
    rs_start(&rs, false);
    char dest[64];
    snprintf(dest, sizeof(dest), "tcp://127.0.0.1:%u", rs.tcp_port);
    /* the inside tap is observation domain 2 (../shared/scenarios/README.md) */
    const char *args[] = {"--alert-syslog", dest, "--vantage-inner", "*/2", NULL};
    th_daemon_start(&daemon_, args);
    cr_assert_gt(th_replay(th_shared_path("scenarios/story/merged.v9.pcap"), daemon_.port, 200, 0),
                 0);
    json_t *firewall = NULL, *server = NULL, *all = NULL;
    /* Bounded by the clock: wait_messages returns at once when messages are there already. */
    for (int64_t until = now_ms() + 60000; now_ms() < until && !(firewall && server);) {
        size_t have = all ? json_array_size(all) : 0;
        json_decref(all);
        all = wait_messages(have + 1, 500);
        firewall = server = NULL;
        size_t i;
        json_t *m;
        json_array_foreach(all, i, m)
        {
            const char *cp = rs_param(m, "clientPort");
            const char *kind = rs_param(m, "kind");
            const char *holder = rs_param(m, "holder");
            const char *event = rs_param(m, "event");
            if (!event || strcmp(event, "opened"))
                continue; /* the phase-1 alert also resolves when the morning episode starts */
            if (!rs_param(m, "client") || strcmp(rs_param(m, "client"), "10.1.1.50") || !cp ||
                strcmp(cp, "722") || !kind || strcmp(kind, "stale_state") || !holder)
                continue;
            if (!strcmp(holder, "middlebox"))
                firewall = m;
            else if (!strcmp(holder, "server"))
                server = m;
        }
    }
    cr_assert(firewall, "no stale-state alert naming the firewall reached rsyslog");
    cr_assert(server, "no stale-state alert naming the server reached rsyslog");
    json_t *both[] = {firewall, server};
    for (int k = 0; k < 2; k++) {
        expect_rfc5424(both[k]);
        cr_expect_str_eq(rs_param(both[k], "server"), "10.2.2.10");
        cr_expect_str_eq(rs_param(both[k], "serverPort"), "515");
        cr_expect_str_eq(json_string_value(json_object_get(both[k], "msgid")), "STALE_STATE");
        cr_expect_str_eq(rs_param(both[k], "attempts"), "3");
    }
    json_decref(all);
}
