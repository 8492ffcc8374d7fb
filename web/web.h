/* web.h - the web UI and JSON API server (libmicrohttpd) inside flowhoundd.
 *
 * The server reads the store through its own read-only SQLite connections; it never writes.
 * Every handler answers JSON built with jansson, or one of the static files embedded in the
 * binary at build time (web/static/). Errors are returned in the caller's buffer. */
#ifndef FLOWHOUND_WEB_H
#define FLOWHOUND_WEB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the program serving the web UI knows of itself, for GET /metrics and /healthz (under
 * the same credentials as the API). Called from the server's connection threads, several at
 * once: the callbacks read what they report race-free. */
struct web_probes {
    /* The Prometheus text exposition format, 0.0.4 (malloc'd, *len bytes); NULL: 500. */
    char *(*metrics)(void *ctx, size_t *len);
    /* true when healthy; otherwise why, one line. */
    bool (*healthy)(void *ctx, char *why, size_t whylen);
    void *ctx;
};

struct web_options {
    const char *listen; /* "ADDR:PORT", "[V6]:PORT"; port 0 = ephemeral */
    const char *db;     /* the store's path (with a ClickHouse store: the collector's state) */
    const char *store;  /* where the flows are (storage/store_url.h); NULL: db */
    const char *user;   /* HTTP basic credentials (both or neither) */
    const char *password;
    const char *token; /* "Authorization: Bearer TOKEN" */
    const char *cert;  /* PEM files: TLS when both are set */
    const char *key;
    int64_t query_timeout_ms; /* longest SQL run of one request; 0 = 10 s */
    int64_t max_rows;         /* largest page of rows a request may ask for; 0 = 10000 */
    /* Against slow or greedy clients (doc/web.md, "Limits"); each at least 1. */
    int64_t max_connections;    /* open connections at most */
    int64_t client_connections; /* of one client address (IPv6: one /64) */
    int64_t header_timeout_ms;  /* a new connection's time to send a complete request */
    int64_t idle_timeout_ms;    /* a kept-alive connection's time for its next request */
    int64_t login_failures;     /* failed logins of one client address per login window */
    int64_t login_window_ms;
    int64_t clock_skew_ms;           /* as the analyzer's, for connections rebuilt on request */
    const struct web_probes *probes; /* NULL: /metrics and /healthz answer 404 */
    /* "ADDR NAME" values of exporter-name: every answer naming an exporter carries its name */
    const char *const *exporter_names;
    size_t n_exporter_names;
};

struct web_server;

/* Validates options without starting anything (for --check-config). */
int web_check_options(const struct web_options *o, char *err, size_t errlen);
/* Binds and starts the server threads. Refuses a non-loopback address without credentials. */
struct web_server *web_start(const struct web_options *o, char *err, size_t errlen);
/* "ADDR:PORT" as bound (the real port when 0 was asked). */
const char *web_bound_address(const struct web_server *w);
void web_stop(struct web_server *w);

#endif
