/* query_agg.c - open-addressing hash table of top-N groups (see query_agg.h). */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/satmath.h"
#include "common/xmalloc.h"
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
    if (type == SQLITE_TEXT) {
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
    count(a, g, 1, sqlite3_column_int64(row, 1), sqlite3_column_int64(row, 2));
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
    }
    return 0;
}

static int64_t value(const struct agg_group *g, int order)
{
    return order == 0 ? g->flows : order == 1 ? g->packets : g->bytes;
}

static int key_rank(int type)
{
    return type == SQLITE_NULL ? 0 : type == SQLITE_INTEGER ? 1 : 2;
}

static int cmp_groups(const void *pa, const void *pb, void *order)
{
    const struct agg_group *a = *(const struct agg_group *const *)pa;
    const struct agg_group *b = *(const struct agg_group *const *)pb;
    int64_t va = value(a, *(int *)order), vb = value(b, *(int *)order);
    if (va != vb)
        return va > vb ? -1 : 1;
    if (a->type != b->type)
        return key_rank(a->type) - key_rank(b->type);
    if (a->type == SQLITE_INTEGER)
        return (a->i > b->i) - (a->i < b->i);
    if (a->type == SQLITE_NULL)
        return 0;
    int r = memcmp(text(a), text(b), a->slen < b->slen ? a->slen : b->slen);
    return r ? r : (a->slen > b->slen) - (a->slen < b->slen);
}

struct agg_group **agg_top(struct agg *a, int order, int64_t limit, size_t *n)
{
    struct agg_group **all = xcalloc(a->used ? a->used : 1, sizeof(*all));
    size_t k = 0;
    for (size_t i = 0; i < a->cap; i++)
        if (a->slots[i].type)
            all[k++] = &a->slots[i];
    qsort_r(all, k, sizeof(*all), cmp_groups, &order);
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
