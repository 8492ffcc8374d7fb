/* alert_store.c - the analyzer's rows in SQLite (schema: storage/schema.sql, analyzer part). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

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
