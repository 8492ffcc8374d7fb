/* hunt.c - endpoint keys and the SQL of the story's hunt: every flow of one client address
 * and port over a time range, through the one integer index of each partition. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/xmalloc.h"
#include "storage/store_int.h"

int64_t store_endpoint_key(const struct fh_addr *a, uint16_t port)
{
    if (a->family == 4) {
        uint64_t v4 = (uint64_t)a->bytes[0] << 24 | (uint64_t)a->bytes[1] << 16 |
                      (uint64_t)a->bytes[2] << 8 | a->bytes[3];
        return (int64_t)(v4 << 16 | port);
    }
    if (a->family == 6) {
        /* FNV-1a over the 16 bytes: stable across versions (keys are stored on disk). */
        uint64_t h = 0xcbf29ce484222325ULL;
        for (int i = 0; i < 16; i++) {
            h ^= a->bytes[i];
            h *= 0x100000001b3ULL;
        }
        return (int64_t)(1ULL << 62 | (h & ((1ULL << 46) - 1)) << 16 | port);
    }
    return port;
}

void store_bind_hunt(sqlite3_stmt *st, const struct fh_addr *a, uint16_t port, int64_t from_ms,
                     int64_t to_ms)
{
    char text[FH_ADDR_STRLEN];
    addr_to_str(a, text, sizeof(text));
    sqlite3_bind_int64(st, 1, store_endpoint_key(a, port));
    sqlite3_bind_text(st, 2, text, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 3, port);
    sqlite3_bind_int64(st, 4, from_ms);
    sqlite3_bind_int64(st, 5, to_ms);
}

/* A growing string. */
struct sbuf {
    char *s;
    size_t len, cap;
};

static void sb_add(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_add(struct sbuf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n >= 0 && b->s && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        b->cap = (b->cap + (size_t)(n > 0 ? n : 0) + 1) * 2;
        b->s = xreallocarray(b->s, b->cap, 1);
    }
}

/* Separator before UNION ALL term i: nests groups so no compound exceeds SQLite's limit. */
static void sb_union(struct sbuf *b, size_t i)
{
    if (i == 0)
        sb_add(b, "SELECT * FROM (");
    else if (i % STORE_VIEW_GROUP == 0)
        sb_add(b, ") UNION ALL SELECT * FROM (");
    else
        sb_add(b, " UNION ALL ");
}

#define FROM_EP "src_key = ?1 AND src_addr = ?2 AND src_port = ?3"
/* +dst_port: the replies are found through (src_key, dst_key); without the plus SQLite
 * would pick the dst_port index (one equality looks as good to it as two) and read every
 * flow to the client's port. */
#define TO_EP   "dst_key = ?1 AND dst_addr = ?2 AND +dst_port = ?3"
#define IN_TIME "last_ms >= ?4 AND first_ms <= ?5"

static int hunt_fail(sqlite3 *db, char *err, size_t errlen)
{
    snprintf(err, errlen, "finding the endpoint's peers: %s", sqlite3_errmsg(db));
    return -1;
}

/* Keys of the endpoints `a:port` sent flows to in the indexed partitions of ps (distinct;
 * at most max). One small compound over the index: the expensive part of a big statement
 * is preparing it, so this one selects a single column. */
static int peer_keys(sqlite3 *db, const struct store_partition *ps, size_t n,
                     const struct fh_addr *a, uint16_t port, int64_t from_ms, int64_t to_ms,
                     int64_t **keys, size_t *nkeys, char *err, size_t errlen)
{
    struct sbuf b = {0};
    size_t k = 0;
    *keys = NULL;
    *nkeys = 0;
    for (size_t i = 0; i < n; i++) {
        if (!ps[i].indexed)
            continue;
        sb_union(&b, k++);
        sb_add(&b, "SELECT dst_key FROM \"%s\" WHERE " FROM_EP " AND " IN_TIME, ps[i].name);
    }
    if (k == 0)
        return 0;
    sb_add(&b, ")");
    char *sql = xasprintf("SELECT DISTINCT dst_key FROM (%s) LIMIT 10000", b.s);
    free(b.s);
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    free(sql);
    if (rc != SQLITE_OK)
        return hunt_fail(db, err, errlen);
    store_bind_hunt(st, a, port, from_ms, to_ms);
    size_t cap = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*nkeys == cap) {
            cap = cap ? cap * 2 : 16;
            *keys = xreallocarray(*keys, cap, sizeof(**keys));
        }
        (*keys)[(*nkeys)++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        free(*keys);
        *keys = NULL;
        *nkeys = 0;
        return hunt_fail(db, err, errlen);
    }
    return 0;
}

char *store_client_port_sql(struct store *s, const struct fh_addr *a, uint16_t port,
                            int64_t from_ms, int64_t to_ms, char *err, size_t errlen)
{
    return store_client_port_sql_db(store_sqlite(s), a, port, from_ms, to_ms, err, errlen);
}

char *store_client_port_sql_db(sqlite3 *db, const struct fh_addr *a, uint16_t port, int64_t from_ms,
                               int64_t to_ms, char *err, size_t errlen)
{
    struct store_partition *ps;
    size_t n;
    if (store_partition_list_db(db, from_ms, to_ms, &ps, &n, err, errlen))
        return NULL;
    int64_t *peers;
    size_t npeers;
    if (peer_keys(db, ps, n, a, port, from_ms, to_ms, &peers, &npeers, err, errlen)) {
        free(ps);
        return NULL;
    }
    struct sbuf b = {0};
    struct sbuf in = {0};
    for (size_t i = 0; i < npeers; i++)
        sb_add(&in, "%s%lld", i ? "," : "", (long long)peers[i]);
    free(peers);
    size_t k = 0;
    sb_add(&b, "SELECT * FROM (");
    for (size_t i = 0; i < n; i++) {
        sb_union(&b, k++);
        if (!ps[i].indexed) {
            /* the partition being filled has no index: one scan for both directions */
            sb_add(&b, "SELECT %s FROM \"%s\" WHERE ((" FROM_EP ") OR (" TO_EP ")) AND " IN_TIME,
                   store_flow_columns, ps[i].name);
            continue;
        }
        sb_add(&b, "SELECT %s FROM \"%s\" WHERE " FROM_EP " AND " IN_TIME, store_flow_columns,
               ps[i].name);
        if (npeers == 0)
            continue;
        /* Replies: from a peer (index on src_key) to the endpoint (dst_key, the next column
         * of the same index). A flow from the endpoint to itself is already above. */
        sb_union(&b, k++);
        sb_add(&b,
               "SELECT %s FROM \"%s\" WHERE src_key IN (%s) AND " TO_EP " AND " IN_TIME
               " AND NOT (" FROM_EP ")",
               store_flow_columns, ps[i].name, in.s);
    }
    free(in.s);
    free(ps);
    if (k == 0) {
        free(b.s);
        return xstrdup("SELECT * FROM flows WHERE 0 AND ?1 AND ?2 AND ?3 AND ?4 AND ?5");
    }
    sb_add(&b, ")) ORDER BY first_ms");
    return b.s;
}
