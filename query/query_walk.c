/* query_walk.c - a page of flows in first_ms order, read partition by partition.
 *
 * A page (a limit) in time order needs only the partitions that can hold its rows. Every
 * partition knows bounds of its flows' first_ms (partitions.min_first, and max_last, as a flow
 * ends after it starts), so: take the partitions in the order of those bounds (oldest
 * min_first first for ascending, newest max_last first for descending), sort each one's
 * matches on its own (a scan, or the filter's index, plus a top-N sort of limit + offset
 * rows), merge the sorted streams, and open the next partition only while its bound could
 * still beat the row about to be handed out. The first page over a whole store reads one or
 * two partitions instead of sorting every row of the store, and needs no index on first_ms
 * (doc/performance.md: that index cost more at ingest than this saves). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "query/query_int.h"

struct stream {
    sqlite3_stmt *st;
    int rc; /* of the last step: SQLITE_ROW while it has a row */
};

struct walk {
    struct query *q;
    const struct query_flows *req; /* limit = limit + offset, offset 0: what each stream needs */
    struct qpart *parts;
    size_t n, started;
    struct stream *s;
    int col; /* first_ms in the result row */
};

static int64_t bound(const struct walk *w, size_t i)
{
    return w->req->desc ? w->parts[i].max_last : w->parts[i].min_first;
}

/* Ascending: smallest min_first first; descending: largest max_last first. */
static int by_min_first(const void *a, const void *b)
{
    const struct qpart *x = a, *y = b;
    return (x->min_first > y->min_first) - (x->min_first < y->min_first);
}

static int by_max_last_desc(const void *a, const void *b)
{
    const struct qpart *x = a, *y = b;
    return (x->max_last < y->max_last) - (x->max_last > y->max_last);
}

/* Prepares the next partition's sorted, limited statement and steps it to its first row. */
static int start_next(struct walk *w, char *err, size_t errlen)
{
    struct stream *s = &w->s[w->started];
    char *sql = query_flows_sql(&w->parts[w->started], 1, w->req, "first_ms");
    w->started++;
    int rc = query_prepare(w->q, sql, &s->st, err, errlen);
    free(sql);
    if (rc)
        return rc;
    int next = query_bind_range(s->st, w->req->from_ms, w->req->to_ms, w->req->filter);
    sqlite3_bind_int64(s->st, next, w->req->limit > 0 ? w->req->limit : -1);
    sqlite3_bind_int64(s->st, next + 1, 0);
    s->rc = sqlite3_step(s->st);
    if (s->rc != SQLITE_ROW && s->rc != SQLITE_DONE)
        return query_step_error(w->q, w->q->db, s->rc, err, errlen);
    if (w->col < 0)
        for (int c = 0, nc = sqlite3_column_count(s->st); c < nc; c++)
            if (!strcmp(sqlite3_column_name(s->st, c), "first_ms"))
                w->col = c;
    return 0;
}

/* Is a's row before b's in the page's order? Ties stay with the earlier stream. */
static bool before(const struct walk *w, const struct stream *a, const struct stream *b)
{
    int64_t x = sqlite3_column_int64(a->st, w->col), y = sqlite3_column_int64(b->st, w->col);
    return w->req->desc ? x > y : x < y;
}

static struct stream *best_of(struct walk *w)
{
    struct stream *best = NULL;
    for (size_t i = 0; i < w->started; i++)
        if (w->s[i].rc == SQLITE_ROW && (!best || before(w, &w->s[i], best)))
            best = &w->s[i];
    return best;
}

/* Could the next unread partition hold a row that goes before (or ties with) best? */
static bool next_may_beat(const struct walk *w, const struct stream *best)
{
    if (w->started == w->n)
        return false;
    if (!best)
        return true;
    int64_t b = bound(w, w->started), v = sqlite3_column_int64(best->st, w->col);
    return w->req->desc ? b >= v : b <= v;
}

static int walk_run(struct walk *w, query_row_fn fn, void *ctx, char *err, size_t errlen,
                    int64_t skip, int64_t left)
{
    while (left != 0) {
        struct stream *best = best_of(w);
        while (next_may_beat(w, best)) {
            int rc = start_next(w, err, errlen);
            if (rc)
                return rc;
            best = best_of(w);
        }
        if (!best)
            return 0;
        if (skip > 0) {
            skip--;
        } else {
            if (fn && fn(ctx, best->st))
                return 0;
            left--;
        }
        best->rc = sqlite3_step(best->st);
        if (best->rc != SQLITE_ROW && best->rc != SQLITE_DONE)
            return query_step_error(w->q, w->q->db, best->rc, err, errlen);
    }
    return 0;
}

int query_flows_walk(struct query *q, const struct query_flows *req, struct qpart *parts, size_t n,
                     query_row_fn fn, void *ctx, char *err, size_t errlen)
{
    int64_t skip = req->offset > 0 ? req->offset : 0;
    struct query_flows each = *req;
    each.limit = req->limit + skip;
    each.offset = 0;
    if (n > 1)
        qsort(parts, n, sizeof(*parts), req->desc ? by_max_last_desc : by_min_first);
    struct walk w = {.q = q, .req = &each, .parts = parts, .n = n, .col = -1};
    w.s = xcalloc(n ? n : 1, sizeof(*w.s));
    int rc;
    if (n == 0) {
        /* no partition: one statement over the empty view, for the columns' sake */
        char *sql = query_flows_sql(parts, 0, &each, "first_ms");
        sqlite3_stmt *st;
        rc = query_prepare(q, sql, &st, err, errlen);
        free(sql);
        if (!rc) {
            int next = query_bind_range(st, req->from_ms, req->to_ms, req->filter);
            sqlite3_bind_int64(st, next, each.limit);
            sqlite3_bind_int64(st, next + 1, 0);
            rc = query_run(q, st, fn, ctx, err, errlen);
        }
        free(w.s);
        return rc;
    }
    q->deadline = q->limit_ms ? mono_ms() + q->limit_ms : 0;
    rc = walk_run(&w, fn, ctx, err, errlen, skip, req->limit);
    q->deadline = 0;
    for (size_t i = 0; i < w.started; i++)
        sqlite3_finalize(w.s[i].st);
    free(w.s);
    return rc;
}
