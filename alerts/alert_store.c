/* alert_store.c - the analyzer's rows in SQLite (schema: storage/schema.sql, analyzer part). */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/alert_store.h"
#include "common/addr.h"
#include "common/satmath.h"
#include "common/xmalloc.h"

struct alert_store {
    sqlite3 *db;
    sqlite3_stmt *conn, *alert, *event, *max_id;
};

static const char sql_conn[] =
    "INSERT INTO connections (exporter, client_addr, client_port, server_addr, server_port, "
    "start_ms, end_ms, state, role_rule, c_packets, c_bytes, c_flags, s_packets, s_bytes, "
    "s_flags, end_reason, records) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
static const char sql_alert[] =
    "INSERT INTO alerts (id, kind, state, client_addr, client_port, server_addr, server_port, "
    "holder, attempts, opened_ms, updated_ms, resolved_ms, summary, evidence) "
    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, "
    "state = excluded.state, client_addr = excluded.client_addr, "
    "client_port = excluded.client_port, server_addr = excluded.server_addr, "
    "server_port = excluded.server_port, holder = excluded.holder, "
    "attempts = excluded.attempts, opened_ms = excluded.opened_ms, "
    "updated_ms = excluded.updated_ms, resolved_ms = excluded.resolved_ms, "
    "summary = excluded.summary, evidence = excluded.evidence";
static const char sql_event[] =
    "INSERT INTO alert_events (alert_id, event, created_ms) VALUES (?,?,?)";

static int prep(sqlite3 *db, const char *sql, sqlite3_stmt **st, char *err, size_t errlen)
{
    if (sqlite3_prepare_v2(db, sql, -1, st, NULL) == SQLITE_OK)
        return 0;
    snprintf(err, errlen, "preparing analyzer statements: %s", sqlite3_errmsg(db));
    return -1;
}

struct alert_store *alert_store_open(sqlite3 *db, char *err, size_t errlen)
{
    struct alert_store *s = xcalloc(1, sizeof(*s));
    s->db = db;
    if (prep(db, sql_conn, &s->conn, err, errlen) || prep(db, sql_alert, &s->alert, err, errlen) ||
        prep(db, sql_event, &s->event, err, errlen) ||
        prep(db, "SELECT COALESCE(MAX(id), 0) + 1 FROM alerts", &s->max_id, err, errlen)) {
        alert_store_close(s);
        return NULL;
    }
    return s;
}

void alert_store_close(struct alert_store *s)
{
    if (!s)
        return;
    sqlite3_finalize(s->conn);
    sqlite3_finalize(s->alert);
    sqlite3_finalize(s->event);
    sqlite3_finalize(s->max_id);
    free(s);
}

static int step_done(sqlite3 *db, sqlite3_stmt *st, const char *what, char *err, size_t errlen)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc == SQLITE_DONE)
        return 0;
    snprintf(err, errlen, "%s: %s", what, sqlite3_errmsg(db));
    return -1;
}

static void bind_addr(sqlite3_stmt *st, int i, const struct fh_addr *a)
{
    char buf[FH_ADDR_STRLEN];
    addr_to_str(a, buf, sizeof(buf));
    sqlite3_bind_text(st, i, buf, -1, SQLITE_TRANSIENT);
}

static void bind_dir(sqlite3_stmt *st, int i, const struct conn_dir *d)
{
    if (!d->records)
        return; /* NULLs: that direction was not seen */
    sqlite3_bind_int64(st, i, clamp_i64(d->packets));
    sqlite3_bind_int64(st, i + 1, clamp_i64(d->bytes));
    sqlite3_bind_int(st, i + 2, d->flags);
}

int alert_store_conn(struct alert_store *s, const struct conn_info *ci, const char *exporter,
                     char *err, size_t errlen)
{
    sqlite3_stmt *st = s->conn;
    sqlite3_bind_text(st, 1, exporter, -1, SQLITE_TRANSIENT);
    bind_addr(st, 2, &ci->client);
    sqlite3_bind_int(st, 3, ci->cport);
    bind_addr(st, 4, &ci->server);
    sqlite3_bind_int(st, 5, ci->sport);
    sqlite3_bind_int64(st, 6, ci->start_ms);
    sqlite3_bind_int64(st, 7, ci->end_ms);
    sqlite3_bind_text(st, 8, conn_state_name(ci->state), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, conn_role_rule_name(ci->rule), -1, SQLITE_STATIC);
    bind_dir(st, 10, &ci->c);
    bind_dir(st, 13, &ci->s);
    uint8_t er = ci->c.last_ms >= ci->s.last_ms ? ci->c.end_reason : ci->s.end_reason;
    if (er)
        sqlite3_bind_int(st, 16, er);
    sqlite3_bind_int64(st, 17, ci->records);
    return step_done(s->db, st, "storing a connection", err, errlen);
}

int64_t alert_store_new_id(struct alert_store *s)
{
    int64_t id = 1;
    if (sqlite3_step(s->max_id) == SQLITE_ROW)
        id = sqlite3_column_int64(s->max_id, 0);
    sqlite3_reset(s->max_id);
    return id;
}

int alert_store_put(struct alert_store *s, const struct alert *a, enum alert_event ev,
                    int64_t created_ms, int64_t *event_id, char *err, size_t errlen)
{
    sqlite3_stmt *st = s->alert;
    sqlite3_bind_int64(st, 1, a->id);
    sqlite3_bind_text(st, 2, alert_kind_name(a->kind), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, alert_state_name(a->state), -1, SQLITE_STATIC);
    bind_addr(st, 4, &a->client_addr);
    if (a->client_port >= 0)
        sqlite3_bind_int(st, 5, a->client_port);
    bind_addr(st, 6, &a->server_addr);
    sqlite3_bind_int(st, 7, a->server_port);
    sqlite3_bind_text(st, 8, alert_holder_name(a->holder), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 9, a->attempts);
    sqlite3_bind_int64(st, 10, a->opened_ms);
    sqlite3_bind_int64(st, 11, a->updated_ms);
    if (a->resolved_ms)
        sqlite3_bind_int64(st, 12, a->resolved_ms);
    sqlite3_bind_text(st, 13, a->summary ? a->summary : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 14, a->evidence_json ? a->evidence_json : "{}", -1, SQLITE_TRANSIENT);
    if (step_done(s->db, st, "storing an alert", err, errlen))
        return -1;
    sqlite3_bind_int64(s->event, 1, a->id);
    sqlite3_bind_text(s->event, 2, alert_event_name(ev), -1, SQLITE_STATIC);
    sqlite3_bind_int64(s->event, 3, created_ms);
    if (step_done(s->db, s->event, "storing an alert event", err, errlen))
        return -1;
    *event_id = sqlite3_last_insert_rowid(s->db);
    return 0;
}

/* ---- resuming after a restart ---- */

static const char sql_open_alerts[] =
    "SELECT id, kind, client_addr, client_port, server_addr, server_port, holder, attempts, "
    "opened_ms, updated_ms FROM alerts WHERE state = 'open' ORDER BY id";
/* Client ports as the analyzer's evidence names them (alerts/analyzer_evidence.c). */
static const char sql_open_ports[] =
    "WITH o AS (SELECT * FROM alerts WHERE state = 'open'), "
    "p AS (SELECT client_addr, client_port AS port, server_addr, server_port, opened_ms FROM o "
    "      WHERE kind = 'stale_state' "
    "      UNION ALL SELECT client_addr, json_extract(n.value, '$.client_port'), server_addr, "
    "      server_port, opened_ms FROM o, json_each(o.evidence, '$.client_next') AS n "
    "      WHERE kind = 'stale_state' "
    "      UNION ALL SELECT client_addr, x.value, server_addr, server_port, opened_ms FROM o, "
    "      json_each(o.evidence, '$.ports') AS x WHERE kind = 'port_exhaustion') "
    "SELECT client_addr, port, server_addr, server_port, min(opened_ms) FROM p "
    "WHERE port BETWEEN 0 AND 65535 GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4";

static enum alert_holder holder_of(const char *name)
{
    if (name && !strcmp(name, "middlebox"))
        return HOLDER_MIDDLEBOX;
    return name && !strcmp(name, "server") ? HOLDER_SERVER : HOLDER_UNKNOWN;
}

static bool addr_col(sqlite3_stmt *st, int i, struct fh_addr *a)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    return s && addr_from_str(s, a);
}

/* One row of sql_open_alerts into dst, a struct alert; false when its addresses do not read
 * (not written by the analyzer: skipped). */
static bool open_alert_row(sqlite3_stmt *st, void *dst)
{
    struct alert *a = dst;
    memset(a, 0, sizeof(*a));
    a->id = sqlite3_column_int64(st, 0);
    const char *kind = (const char *)sqlite3_column_text(st, 1);
    a->kind = kind && !strcmp(kind, "port_exhaustion") ? ALERT_PORT_EXHAUSTION : ALERT_STALE_STATE;
    a->state = ALERT_OPEN;
    a->client_port = sqlite3_column_type(st, 3) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 3);
    a->server_port = (uint16_t)sqlite3_column_int(st, 5);
    a->holder = holder_of((const char *)sqlite3_column_text(st, 6));
    a->attempts = (uint32_t)sqlite3_column_int64(st, 7);
    a->opened_ms = sqlite3_column_int64(st, 8);
    a->updated_ms = sqlite3_column_int64(st, 9);
    return addr_col(st, 2, &a->client_addr) && addr_col(st, 4, &a->server_addr);
}

/* One row of sql_open_ports into dst, a struct alert_port. */
static bool open_port_row(sqlite3_stmt *st, void *dst)
{
    struct alert_port *p = dst;
    memset(p, 0, sizeof(*p));
    p->cport = (uint16_t)sqlite3_column_int(st, 1);
    p->sport = (uint16_t)sqlite3_column_int(st, 3);
    p->from_ms = sqlite3_column_int64(st, 4);
    return addr_col(st, 0, &p->client) && addr_col(st, 2, &p->server);
}

/* Runs sql and keeps each row `row` accepts, in a growing array of `size`-byte elements. */
static int read_rows(sqlite3 *db, const char *sql, bool (*row)(sqlite3_stmt *, void *), size_t size,
                     void **out, size_t *n, char *err, size_t errlen)
{
    *out = NULL, *n = 0;
    sqlite3_stmt *st;
    if (prep(db, sql, &st, err, errlen))
        return -1;
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            *out = xreallocarray(*out, cap, size);
        }
        if (row(st, (char *)*out + *n * size))
            ++*n;
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE)
        return 0;
    snprintf(err, errlen, "reading the open alerts: %s", sqlite3_errmsg(db));
    free(*out);
    *out = NULL, *n = 0;
    return -1;
}

int alert_store_open_alerts(sqlite3 *db, struct alert **out, size_t *n, char *err, size_t errlen)
{
    return read_rows(db, sql_open_alerts, open_alert_row, sizeof(**out), (void **)out, n, err,
                     errlen);
}

int alert_store_open_ports(sqlite3 *db, struct alert_port **out, size_t *n, char *err,
                           size_t errlen)
{
    return read_rows(db, sql_open_ports, open_port_row, sizeof(**out), (void **)out, n, err,
                     errlen);
}
