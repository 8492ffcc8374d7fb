/* query_aggregate.c - aggregated records (nfdump -A FIELDS, -a, -b, -s record): group the
 * selected flows by several fields at once, with flows, packets, bytes, span and flags per
 * record.
 *
 * As for top-N (query_top.c), SQLite streams the key columns and the counters of the selected
 * flows, and the grouping is the hash table of query_agg.c, one per share of the partitions,
 * merged at the end. A key of several columns is encoded here into bytes that compare as the
 * columns would one after the other (NULL, numbers, text, addresses in numeric order), so the
 * table needs no notion of columns. Addresses are encoded as their 17 bytes, which is where
 * nfdump's srcip4/24 cut happens.
 *
 * Bidirectional records (-b) need no second table: the 5-tuple groups are paired at the end
 * with the group of their reverse 5-tuple. Which of the two is the forward direction is that
 * of the earlier flow (nfdump takes the one it read first, which depends on file order). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/prefix.h"
#include "common/xmalloc.h"
#include "query/query_agg.h"
#include "query/query_int.h"

static const struct {
    const char *name;
    const char *col;
    bool addr; /* encoded as an address (and cut to a prefix) */
} fields[QF_COUNT] = {
    [QF_PROTO] = {"proto", "proto", false},        [QF_SRCIP] = {"srcip", "src_addr", true},
    [QF_DSTIP] = {"dstip", "dst_addr", true},      [QF_SRCPORT] = {"srcport", "src_port", false},
    [QF_DSTPORT] = {"dstport", "dst_port", false}, [QF_SRCAS] = {"srcas", "src_as", false},
    [QF_DSTAS] = {"dstas", "dst_as", false},       [QF_INIF] = {"inif", "in_if", false},
    [QF_OUTIF] = {"outif", "out_if", false},       [QF_SRCMASK] = {"srcmask", "src_mask", false},
    [QF_DSTMASK] = {"dstmask", "dst_mask", false}, [QF_TOS] = {"tos", "tos", false},
    [QF_NEXTHOP] = {"next", "next_hop", true},     [QF_ROUTER] = {"router", "exporter", true},
    [QF_ODID] = {"odid", "domain", false},
};

/* Key encoding: a tag byte per column, then its value. */
enum { TAG_NULL, TAG_INT, TAG_TEXT, TAG_ADDR };
/* Text that is not an address (no column of the key holds such text today) is cut to this. */
#define TEXT_MAX 64
#define KEY_MAX  (QF_COUNT * (2 + TEXT_MAX))

const char *query_field_column(enum query_field f)
{
    return (size_t)f < QF_COUNT ? fields[f].col : "?";
}

/* "srcip4/24": the field and its prefix length for one family. */
static bool parse_cut(const char *name, enum query_field *out, unsigned *v4len, unsigned *v6len)
{
    bool src = !strncmp(name, "srcip", 5), dst = !strncmp(name, "dstip", 5);
    if (!src && !dst)
        return false;
    char fam = name[5];
    if ((fam != '4' && fam != '6') || name[6] != '/')
        return false;
    char *end;
    unsigned long len = strtoul(name + 7, &end, 10);
    if (end == name + 7 || *end || len > (fam == '4' ? 32u : 128u))
        return false;
    *out = src ? QF_SRCIP : QF_DSTIP;
    *(fam == '4' ? v4len : v6len) = (unsigned)len;
    return true;
}

bool query_field_parse(const char *name, enum query_field *out, unsigned *v4len, unsigned *v6len)
{
    for (size_t i = 0; i < QF_COUNT; i++)
        if (!strcmp(name, fields[i].name)) {
            *out = (enum query_field)i;
            return true;
        }
    if (!strcmp(name, "srctos")) { /* nfdump's other name of tos */
        *out = QF_TOS;
        return true;
    }
    return parse_cut(name, out, v4len, v6len);
}

/* ---- keys ---- */

struct keying {
    const struct query_aggregate *req;
    enum query_field f[QF_COUNT]; /* the key's fields, in column order */
    size_t n;
};

static unsigned cut_of(const struct keying *k, enum query_field f, int family)
{
    const struct query_aggregate *r = k->req;
    if (f == QF_SRCIP)
        return family == 4 ? r->src_v4len : r->src_v6len;
    if (f == QF_DSTIP)
        return family == 4 ? r->dst_v4len : r->dst_v6len;
    return 0;
}

/* An address column: its 17 bytes, cut to the field's prefix when one is set. */
static size_t put_addr(const struct keying *k, enum query_field f, const char *s, uint8_t *out)
{
    struct fh_addr a;
    if (!addr_from_str(s, &a))
        return 0;
    unsigned len = cut_of(k, f, a.family);
    struct fh_prefix p;
    if (len && prefix_make(&a, len, &p))
        a = p.addr;
    out[0] = TAG_ADDR;
    out[1] = a.family;
    memcpy(out + 2, a.bytes, 16);
    return 18;
}

/* Integers big-endian with the sign bit flipped, so that bytes order as numbers do. */
static size_t put_int(int64_t v, uint8_t *out)
{
    uint64_t u = (uint64_t)v ^ (1ULL << 63);
    out[0] = TAG_INT;
    for (int i = 0; i < 8; i++)
        out[1 + i] = (uint8_t)(u >> (56 - 8 * i));
    return 9;
}

static size_t put_text(const char *s, uint8_t *out)
{
    size_t n = strnlen(s, TEXT_MAX - 1);
    out[0] = TAG_TEXT;
    memcpy(out + 1, s, n);
    out[1 + n] = '\0';
    return n + 2;
}

/* The row's key columns (0 .. n-1) encoded into out (KEY_MAX bytes); returns the length. */
static size_t encode(const struct keying *k, sqlite3_stmt *row, uint8_t *out)
{
    size_t len = 0;
    for (size_t i = 0; i < k->n; i++) {
        int c = (int)i, type = sqlite3_column_type(row, c);
        const char *s = type == SQLITE_TEXT ? (const char *)sqlite3_column_text(row, c) : NULL;
        size_t w = 0;
        if (type == SQLITE_INTEGER)
            w = put_int(sqlite3_column_int64(row, c), out + len);
        else if (s && fields[k->f[i]].addr)
            w = put_addr(k, k->f[i], s, out + len);
        if (!w && s)
            w = put_text(s, out + len);
        if (!w) {
            out[len] = TAG_NULL;
            w = 1;
        }
        len += w;
    }
    return len;
}

/* Length of the encoded column at p. */
static size_t seg_len(const uint8_t *p)
{
    switch (p[0]) {
    case TAG_INT:
        return 9;
    case TAG_ADDR:
        return 18;
    case TAG_TEXT:
        return strlen((const char *)p + 1) + 2;
    default:
        return 1;
    }
}

/* Binds the encoded columns to st's parameters 1 .. n. */
static void bind_key(const uint8_t *p, size_t n, sqlite3_stmt *st)
{
    for (size_t i = 0; i < n; p += seg_len(p), i++) {
        int idx = (int)i + 1;
        if (p[0] == TAG_INT) {
            uint64_t u = 0;
            for (int b = 0; b < 8; b++)
                u = u << 8 | p[1 + b];
            sqlite3_bind_int64(st, idx, (int64_t)(u ^ (1ULL << 63)));
        } else if (p[0] == TAG_ADDR) {
            struct fh_addr a = {.family = p[1]};
            char buf[FH_ADDR_STRLEN];
            memcpy(a.bytes, p + 2, 16);
            sqlite3_bind_text(st, idx, addr_to_str(&a, buf, sizeof(buf)), -1, SQLITE_TRANSIENT);
        } else if (p[0] == TAG_TEXT) {
            sqlite3_bind_text(st, idx, (const char *)p + 1, -1, SQLITE_STATIC);
        } else {
            sqlite3_bind_null(st, idx);
        }
    }
}

/* ---- bidirectional pairs ---- */

/* The 5-tuple key (proto, src, dst, sport, dport) of the reverse direction; 0 when the key is
 * not one of TCP or UDP (nfdump pairs only those). */
static size_t reverse_key(const uint8_t *key, uint8_t *out)
{
    const uint8_t *seg[5];
    size_t len[5], total = 0;
    for (int i = 0; i < 5; i++) {
        seg[i] = key + total;
        len[i] = seg_len(seg[i]);
        total += len[i];
    }
    if (seg[0][0] != TAG_INT || (seg[0][8] != 6 && seg[0][8] != 17))
        return 0;
    static const int order[5] = {0, 2, 1, 4, 3};
    size_t o = 0;
    for (int i = 0; i < 5; i++) {
        memcpy(out + o, seg[order[i]], len[order[i]]);
        o += len[order[i]];
    }
    return o;
}

/* Is g the forward direction of its pair with r: its earliest flow first, ties by key. */
static bool forward(const struct agg_group *g, const struct agg_group *r)
{
    if (g->first != r->first)
        return g->first < r->first;
    int c = memcmp(agg_key(g), agg_key(r), g->slen < r->slen ? g->slen : r->slen);
    return c ? c < 0 : g->slen < r->slen;
}

/* The records of a: every group, or with bidir every pair once. */
static struct agg_row *records(const struct agg *a, bool bidir, size_t *n)
{
    struct agg_row *rows = xcalloc(a->used ? a->used : 1, sizeof(*rows));
    size_t k = 0;
    for (size_t i = 0; i < a->cap; i++) {
        const struct agg_group *g = &a->slots[i], *r = NULL;
        if (!g->type)
            continue;
        uint8_t rev[KEY_MAX];
        size_t rlen = bidir ? reverse_key((const uint8_t *)agg_key(g), rev) : 0;
        if (rlen)
            r = agg_find_key(a, rev, rlen);
        if (r == g)
            r = NULL; /* a flow from an endpoint to itself */
        if (r && !forward(g, r))
            continue; /* handed out with r */
        rows[k++] = agg_row_of(g, r);
    }
    *n = k;
    return rows;
}

/* ---- running ---- */

struct run {
    struct keying k;
    struct agg *aggs; /* one per share */
};

static int too_many(char *err, size_t errlen)
{
    snprintf(err, errlen,
             "too many distinct records (more than %d): narrow the time range, the filter or "
             "the aggregation",
             AGG_MAX_GROUPS);
    return QUERY_EFAIL;
}

static void aggregate(void *arg, struct qshare *s)
{
    struct run *r = arg;
    struct agg *a = &r->aggs[s->i];
    uint8_t key[KEY_MAX];
    while ((s->rc = sqlite3_step(s->st)) == SQLITE_ROW)
        if (agg_add_key(a, key, encode(&r->k, s->st, key), s->st, (int)r->k.n)) {
            too_many(s->err, sizeof(s->err));
            s->rc = SQLITE_FULL;
            return;
        }
}

/* "SELECT ?1 AS proto, ..., ?N AS flows": a record as a row with the documented names. */
static char *row_sql(const struct keying *k, bool bidir)
{
    static const char *const counters[] = {"first_ms",    "last_ms",   "packets",
                                           "bytes",       "tcp_flags", "flows",
                                           "rev_packets", "rev_bytes", "rev_tcp_flags"};
    size_t nc = bidir ? 9 : 6;
    char *sql = xstrdup("SELECT");
    for (size_t i = 0; i < k->n + nc; i++) {
        const char *name = i < k->n ? fields[k->f[i]].col : counters[i - k->n];
        char *next = xasprintf("%s%s ?%zu AS %s", sql, i ? "," : "", i + 1, name);
        free(sql);
        sql = next;
    }
    return sql;
}

static void bind_flags(sqlite3_stmt *st, int idx, int32_t flags)
{
    if (flags < 0)
        sqlite3_bind_null(st, idx);
    else
        sqlite3_bind_int(st, idx, flags);
}

struct emitting {
    const struct keying *k;
    const struct agg_row *rows;
    bool bidir;
};

static void bind_row(void *arg, size_t i, sqlite3_stmt *st)
{
    const struct emitting *e = arg;
    const struct agg_row *r = &e->rows[i];
    int c = (int)e->k->n;
    bind_key((const uint8_t *)agg_key(r->g), e->k->n, st);
    sqlite3_bind_int64(st, c + 1, r->first);
    sqlite3_bind_int64(st, c + 2, r->last);
    sqlite3_bind_int64(st, c + 3, e->bidir ? r->g->packets : r->packets);
    sqlite3_bind_int64(st, c + 4, e->bidir ? r->g->bytes : r->bytes);
    bind_flags(st, c + 5, r->g->flags);
    sqlite3_bind_int64(st, c + 6, r->flows);
    if (e->bidir) {
        sqlite3_bind_int64(st, c + 7, r->rev ? r->rev->packets : 0);
        sqlite3_bind_int64(st, c + 8, r->rev ? r->rev->bytes : 0);
        bind_flags(st, c + 9, r->rev ? r->rev->flags : -1);
    }
}

static int emit(struct query *q, const struct run *run, const struct query_aggregate *req,
                query_row_fn fn, void *ctx, char *err, size_t errlen)
{
    size_t n;
    struct agg_row *rows = records(&run->aggs[0], req->bidir, &n);
    agg_sort(rows, n, (int)req->order);
    if (req->limit > 0 && (size_t)req->limit < n)
        n = (size_t)req->limit;
    char *sql = row_sql(&run->k, req->bidir);
    struct emitting e = {.k = &run->k, .rows = rows, .bidir = req->bidir};
    int rc = query_emit(q, sql, n, bind_row, &e, fn, ctx, err, errlen);
    free(sql);
    free(rows);
    return rc;
}

/* The select list of every arm: the key's columns, then the counters. */
static char *select_list(const struct keying *k)
{
    char *s = xstrdup("");
    for (size_t i = 0; i < k->n; i++) {
        char *next = xasprintf("%s%s, ", s, fields[k->f[i]].col);
        free(s);
        s = next;
    }
    char *all = xasprintf("%s" AGG_COUNTERS, s);
    free(s);
    return all;
}

static int scan(struct query *q, const struct query_aggregate *req, struct run *run,
                const struct qpart *parts, size_t np, char *err, size_t errlen)
{
    char *sel = select_list(&run->k);
    const char *selects[] = {sel, NULL};
    size_t k = query_fanout_shares(q, np);
    run->aggs = xcalloc(k, sizeof(*run->aggs));
    struct qfanout fo = {.from = req->from_ms,
                         .to = req->to_ms,
                         .filter = req->filter,
                         .selects = selects,
                         .run = aggregate,
                         .arg = run};
    struct qshare *s;
    int rc = query_fanout(q, &fo, parts, np, k, &s, err, errlen);
    for (size_t i = 1; i < k && !rc; i++)
        if (agg_merge(&run->aggs[0], &run->aggs[i]))
            rc = too_many(err, errlen);
    query_fanout_close(s, k);
    for (size_t i = 1; i < k; i++)
        agg_free(&run->aggs[i]);
    free(sel);
    return rc;
}

int query_aggregate(struct query *q, const struct query_aggregate *req, query_row_fn fn, void *ctx,
                    char *err, size_t errlen)
{
    if (req->bidir && req->fields != QUERY_FIELDS_5TUPLE) {
        snprintf(err, errlen, "bidirectional records are keyed by the 5-tuple only");
        return QUERY_EINVALID;
    }
    if ((size_t)req->order > QO_TEND) {
        snprintf(err, errlen, "unknown order");
        return QUERY_EINVALID;
    }
    struct run run = {.k = {.req = req}};
    for (size_t i = 0; i < QF_COUNT; i++)
        if (req->fields & (1u << i))
            run.k.f[run.k.n++] = (enum query_field)i;
    struct qpart *parts;
    size_t np;
    int rc = query_partitions(q, req->from_ms, req->to_ms, req->filter, &parts, &np, err, errlen);
    if (rc)
        return rc;
    rc = scan(q, req, &run, parts, np, err, errlen);
    if (!rc)
        rc = emit(q, &run, req, fn, ctx, err, errlen);
    if (run.aggs)
        agg_free(&run.aggs[0]);
    free(run.aggs);
    query_partitions_free(parts, np);
    return rc;
}
