/* query_parallel.c - a filtered flow listing split between threads.
 *
 * A filtered listing costs one sequential scan of the partitions in its time range, then a
 * sort of the matches. The scan parallelizes: each worker gets a contiguous share of the
 * partitions (balanced by their row counts), its own read-only connection, and a statement
 * that scans, filters and sorts its share with the same ORDER BY. The worker's first step
 * does all of that; the calling thread then merges the sorted streams, applying the offset
 * and limit, and hands rows to the callback as usual. Every connection watches the same
 * deadline, so the time limit holds for the whole. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "query/query_int.h"

struct worker {
    struct query *q;
    sqlite3 *db;
    sqlite3_stmt *st;
    int rc; /* of the last step: SQLITE_ROW while it has a row */
    pthread_t tid;
    bool started;
    char err[256];
};

static void *first_step(void *arg)
{
    struct worker *w = arg;
    w->rc = sqlite3_step(w->st);
    return NULL;
}

void query_split(const struct qpart *parts, size_t n, size_t k, size_t *cut)
{
    int64_t total = 0, acc = 0;
    for (size_t i = 0; i < n; i++)
        total += parts[i].rows > 0 ? parts[i].rows : 1;
    cut[0] = 0;
    size_t share = 1;
    for (size_t i = 0; i < n && share < k; i++) {
        acc += parts[i].rows > 0 ? parts[i].rows : 1;
        size_t rest = n - (i + 1);
        /* cut when this share has its part of the rows, or when every remaining partition
         * is needed to give each remaining share one; never leave a share empty */
        if (rest >= k - share && (acc * (int64_t)k >= total * (int64_t)share || rest == k - share))
            cut[share++] = i + 1;
    }
    cut[k] = n;
}

/* The worker's statement over its share: the listing, or its count when col is NULL. */
static int prepare_worker(struct worker *w, const struct query_flows *req, const char *col,
                          const struct qpart *parts, size_t n)
{
    static const char *const ones[] = {"1", NULL};
    w->db = query_connect(w->q, w->err, sizeof(w->err));
    if (!w->db)
        return QUERY_EFAIL;
    char *sql;
    if (col) {
        sql = query_flows_sql(parts, n, req, col);
    } else {
        char *arms = query_union(parts, n, ones, req->filter);
        sql = xasprintf("SELECT count(*) FROM (%s)", arms);
        free(arms);
    }
    int rc = sqlite3_prepare_v2(w->db, sql, -1, &w->st, NULL);
    free(sql);
    if (rc != SQLITE_OK) {
        snprintf(w->err, sizeof(w->err), "preparing the query: %s", sqlite3_errmsg(w->db));
        return QUERY_EFAIL;
    }
    int next = query_bind_range(w->st, req->from_ms, req->to_ms, req->filter);
    if (col) {
        /* each share must deliver every row that could end up in the merged page */
        int64_t want = req->limit > 0 ? req->limit + (req->offset > 0 ? req->offset : 0) : -1;
        sqlite3_bind_int64(w->st, next, want);
        sqlite3_bind_int64(w->st, next + 1, 0);
    }
    return 0;
}

/* SQLite's order of values: NULL, numbers, text (BINARY), blobs. */
static int compare(sqlite3_stmt *a, sqlite3_stmt *b, int c)
{
    static const int rank[] = {[SQLITE_NULL] = 0,
                               [SQLITE_INTEGER] = 1,
                               [SQLITE_FLOAT] = 1,
                               [SQLITE_TEXT] = 2,
                               [SQLITE_BLOB] = 3};
    int ta = sqlite3_column_type(a, c), tb = sqlite3_column_type(b, c);
    if (rank[ta] != rank[tb])
        return rank[ta] - rank[tb];
    if (ta == SQLITE_INTEGER && tb == SQLITE_INTEGER) {
        sqlite3_int64 x = sqlite3_column_int64(a, c), y = sqlite3_column_int64(b, c);
        return (x > y) - (x < y);
    }
    if (rank[ta] == 1) {
        double x = sqlite3_column_double(a, c), y = sqlite3_column_double(b, c);
        return (x > y) - (x < y);
    }
    if (rank[ta] == 0)
        return 0;
    const void *pa =
        ta == SQLITE_TEXT ? (const void *)sqlite3_column_text(a, c) : sqlite3_column_blob(a, c);
    const void *pb =
        tb == SQLITE_TEXT ? (const void *)sqlite3_column_text(b, c) : sqlite3_column_blob(b, c);
    int la = sqlite3_column_bytes(a, c), lb = sqlite3_column_bytes(b, c);
    int r = memcmp(pa, pb, (size_t)(la < lb ? la : lb));
    return r ? r : la - lb;
}

static int column_of(sqlite3_stmt *st, const char *col)
{
    for (int i = 0, n = sqlite3_column_count(st); i < n; i++)
        if (!strcmp(sqlite3_column_name(st, i), col))
            return i;
    return 0;
}

/* The first failed worker's error, or 0. */
static int worker_error(struct worker *w, size_t k, char *err, size_t errlen)
{
    for (size_t i = 0; i < k; i++) {
        if (w[i].rc == SQLITE_ROW || w[i].rc == SQLITE_DONE)
            continue;
        if (w[i].rc == SQLITE_INTERRUPT) {
            snprintf(err, errlen,
                     "query took too long (more than %lld ms): narrow the time range or make "
                     "the filter more selective",
                     (long long)w[i].q->limit_ms);
            return QUERY_ETIMEOUT;
        }
        snprintf(err, errlen, "running the query: %s",
                 w[i].err[0] ? w[i].err : sqlite3_errmsg(w[i].db));
        return QUERY_EFAIL;
    }
    return 0;
}

/* Merges the workers' sorted rows: smallest (or largest) first, ties to the earlier share. */
static int merge(struct worker *w, size_t k, const struct query_flows *req, const char *col,
                 query_row_fn fn, void *ctx, char *err, size_t errlen)
{
    int c = column_of(w[0].st, col);
    int64_t skip = req->offset > 0 ? req->offset : 0, left = req->limit > 0 ? req->limit : -1;
    while (left != 0) {
        struct worker *best = NULL;
        for (size_t i = 0; i < k; i++) {
            if (w[i].rc != SQLITE_ROW)
                continue;
            int d = best ? compare(w[i].st, best->st, c) : -1;
            if (!best || (req->desc ? d > 0 : d < 0))
                best = &w[i];
        }
        if (!best)
            break;
        if (skip > 0) {
            skip--;
        } else {
            if (fn && fn(ctx, best->st))
                break;
            if (left > 0)
                left--;
        }
        best->rc = sqlite3_step(best->st);
        int rc = worker_error(w, k, err, errlen);
        if (rc)
            return rc;
    }
    return 0;
}

/* Runs the first step of every share's statement in its own thread (col NULL: counts). */
static int start_shares(struct query *q, struct worker *w, size_t k, const struct query_flows *req,
                        const char *col, const struct qpart *parts, size_t n, char *err,
                        size_t errlen)
{
    size_t *cut = xcalloc(k + 1, sizeof(*cut));
    query_split(parts, n, k, cut);
    int rc = 0;
    for (size_t i = 0; i < k && !rc; i++) {
        w[i].q = q;
        w[i].rc = SQLITE_DONE;
        rc = prepare_worker(&w[i], req, col, parts + cut[i], cut[i + 1] - cut[i]);
        if (rc)
            snprintf(err, errlen, "%s", w[i].err);
    }
    free(cut);
    for (size_t i = 0; i < k && !rc; i++) {
        if (pthread_create(&w[i].tid, NULL, first_step, &w[i]) != 0) {
            snprintf(err, errlen, "cannot start a query thread");
            rc = QUERY_EFAIL;
            break;
        }
        w[i].started = true;
    }
    for (size_t i = 0; i < k; i++)
        if (w[i].started)
            pthread_join(w[i].tid, NULL);
    return rc ? rc : worker_error(w, k, err, errlen);
}

static void close_shares(struct worker *w, size_t k)
{
    for (size_t i = 0; i < k; i++) {
        sqlite3_finalize(w[i].st);
        sqlite3_close(w[i].db);
    }
    free(w);
}

int query_flows_parallel(struct query *q, const struct query_flows *req, const char *col,
                         const struct qpart *parts, size_t n, query_row_fn fn, void *ctx, char *err,
                         size_t errlen)
{
    size_t k = (size_t)q->threads < n ? (size_t)q->threads : n;
    struct worker *w = xcalloc(k, sizeof(*w));
    q->deadline = q->limit_ms ? mono_ms() + q->limit_ms : 0;
    int rc = start_shares(q, w, k, req, col, parts, n, err, errlen);
    if (!rc)
        rc = merge(w, k, req, col, fn, ctx, err, errlen);
    q->deadline = 0;
    close_shares(w, k);
    return rc;
}

int query_count_parallel(struct query *q, const struct query_flows *req, const struct qpart *parts,
                         size_t n, int64_t *count, char *err, size_t errlen)
{
    size_t k = (size_t)q->threads < n ? (size_t)q->threads : n;
    struct worker *w = xcalloc(k, sizeof(*w));
    q->deadline = q->limit_ms ? mono_ms() + q->limit_ms : 0;
    int rc = start_shares(q, w, k, req, NULL, parts, n, err, errlen);
    q->deadline = 0;
    *count = 0;
    for (size_t i = 0; i < k && !rc; i++)
        *count += sqlite3_column_int64(w[i].st, 0);
    close_shares(w, k);
    return rc;
}
