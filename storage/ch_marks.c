/* ch_marks.c - the journal marks of inserted blocks in ClickHouse (ch_marks.h). */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/xmalloc.h"
#include "storage/ch_marks.h"
#include "storage/ch_rowbinary.h"
#include "storage/ch_schema.h"

/* The newest held block is among the newest marks but after a run of crashes that each left
 * one unheld block behind: these are looked for first, in their own days only. */
#define NEWEST     16
#define TIMEOUT_MS 60000

struct mark_row {
    uint64_t last_seq;
    uint32_t day;
    struct decode_mark m;
};

struct mark_rows {
    struct mark_row r[NEWEST];
    size_t n;
};

int ch_marks_put(struct ch_client *c, const char *instance, uint32_t day, uint64_t last_seq,
                 const struct decode_mark *m, char *err, size_t errlen)
{
    char *sql = xasprintf("INSERT INTO %s.journal_marks (instance, day, last_seq, jseg, joff, "
                          "jpart) VALUES ('%s', %u, %" PRIu64 ", %" PRIu64 ", %" PRIu64 ", %u)",
                          ch_client_url(c)->database, instance, day, last_seq, m->pos.seg,
                          m->pos.off, m->part);
    int rc = ch_exec(c, sql, err, errlen);
    free(sql);
    return rc;
}

static long read_mark(void *ctx, const uint8_t *p, size_t n)
{
    struct mark_rows *a = ctx;
    struct rb_in in = {.p = p, .end = p + n};
    struct mark_row row;
    row.last_seq = rb_get_u64(&in);
    row.day = rb_get_u32(&in);
    row.m.pos.seg = rb_get_u64(&in);
    row.m.pos.off = rb_get_u64(&in);
    row.m.part = rb_get_u32(&in);
    if (in.short_)
        return 0;
    if (a->n == NEWEST)
        return CH_ROW_BAD;
    a->r[a->n++] = row;
    return (long)(in.p - p);
}

/* The newest marks of the instance, newest first; only the one of block `seq` when seq > 0. */
static int newest_marks(struct ch_client *c, const char *instance, uint64_t seq,
                        struct mark_rows *out, char *err, size_t errlen)
{
    char only[48] = "";
    if (seq)
        snprintf(only, sizeof(only), " AND last_seq = %" PRIu64, seq);
    char *sql = xasprintf("SELECT last_seq, day, jseg, joff, jpart FROM %s.journal_marks WHERE "
                          "instance = '%s'%s ORDER BY last_seq DESC LIMIT %d FORMAT RowBinary",
                          ch_client_url(c)->database, instance, only, NEWEST);
    struct ch_call k = {.sql = sql, .timeout_ms = TIMEOUT_MS};
    out->n = 0;
    int rc = ch_select(c, &k, read_mark, out, NULL, err, errlen);
    free(sql);
    return rc;
}

/* The largest seq of the instance's flows that `where` selects; 0 for none. */
static int max_seq(struct ch_client *c, const char *instance, const char *where, uint64_t *seq,
                   char *err, size_t errlen)
{
    const struct store_url *u = ch_client_url(c);
    char *sql =
        xasprintf("SELECT max(seq) FROM %s.%s WHERE instance = '%s' AND %s FORMAT RowBinary",
                  u->database, ch_flows_table(u), instance, where);
    struct ch_call k = {.sql = sql, .timeout_ms = TIMEOUT_MS};
    struct rb_ints v = {.width = 8};
    int rc = ch_select(c, &k, rb_int_row, &v, NULL, err, errlen);
    *seq = v.n ? (uint64_t)v.v[0] : 0;
    free(v.v);
    free(sql);
    return rc;
}

/* "rhour BETWEEN ... AND seq IN (...)": the blocks of the marks, in their days. */
static char *blocks_of(const struct mark_rows *rows)
{
    uint32_t lo = rows->r[0].day, hi = lo;
    char *in = xstrdup("");
    for (size_t i = 0; i < rows->n; i++) {
        lo = rows->r[i].day < lo ? rows->r[i].day : lo;
        hi = rows->r[i].day > hi ? rows->r[i].day : hi;
        char *more = xasprintf("%s%s%" PRIu64, in, i ? ", " : "", rows->r[i].last_seq);
        free(in);
        in = more;
    }
    char *where = xasprintf("rhour BETWEEN %u AND %u AND seq IN (%s)", lo * 24, hi * 24 + 23, in);
    free(in);
    return where;
}

/* The last seq of the newest block held that has a mark; 0 for none. */
static int newest_held(struct ch_client *c, const char *instance, const struct mark_rows *rows,
                       uint64_t *seq, char *err, size_t errlen)
{
    char *where = blocks_of(rows);
    int rc = max_seq(c, instance, where, seq, err, errlen);
    free(where);
    if (rc || *seq || rows->n < NEWEST)
        return rc;
    where = xasprintf("seq IN (SELECT last_seq FROM %s.journal_marks WHERE instance = '%s')",
                      ch_client_url(c)->database, instance);
    rc = max_seq(c, instance, where, seq, err, errlen);
    free(where);
    return rc;
}

int ch_marks_held(struct ch_client *c, const char *instance, struct decode_mark *m, char *err,
                  size_t errlen)
{
    struct mark_rows rows;
    uint64_t seq = 0;
    int rc = newest_marks(c, instance, 0, &rows, err, errlen);
    if (rc == 0 && rows.n)
        rc = newest_held(c, instance, &rows, &seq, err, errlen);
    if (rc || !seq)
        return rc;
    for (size_t i = 0; i < rows.n; i++)
        if (rows.r[i].last_seq == seq) {
            *m = rows.r[i].m;
            return 1;
        }
    rc = newest_marks(c, instance, seq, &rows, err, errlen);
    if (rc || !rows.n)
        return rc;
    *m = rows.r[0].m;
    return 1;
}
