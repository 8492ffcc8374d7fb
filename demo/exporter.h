/* exporter.h - one Debian softflowd process as a router's flow exporter: it meters the
 * packets sent to its PSAMP port (demo/psamp.h) with a router's timers, and its NetFlow/IPFIX
 * export is relayed to the collector from a loopback address of its own, so that several
 * softflowd processes on one machine reach the collector as several exporters (softflowd
 * always sends observation domain 0, from whatever address the kernel picks). */
#ifndef FLOWHOUND_DEMO_EXPORTER_H
#define FLOWHOUND_DEMO_EXPORTER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Timers as a router's (Cisco's inactive timeout 15 s; FIN/RST flows ended at once; active
 * timeout 5 min), checked every second. After IDLE_FLUSH_S seconds without packets every
 * flow has been exported by its idle timer. */
#define EXPORTER_TCP_IDLE_S   15
#define EXPORTER_IDLE_FLUSH_S (EXPORTER_TCP_IDLE_S + 2)

struct exporter {
    pid_t pid;
    uint16_t psamp_port; /* softflowd -R */
    int export_fd;       /* receives softflowd's export (127.0.0.1, an ephemeral port) */
    int relay_fd;        /* sends it on, bound to the exporter's own address */
    uint16_t collector_port;
    uint64_t datagrams; /* relayed */
};

/* Starts `softflowd` (path or name on PATH) exporting `version` (5, 9 or 10) for source
 * address src (127.x.y.z) to 127.0.0.1:collector_port; its output goes to log. Waits until
 * it listens. 0, or -1 with a message in err. */
int exporter_start(struct exporter *e, const char *softflowd, int version, const char *src,
                   uint16_t collector_port, const char *log, char *err, size_t errlen);
/* Sends one PSAMP message to it. */
int exporter_send(struct exporter *e, const void *msg, size_t len, char *err, size_t errlen);
/* Makes it run its expiry check now (a datagram too short to be PSAMP ends its receive loop).
 * Two of them: once the second is read, the first check and its export are finished. */
int exporter_kick(struct exporter *e, char *err, size_t errlen);
/* Waits (at most timeout_ms) until it has read everything sent to it. */
int exporter_wait_read(struct exporter *e, int timeout_ms, char *err, size_t errlen);
/* Forwards every export datagram received so far to the collector. */
void exporter_relay(struct exporter *e);
/* Packets the kernel dropped at its PSAMP socket (0 when it kept up). */
uint64_t exporter_drops(const struct exporter *e);
/* Stops it (its flows are all exported by then: see EXPORTER_IDLE_FLUSH_S) and relays what
 * is left. */
void exporter_stop(struct exporter *e);

#endif
