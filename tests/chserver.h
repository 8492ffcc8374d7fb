/* chserver.h - a real ClickHouse for the tests: Debian's clickhouse-server started in a
 * temporary folder with its own config (loopback, free HTTP and TCP ports, its data under
 * the folder), optionally one of a cluster of such servers (remote_servers). */
#ifndef FLOWHOUND_TEST_CHSERVER_H
#define FLOWHOUND_TEST_CHSERVER_H

#include <stdint.h>
#include <sys/types.h>

struct chs {
    char *dir;
    pid_t pid;
    uint16_t http_port, tcp_port; /* kept across chs_restart */
    char url[128];                /* clickhouse://127.0.0.1:PORT/flowhound */
};

/* Picks free loopback ports (call before chs_start, e.g. to write a cluster's config). */
void chs_ports(struct chs *c);
/* Starts the server (picking ports if chs_ports was not called) and waits until it answers;
 * `cluster`: a <remote_servers> section, or NULL. Skips the test when clickhouse-server is
 * not installed. */
void chs_start(struct chs *c, const char *cluster);
/* SIGTERM and wait. */
void chs_stop(struct chs *c);
/* Starts it again on the same ports and data. */
void chs_restart(struct chs *c);
void chs_cleanup(struct chs *c);
/* One statement over HTTP; its answer (caller frees), or NULL when it failed. */
char *chs_query(const struct chs *c, const char *sql);
/* An integer answer (fails the test otherwise). */
int64_t chs_int(const struct chs *c, const char *sql);
/* Waits until chs_int(sql) reaches want or timeout_ms passes; returns the last value. */
int64_t chs_wait(const struct chs *c, const char *sql, int64_t want, int timeout_ms);

#endif
