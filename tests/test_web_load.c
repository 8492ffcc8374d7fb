/* test_web_load.c - the web server of the real flowhoundd under hostile clients (issue 13):
 * slow connections (slowloris) from the same and other loopback addresses do not lock a
 * legitimate client out, requests that never finish are closed, one client cannot hold every
 * connection, and guesses of the password are refused and slowed per client address while
 * the right password works at once from elsewhere. */
#include "config.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tests/helpers.h"
#include "tests/web/webtest.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint16_t port_of(const char *addr)
{
    return (uint16_t)atoi(strrchr(addr, ':') + 1);
}

/* The first bytes of an answer's body (enough for the counters). */
struct body {
    char text[4096];
    size_t len;
};

static size_t keep_body(char *p, size_t size, size_t n, void *ctx)
{
    struct body *b = ctx;
    size_t add = size * n, room = sizeof(b->text) - 1 - b->len;
    memcpy(b->text + b->len, p, add < room ? add : room);
    b->len += add < room ? add : room;
    b->text[b->len] = '\0';
    return add;
}

/* One HTTP client: a source address, optional credentials ("user:password" or a bearer
 * token), and one connection kept alive across its requests. */
struct client {
    CURL *c;
    struct curl_slist *hdrs;
    struct body body; /* of the last answer */
    long retry_after; /* of the last answer, -1 if none */
    double secs;      /* the last request's time */
};

static void client_init(struct client *cl, const char *src, const char *userpwd, const char *bearer)
{
    memset(cl, 0, sizeof(*cl));
    cl->c = curl_easy_init();
    cr_assert(cl->c);
    curl_easy_setopt(cl->c, CURLOPT_WRITEFUNCTION, keep_body);
    curl_easy_setopt(cl->c, CURLOPT_WRITEDATA, &cl->body);
    curl_easy_setopt(cl->c, CURLOPT_NOPROXY, "*");
    /* Long enough for a loaded CI machine, short enough to fail the test: the server
     * answered nothing for 40 s. */
    curl_easy_setopt(cl->c, CURLOPT_TIMEOUT, 5L);
    curl_easy_setopt(cl->c, CURLOPT_INTERFACE, src);
    if (userpwd) {
        curl_easy_setopt(cl->c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        curl_easy_setopt(cl->c, CURLOPT_USERPWD, userpwd);
    }
    if (bearer) {
        char h[256];
        snprintf(h, sizeof(h), "Authorization: Bearer %s", bearer);
        cl->hdrs = curl_slist_append(NULL, h);
        curl_easy_setopt(cl->c, CURLOPT_HTTPHEADER, cl->hdrs);
    }
}

static void client_free(struct client *cl)
{
    curl_easy_cleanup(cl->c);
    curl_slist_free_all(cl->hdrs);
}

/* GET http://addr/path: the status, or 0 when there was no answer. */
static long client_get(struct client *cl, const char *addr, const char *path)
{
    char url[512];
    snprintf(url, sizeof(url), "http://%s%s", addr, path);
    curl_easy_setopt(cl->c, CURLOPT_URL, url);
    cl->body.len = 0;
    cl->body.text[0] = '\0';
    double t0 = now_s();
    CURLcode rc = curl_easy_perform(cl->c);
    cl->secs = now_s() - t0;
    long status = 0;
    cl->retry_after = -1;
    if (rc == CURLE_OK) {
        curl_easy_getinfo(cl->c, CURLINFO_RESPONSE_CODE, &status);
        curl_off_t ra = -1;
        if (curl_easy_getinfo(cl->c, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
            cl->retry_after = (long)ra;
    }
    return status;
}

/* One GET from src on its own connection: the status; *secs its time. */
static long get_from(const char *src, const char *addr, const char *path, double *secs)
{
    struct client cl;
    client_init(&cl, src, NULL, NULL);
    long status = client_get(&cl, addr, path);
    if (secs)
        *secs = cl.secs;
    client_free(&cl);
    return status;
}

/* The server's own counters (GET /api/v1/stats/web), asked from an address of their own
 * (127.0.0.254) so as not to count against the clients under test. */
static json_t *web_stats(const char *addr, const char *userpwd)
{
    struct client cl;
    client_init(&cl, "127.0.0.254", userpwd, NULL);
    cr_assert_eq(client_get(&cl, addr, "/api/v1/stats/web"), 200, "%s", cl.body.text);
    json_t *v = json_loads(cl.body.text, 0, NULL);
    cr_assert(v, "%s", cl.body.text);
    client_free(&cl);
    return v;
}

static long long stat_of(json_t *v, const char *group, const char *name)
{
    json_t *n = json_object_get(json_object_get(v, group), name);
    cr_assert(json_is_integer(n), "%s.%s missing", group, name);
    return json_integer_value(n);
}

static long long web_stat(const char *addr, const char *userpwd, const char *group,
                          const char *name)
{
    json_t *v = web_stats(addr, userpwd);
    long long n = stat_of(v, group, name);
    json_decref(v);
    return n;
}

/* ---- slowloris: connections that send a request one header byte a second ---- */

#define LORIS_MAX 400

struct loris {
    uint16_t port;
    int n, n_addrs;
    bool reconnect; /* open a new connection for each one the server closes, as attackers do */
    int fd[LORIS_MAX];
    double opened[LORIS_MAX], closed_after[LORIS_MAX]; /* closed by the server, seconds */
    atomic_bool stop;
    atomic_int closed; /* connections the server closed */
    pthread_t thread;
};

/* Connection i comes from 127.0.0.(1 + i % n_addrs): 127.0.0.1 is the legitimate clients'. */
static int loris_connect(struct loris *l, int i)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in src = {.sin_family = AF_INET}, dst = {.sin_family = AF_INET};
    char ip[32];
    snprintf(ip, sizeof(ip), "127.0.0.%d", 1 + i % l->n_addrs);
    inet_pton(AF_INET, ip, &src.sin_addr);
    cr_assert_eq(bind(fd, (struct sockaddr *)&src, sizeof(src)), 0, "bind %s: %s", ip,
                 strerror(errno));
    dst.sin_port = htons(l->port);
    inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
    cr_assert_eq(connect(fd, (struct sockaddr *)&dst, sizeof(dst)), 0, "%s", strerror(errno));
    static const char start[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
    send(fd, start, sizeof(start) - 1, MSG_NOSIGNAL);
    l->opened[i] = now_s();
    return fd;
}

/* Has the server closed it? (It never sends anything: the request is never complete.) */
static bool loris_gone(int fd)
{
    char b;
    ssize_t n = recv(fd, &b, 1, MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

static void loris_round(struct loris *l)
{
    for (int i = 0; i < l->n; i++) {
        if (l->fd[i] >= 0 && (loris_gone(l->fd[i]) || send(l->fd[i], "a", 1, MSG_NOSIGNAL) != 1)) {
            l->closed_after[i] = now_s() - l->opened[i];
            close(l->fd[i]);
            l->fd[i] = -1;
            atomic_fetch_add(&l->closed, 1);
        }
        if (l->fd[i] < 0 && l->reconnect)
            l->fd[i] = loris_connect(l, i);
    }
}

static void *loris_main(void *arg)
{
    struct loris *l = arg;
    double next = now_s();
    while (!atomic_load(&l->stop)) {
        if (now_s() >= next) {
            loris_round(l);
            next += 1.0;
        }
        usleep(20000);
    }
    return NULL;
}

static void loris_start(struct loris *l, const char *addr, int n, int n_addrs, bool reconnect)
{
    memset(l, 0, sizeof(*l));
    cr_assert_leq(n, LORIS_MAX);
    l->port = port_of(addr);
    l->n = n;
    l->n_addrs = n_addrs;
    l->reconnect = reconnect;
    for (int i = 0; i < n; i++)
        l->fd[i] = loris_connect(l, i);
    cr_assert_eq(pthread_create(&l->thread, NULL, loris_main, l), 0);
}

static void loris_stop(struct loris *l)
{
    atomic_store(&l->stop, true);
    pthread_join(l->thread, NULL);
    for (int i = 0; i < l->n; i++)
        if (l->fd[i] >= 0)
            close(l->fd[i]);
}

/* Waits (10 s at most) until the server has closed n of the connections. */
static void loris_wait_closed(struct loris *l, int n)
{
    for (double until = now_s() + 10; now_s() < until && atomic_load(&l->closed) < n;)
        usleep(50000);
}

/* Waits until the server has seen `n` connections (open, or closed by it). */
static void wait_seen(const char *addr, long long n)
{
    long long seen = 0;
    for (double until = now_s() + 15; now_s() < until; usleep(100000)) {
        json_t *v = web_stats(addr, NULL);
        seen = stat_of(v, "connections", "open") + stat_of(v, "connections", "evicted") +
               stat_of(v, "connections", "timed_out") + stat_of(v, "connections", "refused");
        json_decref(v);
        if (seen >= n)
            return;
    }
    cr_assert_fail("the server saw %lld of %lld connections", seen, n);
}

/* Regression (issue 13): 300 slow connections held all 64 of libmicrohttpd's and no page
 * answered while they trickled. Now the legitimate client gets its pages at once, from its
 * own address (shared with the attack) and from a fresh one, while the attacker keeps
 * reconnecting what the server closes. */
Test(web_load, slowloris_leaves_room_for_a_legitimate_client, .timeout = 90)
{
    struct th_daemon d = {0};
    char addr[128];
    /* A header timeout shorter than the test, so that both ways of freeing a connection
     * (for a newer client, after the timeout) are at work meanwhile. */
    const char *const extra[] = {"--web-header-timeout", "2s", NULL};
    wt_start(&d, extra, addr, sizeof(addr));
    struct loris l;
    loris_start(&l, addr, 300, 30, true);
    wait_seen(addr, 300);
    static const char *const srcs[] = {"127.0.0.1", "127.0.0.200"};
    static const char *const paths[] = {"/", "/api/v1/stats/summary", "/static/app.js"};
    double worst = 0;
    /* For ~7 s. */
    for (int round = 0; round < 7; round++) {
        for (int s = 0; s < 2; s++) {
            double secs;
            long status = get_from(srcs[s], addr, paths[round % 3], &secs);
            cr_expect_eq(status, 200, "round %d from %s: %s answered %ld after %.2f s", round,
                         srcs[s], paths[round % 3], status, secs);
            worst = secs > worst ? secs : worst;
        }
        usleep(1000000);
    }
    cr_log_info("legitimate page under 300 slow connections: slowest %.3f s", worst);
    /* The attacker's connections never finish: each is closed after the header timeout or
     * for a newer client, and the server never holds more than its limit. */
    cr_expect_gt(web_stat(addr, NULL, "connections", "timed_out"), 0);
    cr_expect_gt(web_stat(addr, NULL, "connections", "evicted"), 0);
    cr_expect_leq(web_stat(addr, NULL, "connections", "open"), 256);
    loris_stop(&l);
    cr_expect_eq(th_daemon_stop(&d), 0);
    th_daemon_cleanup(&d);
}

/* A request that has not come complete within the header timeout is closed, however steadily
 * it trickles (libmicrohttpd's own timeout only counts silence), and counted. */
Test(web_load, incomplete_requests_are_closed_after_the_header_timeout, .timeout = 60)
{
    struct th_daemon d = {0};
    char addr[128];
    const char *const extra[] = {"--web-header-timeout", "1s", NULL};
    wt_start(&d, extra, addr, sizeof(addr));
    struct loris l;
    loris_start(&l, addr, 5, 5, false);
    loris_wait_closed(&l, 5);
    loris_stop(&l);
    cr_assert_eq(atomic_load(&l.closed), 5, "every slow request closed");
    for (int i = 0; i < 5; i++)
        cr_expect(l.closed_after[i] >= 0.9 && l.closed_after[i] < 4,
                  "connection %d closed after %.2f s (header timeout 1 s)", i, l.closed_after[i]);
    cr_expect_eq(web_stat(addr, NULL, "connections", "timed_out"), 5);
    cr_expect_eq(get_from("127.0.0.1", addr, "/", NULL), 200);
    cr_expect_eq(th_daemon_stop(&d), 0);
    th_daemon_cleanup(&d);
}

/* One client holds at most web-client-connections: each one over closes its connection that
 * waited longest (here: its oldest), and the client's next real request still gets through. */
Test(web_load, one_client_holds_at_most_its_share, .timeout = 60)
{
    struct th_daemon d = {0};
    char addr[128];
    const char *const extra[] = {"--web-client-connections", "4", NULL};
    wt_start(&d, extra, addr, sizeof(addr));
    struct loris l;
    loris_start(&l, addr, 10, 1, false);
    loris_wait_closed(&l, 6);
    cr_expect_eq(atomic_load(&l.closed), 6, "10 connections, 4 allowed");
    cr_expect_eq(get_from("127.0.0.1", addr, "/api/v1/stats/summary", NULL), 200,
                 "a real request from the same address");
    loris_wait_closed(&l, 7);
    loris_stop(&l);
    for (int i = 0; i < 10; i++)
        cr_expect_eq(l.closed_after[i] > 0, i < 7, "connection %d: %s", i,
                     i < 7 ? "the oldest 7 closed" : "the newest 3 kept");
    cr_expect_eq(web_stat(addr, NULL, "connections", "evicted"), 7);
    cr_expect_eq(th_daemon_stop(&d), 0);
    th_daemon_cleanup(&d);
}

/* The header timeout is about the request, not its answer: a query running longer than it is
 * answered. */
Test(web_load, a_long_query_outlives_the_header_timeout, .timeout = 120)
{
    struct th_daemon d = {0};
    char addr[128];
    const char *const extra[] = {"--web-header-timeout", "0.2", "--web-query-timeout", "60s", NULL};
    wt_start(&d, extra, addr, sizeof(addr));
    wt_store_story(&d);
    wt_add_rows(d.db, 600000);
    struct client cl;
    client_init(&cl, "127.0.0.1", NULL, NULL);
    curl_easy_setopt(cl.c, CURLOPT_TIMEOUT, 60L);
    long status = client_get(&cl, addr, "/api/v1/stats/top?by=src_port&n=5");
    cr_log_info("top N over 600k rows: %.2f s", cl.secs);
    cr_expect_eq(status, 200);
    cr_expect_gt(cl.secs, 0.2, "the query outlasted the header timeout (%.2f s)", cl.secs);
    client_free(&cl);
    cr_expect_eq(web_stat(addr, NULL, "connections", "timed_out"), 0);
    cr_expect_eq(th_daemon_stop(&d), 0);
    th_daemon_cleanup(&d);
}

/* Regression (issue 13): 11,949 guesses of the password in 3 s, none slowed. Now a client gets
 * 5 guesses checked a window (1 min), then 429 with Retry-After without its credentials being
 * looked at (the right ones neither); another address logs in at once. */
Test(web_load, password_guesses_are_refused_and_slowed, .timeout = 60)
{
    struct th_daemon d = {0};
    char addr[128];
    const char *const extra[] = {
        "--web-user",           "admin", "--web-password",     "right-pass", "--web-token", "tok3n",
        "--web-login-failures", "5",     "--web-login-window", "1m",         NULL};
    wt_start(&d, extra, addr, sizeof(addr));
    struct client basic, bearer;
    client_init(&basic, "127.0.0.2", "admin:wrong", NULL);
    client_init(&bearer, "127.0.0.2", NULL, "wrong-token");
    int checked = 0, refused = 0, other = 0;
    double t0 = now_s();
    for (int i = 0; i < 200; i++) {
        struct client *cl = i % 2 ? &bearer : &basic;
        long status = client_get(cl, addr, "/api/v1/stats/summary");
        checked += status == 401;
        refused += status == 429;
        other += status != 401 && status != 429;
        if (status == 429)
            cr_expect(cl->retry_after >= 1 && cl->retry_after <= 60, "Retry-After %ld",
                      cl->retry_after);
    }
    double secs = now_s() - t0;
    cr_log_info("200 guesses in %.2f s: %d checked (%.1f/s), %d refused", secs, checked,
                checked / secs, refused);
    cr_expect_eq(checked, 5, "5 guesses checked in the window, got %d", checked);
    cr_expect_eq(refused, 195);
    cr_expect_eq(other, 0);
    /* Locked out, the right password is not even looked at from there... */
    struct client right;
    client_init(&right, "127.0.0.2", "admin:right-pass", NULL);
    cr_expect_eq(client_get(&right, addr, "/api/v1/stats/summary"), 429);
    client_free(&right);
    /* ...and works at once from another address, with no delay. */
    client_init(&right, "127.0.0.3", "admin:right-pass", NULL);
    cr_expect_eq(client_get(&right, addr, "/api/v1/stats/summary"), 200);
    cr_log_info("right password from another address: %.3f s", right.secs);
    cr_expect_lt(right.secs, 2.0);
    client_free(&right);
    client_free(&basic);
    client_free(&bearer);
    cr_expect_eq(th_system("grep -q '5 failed logins of 127.0.0.2' '%s'", d.log), 0, "logged");
    cr_expect_eq(th_daemon_stop(&d), 0);
    th_daemon_cleanup(&d);
}

/* The lockout ends with its window; the right password then clears the client's failures. */
Test(web_load, a_lockout_ends_with_its_window, .timeout = 60)
{
    struct th_daemon d = {0};
    char addr[128];
    const char *const extra[] = {"--web-user",
                                 "admin",
                                 "--web-password",
                                 "right",
                                 "--web-login-failures",
                                 "3",
                                 "--web-login-window",
                                 "1s",
                                 NULL};
    wt_start(&d, extra, addr, sizeof(addr));
    struct client wrong, right;
    client_init(&wrong, "127.0.0.4", "admin:wrong", NULL);
    client_init(&right, "127.0.0.4", "admin:right", NULL);
    for (int i = 0; i < 3; i++)
        cr_expect_eq(client_get(&wrong, addr, "/"), 401);
    cr_expect_eq(client_get(&wrong, addr, "/"), 429);
    cr_expect_eq(wrong.retry_after, 1);
    long status = 0;
    for (double until = now_s() + 5; now_s() < until && status != 200; usleep(100000))
        status = client_get(&right, addr, "/");
    cr_expect_eq(status, 200, "the right password works once the window is over");
    /* Cleared: three more guesses are checked before the next lockout. */
    for (int i = 0; i < 3; i++)
        cr_expect_eq(client_get(&wrong, addr, "/"), 401, "guess %d after the success", i);
    cr_expect_eq(client_get(&wrong, addr, "/"), 429);
    cr_expect_eq(web_stat(addr, "admin:right", "logins", "lockouts"), 2);
    client_free(&wrong);
    client_free(&right);
    cr_expect_eq(th_daemon_stop(&d), 0);
    th_daemon_cleanup(&d);
}

/* Limits that cannot work are refused before anything starts, naming the setting. */
Test(web_load, limits_out_of_range_are_refused)
{
    static const char *const bad[][2] = {
        {"--web-max-connections 0", "web-max-connections"},
        {"--web-max-connections 5000", "web-max-connections"},
        {"--web-client-connections 300", "web-client-connections"},
        {"--web-header-timeout 0", "web-header-timeout"},
        {"--web-idle-timeout 2d", "web-idle-timeout"},
        {"--web-login-failures 0", "web-login-failures"},
        {"--web-login-window 0", "web-login-window"},
    };
    char *dir = th_tmpdir();
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = th_system("'%s/flowhoundd' --db '%s/x.db' %s --check-config >'%s/out' 2>&1",
                           th_builddir(), dir, bad[i][0], dir);
        cr_expect_eq(rc, 2, "%s: exit %d", bad[i][0], rc);
        cr_expect_eq(th_system("grep -q '%s: must be' '%s/out'", bad[i][1], dir), 0, "%s",
                     bad[i][0]);
    }
    int rc = th_system("'%s/flowhoundd' --db '%s/x.db' --web-max-connections 1000 "
                       "--web-client-connections 1000 --web-header-timeout 0.5 --check-config "
                       ">/dev/null 2>&1",
                       th_builddir(), dir);
    cr_expect_eq(rc, 0, "sane limits are accepted");
    th_rmtree(dir);
    free(dir);
}
