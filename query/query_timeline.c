/* query_timeline.c - flows, packets and bytes per time bucket (the web overview's chart).
 *
 * Only the partitions the range can touch are read (query_partitions), and the buckets are
 * counted here in an array while SQLite streams (first_ms, packets, bytes): a GROUP BY over
 * the `flows` view would read every partition of the store (no index on first_ms since
 * partitions are pruned instead, doc/storage.md) and sort every row. Shares of the
 * partitions are counted in threads (as query_top.c does), each into its own buckets. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "query/query_int.h"

struct tl {
    int64_t from, to, step;
    size_t n;
    struct query_bucket *b;
};

static int add_row(void *ctx, sqlite3_stmt *row)
{
    struct tl *t = ctx;
    int64_t first = sqlite3_column_int64(row, 0);
    if (first < t->from || first > t->to)
        return 0; /* overlaps the range, but starts outside it */
    uint64_t i = (uint64_t)(first - t->from) / (uint64_t)t->step;
    if (i >= t->n)
        i = t->n - 1;
    t->b[i].flows++;
    t->b[i].packets += sqlite3_column_int64(row, 1);
    t->b[i].bytes += sqlite3_column_int64(row, 2);
    return 0;
}

/* One share of the partitions: its own connection, statement and buckets. */
struct tl_worker {
    struct query *q;
    sqlite3 *db;
    sqlite3_stmt *st;
    struct tl t;
    int rc;
    pthread_t tid;
    bool started;
};

static void *tl_run(void *arg)
{
    struct tl_worker *w = arg;
    while ((w->rc = sqlite3_step(w->st)) == SQLITE_ROW)
        add_row(&w->t, w->st);
    return NULL;
}

static int tl_prepare(struct tl_worker *w, const struct qpart *parts, size_t n,
                      const struct filter *f, char *err, size_t errlen)
{
    static const char *const selects[] = {"first_ms, packets, bytes", NULL};
    w->db = query_connect(w->q, err, errlen);
    if (!w->db)
        return QUERY_EFAIL;
    char *sql = query_union(parts, n, selects, f);
    int rc = sqlite3_prepare_v2(w->db, sql, -1, &w->st, NULL);
    free(sql);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "preparing the timeline: %s", sqlite3_errmsg(w->db));
        return QUERY_EFAIL;
    }
    query_bind_range(w->st, w->t.from, w->t.to, f);
    return 0;
}

/* Shares of the partitions counted by k threads, each into its own buckets, summed. */
static int tl_parallel(struct query *q, const struct filter *f, const struct qpart *parts,
                       size_t np, size_t k, struct tl *t, char *err, size_t errlen)
{
    struct tl_worker *w = xcalloc(k, sizeof(*w));
    size_t *cut = xcalloc(k + 1, sizeof(*cut));
    query_split(parts, np, k, cut);
    int rc = 0;
    q->deadline = q->limit_ms ? mono_ms() + q->limit_ms : 0;
    for (size_t i = 0; i < k && !rc; i++) {
        w[i].q = q;
        w[i].t = *t;
        w[i].t.b = xcalloc(t->n, sizeof(*t->b));
        rc = tl_prepare(&w[i], parts + cut[i], cut[i + 1] - cut[i], f, err, errlen);
    }
    for (size_t i = 0; i < k && !rc; i++)
        w[i].started = pthread_create(&w[i].tid, NULL, tl_run, &w[i]) == 0;
    for (size_t i = 0; i < k; i++) {
        if (w[i].started)
            pthread_join(w[i].tid, NULL);
        else if (!rc && w[i].st)
            tl_run(&w[i]); /* no thread: count it here */
    }
    q->deadline = 0;
    for (size_t i = 0; i < k && !rc; i++) {
        if (w[i].rc == SQLITE_INTERRUPT) {
            snprintf(err, errlen,
                     "query took too long (more than %lld ms): narrow the time range or make "
                     "the filter more selective",
                     (long long)q->limit_ms);
            rc = QUERY_ETIMEOUT;
        } else if (w[i].rc != SQLITE_DONE) {
            snprintf(err, errlen, "running the timeline: %s", sqlite3_errmsg(w[i].db));
            rc = QUERY_EFAIL;
        }
    }
    for (size_t i = 0; i < k; i++) {
        for (size_t b = 0; b < t->n && !rc; b++) {
            t->b[b].flows += w[i].t.b[b].flows;
            t->b[b].packets += w[i].t.b[b].packets;
            t->b[b].bytes += w[i].t.b[b].bytes;
        }
        free(w[i].t.b);
        sqlite3_finalize(w[i].st);
        sqlite3_close(w[i].db);
    }
    free(cut);
    free(w);
    return rc;
}

int query_timeline(struct query *q, const struct filter *f, int64_t from, int64_t to, int64_t step,
                   struct query_bucket *buckets, size_t n, char *err, size_t errlen)
{
    static const char *const selects[] = {"first_ms, packets, bytes", NULL};
    memset(buckets, 0, n * sizeof(*buckets));
    if (step < 1 || n == 0) {
        snprintf(err, errlen, "a timeline needs a step of at least 1 ms and a bucket");
        return QUERY_EINVALID;
    }
    struct qpart *parts;
    size_t np;
    int rc = query_partitions(q, from, to, f, &parts, &np, err, errlen);
    if (rc)
        return rc;
    struct tl t = {.from = from, .to = to, .step = step, .n = n, .b = buckets};
    size_t k = q->threads > 1 && np >= 2 ? ((size_t)q->threads < np ? (size_t)q->threads : np) : 1;
    if (k > 1) {
        rc = tl_parallel(q, f, parts, np, k, &t, err, errlen);
        query_partitions_free(parts, np);
        return rc;
    }
    char *sql = query_union(parts, np, selects, f);
    query_partitions_free(parts, np);
    sqlite3_stmt *st;
    rc = query_prepare(q, sql, &st, err, errlen);
    free(sql);
    if (rc)
        return rc;
    query_bind_range(st, from, to, f);
    return query_run(q, st, add_row, &t, err, errlen);
}
