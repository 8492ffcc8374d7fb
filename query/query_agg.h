/* query_agg.h - the hash aggregation behind top-N statistics (query_top.c): groups rows of
 * (key, packets, bytes) by key, counting flows and summing packets and bytes. Private to
 * query/query*. */
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
    int type; /* 0: free slot; SQLITE_NULL, SQLITE_INTEGER or SQLITE_TEXT */
    int64_t i;
    size_t slen;
    char inl[AGG_INLINE]; /* the text key when slen < AGG_INLINE */
    char *s;              /* otherwise */
    int64_t flows, packets, bytes;
};

struct agg {
    struct agg_group *slots;
    size_t cap, used;
    int64_t total_flows, total_packets, total_bytes;
};

void agg_init(struct agg *a);
void agg_free(struct agg *a);
/* Adds one row: column 0 the key, 1 packets, 2 bytes. -1 when AGG_MAX_GROUPS is reached. */
int agg_add(struct agg *a, sqlite3_stmt *row);
/* Adds every group of `from` into `into`. -1 when AGG_MAX_GROUPS is reached. */
int agg_merge(struct agg *into, const struct agg *from);
/* The `limit` largest groups by order (0 flows, 1 packets, 2 bytes), ties by key in SQLite's
 * order (NULL, numbers, text). The array is the caller's; the groups stay in a. */
struct agg_group **agg_top(struct agg *a, int order, int64_t limit, size_t *n);
/* Binds the group's key to st's parameter idx. */
void agg_bind_key(const struct agg_group *g, sqlite3_stmt *st, int idx);

#endif
