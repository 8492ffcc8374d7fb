/* analyze.c - `flowhound analyze`: the daemon's analyzer over stored flows.
 *
 * Flows are read in the order flowhoundd received them (partition by partition, rowid
 * order), so the analyzer makes the same decisions as it did live: its only receive-time
 * rule (the hold before an alert opens) is measured on the stored received_ms. --from/--to
 * select flows by flow time. Alerts are written to --out (a new flowhound store; default:
 * memory only) and printed, one JSON object per alert; with --out the rebuilt connections are
 * written there too (the `connections` table: an offline export for SQL, which the daemon
 * no longer writes by default). The input store is only read. */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/analyzer.h"
#include "cli/commands.h"
#include "common/addr.h"
#include "common/args.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "query/query.h"
#include "storage/store.h"
#include "storage/store_url.h"

#define CHUNK 512

enum {
    OPT_DB = 1,
    OPT_FROM,
    OPT_TO,
    OPT_OUT,
    OPT_STALE,
    OPT_QUIET,
    OPT_HOLD,
    OPT_CONNS,
    OPT_SKEW,
    OPT_INNER
};

/* --help without -h: analyze never took one, and none of its options has a letter. */
static const struct arg_opt options[] = {
    {"db", 0, ARG_VALUE, OPT_DB, "PATH", "the store to analyze (only read)", NULL},
    {"store", 0, ARG_VALUE, OPT_DB, "URL",
     "the same as flowhoundd's store: sqlite:PATH or\nclickhouse://HOST:8123/DATABASE", NULL},
    {"from", 0, ARG_VALUE, OPT_FROM, "T", "flows ending at or after T (Unix ms or RFC 3339)", NULL},
    {"to", 0, ARG_VALUE, OPT_TO, "T", "flows starting at or before T", NULL},
    {"out", 0, ARG_VALUE, OPT_OUT, "PATH",
     "write alerts and rebuilt connections to this\nstore [memory only]", NULL},
    {"stale-window", 0, ARG_VALUE, OPT_STALE, "D", "as flowhoundd's stale-window", NULL},
    {"alert-quiet", 0, ARG_VALUE, OPT_QUIET, "D", "as flowhoundd's alert-quiet", NULL},
    {"alert-hold", 0, ARG_VALUE, OPT_HOLD, "D", "as flowhoundd's alert-hold", NULL},
    {"max-conns", 0, ARG_VALUE, OPT_CONNS, "N", "as flowhoundd's analyzer-max-conns", NULL},
    {"clock-skew", 0, ARG_VALUE, OPT_SKEW, "D",
     "as flowhoundd's clock-skew: flows ending this long\nafter their receipt are not analysed",
     NULL},
    {"vantage-inner", 0, ARG_VALUE, OPT_INNER, "ADDR[/DOMAIN]|*/DOMAIN",
     "as flowhoundd's vantage-inner (repeatable)", NULL},
    {"help", 0, ARG_FLAG, 'h', NULL, "this help", NULL},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
};

static void usage(FILE *f)
{
    fprintf(f, "Usage: flowhound analyze --db PATH|--store URL [--from T] [--to T] [--out PATH]\n"
               "         [--stale-window D] [--alert-quiet D] [--alert-hold D]\n"
               "         [--max-conns N] [--clock-skew D]\n"
               "         [--vantage-inner ADDR[/DOMAIN]|*/DOMAIN]...\n"
               "Rebuilds connections and raises stale-state alerts over stored flows, as\n"
               "flowhoundd does live. Prints one JSON object per alert.\n\n");
    args_help(options, f);
}

/* As the writer does live: each chunk and what the analyzer writes for it in one transaction
 * of the output store, whose fate the analyzer is told. */
static void consume_chunk(struct store *out, struct analyzer *a, const struct flow *f, size_t n,
                          bool final, int64_t last_recv)
{
    char err[256];
    if (store_begin(out, err, sizeof(err)))
        fprintf(stderr, "flowhound analyze: %s\n", err);
    if (final)
        analyzer_tick(a, last_recv, true);
    else
        analyzer_consume(a, f, n);
    if (store_commit(out, err, sizeof(err)) == 0) {
        analyzer_committed(a);
    } else {
        fprintf(stderr, "flowhound analyze: %s\n", err);
        analyzer_rolled_back(a);
    }
}

static const char flow_sql[] = "SELECT %s FROM \"%w\" WHERE proto = 6 AND last_ms >= %lld AND "
                               "first_ms <= %lld ORDER BY rowid";

/* Feeds one partition's flows; returns the number fed or -1. Its statement is its own read
 * transaction: a snapshot held for one partition, not for the whole store (flowhoundd's WAL
 * cannot be emptied while one is held: storage/wal.c). */
static long long feed_partition(sqlite3 *db, const char *name, int64_t from, int64_t to,
                                struct store *out, struct analyzer *a, int64_t *last_recv)
{
    char *sql =
        sqlite3_mprintf(flow_sql, store_flow_read_columns, name, (long long)from, (long long)to);
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    sqlite3_free(sql);
    if (rc != SQLITE_OK) {
        fprintf(stderr, "flowhound analyze: %s: %s\n", name, sqlite3_errmsg(db));
        return -1;
    }
    static struct flow chunk[CHUNK];
    size_t n = 0;
    long long total = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        store_row_to_flow(st, &chunk[n]);
        if (chunk[n].received_ms > *last_recv)
            *last_recv = chunk[n].received_ms;
        if (++n == CHUNK) {
            consume_chunk(out, a, chunk, n, false, 0);
            total += (long long)n;
            n = 0;
        }
    }
    if (n)
        consume_chunk(out, a, chunk, n, false, 0);
    total += (long long)n;
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? total : -1;
}

/* The partitions' names, oldest first, read and let go before any is fed. */
static char **partition_names(sqlite3 *db, size_t *n)
{
    sqlite3_stmt *st;
    char **names = NULL;
    size_t cap = 0;
    *n = 0;
    if (sqlite3_prepare_v2(db, "SELECT name FROM partitions ORDER BY span_start, rowid", -1, &st,
                           NULL) != SQLITE_OK)
        return NULL;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            names = xreallocarray(names, cap, sizeof(*names));
        }
        names[(*n)++] = xstrdup((const char *)sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    return names;
}

/* Was the partition dropped (by flowhoundd's retention) since its name was read? */
static bool partition_gone(sqlite3 *db, const char *name)
{
    sqlite3_stmt *st;
    bool gone = false;
    if (sqlite3_prepare_v2(db, "SELECT count(*) = 0 FROM sqlite_master WHERE name = ?1", -1, &st,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        gone = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    return gone;
}

static long long feed_all(struct store *in, int64_t from, int64_t to, struct store *out,
                          struct analyzer *a)
{
    sqlite3 *db = store_sqlite(in);
    size_t n;
    char **names = partition_names(db, &n);
    long long total = 0;
    int64_t last_recv = 0;
    for (size_t i = 0; i < n && total >= 0; i++) {
        long long fed = feed_partition(db, names[i], from, to, out, a, &last_recv);
        if (fed < 0 && partition_gone(db, names[i]))
            fprintf(stderr, "flowhound analyze: %s was dropped by retention meanwhile: skipped\n",
                    names[i]);
        else
            total = fed < 0 ? -1 : total + fed;
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    consume_chunk(out, a, NULL, 0, true, last_recv);
    return total;
}

/* A ClickHouse store's flows come through the query layer in receive order (query_replay),
 * a chunk at a time. */
struct feeding {
    struct store *out;
    struct analyzer *a;
    struct flow chunk[CHUNK];
    size_t n;
    long long total;
    int64_t last_recv;
};

static int feed_flow(void *ctx, const struct flow *f)
{
    struct feeding *fd = ctx;
    fd->chunk[fd->n] = *f;
    if (f->received_ms > fd->last_recv)
        fd->last_recv = f->received_ms;
    if (++fd->n == CHUNK) {
        consume_chunk(fd->out, fd->a, fd->chunk, fd->n, false, 0);
        fd->total += (long long)fd->n;
        fd->n = 0;
    }
    return 0;
}

static long long feed_clickhouse(struct query *in, int64_t from, int64_t to, struct store *out,
                                 struct analyzer *a)
{
    char err[512];
    static struct feeding fd;
    fd = (struct feeding){.out = out, .a = a};
    int rc = query_replay(in, from, to, 6, feed_flow, &fd, err, sizeof(err));
    if (fd.n)
        consume_chunk(out, a, fd.chunk, fd.n, false, 0);
    fd.total += (long long)fd.n;
    consume_chunk(out, a, NULL, 0, true, fd.last_recv);
    if (rc) {
        fprintf(stderr, "flowhound analyze: %s\n", err);
        return -1;
    }
    return fd.total;
}

static int print_alerts(struct store *out)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(store_sqlite(out),
                           "SELECT id, kind, state, client_addr, client_port, server_addr, "
                           "server_port, holder, attempts, opened_ms, updated_ms, resolved_ms, "
                           "summary, evidence FROM alerts ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK)
        return -1;
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_t *o = json_object();
        for (int i = 0; i < sqlite3_column_count(st); i++) {
            const char *name = sqlite3_column_name(st, i);
            json_t *v;
            if (sqlite3_column_type(st, i) == SQLITE_NULL)
                v = json_null();
            else if (sqlite3_column_type(st, i) == SQLITE_INTEGER)
                v = json_integer(sqlite3_column_int64(st, i));
            else if (!strcmp(name, "evidence"))
                v = json_loads((const char *)sqlite3_column_text(st, i), 0, NULL);
            else
                v = json_string((const char *)sqlite3_column_text(st, i));
            json_object_set_new(o, name, v ? v : json_null());
        }
        char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (s)
            puts(s);
        free(s);
        json_decref(o);
    }
    sqlite3_finalize(st);
    return 0;
}

struct analyze_args {
    const char *db, *out;
    int64_t from, to;
    struct analyzer_opts o;
    const char **inner;
};

/* The value of one option, into g; false if it is not one. */
static bool take_value(int id, const char *v, struct analyze_args *g)
{
    switch (id) {
    case OPT_DB:
        g->db = v;
        return true;
    case OPT_OUT:
        g->out = v;
        return true;
    case OPT_FROM:
        return parse_time_ms(v, &g->from);
    case OPT_TO:
        return parse_time_ms(v, &g->to);
    case OPT_STALE:
        return parse_duration_ms(v, &g->o.stale_window_ms);
    case OPT_QUIET:
        return parse_duration_ms(v, &g->o.quiet_ms);
    case OPT_HOLD:
        return parse_duration_ms(v, &g->o.hold_ms);
    case OPT_SKEW:
        return parse_duration_ms(v, &g->o.clock_skew_ms);
    case OPT_CONNS: {
        int64_t n;
        if (!args_count(v, &n) || n < 1)
            return false;
        g->o.max_conns = (size_t)n;
        return true;
    }
    default: /* OPT_INNER */
        g->inner = xreallocarray(g->inner, g->o.n_vantage_inner + 1, sizeof(char *));
        g->inner[g->o.n_vantage_inner++] = v;
        return analyzer_vantage_spec_ok(v);
    }
}

/* Returns -1 to go on, 0 to exit 0 (--help), 2 after a usage error. */
static int parse_args(int argc, char **argv, struct analyze_args *g)
{
    struct args a;
    args_init(&a, "flowhound analyze", options, argc, argv);
    int id, rc = -1;
    while (rc < 0 && (id = args_next(&a)) != ARGS_END) {
        if (id == ARGS_ERROR) {
            rc = 2;
        } else if (id == 'h') {
            usage(stdout);
            rc = 0;
        } else if (!take_value(id, a.value, g)) {
            args_error(&a, "bad value '%s'", a.value);
            rc = 2;
        }
    }
    g->o.vantage_inner = g->inner;
    if (rc < 0 && !g->db) {
        args_usage_error(&a, "--db PATH or --store URL is required");
        rc = 2;
    }
    return rc;
}

int cmd_analyze(int argc, char **argv)
{
    struct analyze_args g = {.from = INT64_MIN / 2, .to = INT64_MAX / 2};
    analyzer_opts_default(&g.o);
    int rc = parse_args(argc, argv, &g);
    g.o.store_connections = g.out != NULL; /* an export: nobody reads a memory store's */
    if (rc >= 0) {
        free(g.inner);
        return rc;
    }
    char err[512];
    struct store_url u;
    bool ch = store_url_parse(g.db, &u, err, sizeof(err)) == 0 && u.kind == STORE_CLICKHOUSE;
    const char *path = !ch && u.kind == STORE_SQLITE && u.path[0] ? u.path : g.db;
    struct query *chin = ch ? query_open_store(g.db, NULL, err, sizeof(err)) : NULL;
    struct store *in = ch ? NULL : store_open(path, STORE_RO, NULL, err, sizeof(err));
    if (chin)
        query_set_time_limit(chin, 0); /* a replay of the whole store takes what it takes */
    struct store *out =
        in || chin ? store_open(g.out ? g.out : ":memory:", STORE_RW, NULL, err, sizeof(err))
                   : NULL;
    struct analyzer *a = out ? analyzer_new(&g.o, out, err, sizeof(err)) : NULL;
    rc = 1;
    if (!a) {
        fprintf(stderr, "flowhound analyze: %s\n", err);
    } else {
        long long n =
            ch ? feed_clickhouse(chin, g.from, g.to, out, a) : feed_all(in, g.from, g.to, out, a);
        struct analyzer_stats st;
        analyzer_get_stats(a, &st);
        if (n < 0 || st.store_errors)
            fprintf(stderr, "flowhound analyze: failed: %s\n", analyzer_last_error(a));
        else if (print_alerts(out) == 0)
            rc = 0;
        fprintf(stderr, "flowhound analyze: %lld TCP flows, %llu alerts opened, %llu evictions\n",
                n, (unsigned long long)st.alerts_opened, (unsigned long long)st.conn_evictions);
    }
    analyzer_free(a);
    store_close(out);
    store_close(in);
    query_close(chin);
    free(g.inner);
    return rc;
}
