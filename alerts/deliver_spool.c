/* deliver_spool.c - SQL of alert delivery (prepared statements only). */
#include "config.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/deliver_spool.h"
#include "common/addr.h"
#include "common/xmalloc.h"
#include "storage/store.h"

enum { ST_REGISTER, ST_STATS, ST_LOAD, ST_MARK, ST_SAVE, ST_N };

static const char *const sql[ST_N] = {
    [ST_REGISTER] = "INSERT OR IGNORE INTO alert_destinations (destination, first_event_id, "
                    "done_through) SELECT ?1, COALESCE(max(id), 0), COALESCE(max(id), 0) FROM "
                    "alert_events",
    [ST_STATS] = "SELECT done_through, sent, failed, suppressed, filtered, errors FROM "
                 "alert_destinations WHERE destination = ?1",
    [ST_LOAD] = "SELECT e.id, e.event, e.created_ms, a.id, a.kind, a.state, a.client_addr, "
                "a.client_port, a.server_addr, a.server_port, a.holder, a.attempts, a.opened_ms, "
                "a.updated_ms, a.resolved_ms, a.summary, a.evidence "
                "FROM alert_events e JOIN alerts a ON a.id = e.alert_id "
                "WHERE e.id > ?1 AND NOT EXISTS (SELECT 1 FROM alert_deliveries d WHERE "
                "d.event_id = e.id AND d.destination = ?2 AND d.state != 'pending') "
                "ORDER BY e.id LIMIT ?3",
    [ST_MARK] = "INSERT INTO alert_deliveries (event_id, destination, state, tries, last_try_ms, "
                "last_error) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
                "ON CONFLICT (event_id, destination) DO UPDATE SET state = excluded.state, "
                "tries = tries + excluded.tries, "
                "last_try_ms = COALESCE(excluded.last_try_ms, last_try_ms), "
                "last_error = COALESCE(excluded.last_error, last_error)",
    [ST_SAVE] = "UPDATE alert_destinations SET done_through = max(done_through, ?2), sent = ?3, "
                "failed = ?4, suppressed = ?5, filtered = ?6, errors = ?7, queued = ?8, "
                "connected = ?9, last_sent_ms = COALESCE(?10, last_sent_ms), "
                "last_error = COALESCE(?11, last_error), last_error_ms = COALESCE(?13, "
                "last_error_ms), updated_ms = ?12 "
                "WHERE destination = ?1",
};

struct spool {
    sqlite3 *db;
    sqlite3_stmt *st[ST_N];
};

static int fail(struct spool *s, char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "%s: %s", what, sqlite3_errmsg(s->db));
    return -1;
}

struct spool *spool_open(const char *path, char *err, size_t errlen)
{
    struct spool *s = xcalloc(1, sizeof(*s));
    /* The daemon's writer made the store: never create or migrate one here. */
    s->db = store_connect(path, STORE_RW_EXISTING, err, errlen);
    if (!s->db) {
        spool_close(s);
        return NULL;
    }
    for (int i = 0; i < ST_N; i++)
        if (sqlite3_prepare_v3(s->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL) !=
            SQLITE_OK) {
            fail(s, err, errlen, "preparing the delivery statements");
            spool_close(s);
            return NULL;
        }
    return s;
}

void spool_close(struct spool *s)
{
    if (!s)
        return;
    for (int i = 0; i < ST_N; i++)
        sqlite3_finalize(s->st[i]);
    sqlite3_close(s->db);
    free(s);
}

static int step_done(struct spool *s, sqlite3_stmt *st, char *err, size_t errlen, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : fail(s, err, errlen, what);
}

int spool_register(struct spool *s, const char *dest, int64_t *done_through,
                   struct deliver_stats *st, char *err, size_t errlen)
{
    sqlite3_stmt *r = s->st[ST_REGISTER];
    sqlite3_bind_text(r, 1, dest, -1, SQLITE_STATIC);
    if (step_done(s, r, err, errlen, "registering a destination"))
        return -1;
    sqlite3_stmt *q = s->st[ST_STATS];
    sqlite3_bind_text(q, 1, dest, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        *done_through = sqlite3_column_int64(q, 0);
        st->sent = (uint64_t)sqlite3_column_int64(q, 1);
        st->failed = (uint64_t)sqlite3_column_int64(q, 2);
        st->suppressed = (uint64_t)sqlite3_column_int64(q, 3);
        st->filtered = (uint64_t)sqlite3_column_int64(q, 4);
        st->errors = (uint64_t)sqlite3_column_int64(q, 5);
    }
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return rc == SQLITE_ROW ? 0 : fail(s, err, errlen, "reading a destination");
}

static char *col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? xstrdup((const char *)t) : NULL;
}

static enum alert_event event_from(const char *s)
{
    if (s && !strcmp(s, "updated"))
        return ALERT_EV_UPDATED;
    if (s && !strcmp(s, "resolved"))
        return ALERT_EV_RESOLVED;
    return ALERT_EV_OPENED;
}

static enum alert_holder holder_from(const char *s)
{
    if (s && !strcmp(s, "middlebox"))
        return HOLDER_MIDDLEBOX;
    if (s && !strcmp(s, "server"))
        return HOLDER_SERVER;
    return HOLDER_UNKNOWN;
}

static void read_item(sqlite3_stmt *q, struct spool_item *it)
{
    memset(it, 0, sizeof(*it));
    struct alert *a = &it->a;
    it->event_id = sqlite3_column_int64(q, 0);
    it->ev = event_from((const char *)sqlite3_column_text(q, 1));
    it->created_ms = sqlite3_column_int64(q, 2);
    a->id = sqlite3_column_int64(q, 3);
    const char *kind = (const char *)sqlite3_column_text(q, 4);
    a->kind = kind && !strcmp(kind, "port_exhaustion") ? ALERT_PORT_EXHAUSTION : ALERT_STALE_STATE;
    const char *state = (const char *)sqlite3_column_text(q, 5);
    a->state = state && !strcmp(state, "resolved") ? ALERT_RESOLVED : ALERT_OPEN;
    const char *c = (const char *)sqlite3_column_text(q, 6);
    if (!c || !addr_from_str(c, &a->client_addr))
        memset(&a->client_addr, 0, sizeof(a->client_addr));
    a->client_port = sqlite3_column_type(q, 7) == SQLITE_NULL ? -1 : sqlite3_column_int(q, 7);
    const char *sv = (const char *)sqlite3_column_text(q, 8);
    if (!sv || !addr_from_str(sv, &a->server_addr))
        memset(&a->server_addr, 0, sizeof(a->server_addr));
    a->server_port = (uint16_t)sqlite3_column_int(q, 9);
    a->holder = holder_from((const char *)sqlite3_column_text(q, 10));
    a->attempts = (uint32_t)sqlite3_column_int64(q, 11);
    a->opened_ms = sqlite3_column_int64(q, 12);
    a->updated_ms = sqlite3_column_int64(q, 13);
    a->resolved_ms = sqlite3_column_int64(q, 14);
    a->summary = col_text(q, 15);
    a->evidence_json = col_text(q, 16);
}

int spool_load(struct spool *s, const char *dest, int64_t after, struct spool_item *out, size_t max,
               char *err, size_t errlen)
{
    sqlite3_stmt *q = s->st[ST_LOAD];
    sqlite3_bind_int64(q, 1, after);
    sqlite3_bind_text(q, 2, dest, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, (sqlite3_int64)max);
    int n = 0, rc;
    while ((size_t)n < max && (rc = sqlite3_step(q)) == SQLITE_ROW)
        read_item(q, &out[n++]);
    if ((size_t)n < max && rc != SQLITE_DONE) {
        fail(s, err, errlen, "reading the spool");
        for (int i = 0; i < n; i++)
            spool_item_free(&out[i]);
        n = -1;
    }
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return n;
}

void spool_item_free(struct spool_item *it)
{
    alert_free_fields(&it->a);
}

int spool_begin(struct spool *s, char *err, size_t errlen)
{
    return sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK
               ? 0
               : fail(s, err, errlen, "BEGIN");
}

int spool_commit(struct spool *s, char *err, size_t errlen)
{
    if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
        return 0;
    fail(s, err, errlen, "COMMIT");
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

void spool_rollback(struct spool *s)
{
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

int spool_mark(struct spool *s, int64_t event_id, const char *dest, const char *state,
               const char *error, int64_t now, char *err, size_t errlen)
{
    sqlite3_stmt *m = s->st[ST_MARK];
    bool tried = strcmp(state, "suppressed") && strcmp(state, "filtered");
    sqlite3_bind_int64(m, 1, event_id);
    sqlite3_bind_text(m, 2, dest, -1, SQLITE_STATIC);
    sqlite3_bind_text(m, 3, state, -1, SQLITE_STATIC);
    sqlite3_bind_int(m, 4, tried ? 1 : 0);
    if (tried)
        sqlite3_bind_int64(m, 5, now);
    if (error)
        sqlite3_bind_text(m, 6, error, -1, SQLITE_STATIC);
    return step_done(s, m, err, errlen, "recording a delivery");
}

int spool_save_stats(struct spool *s, const struct deliver_stats *st, int64_t done_through,
                     int64_t last_sent_ms, int64_t last_error_ms, int64_t now, char *err,
                     size_t errlen)
{
    sqlite3_stmt *u = s->st[ST_SAVE];
    sqlite3_bind_text(u, 1, st->destination, -1, SQLITE_STATIC);
    sqlite3_bind_int64(u, 2, done_through);
    sqlite3_bind_int64(u, 3, (sqlite3_int64)st->sent);
    sqlite3_bind_int64(u, 4, (sqlite3_int64)st->failed);
    sqlite3_bind_int64(u, 5, (sqlite3_int64)st->suppressed);
    sqlite3_bind_int64(u, 6, (sqlite3_int64)st->filtered);
    sqlite3_bind_int64(u, 7, (sqlite3_int64)st->errors);
    sqlite3_bind_int64(u, 8, (sqlite3_int64)st->queued);
    sqlite3_bind_int(u, 9, st->connected);
    if (last_sent_ms)
        sqlite3_bind_int64(u, 10, last_sent_ms);
    if (st->last_error[0])
        sqlite3_bind_text(u, 11, st->last_error, -1, SQLITE_STATIC);
    sqlite3_bind_int64(u, 12, now);
    if (last_error_ms)
        sqlite3_bind_int64(u, 13, last_error_ms);
    return step_done(s, u, err, errlen, "saving delivery counters");
}
