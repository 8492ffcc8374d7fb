/* query_timeline.c - flows, packets and bytes per time bucket (the web overview's chart).
 *
 * Only the partitions the range can touch are read (query_partitions), and the buckets are
 * counted here in an array while SQLite streams (first_ms, packets, bytes): a GROUP BY over
 * the `flows` view would read every partition of the store (no index on first_ms since
 * partitions are pruned instead, doc/storage.md) and sort every row. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "storage/query_int.h"

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
    char *sql = query_union(parts, np, selects, f);
    query_partitions_free(parts, np);
    sqlite3_stmt *st;
    rc = query_prepare(q, sql, &st, err, errlen);
    free(sql);
    if (rc)
        return rc;
    query_bind_range(st, from, to, f);
    struct tl t = {.from = from, .to = to, .step = step, .n = n, .b = buckets};
    return query_run(q, st, add_row, &t, err, errlen);
}
