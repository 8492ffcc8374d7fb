/* query_agg.c - open-addressing hash table of top-N groups and aggregated records (see
 * query_agg.h). */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/satmath.h"
#include "common/xmalloc.h"
#include "query/query.h"
#include "query/query_agg.h"

void agg_init(struct agg *a)
{
    memset(a, 0, sizeof(*a));
}

void agg_free(struct agg *a)
{
    for (size_t i = 0; i < a->cap; i++)
        free(a->slots[i].s);
    free(a->slots);
    memset(a, 0, sizeof(*a));
}

static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 33);
}

static uint64_t hash_key(int type, int64_t i, const char *s, size_t len)
{
    if (type == SQLITE_INTEGER)
        return mix((uint64_t)i);
    if (type == SQLITE_NULL)
        return 0x9e3779b97f4a7c15ULL;
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t k = 0; k < len; k++)
        h = (h ^ (unsigned char)s[k]) * 1099511628211ULL;
    return mix(h);
}

static const char *text(const struct agg_group *g)
{
    return g->slen < AGG_INLINE ? g->inl : g->s;
}

const char *agg_key(const struct agg_group *g)
{
    return text(g);
}

static bool same(const struct agg_group *g, uint64_t h, int type, int64_t i, const char *s,
                 size_t len)
{
    if (g->hash != h || g->type != type)
        return false;
    if (type == SQLITE_INTEGER)
        return g->i == i;
    return type == SQLITE_NULL || (g->slen == len && memcmp(text(g), s, len) == 0);
}

static void grow(struct agg *a)
{
    size_t cap = a->cap ? a->cap * 2 : 1024;
    struct agg_group *slots = xcalloc(cap, sizeof(*slots));
    for (size_t i = 0; i < a->cap; i++) {
        if (!a->slots[i].type)
            continue;
        size_t j = a->slots[i].hash & (cap - 1);
        while (slots[j].type)
            j = (j + 1) & (cap - 1);
        slots[j] = a->slots[i];
    }
    free(a->slots);
    a->slots = slots;
    a->cap = cap;
}

/* The group of the key, created empty when new; NULL when there would be too many. */
static struct agg_group *find(struct agg *a, int type, int64_t i, const char *s, size_t len)
{
    if ((a->used + 1) * 2 > a->cap)
        grow(a);
    uint64_t h = hash_key(type, i, s, len);
    size_t j = h & (a->cap - 1);
    while (a->slots[j].type) {
        if (same(&a->slots[j], h, type, i, s, len))
            return &a->slots[j];
        j = (j + 1) & (a->cap - 1);
    }
    if (a->used >= AGG_MAX_GROUPS)
        return NULL;
    struct agg_group *g = &a->slots[j];
    g->hash = h;
    g->type = type;
    g->i = i;
    g->first = INT64_MAX;
    g->last = INT64_MIN;
    g->flags = -1;
    if (type == SQLITE_TEXT || type == SQLITE_BLOB) {
        char *to = len < AGG_INLINE ? g->inl : (g->s = xmalloc(len + 1));
        memcpy(to, s, len);
        to[len] = '\0';
        g->slen = len;
    }
    a->used++;
    return g;
}

/* Sums saturate instead of overflowing (SQLite would fail with "integer overflow"). */
static void count(struct agg *a, struct agg_group *g, int64_t flows, int64_t packets, int64_t bytes)
{
    g->flows = sat_add(g->flows, flows);
    g->packets = sat_add(g->packets, packets);
    g->bytes = sat_add(g->bytes, bytes);
    a->total_flows = sat_add(a->total_flows, flows);
    a->total_packets = sat_add(a->total_packets, packets);
    a->total_bytes = sat_add(a->total_bytes, bytes);
}

/* Widens the group's span and ORs its flags (flags < 0: none). */
static void span(struct agg_group *g, int64_t first, int64_t last, int32_t flags)
{
    if (first < g->first)
        g->first = first;
    if (last > g->last)
        g->last = last;
    if (flags >= 0)
        g->flags = (g->flags < 0 ? 0 : g->flags) | flags;
}

/* One flow of the row, its AGG_COUNTERS from column c on, into g. */
static void tally(struct agg *a, struct agg_group *g, sqlite3_stmt *row, int c)
{
    count(a, g, 1, sqlite3_column_int64(row, c), sqlite3_column_int64(row, c + 1));
    bool flags = sqlite3_column_type(row, c + 4) != SQLITE_NULL;
    span(g, sqlite3_column_int64(row, c + 2), sqlite3_column_int64(row, c + 3),
         flags ? (int32_t)(sqlite3_column_int64(row, c + 4) & 0xffff) : -1);
}

int agg_add_key(struct agg *a, const void *key, size_t len, sqlite3_stmt *row, int col)
{
    struct agg_group *g = find(a, SQLITE_BLOB, 0, key, len);
    if (!g)
        return -1;
    tally(a, g, row, col);
    return 0;
}

const struct agg_group *agg_find_key(const struct agg *a, const void *key, size_t len)
{
    if (!a->cap)
        return NULL;
    uint64_t h = hash_key(SQLITE_BLOB, 0, key, len);
    for (size_t j = h & (a->cap - 1); a->slots[j].type; j = (j + 1) & (a->cap - 1))
        if (same(&a->slots[j], h, SQLITE_BLOB, 0, key, len))
            return &a->slots[j];
    return NULL;
}

int agg_add(struct agg *a, sqlite3_stmt *row)
{
    int type = sqlite3_column_type(row, 0);
    struct agg_group *g;
    if (type == SQLITE_INTEGER || type == SQLITE_NULL) {
        g = find(a, type, type == SQLITE_NULL ? 0 : sqlite3_column_int64(row, 0), NULL, 0);
    } else {
        const char *s = (const char *)sqlite3_column_text(row, 0);
        g = find(a, SQLITE_TEXT, 0, s ? s : "", (size_t)sqlite3_column_bytes(row, 0));
    }
    if (!g)
        return -1;
    tally(a, g, row, 1);
    return 0;
}

int agg_merge(struct agg *into, const struct agg *from)
{
    for (size_t i = 0; i < from->cap; i++) {
        const struct agg_group *f = &from->slots[i];
        if (!f->type)
            continue;
        struct agg_group *g = find(into, f->type, f->i, text(f), f->slen);
        if (!g)
            return -1;
        count(into, g, f->flows, f->packets, f->bytes);
        span(g, f->first, f->last, f->flags);
    }
    return 0;
}

struct agg_row agg_row_of(const struct agg_group *g, const struct agg_group *rev)
{
    struct agg_row r = {.g = g,
                        .rev = rev,
                        .flows = g->flows,
                        .packets = g->packets,
                        .bytes = g->bytes,
                        .first = g->first,
                        .last = g->last};
    if (rev) {
        r.flows = sat_add(r.flows, rev->flows);
        r.packets = sat_add(r.packets, rev->packets);
        r.bytes = sat_add(r.bytes, rev->bytes);
        r.first = rev->first < r.first ? rev->first : r.first;
        r.last = rev->last > r.last ? rev->last : r.last;
    }
    return r;
}

/* A per-second rate over the row's span, as nfdump orders by it (1000 * n / ms); in double,
 * where 1000 * n could overflow. */
static double rate(const struct agg_row *r, int64_t n)
{
    double ms = (double)r->last - (double)r->first;
    return ms > 0 ? 1000.0 * (double)n / ms : 0;
}

/* The row's value for the order, larger first (times negated: oldest first). */
static double value(const struct agg_row *r, int order)
{
    switch (order) {
    case QO_PACKETS:
        return (double)r->packets;
    case QO_BYTES:
        return (double)r->bytes;
    case QO_PPS:
        return rate(r, r->packets);
    case QO_BPS:
        return 8 * rate(r, r->bytes);
    case QO_BPP:
        return r->packets ? (double)(r->bytes / r->packets) : 0;
    case QO_TSTART:
        return -(double)r->first;
    case QO_TEND:
        return -(double)r->last;
    default:
        return (double)r->flows;
    }
}

static int key_rank(int type)
{
    return type == SQLITE_NULL ? 0 : type == SQLITE_INTEGER ? 1 : type == SQLITE_TEXT ? 2 : 3;
}

static int cmp_keys(const struct agg_group *a, const struct agg_group *b)
{
    if (a->type != b->type)
        return key_rank(a->type) - key_rank(b->type);
    if (a->type == SQLITE_INTEGER)
        return (a->i > b->i) - (a->i < b->i);
    if (a->type == SQLITE_NULL)
        return 0;
    int r = memcmp(text(a), text(b), a->slen < b->slen ? a->slen : b->slen);
    return r ? r : (a->slen > b->slen) - (a->slen < b->slen);
}

/* Exact for counters and times up to 2^53; beyond, ties may be broken by key. */
static int cmp_rows(const void *pa, const void *pb, void *order)
{
    const struct agg_row *a = pa, *b = pb;
    double va = value(a, *(int *)order), vb = value(b, *(int *)order);
    if (va != vb)
        return va > vb ? -1 : 1;
    return cmp_keys(a->g, b->g);
}

void agg_sort(struct agg_row *rows, size_t n, int order)
{
    qsort_r(rows, n, sizeof(*rows), cmp_rows, &order);
}

struct agg_row *agg_top(struct agg *a, int order, int64_t limit, size_t *n)
{
    struct agg_row *all = xcalloc(a->used ? a->used : 1, sizeof(*all));
    size_t k = 0;
    for (size_t i = 0; i < a->cap; i++)
        if (a->slots[i].type)
            all[k++] = agg_row_of(&a->slots[i], NULL);
    agg_sort(all, k, order);
    *n = limit > 0 && (size_t)limit < k ? (size_t)limit : k;
    return all;
}

void agg_bind_key(const struct agg_group *g, sqlite3_stmt *st, int idx)
{
    if (g->type == SQLITE_INTEGER)
        sqlite3_bind_int64(st, idx, g->i);
    else if (g->type == SQLITE_TEXT)
        sqlite3_bind_text(st, idx, text(g), (int)g->slen, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, idx);
}
