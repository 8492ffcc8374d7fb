/* rsyslog.h - a real rsyslog for the delivery tests: started unprivileged-style in a temporary
 * folder with its own config (`rsyslogd -n -f CONF -i PIDFILE`), listening on 127.0.0.1 on
 * free ports (UDP, TCP and, with a test CA made by certtool, TLS), writing every message it
 * parses as one JSON line: the RFC 5424 fields, the raw message, and the structured data as
 * mmpstrucdata parsed it. */
#ifndef FLOWHOUND_TEST_RSYSLOG_H
#define FLOWHOUND_TEST_RSYSLOG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct rs {
    char *dir;
    pid_t pid;
    uint16_t udp_port, tcp_port, tls_port; /* kept across rs_restart */
    bool tls;
    bool client_auth; /* TLS receiver requires a client certificate from the test CA */
    char out[600];
    char ca[600];                           /* the test CA (with tls) */
    char logsock[600];                      /* imuxsock's socket: local syslog(3) messages */
    char client_cert[600], client_key[600]; /* signed by the test CA (with tls) */
};

/* Skips the test (cr_skip) when rsyslogd or, for TLS, certtool is missing. */
void rs_start(struct rs *r, bool tls);
/* TLS, and the receiver accepts only clients with a certificate of the test CA. */
void rs_start_client_auth(struct rs *r);
/* SIGTERM and wait (rsyslog closes its connections). */
void rs_stop(struct rs *r);
/* Starts again on the same ports. */
void rs_restart(struct rs *r);
void rs_cleanup(struct rs *r);
/* Waits until the output holds at least `want` messages or timeout_ms passes; returns the count. */
size_t rs_wait(struct rs *r, size_t want, int timeout_ms);
/* Every message received so far: a JSON array of objects {pri, timestamp, hostname, app,
 * procid, msgid, version, msg, raw, sd: {SD-ID: {name: value}}}. */
json_t *rs_messages(struct rs *r);
/* For local syslog(3) tests: moves this process into its own mount namespace where /dev/log
 * is this rsyslog's socket (nothing outside changes). False if not permitted (no
 * CAP_SYS_ADMIN): skip then. */
bool rs_own_dev_log(struct rs *r);
/* A flowhound@32473 parameter of a received message, as rsyslog parsed it; NULL if absent. */
const char *rs_param(json_t *m, const char *name);
/* A second CA, unrelated to the server's certificate (for verification failures). */
void rs_make_other_ca(struct rs *r, char *path, size_t len);

#endif
