/* test_store.c - the SQLite store: schema, partitions, the flows view, exporters. */
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/addr.h"
#include "storage/store.h"
#include "tests/helpers.h"

static struct flow sample_flow(int64_t received)
{
    struct flow f = {0};
    addr_from_str("192.0.2.1", &f.exporter);
    addr_from_str("10.1.1.50", &f.src_addr);
    addr_from_str("2001:db8::2", &f.dst_addr);
    f.version = 5;
    f.src_port = 722;
    f.dst_port = 515;
    f.proto = 6;
    f.tcp_flags = 0x1a;
    f.present = FF_TCP_FLAGS;
    f.packets = 24;
    f.bytes = 25148;
    f.first_ms = received - 1000;
    f.last_ms = received - 500;
    f.received_ms = received;
    return f;
}

Test(store, fresh_store_has_schema_and_empty_flows_view)
{
    char *dir = th_tmpdir(), db[512], err[256];
    snprintf(db, sizeof(db), "%s/s.db", dir);
    struct store *s = store_open(db, STORE_RW, NULL, err, sizeof(err));
    cr_assert(s, "%s", err);
    store_close(s);
    cr_expect_eq(th_db_int(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    cr_expect_eq(th_db_int(db, "PRAGMA application_id"), STORE_APPLICATION_ID, "marked as ours");
    cr_expect_eq(th_db_int(db, "SELECT count(*) FROM flows"), 0);
    cr_expect_eq(th_db_int(db, "SELECT count(*) FROM alerts"), 0);
    th_rmtree(dir);
    free(dir);
}

Test(store, flows_go_to_hourly_partitions_behind_one_view)
{
    char *dir = th_tmpdir(), db[512], err[256];
    snprintf(db, sizeof(db), "%s/s.db", dir);
    struct store *s = store_open(db, STORE_RW, NULL, err, sizeof(err));
    cr_assert(s, "%s", err);
    int64_t t0 = 1795455000000; /* 2026-11-23 */
    cr_assert_eq(store_begin(s, err, sizeof(err)), 0, "%s", err);
    for (int i = 0; i < 100; i++) {
        struct flow f = sample_flow(t0 + (int64_t)i * 60000); /* 100 minutes: 2-3 hours */
        cr_assert_eq(store_add_flow(s, &f, err, sizeof(err)), 0, "%s", err);
    }
    cr_assert_eq(store_commit(s, err, sizeof(err)), 0, "%s", err);
    store_close(s);
    cr_expect_eq(th_db_int(db, "SELECT count(*) FROM flows"), 100);
    cr_expect_geq(th_db_int(db, "SELECT count(*) FROM partitions"), 2);
    cr_expect_eq(th_db_int(db, "SELECT sum(rows) FROM partitions"), 100);
    cr_expect_eq(th_db_int(db, "SELECT count(*) FROM flows WHERE src_addr = '10.1.1.50' AND "
                               "dst_addr = '2001:db8::2' AND src_port = 722 AND tcp_flags = 26"),
                 100);
    cr_expect_eq(th_db_int(db, "SELECT count(*) FROM flows WHERE in_if IS NULL"), 100,
                 "fields the exporter did not send are NULL");
    /* reopen: the view and partitions survive, inserts continue */
    s = store_open(db, STORE_RW, NULL, err, sizeof(err));
    cr_assert(s, "%s", err);
    store_begin(s, err, sizeof(err));
    struct flow f = sample_flow(t0);
    cr_assert_eq(store_add_flow(s, &f, err, sizeof(err)), 0, "%s", err);
    store_commit(s, err, sizeof(err));
    store_close(s);
    cr_expect_eq(th_db_int(db, "SELECT count(*) FROM flows"), 101);
    th_rmtree(dir);
    free(dir);
}

/* Regression for the row binder (storage/row_binder.h), which skips binds of values the
 * insert statement already holds: fields that come and go, and exporters that change, from
 * one row to the next must each land in their own row. */
Test(store, rows_alternating_fields_and_exporters_are_stored_as_sent)
{
    char *dir = th_tmpdir(), db[512], err[256];
    snprintf(db, sizeof(db), "%s/s.db", dir);
    struct store *s = store_open(db, STORE_RW, NULL, err, sizeof(err));
    cr_assert(s, "%s", err);
    int64_t t0 = 1795455000000;
    cr_assert_eq(store_begin(s, err, sizeof(err)), 0, "%s", err);
    for (int i = 0; i < 12; i++) {
        struct flow f = sample_flow(t0 + i);
        f.src_port = (uint16_t)(1000 + i);
        if (i % 3 == 1) { /* every third: no optional field at all */
            f.present = 0;
        } else if (i % 3 == 2) { /* every third: many, with a next hop and NAT */
            f.present |= FF_IF | FF_NEXT_HOP | FF_AS | FF_POST_NAT;
            f.in_if = f.out_if = (uint32_t)i;
            f.src_as = 64500;
            f.dst_as = (uint32_t)(64500 + i);
            addr_from_str(i % 2 ? "198.51.100.1" : "198.51.100.2", &f.next_hop);
            addr_from_str("203.0.113.9", &f.post_nat_src);
            addr_from_str("203.0.113.10", &f.post_nat_dst);
            f.post_nat_src_port = (uint16_t)(2000 + i);
        }
        if (i >= 6) /* a second exporter for the second half, then back for the last */
            addr_from_str(i == 11 ? "192.0.2.1" : "192.0.2.77", &f.exporter);
        f.domain = (uint32_t)(i / 4);
        cr_assert_eq(store_add_flow(s, &f, err, sizeof(err)), 0, "%s", err);
    }
    cr_assert_eq(store_commit(s, err, sizeof(err)), 0, "%s", err);
    store_close(s);
    for (int i = 0; i < 12; i++) {
        char q[512];
        const char *exp = i >= 6 && i != 11 ? "192.0.2.77" : "192.0.2.1";
        snprintf(q, sizeof(q),
                 "SELECT count(*) FROM flows WHERE src_port = %d AND exporter = '%s' AND "
                 "domain = %d AND src_addr = '10.1.1.50' AND dst_addr = '2001:db8::2'",
                 1000 + i, exp, i / 4);
        cr_expect_eq(th_db_int(db, q), 1, "row %d: exporter and core fields", i);
        if (i % 3 == 1)
            snprintf(q, sizeof(q),
                     "SELECT count(*) FROM flows WHERE src_port = %d AND tcp_flags IS NULL AND "
                     "in_if IS NULL AND next_hop IS NULL AND src_as IS NULL AND "
                     "post_nat_src_addr IS NULL AND post_nat_src_port IS NULL",
                     1000 + i);
        else if (i % 3 == 2)
            snprintf(q, sizeof(q),
                     "SELECT count(*) FROM flows WHERE src_port = %d AND tcp_flags = 26 AND "
                     "in_if = %d AND out_if = %d AND next_hop = '%s' AND dst_as = %d AND "
                     "post_nat_src_addr = '203.0.113.9' AND post_nat_src_port = %d",
                     1000 + i, i, i, i % 2 ? "198.51.100.1" : "198.51.100.2", 64500 + i, 2000 + i);
        else
            snprintf(q, sizeof(q),
                     "SELECT count(*) FROM flows WHERE src_port = %d AND tcp_flags = 26 AND "
                     "in_if IS NULL AND next_hop IS NULL AND post_nat_src_addr IS NULL",
                     1000 + i);
        cr_expect_eq(th_db_int(db, q), 1, "row %d: optional fields", i);
    }
    th_rmtree(dir);
    free(dir);
}

/* Regression: flows of a span whose partition was already closed and indexed (time went to
 * another span and came back, or a restart after that) go to a new partition of the span,
 * not into the indexed one row by row. */
Test(store, a_closed_partition_is_not_appended_to)
{
    char *dir = th_tmpdir(), db[512], err[256];
    snprintf(db, sizeof(db), "%s/s.db", dir);
    struct store *s = store_open(db, STORE_RW, NULL, err, sizeof(err));
    cr_assert(s, "%s", err);
    int64_t h = 1795453200000; /* 2026-11-23 14:00 UTC, an hour boundary */
    int64_t times[] = {h + 1000, h + 2000, h + 3600000 + 1000, h + 3000, h + 4000};
    cr_assert_eq(store_begin(s, err, sizeof(err)), 0, "%s", err);
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        struct flow f = sample_flow(times[i]);
        cr_assert_eq(store_add_flow(s, &f, err, sizeof(err)), 0, "%s", err);
    }
    cr_assert_eq(store_commit(s, err, sizeof(err)), 0, "%s", err);
    store_close(s);
    char q[256];
    snprintf(q, sizeof(q), "SELECT count(*) FROM partitions WHERE span_start = %lld", (long long)h);
    cr_expect_eq(th_db_int(db, q), 2, "the span got a second partition");
    snprintf(q, sizeof(q), "SELECT rows FROM partitions WHERE span_start = %lld AND indexed = 1",
             (long long)h);
    cr_expect_eq(th_db_int(db, q), 2, "the indexed partition kept its 2 rows");
    snprintf(q, sizeof(q), "SELECT rows FROM partitions WHERE span_start = %lld AND indexed = 0",
             (long long)h);
    cr_expect_eq(th_db_int(db, q), 2, "the 2 later rows went to the new one");
    cr_expect_eq(th_db_int(db, "SELECT count(*) FROM flows"), 5);
    th_rmtree(dir);
    free(dir);
}

Test(store, rejects_a_newer_schema)
{
    char *dir = th_tmpdir(), db[512], err[256];
    snprintf(db, sizeof(db), "%s/s.db", dir);
    /* A store of a later flowhound: our marker, a schema version above ours. */
    cr_assert_eq(th_system("sqlite3 '%s' 'PRAGMA application_id = %u; PRAGMA user_version = 99'",
                           db, STORE_APPLICATION_ID),
                 0);
    struct store *s = store_open(db, STORE_RW, NULL, err, sizeof(err));
    cr_expect_null(s);
    cr_expect(strstr(err, "newer"), "error says why: %s", err);
    th_rmtree(dir);
    free(dir);
}

/* The writer opens `db` and must refuse it, leaving every byte as it was, of the file and of
 * its WAL if it has one (else none is left beside it); the message names the file and says
 * `why`. */
static void expect_writer_refuses_untouched(const char *db, bool wal, const char *why)
{
    char err[512] = "";
    cr_assert_eq(th_system("cp '%s' '%s.orig'", db, db), 0);
    if (wal)
        cr_assert_eq(th_system("cp '%s-wal' '%s-wal.orig'", db, db), 0);
    struct store *s = store_open(db, STORE_RW, NULL, err, sizeof(err));
    cr_expect_null(s, "the writer opened %s", db);
    store_close(s);
    cr_expect(strstr(err, db) && strstr(err, why), "names the file and says '%s': %s", why, err);
    cr_expect_eq(th_system("cmp -s '%s' '%s.orig'", db, db), 0, "%s changed", db);
    if (wal)
        cr_expect_eq(th_system("cmp -s '%s-wal' '%s-wal.orig'", db, db), 0, "its WAL changed");
    else
        cr_expect_eq(th_system("test ! -e '%s-wal' && test ! -e '%s-shm'", db, db), 0,
                     "no WAL left beside %s", db);
}

Test(store, the_writer_refuses_another_applications_database_untouched)
{
    char *dir = th_tmpdir(), db[512];
    /* Any application's: a table and a row, SQLite's defaults (no application_id). */
    snprintf(db, sizeof(db), "%s/app.db", dir);
    cr_assert_eq(th_system("sqlite3 '%s' \"CREATE TABLE notes (body TEXT); INSERT INTO notes "
                           "VALUES ('keep me'); CREATE INDEX notes_body ON notes (body)\"",
                           db),
                 0);
    expect_writer_refuses_untouched(db, false, "not a flowhound store");
    cr_expect_eq(th_db_int(db, "SELECT count(*) FROM sqlite_master"), 2, "still its 2 objects");
    /* One that marks itself with its own application_id, even with no table yet. */
    snprintf(db, sizeof(db), "%s/marked.db", dir);
    cr_assert_eq(th_system("sqlite3 '%s' 'PRAGMA application_id = 1598903374'", db), 0);
    expect_writer_refuses_untouched(db, false, "application_id 0x5f4d544e");
    /* One that looks like a store of ours at a glance (a version, a table of our names). */
    snprintf(db, sizeof(db), "%s/lookalike.db", dir);
    cr_assert_eq(
        th_system("sqlite3 '%s' 'CREATE TABLE partitions (x); PRAGMA user_version = 1'", db), 0);
    expect_writer_refuses_untouched(db, false, "not a flowhound store");
    /* One in WAL mode whose last commits are still in its WAL (its program was stopped
     * before a checkpoint): closing the last connection would checkpoint them into it. */
    snprintf(db, sizeof(db), "%s/wal.db", dir);
    cr_assert_eq(th_system("sqlite3 '%s' '.dbconfig no_ckpt_on_close on' 'PRAGMA journal_mode = "
                           "WAL' 'CREATE TABLE notes (body)' \"INSERT INTO notes VALUES ('x')\" "
                           ">/dev/null && test -s '%s-wal'",
                           db, db),
                 0);
    expect_writer_refuses_untouched(db, true, "not a flowhound store");
    th_rmtree(dir);
    free(dir);
}

Test(store, a_new_path_or_an_empty_file_becomes_a_marked_store)
{
    char *dir = th_tmpdir(), db[512], err[512];
    snprintf(db, sizeof(db), "%s/empty.db", dir);
    cr_assert_eq(th_system(": > '%s'", db), 0, "a 0-byte file");
    struct store *s = store_open(db, STORE_RW, NULL, err, sizeof(err));
    cr_assert(s, "%s", err);
    store_close(s);
    cr_expect_eq(th_db_int(db, "PRAGMA application_id"), STORE_APPLICATION_ID);
    cr_expect_eq(th_db_int(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    cr_expect_eq(th_db_int(db, "PRAGMA page_size"), 16384, "checked before its page size is set");
    sqlite3 *ro = store_connect(db, STORE_RO, err, sizeof(err));
    cr_expect(ro, "a reader takes it: %s", err);
    sqlite3_close(ro);
    th_rmtree(dir);
    free(dir);
}

/* A store made before the marker: flowhound's tables and user_version 1, application_id 0. */
Test(store, a_store_made_before_the_marker_opens_and_gets_it)
{
    char *dir = th_tmpdir(), db[512], err[512];
    snprintf(db, sizeof(db), "%s/old.db", dir);
    struct store *s = store_open(db, STORE_RW, NULL, err, sizeof(err));
    cr_assert(s, "%s", err);
    struct flow f = sample_flow(1795455000000);
    th_store_flows(s, &f, 1);
    store_close(s);
    cr_assert_eq(th_system("sqlite3 '%s' 'PRAGMA application_id = 0'", db), 0);
    cr_assert_eq(th_db_int(db, "PRAGMA application_id"), 0);
    sqlite3 *ro = store_connect(db, STORE_RO, err, sizeof(err));
    cr_expect(ro, "a reader takes it as it is: %s", err);
    sqlite3_close(ro);
    s = store_open(db, STORE_RW, NULL, err, sizeof(err));
    cr_assert(s, "the writer takes it: %s", err);
    store_close(s);
    cr_expect_eq(th_db_int(db, "PRAGMA application_id"), STORE_APPLICATION_ID, "marked now");
    cr_expect_eq(th_db_int(db, "SELECT count(*) FROM flows"), 1, "its flows kept");
    th_rmtree(dir);
    free(dir);
}

Test(store, a_path_that_keeps_nothing_is_refused)
{
    char err[256];
    cr_expect_null(store_open("", STORE_RW, NULL, err, sizeof(err)));
    cr_expect(strstr(err, "empty"), "%s", err);
    cr_expect_null(store_connect("", STORE_RO, err, sizeof(err)));
    cr_expect_neq(store_check_path("", err, sizeof(err)), 0);
    cr_expect_neq(store_check_path(":memory:", err, sizeof(err)), 0);
    cr_expect_neq(store_check_path("file:x.db?mode=memory", err, sizeof(err)), 0);
    cr_expect_eq(store_check_path("/var/lib/flowhound/flows.db", err, sizeof(err)), 0);
    cr_expect_eq(store_check_path("flows.db", err, sizeof(err)), 0);
}

/* The modes that open a store someone else made: a reader, and alert delivery. */
static const enum store_mode other_modes[] = {STORE_RO, STORE_RW_EXISTING};

/* Opening db in every other mode fails, with a message naming it and containing why. */
static void expect_refused(const char *db, const char *why)
{
    for (size_t i = 0; i < sizeof(other_modes) / sizeof(other_modes[0]); i++) {
        char err[512] = "";
        sqlite3 *c = store_connect(db, other_modes[i], err, sizeof(err));
        cr_expect_null(c, "mode %d opened %s", other_modes[i], db);
        sqlite3_close(c);
        cr_expect(strstr(err, db) && strstr(err, why), "mode %d: names the file and says '%s': %s",
                  other_modes[i], why, err);
        err[0] = '\0';
        struct store *s = store_open(db, other_modes[i], NULL, err, sizeof(err));
        cr_expect_null(s, "store_open, mode %d", other_modes[i]);
        store_close(s);
        cr_expect(strstr(err, db) && strstr(err, why), "store_open, mode %d: %s", other_modes[i],
                  err);
    }
}

Test(store, readers_and_delivery_refuse_a_file_that_is_not_a_store)
{
    char *dir = th_tmpdir(), db[512];
    snprintf(db, sizeof(db), "%s/other.db", dir);
    cr_assert_eq(th_system("sqlite3 '%s' 'CREATE TABLE t (x)'", db), 0);
    expect_refused(db, "not a flowhound store");
    cr_expect_eq(th_db_int(db, "SELECT count(*) FROM sqlite_master WHERE name != 't'"), 0,
                 "nothing created in it");
    cr_expect_eq(th_db_int(db, "PRAGMA user_version"), 0, "not migrated");
    snprintf(db, sizeof(db), "%s/text.db", dir);
    cr_assert_eq(th_system("echo 'not a database at all, just some text' > '%s'", db), 0);
    expect_refused(db, "not a database");
    th_rmtree(dir);
    free(dir);
}

Test(store, readers_and_delivery_refuse_a_newer_schema)
{
    char *dir = th_tmpdir(), db[512], err[256];
    snprintf(db, sizeof(db), "%s/s.db", dir);
    struct store *s = store_open(db, STORE_RW, NULL, err, sizeof(err));
    cr_assert(s, "%s", err);
    store_close(s);
    cr_assert_eq(th_system("sqlite3 '%s' 'PRAGMA user_version = %d'", db, STORE_SCHEMA_VERSION + 1),
                 0);
    expect_refused(db, "newer");
    th_rmtree(dir);
    free(dir);
}

Test(store, delivery_never_creates_a_store)
{
    char *dir = th_tmpdir(), db[512], err[512];
    snprintf(db, sizeof(db), "%s/missing.db", dir);
    sqlite3 *c = store_connect(db, STORE_RW_EXISTING, err, sizeof(err));
    cr_expect_null(c);
    sqlite3_close(c);
    cr_expect(strstr(err, db), "names the file: %s", err);
    cr_expect_neq(access(db, F_OK), 0, "the file was not created");
    th_rmtree(dir);
    free(dir);
}

/* Each mode can do what it is for, and no more: a reader cannot write; only store_open opens
 * the writer. */
Test(store, connections_to_a_store_get_their_mode)
{
    char *dir = th_tmpdir(), db[512], err[512];
    snprintf(db, sizeof(db), "%s/s.db", dir);
    struct store *s = store_open(db, STORE_RW, NULL, err, sizeof(err));
    cr_assert(s, "%s", err);
    store_close(s);
    static const char insert[] = "INSERT INTO alert_destinations (destination, first_event_id, "
                                 "done_through) VALUES ('udp://192.0.2.5:514', 0, 0)";
    sqlite3 *ro = store_connect(db, STORE_RO, err, sizeof(err));
    cr_assert(ro, "%s", err);
    cr_expect_eq(sqlite3_exec(ro, "SELECT count(*) FROM flows", NULL, NULL, NULL), SQLITE_OK);
    cr_expect_eq(sqlite3_exec(ro, insert, NULL, NULL, NULL), SQLITE_READONLY);
    sqlite3_close(ro);
    sqlite3 *rw = store_connect(db, STORE_RW_EXISTING, err, sizeof(err));
    cr_assert(rw, "%s", err);
    cr_expect_eq(sqlite3_exec(rw, insert, NULL, NULL, NULL), SQLITE_OK, "%s", sqlite3_errmsg(rw));
    sqlite3_close(rw);
    cr_expect_eq(th_db_int(db, "SELECT count(*) FROM alert_destinations"), 1);
    cr_expect_null(store_connect(db, STORE_RW, err, sizeof(err)));
    cr_expect(strstr(err, "store_open"), "%s", err);
    th_rmtree(dir);
    free(dir);
}

/* The optional fields store_flow_read_columns carries. */
#define READ_BACK                                                                                  \
    (FF_TCP_FLAGS | FF_END_REASON | FF_INITIAL_FLAGS | FF_UNION_FLAGS | FF_REVERSE |               \
     FF_REV_FLAGS | FF_SAMPLING)

/* A flow with every field store_flow_read_columns carries, at values that need each column's
 * full width, and one field it does not carry (the interfaces). */
static struct flow full_flow(int64_t received)
{
    struct flow f = sample_flow(received);
    f.domain = 0x80000001u;
    f.version = 10;
    f.src_port = 722;
    f.tcp_flags = 0x01da;
    f.packets = 5000000000ull;
    f.bytes = 7000000000000ull;
    f.end_reason = 3;
    f.initial_flags = 0x02;
    f.union_flags = 0x1b;
    f.rev_packets = 4000000000ull;
    f.rev_bytes = 6000000000000ull;
    f.rev_tcp_flags = 0x0112;
    f.sampling_interval = 1000000;
    f.in_if = f.out_if = 7;
    f.present = READ_BACK | FF_IF;
    return f;
}

static void expect_read_back(const struct flow *got, const struct flow *sent)
{
    cr_expect(addr_equal(&got->exporter, &sent->exporter));
    cr_expect_eq(got->domain, sent->domain);
    cr_expect_eq(got->version, sent->version);
    cr_expect(addr_equal(&got->src_addr, &sent->src_addr));
    cr_expect(addr_equal(&got->dst_addr, &sent->dst_addr));
    cr_expect_eq(got->src_port, sent->src_port);
    cr_expect_eq(got->dst_port, sent->dst_port);
    cr_expect_eq(got->proto, sent->proto);
    cr_expect_eq(got->packets, sent->packets);
    cr_expect_eq(got->bytes, sent->bytes);
    cr_expect_eq(got->first_ms, sent->first_ms);
    cr_expect_eq(got->last_ms, sent->last_ms);
    cr_expect_eq(got->received_ms, sent->received_ms);
    cr_expect_eq(got->present, sent->present & READ_BACK, "present %#x, sent %#x", got->present,
                 sent->present);
    /* a field whose bit is clear reads back 0, whatever the sender's struct held */
    uint32_t p = sent->present;
    cr_expect_eq(got->tcp_flags, p & FF_TCP_FLAGS ? sent->tcp_flags : 0);
    cr_expect_eq(got->end_reason, p & FF_END_REASON ? sent->end_reason : 0);
    cr_expect_eq(got->initial_flags, p & FF_INITIAL_FLAGS ? sent->initial_flags : 0);
    cr_expect_eq(got->union_flags, p & FF_UNION_FLAGS ? sent->union_flags : 0);
    cr_expect_eq(got->rev_packets, p & FF_REVERSE ? sent->rev_packets : 0);
    cr_expect_eq(got->rev_bytes, p & FF_REVERSE ? sent->rev_bytes : 0);
    cr_expect_eq(got->rev_tcp_flags, p & FF_REV_FLAGS ? sent->rev_tcp_flags : 0);
    cr_expect_eq(got->sampling_interval, p & FF_SAMPLING ? sent->sampling_interval : 0);
    cr_expect_eq(got->in_if, 0, "not a column read back");
}

Test(store, a_stored_flow_reads_back_as_sent)
{
    char *dir = th_tmpdir(), db[512], err[512];
    snprintf(db, sizeof(db), "%s/s.db", dir);
    struct store *s = store_open(db, STORE_RW, NULL, err, sizeof(err));
    cr_assert(s, "%s", err);
    int64_t t0 = 1795455000000;
    struct flow sent[2] = {full_flow(t0), full_flow(t0 + 1)};
    sent[1].src_port = 723;
    sent[1].present = 0; /* every optional field left out: stored NULL */
    cr_assert_eq(store_begin(s, err, sizeof(err)), 0, "%s", err);
    for (int i = 0; i < 2; i++)
        cr_assert_eq(store_add_flow(s, &sent[i], err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(store_commit(s, err, sizeof(err)), 0, "%s", err);
    store_close(s);
    sqlite3 *c = store_connect(db, STORE_RO, err, sizeof(err));
    cr_assert(c, "%s", err);
    char *sql = sqlite3_mprintf("SELECT %s FROM flows ORDER BY src_port", store_flow_read_columns);
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(c, sql, -1, &st, NULL), SQLITE_OK, "%s", sqlite3_errmsg(c));
    sqlite3_free(sql);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
        struct flow got;
        store_row_to_flow(st, &got);
        expect_read_back(&got, &sent[i]);
    }
    cr_expect_eq(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(c);
    th_rmtree(dir);
    free(dir);
}

Test(store, exporter_counters_persist_and_resume)
{
    char *dir = th_tmpdir(), db[512], err[256];
    snprintf(db, sizeof(db), "%s/s.db", dir);
    struct store *s = store_open(db, STORE_RW, NULL, err, sizeof(err));
    cr_assert(s, "%s", err);
    struct exporter_table t;
    exporters_init(&t, 8, 4);
    struct fh_addr a;
    addr_from_str("192.0.2.9", &a);
    struct exporter *e = exporters_get(&t, &a, 1000);
    e->packets = 10;
    e->rejects[REJ_TRUNCATED] = 3;
    struct exporter_domain *d = exporter_domain_get(&t, e, 1, 5);
    d->flows = 270;
    d->seq.lost = 30;
    d->clock_future = 4;
    d->clock_past = 5;
    d->clock_offset_ms = -7200000;
    d->clock_measured = true;
    store_begin(s, err, sizeof(err));
    cr_assert_eq(store_save_exporters(s, &t, err, sizeof(err)), 0, "%s", err);
    store_commit(s, err, sizeof(err));
    exporters_free(&t);
    exporters_init(&t, 8, 4);
    cr_assert_eq(store_load_exporters(s, &t, err, sizeof(err)), 0, "%s", err);
    e = exporters_get(&t, &a, 2000);
    cr_expect_eq(e->packets, 10);
    cr_expect_eq(e->rejects[REJ_TRUNCATED], 3);
    cr_expect_eq(e->domains[0].flows, 270);
    cr_expect_eq(e->domains[0].seq.lost, 30);
    cr_expect_eq(e->domains[0].clock_future, 4);
    cr_expect_eq(e->domains[0].clock_past, 5);
    cr_expect(e->domains[0].clock_measured);
    cr_expect_eq(e->domains[0].clock_offset_ms, -7200000);
    exporters_free(&t);
    store_close(s);
    cr_expect_eq(th_db_int(db, "SELECT flows FROM exporter_stats WHERE exporter = '192.0.2.9'"),
                 270);
    cr_expect_eq(th_db_int(db, "SELECT clock_future + clock_past FROM exporter_stats"), 9);
    cr_expect_eq(th_db_int(db, "SELECT clock_offset_ms FROM exporter_stats"), -7200000);
    cr_expect_eq(th_db_int(db, "SELECT count FROM exporter_rejects WHERE reason = 'truncated'"), 3);
    th_rmtree(dir);
    free(dir);
}

/* Counters above what SQLite holds are stored as INT64_MAX, every one of them (the reverse
 * and NSEL counters were masked: 2^63 + 5 became 5); a flow dated in the future leaves the
 * partition's newest_ms (the web pages' default range) at its receive time, and max_last
 * (for pruning) exact. */
Test(store, counters_clamp_and_future_flows_bound_newest_ms)
{
    char *dir = th_tmpdir(), db[512], err[256];
    snprintf(db, sizeof(db), "%s/s.db", dir);
    struct store *s = store_open(db, STORE_RW, NULL, err, sizeof(err));
    cr_assert(s, "%s", err);
    int64_t t0 = 1795455000000;
    struct flow f[2] = {sample_flow(t0), sample_flow(t0 + 1000)};
    f[1].packets = f[1].bytes = UINT64_MAX;
    f[1].rev_packets = f[1].rev_bytes = (1ULL << 63) + 5;
    f[1].initiator_bytes = f[1].responder_bytes = (1ULL << 63) + 5;
    f[1].present |= FF_REVERSE | FF_INIT_RESP_BYTES;
    f[1].last_ms = 253402300799999; /* the year 9999 */
    th_store_flows(s, f, 2);
    store_close(s);
    cr_expect_eq(th_db_int(db, "SELECT count(*) FROM flows WHERE packets = 9223372036854775807 "
                               "AND bytes = packets AND rev_packets = packets AND rev_bytes = "
                               "packets AND initiator_bytes = packets AND responder_bytes = "
                               "packets"),
                 1);
    cr_expect_eq(th_db_int(db, "SELECT max_last FROM partitions"), 253402300799999);
    cr_expect_eq(th_db_int(db, "SELECT newest_ms FROM partitions"), t0 + 1000,
                 "the future-dated flow counts at its receipt");
    th_rmtree(dir);
    free(dir);
}

/* A store of schema version 1 (before exporters' clocks and template state) is migrated at
 * start through versions 2 and 3: its rows stay, the new columns appear (NULL newest_ms in the partitions it had, filled from then
 * on). */
Test(store, a_version_1_store_is_migrated)
{
    char *dir = th_tmpdir(), db[512], err[256];
    snprintf(db, sizeof(db), "%s/s.db", dir);
    struct store *s = store_open(db, STORE_RW, NULL, err, sizeof(err));
    cr_assert(s, "%s", err);
    struct flow f = sample_flow(1795455000000);
    th_store_flows(s, &f, 1);
    store_close(s);
    /* what version 1 had: no clock columns, the old view */
    cr_assert_eq(th_system("sqlite3 '%s' 'DROP VIEW exporter_stats; "
                           "ALTER TABLE exporter_domains DROP COLUMN clock_future; "
                           "ALTER TABLE exporter_domains DROP COLUMN clock_past; "
                           "ALTER TABLE exporter_domains DROP COLUMN clock_offset_ms; "
                           "ALTER TABLE partitions DROP COLUMN newest_ms; "
                           "ALTER TABLE exporter_domains DROP COLUMN templates; "
                           "ALTER TABLE exporter_domains DROP COLUMN template_bytes; "
                           "ALTER TABLE exporter_domains DROP COLUMN templates_refused; "
                           "ALTER TABLE exporter_domains DROP COLUMN templates_expired; "
                           "CREATE VIEW exporter_stats AS SELECT addr AS exporter FROM exporters; "
                           "PRAGMA user_version = 1'",
                           db),
                 0);
    s = store_open(db, STORE_RW, NULL, err, sizeof(err));
    cr_assert(s, "%s", err);
    f.received_ms += 1000;
    th_store_flows(s, &f, 1);
    store_close(s);
    cr_expect_eq(th_db_int(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    cr_expect_eq(th_db_int(db, "SELECT count(*) FROM flows"), 2);
    cr_expect_eq(th_db_int(db, "SELECT newest_ms FROM partitions"), f.last_ms);
    cr_expect_eq(th_db_int(db, "SELECT count(*) FROM pragma_table_info('exporter_stats') "
                               "WHERE name LIKE 'clock_%'"),
                 3);
    cr_expect_eq(th_db_int(db, "SELECT count(*) FROM pragma_table_info('exporter_stats') "
                               "WHERE name LIKE 'template%'"),
                 4);
    th_rmtree(dir);
    free(dir);
}

#include "common/prefix.h"

Test(prefix, parse_and_contains)
{
    struct fh_prefix p;
    struct fh_addr a;
    cr_assert(prefix_parse("192.0.2.77/24", &p));
    cr_expect_eq(p.len, 24);
    addr_from_str("192.0.2.200", &a);
    cr_expect(prefix_contains(&p, &a));
    addr_from_str("192.0.3.1", &a);
    cr_expect_not(prefix_contains(&p, &a));
    cr_assert(prefix_parse("2001:db8::/33", &p));
    addr_from_str("2001:db8:7fff::1", &a);
    cr_expect(prefix_contains(&p, &a));
    addr_from_str("2001:db8:8000::1", &a);
    cr_expect_not(prefix_contains(&p, &a), "bit 33 differs");
    addr_from_str("192.0.2.1", &a);
    cr_expect_not(prefix_contains(&p, &a), "families never match");
    cr_assert(prefix_parse("10.1.1.50", &p));
    cr_expect_eq(p.len, 32);
    cr_assert(prefix_parse("0.0.0.0/0", &p));
    cr_expect(prefix_contains(&p, &a));
    cr_expect_not(prefix_parse("10.0.0.0/33", &p));
    cr_expect_not(prefix_parse("10.0.0.0/", &p));
    cr_expect_not(prefix_parse("/8", &p));
    cr_expect_not(prefix_parse("10.0.0/8", &p));
    cr_expect_not(prefix_parse("10.0.0.0/8x", &p));
}
