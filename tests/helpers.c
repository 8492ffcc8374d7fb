/* helpers.c - shared test helpers. */
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/addr.h"
#include "common/xmalloc.h"
#include "storage/store.h"
#include "tests/helpers.h"

#ifdef FH_TSAN
/* Criterion's runner under ThreadSanitizer (configure --enable-tsan). BoxFort, which Criterion
 * links in, maps the arena it shares with its test processes at 0x200000000000 + (rand_r() &
 * 0x3fffff) * 16 MiB and gives up after a few occupied slots. Under TSan almost all of that
 * range is shadow, metadata or protected gaps, so every test program aborts with "Could not
 * initialize inheritable arena" (Criterion issue #274). This rand_r, the program's own, so
 * that BoxFort's calls bind to it (nothing else here calls rand_r), answers a different slot
 * each call inside TSan's application range 0x550000000000-0x568000000000 (gcc 12's layout on
 * x86-64), the last 64 GiB below its end; BoxFort still skips slots already mapped. */
int rand_r(unsigned *seed)
{
    return (int)(0x350000 + (*seed)++ % 0x17000);
}
#endif

const char *th_shared(void)
{
    static char path[1024];
    const char *env = getenv("FH_SHARED");
    if (env && *env)
        return env;
    const char *src = getenv("FH_SRCDIR");
    snprintf(path, sizeof(path), "%s/../shared", src && *src ? src : ".");
    return path;
}

const char *th_shared_path(const char *rel)
{
    static char bufs[8][1024];
    static int next;
    char *b = bufs[next++ & 7];
    snprintf(b, sizeof(bufs[0]), "%s/%s", th_shared(), rel);
    return b;
}

const char *th_builddir(void)
{
    const char *env = getenv("FH_BUILDDIR");
    return env && *env ? env : ".";
}

char *th_tmpdir(void)
{
    char tmpl[] = "/tmp/flowhound-test-XXXXXX";
    char *d = mkdtemp(tmpl);
    cr_assert(d, "mkdtemp: %s", strerror(errno));
    return xstrdup(d);
}

void th_rmtree(const char *dir)
{
    if (dir && strncmp(dir, "/tmp/flowhound-test-", 20) == 0)
        th_system("rm -rf '%s'", dir);
}

/* ---- pcap ---- */

static uint32_t rd32(const uint8_t *p, bool swap)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return swap ? __builtin_bswap32(v) : v;
}

struct th_datagram *th_read_pcap(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open %s: %s", path, strerror(errno));
    uint8_t gh[24];
    cr_assert_eq(fread(gh, 1, 24, f), 24, "%s: short pcap header", path);
    uint32_t magic;
    memcpy(&magic, gh, 4);
    bool swap = magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1;
    cr_assert(swap || magic == 0xa1b2c3d4 || magic == 0xa1b23c4d, "%s: not a classic pcap", path);
    uint32_t link = rd32(gh + 20, swap);
    struct th_datagram *out = NULL;
    size_t cnt = 0, cap = 0;
    uint8_t rh[16];
    while (fread(rh, 1, 16, f) == 16) {
        uint32_t incl = rd32(rh + 8, swap);
        cr_assert(incl < 1 << 20, "%s: absurd record length", path);
        uint8_t *pkt = xmalloc(incl);
        cr_assert_eq(fread(pkt, 1, incl, f), incl, "%s: truncated record", path);
        const uint8_t *ip = pkt;
        size_t iplen = incl;
        if (link == 1) {
            size_t off = 14;
            uint16_t et = (uint16_t)(pkt[12] << 8 | pkt[13]);
            while ((et == 0x8100 || et == 0x88a8) && off + 4 <= incl) {
                et = (uint16_t)(pkt[off + 2] << 8 | pkt[off + 3]);
                off += 4;
            }
            ip = pkt + off;
            iplen = incl - off;
        } else if (link == 113) {
            ip = pkt + 16;
            iplen = incl - 16;
        }
        struct th_datagram d = {0};
        const uint8_t *udp = NULL;
        if (iplen >= 20 && ip[0] >> 4 == 4 && ip[9] == 17) {
            size_t ihl = (size_t)(ip[0] & 15) * 4;
            addr_from_v4(&d.src, ip + 12);
            udp = ip + ihl;
        } else if (iplen >= 40 && ip[0] >> 4 == 6 && ip[6] == 17) {
            addr_from_v6(&d.src, ip + 8);
            udp = ip + 40;
        }
        if (udp && udp + 8 <= ip + iplen) {
            d.dst_port = (uint16_t)(udp[2] << 8 | udp[3]);
            d.len = (size_t)(ip + iplen - (udp + 8));
            d.data = xmalloc(d.len);
            memcpy(d.data, udp + 8, d.len);
            if (cnt == cap) {
                cap = cap ? cap * 2 : 64;
                out = xreallocarray(out, cap, sizeof(*out));
            }
            out[cnt++] = d;
        }
        free(pkt);
    }
    fclose(f);
    *n = cnt;
    return out;
}

void th_free_datagrams(struct th_datagram *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(d[i].data);
    free(d);
}

/* ---- processes ---- */

int th_system(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    if (rc == -1)
        return -1;
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

bool th_have(const char *prog)
{
    return th_system("command -v '%s' >/dev/null 2>&1", prog) == 0;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

void th_daemon_start_db(struct th_daemon *d, const char *db, const char *const *extra)
{
    if (!d->dir)
        d->dir = th_tmpdir();
    if (db != d->db) /* restarting on the same store passes d->db itself */
        snprintf(d->db, sizeof(d->db), "%s", db);
    snprintf(d->log, sizeof(d->log), "%s/flowhoundd.log", d->dir);
    char ready[600], prog[1024];
    snprintf(ready, sizeof(ready), "%s/ready", d->dir);
    snprintf(prog, sizeof(prog), "%s/flowhoundd", th_builddir());
    unlink(ready);
    const char *argv[64];
    int a = 0;
    argv[a++] = prog;
    argv[a++] = "--db";
    argv[a++] = d->db;
    argv[a++] = "--web";
    argv[a++] = "off";
    argv[a++] = "--ready-file";
    argv[a++] = ready;
    bool has_listen = false;
    for (int i = 0; extra && extra[i] && a < 60; i++) {
        if (strcmp(extra[i], "--listen") == 0)
            has_listen = true;
        argv[a++] = extra[i];
    }
    if (!has_listen) {
        argv[a++] = "--listen";
        argv[a++] = "127.0.0.1:0";
    }
    argv[a] = NULL;
    pid_t pid = fork();
    cr_assert(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        int fd = open(d->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 2);
            dup2(fd, 1);
        }
        execv(prog, (char *const *)argv);
        _exit(127);
    }
    d->pid = pid;
    /* Wait up to 20 s (sanitizer builds start slowly) for the ready file. */
    for (int i = 0; i < 400; i++) {
        FILE *f = fopen(ready, "r");
        if (f) {
            char spec[128];
            unsigned port = 0;
            int got = fscanf(f, "listen %127s %u", spec, &port);
            fclose(f);
            if (got == 2) {
                d->port = (uint16_t)port;
                return;
            }
        }
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            d->pid = 0;
            th_system("cat '%s' >&2", d->log);
            cr_assert_fail("flowhoundd exited at start (status %d)", status);
        }
        sleep_ms(50);
    }
    cr_assert_fail("flowhoundd did not become ready");
}

pid_t th_spawn(const char *log, char *const argv[])
{
    pid_t pid = fork();
    cr_assert(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    return pid;
}

void th_daemon_start(struct th_daemon *d, const char *const *extra)
{
    if (!d->dir)
        d->dir = th_tmpdir();
    char db[600];
    snprintf(db, sizeof(db), "%s/flows.db", d->dir);
    th_daemon_start_db(d, db, extra);
}

int th_daemon_stop(struct th_daemon *d)
{
    if (d->pid <= 0)
        return -1;
    kill(d->pid, SIGTERM);
    int status = 0;
    for (int i = 0; i < 600; i++) {
        if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
            d->pid = 0;
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }
        sleep_ms(50);
    }
    kill(d->pid, SIGKILL);
    waitpid(d->pid, &status, 0);
    d->pid = 0;
    return -1;
}

void th_daemon_cleanup(struct th_daemon *d)
{
    if (d->pid > 0)
        th_daemon_stop(d);
    th_rmtree(d->dir);
    free(d->dir);
    d->dir = NULL;
}

/* ---- UDP ---- */

bool th_udp_send(uint16_t port, const char *src, const void *buf, size_t len)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in sa = {.sin_family = AF_INET};
    if (src) {
        inet_pton(AF_INET, src, &sa.sin_addr);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
            close(fd);
            return false;
        }
    }
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    ssize_t n = sendto(fd, buf, len, 0, (struct sockaddr *)&to, sizeof(to));
    close(fd);
    return n == (ssize_t)len;
}

static void put_be(uint8_t *p, uint64_t v, unsigned bytes)
{
    for (unsigned i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
}

static void v5_record(uint8_t *p, const struct flow *f, int64_t boot_ms)
{
    memcpy(p, f->src_addr.bytes, 4);
    memcpy(p + 4, f->dst_addr.bytes, 4);
    put_be(p + 16, f->packets, 4);
    put_be(p + 20, f->bytes, 4);
    put_be(p + 24, (uint64_t)(f->first_ms - boot_ms), 4);
    put_be(p + 28, (uint64_t)(f->last_ms - boot_ms), 4);
    put_be(p + 32, f->src_port, 2);
    put_be(p + 34, f->dst_port, 2);
    p[37] = (uint8_t)f->tcp_flags;
    p[38] = f->proto;
}

bool th_send_v5(uint16_t port, const char *src, const struct flow *f, size_t n, uint32_t seq)
{
    uint8_t buf[24 + 48 * 30] = {0};
    cr_assert(n >= 1 && n <= 30);
    int64_t export_ms = INT64_MIN;
    for (size_t i = 0; i < n; i++)
        export_ms = f[i].last_ms + 1000 > export_ms ? f[i].last_ms + 1000 : export_ms;
    int64_t uptime_ms = 86400000, boot_ms = export_ms - uptime_ms;
    put_be(buf, 5, 2);
    put_be(buf + 2, n, 2);
    put_be(buf + 4, (uint64_t)uptime_ms, 4);
    put_be(buf + 8, (uint64_t)(export_ms / 1000), 4);
    put_be(buf + 12, (uint64_t)(export_ms % 1000) * 1000000, 4);
    put_be(buf + 16, seq, 4);
    buf[21] = (uint8_t)f[0].domain;
    for (size_t i = 0; i < n; i++)
        v5_record(buf + 24 + 48 * i, &f[i], boot_ms);
    return th_udp_send(port, src, buf, 24 + 48 * n);
}

size_t th_replay(const char *pcap, uint16_t port, unsigned pps, unsigned base)
{
    size_t n;
    struct th_datagram *d = th_read_pcap(pcap, &n);
    struct fh_addr seen[64];
    unsigned n_seen = 0;
    size_t sent = 0;
    int gap_us = (int)(1000000 / (pps ? pps : 5000));
    for (size_t i = 0; i < n; i++) {
        unsigned idx = 0;
        while (idx < n_seen && !addr_equal(&seen[idx], &d[i].src))
            idx++;
        if (idx == n_seen && n_seen < 64)
            seen[n_seen++] = d[i].src;
        char src[32];
        snprintf(src, sizeof(src), "127.0.%u.%u", base ? base : 1, idx + 1);
        if (th_udp_send(port, src, d[i].data, d[i].len))
            sent++;
        usleep((useconds_t)gap_us);
    }
    th_free_datagrams(d, n);
    return sent;
}

/* ---- SQLite ---- */

int64_t th_db_int(const char *db, const char *sql)
{
    sqlite3 *h;
    /* Read-write, as the sqlite3 shell opens it: after a crash that runs WAL recovery. */
    cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK, "open %s", db);
    sqlite3_busy_timeout(h, 5000);
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK, "%s: %s", sql,
                 sqlite3_errmsg(h));
    int64_t v = 0;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return v;
}

/* Like th_db_int, but a store not yet created (or busy) is not a failure: returns false. */
static bool db_try_int(const char *db, const char *sql, int64_t *v)
{
    sqlite3 *h;
    bool ok = false;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK) {
            if (sqlite3_step(st) == SQLITE_ROW) {
                *v = sqlite3_column_int64(st, 0);
                ok = true;
            }
            sqlite3_finalize(st);
        }
    }
    sqlite3_close(h);
    return ok;
}

int64_t th_db_wait(const char *db, const char *sql, int64_t want, int timeout_ms)
{
    int64_t v = -1;
    for (int waited = 0; waited <= timeout_ms; waited += 100) {
        if (access(db, R_OK) != 0 || !db_try_int(db, sql, &v))
            v = -1;
        if (v >= want)
            return v;
        sleep_ms(100);
    }
    return v;
}

void th_store_flows(struct store *s, const struct flow *f, size_t n)
{
    char err[256];
    cr_assert_eq(store_begin(s, err, sizeof(err)), 0, "%s", err);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(store_add_flow(s, &f[i], err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(store_commit(s, err, sizeof(err)), 0, "%s", err);
}
