/* filter_ch.c - compiles the filter AST to ClickHouse SQL: the same primitives as
 * filter_sql.c (SQLite) and filter_eval.c (C), with the same rows selected.
 *
 * Debian's ClickHouse (18.16) has no query parameters, so the values are written into the SQL
 * as literals; but only literals made here from values the parser already validated: integers
 * it parsed (printed with %lld), addresses it parsed with inet_pton (printed back by
 * inet_ntop: digits, a-f, '.' and ':' only) and their bytes as hexadecimal. No text of the
 * user's filter is ever copied: emit_text() refuses (aborts on) any other character, so a
 * quote cannot reach the SQL by construction (tests/test_ch_filter.c shows it).
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

struct chbuf {
    char *s;
    size_t len, cap;
};

static void put(struct chbuf *b, const char *text)
{
    size_t n = strlen(text);
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->s = xreallocarray(b->s, b->cap, 1);
    }
    memcpy(b->s + b->len, text, n + 1);
    b->len += n;
}

static void emit_int(struct chbuf *b, int64_t v)
{
    char num[32];
    snprintf(num, sizeof(num), "%" PRId64, v);
    put(b, num);
}

/* A string literal of an address text or hex digits we made: nothing else may get here. */
static void emit_text(struct chbuf *b, const char *s)
{
    if (strspn(s, "0123456789abcdefABCDEF.:") != strlen(s))
        abort(); /* a bug, not input: only inet_ntop and hex output is quoted */
    put(b, "'");
    put(b, s);
    put(b, "'");
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
static void operand_open(struct chbuf *b, enum ffield fld)
{
    if (filter_field_nullable(fld)) {
        put(b, "(isNotNull(");
        put(b, column(fld));
        put(b, ") AND ifNull(");
        put(b, column(fld));
        put(b, ", 0)");
    } else {
        put(b, "(");
        put(b, column(fld));
    }
}

/* One comparison of a rate (nfdump: per second over the duration in ms, 0 without one),
 * computed as SQLite does: integers while amount * scale fits 64 bits, floating point past
 * that. Each branch compares on its own, so no branch's type rounds another's. */
static void emit_rate(struct chbuf *b, const char *amount, int64_t scale, const char *cmp_op,
                      int64_t v)
{
    put(b, "multiIf(last_ms <= first_ms, 0");
    put(b, cmp_op);
    emit_int(b, v);
    put(b, ", ");
    put(b, amount);
    put(b, " <= ");
    emit_int(b, INT64_MAX / scale);
    /* multiIf evaluates every branch on every row: the divisor must never be 0 */
    put(b, ", intDiv(");
    put(b, amount);
    put(b, " * ");
    emit_int(b, scale);
    put(b, ", greatest(last_ms - first_ms, 1))");
    put(b, cmp_op);
    emit_int(b, v);
    put(b, ", (");
    put(b, amount);
    put(b, " * ");
    emit_int(b, scale);
    put(b, ". / greatest(last_ms - first_ms, 1))");
    put(b, cmp_op);
    emit_int(b, v);
    put(b, ")");
}

static void emit_num(struct chbuf *b, const struct fnode *n)
{
    if (n->field == FLD_BPS || n->field == FLD_PPS) {
        bool bps = n->field == FLD_BPS;
        emit_rate(b, bps ? "bytes" : "packets", bps ? 8000 : 1000, filter_cmp_op(n->cmp), n->value);
        return;
    }
    operand_open(b, n->field);
    put(b, filter_cmp_op(n->cmp));
    emit_int(b, n->value);
    put(b, ")");
}

static void emit_in(struct chbuf *b, const struct fnode *n)
{
    operand_open(b, n->field);
    put(b, " IN (");
    for (size_t i = 0; i < n->nlist; i++) {
        put(b, i ? ", " : "");
        emit_int(b, n->list[i]);
    }
    put(b, "))");
}

static void emit_flags(struct chbuf *b, const struct fnode *n)
{
    put(b, "(isNotNull(tcp_flags) AND bitAnd(ifNull(tcp_flags, 0), ");
    emit_int(b, n->value);
    put(b, ") = ");
    emit_int(b, n->value);
    put(b, ")");
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
static void emit_key_range(struct chbuf *b, const struct fnode *n)
{
    if (n->field != FLD_SRC_ADDR || n->net.addr.family != 4 || n->net.len < KEY_MIN_PREFIX)
        return;
    struct fh_addr last;
    prefix_last(&n->net, &last);
    put(b, "src_key BETWEEN ");
    emit_int(b, store_endpoint_key(&n->net.addr, 0));
    put(b, " AND ");
    emit_int(b, store_endpoint_key(&last, 65535));
    put(b, " AND ");
}

static void emit_net(struct chbuf *b, const struct fnode *n)
{
    const char *col = column(n->field);
    char text[FH_ADDR_STRLEN];
    bool is4 = n->net.addr.family == 4;
    struct fh_addr last;
    put(b, "(");
    emit_key_range(b, n);
    if (n->net.len == (is4 ? 32u : 128u)) {
        put(b, col);
        put(b, " = ");
        emit_text(b, addr_to_str(&n->net.addr, text, sizeof(text)));
        put(b, ")");
        return;
    }
    prefix_last(&n->net, &last);
    put(b, "position(");
    put(b, col);
    put(b, is4 ? ", '.') > 0 AND position(" : ", ':') > 0 AND ");
    if (is4) {
        put(b, col);
        put(b, ", ':') = 0 AND IPv4StringToNum(");
        put(b, col);
        put(b, ") BETWEEN ");
        emit_int(b, v4(&n->net.addr));
        put(b, " AND ");
        emit_int(b, v4(&last));
    } else {
        char hex[33];
        put(b, "IPv6StringToNum(");
        put(b, col);
        put(b, ") BETWEEN toFixedString(unhex(");
        hex16(n->net.addr.bytes, hex);
        emit_text(b, hex);
        put(b, "), 16) AND toFixedString(unhex(");
        hex16(last.bytes, hex);
        emit_text(b, hex);
        put(b, "), 16)");
    }
    put(b, ")");
}

static void emit(struct chbuf *b, const struct fnode *n);

/* "a OR b OR c": one flat chain per run of the same operator. */
static void emit_chain(struct chbuf *b, const struct fnode *n, enum fnode_op op)
{
    if (n->op != op) {
        emit(b, n);
        return;
    }
    emit_chain(b, n->a, op);
    put(b, op == FN_AND ? " AND " : " OR ");
    emit_chain(b, n->b, op);
}

static void emit(struct chbuf *b, const struct fnode *n)
{
    switch (n->op) {
    case FN_ANY:
        put(b, "1");
        break;
    case FN_AND:
    case FN_OR:
        put(b, "(");
        emit_chain(b, n, n->op);
        put(b, ")");
        break;
    case FN_NOT:
        put(b, "(NOT ");
        emit(b, n->a);
        put(b, ")");
        break;
    case FN_NUM:
        emit_num(b, n);
        break;
    case FN_IN:
        emit_in(b, n);
        break;
    case FN_FLAGS:
        emit_flags(b, n);
        break;
    case FN_NET:
        emit_net(b, n);
        break;
    }
}

char *filter_ch_sql(const struct filter *f)
{
    struct chbuf b = {0};
    put(&b, "(");
    if (f)
        emit(&b, f->root);
    else
        put(&b, "1");
    put(&b, ")");
    return b.s;
}
