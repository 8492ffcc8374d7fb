/* http_get.h - one GET to flowhoundd's own web server (`flowhound status`): HTTP/1.0, or HTTPS
 * against the certificate the daemon serves (web-cert), the answer read whole. Not a general
 * HTTP client: no redirects, no chunked bodies (HTTP/1.0 answers have none), one request. */
#ifndef FLOWHOUND_HTTP_GET_H
#define FLOWHOUND_HTTP_GET_H

#include <stdbool.h>
#include <stddef.h>

struct http_target {
    char host[256]; /* name or address, without IPv6 brackets */
    char port[8];
    const char *auth; /* the Authorization header's value, or NULL */
    /* HTTPS: the server's certificate (PEM) is trusted as given, pinned, without a host name
     * check (the daemon's web-cert is usually self-signed for another name). */
    const char *pinned_cert;
    bool tls; /* HTTPS */
};

struct http_reply {
    int status;
    char *body; /* malloc'd, NUL-terminated */
    size_t len;
};

/* Returns 0 with the reply (free reply->body), or -1 with what failed. */
int http_get(const struct http_target *t, const char *path, int timeout_ms, struct http_reply *r,
             char *err, size_t errlen);

#endif
