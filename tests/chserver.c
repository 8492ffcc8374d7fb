/* chserver.c - a real ClickHouse for the tests (chserver.h). */
#include "config.h"

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/timeutil.h"
#include <time.h>
#include "common/xmalloc.h"
#include "tests/chserver.h"
#include "tests/helpers.h"

#define SERVER "/usr/sbin/clickhouse-server"

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static uint16_t free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    return ntohs(a.sin_port);
}

void chs_ports(struct chs *c)
{
    do {
        c->http_port = free_port();
        c->tcp_port = free_port();
    } while (c->http_port == c->tcp_port);
}

static void write_config(struct chs *c, const char *cluster)
{
    char path[700];
    snprintf(path, sizeof(path), "%s/config.xml", c->dir);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fprintf(f,
            "<?xml version=\"1.0\"?>\n<yandex>\n"
            "  <logger><level>warning</level><log>%s/server.log</log>"
            "<errorlog>%s/error.log</errorlog></logger>\n"
            "  <http_port>%u</http_port>\n  <tcp_port>%u</tcp_port>\n"
            "  <listen_host>127.0.0.1</listen_host>\n"
            "  <path>%s/data/</path>\n  <tmp_path>%s/tmp/</tmp_path>\n"
            "  <users_config>/etc/clickhouse-server/users.xml</users_config>\n"
            "  <default_profile>default</default_profile>\n"
            "  <default_database>default</default_database>\n"
            "  <mark_cache_size>5368709</mark_cache_size>\n%s\n</yandex>\n",
            c->dir, c->dir, c->http_port, c->tcp_port, c->dir, c->dir, cluster ? cluster : "");
    fclose(f);
}

static void spawn(struct chs *c)
{
    char conf[700];
    snprintf(conf, sizeof(conf), "--config-file=%s/config.xml", c->dir);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        char out[700];
        snprintf(out, sizeof(out), "%s/stdout.log", c->dir);
        FILE *f = freopen(out, "a", stdout);
        if (f)
            dup2(fileno(stdout), 2);
        execl(SERVER, SERVER, conf, (char *)NULL);
        _exit(127);
    }
    c->pid = pid;
    /* a few seconds on an idle machine; a loaded one (sanitizer builds beside) takes longer */
    for (int i = 0; i < 600; i++) {
        char *v = chs_query(c, "SELECT 1");
        bool up = v && v[0] == '1';
        free(v);
        if (up)
            return;
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            c->pid = 0;
            th_system("tail -20 '%s/error.log' >&2", c->dir);
            cr_assert_fail("clickhouse-server exited at start (status %d)", status);
        }
        sleep_ms(50);
    }
    cr_assert_fail("clickhouse-server did not answer within 30 s");
}

void chs_start(struct chs *c, const char *cluster)
{
    if (access(SERVER, X_OK) != 0)
        cr_skip_test("clickhouse-server is not installed (scripts/install-deps.sh --test)");
    c->dir = th_tmpdir();
    if (!c->http_port)
        chs_ports(c);
    snprintf(c->url, sizeof(c->url), "clickhouse://127.0.0.1:%u/flowhound", c->http_port);
    write_config(c, cluster);
    spawn(c);
}

void chs_stop(struct chs *c)
{
    if (c->pid <= 0)
        return;
    kill(c->pid, SIGTERM);
    int status;
    waitpid(c->pid, &status, 0);
    c->pid = 0;
}

void chs_restart(struct chs *c)
{
    spawn(c);
}

void chs_cleanup(struct chs *c)
{
    chs_stop(c);
    if (c->dir) {
        th_rmtree(c->dir);
        free(c->dir);
        c->dir = NULL;
    }
}

struct body {
    char *s;
    size_t n;
};

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
    struct body *b = arg;
    b->s = xreallocarray(b->s, b->n + size * n + 1, 1);
    memcpy(b->s + b->n, p, size * n);
    b->n += size * n;
    b->s[b->n] = '\0';
    return size * n;
}

char *chs_query(const struct chs *c, const char *sql)
{
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/", c->http_port);
    CURL *h = curl_easy_init();
    struct body b = {xstrdup(""), 0};
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, sql);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    long status = 0;
    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    if (rc != CURLE_OK || status != 200) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

int64_t chs_int(const struct chs *c, const char *sql)
{
    char *v = chs_query(c, sql);
    cr_assert(v, "ClickHouse: %s failed", sql);
    char *end;
    long long n = strtoll(v, &end, 10);
    cr_assert(end != v, "ClickHouse: %s answered '%s'", sql, v);
    free(v);
    return n;
}

int64_t chs_wait(const struct chs *c, const char *sql, int64_t want, int timeout_ms)
{
    int64_t deadline = mono_ms() + timeout_ms, v = -1;
    while (mono_ms() < deadline) {
        char *s = chs_query(c, sql);
        v = s ? strtoll(s, NULL, 10) : -1;
        free(s);
        if (v >= want)
            return v;
        sleep_ms(100);
    }
    return v;
}
