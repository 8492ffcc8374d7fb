/* query_fanout.c - one scan over many partitions, split between threads.
 *
 * A scan of the partitions in a time range parallelizes: each worker gets a contiguous share
 * of the partitions (balanced by their row counts), its own read-only connection and a
 * statement over just its share, and steps it in its own thread. The caller says what the
 * statement is and what a share does with its rows, and merges what the shares leave once
 * they are joined (sorted streams, hash tables, bucket counts). Every connection watches the
 * query's one deadline, so the time limit holds for the whole. With one share nothing is
 * opened or started: it runs in the calling thread on the query's own connection. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "query/query_int.h"

/* Splits parts into k <= n contiguous, non-empty shares of about equal rows (k == 1 also
 * with n == 0): share i is [cut[i], cut[i+1]). */
static void split(const struct qpart *parts, size_t n, size_t k, size_t *cut)
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

size_t query_fanout_shares(const struct query *q, size_t n)
{
    if (q->threads < 2 || n < 2)
        return 1;
    return (size_t)q->threads < n ? (size_t)q->threads : n;
}

static char *union_sql(const struct qfanout *fo, const struct qpart *parts, size_t n)
{
    return fo->sql ? fo->sql(fo->arg, parts, n) : query_union(parts, n, fo->selects, fo->filter);
}

/* Opens the share's own connection (own) and prepares and binds its statement over parts. */
static int prepare_share(struct qshare *s, bool own, const struct qpart *parts, size_t n, char *err,
                         size_t errlen)
{
    if (s->q->ch)
        return query_ch_prepare_share(s, err, errlen);
    s->db = own ? query_connect(s->q, err, errlen) : s->q->db;
    if (!s->db)
        return QUERY_EFAIL;
    char *sql = union_sql(s->fo, parts, n);
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &s->st, NULL);
    free(sql);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "preparing the query: %s", sqlite3_errmsg(s->db));
        return QUERY_EFAIL;
    }
    int next = query_bind_range(s->st, s->fo->from, s->fo->to, s->fo->filter);
    if (s->fo->bind)
        s->fo->bind(s->fo->arg, s->st, next);
    return 0;
}

static void *run_share(void *arg)
{
    struct qshare *s = arg;
    s->fo->run(s->fo->arg, s);
    return NULL;
}

/* Runs every share in its own thread and waits for them all. */
static void run_threads(struct qshare *s, size_t k)
{
    pthread_t *tid = xcalloc(k, sizeof(*tid));
    size_t started = 0;
    for (; started < k; started++)
        if (pthread_create(&tid[started], NULL, run_share, &s[started]) != 0) {
            s[started].rc = SQLITE_ERROR;
            snprintf(s[started].err, sizeof(s[started].err), "cannot start a query thread");
            break;
        }
    for (size_t i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    free(tid);
}

int query_fanout(struct query *q, const struct qfanout *fo, const struct qpart *parts, size_t n,
                 size_t k, struct qshare **shares, char *err, size_t errlen)
{
    struct qshare *s = *shares = xcalloc(k, sizeof(*s));
    size_t *cut = xcalloc(k + 1, sizeof(*cut));
    split(parts, n, k, cut);
    q->deadline = q->limit_ms ? mono_ms() + q->limit_ms : 0;
    for (size_t i = 0; i < k; i++)
        s[i] = (struct qshare){.q = q, .fo = fo, .i = i, .rc = SQLITE_DONE};
    int rc = 0;
    for (size_t i = 0; i < k && !rc; i++)
        rc = prepare_share(&s[i], k > 1, parts + cut[i], cut[i + 1] - cut[i], err, errlen);
    free(cut);
    if (rc)
        return rc;
    if (k == 1)
        run_share(&s[0]);
    else
        run_threads(s, k);
    return query_fanout_error(s, k, err, errlen);
}

int query_fanout_error(const struct qshare *s, size_t k, char *err, size_t errlen)
{
    for (size_t i = 0; i < k; i++) {
        if (s[i].rc == SQLITE_ROW || s[i].rc == SQLITE_DONE)
            continue;
        if (!s[i].err[0])
            return query_step_error(s[i].q, s[i].db, s[i].rc, err, errlen);
        snprintf(err, errlen, "%s", s[i].err);
        return QUERY_EFAIL;
    }
    return 0;
}

void query_fanout_close(struct qshare *s, size_t k)
{
    s[0].q->deadline = 0;
    for (size_t i = 0; i < k; i++) {
        sqlite3_finalize(s[i].st);
        if (s[i].db != s[i].q->db)
            sqlite3_close(s[i].db);
    }
    free(s);
}
