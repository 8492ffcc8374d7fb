/* test_perf_store.c - partitions capped by rows with their index built at close, endpoint
 * keys and the hunt SQL, retention by age and size, and the writer through a full store. */
#include "config.h"

#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/addr.h"
#include "common/flowqueue.h"
#include "common/timeutil.h"
#include "storage/store.h"
#include "storage/writer.h"
#include "tests/helpers.h"

#define T0 1795455000000LL /* 2026-11-23 15:30 UTC */

static struct flow mkflow(const char *src, int sport, const char *dst, int dport, int64_t recv)
{
    struct flow f = {0};
    addr_from_str("192.0.2.1", &f.exporter);
    addr_from_str(src, &f.src_addr);
    addr_from_str(dst, &f.dst_addr);
    f.version = 5;
    f.src_port = (uint16_t)sport;
    f.dst_port = (uint16_t)dport;
    f.proto = 6;
    f.packets = 3;
    f.bytes = 180;
    f.first_ms = recv - 2000;
    f.last_ms = recv - 1000;
    f.received_ms = recv;
    return f;
}

static struct store *open_store(const char *db, int64_t rows)
{
    char err[256];
    struct store_options o = {.partition_rows = rows};
    struct store *s = store_open(db, STORE_RW, &o, err, sizeof(err));
    cr_assert(s, "%s", err);
    return s;
}

static void add(struct store *s, const struct flow *f)
{
    char err[256];
    cr_assert_eq(store_add_flow(s, f, err, sizeof(err)), 0, "%s", err);
}

/* Stores 200 flows in each of `hours` hourly partitions from T0, in one transaction. */
static void store_hours(struct store *s, int hours)
{
    char err[256];
    store_begin(s, err, sizeof(err));
    for (int h = 0; h < hours; h++)
        for (int i = 0; i < 200; i++) {
            struct flow f =
                mkflow("10.0.0.1", 1024 + i, "192.0.2.9", 443, T0 + (int64_t)h * 3600000 + i);
            add(s, &f);
        }
    cr_assert_eq(store_commit(s, err, sizeof(err)), 0, "%s", err);
}

/* Bytes of the file at db + suffix (0 when there is none). */
static int64_t file_bytes(const char *db, const char *suffix)
{
    char path[600];
    struct stat st;
    snprintf(path, sizeof(path), "%s%s", db, suffix);
    return stat(path, &st) == 0 ? (int64_t)st.st_size : 0;
}

Test(perf_store, endpoint_keys_exact_for_ipv4_tagged_for_ipv6)
{
    struct fh_addr a, b;
    addr_from_str("10.1.1.50", &a);
    cr_expect_eq(store_endpoint_key(&a, 722), ((int64_t)0x0a010132 << 16) | 722);
    cr_expect_neq(store_endpoint_key(&a, 722), store_endpoint_key(&a, 723));
    addr_from_str("2001:db8::1", &b);
    int64_t k = store_endpoint_key(&b, 722);
    cr_expect(k > 0 && (k >> 62) == 1 && (k & 0xffff) == 722, "v6 key %lld", (long long)k);
    addr_from_str("2001:db8::2", &a);
    cr_expect_neq(store_endpoint_key(&a, 722), k);
}

Test(perf_store, partitions_are_capped_by_rows_and_indexed_when_closed)
{
    char *dir = th_tmpdir(), db[512], err[256];
    snprintf(db, sizeof(db), "%s/s.db", dir);
    struct store *s = open_store(db, 1000);
    cr_assert_eq(store_begin(s, err, sizeof(err)), 0, "%s", err);
    for (int i = 0; i < 2500; i++) {
        struct flow f = mkflow("10.0.0.1", 1024 + i, "192.0.2.9", 443, T0 + i);
        add(s, &f);
    }
    cr_assert_eq(store_commit(s, err, sizeof(err)), 0, "%s", err);
    store_close(s);
    cr_expect_eq(th_db_int(db, "SELECT count(*) FROM partitions"), 3);
    cr_expect_eq(th_db_int(db, "SELECT group_concat(rows) = '1000,1000,500' FROM "
                               "(SELECT rows FROM partitions ORDER BY rowid)"),
                 1);
    cr_expect_eq(th_db_int(db, "SELECT group_concat(indexed) = '1,1,0' FROM "
                               "(SELECT indexed FROM partitions ORDER BY rowid)"),
                 1, "closed partitions indexed, the open one not");
    cr_expect_eq(th_db_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND "
                               "name LIKE 'flows_%_ep'"),
                 2);
    cr_expect_eq(th_db_int(db, "SELECT count(*) FROM flows"), 2500);
    cr_expect_eq(th_db_int(db, "PRAGMA page_size"), 16384, "new stores get 16K pages");
    cr_expect_eq(th_db_int(db, "SELECT count(*) FROM pragma_table_info('flows') WHERE name "
                               "LIKE '%_key'"),
                 0, "hidden key columns stay out of the view");
    /* A restart goes on filling the open partition; the next switch indexes it. */
    s = open_store(db, 1000);
    store_begin(s, err, sizeof(err));
    for (int i = 0; i < 600; i++) {
        struct flow f = mkflow("10.0.0.2", 1024 + i, "192.0.2.9", 443, T0 + 3000 + i);
        add(s, &f);
    }
    cr_assert_eq(store_commit(s, err, sizeof(err)), 0, "%s", err);
    store_close(s);
    cr_expect_eq(th_db_int(db, "SELECT group_concat(rows) = '1000,1000,1000,100' FROM "
                               "(SELECT rows FROM partitions ORDER BY rowid)"),
                 1);
    cr_expect_eq(th_db_int(db, "SELECT sum(indexed) FROM partitions"), 3);
    th_rmtree(dir);
    free(dir);
}

static int64_t run_hunt(struct store *s, const char *addr, int port, int64_t from, int64_t to,
                        bool *ordered)
{
    char err[256];
    struct fh_addr a;
    addr_from_str(addr, &a);
    char *sql = store_client_port_sql(s, &a, (uint16_t)port, from, to, err, sizeof(err));
    cr_assert(sql, "%s", err);
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(store_sqlite(s), sql, -1, &st, NULL), SQLITE_OK, "%s\n%s",
                 sqlite3_errmsg(store_sqlite(s)), sql);
    store_bind_hunt(st, &a, (uint16_t)port, from, to);
    int64_t n = 0, last = INT64_MIN;
    *ordered = true;
    int first_col = -1;
    for (int c = 0; c < sqlite3_column_count(st); c++)
        if (strcmp(sqlite3_column_name(st, c), "first_ms") == 0)
            first_col = c;
    cr_assert_geq(first_col, 0);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t fm = sqlite3_column_int64(st, first_col);
        if (fm < last)
            *ordered = false;
        last = fm;
        n++;
    }
    cr_expect_eq(rc, SQLITE_DONE, "%s", sqlite3_errmsg(store_sqlite(s)));
    sqlite3_finalize(st);
    free(sql);
    return n;
}

Test(perf_store, hunt_finds_both_directions_in_indexed_and_open_partitions)
{
    char *dir = th_tmpdir(), db[512], err[256];
    snprintf(db, sizeof(db), "%s/s.db", dir);
    struct store *s = open_store(db, 1000);
    store_begin(s, err, sizeof(err));
    int want = 0;
    for (int i = 0; i < 3500; i++) {
        int64_t t = T0 + (int64_t)i * 10;
        /* noise: other clients of the same server, and the hunted address's other ports */
        struct flow f = mkflow("10.1.1.51", 722, "192.0.2.9", 515, t);
        if (i % 3 == 1)
            f = mkflow("10.1.1.50", 723, "192.0.2.9", 515, t);
        if (i % 3 == 2)
            f = mkflow("192.0.2.9", 515, "10.1.1.51", 722, t);
        if (i % 50 == 0) { /* the client's flow ... */
            f = mkflow("10.1.1.50", 722, "192.0.2.9", 515, t);
            want++;
        }
        if (i % 50 == 25) { /* ... and the server's answer */
            f = mkflow("192.0.2.9", 515, "10.1.1.50", 722, t);
            want++;
        }
        add(s, &f);
    }
    /* IPv6 endpoints take the hashed key path */
    struct flow v6 = mkflow("2001:db8::50", 722, "2001:db8::9", 515, T0 + 36000);
    add(s, &v6);
    struct flow v6r = mkflow("2001:db8::9", 515, "2001:db8::50", 722, T0 + 36001);
    add(s, &v6r);
    cr_assert_eq(store_commit(s, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(th_db_int(db, "SELECT count(*) FROM partitions WHERE indexed = 0"), 1);
    bool ordered;
    cr_expect_eq(run_hunt(s, "10.1.1.50", 722, T0 - 3600000, T0 + 3600000, &ordered), want);
    cr_expect(ordered, "ordered by first_ms");
    cr_expect_eq(run_hunt(s, "10.1.1.50", 722, T0 + 20000, T0 + 3600000, &ordered),
                 th_db_int(db, "SELECT count(*) FROM flows WHERE last_ms >= 1795455020000 AND "
                               "((src_addr = '10.1.1.50' AND src_port = 722) OR "
                               "(dst_addr = '10.1.1.50' AND dst_port = 722))"),
                 "the time range is applied");
    cr_expect_eq(run_hunt(s, "2001:db8::50", 722, T0 - 3600000, T0 + 3600000, &ordered), 2);
    cr_expect_eq(run_hunt(s, "10.9.9.9", 722, T0 - 3600000, T0 + 3600000, &ordered), 0);
    /* The plan of an indexed partition uses the endpoint index for both directions. */
    struct fh_addr ha;
    addr_from_str("10.1.1.50", &ha);
    char *sql = store_client_port_sql(s, &ha, 722, T0 - 3600000, T0 + 3600000, err, sizeof(err));
    char *eqp = NULL;
    cr_assert(asprintf(&eqp, "EXPLAIN QUERY PLAN %s", sql) > 0);
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(store_sqlite(s), eqp, -1, &st, NULL), SQLITE_OK);
    int uses_index = 0, scans = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *d = (const char *)sqlite3_column_text(st, 3);
        if (strstr(d, "_ep (src_key=?"))
            uses_index++;
        if (strncmp(d, "SCAN flows_", 11) == 0)
            scans++;
    }
    sqlite3_finalize(st);
    cr_expect_eq(uses_index, 3 * 2, "3 indexed partitions x (from, to)");
    cr_expect_eq(scans, 1, "only the open partition is scanned");
    free(eqp);
    free(sql);
    store_close(s);
    th_rmtree(dir);
    free(dir);
}

Test(perf_store, retention_drops_old_partitions_and_keeps_the_current)
{
    char *dir = th_tmpdir(), db[512], err[256];
    snprintf(db, sizeof(db), "%s/s.db", dir);
    struct store *s = open_store(db, 1000000);
    store_hours(s, 10);
    cr_expect_eq(th_db_int(db, "SELECT count(*) FROM partitions"), 10);
    int64_t now = T0 + 9 * 3600000LL + 1000;
    /* one call drops at most max_drops */
    cr_expect_eq(store_expire(s, now, 3 * 3600000LL, 0, 2, err, sizeof(err)), 2, "%s", err);
    cr_expect_eq(store_expire(s, now, 3 * 3600000LL, 0, 100, err, sizeof(err)), 4, "%s", err);
    cr_expect_eq(store_expire(s, now, 3 * 3600000LL, 0, 100, err, sizeof(err)), 0, "%s", err);
    cr_expect_eq(th_db_int(db, "SELECT count(*) FROM flows"), 4 * 200);
    cr_expect_eq(th_db_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                               "name LIKE 'flows_%'"),
                 4, "tables dropped, not just forgotten");
    cr_expect_eq(th_db_int(db, "SELECT min(received_ms) >= 1795455000000 + 6 * 3600000 "
                               "FROM flows"),
                 1, "the oldest went first");
    /* max-size: 1 byte drops everything but the partition being written */
    static const char in_use[] = "SELECT (SELECT page_count FROM pragma_page_count) - "
                                 "(SELECT freelist_count FROM pragma_freelist_count)";
    int64_t before = th_db_int(db, in_use); /* pages: the drops themselves add to the WAL */
    cr_expect_eq(store_expire(s, now, 0, 1, 100, err, sizeof(err)), 3, "%s", err);
    cr_expect_lt(th_db_int(db, in_use), before);
    cr_expect_eq(th_db_int(db, "SELECT count(*) FROM partitions"), 1);
    /* inserts go on into the current partition after the drops */
    store_begin(s, err, sizeof(err));
    struct flow f = mkflow("10.0.0.3", 5, "192.0.2.9", 443, T0 + 9 * 3600000LL + 500);
    add(s, &f);
    cr_assert_eq(store_commit(s, err, sizeof(err)), 0, "%s", err);
    cr_expect_eq(th_db_int(db, "SELECT count(*) FROM flows"), 201);
    /* a big enough limit drops nothing */
    cr_expect_eq(store_expire(s, now, 0, (int64_t)1 << 40, 100, err, sizeof(err)), 0);
    store_close(s);
    th_rmtree(dir);
    free(dir);
}

/* The WAL holds a copy of every page written since the last checkpoint: max-size counts it
 * with the pages in use, or a full disk could still be "within" max-size. */
Test(perf_store, max_size_counts_the_wal)
{
    char *dir = th_tmpdir(), db[512], err[256];
    snprintf(db, sizeof(db), "%s/s.db", dir);
    struct store *s = open_store(db, 1000000);
    store_hours(s, 3);
    int64_t pages = (th_db_int(db, "PRAGMA page_count") - th_db_int(db, "PRAGMA freelist_count")) *
                    th_db_int(db, "PRAGMA page_size");
    int64_t wal = file_bytes(db, "-wal") + file_bytes(db, "-shm");
    cr_assert_gt(wal, 0, "the commit is in the WAL");
    cr_expect_eq(store_used_bytes(s), pages + wal, "pages in use %lld, WAL and index %lld",
                 (long long)pages, (long long)wal);
    /* within the limit by its pages, over it with its WAL: the oldest partition goes */
    cr_expect_eq(store_expire(s, T0, 0, pages + wal / 2, 1, err, sizeof(err)), 1, "%s", err);
    store_close(s);
    th_rmtree(dir);
    free(dir);
}

/* Pushes batches of 200 flows every 20 ms (10,000 flows a second) for `ms`. */
static void feed_for(struct flow_queue *q, int64_t ms, int *seq)
{
    for (int64_t end = mono_ms() + ms; mono_ms() < end; usleep(20000)) {
        struct flow_batch *b = flowq_get_free(q);
        if (!b)
            continue;
        for (int i = 0; i < 200; i++, (*seq)++)
            b->flows[b->n++] = mkflow("10.0.0.1", *seq % 65536, "192.0.2.9", 443, now_ms());
        flowq_push(q, b);
    }
}

/* A reader inside a transaction keeps its snapshot, so no checkpoint can empty the WAL and it
 * grows by every page written. Once the reader lets go, the writer's policy (storage/wal.c)
 * brings it back under its limit within a few ticks: it never stays at its peak. */
Test(perf_store, the_wal_grows_under_a_reader_only_until_it_lets_go, .timeout = 60)
{
    char *dir = th_tmpdir(), db[512], err[256];
    snprintf(db, sizeof(db), "%s/s.db", dir);
    const int64_t limit = 1 << 20;
    struct store_options o = {.wal_limit = limit};
    struct store *s = store_open(db, STORE_RW, &o, err, sizeof(err));
    cr_assert(s, "%s", err);
    struct exporter_table t;
    exporters_init(&t, 16, 16);
    struct flow_queue q;
    flowq_init(&q, 64);
    struct writer *w = writer_new(s, &q, &t, 100);
    cr_assert_eq(writer_start(w), 0);
    int seq = 0;
    feed_for(&q, 500, &seq);
    sqlite3 *reader = store_connect(db, STORE_RO, err, sizeof(err));
    cr_assert(reader, "%s", err);
    cr_assert_eq(sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM partitions", NULL, NULL, NULL),
                 SQLITE_OK);
    feed_for(&q, 2500, &seq);
    int64_t held = file_bytes(db, "-wal");
    cr_expect_gt(held, 2 * limit, "the reader kept the WAL growing: %lld bytes", (long long)held);
    cr_assert_eq(sqlite3_exec(reader, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(reader);
    int64_t wal = held;
    for (int64_t end = mono_ms() + 5000; wal > limit && mono_ms() < end;) {
        feed_for(&q, 100, &seq); /* ingest goes on meanwhile */
        wal = file_bytes(db, "-wal");
    }
    cr_expect_leq(wal, limit, "back under %lld bytes once the reader let go (held %lld): %lld",
                  (long long)limit, (long long)held, (long long)wal);
    flowq_close(&q);
    writer_join(w);
    writer_free(w);
    store_close(s);
    cr_expect_eq(th_db_int(db, "SELECT count(*) FROM flows"), seq, "every flow stored");
    flowq_destroy(&q);
    exporters_free(&t);
    th_rmtree(dir);
    free(dir);
}

/* ---- the writer through a full store ---- */

struct unjam {
    struct store *s;
    int ticks;
    int freed_at; /* tick on which the store gets room again */
    int committed, rolled_back;
    bool committed_after_rollback;
};

static void unjam_tick(void *ctx, int64_t now, bool final)
{
    (void)now;
    (void) final;
    struct unjam *u = ctx;
    char err[256];
    if (++u->ticks == u->freed_at)
        store_exec(u->s, "PRAGMA max_page_count = 1000000", err, sizeof(err));
}

static void count_committed(void *ctx)
{
    struct unjam *u = ctx;
    u->committed++;
    if (u->rolled_back)
        u->committed_after_rollback = true;
}

static void count_rolled_back(void *ctx)
{
    struct unjam *u = ctx;
    u->rolled_back++;
}

Test(perf_store, writer_counts_drops_while_the_store_is_full_and_resumes, .timeout = 30)
{
    char *dir = th_tmpdir(), db[512], err[256];
    snprintf(db, sizeof(db), "%s/s.db", dir);
    struct store *s = open_store(db, 1000000);
    /* Room for the schema and a little more: SQLITE_FULL, as on a full disk. */
    int64_t pages = th_db_int(db, "PRAGMA page_count");
    char pragma[64];
    snprintf(pragma, sizeof(pragma), "PRAGMA max_page_count = %lld", (long long)pages + 8);
    cr_assert_eq(store_exec(s, pragma, err, sizeof(err)), 0, "%s", err);
    struct exporter_table t;
    exporters_init(&t, 16, 16);
    struct flow_queue q;
    flowq_init(&q, 64);
    struct writer *w = writer_new(s, &q, &t, 100);
    struct unjam u = {.s = s, .freed_at = 2};
    struct writer_consumer c = {.tick = unjam_tick,
                                .committed = count_committed,
                                .rolled_back = count_rolled_back,
                                .ctx = &u};
    cr_assert_eq(writer_add_consumer(w, &c), 0);
    cr_assert_eq(writer_start(w), 0);
    uint64_t pushed = 0;
    int64_t end = mono_ms() + 4000;
    for (int seq = 0; mono_ms() < end; seq++) {
        struct flow_batch *b = flowq_get_free(&q);
        if (b) {
            for (int i = 0; i < 200; i++)
                b->flows[b->n++] =
                    mkflow("10.0.0.1", (seq * 200 + i) % 65536, "192.0.2.9", 443, now_ms());
            pushed += b->n;
            flowq_push(&q, b);
        }
        usleep(20000);
    }
    flowq_close(&q);
    writer_join(w);
    struct writer_stats ws;
    writer_get_stats(w, &ws);
    writer_free(w);
    uint64_t stored = ws.rows_stored, failed = ws.rows_failed;
    cr_expect_gt(u.rolled_back, 0, "the consumer is told its transaction was rolled back");
    cr_expect(u.committed_after_rollback, "and told of the commits once there is room");
    cr_expect_gt(failed, 0, "flows dropped while full");
    cr_expect_gt(stored, 0, "flows stored once there is room again");
    cr_expect_eq(stored + failed, pushed, "every flow is stored or counted");
    struct fh_addr ea;
    addr_from_str("192.0.2.1", &ea);
    struct exporter *e = exporters_get(&t, &ea, now_ms());
    struct exporter_domain *d = exporter_domain_get(&t, e, 0, 5);
    cr_expect_eq(d->dropped_store, failed, "counted per exporter domain");
    store_close(s);
    cr_expect_eq(th_db_int(db, "SELECT count(*) FROM flows"), (int64_t)stored);
    cr_expect_eq(th_db_int(db, "SELECT dropped_store FROM exporter_domains"), (int64_t)failed);
    flowq_destroy(&q);
    exporters_free(&t);
    th_rmtree(dir);
    free(dir);
}

/* The last resort's test: at the final tick the store refuses every write (read-only from
 * then on), so not even the counters alone can be saved. */
static void refuse_writes_at_the_end(void *ctx, int64_t now, bool final)
{
    (void)now;
    char err[256];
    if (final)
        store_exec(ctx, "PRAGMA query_only = 1", err, sizeof(err));
}

/* A store that fills up and stays full to the end, as a full disk would; flows go on to the
 * end, so at shutdown the last batch has just failed (or been dropped while failing). */
static void run_until_full_at_shutdown(const char *db, bool refuse_at_end, struct writer_stats *ws,
                                       struct exporter_table *t)
{
    char err[256], pragma[64];
    struct store *s = open_store(db, 1000000);
    snprintf(pragma, sizeof(pragma), "PRAGMA max_page_count = %lld",
             (long long)th_db_int(db, "PRAGMA page_count") + 8);
    cr_assert_eq(store_exec(s, pragma, err, sizeof(err)), 0, "%s", err);
    struct flow_queue q;
    flowq_init(&q, 64);
    struct writer *w = writer_new(s, &q, t, 100);
    struct writer_consumer c = {.tick = refuse_writes_at_the_end, .ctx = s};
    if (refuse_at_end)
        cr_assert_eq(writer_add_consumer(w, &c), 0);
    cr_assert_eq(writer_start(w), 0);
    int seq = 0;
    feed_for(&q, 1500, &seq);
    cr_expect_eq(file_bytes(db, "-reserve"), STORE_RESERVE_BYTES, "room kept for the end");
    flowq_close(&q);
    writer_join(w);
    writer_get_stats(w, ws);
    writer_free(w);
    store_close(s);
    flowq_destroy(&q);
    cr_assert_gt(ws->rows_failed, 0, "the store was full");
    cr_expect_eq(ws->rows_stored + ws->rows_failed, (uint64_t)seq, "every flow stored or counted");
}

Test(perf_store, the_loss_counters_reach_a_store_full_at_shutdown, .timeout = 30)
{
    char *dir = th_tmpdir(), db[512];
    snprintf(db, sizeof(db), "%s/s.db", dir);
    struct exporter_table t;
    exporters_init(&t, 16, 16);
    struct writer_stats ws;
    run_until_full_at_shutdown(db, false, &ws, &t);
    cr_expect_eq(th_db_int(db, "SELECT dropped_store FROM exporter_domains"),
                 (int64_t)ws.rows_failed, "the final count is in the store");
    cr_expect_eq(th_db_int(db, "SELECT count(*) FROM flows"), (int64_t)ws.rows_stored);
    exporters_free(&t);
    th_rmtree(dir);
    free(dir);
}

/* Reads what the test wrote to stderr (redirected) so far. */
static char *redirected_stderr(void)
{
    fflush(stderr);
    FILE *f = cr_get_redirected_stderr();
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    cr_assert(buf);
    n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    return buf;
}

Test(perf_store, the_loss_counters_are_logged_when_not_even_they_can_be_stored, .timeout = 30,
     .init = cr_redirect_stderr)
{
    char *dir = th_tmpdir(), db[512], want[256];
    snprintf(db, sizeof(db), "%s/s.db", dir);
    struct exporter_table t;
    exporters_init(&t, 16, 16);
    struct writer_stats ws;
    run_until_full_at_shutdown(db, true, &ws, &t);
    cr_expect_eq(file_bytes(db, "-reserve"), 0, "the reserve was given back to try");
    char *log = redirected_stderr();
    snprintf(want, sizeof(want),
             "exporter 192.0.2.1 domain 0 v5: flows 0, seq_lost 0, "
             "dropped_queue 0, dropped_store %llu,",
             (unsigned long long)ws.rows_failed);
    cr_expect(strstr(log, "the exporter counters cannot be saved"), "%s", log);
    cr_expect(strstr(log, want), "the log has the final count: %s", log);
    free(log);
    exporters_free(&t);
    th_rmtree(dir);
    free(dir);
}

Test(perf_store, addresses_are_stored_as_inet_ntop_writes_them)
{
    char *dir = th_tmpdir(), db[512], err[256];
    snprintf(db, sizeof(db), "%s/s.db", dir);
    struct store *s = open_store(db, 1000);
    const char *addrs[] = {"0.0.0.0",         "1.2.3.4",     "10.0.0.1",    "99.100.109.110",
                           "255.255.255.255", "192.168.0.5", "2001:db8::1", "::ffff:10.0.0.1"};
    store_begin(s, err, sizeof(err));
    for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
        struct flow f = mkflow(addrs[i], 1, "10.0.0.9", 2, T0 + (int64_t)i);
        add(s, &f);
    }
    store_commit(s, err, sizeof(err));
    store_close(s);
    for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
        char q[256];
        snprintf(q, sizeof(q), "SELECT count(*) FROM flows WHERE src_addr = '%s'", addrs[i]);
        cr_expect_eq(th_db_int(db, q), 1, "%s", addrs[i]);
    }
    th_rmtree(dir);
    free(dir);
}

Test(perf_store, writer_applies_retention_one_partition_per_tick, .timeout = 30)
{
    char *dir = th_tmpdir(), db[512], err[256];
    snprintf(db, sizeof(db), "%s/s.db", dir);
    struct store *s = open_store(db, 1000000);
    store_begin(s, err, sizeof(err));
    int64_t now = now_ms();
    for (int h = 0; h < 2; h++) { /* two old hours, and flows received now */
        struct flow f = mkflow("10.0.0.1", 1000 + h, "192.0.2.9", 443, T0 + h * 3600000LL);
        add(s, &f);
    }
    struct flow fresh = mkflow("10.0.0.1", 2000, "192.0.2.9", 443, now);
    add(s, &fresh);
    cr_assert_eq(store_commit(s, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(th_db_int(db, "SELECT count(*) FROM partitions"), 3);
    struct exporter_table t;
    exporters_init(&t, 16, 16);
    struct flow_queue q;
    flowq_init(&q, 4);
    struct writer *w = writer_new(s, &q, &t, 100);
    writer_set_retention(w, 24 * 3600000LL, 0);
    cr_assert_eq(writer_start(w), 0);
    int64_t got = 3;
    for (int64_t end = mono_ms() + 8000; got > 1 && mono_ms() < end; usleep(100000))
        got = th_db_int(db, "SELECT count(*) FROM partitions");
    flowq_close(&q);
    writer_join(w);
    struct writer_stats ws;
    writer_get_stats(w, &ws);
    writer_free(w);
    cr_expect_eq(got, 1, "the two old partitions dropped, the current one kept");
    cr_expect_eq(ws.partitions_dropped, 2);
    cr_expect_eq(th_db_int(db, "SELECT count(*) FROM flows"), 1);
    store_close(s);
    flowq_destroy(&q);
    exporters_free(&t);
    th_rmtree(dir);
    free(dir);
}

Test(perf_store, registering_a_consumer_past_the_limit_is_an_error)
{
    char *dir = th_tmpdir(), db[512];
    snprintf(db, sizeof(db), "%s/s.db", dir);
    struct store *s = open_store(db, 1000);
    struct exporter_table t;
    exporters_init(&t, 16, 16);
    struct flow_queue q;
    flowq_init(&q, 4);
    struct writer *w = writer_new(s, &q, &t, 100);
    struct unjam u = {.s = s};
    struct writer_consumer c = {.committed = count_committed, .ctx = &u};
    for (int i = 0; i < WRITER_MAX_CONSUMERS; i++)
        cr_expect_eq(writer_add_consumer(w, &c), 0, "consumer %d", i);
    cr_expect_eq(writer_add_consumer(w, &c), -1, "one more is refused, not ignored");
    flowq_close(&q);
    writer_run(w);
    writer_free(w);
    cr_expect_eq(u.committed, WRITER_MAX_CONSUMERS, "each registered consumer told of the commit");
    store_close(s);
    flowq_destroy(&q);
    exporters_free(&t);
    th_rmtree(dir);
    free(dir);
}
