/* api_alerts.c - /api/v1/alerts, /api/v1/alerts/ID and /api/v1/connections: what the
 * analyzer wrote (alerts, connections rebuilt from flows), with each alert's evidence as a
 * JSON object rather than a string. */
#include "config.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

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

/* The connections around an alert: same client, port and server, up to the last update. For
 * port_exhaustion (no client port) every port of the client to that server. */
static json_t *alert_connections(struct web_req *r, json_t *alert, json_t **err)
{
    sqlite3_stmt *st = web_prepare(
        r,
        "SELECT * FROM (SELECT * FROM connections WHERE client_addr = :client AND "
        "(:port IS NULL OR client_port = :port) AND server_addr = :server AND server_port = "
        ":sport AND start_ms <= :until ORDER BY start_ms DESC LIMIT 500) ORDER BY start_ms",
        err);
    if (!st)
        return NULL;
    bind_opt_text(st, ":client", json_string_value(json_object_get(alert, "client_addr")));
    bind_opt_text(st, ":server", json_string_value(json_object_get(alert, "server_addr")));
    json_t *port = json_object_get(alert, "client_port");
    if (json_is_integer(port))
        sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":port"), json_integer_value(port));
    sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":sport"),
                       json_integer_value(json_object_get(alert, "server_port")));
    /* An hour past the last update shows what happened after (the move to another port). */
    sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":until"),
                       json_integer_value(json_object_get(alert, "updated_ms")) + 3600000);
    return query_rows(r, st, 500, false, NULL, err);
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
    sqlite3_stmt *st = web_prepare(r,
                                   "SELECT * FROM connections WHERE client_addr = :client AND "
                                   "client_port = :port AND (:server IS NULL OR server_addr = "
                                   ":server) AND start_ms >= :from AND start_ms <= :to ORDER BY "
                                   "start_ms, id LIMIT :limit",
                                   &err);
    if (!st)
        return err;
    bind_opt_text(st, ":client", client);
    bind_opt_text(st, ":server", server);
    sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":port"), port);
    sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":from"), from);
    sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":to"), to);
    sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":limit"), limit + 1);
    bool more = false;
    json_t *conns = query_rows(r, st, limit, false, &more, &err);
    if (!conns)
        return err;
    st = web_prepare(r,
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
