/* syslog_transport.c - UDP, TCP and TLS connections to syslog receivers. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <linux/sockios.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "alerts/syslog_format.h"
#include "alerts/syslog_transport.h"
#include "common/addr.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"

#define TLS_SETTLE_MS 500 /* see tls_settle() */

struct syslog_conn {
    struct syslog_dest d;
    char *ca_file, *cert_file, *key_file;
    bool no_verify;
    int fd;
    gnutls_certificate_credentials_t cred;
    gnutls_session_t tls;
};

/* ---- destinations ---- */

static bool valid_host(const char *h)
{
    if (!*h)
        return false;
    for (const char *p = h; *p; p++)
        if (!(*p == '.' || *p == '-' || *p == '_' || *p == ':' || (*p >= '0' && *p <= '9') ||
              (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
            return false;
    return true;
}

int syslog_dest_parse(const char *spec, struct syslog_dest *d, char *err, size_t errlen)
{
    memset(d, 0, sizeof(*d));
    if (strlen(spec) >= sizeof(d->spec)) {
        snprintf(err, errlen, "'%.40s...': too long", spec);
        return -1;
    }
    snprintf(d->spec, sizeof(d->spec), "%s", spec);
    if (!strcmp(spec, "local")) {
        d->proto = SYSLOG_LOCAL;
        return 0;
    }
    const char *rest, *defport;
    if (!strncmp(spec, "udp://", 6))
        d->proto = SYSLOG_UDP, rest = spec + 6, defport = "514";
    else if (!strncmp(spec, "tcp://", 6))
        d->proto = SYSLOG_TCP, rest = spec + 6, defport = "514";
    else if (!strncmp(spec, "tls://", 6))
        d->proto = SYSLOG_TLS, rest = spec + 6, defport = "6514";
    else {
        snprintf(err, errlen,
                 "'%s': expected local, udp://HOST:PORT, tcp://HOST:PORT or "
                 "tls://HOST:PORT",
                 spec);
        return -1;
    }
    const char *port = NULL;
    size_t hlen;
    if (*rest == '[') {
        const char *close = strchr(rest, ']');
        if (!close || (close[1] && close[1] != ':')) {
            snprintf(err, errlen, "'%s': bad [IPv6] address", spec);
            return -1;
        }
        rest++;
        hlen = (size_t)(close - rest);
        port = close[1] ? close + 2 : NULL;
    } else {
        const char *colon = strchr(rest, ':');
        if (colon && strchr(colon + 1, ':')) {
            snprintf(err, errlen, "'%s': write IPv6 addresses in brackets, [2001:db8::1]:514",
                     spec);
            return -1;
        }
        hlen = colon ? (size_t)(colon - rest) : strlen(rest);
        port = colon ? colon + 1 : NULL;
    }
    if (hlen == 0 || hlen >= sizeof(d->host)) {
        snprintf(err, errlen, "'%s': no host", spec);
        return -1;
    }
    memcpy(d->host, rest, hlen);
    d->host[hlen] = '\0';
    if (!valid_host(d->host)) {
        snprintf(err, errlen, "'%s': bad host name", spec);
        return -1;
    }
    if (!port)
        port = defport;
    char *end;
    long p = strtol(port, &end, 10);
    if (!*port || *end || p < 1 || p > 65535) {
        snprintf(err, errlen, "'%s': port must be 1..65535", spec);
        return -1;
    }
    snprintf(d->port, sizeof(d->port), "%ld", p);
    return 0;
}

size_t syslog_dest_max_len(const struct syslog_dest *d)
{
    return d->proto == SYSLOG_UDP ? SYSLOG_UDP_MAX : SYSLOG_STREAM_MAX;
}

/* ---- connections ---- */

struct syslog_conn *syslog_conn_new(const struct syslog_dest *d, const struct syslog_tls_opts *tls)
{
    struct syslog_conn *c = xcalloc(1, sizeof(*c));
    c->d = *d;
    c->fd = -1;
    if (tls) {
        c->ca_file = tls->ca_file ? xstrdup(tls->ca_file) : NULL;
        c->cert_file = tls->cert_file ? xstrdup(tls->cert_file) : NULL;
        c->key_file = tls->key_file ? xstrdup(tls->key_file) : NULL;
        c->no_verify = tls->no_verify;
    }
    return c;
}

void syslog_conn_close(struct syslog_conn *c)
{
    if (c->tls) {
        gnutls_deinit(c->tls);
        c->tls = NULL;
    }
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

void syslog_conn_free(struct syslog_conn *c)
{
    if (!c)
        return;
    syslog_conn_close(c);
    if (c->cred)
        gnutls_certificate_free_credentials(c->cred);
    free(c->ca_file);
    free(c->cert_file);
    free(c->key_file);
    free(c);
}

bool syslog_conn_is_open(const struct syslog_conn *c)
{
    return c->fd >= 0 || c->d.proto == SYSLOG_LOCAL;
}

static void set_timeouts(int fd, int timeout_ms)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/* Non-blocking connect bounded by timeout_ms; returns a blocking socket or -1. */
static int connect_one(const struct addrinfo *ai, int timeout_ms, int *error)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) {
        *error = errno;
        return -1;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        if (errno != EINPROGRESS) {
            *error = errno;
            close(fd);
            return -1;
        }
        struct pollfd p = {fd, POLLOUT, 0};
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        int r = poll(&p, 1, timeout_ms);
        if (r <= 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr) {
            *error = r == 0 ? ETIMEDOUT : (soerr ? soerr : errno);
            close(fd);
            return -1;
        }
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    set_timeouts(fd, timeout_ms);
    return fd;
}

static int open_socket(struct syslog_conn *c, int timeout_ms, char *err, size_t errlen)
{
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = c->d.proto == SYSLOG_UDP ? SOCK_DGRAM : SOCK_STREAM;
    int gai = getaddrinfo(c->d.host, c->d.port, &hints, &res);
    if (gai) {
        snprintf(err, errlen, "%s: %s", c->d.host, gai_strerror(gai));
        return -1;
    }
    int error = 0;
    for (struct addrinfo *ai = res; ai && c->fd < 0; ai = ai->ai_next)
        c->fd = connect_one(ai, timeout_ms, &error);
    freeaddrinfo(res);
    if (c->fd < 0) {
        snprintf(err, errlen, "connect: %s", strerror(error));
        return -1;
    }
    return 0;
}

static int tls_fail(struct syslog_conn *c, char *err, size_t errlen, const char *what, int rc)
{
    snprintf(err, errlen, "TLS %s: %s", what, gnutls_strerror(rc));
    syslog_conn_close(c);
    return -1;
}

static int tls_credentials(struct syslog_conn *c, char *err, size_t errlen)
{
    if (c->cred)
        return 0;
    int rc = gnutls_certificate_allocate_credentials(&c->cred);
    if (rc < 0)
        return tls_fail(c, err, errlen, "credentials", rc);
    rc = c->ca_file
             ? gnutls_certificate_set_x509_trust_file(c->cred, c->ca_file, GNUTLS_X509_FMT_PEM)
             : gnutls_certificate_set_x509_system_trust(c->cred);
    if (rc <= 0 && !c->no_verify) {
        snprintf(err, errlen, "TLS: no CA certificate loaded from %s%s%s",
                 c->ca_file ? c->ca_file : "the system trust store", rc < 0 ? ": " : "",
                 rc < 0 ? gnutls_strerror(rc) : "");
        gnutls_certificate_free_credentials(c->cred);
        c->cred = NULL;
        return -1;
    }
    if (c->cert_file && c->key_file) {
        rc = gnutls_certificate_set_x509_key_file(c->cred, c->cert_file, c->key_file,
                                                  GNUTLS_X509_FMT_PEM);
        if (rc < 0) {
            gnutls_certificate_free_credentials(c->cred);
            c->cred = NULL;
            return tls_fail(c, err, errlen, "client certificate", rc);
        }
    }
    return 0;
}

static bool peer_closed(struct syslog_conn *c);

/* With TLS 1.3 the client's handshake ends before the server has checked the client's
 * certificate: a receiver that refuses us says so (alert, or close) just after. Wait that long
 * before calling the connection usable, or the first message would be acknowledged by TCP and
 * then dropped. Anything else the server sends first (a session ticket) means it accepted us. */
static int tls_settle(struct syslog_conn *c, char *err, size_t errlen)
{
    int64_t deadline = mono_ms() + TLS_SETTLE_MS;
    for (int64_t left = TLS_SETTLE_MS; left > 0; left = deadline - mono_ms()) {
        struct pollfd p = {c->fd, POLLIN | POLLRDHUP, 0};
        int r = poll(&p, 1, (int)left);
        if (r == 0)
            return 0;
        if (r > 0 && peer_closed(c)) {
            snprintf(err, errlen,
                     "TLS: the receiver closed the connection after the handshake "
                     "(does it require a client certificate? alert-syslog-cert)");
            syslog_conn_close(c);
            return -1;
        }
        if (r > 0)
            return 0;
    }
    return 0;
}

static int tls_handshake(struct syslog_conn *c, int timeout_ms, char *err, size_t errlen)
{
    if (tls_credentials(c, err, errlen))
        return -1;
    int rc = gnutls_init(&c->tls, GNUTLS_CLIENT | GNUTLS_NO_SIGNAL); /* no SIGPIPE */
    if (rc < 0)
        return tls_fail(c, err, errlen, "init", rc);
    gnutls_set_default_priority(c->tls);
    gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, c->cred);
    struct fh_addr a;
    bool is_ip = addr_from_str(c->d.host, &a);
    if (!is_ip)
        gnutls_server_name_set(c->tls, GNUTLS_NAME_DNS, c->d.host, strlen(c->d.host));
    /* Verification on by default: chain to a trusted CA and HOST in the certificate (an IP
     * address is matched against its iPAddress subjectAltNames). */
    if (!c->no_verify)
        gnutls_session_set_verify_cert(c->tls, c->d.host, 0);
    gnutls_transport_set_int(c->tls, c->fd);
    gnutls_handshake_set_timeout(c->tls, (unsigned)timeout_ms);
    do {
        rc = gnutls_handshake(c->tls);
    } while (rc < 0 && !gnutls_error_is_fatal(rc) && rc != GNUTLS_E_AGAIN);
    if (rc < 0) {
        if (rc == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
            gnutls_datum_t why = {0};
            unsigned status = gnutls_session_get_verify_cert_status(c->tls);
            gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &why, 0);
            snprintf(err, errlen, "TLS: certificate of %s rejected: %s", c->d.host,
                     why.data ? (char *)why.data : "?");
            gnutls_free(why.data);
            syslog_conn_close(c);
            return -1;
        }
        return tls_fail(c, err, errlen, "handshake", rc);
    }
    return tls_settle(c, err, errlen);
}

int syslog_conn_open(struct syslog_conn *c, int timeout_ms, char *err, size_t errlen)
{
    if (syslog_conn_is_open(c))
        return 0;
    if (open_socket(c, timeout_ms, err, errlen))
        return -1;
    if (c->d.proto == SYSLOG_TLS)
        return tls_handshake(c, timeout_ms, err, errlen);
    return 0;
}

/* Has the receiver closed (or reset) the stream? Reads and drops anything it sent. */
static bool peer_closed(struct syslog_conn *c)
{
    struct pollfd p = {c->fd, POLLIN | POLLRDHUP, 0};
    if (poll(&p, 1, 0) <= 0)
        return false;
    if (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL))
        return true;
    char buf[512];
    if (c->tls) {
        /* TLS 1.3 servers send session tickets after the handshake: not an error. */
        int fl = fcntl(c->fd, F_GETFL);
        fcntl(c->fd, F_SETFL, fl | O_NONBLOCK);
        ssize_t r;
        int n = 0;
        do {
            r = gnutls_record_recv(c->tls, buf, sizeof(buf));
        } while ((r > 0 || r == GNUTLS_E_INTERRUPTED) && ++n < 64);
        fcntl(c->fd, F_SETFL, fl);
        return r == 0 || (r < 0 && r != GNUTLS_E_AGAIN && gnutls_error_is_fatal((int)r));
    }
    ssize_t r = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
    return r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR);
}

static int write_all(struct syslog_conn *c, const char *buf, size_t len, char *err, size_t errlen)
{
    while (len) {
        ssize_t n;
        if (c->tls) {
            n = gnutls_record_send(c->tls, buf, len);
            if (n == GNUTLS_E_INTERRUPTED)
                continue;
            if (n < 0) {
                snprintf(err, errlen, "TLS send: %s", gnutls_strerror((int)n));
                return -1;
            }
        } else {
            n = send(c->fd, buf, len, MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                snprintf(err, errlen, "send: %s",
                         errno == EAGAIN ? "timed out (receiver not reading)" : strerror(errno));
                return -1;
            }
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static int udp_error(struct syslog_conn *c, char *err, size_t errlen)
{
    int soerr = 0;
    socklen_t sl = sizeof(soerr);
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr) {
        snprintf(err, errlen, "send: %s", strerror(soerr));
        return -1;
    }
    return 0;
}

int syslog_conn_send(struct syslog_conn *c, const char *msg, size_t len, int timeout_ms, char *err,
                     size_t errlen)
{
    (void)timeout_ms; /* bounded by SO_SNDTIMEO, set at connect */
    if (c->fd < 0) {
        snprintf(err, errlen, "not connected");
        return -1;
    }
    if (c->d.proto == SYSLOG_UDP) {
        if (errlen)
            err[0] = '\0';
        if (len > SYSLOG_UDP_MAX || udp_error(c, err, errlen) ||
            send(c->fd, msg, len, MSG_NOSIGNAL) != (ssize_t)len || udp_error(c, err, errlen)) {
            if (len > SYSLOG_UDP_MAX)
                snprintf(err, errlen, "message of %zu octets over the UDP limit", len);
            else if (!*err)
                snprintf(err, errlen, "send: %s", strerror(errno));
            syslog_conn_close(c);
            return -1;
        }
        return 0;
    }
    if (peer_closed(c)) {
        snprintf(err, errlen, "the receiver closed the connection");
        syslog_conn_close(c);
        return -1;
    }
    char prefix[24];
    int pl = snprintf(prefix, sizeof(prefix), "%zu ", len); /* RFC 6587 octet counting */
    if (write_all(c, prefix, (size_t)pl, err, errlen) || write_all(c, msg, len, err, errlen)) {
        syslog_conn_close(c);
        return -1;
    }
    return 0;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int syslog_conn_flush(struct syslog_conn *c, int timeout_ms, char *err, size_t errlen)
{
    if (c->d.proto == SYSLOG_LOCAL)
        return 0;
    if (c->fd < 0) {
        snprintf(err, errlen, "not connected");
        return -1;
    }
    if (c->d.proto == SYSLOG_UDP) {
        if (udp_error(c, err, errlen)) {
            syslog_conn_close(c);
            return -1;
        }
        return 0;
    }
    int64_t deadline = mono_ms() + timeout_ms;
    for (;;) {
        int queued = 0;
        if (ioctl(c->fd, SIOCOUTQ, &queued) < 0) {
            snprintf(err, errlen, "SIOCOUTQ: %s", strerror(errno));
            syslog_conn_close(c);
            return -1;
        }
        if (queued == 0)
            return 0;
        struct pollfd p = {c->fd, POLLRDHUP, 0};
        if (poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR))) {
            snprintf(err, errlen, "the receiver closed the connection with %d octets unread",
                     queued);
            syslog_conn_close(c);
            return -1;
        }
        if (mono_ms() >= deadline) {
            snprintf(err, errlen, "the receiver did not acknowledge %d octets in %d ms", queued,
                     timeout_ms);
            syslog_conn_close(c);
            return -1;
        }
        sleep_ms(5);
    }
}
