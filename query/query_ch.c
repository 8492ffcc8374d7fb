/* query_ch.c - the query layer over ClickHouse (storage/ch_http.h): the same requests as the
 * SQLite store answers, with the same rows.
 *
 * Every request is one SELECT over the `flows` table (a Distributed table over every shard in
 * a cluster, so any collector's web UI sees all of them) answering RowBinary. A time range
 * first asks flow_spans which receive hours can hold flows overlapping it (storage/
 * ch_schema.sql), and the WHERE names those hours: the sort key (rhour, src_key, dst_key)
 * then reads only their granules. The filter is compiled to ClickHouse's dialect
 * (filter_ch.c).
 *
 * Rows reach the callers as query.h promises, as sqlite3 statements: each flow read is bound
 * to a constant `SELECT ?1 AS exporter, ...` on an in-memory connection (store_bind_flow, the
 * values the SQLite store keeps) and stepped once; the idiom of query_top.c. So `flowhound
 * query`, the web API and the tests read either backend's rows with the same code. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "query/query_int.h"
#include "storage/ch_http.h"
#include "storage/ch_rowbinary.h"
#include "storage/ch_schema.h"
#include "storage/store_url.h"

struct query_ch {
    struct ch_client *client;
    sqlite3 *mem; /* where rows are handed out */
    bool state;   /* q->db is the collector's state file, not mem */
    sqlite3_stmt *flow_row;
};

const char *query_ch_db(const struct query *q)
{
    return ch_client_url(q->ch->client)->database;
}

/* ---- running a SELECT ---- */

/* A client's error as QUERY_E*, with the time limit's message in SQLite's words. */
static int query_error(struct query *q, int rc, char *err, size_t errlen)
{
    if (rc == CH_ETIMEOUT) {
        snprintf(err, errlen,
                 "query took too long (more than %" PRId64 " ms): narrow the time range or make "
                 "the filter more selective",
                 q->limit_ms);
        return QUERY_ETIMEOUT;
    }
    return rc ? QUERY_EFAIL : 0;
}

int query_ch_select(struct query *q, const char *sql, long (*row)(void *, const uint8_t *, size_t),
                    void *ctx, char *err, size_t errlen)
{
    struct ch_call k = {.sql = sql, .timeout_ms = q->limit_ms};
    return query_error(q, ch_select(q->ch->client, &k, row, ctx, NULL, err, errlen), err, errlen);
}

int query_ch_call(struct query *q, const struct ch_call *k, char *err, size_t errlen)
{
    return query_error(q, ch_call(q->ch->client, k, NULL, err, errlen), err, errlen);
}

sqlite3_stmt *query_ch_row_stmt(struct query *q, const char *sql, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(q->ch->mem, sql, -1, &st, NULL) != SQLITE_OK)
        snprintf(err, errlen, "preparing rows: %s", sqlite3_errmsg(q->ch->mem));
    return st;
}

/* ---- the WHERE of a request ---- */

/* "(rhour BETWEEN a AND b OR ...)" over the hours that can hold flows overlapping
 * [from, to]; "0" when none can. */
static char *hours_sql(struct query *q, int64_t from, int64_t to, int *rc, char *err, size_t errlen)
{
    char *sql = xasprintf("SELECT rhour FROM %s.flow_spans GROUP BY rhour HAVING "
                          "min(min_first) <= %" PRId64 " AND max(max_last) >= %" PRId64
                          " ORDER BY rhour FORMAT RowBinary",
                          query_ch_db(q), to, from);
    struct rb_ints hs = {.width = 4};
    *rc = query_ch_select(q, sql, rb_int_row, &hs, err, errlen);
    free(sql);
    if (*rc) {
        free(hs.v);
        return NULL;
    }
    char *out = xstrdup(hs.n ? "(" : "0");
    for (size_t i = 0; i < hs.n;) {
        size_t j = i;
        while (j + 1 < hs.n && hs.v[j + 1] == hs.v[j] + 1)
            j++;
        char *more = xasprintf("%s%srhour BETWEEN %" PRId64 " AND %" PRId64, out, i ? " OR " : "",
                               hs.v[i], hs.v[j]);
        free(out);
        out = more;
        i = j + 1;
    }
    if (hs.n) {
        char *more = xasprintf("%s)", out);
        free(out);
        out = more;
    }
    free(hs.v);
    return out;
}

char *query_ch_where(struct query *q, int64_t from, int64_t to, const struct filter *f, int *rc,
                     char *err, size_t errlen)
{
    *rc = 0;
    if (from > to) {
        snprintf(err, errlen, "the time range ends before it starts");
        *rc = QUERY_EINVALID;
        return NULL;
    }
    char *filter = filter_ch_sql(f);
    if (from == INT64_MIN && to == INT64_MAX)
        return filter;
    char *hours = hours_sql(q, from, to, rc, err, errlen);
    if (!hours) {
        free(filter);
        return NULL;
    }
    char *where = xasprintf("%s AND last_ms >= %" PRId64 " AND first_ms <= %" PRId64 " AND %s",
                            hours, from, to, filter);
    free(hours);
    free(filter);
    return where;
}

/* ---- flows ---- */

struct flow_reader {
    query_flow_fn fn;
    void *ctx;
};

static long read_flow(void *arg, const uint8_t *p, size_t n)
{
    struct flow_reader *r = arg;
    struct flow f;
    long used = ch_get_flow(p, n, &f);
    if (used <= 0)
        return used;
    return r->fn(r->ctx, &f) ? CH_ROW_STOP : used;
}

int query_ch_select_flows(struct query *q, const char *sql, query_flow_fn fn, void *ctx, char *err,
                          size_t errlen)
{
    struct flow_reader r = {fn, ctx};
    return query_ch_select(q, sql, read_flow, &r, err, errlen);
}

struct flow_rows {
    struct query *q;
    query_row_fn fn;
    void *ctx;
};

/* One flow handed out as a row of the flows view. */
static int hand_out_flow(void *arg, const struct flow *f)
{
    struct flow_rows *r = arg;
    struct store_row_texts t;
    sqlite3_stmt *st = r->q->ch->flow_row;
    store_bind_flow(st, 1, f, &t);
    bool stop = sqlite3_step(st) == SQLITE_ROW && r->fn && r->fn(r->ctx, st);
    sqlite3_reset(st);
    return stop;
}

int query_ch_flows(struct query *q, const struct query_flows *req, query_row_fn fn, void *ctx,
                   char *err, size_t errlen)
{
    int rc;
    char *where = query_ch_where(q, req->from_ms, req->to_ms, req->filter, &rc, err, errlen);
    if (!where)
        return rc;
    /* ties in the order column come in receive order (each collector's) */
    const char *col = req->order && *req->order ? req->order : "first_ms";
    const char *dir = req->desc ? " DESC" : "";
    char *order = xasprintf("%s%s, received_ms%s, seq%s", col, dir, dir, dir);
    int64_t off = req->offset > 0 ? req->offset : 0;
    char *sql;
    if (req->limit > 0 || off > 0) {
        /* A page: first the seq of its rows and of those before it, read on the few columns
         * the WHERE and the order need, then those rows whole. One SELECT of every column
         * with a LIMIT reads all 42 columns of every row the WHERE keeps to sort them
         * (seconds at 10M rows). Another collector's flow may share a seq: it then also
         * matches the seq set, but it ranks after every row of the set (else its own seq
         * would be there for itself), so the second ORDER BY and LIMIT leave it out. GLOBAL:
         * in a cluster the set is chosen once over every shard. */
        int64_t n = req->limit > 0 ? req->limit : INT64_MAX - off;
        const char *db = query_ch_db(q);
        sql = xasprintf("SELECT %s FROM %s.flows PREWHERE seq GLOBAL IN (SELECT seq FROM %s.flows "
                        "WHERE %s ORDER BY %s LIMIT %" PRId64 ") WHERE %s ORDER BY %s LIMIT "
                        "%" PRId64 ", %" PRId64 " FORMAT RowBinary",
                        store_flow_columns, db, db, where, order, off + n, where, order, off, n);
    } else {
        sql = xasprintf("SELECT %s FROM %s.flows WHERE %s ORDER BY %s FORMAT RowBinary",
                        store_flow_columns, query_ch_db(q), where, order);
    }
    free(order);
    free(where);
    struct flow_rows r = {q, fn, ctx};
    rc = query_ch_select_flows(q, sql, hand_out_flow, &r, err, errlen);
    free(sql);
    return rc;
}

static long read_u64(void *ctx, const uint8_t *p, size_t n)
{
    struct rb_in in = {.p = p, .end = p + n};
    *(uint64_t *)ctx = rb_get_u64(&in);
    return in.short_ ? 0 : 8;
}

int query_ch_count(struct query *q, const struct query_flows *req, int64_t *count, char *err,
                   size_t errlen)
{
    int rc;
    *count = 0;
    char *where = query_ch_where(q, req->from_ms, req->to_ms, req->filter, &rc, err, errlen);
    if (!where)
        return rc;
    char *sql =
        xasprintf("SELECT count() FROM %s.flows WHERE %s FORMAT RowBinary", query_ch_db(q), where);
    free(where);
    uint64_t n = 0;
    rc = query_ch_select(q, sql, read_u64, &n, err, errlen);
    free(sql);
    *count = (int64_t)n;
    return rc;
}

/* ---- open and close ---- */

/* "SELECT ?1 AS exporter, ?2 AS domain, ...": a flow row of the view's columns. */
static char *flow_row_sql(void)
{
    char *cols = xstrdup(store_flow_columns), *save = NULL;
    char *sql = xstrdup("SELECT");
    int i = 1;
    for (char *c = strtok_r(cols, ", ", &save); c; c = strtok_r(NULL, ", ", &save), i++) {
        char *more = xasprintf("%s%s ?%d AS %s", sql, i > 1 ? "," : "", i, c);
        free(sql);
        sql = more;
    }
    free(cols);
    return sql;
}

static void load_columns(struct query *q)
{
    char *cols = xstrdup(store_flow_columns), *save = NULL;
    for (char *c = strtok_r(cols, ", ", &save); c; c = strtok_r(NULL, ", ", &save)) {
        q->cols = xreallocarray(q->cols, q->ncols + 1, sizeof(char *));
        q->cols[q->ncols++] = xstrdup(c);
    }
    free(cols);
}

/* The server answers, and holds flowhound's schema in a version this build reads. */
static int check_server(struct ch_client *c, char *err, size_t errlen)
{
    char msg[512];
    if (ch_client_hello(c, msg, sizeof(msg))) {
        snprintf(err, errlen, "%s: %s", ch_client_url(c)->base, msg);
        return -1;
    }
    int v = ch_schema_version(c, msg, sizeof(msg));
    if (v < 0)
        snprintf(err, errlen, "%s: %s", ch_client_url(c)->base, msg);
    else if (v == 0)
        snprintf(err, errlen,
                 "ClickHouse database %s holds no flowhound store yet (flowhoundd creates it)",
                 ch_client_url(c)->database);
    else if (v > CH_SCHEMA_VERSION)
        snprintf(err, errlen, "ClickHouse database %s has schema version %d, newer than %d",
                 ch_client_url(c)->database, v, CH_SCHEMA_VERSION);
    return v > 0 && v <= CH_SCHEMA_VERSION ? 0 : -1;
}

int query_ch_open(struct query *q, const struct store_url *u, const char *state, char *err,
                  size_t errlen)
{
    struct query_ch *ch = xcalloc(1, sizeof(*ch));
    q->ch = ch;
    ch->client = ch_client_new(u);
    if (check_server(ch->client, err, errlen))
        return QUERY_EFAIL;
    if (sqlite3_open(":memory:", &ch->mem) != SQLITE_OK) {
        snprintf(err, errlen, "opening an in-memory database failed");
        return QUERY_EFAIL;
    }
    char *sql = flow_row_sql();
    ch->flow_row = query_ch_row_stmt(q, sql, err, errlen);
    free(sql);
    if (!ch->flow_row)
        return QUERY_EFAIL;
    q->db = ch->mem;
    if (state) {
        q->db = store_connect(state, STORE_RO, err, errlen);
        if (!q->db)
            return QUERY_EFAIL;
        ch->state = true;
    }
    load_columns(q);
    return 0;
}

void query_ch_close(struct query *q)
{
    struct query_ch *ch = q->ch;
    if (!ch)
        return;
    if (ch->state)
        sqlite3_close(q->db);
    q->db = NULL;
    sqlite3_finalize(ch->flow_row);
    sqlite3_close(ch->mem);
    ch_client_free(ch->client);
    free(ch);
    q->ch = NULL;
}
