/* query.c - the read-only connection, partition pruning, the time limit, and flow listing.
 *
 * A request is one statement: a UNION ALL over just the partitions its time range can touch
 * (the partitions table knows each one's min first_ms and max last_ms), each arm carrying the
 * filter's fragment for partition tables (filter_sql_keyed: endpoint-key ranges for IPv4
 * src host/net, the dst_port index when query_plan.c finds the port rare) with numbered
 * placeholders so its values are bound once. Partitions that lie wholly inside the range get
 * no time test at all; the others get one SQLite will not use an index for (`+first_ms`):
 * inside a partition the overlap test is a scan anyway. A page in first_ms order is read
 * partition by partition instead (query_walk.c). */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "query/query_int.h"
#include "storage/store_url.h"

/* SQLite refuses compound SELECTs of more than 500 terms: nest groups of this many. */
#define UNION_GROUP 200

static int db_fail(struct query *q, char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "%s: %s", what, sqlite3_errmsg(q->db));
    return QUERY_EFAIL;
}

static int progress(void *arg)
{
    struct query *q = arg;
    return q->deadline && mono_ms() > q->deadline;
}

static int load_columns(struct query *q, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(q->db, "SELECT * FROM flows LIMIT 0", -1, &st, NULL) != SQLITE_OK)
        return db_fail(q, err, errlen, "reading the flows view");
    q->ncols = (size_t)sqlite3_column_count(st);
    q->cols = xcalloc(q->ncols, sizeof(char *));
    for (size_t i = 0; i < q->ncols; i++)
        q->cols[i] = xstrdup(sqlite3_column_name(st, (int)i));
    sqlite3_finalize(st);
    return 0;
}

/* What every read connection adds to the store's reader settings (STORE_RO): the filter's
 * SQL function and the time limit. */
static int configure(struct query *q, sqlite3 *db, char *err, size_t errlen)
{
    if (filter_register_sql(db) != SQLITE_OK) {
        snprintf(err, errlen, "registering fh_net: %s", sqlite3_errmsg(db));
        return QUERY_EFAIL;
    }
    sqlite3_progress_handler(db, 4096, progress, q);
    return 0;
}

sqlite3 *query_connect(struct query *q, char *err, size_t errlen)
{
    sqlite3 *db = store_connect(store_path(q->store), STORE_RO, err, errlen);
    if (db && configure(q, db, err, errlen)) {
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

static int default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 4 ? 4 : (int)n;
}

struct query *query_open(const char *path, char *err, size_t errlen)
{
    return query_open_store(path, NULL, err, errlen);
}

static struct query *open_clickhouse(const struct store_url *u, const char *state, char *err,
                                     size_t errlen)
{
    struct query *q = xcalloc(1, sizeof(*q));
    q->limit_ms = QUERY_DEFAULT_TIME_LIMIT_MS;
    q->threads = 1;
    if (query_ch_open(q, u, state, err, errlen)) {
        query_close(q);
        return NULL;
    }
    return q;
}

static struct query *open_sqlite(const char *path, char *err, size_t errlen)
{
    struct store *s = store_open(path, STORE_RO, NULL, err, errlen);
    if (!s)
        return NULL;
    struct query *q = xcalloc(1, sizeof(*q));
    q->store = s;
    q->db = store_sqlite(s);
    q->limit_ms = QUERY_DEFAULT_TIME_LIMIT_MS;
    q->threads = default_threads();
    if (configure(q, q->db, err, errlen) || load_columns(q, err, errlen)) {
        query_close(q);
        return NULL;
    }
    return q;
}

struct query *query_open_store(const char *store, const char *state, char *err, size_t errlen)
{
    struct store_url u;
    if (store_url_parse(store, &u, err, errlen))
        return NULL;
    return u.kind == STORE_CLICKHOUSE ? open_clickhouse(&u, state, err, errlen)
                                      : open_sqlite(u.path, err, errlen);
}

void query_set_threads(struct query *q, int n)
{
    q->threads = n < 1 ? 1 : n > 16 ? 16 : n;
}

void query_close(struct query *q)
{
    if (!q)
        return;
    for (size_t i = 0; i < q->ncols; i++)
        free(q->cols[i]);
    free(q->cols);
    query_ch_close(q);
    store_close(q->store);
    free(q);
}

void query_set_time_limit(struct query *q, int64_t ms)
{
    q->limit_ms = ms > 0 ? ms : 0;
}

sqlite3 *query_sqlite(struct query *q)
{
    return q->db;
}

size_t query_flow_columns(struct query *q, const char *const **names)
{
    *names = (const char *const *)q->cols;
    return q->ncols;
}

/* ---- partitions ---- */

/* Partition names come from our own table, but only plain identifiers become SQL text. */
static bool plain_identifier(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return false;
    return true;
}

int query_partitions(struct query *q, int64_t from, int64_t to, const struct filter *f,
                     struct qpart **parts, size_t *n, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    *parts = NULL;
    *n = 0;
    if (from > to) {
        snprintf(err, errlen, "the time range ends before it starts");
        return QUERY_EINVALID;
    }
    if (q->ch)
        return 0; /* ClickHouse has no partition tables: a scan is one share (query_fanout) */
    /* Same pruning as store_partitions_for, plus whether the partition lies wholly inside. A
     * partition whose stats are not written yet (min_first NULL) may hold anything. */
    if (sqlite3_prepare_v2(q->db,
                           "SELECT name, min_first IS NOT NULL AND min_first >= ?1 AND "
                           "max_last <= ?2 AND span_end <= ?3, rows, min_first, max_last, "
                           "indexed FROM partitions WHERE "
                           "min_first IS NULL OR (min_first <= ?2 AND max_last >= ?1) "
                           "ORDER BY span_start",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(q, err, errlen, "listing partitions");
    sqlite3_bind_int64(st, 1, from);
    sqlite3_bind_int64(st, 2, to);
    /* The partition of the current receive time may grow after this look (and each worker
     * reads its own snapshot): never skip the time test on it. */
    sqlite3_bind_int64(st, 3, now_ms());
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        if (!name || !plain_identifier(name))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 32;
            *parts = xreallocarray(*parts, cap, sizeof(**parts));
        }
        (*parts)[*n].name = xstrdup(name);
        (*parts)[*n].whole = sqlite3_column_int(st, 1) != 0;
        (*parts)[*n].rows = sqlite3_column_int64(st, 2);
        bool known = sqlite3_column_type(st, 3) != SQLITE_NULL;
        (*parts)[*n].min_first = known ? sqlite3_column_int64(st, 3) : INT64_MIN;
        (*parts)[*n].max_last = known ? sqlite3_column_int64(st, 4) : INT64_MAX;
        (*parts)[*n].indexed = sqlite3_column_int(st, 5) != 0;
        (*parts)[(*n)++].port_index = true;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        query_partitions_free(*parts, *n);
        *parts = NULL;
        *n = 0;
        return db_fail(q, err, errlen, "listing partitions");
    }
    if (f)
        query_plan_ports(q, f, *parts, *n);
    return 0;
}

void query_partitions_free(struct qpart *parts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(parts[i].name);
    free(parts);
}

/* ---- building and running statements ---- */

struct sbuf {
    char *s;
    size_t len, cap;
};

static void put(struct sbuf *b, const char *a, const char *c)
{
    size_t n = strlen(a) + (c ? strlen(c) : 0);
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->s = xreallocarray(b->s, b->cap, 1);
    }
    b->len += (size_t)snprintf(b->s + b->len, b->cap - b->len, "%s%s", a, c ? c : "");
}

/* One arm; table NULL: the (empty) flows view, given the hidden key columns the keyed
 * filter reads so that the statement still compiles. */
static void arm(struct sbuf *b, const char *select, const char *table, bool whole,
                const char *where)
{
    put(b, "SELECT ", select);
    if (table) {
        put(b, " FROM \"", table);
        put(b, "\"", NULL);
    } else {
        put(b, " FROM (SELECT NULL AS src_key, NULL AS dst_key, * FROM flows)", NULL);
    }
    put(b, " WHERE ", whole ? "" : "+last_ms >= ?1 AND +first_ms <= ?2 AND ");
    put(b, where, NULL);
}

char *query_union(const struct qpart *parts, size_t n, const char *const *selects,
                  const struct filter *f)
{
    /* the filter's fragment, with and without the dst_port index (query_plan.c) */
    char *where = f ? filter_sql_keyed(f, 3, true) : xstrdup("1");
    char *scan = f ? filter_sql_keyed(f, 3, false) : xstrdup("1");
    struct sbuf b = {0};
    size_t arms = 0;
    put(&b, "", NULL);
    if (n == 0) {
        /* ?1 and ?2 must still exist for query_bind_range */
        for (const char *const *s = selects; *s; s++, arms++) {
            put(&b, arms ? " UNION ALL " : "", NULL);
            arm(&b, *s, NULL, false, where);
        }
    }
    for (size_t i = 0; i < n; i++)
        for (const char *const *s = selects; *s; s++, arms++) {
            if (arms == 0)
                put(&b, "SELECT * FROM (", NULL);
            else
                put(&b, arms % UNION_GROUP == 0 ? ") UNION ALL SELECT * FROM (" : " UNION ALL ",
                    NULL);
            arm(&b, *s, parts[i].name, parts[i].whole, parts[i].port_index ? where : scan);
        }
    if (n)
        put(&b, ")", NULL);
    free(where);
    free(scan);
    return b.s;
}

int query_bind_range(sqlite3_stmt *st, int64_t from, int64_t to, const struct filter *f)
{
    if (sqlite3_bind_int64(st, 1, from) != SQLITE_OK || sqlite3_bind_int64(st, 2, to) != SQLITE_OK)
        return -1;
    return f ? filter_bind_keyed(f, st, 3) : 3;
}

int query_prepare(struct query *q, const char *sql, sqlite3_stmt **st, char *err, size_t errlen)
{
    if (sqlite3_prepare_v2(q->db, sql, -1, st, NULL) != SQLITE_OK)
        return db_fail(q, err, errlen, "preparing the query");
    return 0;
}

int query_step_error(const struct query *q, sqlite3 *db, int rc, char *err, size_t errlen)
{
    if (rc == SQLITE_INTERRUPT) {
        snprintf(err, errlen,
                 "query took too long (more than %" PRId64 " ms): narrow the time range or "
                 "make the filter more selective",
                 q->limit_ms);
        return QUERY_ETIMEOUT;
    }
    snprintf(err, errlen, "running the query: %s", sqlite3_errmsg(db));
    return QUERY_EFAIL;
}

int query_run(struct query *q, sqlite3_stmt *st, query_row_fn fn, void *ctx, char *err,
              size_t errlen)
{
    q->deadline = q->limit_ms ? mono_ms() + q->limit_ms : 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (fn && fn(ctx, st)) {
            rc = SQLITE_DONE;
            break;
        }
    q->deadline = 0;
    int result = rc == SQLITE_DONE ? 0 : query_step_error(q, q->db, rc, err, errlen);
    sqlite3_finalize(st);
    return result;
}

int query_emit(struct query *q, const char *sql, size_t n,
               void (*bind)(void *arg, size_t i, sqlite3_stmt *st), void *arg, query_row_fn fn,
               void *ctx, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int rc = query_prepare(q, sql, &st, err, errlen);
    for (size_t i = 0; i < n && !rc; i++) {
        bind(arg, i, st);
        bool stop = sqlite3_step(st) == SQLITE_ROW && fn && fn(ctx, st);
        sqlite3_reset(st);
        if (stop)
            break;
    }
    if (!rc)
        sqlite3_finalize(st);
    return rc;
}

/* ---- flows ---- */

struct query_flows query_flows_all(void)
{
    return (struct query_flows){.from_ms = INT64_MIN, .to_ms = INT64_MAX};
}

static const char *order_column(struct query *q, const char *order)
{
    if (!order || !*order)
        return "first_ms";
    for (size_t i = 0; i < q->ncols; i++)
        if (!strcmp(q->cols[i], order))
            return q->cols[i];
    return NULL;
}

char *query_flows_sql(const struct qpart *parts, size_t n, const struct query_flows *req,
                      const char *col)
{
    /* the view's columns, not "*": partitions also hold hidden key columns (storage/store.c) */
    static const char *const selects[] = {store_flow_columns, NULL};
    int next = 3 + (req->filter ? filter_param_count_keyed(req->filter) : 0);
    char *arms = query_union(parts, n, selects, req->filter);
    /* col is one of the view's own column names, checked by the caller */
    char *sql = xasprintf("SELECT * FROM (%s) ORDER BY %s\"%s\" %s LIMIT ?%d OFFSET ?%d", arms, "+",
                          col, req->desc ? "DESC" : "ASC", next, next + 1);
    free(arms);
    return sql;
}

static int flows_sequential(struct query *q, const struct query_flows *req, const char *col,
                            const struct qpart *parts, size_t n, query_row_fn fn, void *ctx,
                            char *err, size_t errlen)
{
    char *sql = query_flows_sql(parts, n, req, col);
    sqlite3_stmt *st;
    int rc = query_prepare(q, sql, &st, err, errlen);
    free(sql);
    if (rc)
        return rc;
    int next = query_bind_range(st, req->from_ms, req->to_ms, req->filter);
    sqlite3_bind_int64(st, next, req->limit > 0 ? req->limit : -1);
    sqlite3_bind_int64(st, next + 1, req->offset > 0 ? req->offset : 0);
    return query_run(q, st, fn, ctx, err, errlen);
}

int query_flows(struct query *q, const struct query_flows *req, query_row_fn fn, void *ctx,
                char *err, size_t errlen)
{
    const char *col = order_column(q, req->order);
    if (!col) {
        snprintf(err, errlen, "cannot order by '%.64s': not a column of flows", req->order);
        return QUERY_EINVALID;
    }
    if (q->ch) {
        struct query_flows checked = *req;
        checked.order = col;
        return query_ch_flows(q, &checked, fn, ctx, err, errlen);
    }
    struct qpart *parts;
    size_t n;
    int rc = query_partitions(q, req->from_ms, req->to_ms, req->filter, &parts, &n, err, errlen);
    if (rc)
        return rc;
    /* A page in first_ms order reads only the partitions that can hold it (query_walk.c).
     * Any other listing is one scan of the range and a sort of the matches (`+col`: a bare
     * column could make SQLite walk an index in order with a table lookup per row, several
     * times slower than the scan it replaces); that scan can be split between threads. */
    if (req->limit > 0 && !strcmp(col, "first_ms"))
        rc = query_flows_walk(q, req, parts, n, fn, ctx, err, errlen);
    else if (q->threads > 1 && n >= 2)
        rc = query_flows_parallel(q, req, col, parts, n, fn, ctx, err, errlen);
    else
        rc = flows_sequential(q, req, col, parts, n, fn, ctx, err, errlen);
    query_partitions_free(parts, n);
    return rc;
}

static int count_row(void *ctx, sqlite3_stmt *row)
{
    *(int64_t *)ctx = sqlite3_column_int64(row, 0);
    return 0;
}

int query_count_flows(struct query *q, const struct query_flows *req, int64_t *count, char *err,
                      size_t errlen)
{
    static const char *const selects[] = {"1", NULL};
    *count = 0;
    if (q->ch)
        return query_ch_count(q, req, count, err, errlen);
    struct qpart *parts;
    size_t n;
    int rc = query_partitions(q, req->from_ms, req->to_ms, req->filter, &parts, &n, err, errlen);
    if (rc)
        return rc;
    if (q->threads > 1 && n >= 2) {
        rc = query_count_parallel(q, req, parts, n, count, err, errlen);
        query_partitions_free(parts, n);
        return rc;
    }
    char *arms = query_union(parts, n, selects, req->filter);
    query_partitions_free(parts, n);
    char *sql = xasprintf("SELECT count(*) FROM (%s)", arms);
    free(arms);
    sqlite3_stmt *st;
    rc = query_prepare(q, sql, &st, err, errlen);
    free(sql);
    if (rc)
        return rc;
    query_bind_range(st, req->from_ms, req->to_ms, req->filter);
    return query_run(q, st, count_row, count, err, errlen);
}

int query_summary(struct query *q, struct query_summary *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (q->ch)
        return query_ch_summary(q, out, err, errlen);
    sqlite3_stmt *st;
    /* the newest flow end taken no later than its receipt (newest_ms; in partitions older
     * than that column, max_last no later than the end of their receive span) */
    if (sqlite3_prepare_v2(q->db,
                           "SELECT COALESCE(sum(rows), 0), COALESCE(min(min_first), 0), "
                           "COALESCE(max(COALESCE(newest_ms, min(max_last, span_end))), 0), "
                           "count(*) FROM partitions",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(q, err, errlen, "summing the partitions");
    if (sqlite3_step(st) == SQLITE_ROW) {
        out->flows = sqlite3_column_int64(st, 0);
        out->first_ms = sqlite3_column_int64(st, 1);
        out->last_ms = sqlite3_column_int64(st, 2);
        out->partitions = sqlite3_column_int64(st, 3);
    }
    sqlite3_finalize(st);
    return 0;
}
