/* query_agg.h - the hash aggregation behind top-N statistics (query_top.c) and aggregated
 * records (query_aggregate.c): groups rows of (key, packets, bytes, first_ms, last_ms,
 * tcp_flags) by key, counting flows, summing packets and bytes, and keeping the span and the
 * OR of the flags. Private to query/query*. */
#ifndef FLOWHOUND_QUERY_AGG_H
#define FLOWHOUND_QUERY_AGG_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

/* Distinct keys one statistic may hold (about 100 bytes each): beyond, the query fails. */
#define AGG_MAX_GROUPS 5000000

/* Text keys up to AGG_INLINE - 1 bytes (every address) live in the slot itself: one cache
 * miss per row instead of two, which was most of the time of `-s srcip` on 10 M flows. */
#define AGG_INLINE 48

struct agg_group {
    uint64_t hash;
    /* 0: free slot; SQLITE_NULL, SQLITE_INTEGER or SQLITE_TEXT; SQLITE_BLOB for a key of
     * several columns (query_aggregate.c encodes them; kept like text) */
    int type;
    int64_t i;
    size_t slen;
    char inl[AGG_INLINE]; /* the text key when slen < AGG_INLINE */
    char *s;              /* otherwise */
    int64_t flows, packets, bytes;
    int64_t first, last; /* the earliest first_ms, the latest last_ms */
    int32_t flags;       /* OR of tcp_flags; -1: no flow carried any */
};

struct agg {
    struct agg_group *slots;
    size_t cap, used;
    int64_t total_flows, total_packets, total_bytes;
};

void agg_init(struct agg *a);
void agg_free(struct agg *a);
/* Adds one row: column 0 the key, then AGG_COUNTERS. -1 when AGG_MAX_GROUPS is reached. */
int agg_add(struct agg *a, sqlite3_stmt *row);
/* The same with a key of several columns, encoded by the caller into len bytes (compared and
 * ordered as bytes), and the counters from column `col` on. */
int agg_add_key(struct agg *a, const void *key, size_t len, sqlite3_stmt *row, int col);
/* The counter columns each row has after its key. */
#define AGG_COUNTERS "packets, bytes, first_ms, last_ms, tcp_flags"
/* The group of an encoded key, or NULL. */
const struct agg_group *agg_find_key(const struct agg *a, const void *key, size_t len);
/* The bytes of a group's text or encoded key. */
const char *agg_key(const struct agg_group *g);
/* Adds every group of `from` into `into`. -1 when AGG_MAX_GROUPS is reached. */
int agg_merge(struct agg *into, const struct agg *from);

/* One record to hand out: a group, or (bidirectional aggregation) a group and the group of
 * its reverse direction, with their sums. */
struct agg_row {
    const struct agg_group *g, *rev;
    int64_t flows, packets, bytes, first, last;
};
/* A row of g and rev (may be NULL). */
struct agg_row agg_row_of(const struct agg_group *g, const struct agg_group *rev);
/* Sorts rows by order (enum query_order), ties by key in SQLite's order (NULL, numbers,
 * text, encoded keys). */
void agg_sort(struct agg_row *rows, size_t n, int order);
/* The `limit` first groups by order. The array is the caller's; the groups stay in a. */
struct agg_row *agg_top(struct agg *a, int order, int64_t limit, size_t *n);
/* Binds the group's key to st's parameter idx. */
void agg_bind_key(const struct agg_group *g, sqlite3_stmt *st, int idx);

#endif
