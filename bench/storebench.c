/* storebench.c - the store alone: insert rate as the store grows, and the three query times
 * of issue 8 on a generated store. Flows are generated here (no network), inserted through
 * the store API exactly as the daemon's writer does (big transactions, row-capped
 * partitions, index at close).
 *
 *   storebench insert DB ROWS [--partition-rows N] [--index-at-insert] [--hours H]
 *                             [--every N] [--txn N] [--total N] [--pragma SQL]
 *   storebench query DB [--runs N] [--threads N]
 *
 * insert prints one line per --every rows (rows/s of that slice, index builds included) and
 * appends to an existing store (received times go on from its newest flow). query times
 * (a) one client address + port over the last 24 h (the story's hunt, store_client_port_sql),
 * (b) dst port 515 and SYN over the last hour, (c) top-10 dst ports by bytes over the last
 * hour, (d) issue 7's `dst port 515 and flags S and not flags A` over the last 24 h, every
 * row, (e) its first page of 100 as the web API asks for it, (f) the first page of the whole
 * store without a filter; it prints the median of --runs runs of each. (b) to (f) go
 * through the query layer (query/query.h) exactly as `flowhound query` and the web API
 * do, with its default threads (--threads to change).
 *
 * DB may be a ClickHouse store URL (clickhouse://HOST:PORT/DATABASE): insert then sends the
 * flows through the collector's own sender (storage/ch_sink.h) in blocks of --txn rows, as the
 * writer commits them, and reports the rate at which ClickHouse took them (the server's CPU,
 * on the same machine, is not in the CPU column); query runs the same six through the query
 * layer, (a) as query_hunt. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/addr.h"
#include "common/args.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "collector/exporters.h"
#include "query/query.h"
#include "storage/ch_sink.h"
#include "storage/store.h"
#include "storage/store_url.h"
#include "query/filter.h"

#define T0         1795392000000LL /* 2026-11-23 00:00 UTC: received time of flow 0 */
#define HUNT_EVERY 50000           /* the hunted client talks once every this many flows */

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb93fe51a87bdULL;
    x ^= x >> 33;
    return x;
}

static void v4(struct fh_addr *a, uint32_t ip)
{
    uint8_t b[4] = {(uint8_t)(ip >> 24), (uint8_t)(ip >> 16), (uint8_t)(ip >> 8), (uint8_t)ip};
    addr_from_v4(a, b);
}

static const uint16_t service_ports[] = {443, 443, 443, 443, 443, 443,  443,  80,  80,  80,
                                         53,  53,  22,  515, 25,  3306, 8080, 123, 514, 443};

/* Flow number i, received at `recv`: a client of 10.0.0.0/16 to a server of 192.168.0.0/20
 * (the mix of ../shared/tools/flowgen, roughly); every HUNT_EVERY flows the story's client
 * 10.99.0.1:722 to 192.168.0.5:515, answered by the server half that often. */
static void make_flow(uint64_t i, int64_t recv, struct flow *f)
{
    uint64_t r = mix(i + 1);
    memset(f, 0, sizeof(*f));
    v4(&f->exporter, 0x7f000001);
    f->version = 5;
    f->received_ms = recv;
    f->first_ms = recv - 30000 - (int64_t)(r % 120000);
    f->last_ms = recv - (int64_t)((r >> 20) % 30000);
    f->packets = 1 + (r >> 8) % 64;
    f->bytes = f->packets * (40 + (r >> 14) % 1400);
    f->proto = (r >> 24) % 100 < 85 ? 6 : 17;
    uint8_t flags[] = {0x1b, 0x1b, 0x1b, 0x1b, 0x1b, 0x1b, 0x1b, 0x1a, 0x02, 0x14, 0x10};
    f->tcp_flags = f->proto == 6 ? flags[(r >> 30) % 11] : 0;
    f->present = FF_TCP_FLAGS | FF_IF | FF_NEXT_HOP | FF_AS | FF_MASK | FF_TOS;
    f->in_if = 1 + (r >> 34) % 8;
    f->out_if = 9 + (r >> 37) % 8;
    v4(&f->next_hop, 0x0aff0001 + (uint32_t)((r >> 40) % 4));
    f->src_as = 64512;
    f->dst_as = 13335;
    f->src_mask = 16;
    f->dst_mask = 20;
    v4(&f->src_addr, 0x0a000000 | (uint32_t)(mix(i ^ 0x5555) & 0xffff));
    f->src_port = (uint16_t)(1024 + (r >> 42) % 64000);
    v4(&f->dst_addr, 0xc0a80000 | (uint32_t)((r >> 12) % 4096));
    int s = (int)((r >> 50) % 25);
    f->dst_port = s < 20 ? service_ports[s] : (uint16_t)(1024 + (r >> 3) % 64000);
    if (i % HUNT_EVERY == 7) {
        v4(&f->src_addr, 0x0a630001);
        f->src_port = 722;
        v4(&f->dst_addr, 0xc0a80005);
        f->dst_port = 515;
        f->proto = 6;
        f->tcp_flags = 0x02;
    } else if (i % (2 * HUNT_EVERY) == 9) {
        v4(&f->src_addr, 0xc0a80005);
        f->src_port = 515;
        v4(&f->dst_addr, 0x0a630001);
        f->dst_port = 722;
        f->proto = 6;
        f->tcp_flags = 0x12;
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t db_int(struct store *s, const char *sql)
{
    sqlite3_stmt *st;
    int64_t v = 0;
    if (sqlite3_prepare_v2(store_sqlite(s), sql, -1, &st, NULL) != SQLITE_OK)
        return 0;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* The options of both subcommands; each is kept as text in val[id] and read where it is used. */
enum {
    B_PARTITION_ROWS,
    B_INDEX_AT_INSERT,
    B_HOURS,
    B_EVERY,
    B_TXN,
    B_TOTAL,
    B_PRAGMA,
    B_RUNS,
    B_THREADS,
    B_HELP,
    B_COUNT
};

static const struct arg_opt insert_opts[] = {
    {"partition-rows", 0, ARG_VALUE, B_PARTITION_ROWS, "N",
     "rows of one partition at most (0: the store's)", "0"},
    {"index-at-insert", 0, ARG_FLAG, B_INDEX_AT_INSERT, NULL,
     "index rows as they are inserted, not at close", NULL},
    {"hours", 0, ARG_VALUE, B_HOURS, "H", "receive time the whole store spans", "48"},
    {"every", 0, ARG_VALUE, B_EVERY, "N", "print a line every N rows", "1000000"},
    {"txn", 0, ARG_VALUE, B_TXN, "N", "rows of one transaction", "100000"},
    {"total", 0, ARG_VALUE, B_TOTAL, "N", "rows of the whole store (0: what it has + ROWS)", "0"},
    {"pragma", 0, ARG_VALUE, B_PRAGMA, "SQL", "run this statement first", NULL},
    {"help", 'h', ARG_FLAG, B_HELP, NULL, "this help", NULL},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
};

static const struct arg_opt query_opts[] = {
    {"runs", 0, ARG_VALUE, B_RUNS, "N", "runs of each query, the median printed (1..100)", "5"},
    {"threads", 0, ARG_VALUE, B_THREADS, "N", "query threads (default: the query layer's)", NULL},
    {"help", 'h', ARG_FLAG, B_HELP, NULL, "this help", NULL},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
};

static void usage(FILE *f)
{
    fprintf(f, "Usage: storebench insert DB ROWS [OPTIONS]\n");
    args_help(insert_opts, f);
    fprintf(f, "   or: storebench query DB [OPTIONS]\n");
    args_help(query_opts, f);
}

static bool is_clickhouse(const char *db)
{
    return !strncmp(db, "clickhouse", 10);
}

/* Flows already in a store (either kind), through the query layer. */
static int64_t stored_flows(const char *db, int64_t *end)
{
    char err[512];
    struct query *q = query_open(db, err, sizeof(err));
    struct query_summary s = {0};
    if (q)
        query_summary(q, &s, err, sizeof(err));
    query_close(q);
    if (end)
        *end = s.last_ms;
    return s.flows;
}

static void print_slice(uint64_t done, uint64_t every, double *t, double *c, double t_all)
{
    double t2 = now_s(), c2 = cpu_s();
    printf("%12llu %10.0f %10.2f %8.1f\n", (unsigned long long)done, (double)every / (t2 - *t),
           (c2 - *c) * 1e6 / (double)every, t2 - t_all);
    fflush(stdout);
    *t = t2;
    *c = c2;
}

/* Insert into ClickHouse as flowhoundd does: blocks of a transaction's rows through the sender
 * thread, which inserts them while the next are encoded. */
static int insert_clickhouse(const char *db, uint64_t rows, const char *const *val)
{
    char err[512], warn[512];
    struct ch_sink_options o = {.instance = "storebench", .buffer_bytes = (int64_t)1 << 30,
                                .stop_wait_ms = 600000};
    if (store_url_parse(db, &o.url, err, sizeof(err))) {
        fprintf(stderr, "storebench: %s\n", err);
        return 1;
    }
    struct exporter_table et;
    exporters_init(&et, 64, 8);
    struct ch_sink *s = ch_sink_start(&o, &et, warn, sizeof(warn), err, sizeof(err));
    if (!s || warn[0]) {
        fprintf(stderr, "storebench: %s%s\n", err, warn);
        return 1;
    }
    uint64_t have = (uint64_t)stored_flows(db, NULL), txn = strtoull(val[B_TXN], NULL, 10);
    uint64_t every = strtoull(val[B_EVERY], NULL, 10), total = strtoull(val[B_TOTAL], NULL, 10);
    double step_ms = atof(val[B_HOURS]) * 3600000.0 / (double)(total ? total : have + rows);
    struct flow_sink fs = ch_sink_flow_sink(s);
    printf("# insert %llu rows into %s (already %llu), blocks of %llu\n", (unsigned long long)rows,
           db, (unsigned long long)have, (unsigned long long)txn);
    printf("%12s %10s %10s %8s\n", "inserted", "rows/s", "cpu_us/row", "secs");
    double t_all = now_s(), t = t_all, c = cpu_s(), c_all = c;
    uint64_t next_print = every;
    struct flow f;
    for (uint64_t i = have; i < have + rows; i++) {
        make_flow(i, T0 + (int64_t)((double)i * step_ms), &f);
        fs.add(fs.ctx, &f, err, sizeof(err));
        if ((i - have + 1) % txn == 0 || i + 1 == have + rows)
            fs.committed(fs.ctx);
        /* the sender's pace, not the encoder's: wait while 4 blocks are queued */
        struct ch_sink_stats st;
        for (ch_sink_get_stats(s, &st); st.rows_queued > 4 * txn; ch_sink_get_stats(s, &st)) {
            struct timespec ts = {0, 2000000};
            nanosleep(&ts, NULL);
        }
        for (; st.rows_inserted >= next_print; next_print += every)
            print_slice(have + next_print, every, &t, &c, t_all);
    }
    fs.finish(fs.ctx);
    struct ch_sink_stats st;
    ch_sink_get_stats(s, &st);
    double el = now_s() - t_all;
    printf("# total %llu rows in %.1f s: %.0f rows/s, %.2f CPU s per 1M rows (flowhound's "
           "side), %llu dropped\n",
           (unsigned long long)st.rows_inserted, el, (double)st.rows_inserted / el,
           (cpu_s() - c_all) * 1e6 / (double)rows, (unsigned long long)st.rows_dropped);
    ch_sink_free(s);
    exporters_free(&et);
    return st.rows_inserted == rows ? 0 : 1;
}

static int do_insert(const char *db, const char *rows_text, const char *const *val)
{
    if (is_clickhouse(db))
        return insert_clickhouse(db, strtoull(rows_text, NULL, 10), val);
    char err[512];
    uint64_t rows = strtoull(rows_text, NULL, 10);
    struct store_options o = {
        .partition_rows = atoll(val[B_PARTITION_ROWS]),
        .index_at_insert = val[B_INDEX_AT_INSERT] != NULL,
    };
    double hours = atof(val[B_HOURS]);
    uint64_t every = strtoull(val[B_EVERY], NULL, 10);
    uint64_t txn = strtoull(val[B_TXN], NULL, 10);
    uint64_t total = strtoull(val[B_TOTAL], NULL, 10);
    struct store *s = store_open(db, STORE_RW, &o, err, sizeof(err));
    if (!s) {
        fprintf(stderr, "storebench: %s\n", err);
        return 1;
    }
    const char *pragma = val[B_PRAGMA];
    if (pragma && store_exec(s, pragma, err, sizeof(err))) {
        fprintf(stderr, "storebench: %s: %s\n", pragma, err);
        return 1;
    }
    uint64_t have = (uint64_t)db_int(s, "SELECT COALESCE(sum(rows), 0) FROM partitions");
    if (!total)
        total = have + rows;
    /* received times spread evenly: `total` flows over `hours` */
    double step_ms = hours * 3600000.0 / (double)total;
    printf("# insert %llu rows into %s (already %llu); partition-rows %lld, index %s\n",
           (unsigned long long)rows, db, (unsigned long long)have,
           (long long)(o.partition_rows ? o.partition_rows : STORE_PARTITION_ROWS),
           o.index_at_insert ? "at insert" : "at partition close");
    printf("%12s %10s %10s %8s\n", "stored", "rows/s", "cpu_us/row", "secs");
    double t_all = now_s(), t = t_all, c = cpu_s(), c_all = c;
    struct flow f;
    for (uint64_t i = have; i < have + rows; i++) {
        if ((i - have) % txn == 0 && store_begin(s, err, sizeof(err))) {
            fprintf(stderr, "storebench: %s\n", err);
            return 1;
        }
        make_flow(i, T0 + (int64_t)((double)i * step_ms), &f);
        if (store_add_flow(s, &f, err, sizeof(err))) {
            fprintf(stderr, "storebench: %s\n", err);
            return 1;
        }
        if ((i - have + 1) % txn == 0 && store_commit(s, err, sizeof(err))) {
            fprintf(stderr, "storebench: %s\n", err);
            return 1;
        }
        if ((i - have + 1) % every == 0) {
            double t2 = now_s(), c2 = cpu_s();
            printf("%12llu %10.0f %10.2f %8.1f\n", (unsigned long long)(i + 1),
                   (double)every / (t2 - t), (c2 - c) * 1e6 / (double)every, t2 - t_all);
            fflush(stdout);
            t = t2;
            c = c2;
        }
    }
    if (store_commit(s, err, sizeof(err))) {
        fprintf(stderr, "storebench: %s\n", err);
        return 1;
    }
    double el = now_s() - t_all;
    printf("# total %llu rows in %.1f s: %.0f rows/s, %.2f CPU s per 1M rows\n",
           (unsigned long long)rows, el, (double)rows / el, (cpu_s() - c_all) * 1e6 / (double)rows);
    store_close(s);
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Runs sql (with the hunt bindings when hunt) and returns seconds; *rows = rows returned. */
static double timed(struct store *s, const char *sql, bool hunt, int64_t from, int64_t to,
                    int64_t *rows)
{
    double t = now_s();
    sqlite3_stmt *st;
    *rows = -1;
    if (sqlite3_prepare_v2(store_sqlite(s), sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "storebench: %s\n", sqlite3_errmsg(store_sqlite(s)));
        return -1;
    }
    if (getenv("STOREBENCH_VERBOSE"))
        fprintf(stderr, "prepare %.1f ms (%zu bytes of SQL)\n", (now_s() - t) * 1000, strlen(sql));
    if (hunt) {
        struct fh_addr a;
        addr_from_str("10.99.0.1", &a);
        store_bind_hunt(st, &a, 722, from, to);
    } else {
        sqlite3_bind_int64(st, 1, from);
        sqlite3_bind_int64(st, 2, to);
    }
    *rows = 0;
    while (sqlite3_step(st) == SQLITE_ROW)
        (*rows)++;
    sqlite3_finalize(st);
    return now_s() - t;
}

static int count_row(void *ctx, sqlite3_stmt *row)
{
    (void)row;
    (*(int64_t *)ctx)++;
    return 0;
}

/* Query (i) of the list below through the query layer (query/query.h), as `flowhound
 * query` and the web API run it; returns seconds (filter compiled inside), -1 on error. */
static double timed_layer(struct query *qy, int i, int64_t from, int64_t to, int64_t *rows)
{
    static const char *const filters[] = {NULL,
                                          "dst port 515 and flags S",
                                          NULL,
                                          "dst port 515 and flags S and not flags A",
                                          "dst port 515 and flags S and not flags A",
                                          NULL};
    char err[512];
    double t = now_s();
    struct filter *f = filters[i] ? filter_compile(filters[i], err, sizeof(err), NULL) : NULL;
    int rc;
    *rows = 0;
    if (i == 2) {
        struct query_top req = {
            .from_ms = from, .to_ms = to, .stat = QS_DSTPORT, .order = QO_BYTES, .limit = 10};
        rc = query_top(qy, &req, count_row, rows, err, sizeof(err));
    } else {
        struct query_flows req = {.filter = f, .from_ms = from, .to_ms = to};
        if (i >= 4)
            req.limit = 100; /* the web API's first page: first_ms ascending */
        rc = query_flows(qy, &req, count_row, rows, err, sizeof(err));
    }
    filter_free(f);
    if (rc) {
        fprintf(stderr, "storebench: %s\n", err);
        return -1;
    }
    return now_s() - t;
}

struct hunt_count {
    int64_t rows;
};

static int count_flow(void *ctx, const struct flow *f)
{
    (void)f;
    ((struct hunt_count *)ctx)->rows++;
    return 0;
}

/* (a) through the query layer (the ClickHouse store has no SQL of its own for it). */
static double timed_hunt(struct query *qy, int64_t from, int64_t to, int64_t *rows)
{
    char err[512];
    struct query_hunt h = {.port = 722, .from_ms = from, .to_ms = to, .proto = -1};
    addr_from_str("10.99.0.1", &h.addr);
    struct hunt_count n = {0};
    double t = now_s();
    if (query_hunt(qy, &h, count_flow, &n, err, sizeof(err))) {
        fprintf(stderr, "storebench: %s\n", err);
        return -1;
    }
    *rows = n.rows;
    return now_s() - t;
}

static int do_query(const char *db, const char *const *val)
{
    char err[512];
    int runs = atoi(val[B_RUNS]);
    if (runs < 1 || runs > 100)
        runs = 5;
    bool ch = is_clickhouse(db);
    struct store *s = ch ? NULL : store_open(db, STORE_RO, NULL, err, sizeof(err));
    struct query *qy = s || ch ? query_open(db, err, sizeof(err)) : NULL;
    if (!qy) {
        fprintf(stderr, "storebench: %s\n", err);
        return 1;
    }
    query_set_time_limit(qy, 0);
    if (val[B_THREADS])
        query_set_threads(qy, atoi(val[B_THREADS]));
    int64_t end;
    int64_t flows = stored_flows(db, &end);
    printf("# %s: %lld flows\n", db, (long long)flows);
    const char *names[] = {"(a) client 10.99.0.1:722, both directions, 24 h",
                           "(b) dst port 515 and flags S, 1 h",
                           "(c) top-10 dst ports by bytes, 1 h",
                           "(d) dst port 515, S, not A, 24 h, all rows",
                           "(e) same, first page (100, by first_ms)",
                           "(f) no filter, first page (100), whole store"};
    for (int q = 0; q < 6; q++) {
        int64_t from = end - (q == 0 || q == 3 || q == 4 ? 24 : 1) * 3600000LL, to = end;
        if (q == 5) {
            from = INT64_MIN;
            to = INT64_MAX;
        }
        double t[100], cpu[100];
        int64_t rows = 0;
        for (int r = 0; r < runs; r++) {
            double c0 = cpu_s();
            if (q > 0 || ch) {
                t[r] = q ? timed_layer(qy, q, from, to, &rows) : timed_hunt(qy, from, to, &rows);
                cpu[r] = cpu_s() - c0;
                if (t[r] < 0)
                    return 1;
                continue;
            }
            /* The SQL is built each run: building it (listing partitions) is part of it. */
            double t0 = now_s();
            struct fh_addr ha;
            addr_from_str("10.99.0.1", &ha);
            char *sql = store_client_port_sql(s, &ha, 722, from, to, err, sizeof(err));
            if (!sql) {
                fprintf(stderr, "storebench: %s\n", err);
                return 1;
            }
            double build = now_s() - t0;
            t[r] = timed(s, sql, true, from, to, &rows) + build;
            cpu[r] = cpu_s() - c0;
            free(sql);
        }
        qsort(t, (size_t)runs, sizeof(double), cmp_double);
        qsort(cpu, (size_t)runs, sizeof(double), cmp_double);
        /* CPU: every thread of the process; on a busy machine steadier than the wall clock */
        printf("%-46s %8.1f ms median (min %.1f, max %.1f), CPU %.1f ms, %lld rows\n", names[q],
               t[runs / 2] * 1000, t[0] * 1000, t[runs - 1] * 1000, cpu[runs / 2] * 1000,
               (long long)rows);
    }
    query_close(qy);
    store_close(s);
    return 0;
}

/* A subcommand's command line: its options into val (defaults from its table), its words
 * into words. Returns -1 to go on, 0 after --help, 2 after a usage error. */
static int parse(const char *prog, const struct arg_opt *opts, int nwords, int argc, char **argv,
                 const char **words, const char **val)
{
    for (const struct arg_opt *o = opts; o->name; o++)
        val[o->id] = o->def;
    struct args a;
    args_init(&a, prog, opts, argc, argv);
    a.max_words = nwords;
    int id, n = 0;
    while ((id = args_next(&a)) != ARGS_END) {
        if (id == ARGS_ERROR)
            return 2;
        if (id == B_HELP) {
            usage(stdout);
            return 0;
        }
        if (id == ARGS_WORD)
            words[n++] = a.value;
        else
            val[id] = a.value ? a.value : "yes"; /* a flag: given */
    }
    if (n == nwords)
        return -1;
    args_usage_error(&a, "expected %s", nwords == 2 ? "DB ROWS" : "DB");
    return 2;
}

int main(int argc, char **argv)
{
    const char *words[2], *val[B_COUNT];
    bool insert = argc > 1 && strcmp(argv[1], "insert") == 0;
    if (!insert && !(argc > 1 && strcmp(argv[1], "query") == 0)) {
        usage(stderr);
        return 2;
    }
    int rc = insert ? parse("storebench insert", insert_opts, 2, argc - 1, argv + 1, words, val)
                    : parse("storebench query", query_opts, 1, argc - 1, argv + 1, words, val);
    if (rc >= 0)
        return rc;
    return insert ? do_insert(words[0], words[1], val) : do_query(words[0], val);
}
