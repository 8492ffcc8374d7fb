/* alert_fixture.c - hand-made alerts, stored the way the analyzer stores them. */
#include "config.h"

#include <criterion/criterion.h>
#include <sqlite3.h>
#include <string.h>

#include "common/addr.h"
#include "common/xmalloc.h"
#include "storage/store.h"
#include "tests/alert_fixture.h"

void fx_story_alert(struct alert *a)
{
    memset(a, 0, sizeof(*a));
    a->kind = ALERT_STALE_STATE;
    a->state = ALERT_OPEN;
    addr_from_str("10.1.1.50", &a->client_addr);
    a->client_port = 722;
    addr_from_str("10.2.2.10", &a->server_addr);
    a->server_port = 515;
    a->holder = HOLDER_MIDDLEBOX;
    a->attempts = 3;
    a->opened_ms = 1795455074598;
    a->updated_ms = 1795455074598;
    a->summary = xstrdup("Client 10.1.1.50 port 722 cannot reach 10.2.2.10:515: the firewall still "
                         "holds the connection that ended without FIN at 17:30:40 and answers "
                         "each SYN with an old ACK (3 failed attempts).");
    a->evidence_json = xstrdup(
        "{\"last_viable\":{\"start_ms\":1795455030120,\"end_ms\":1795455040570,"
        "\"state\":\"S1\",\"c_packets\":12,\"s_packets\":9,\"c_bytes\":4210,\"s_bytes\":560},"
        "\"stale_since_ms\":1795455040570,\"first_attempt_ms\":1795455065598,"
        "\"last_attempt_ms\":1795455074598,\"answered_by\":\"middlebox\","
        "\"exporters\":[\"192.0.2.1\",\"192.0.2.2\"]}");
}

void fx_create_store(const char *db)
{
    char err[256];
    struct store *s = store_open(db, STORE_RW, NULL, err, sizeof(err));
    cr_assert(s, "store_open: %s", err);
    store_close(s);
}

static void bind_addr(sqlite3_stmt *st, int i, const struct fh_addr *a)
{
    char buf[FH_ADDR_STRLEN];
    sqlite3_bind_text(st, i, addr_to_str(a, buf, sizeof(buf)), -1, SQLITE_TRANSIENT);
}

int64_t fx_commit_event(const char *db, struct alert *a, enum alert_event ev, int64_t created_ms)
{
    sqlite3 *h;
    cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_busy_timeout(h, 5000);
    cr_assert_eq(sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK, "%s",
                 sqlite3_errmsg(h));
    sqlite3_stmt *st;
    const char *sql =
        a->id ? "UPDATE alerts SET kind=?1, state=?2, client_addr=?3, client_port=?4, "
                "server_addr=?5, server_port=?6, holder=?7, attempts=?8, opened_ms=?9, "
                "updated_ms=?10, resolved_ms=?11, summary=?12, evidence=?13 WHERE id=?14"
              : "INSERT INTO alerts (kind, state, client_addr, client_port, server_addr, "
                "server_port, holder, attempts, opened_ms, updated_ms, resolved_ms, summary, "
                "evidence) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)";
    cr_assert_eq(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK, "%s", sqlite3_errmsg(h));
    sqlite3_bind_text(st, 1, alert_kind_name(a->kind), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, alert_state_name(a->state), -1, SQLITE_STATIC);
    bind_addr(st, 3, &a->client_addr);
    if (a->client_port >= 0)
        sqlite3_bind_int(st, 4, a->client_port);
    bind_addr(st, 5, &a->server_addr);
    sqlite3_bind_int(st, 6, a->server_port);
    sqlite3_bind_text(st, 7, alert_holder_name(a->holder), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 8, a->attempts);
    sqlite3_bind_int64(st, 9, a->opened_ms);
    sqlite3_bind_int64(st, 10, a->updated_ms);
    if (a->resolved_ms)
        sqlite3_bind_int64(st, 11, a->resolved_ms);
    sqlite3_bind_text(st, 12, a->summary, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 13, a->evidence_json ? a->evidence_json : "{}", -1, SQLITE_STATIC);
    if (a->id)
        sqlite3_bind_int64(st, 14, a->id);
    cr_assert_eq(sqlite3_step(st), SQLITE_DONE, "%s", sqlite3_errmsg(h));
    sqlite3_finalize(st);
    if (!a->id)
        a->id = sqlite3_last_insert_rowid(h);
    cr_assert_eq(sqlite3_prepare_v2(h,
                                    "INSERT INTO alert_events (alert_id, event, created_ms) "
                                    "VALUES (?1, ?2, ?3)",
                                    -1, &st, NULL),
                 SQLITE_OK);
    sqlite3_bind_int64(st, 1, a->id);
    sqlite3_bind_text(st, 2, alert_event_name(ev), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, created_ms);
    cr_assert_eq(sqlite3_step(st), SQLITE_DONE, "%s", sqlite3_errmsg(h));
    sqlite3_finalize(st);
    int64_t id = sqlite3_last_insert_rowid(h);
    cr_assert_eq(sqlite3_exec(h, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    return id;
}
