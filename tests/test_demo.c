/* test_demo.c - scripts/demo.sh end to end, as a newcomer runs it: the real daemon on free
 * ports, the story's captures through Debian's softflowd, both alerts printed in plain words
 * and stored (checked here and by the shared check_alerts.py), within seconds; in its
 * default mode the daemon stays up with its web UI at the printed address. */
#include "config.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/timeutil.h"
#include "tests/helpers.h"
#include "tests/web/webtest.h"

#define DEMO_MAX_MS 30000 /* the README promises an alert within a minute; it takes ~4 s */

/* Runs demo.sh with args, its output in dir/out.txt; returns the output (caller frees). */
static char *run_demo(const char *dir, const char *args, int64_t *took_ms)
{
    cr_assert(th_have("softflowd"), "softflowd is not installed (scripts/install-deps.sh --test)");
    cr_assert(th_have("sqlite3"), "sqlite3 is not installed (scripts/install-deps.sh)");
    const char *src = getenv("FH_SRCDIR") ? getenv("FH_SRCDIR") : "..";
    int64_t t0 = mono_ms();
    int rc = th_system("FH_SHARED='%s' '%s/scripts/demo.sh' --build '%s' --dir '%s/demo' %s "
                       "> '%s/out.txt' 2>&1",
                       th_shared(), src, th_builddir(), dir, args, dir);
    *took_ms = mono_ms() - t0;
    char path[600];
    snprintf(path, sizeof(path), "%s/out.txt", dir);
    FILE *f = fopen(path, "r");
    cr_assert(f);
    static char buf[16384];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    cr_assert_eq(rc, 0, "demo.sh failed:\n%s", buf);
    return strdup(buf);
}

static void expect_said(const char *out, const char *what)
{
    cr_expect(strstr(out, what), "demo.sh did not print \"%s\":\n%s", what, out);
}

Test(demo, prints_and_stores_both_alerts_then_stops, .timeout = 90)
{
    char *dir = th_tmpdir();
    int64_t took;
    char *out = run_demo(dir, "--stop", &took);
    fprintf(stderr, "demo.sh --stop: %lld ms\n", (long long)took);
    cr_expect_lt(took, DEMO_MAX_MS, "demo.sh took %lld ms", (long long)took);
    expect_said(out, "Alert 1 (resolved): 10.1.1.50:722 could not connect to 10.2.2.10:515");
    expect_said(out, "3 SYNs from port 722 failed between 2026-11-23 17:31:05 and 17:31:14 UTC");
    expect_said(out, "Who answered: the FIREWALL between the taps");
    expect_said(out, "the outside tap (127.0.1.1) saw the SYNs answered by bare ACKs");
    expect_said(out, "Alert 2 (open): 10.1.1.50:722 could not connect to 10.2.2.10:515");
    expect_said(out, "Who answered: the SERVER");
    expect_said(out, "/port?client=10.1.1.50&port=722");
    expect_said(out, "flowhoundd stopped; the store is");

    char db[700];
    snprintf(db, sizeof(db), "%s/demo/flowhound.db", dir);
    cr_expect_eq(th_db_int(db, "SELECT count(*) FROM flows"), 26, "the story's 26 records");
    cr_expect_eq(th_db_int(db, "SELECT count(DISTINCT exporter) FROM flows"), 2, "two taps");
    cr_expect_eq(th_db_int(db, "SELECT count(*) FROM alerts"), 2);
    cr_expect_eq(th_db_int(db, "SELECT count(*) FROM alerts WHERE id = 1 AND state = "
                               "'resolved' AND holder = 'middlebox' AND attempts = 3 AND "
                               "client_port = 722"),
                 1);
    cr_expect_eq(th_db_int(db, "SELECT count(*) FROM alerts WHERE id = 2 AND state = 'open' "
                               "AND holder = 'server' AND attempts = 3 AND client_port = 722"),
                 1);
    if (th_have("python3")) {
        char cmd[2048];
        snprintf(cmd, sizeof(cmd), "python3 '%s' --db '%s' '%s' | grep -qx '2 0 0 2 2'",
                 th_shared_path("tools/check/check_alerts.py"), db,
                 th_shared_path("scenarios/story/labels.json"));
        cr_expect_eq(th_system("%s", cmd), 0, "check_alerts.py disagrees");
    }
    snprintf(db, sizeof(db), "%s/demo/flowhoundd.pid", dir);
    cr_expect(access(db, F_OK) != 0, "flowhoundd still running (its pidfile is there)");
    free(out);
    th_rmtree(dir);
    free(dir);
}

/* The first word after `after` in out, into buf. */
static void word_after(const char *out, const char *after, char *buf, size_t len)
{
    const char *p = strstr(out, after);
    cr_assert(p, "demo.sh did not print \"%s\":\n%s", after, out);
    p += strlen(after);
    size_t n = strcspn(p, " \n");
    cr_assert_lt(n, len);
    memcpy(buf, p, n);
    buf[n] = '\0';
}

Test(demo, leaves_the_daemon_running_with_its_web_ui, .timeout = 90)
{
    char *dir = th_tmpdir();
    int64_t took;
    char *out = run_demo(dir, "", &took);
    char pid_s[32], web[128], page[256];
    word_after(out, "Stop it:  kill ", pid_s, sizeof(pid_s));
    word_after(out, "web UI http://", web, sizeof(web));
    word_after(out, "web UI:\n  ", page, sizeof(page));
    pid_t pid = (pid_t)atol(pid_s);
    cr_assert_gt(pid, 1);
    cr_expect_eq(kill(pid, 0), 0, "flowhoundd is not running");
    web[strcspn(web, "/")] = '\0';
    cr_expect(strstr(page, "/port?client=10.1.1.50&port=722"), "%s", page);
    struct wt_resp r;
    wt_request(page, NULL, NULL, NULL, &r);
    cr_expect_eq(r.status, 200, "%s", page);
    wt_resp_free(&r);
    json_t *alerts = wt_get_json(web, "/api/v1/alerts", 200);
    cr_expect_eq(json_array_size(json_object_get(alerts, "alerts")), 2);
    json_decref(alerts);
    kill(pid, SIGTERM);
    for (int i = 0; i < 100 && kill(pid, 0) == 0; i++)
        usleep(100 * 1000);
    cr_expect_neq(kill(pid, 0), 0, "flowhoundd did not stop on SIGTERM");
    free(out);
    th_rmtree(dir);
    free(dir);
}
