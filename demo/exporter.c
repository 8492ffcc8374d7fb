/* exporter.c - a softflowd process fed over its PSAMP port, its export relayed (see the
 * header). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/timeutil.h"
#include "demo/exporter.h"

static int udp_bound(const char *addr, uint16_t port, uint16_t *bound)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (fd < 0 || inet_pton(AF_INET, addr, &sa.sin_addr) != 1 ||
        bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    socklen_t sl = sizeof(sa);
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    if (bound)
        *bound = ntohs(sa.sin_port);
    return fd;
}

/* A port free now for softflowd's PSAMP socket (it binds 0.0.0.0 itself). */
static uint16_t free_port(void)
{
    uint16_t port = 0;
    int fd = udp_bound("0.0.0.0", 0, &port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* The receive queue and drop count of the UDP socket bound to port, from /proc/net/udp:
 * the only way to see how far another process has read. -1 when no socket is bound. */
static int proc_udp(uint16_t port, unsigned long *rx, unsigned long *drops)
{
    FILE *f = fopen("/proc/net/udp", "r");
    if (!f)
        return -1;
    char line[512];
    int found = -1;
    while (found < 0 && fgets(line, sizeof(line), f)) {
        unsigned local_port, tx;
        unsigned long q;
        if (sscanf(line, " %*u: %*x:%x %*x:%*x %*x %x:%lx", &local_port, &tx, &q) != 3 ||
            local_port != port)
            continue;
        char *last = strrchr(line, ' ');
        *rx = q;
        *drops = last ? strtoul(last + 1, NULL, 10) : 0;
        found = 0;
    }
    fclose(f);
    return found;
}

static void child_exec(const char *softflowd, char **argv, const char *log)
{
    int out = open(log ? log : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0644);
    int in = open("/dev/null", O_RDONLY);
    if (out >= 0)
        dup2(out, 1), dup2(out, 2);
    if (in >= 0)
        dup2(in, 0);
    execvp(softflowd, argv);
    fprintf(stderr, "cannot run %s: %s\n", softflowd, strerror(errno));
    _exit(127);
}

static pid_t spawn(const char *softflowd, int version, uint16_t psamp, uint16_t export,
                   const char *log)
{
    char v[8], r[8], n[32];
    snprintf(v, sizeof(v), "%d", version);
    snprintf(r, sizeof(r), "%u", psamp);
    snprintf(n, sizeof(n), "127.0.0.1:%u", export);
    char *argv[] = {(char *)softflowd,
                    "-d",
                    "-c",
                    "none",
                    "-a",
                    "-R",
                    r,
                    "-v",
                    v,
                    "-n",
                    n,
                    "-m",
                    "65536",
                    "-t",
                    "tcp=15",
                    "-t",
                    "tcp.rst=1",
                    "-t",
                    "tcp.fin=1",
                    "-t",
                    "udp=15",
                    "-t",
                    "icmp=15",
                    "-t",
                    "general=15",
                    "-t",
                    "maxlife=300",
                    "-t",
                    "expint=1",
                    NULL};
    pid_t pid = fork();
    if (pid == 0)
        child_exec(softflowd, argv, log);
    return pid;
}

static bool alive(struct exporter *e)
{
    int status;
    if (e->pid > 0 && waitpid(e->pid, &status, WNOHANG) == e->pid)
        e->pid = 0;
    return e->pid > 0;
}

static void nap(void)
{
    struct timespec ts = {0, 100 * 1000};
    nanosleep(&ts, NULL);
}

/* Until softflowd's socket is bound (it binds during option parsing, before anything). */
static int wait_listening(struct exporter *e, char *err, size_t errlen)
{
    unsigned long rx, drops;
    for (int64_t end = mono_ms() + 5000; mono_ms() < end;) {
        if (!alive(e))
            break;
        if (proc_udp(e->psamp_port, &rx, &drops) == 0)
            return 0;
        nap();
    }
    snprintf(err, errlen, "softflowd did not start (port %u; its messages are in the log)",
             e->psamp_port);
    return -1;
}

int exporter_start(struct exporter *e, const char *softflowd, int version, const char *src,
                   uint16_t collector_port, const char *log, char *err, size_t errlen)
{
    memset(e, 0, sizeof(*e));
    e->collector_port = collector_port;
    uint16_t export_port = 0;
    e->export_fd = udp_bound("127.0.0.1", 0, &export_port);
    e->relay_fd = udp_bound(src, 0, NULL);
    if (e->export_fd < 0 || e->relay_fd < 0) {
        snprintf(err, errlen, "cannot bind a UDP socket on %s: %s", src, strerror(errno));
        return -1;
    }
    e->psamp_port = free_port();
    e->pid = spawn(softflowd, version, e->psamp_port, export_port, log);
    if (e->pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        return -1;
    }
    return wait_listening(e, err, errlen);
}

static int send_to(int fd, uint16_t port, const void *buf, size_t len)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sendto(fd, buf, len, 0, (struct sockaddr *)&sa, sizeof(sa)) == (ssize_t)len ? 0 : -1;
}

int exporter_send(struct exporter *e, const void *msg, size_t len, char *err, size_t errlen)
{
    if (send_to(e->export_fd, e->psamp_port, msg, len) == 0)
        return 0;
    snprintf(err, errlen, "sending to softflowd: %s", strerror(errno));
    return -1;
}

int exporter_kick(struct exporter *e, char *err, size_t errlen)
{
    static const uint8_t one = 0;
    if (exporter_send(e, &one, 1, err, errlen))
        return -1;
    return exporter_send(e, &one, 1, err, errlen);
}

int exporter_wait_read(struct exporter *e, int timeout_ms, char *err, size_t errlen)
{
    unsigned long rx = 0, drops;
    for (int64_t end = mono_ms() + timeout_ms; mono_ms() < end;) {
        if (!alive(e))
            break;
        if (proc_udp(e->psamp_port, &rx, &drops) == 0 && rx == 0)
            return 0;
        nap();
    }
    snprintf(err, errlen, "softflowd (port %u) %s", e->psamp_port,
             e->pid > 0 ? "stopped reading its packets" : "exited");
    return -1;
}

void exporter_relay(struct exporter *e)
{
    static uint8_t buf[65536];
    ssize_t n;
    while ((n = recv(e->export_fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
        if (send_to(e->relay_fd, e->collector_port, buf, (size_t)n) == 0)
            e->datagrams++;
}

uint64_t exporter_drops(const struct exporter *e)
{
    unsigned long rx, drops = 0;
    return proc_udp(e->psamp_port, &rx, &drops) == 0 ? drops : 0;
}

void exporter_stop(struct exporter *e)
{
    if (e->pid > 0) {
        kill(e->pid, SIGTERM);
        waitpid(e->pid, NULL, 0);
        e->pid = 0;
    }
    exporter_relay(e);
    close(e->export_fd);
    close(e->relay_fd);
}
