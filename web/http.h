/* http.h - what the web/ files share: one request, its parameters, its database connection,
 * and the JSON answers. Internal to web/ (the rest of flowhound includes web/web.h only). */
#ifndef FLOWHOUND_WEB_HTTP_H
#define FLOWHOUND_WEB_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <microhttpd.h>
#include <sqlite3.h>

#include <pthread.h>

#include "common/addr.h"
#include "common/exporter_names.h"
#include "web/web.h"

struct MHD_Connection;
struct MHD_Daemon;
struct query;
struct web_conns;
struct web_logins;

#define WEB_POOL_MAX 4
/* Requests querying the store at once: the collector, not the UI, owns the CPUs. */
#define WEB_QUERIES_MAX 4

/* The server (web_start() fills it; request.c borrows connections from its pool). */
struct web_server {
    struct MHD_Daemon *mhd;
    char address[128]; /* as bound */
    char *db_path;
    char *store;        /* the flows' store URL (query_open_store) */
    char *basic;        /* the expected "Basic BASE64" header, or NULL */
    char *bearer;       /* the expected "Bearer TOKEN" header, or NULL */
    bool loopback_only; /* no credentials: check Host against DNS rebinding */
    char *cert_pem, *key_pem;
    int64_t query_timeout_ms, max_rows;
    int64_t clock_skew_ms;     /* web_options */
    struct web_probes probes;  /* callbacks NULL: none */
    pthread_mutex_t pool_lock; /* guards the pool and the count of running queries */
    pthread_cond_t slot_free;
    int running; /* requests holding a connection (at most WEB_QUERIES_MAX) */
    struct query *pool[WEB_POOL_MAX];
    size_t n_pool;
    struct web_conns *conns;     /* every open connection (conns.c) */
    struct web_logins *logins;   /* failed logins per client (logins.c) */
    struct exporter_names names; /* exporter-name */
};

/* ---- conns.c: connection limits per client and in all, and request deadlines ---- */

struct web_conn_limits {
    int64_t max, per_client; /* open connections: in all, of one client */
    int64_t header_ms;       /* a new connection's time to send a complete request */
    int64_t idle_ms;         /* a kept-alive connection's time to send its next one */
};
/* Starts the reaper thread (NULL + err if it cannot). */
struct web_conns *web_conns_start(const struct web_conn_limits *lim, char *err, size_t errlen);
/* After MHD_stop_daemon(): stops the reaper, frees. */
void web_conns_stop(struct web_conns *c);
/* libmicrohttpd's MHD_OPTION_NOTIFY_CONNECTION (cls: the web_conns). */
void web_conns_notify(void *cls, struct MHD_Connection *mc, void **socket_context,
                      enum MHD_ConnectionNotificationCode code);
/* libmicrohttpd's MHD_OPTION_NOTIFY_COMPLETED: the connection waits for its next request. */
void web_conns_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
                         enum MHD_RequestTerminationCode toe);
/* A request's headers are in: the connection is busy until its answer is sent. */
void web_conns_busy(struct web_conns *c, struct MHD_Connection *mc);
/* The client the connection counts for (its address; IPv6: its /64). */
bool web_conns_client(struct MHD_Connection *mc, struct fh_addr *out);
/* {"open", "max", "per_client", "timed_out", "evicted", "refused"} */
json_t *web_conns_stats(struct web_conns *c);

/* ---- logins.c: failed logins slowed per client ---- */

enum web_login { WEB_LOGIN_OK, WEB_LOGIN_WRONG, WEB_LOGIN_LOCKED };
struct web_logins *web_logins_new(int64_t max_failures, int64_t window_ms);
void web_logins_free(struct web_logins *l);
/* Counts one login of `client` (credentials `right` or not): LOCKED (do not answer whether
 * they were right; *retry_ms: until the lockout ends) after too many failures. */
enum web_login web_logins_check(struct web_logins *l, const struct fh_addr *client, bool right,
                                int64_t *retry_ms);
/* {"failed", "refused", "lockouts", "locked_out", "max_failures", "window_ms"} */
json_t *web_logins_stats(struct web_logins *l);

/* ---- names.c: exporters' names beside their addresses ---- */

/* Adds "exporter_name" (the configured name, or null) to every object of the answer that has
 * an "exporter" string. */
void web_names_add(const struct exporter_names *names, json_t *answer);

/* Longest value of any query parameter (a filter is the longest thing anyone sends). */
#define WEB_PARAM_MAX 4096

struct web_req {
    struct MHD_Connection *conn;
    struct web_server *srv;
    const char *path;    /* after the route's prefix for routes ending in '/' */
    int status;          /* HTTP status of the answer; 200 unless an error was set */
    struct query *query; /* borrowed from the pool by web_db(), returned after the answer */
    sqlite3 *db;         /* its connection */
    int64_t deadline;    /* mono_ms() when the query time limit is reached */
    bool timed_out;
    bool has_slot; /* counted in srv->running */
};

/* An API handler answers a JSON value (owned by the caller), or web_error(...). */
typedef json_t *(*web_handler)(struct web_req *r);

/* Sets r->status and returns {"error": MSG[, "column": COLUMN]} (column 0 = none). */
json_t *web_error(struct web_req *r, int status, int column, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The error answer for a failed SQLite call: the time limit (503) or a store error. */
json_t *web_db_error(struct web_req *r, const char *what);

/* Query parameters. Each returns false after setting *err to a web_error() answer. A missing
 * parameter leaves *out at the caller's default. */
const char *web_param(struct web_req *r, const char *name);
/* The same with its length as sent (a %00 in it decodes to a NUL before the end). */
const char *web_param_n(struct web_req *r, const char *name, size_t *len);
bool web_param_int(struct web_req *r, const char *name, int64_t min, int64_t max, int64_t *out,
                   json_t **err);
/* Unix ms or RFC 3339. */
bool web_param_time(struct web_req *r, const char *name, int64_t *out, json_t **err);
/* Checks that every parameter given is one of `known` (NULL-terminated): typos are errors,
 * and so is a NUL byte in any of them. */
bool web_params_known(struct web_req *r, const char *const *known, json_t **err);

/* Gives the request's connection back to the pool (or closes it). */
void web_db_release(struct web_req *r);
/* Closes the pooled connections (at stop). */
void web_db_pool_free(struct web_server *s);

/* The request's read-only connection (NULL + *err on failure), with the query time limit. */
sqlite3 *web_db(struct web_req *r, json_t **err);
/* The same connection as the query layer sees it (query/query.h), with the time left of
 * the request's limit: flows and top-N go through the one query layer. */
struct query *web_query(struct web_req *r, json_t **err);
/* Prepares a statement on the request's connection; NULL + *err (a JSON error) on failure. */
sqlite3_stmt *web_prepare(struct web_req *r, const char *sql, json_t **err);
/* Largest page a request may ask for. */
int64_t web_max_rows(const struct web_req *r);

/* One result row as an object: column names as keys, SQLite types as JSON types. */
json_t *web_row_object(sqlite3_stmt *st);
/* Runs a prepared statement and collects its rows into an array, at most max_rows.
 * Returns SQLITE_DONE, or the SQLite error code. */
int web_rows(sqlite3_stmt *st, json_t *array, int64_t max_rows);

/* Handlers (one file each). */
json_t *api_flows(struct web_req *r);       /* api_flows.c */
json_t *api_top(struct web_req *r);         /* api_flows.c */
json_t *api_timeline(struct web_req *r);    /* api_flows.c */
json_t *api_summary(struct web_req *r);     /* api_flows.c */
json_t *api_exporters(struct web_req *r);   /* api_exporters.c */
json_t *api_alerts(struct web_req *r);      /* api_alerts.c */
json_t *api_alert(struct web_req *r);       /* api_alerts.c */
json_t *api_connections(struct web_req *r); /* api_alerts.c */
json_t *api_web(struct web_req *r);         /* api_web.c */

/* An answer that is not JSON. */
struct web_text {
    unsigned status;
    const char *type;
    char *body; /* malloc'd */
    size_t len;
};
/* GET /metrics and /healthz (probes.c): true and the answer in *out when url is one of them. */
bool web_probe(struct web_server *s, const char *url, struct web_text *out);

/* Static files embedded at build time (web/static_files.c, generated). */
struct web_static_file {
    const char *path; /* "/static/app.js" */
    const char *type; /* Content-Type */
    const unsigned char *data;
    size_t len;
};
extern const struct web_static_file web_static_files[];
const struct web_static_file *web_static_find(const char *path);

#endif
