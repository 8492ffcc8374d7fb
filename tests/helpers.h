/* helpers.h - shared test helpers: paths, pcap reading, running the real daemon, UDP. */
#ifndef FLOWHOUND_TEST_HELPERS_H
#define FLOWHOUND_TEST_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/flow.h"

struct store;
/* Stores n flows in one transaction (asserting each step), as the writer would. */
void th_store_flows(struct store *s, const struct flow *f, size_t n);

/* ../shared beside the source tree, or $FH_SHARED. */
const char *th_shared(void);
/* A path under ../shared (static buffer, rotated 8 deep). */
const char *th_shared_path(const char *rel);
/* Directory of the built programs ($FH_BUILDDIR or "."). */
const char *th_builddir(void);
/* A fresh temporary directory (removed by th_rmtree). */
char *th_tmpdir(void);
void th_rmtree(const char *dir);

/* UDP datagrams of a classic pcap (Ethernet/raw IP/cooked), in order. */
struct th_datagram {
    uint8_t *data;
    size_t len;
    struct fh_addr src;
    uint16_t dst_port;
};
struct th_datagram *th_read_pcap(const char *path, size_t *n);
void th_free_datagrams(struct th_datagram *d, size_t n);

/* The real flowhoundd, on 127.0.0.1 with an ephemeral UDP port and a temporary store. */
struct th_daemon {
    pid_t pid;
    char *dir; /* temporary directory holding the store and logs */
    char db[512];
    char log[512];
    uint16_t port; /* first UDP listener's bound port */
};
/* Starts flowhoundd with extra arguments (NULL-terminated), its store in d->dir (a new temporary
 * directory unless the caller made one). Fails the test if it won't start. */
void th_daemon_start(struct th_daemon *d, const char *const *extra);
/* Same, reusing an existing store path (for restart tests). */
void th_daemon_start_db(struct th_daemon *d, const char *db, const char *const *extra);
/* SIGTERM, wait; returns the exit status (or -1 if killed by a signal). */
int th_daemon_stop(struct th_daemon *d);
void th_daemon_cleanup(struct th_daemon *d);

/* Sends one datagram to 127.0.0.1:port from src (a 127.x.y.z address) or from 127.0.0.1. */
bool th_udp_send(uint16_t port, const char *src, const void *buf, size_t len);
/* Sends up to 30 IPv4 flows as one NetFlow v5 datagram from src (a 127.x.y.z address) to
 * 127.0.0.1:port, as a router would export them: engine id = the first flow's domain, export
 * time 1 s after the last flow ended, sysUptime one day. Returns false if not sent. */
bool th_send_v5(uint16_t port, const char *src, const struct flow *f, size_t n, uint32_t seq);
/* Replays a pcap to the port; each original exporter gets 127.0.B.N (as shared/tools/replay),
 * B = `base` (1 if 0). Paced at about `pps` datagrams a second (0 = 5000). Returns datagrams
 * sent. */
size_t th_replay(const char *pcap, uint16_t port, unsigned pps, unsigned base);

/* Runs one integer query on a store (read-only). Fails the test on error. */
int64_t th_db_int(const char *db, const char *sql);
/* Waits until the query's value reaches `want` or timeout_ms passes; returns the last value. */
int64_t th_db_wait(const char *db, const char *sql, int64_t want, int timeout_ms);

/* Starts argv[0] (looked up on PATH) with its output appended to the file log; returns its
 * pid. Fails the test when it cannot fork. */
pid_t th_spawn(const char *log, char *const argv[]);
/* Runs a shell command, returns its exit status; output goes to the test's stderr. */
int th_system(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Is a program on PATH? */
bool th_have(const char *prog);

#endif
