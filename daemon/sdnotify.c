/* sdnotify.c - the sd_notify datagram protocol, written here rather than linked from
 * libsystemd: it is one datagram of text to the AF_UNIX socket NOTIFY_SOCKET names (a path,
 * or '@' for the abstract namespace), a protocol systemd documents as stable for programs
 * that do not link it (sd_notify(3), "Notes"). libsystemd would make every build and every
 * package depend on it, systemd or not, for these 60 lines. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/sdnotify.h"

/* WATCHDOG_USEC is meant for this process unless WATCHDOG_PID names another. */
static int64_t watchdog_ms(void)
{
    const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
    char *end;
    if (!usec)
        return 0;
    unsigned long long us = strtoull(usec, &end, 10);
    if (*end || us == 0)
        return 0;
    if (pid && strtol(pid, &end, 10) != (long)getpid())
        return 0;
    return (int64_t)(us / 1000 ? us / 1000 : 1);
}

int sdn_init(struct sd_notifier *n, char *err, size_t errlen)
{
    memset(n, 0, sizeof(*n));
    n->fd = -1;
    const char *sock = getenv("NOTIFY_SOCKET");
    if (!sock || !*sock)
        return 0;
    size_t len = strlen(sock);
    if ((sock[0] != '/' && sock[0] != '@') || len >= sizeof(n->path)) {
        snprintf(err, errlen, "NOTIFY_SOCKET=%s: not a socket path or abstract name", sock);
        return -1;
    }
    memcpy(n->path, sock, len + 1);
    n->path_len = (unsigned)len;
    n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (n->fd < 0) {
        snprintf(err, errlen, "NOTIFY_SOCKET: socket: %s", strerror(errno));
        return -1;
    }
    n->watchdog_ms = watchdog_ms();
    return 0;
}

void sdn_close(struct sd_notifier *n)
{
    if (n->fd >= 0)
        close(n->fd);
    n->fd = -1;
}

void sdn_send(struct sd_notifier *n, const char *fmt, ...)
{
    if (n->fd < 0)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (len < 0 || (size_t)len >= sizeof(msg))
        len = (int)strlen(msg);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, n->path, n->path_len);
    if (sa.sun_path[0] == '@')
        sa.sun_path[0] = '\0'; /* abstract: the address is exactly path_len bytes long */
    socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n->path_len +
                                  (n->path[0] == '@' ? 0 : 1));
    /* Best effort, as sd_notify: systemd not listening is no reason to stop collecting. */
    (void)sendto(n->fd, msg, (size_t)len, MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
}

bool sdn_watchdog_due(struct sd_notifier *n, int64_t now)
{
    if (n->fd < 0 || !n->watchdog_ms || now < n->next_ping_ms)
        return false;
    n->next_ping_ms = now + n->watchdog_ms / 2;
    return true;
}
