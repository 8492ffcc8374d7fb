/* query_ch_scan.c - the query layer's own scans (query_fanout: aggregated records and
 * whatever else steps a statement over the partitions) run on ClickHouse.
 *
 * The scan's select lists are run on ClickHouse over the request's range and filter (the
 * WHERE of query_ch_where), the rows come back as TabSeparatedWithNamesAndTypes, go into a
 * temporary table of the query's SQLite connection, and the scan's one share steps `SELECT *
 * FROM temp.ch_rows` as it would step a partition. So every request the SQLite code answers
 * answers on ClickHouse with the same C code and the same results; the requests that matter
 * for speed (listings, top-N, timeline, the hunt) have their own ClickHouse queries instead
 * (query_ch.c, query_ch_stats.c). The rows pass through memory: bounded by the time limit. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "query/query_int.h"
#include "storage/ch_http.h"

#define MAX_COLS 64

struct tsv {
    sqlite3 *db;
    sqlite3_stmt *insert;
    int line; /* 0: names, 1: types, then rows */
    int ncols;
    char *names[MAX_COLS];
    bool is_int[MAX_COLS], is_real[MAX_COLS];
    char *buf; /* an incomplete line */
    size_t len, cap;
    bool bad;
    char err[256];
};

/* TabSeparated's escapes, in place. */
static void unescape(char *s)
{
    char *o = s;
    for (; *s; s++) {
        if (*s != '\\' || !s[1]) {
            *o++ = *s;
            continue;
        }
        s++;
        *o++ = *s == 't' ? '\t' : *s == 'n' ? '\n' : *s == 'r' ? '\r' : *s == '0' ? '\0' : *s;
    }
    *o = '\0';
}

static int split(char *line, char **f)
{
    int n = 0;
    for (char *p = line; n < MAX_COLS;) {
        f[n++] = p;
        char *tab = strchr(p, '\t');
        if (!tab)
            break;
        *tab = '\0';
        p = tab + 1;
    }
    return n;
}

static void create_table(struct tsv *t)
{
    char *cols = xstrdup("");
    for (int i = 0; i < t->ncols; i++) {
        char *more = xasprintf("%s%sc%d", cols, i ? ", " : "", i);
        free(cols);
        cols = more;
    }
    char *sql =
        xasprintf("DROP TABLE IF EXISTS temp.ch_rows; CREATE TEMP TABLE ch_rows (%s);", cols);
    if (sqlite3_exec(t->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        t->bad = true;
    free(sql);
    char *marks = xstrdup("");
    for (int i = 0; i < t->ncols; i++) {
        char *more = xasprintf("%s%s?", marks, i ? ", " : "");
        free(marks);
        marks = more;
    }
    sql = xasprintf("INSERT INTO temp.ch_rows VALUES (%s)", marks);
    if (!t->bad && sqlite3_prepare_v2(t->db, sql, -1, &t->insert, NULL) != SQLITE_OK)
        t->bad = true;
    free(sql);
    free(marks);
    free(cols);
}

static void take_types(struct tsv *t, char **f, int n)
{
    for (int i = 0; i < n && i < t->ncols; i++) {
        const char *ty = f[i];
        if (!strncmp(ty, "Nullable(", 9))
            ty += 9;
        t->is_int[i] = !strncmp(ty, "Int", 3) || !strncmp(ty, "UInt", 4);
        t->is_real[i] = !strncmp(ty, "Float", 5);
    }
    create_table(t);
}

static void take_row(struct tsv *t, char **f, int n)
{
    if (n != t->ncols) {
        t->bad = true;
        return;
    }
    for (int i = 0; i < n; i++) {
        if (!strcmp(f[i], "\\N"))
            sqlite3_bind_null(t->insert, i + 1);
        else if (t->is_int[i])
            sqlite3_bind_int64(t->insert, i + 1, strtoll(f[i], NULL, 10));
        else if (t->is_real[i])
            sqlite3_bind_double(t->insert, i + 1, strtod(f[i], NULL));
        else {
            unescape(f[i]);
            sqlite3_bind_text(t->insert, i + 1, f[i], -1, SQLITE_TRANSIENT);
        }
    }
    if (sqlite3_step(t->insert) != SQLITE_DONE)
        t->bad = true;
    sqlite3_reset(t->insert);
}

static void take_line(struct tsv *t, char *line)
{
    char *f[MAX_COLS];
    int n = split(line, f);
    if (t->line == 0) {
        t->ncols = n;
    } else if (t->line == 1) {
        take_types(t, f, n);
    } else if (!t->bad) {
        take_row(t, f, n);
    }
    t->line++;
}

static int take_chunk(void *ctx, const uint8_t *p, size_t n)
{
    struct tsv *t = ctx;
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->buf = xreallocarray(t->buf, t->cap, 1);
    }
    memcpy(t->buf + t->len, p, n);
    t->len += n;
    t->buf[t->len] = '\0';
    char *start = t->buf, *nl;
    while ((nl = memchr(start, '\n', t->len - (size_t)(start - t->buf)))) {
        *nl = '\0';
        take_line(t, start);
        start = nl + 1;
    }
    t->len -= (size_t)(start - t->buf);
    memmove(t->buf, start, t->len);
    return t->bad;
}

static char *scan_sql(struct query *q, const struct qfanout *fo, const char *where)
{
    char *sql = xstrdup("");
    for (size_t i = 0; fo->selects[i]; i++) {
        char *more = xasprintf("%s%sSELECT %s FROM %s.flows WHERE %s", sql, i ? " UNION ALL " : "",
                               fo->selects[i], query_ch_db(q), where);
        free(sql);
        sql = more;
    }
    char *full = xasprintf("%s FORMAT TSVWithNamesAndTypes", sql);
    free(sql);
    return full;
}

int query_ch_prepare_share(struct qshare *s, char *err, size_t errlen)
{
    struct query *q = s->q;
    const struct qfanout *fo = s->fo;
    s->db = q->db;
    if (fo->sql || fo->bind || !fo->selects) {
        snprintf(err, errlen, "this request is not available on a ClickHouse store");
        return QUERY_EINVALID;
    }
    int rc;
    char *where = query_ch_where(q, fo->from, fo->to, fo->filter, &rc, err, errlen);
    if (!where)
        return rc;
    char *sql = scan_sql(q, fo, where);
    free(where);
    struct tsv t = {.db = q->db};
    struct ch_call k = {.sql = sql, .timeout_ms = q->limit_ms, .body = take_chunk, .ctx = &t};
    sqlite3_exec(q->db, "BEGIN", NULL, NULL, NULL);
    rc = query_ch_call(q, &k, err, errlen);
    sqlite3_finalize(t.insert);
    sqlite3_exec(q->db, "COMMIT", NULL, NULL, NULL);
    free(t.buf);
    free(sql);
    if (!rc && (t.bad || t.line < 2)) {
        snprintf(err, errlen, "ClickHouse: an answer of unexpected form");
        rc = QUERY_EFAIL;
    }
    if (!rc && sqlite3_prepare_v2(q->db, "SELECT * FROM temp.ch_rows", -1, &s->st, NULL)) {
        snprintf(err, errlen, "reading ClickHouse's rows: %s", sqlite3_errmsg(q->db));
        rc = QUERY_EFAIL;
    }
    return rc;
}
