/* http_get.c - see http_get.h. */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "cli/http_get.h"
#include "common/xmalloc.h"

#define REPLY_MAX (256u << 20) /* /metrics of 4096 exporters is a few MB */

struct conn {
    int fd;
    gnutls_session_t tls;
    gnutls_certificate_credentials_t cred;
};

/* Blocking, with the timeout on connect, every send and every receive (Linux applies
 * SO_SNDTIMEO to connect). */
static int dial(const struct http_target *t, int timeout_ms, char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
    int gai = getaddrinfo(t->host, t->port, &hints, &res), fd = -1, error = 0;
    if (gai) {
        snprintf(err, errlen, "%s: %s", t->host, gai_strerror(gai));
        return -1;
    }
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
            error = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0)
        snprintf(err, errlen, "connect to %s port %s: %s (is flowhoundd running, web on?)", t->host,
                 t->port, strerror(error));
    return fd;
}

static int tls_start(struct conn *c, const struct http_target *t, char *err, size_t errlen)
{
    int rc = gnutls_certificate_allocate_credentials(&c->cred);
    if (rc >= 0)
        rc = t->pinned_cert ? gnutls_certificate_set_x509_trust_file(c->cred, t->pinned_cert,
                                                                     GNUTLS_X509_FMT_PEM)
                            : gnutls_certificate_set_x509_system_trust(c->cred);
    if (rc >= 0)
        rc = gnutls_init(&c->tls, GNUTLS_CLIENT | GNUTLS_NO_SIGNAL);
    if (rc < 0) {
        snprintf(err, errlen, "TLS: %s", gnutls_strerror(rc));
        return -1;
    }
    gnutls_set_default_priority(c->tls);
    gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, c->cred);
    gnutls_session_set_verify_cert(c->tls, t->pinned_cert ? NULL : t->host, 0);
    gnutls_transport_set_int(c->tls, c->fd);
    do
        rc = gnutls_handshake(c->tls);
    while (rc < 0 && !gnutls_error_is_fatal(rc));
    if (rc < 0) {
        snprintf(err, errlen, "TLS handshake with %s: %s", t->host, gnutls_strerror(rc));
        return -1;
    }
    return 0;
}

static void hang_up(struct conn *c)
{
    if (c->tls)
        gnutls_deinit(c->tls);
    if (c->cred)
        gnutls_certificate_free_credentials(c->cred);
    if (c->fd >= 0)
        close(c->fd);
}

static ssize_t put(struct conn *c, const char *buf, size_t len)
{
    return c->tls ? gnutls_record_send(c->tls, buf, len) : send(c->fd, buf, len, MSG_NOSIGNAL);
}

static ssize_t get(struct conn *c, char *buf, size_t len)
{
    ssize_t n;
    do
        n = c->tls ? gnutls_record_recv(c->tls, buf, len) : recv(c->fd, buf, len, 0);
    while (c->tls ? n == GNUTLS_E_INTERRUPTED : n < 0 && errno == EINTR);
    /* A server that closes without TLS close_notify has still sent everything (HTTP/1.0). */
    return c->tls && n == GNUTLS_E_PREMATURE_TERMINATION ? 0 : n;
}

/* The whole answer, until the server closes. */
static char *read_all(struct conn *c, size_t *len, char *err, size_t errlen)
{
    size_t cap = 65536;
    char *buf = xmalloc(cap + 1);
    *len = 0;
    for (;;) {
        if (cap - *len < 16384 && cap < REPLY_MAX)
            buf = xreallocarray(buf, (cap *= 2) + 1, 1);
        ssize_t n = get(c, buf + *len, cap - *len);
        if (n == 0)
            break;
        if (n < 0 || *len + (size_t)n >= REPLY_MAX) {
            snprintf(err, errlen, "reading the answer: %s",
                     n >= 0                          ? "too long"
                     : c->tls && n != GNUTLS_E_AGAIN ? gnutls_strerror((int)n)
                     : errno == EAGAIN || c->tls     ? "timed out"
                                                     : strerror(errno));
            free(buf);
            return NULL;
        }
        *len += (size_t)n;
    }
    buf[*len] = '\0';
    return buf;
}

static int parse_reply(char *raw, size_t len, struct http_reply *r, char *err, size_t errlen)
{
    char *body = strstr(raw, "\r\n\r\n");
    if (sscanf(raw, "HTTP/%*d.%*d %d", &r->status) != 1 || !body) {
        snprintf(err, errlen, "not an HTTP answer");
        return -1;
    }
    body += 4;
    r->len = len - (size_t)(body - raw);
    r->body = xmalloc(r->len + 1);
    memcpy(r->body, body, r->len + 1);
    return 0;
}

int http_get(const struct http_target *t, const char *path, int timeout_ms, struct http_reply *r,
             char *err, size_t errlen)
{
    struct conn c = {.fd = dial(t, timeout_ms, err, errlen)};
    memset(r, 0, sizeof(*r));
    if (c.fd < 0)
        return -1;
    int rc = t->tls ? tls_start(&c, t, err, errlen) : 0;
    char *req = xasprintf(
        "GET %s HTTP/1.0\r\nHost: %s%s%s:%s\r\n%s%s%sConnection: close\r\n\r\n", path,
        strchr(t->host, ':') ? "[" : "", t->host, strchr(t->host, ':') ? "]" : "", t->port,
        t->auth ? "Authorization: " : "", t->auth ? t->auth : "", t->auth ? "\r\n" : "");
    if (rc == 0 && put(&c, req, strlen(req)) != (ssize_t)strlen(req)) {
        snprintf(err, errlen, "sending the request failed");
        rc = -1;
    }
    free(req);
    size_t len = 0;
    char *raw = rc == 0 ? read_all(&c, &len, err, errlen) : NULL;
    hang_up(&c);
    if (!raw)
        return -1;
    rc = parse_reply(raw, len, r, err, errlen);
    free(raw);
    return rc;
}
