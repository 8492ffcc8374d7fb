/* query_parallel.c - a filtered flow listing, and its count, split between threads.
 *
 * A filtered listing costs one sequential scan of the partitions in its time range, then a
 * sort of the matches. The scan parallelizes (query_fanout.c): each share's statement scans,
 * filters and sorts its partitions with the same ORDER BY, all in its first step; the
 * calling thread then merges the sorted streams, applying the offset and limit, and hands
 * rows to the callback as usual. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "query/query_int.h"

struct listing {
    const struct query_flows *req;
    const char *col;
};

static char *listing_sql(void *arg, const struct qpart *parts, size_t n)
{
    const struct listing *l = arg;
    return query_flows_sql(parts, n, l->req, l->col);
}

/* Each share must deliver every row that could end up in the merged page. */
static void listing_bind(void *arg, sqlite3_stmt *st, int next)
{
    const struct query_flows *req = ((const struct listing *)arg)->req;
    int64_t want = req->limit > 0 ? req->limit + (req->offset > 0 ? req->offset : 0) : -1;
    sqlite3_bind_int64(st, next, want);
    sqlite3_bind_int64(st, next + 1, 0);
}

static char *count_sql(void *arg, const struct qpart *parts, size_t n)
{
    static const char *const ones[] = {"1", NULL};
    char *arms = query_union(parts, n, ones, ((const struct query_flows *)arg)->filter);
    char *sql = xasprintf("SELECT count(*) FROM (%s)", arms);
    free(arms);
    return sql;
}

/* The first step does a share's whole scan (and sort, or count); the merge steps on. */
static void first_step(void *arg, struct qshare *s)
{
    (void)arg;
    s->rc = sqlite3_step(s->st);
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

/* Merges the shares' sorted rows: smallest (or largest) first, ties to the earlier share. */
static int merge(struct qshare *s, size_t k, const struct query_flows *req, const char *col,
                 query_row_fn fn, void *ctx, char *err, size_t errlen)
{
    int c = column_of(s[0].st, col);
    int64_t skip = req->offset > 0 ? req->offset : 0, left = req->limit > 0 ? req->limit : -1;
    while (left != 0) {
        struct qshare *best = NULL;
        for (size_t i = 0; i < k; i++) {
            if (s[i].rc != SQLITE_ROW)
                continue;
            int d = best ? compare(s[i].st, best->st, c) : -1;
            if (!best || (req->desc ? d > 0 : d < 0))
                best = &s[i];
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
        int rc = query_fanout_error(s, k, err, errlen);
        if (rc)
            return rc;
    }
    return 0;
}

int query_flows_parallel(struct query *q, const struct query_flows *req, const char *col,
                         const struct qpart *parts, size_t n, query_row_fn fn, void *ctx, char *err,
                         size_t errlen)
{
    struct listing l = {.req = req, .col = col};
    struct qfanout fo = {.from = req->from_ms,
                         .to = req->to_ms,
                         .filter = req->filter,
                         .sql = listing_sql,
                         .bind = listing_bind,
                         .run = first_step,
                         .arg = &l};
    size_t k = query_fanout_shares(q, n);
    struct qshare *s;
    int rc = query_fanout(q, &fo, parts, n, k, &s, err, errlen);
    if (!rc)
        rc = merge(s, k, req, col, fn, ctx, err, errlen);
    query_fanout_close(s, k);
    return rc;
}

int query_count_parallel(struct query *q, const struct query_flows *req, const struct qpart *parts,
                         size_t n, int64_t *count, char *err, size_t errlen)
{
    struct qfanout fo = {.from = req->from_ms,
                         .to = req->to_ms,
                         .filter = req->filter,
                         .sql = count_sql,
                         .run = first_step,
                         .arg = (void *)req};
    size_t k = query_fanout_shares(q, n);
    struct qshare *s;
    int rc = query_fanout(q, &fo, parts, n, k, &s, err, errlen);
    *count = 0;
    for (size_t i = 0; i < k && !rc; i++)
        *count += sqlite3_column_int64(s[i].st, 0);
    query_fanout_close(s, k);
    return rc;
}
