/* query_timeline.c - flows, packets and bytes per time bucket (the web overview's chart).
 *
 * Only the partitions the range can touch are read (query_partitions), and the buckets are
 * counted here in an array while SQLite streams (first_ms, packets, bytes): a GROUP BY over
 * the `flows` view would read every partition of the store (no index on first_ms since
 * partitions are pruned instead, doc/storage.md) and sort every row. Shares of the
 * partitions are counted in threads (query_fanout.c), each into its own buckets. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/satmath.h"
#include "common/xmalloc.h"
#include "query/query_int.h"

struct tl {
    int64_t from, to, step;
    size_t n;
    struct query_bucket *b;
};

/* Sums saturate: one exporter's 2^63 - 1 bytes must not overflow a bucket (common/satmath.h). */
static void bucket_add(struct query_bucket *b, int64_t flows, int64_t packets, int64_t bytes)
{
    b->flows = sat_add(b->flows, flows);
    b->packets = sat_add(b->packets, packets);
    b->bytes = sat_add(b->bytes, bytes);
}

static void add_row(struct tl *t, sqlite3_stmt *row)
{
    int64_t first = sqlite3_column_int64(row, 0);
    if (first < t->from || first > t->to)
        return; /* overlaps the range, but starts outside it */
    /* first >= from: their distance fits in 64 unsigned bits, whatever the range */
    uint64_t i = ((uint64_t)first - (uint64_t)t->from) / (uint64_t)t->step;
    if (i >= t->n)
        i = t->n - 1;
    bucket_add(&t->b[i], 1, sqlite3_column_int64(row, 1), sqlite3_column_int64(row, 2));
}

/* A share's rows into its own buckets (arg: one struct tl per share). */
static void count_share(void *arg, struct qshare *s)
{
    struct tl *t = (struct tl *)arg + s->i;
    while ((s->rc = sqlite3_step(s->st)) == SQLITE_ROW)
        add_row(t, s->st);
}

/* Shares of the partitions counted each into its own buckets (query_fanout.c), summed. */
static int count_shares(struct query *q, const struct filter *f, const struct qpart *parts,
                        size_t np, struct tl *t, char *err, size_t errlen)
{
    static const char *const selects[] = {"first_ms, packets, bytes", NULL};
    size_t k = query_fanout_shares(q, np);
    struct tl *each = xcalloc(k, sizeof(*each));
    for (size_t i = 0; i < k; i++) {
        each[i] = *t;
        each[i].b = xcalloc(t->n, sizeof(*t->b));
    }
    struct qfanout fo = {.from = t->from,
                         .to = t->to,
                         .filter = f,
                         .selects = selects,
                         .run = count_share,
                         .arg = each};
    struct qshare *s;
    int rc = query_fanout(q, &fo, parts, np, k, &s, err, errlen);
    query_fanout_close(s, k);
    for (size_t i = 0; i < k; i++) {
        for (size_t b = 0; b < t->n && !rc; b++)
            bucket_add(&t->b[b], each[i].b[b].flows, each[i].b[b].packets, each[i].b[b].bytes);
        free(each[i].b);
    }
    free(each);
    return rc;
}

int query_timeline(struct query *q, const struct filter *f, int64_t from, int64_t to, int64_t step,
                   struct query_bucket *buckets, size_t n, char *err, size_t errlen)
{
    memset(buckets, 0, n * sizeof(*buckets));
    if (step < 1 || n == 0) {
        snprintf(err, errlen, "a timeline needs a step of at least 1 ms and a bucket");
        return QUERY_EINVALID;
    }
    if (q->ch)
        return query_ch_timeline(q, f, from, to, step, buckets, n, err, errlen);
    struct qpart *parts;
    size_t np;
    int rc = query_partitions(q, from, to, f, &parts, &np, err, errlen);
    if (rc)
        return rc;
    struct tl t = {.from = from, .to = to, .step = step, .n = n, .b = buckets};
    rc = count_shares(q, f, parts, np, &t, err, errlen);
    query_partitions_free(parts, np);
    return rc;
}
