/* sdnotify.h - systemd's readiness and watchdog protocol (sd_notify(3)): READY=1 once the
 * sockets are bound and the writer runs, RELOADING=1 ... READY=1 around a reload,
 * STOPPING=1, STATUS=..., and WATCHDOG=1 every half of WATCHDOG_USEC while the daemon makes
 * progress. Without NOTIFY_SOCKET (not started by systemd, or Type=simple) nothing is sent. */
#ifndef FLOWHOUND_SDNOTIFY_H
#define FLOWHOUND_SDNOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sd_notifier {
    int fd; /* -1: no NOTIFY_SOCKET, nothing to send */
    char path[108];
    unsigned path_len;    /* of the address, for an abstract one (leading '@') */
    int64_t watchdog_ms;  /* WATCHDOG_USEC / 1000 for this process, 0: no watchdog */
    int64_t next_ping_ms; /* monotonic */
};

/* Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID. Returns 0, or -1 with a message when
 * NOTIFY_SOCKET is set but unusable (then nothing is sent). */
int sdn_init(struct sd_notifier *n, char *err, size_t errlen);
void sdn_close(struct sd_notifier *n);
/* Sends one notification: newline-separated VAR=value assignments. */
void sdn_send(struct sd_notifier *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* True (and the next time set) when a WATCHDOG=1 is due. */
bool sdn_watchdog_due(struct sd_notifier *n, int64_t now_mono_ms);

#endif
