/* syslog_transport.h - where syslog messages go: a destination (`local`, `udp://HOST:PORT`,
 * `tcp://HOST:PORT`, `tls://HOST:PORT`) and a connection to it.
 *
 *   UDP  RFC 5426: one message per datagram, at most SYSLOG_UDP_MAX octets.
 *   TCP  RFC 6587 octet-counting framing ("LEN SP MSG"), at most SYSLOG_STREAM_MAX octets.
 *   TLS  RFC 5425 (the same framing) over GnuTLS; the receiver's certificate is verified
 *        against the system trust store or a CA file, and its name against HOST.
 *
 * Syslog over TCP has no acknowledgement. So that a message is only called sent when the
 * receiving host has it, syslog_conn_flush() waits until the kernel's send queue is empty
 * (every octet ACKed by the peer), and every send first checks that the receiver has not
 * closed the connection. A UDP send checks for an ICMP "port unreachable" reported on the
 * socket. All calls are bounded by a timeout; nothing here logs. */
#ifndef FLOWHOUND_SYSLOG_TRANSPORT_H
#define FLOWHOUND_SYSLOG_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>

enum syslog_proto { SYSLOG_LOCAL, SYSLOG_UDP, SYSLOG_TCP, SYSLOG_TLS };

struct syslog_dest {
    enum syslog_proto proto;
    char host[256]; /* name or address, without IPv6 brackets */
    char port[8];
    char spec[300]; /* as configured */
};

struct syslog_tls_opts {
    const char *ca_file;   /* NULL: the system trust store */
    const char *cert_file; /* client certificate for mutual TLS (optional) */
    const char *key_file;
    bool no_verify; /* accept any certificate (testing only) */
};

/* Parses a destination; IPv6 as tcp://[2001:db8::1]:6514. */
int syslog_dest_parse(const char *spec, struct syslog_dest *d, char *err, size_t errlen);
/* Largest message for the destination's transport. */
size_t syslog_dest_max_len(const struct syslog_dest *d);

struct syslog_conn;

struct syslog_conn *syslog_conn_new(const struct syslog_dest *d, const struct syslog_tls_opts *tls);
void syslog_conn_free(struct syslog_conn *c);
/* Connects (TCP/TLS: handshake and certificate check). No-op when open. */
int syslog_conn_open(struct syslog_conn *c, int timeout_ms, char *err, size_t errlen);
bool syslog_conn_is_open(const struct syslog_conn *c);
void syslog_conn_close(struct syslog_conn *c);
/* Sends one message (framed for TCP/TLS). On error the connection is closed. */
int syslog_conn_send(struct syslog_conn *c, const char *msg, size_t len, int timeout_ms, char *err,
                     size_t errlen);
/* Waits until the receiver has every octet sent so far (TCP/TLS: send queue empty; UDP: no
 * error reported). On error the connection is closed and what was sent since the last
 * successful flush must be sent again. */
int syslog_conn_flush(struct syslog_conn *c, int timeout_ms, char *err, size_t errlen);

#endif
