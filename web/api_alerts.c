/* api_alerts.c - /api/v1/alerts, /api/v1/alerts/ID and /api/v1/connections: the alerts the
 * analyzer wrote, with each alert's evidence as a JSON object rather than a string, and the
 * connections of a client port rebuilt from the flows on request (alerts/conn_rebuild.h). */
#include "config.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "alerts/conn_rebuild.h"
#include "common/addr.h"
#include "common/xmalloc.h"
#include "web/http.h"

/* The evidence column holds JSON text: answer it as JSON (a string if it does not parse). */
static void expand_evidence(json_t *alert)
{
    const char *text = json_string_value(json_object_get(alert, "evidence"));
    if (!text)
        return;
    json_t *v = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    if (v)
        json_object_set_new(alert, "evidence", v);
}

static json_t *query_rows(struct web_req *r, sqlite3_stmt *st, int64_t max, bool alerts, bool *more,
                          json_t **err)
{
    json_t *rows = json_array();
    int rc = web_rows(st, rows, max + 1);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        json_decref(rows);
        *err = web_db_error(r, alerts ? "alerts" : "connections");
        return NULL;
    }
    if (more)
        *more = (int64_t)json_array_size(rows) > max;
    if ((int64_t)json_array_size(rows) > max)
        json_array_remove(rows, json_array_size(rows) - 1);
    size_t i;
    json_t *row;
    if (alerts)
        json_array_foreach(rows, i, row) expand_evidence(row);
    return rows;
}

/* An address parameter in the store's text form ("::0001" is stored as "::1"). */
static bool param_addr(struct web_req *r, const char *name, char *out, size_t outlen, json_t **err)
{
    const char *v = web_param(r, name);
    if (!v)
        return true;
    struct fh_addr a;
    if (!addr_from_str(v, &a)) {
        *err = web_error(r, MHD_HTTP_BAD_REQUEST, 0, "%s: expected an IPv4 or IPv6 address", name);
        return false;
    }
    addr_to_str(&a, out, outlen);
    return true;
}

/* Binds an optional text parameter: NULL means "any" in the queries below. */
static void bind_opt_text(sqlite3_stmt *st, const char *name, const char *v)
{
    int i = sqlite3_bind_parameter_index(st, name);
    if (v && *v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

json_t *api_alerts(struct web_req *r)
{
    static const char *const known[] = {"state", "kind", "client", "limit", "offset", NULL};
    json_t *err = NULL;
    int64_t limit = 100, offset = 0;
    char client[64] = "";
    if (!web_params_known(r, known, &err) ||
        !web_param_int(r, "limit", 1, web_max_rows(r), &limit, &err) ||
        !web_param_int(r, "offset", 0, INT32_MAX, &offset, &err) ||
        !param_addr(r, "client", client, sizeof(client), &err))
        return err;
    const char *state = web_param(r, "state");
    if (state && strcmp(state, "open") && strcmp(state, "resolved"))
        return web_error(r, MHD_HTTP_BAD_REQUEST, 0, "state: open or resolved");
    const char *kind = web_param(r, "kind");
    if (kind && strcmp(kind, "stale_state") && strcmp(kind, "port_exhaustion"))
        return web_error(r, MHD_HTTP_BAD_REQUEST, 0, "kind: stale_state or port_exhaustion");
    /* Open alerts first, newest activity first. */
    sqlite3_stmt *st = web_prepare(r,
                                   "SELECT * FROM alerts WHERE (:state IS NULL OR state = :state) "
                                   "AND (:kind IS NULL OR kind = :kind) AND (:client IS NULL OR "
                                   "client_addr = :client) ORDER BY state = 'open' DESC, "
                                   "updated_ms DESC, id DESC LIMIT :limit OFFSET :offset",
                                   &err);
    if (!st)
        return err;
    bind_opt_text(st, ":state", state);
    bind_opt_text(st, ":kind", kind);
    bind_opt_text(st, ":client", client);
    sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":limit"), limit + 1);
    sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":offset"), offset);
    bool more = false;
    json_t *rows = query_rows(r, st, limit, true, &more, &err);
    if (!rows)
        return err;
    return json_pack("{s:o, s:I, s:I, s:b}", "alerts", rows, "limit", (json_int_t)limit, "offset",
                     (json_int_t)offset, "more", more);
}

/* Rebuilt connections (alerts/conn_rebuild.h) as an array of rows with the connections
 * table's column names; `id` is the row's position in the answer. keep_last: the newest
 * `max` rows, else the oldest. NULL + *err on failure (the query time limit: 503). */
static json_t *rebuilt_rows(struct web_req *r, const struct conn_rebuild_req *q, int64_t max,
                            bool keep_last, bool *more, json_t **err)
{
    struct query *qy = web_query(r, err);
    if (!qy)
        return NULL;
    struct conn_rebuild_result res;
    char msg[512];
    int code = conn_rebuild(qy, q, &res, msg, sizeof(msg));
    if (code) {
        *err = r->timed_out || code == QUERY_ETIMEOUT
                   ? (r->timed_out = true, web_db_error(r, "connections"))
                   : web_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, 0, "store error (connections): %s",
                               msg);
        return NULL;
    }
    size_t first = 0, n = res.n;
    if ((int64_t)n > max) {
        first = keep_last ? n - (size_t)max : 0;
        n = (size_t)max;
    }
    if (more)
        *more = (int64_t)res.n > max || res.truncated;
    json_t *rows = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(rows, conn_row_json(&res.rows[first + i], (int64_t)(i + 1)));
    conn_rebuild_free(&res);
    return rows;
}

/* Reads an address from the alert's JSON (as stored: always valid, but checked). */
static bool alert_addr(json_t *alert, const char *key, struct fh_addr *out)
{
    const char *v = json_string_value(json_object_get(alert, key));
    return v && addr_from_str(v, out);
}

/* An integer inside the evidence object (path of two keys), or dflt. */
static int64_t evidence_int(json_t *alert, const char *k1, const char *k2, int64_t dflt)
{
    json_t *v = json_object_get(json_object_get(json_object_get(alert, "evidence"), k1), k2);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

/* Adds a client port (a JSON integer from the alert or its evidence) to the rebuild, once. */
static void add_port(struct conn_rebuild_req *q, json_t *port)
{
    if (!json_is_integer(port) || json_integer_value(port) < 0 ||
        json_integer_value(port) > 65535 || q->n_cports == CONN_REBUILD_MAX_PORTS)
        return;
    uint16_t p = (uint16_t)json_integer_value(port);
    for (size_t i = 0; i < q->n_cports; i++)
        if (q->cports[i] == p)
            return;
    q->cports[q->n_cports++] = p;
}

/* How far before an alert its connections are rebuilt: the stale window (24 h by default)
 * and an hour more, unless the evidence names an earlier last viable connection. */
#define ALERT_LOOKBACK_MS ((24 + 1) * 3600000LL)

/* The connections around an alert: same client, port and server, from before the last
 * viable connection to an hour past the last update; and those of the ports the client
 * moved to (the evidence's client_next: what the client did next). For port_exhaustion (no
 * client port) every port its evidence lists. Rebuilt from the flows. */
static json_t *alert_connections(struct web_req *r, json_t *alert, json_t **err)
{
    struct conn_rebuild_req q = {
        .sport = -1, .has_server = true, .clock_skew_ms = r->srv->clock_skew_ms};
    if (!alert_addr(alert, "client_addr", &q.client) ||
        !alert_addr(alert, "server_addr", &q.server))
        return json_array();
    q.sport = (int)json_integer_value(json_object_get(alert, "server_port"));
    json_t *evidence = json_object_get(alert, "evidence");
    add_port(&q, json_object_get(alert, "client_port"));
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(evidence, "ports"), i, v) add_port(&q, v);
    json_array_foreach(json_object_get(evidence, "client_next"), i, v)
        add_port(&q, json_object_get(v, "client_port"));
    int64_t opened = json_integer_value(json_object_get(alert, "opened_ms"));
    int64_t updated = json_integer_value(json_object_get(alert, "updated_ms"));
    q.from_ms = opened - ALERT_LOOKBACK_MS;
    /* the analyzer's evidence, and the older fixture/export form */
    int64_t viable = evidence_int(alert, "last_viable_connection", "start_ms",
                                  evidence_int(alert, "last_viable", "start_ms", q.from_ms));
    if (viable < q.from_ms)
        q.from_ms = viable;
    q.to_ms = updated + 3600000; /* an hour past the last update: the move to another port */
    q.margin_ms = 3600000;
    return rebuilt_rows(r, &q, 500, true, NULL, err);
}

json_t *api_alert(struct web_req *r)
{
    static const char *const known[] = {NULL};
    json_t *err = NULL;
    if (!web_params_known(r, known, &err))
        return err;
    char *end;
    long long id = strtoll(r->path, &end, 10);
    if (!isdigit((unsigned char)r->path[0]) || *end || id <= 0)
        return web_error(r, MHD_HTTP_BAD_REQUEST, 0, "alert id: a positive integer");
    sqlite3_stmt *st = web_prepare(r, "SELECT * FROM alerts WHERE id = :id", &err);
    if (!st)
        return err;
    sqlite3_bind_int64(st, 1, id);
    json_t *rows = query_rows(r, st, 1, true, NULL, &err);
    if (!rows)
        return err;
    json_t *alert = json_incref(json_array_get(rows, 0));
    json_decref(rows);
    if (!alert)
        return web_error(r, MHD_HTTP_NOT_FOUND, 0, "no alert %lld", id);
    json_t *conns = alert_connections(r, alert, &err);
    if (!conns) {
        json_decref(alert);
        return err;
    }
    return json_pack("{s:o, s:o}", "alert", alert, "connections", conns);
}

json_t *api_connections(struct web_req *r)
{
    static const char *const known[] = {"client", "port", "server", "from", "to", "limit", NULL};
    json_t *err = NULL;
    char client[64] = "", server[64] = "";
    int64_t port = -1, limit = 1000, from = INT64_MIN, to = INT64_MAX;
    if (!web_params_known(r, known, &err) ||
        !param_addr(r, "client", client, sizeof(client), &err) ||
        !param_addr(r, "server", server, sizeof(server), &err) ||
        !web_param_int(r, "port", 0, 65535, &port, &err) ||
        !web_param_int(r, "limit", 1, web_max_rows(r), &limit, &err) ||
        !web_param_time(r, "from", &from, &err) || !web_param_time(r, "to", &to, &err))
        return err;
    if (!client[0] || port < 0)
        return web_error(r, MHD_HTTP_BAD_REQUEST, 0,
                         "client and port are required (client=10.1.1.50&port=722)");
    struct conn_rebuild_req q = {
        .sport = -1, .from_ms = from, .to_ms = to, .clock_skew_ms = r->srv->clock_skew_ms};
    q.cports[q.n_cports++] = (uint16_t)port;
    addr_from_str(client, &q.client);
    q.has_server = server[0] && addr_from_str(server, &q.server);
    /* records of the hour before `from` decide how the first connections split */
    q.margin_ms = 3600000;
    bool more = false;
    json_t *conns = rebuilt_rows(r, &q, limit, false, &more, &err);
    if (!conns)
        return err;
    sqlite3_stmt *st =
        web_prepare(r,
                    "SELECT * FROM alerts WHERE client_addr = :client AND (client_port = :port OR "
                    "client_port IS NULL) ORDER BY opened_ms",
                    &err);
    if (st) {
        bind_opt_text(st, ":client", client);
        sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":port"), port);
    }
    json_t *alerts = st ? query_rows(r, st, 1000, true, NULL, &err) : NULL;
    if (!alerts) {
        json_decref(conns);
        return err;
    }
    return json_pack("{s:o, s:o, s:b, s:s, s:I}", "connections", conns, "alerts", alerts, "more",
                     more, "client", client, "port", (json_int_t)port);
}
