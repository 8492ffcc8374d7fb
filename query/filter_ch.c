/* filter_ch.c - compiles the filter AST to ClickHouse SQL: the same primitives as
 * filter_sql.c (SQLite) and filter_eval.c (C), with the same rows selected.
 *
 * Debian's ClickHouse (18.16) has no query parameters, so the values are written into the SQL
 * as literals; but only literals made here from values the parser already validated: integers
 * it parsed (printed with %lld), addresses it parsed with inet_pton (printed back by
 * inet_ntop: digits, a-f, '.' and ':' only) and their bytes as hexadecimal. No text of the
 * user's filter is ever copied: emit_text() refuses (aborts on) any other character, so a
 * quote cannot reach the SQL by construction (tests/test_clickhouse.c shows it).
 *
 * Differences from SQLite's dialect that keep the rows the same:
 *   - ClickHouse 18.16 computes `0 AND NULL` as NULL (SQLite: 0), so every nullable column
 *     is read as ifNull(col, 0) behind its isNotNull() guard: each primitive is 0 or 1;
 *   - an address range is a numeric comparison of IPv4StringToNum / IPv6StringToNum of the
 *     stored text, guarded by the text's family (IPv6 text has ':', IPv4 text '.' and no ':');
 *   - `bps` and `pps` follow SQLite's integer arithmetic, and its switch to floating point
 *     where bytes * 8000 would overflow.
 * IPv4 `src host|net` of a /24 or longer also get `src_key BETWEEN lo AND hi`, implied by
 * the address test: the sort key (rhour, src_key, dst_key) then reads a granule or two. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/prefix.h"
#include "common/xmalloc.h"
#include "query/filter_ast.h"
#include "storage/store.h"

#define KEY_MIN_PREFIX 24

static void emit_int(struct sbuf *b, int64_t v)
{
    char num[32];
    snprintf(num, sizeof(num), "%" PRId64, v);
    sbuf_put(b, num);
}

/* A string literal of an address text or hex digits we made: nothing else may get here. */
static void emit_text(struct sbuf *b, const char *s)
{
    if (strspn(s, "0123456789abcdefABCDEF.:") != strlen(s))
        abort(); /* a bug, not input: only inet_ntop and hex output is quoted */
    sbuf_put(b, "'");
    sbuf_put(b, s);
    sbuf_put(b, "'");
}

/* The field as ClickHouse reads it (the rates are emit_rate's). */
static const char *column(enum ffield fld)
{
    if (fld == FLD_DURATION)
        return "(last_ms - first_ms)";
    const char *c = filter_field_column(fld);
    return c ? c : "NULL";
}

/* The field as a value: a nullable column behind its guard (see the top of the file). */
static void operand_open(struct sbuf *b, enum ffield fld)
{
    if (filter_field_nullable(fld)) {
        sbuf_put(b, "(isNotNull(");
        sbuf_put(b, column(fld));
        sbuf_put(b, ") AND ifNull(");
        sbuf_put(b, column(fld));
        sbuf_put(b, ", 0)");
    } else {
        sbuf_put(b, "(");
        sbuf_put(b, column(fld));
    }
}

/* One comparison of a rate (nfdump: per second over the duration in ms, 0 without one),
 * computed as SQLite does: integers while amount * scale fits 64 bits, floating point past
 * that. Each branch compares on its own, so no branch's type rounds another's. */
static void emit_rate(struct sbuf *b, const char *amount, int64_t scale, const char *cmp_op,
                      int64_t v)
{
    sbuf_put(b, "multiIf(last_ms <= first_ms, 0");
    sbuf_put(b, cmp_op);
    emit_int(b, v);
    sbuf_put(b, ", ");
    sbuf_put(b, amount);
    sbuf_put(b, " <= ");
    emit_int(b, INT64_MAX / scale);
    /* multiIf evaluates every branch on every row: the divisor must never be 0 */
    sbuf_put(b, ", intDiv(");
    sbuf_put(b, amount);
    sbuf_put(b, " * ");
    emit_int(b, scale);
    sbuf_put(b, ", greatest(last_ms - first_ms, 1))");
    sbuf_put(b, cmp_op);
    emit_int(b, v);
    sbuf_put(b, ", (");
    sbuf_put(b, amount);
    sbuf_put(b, " * ");
    emit_int(b, scale);
    sbuf_put(b, ". / greatest(last_ms - first_ms, 1))");
    sbuf_put(b, cmp_op);
    emit_int(b, v);
    sbuf_put(b, ")");
}

static void emit_num(void *ctx, const struct fnode *n)
{
    struct sbuf *b = ctx;
    if (n->field == FLD_BPS || n->field == FLD_PPS) {
        bool bps = n->field == FLD_BPS;
        emit_rate(b, bps ? "bytes" : "packets", bps ? 8000 : 1000, filter_cmp_op(n->cmp), n->value);
        return;
    }
    operand_open(b, n->field);
    sbuf_put(b, filter_cmp_op(n->cmp));
    emit_int(b, n->value);
    sbuf_put(b, ")");
}

static void emit_in(void *ctx, const struct fnode *n)
{
    struct sbuf *b = ctx;
    operand_open(b, n->field);
    sbuf_put(b, " IN (");
    for (size_t i = 0; i < n->nlist; i++) {
        sbuf_put(b, i ? ", " : "");
        emit_int(b, n->list[i]);
    }
    sbuf_put(b, "))");
}

static void emit_flags(void *ctx, const struct fnode *n)
{
    struct sbuf *b = ctx;
    sbuf_put(b, "(isNotNull(tcp_flags) AND bitAnd(ifNull(tcp_flags, 0), ");
    emit_int(b, n->value);
    sbuf_put(b, ") = ");
    emit_int(b, n->value);
    sbuf_put(b, ")");
}

static void hex16(const uint8_t *bytes, char *out)
{
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", bytes[i]);
}

static uint32_t v4(const struct fh_addr *a)
{
    return (uint32_t)a->bytes[0] << 24 | (uint32_t)a->bytes[1] << 16 | (uint32_t)a->bytes[2] << 8 |
           a->bytes[3];
}

/* An IPv4 src host or net of a /24 or longer: its endpoint keys, one range (storage/hunt.c). */
static void emit_key_range(struct sbuf *b, const struct fnode *n)
{
    if (n->field != FLD_SRC_ADDR || n->net.addr.family != 4 || n->net.len < KEY_MIN_PREFIX)
        return;
    struct fh_addr last;
    prefix_last(&n->net, &last);
    sbuf_put(b, "src_key BETWEEN ");
    emit_int(b, store_endpoint_key(&n->net.addr, 0));
    sbuf_put(b, " AND ");
    emit_int(b, store_endpoint_key(&last, 65535));
    sbuf_put(b, " AND ");
}

static void emit_net(void *ctx, const struct fnode *n)
{
    struct sbuf *b = ctx;
    const char *col = column(n->field);
    char text[FH_ADDR_STRLEN];
    bool is4 = n->net.addr.family == 4;
    struct fh_addr last;
    sbuf_put(b, "(");
    emit_key_range(b, n);
    if (n->net.len == (is4 ? 32u : 128u)) {
        sbuf_put(b, col);
        sbuf_put(b, " = ");
        emit_text(b, addr_to_str(&n->net.addr, text, sizeof(text)));
        sbuf_put(b, ")");
        return;
    }
    prefix_last(&n->net, &last);
    sbuf_put(b, "position(");
    sbuf_put(b, col);
    sbuf_put(b, is4 ? ", '.') > 0 AND position(" : ", ':') > 0 AND ");
    if (is4) {
        sbuf_put(b, col);
        sbuf_put(b, ", ':') = 0 AND IPv4StringToNum(");
        sbuf_put(b, col);
        sbuf_put(b, ") BETWEEN ");
        emit_int(b, v4(&n->net.addr));
        sbuf_put(b, " AND ");
        emit_int(b, v4(&last));
    } else {
        char hex[33];
        sbuf_put(b, "IPv6StringToNum(");
        sbuf_put(b, col);
        sbuf_put(b, ") BETWEEN toFixedString(unhex(");
        hex16(n->net.addr.bytes, hex);
        emit_text(b, hex);
        sbuf_put(b, "), 16) AND toFixedString(unhex(");
        hex16(last.bytes, hex);
        emit_text(b, hex);
        sbuf_put(b, "), 16)");
    }
    sbuf_put(b, ")");
}

/* NOT is parenthesized: ClickHouse 18.16's precedence is not SQLite's. */
static const struct sql_dialect ch_dialect = {emit_num, emit_in, emit_flags,
                                              emit_net, "(NOT ", ")"};

char *filter_ch_sql(const struct filter *f)
{
    struct sbuf b = {0};
    sbuf_put(&b, "(");
    if (f)
        filter_emit(&b, f->root, &ch_dialect, &b);
    else
        sbuf_put(&b, "1");
    sbuf_put(&b, ")");
    return b.s;
}
