/* filter_sql.c - compiles the filter AST to an SQL WHERE fragment with bound parameters.
 *
 * Only column names and operators chosen here become SQL text; every value from the filter
 * is a parameter. Addresses are TEXT as inet_ntop writes them, so:
 *   - one address is text equality (uses the (src_addr, src_port) / (dst_addr, dst_port)
 *     indexes);
 *   - a network is a text range on the leading whole octets / hextets, which the same
 *     indexes serve ("10.1." <= a < "10.1/" holds exactly the IPv4 texts in 10.1.0.0/16;
 *     '/' follows '.' in ASCII), plus fh_net() for bits the range cannot express;
 *   - a column the exporter may not send (NULL) is guarded so the primitive is false rather
 *     than NULL, which keeps `not` two-valued and equal to the C evaluator. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/xmalloc.h"
#include "web/filter_ast.h"

struct sbuf {
    char *s;
    size_t len, cap;
};

static void put(struct sbuf *b, const char *text)
{
    size_t n = strlen(text);
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->s = xreallocarray(b->s, b->cap, 1);
    }
    memcpy(b->s + b->len, text, n + 1);
    b->len += n;
}

static void param_int(struct filter *f, int64_t v)
{
    f->params = xreallocarray(f->params, (size_t)f->nparams + 1, sizeof(*f->params));
    f->params[f->nparams++] = (struct fparam){.type = FP_INT, .i = v};
}

static void param_text(struct filter *f, const char *s)
{
    f->params = xreallocarray(f->params, (size_t)f->nparams + 1, sizeof(*f->params));
    f->params[f->nparams++] = (struct fparam){.type = FP_TEXT, .s = xstrdup(s)};
}

static const char *column(enum ffield fld)
{
    switch (fld) {
    case FLD_SRC_ADDR:
        return "src_addr";
    case FLD_DST_ADDR:
        return "dst_addr";
    case FLD_EXPORTER:
        return "exporter";
    case FLD_SRC_PORT:
        return "src_port";
    case FLD_DST_PORT:
        return "dst_port";
    case FLD_PROTO:
        return "proto";
    case FLD_TCP_FLAGS:
        return "tcp_flags";
    case FLD_PACKETS:
        return "packets";
    case FLD_BYTES:
        return "bytes";
    /* nfdump's definitions: duration in ms, rates 0 for flows of no duration. */
    case FLD_BPS:
        return "(CASE WHEN last_ms > first_ms THEN bytes * 8000 / (last_ms - first_ms) ELSE 0 "
               "END)";
    case FLD_PPS:
        return "(CASE WHEN last_ms > first_ms THEN packets * 1000 / (last_ms - first_ms) ELSE 0 "
               "END)";
    case FLD_DURATION:
        return "(last_ms - first_ms)";
    case FLD_SRC_AS:
        return "src_as";
    case FLD_DST_AS:
        return "dst_as";
    case FLD_IN_IF:
        return "in_if";
    case FLD_OUT_IF:
        return "out_if";
    }
    return "NULL";
}

static bool nullable(enum ffield fld)
{
    return fld == FLD_TCP_FLAGS || fld == FLD_SRC_AS || fld == FLD_DST_AS || fld == FLD_IN_IF ||
           fld == FLD_OUT_IF;
}

static const char *op_text(enum fcmp c)
{
    static const char *ops[] = {
        [CMP_EQ] = " = ", [CMP_LT] = " < ", [CMP_GT] = " > ", [CMP_LE] = " <= ", [CMP_GE] = " >= "};
    return ops[c];
}

/* "(col IS NOT NULL AND " for columns that may be NULL, so that the result is never NULL. */
static void guard_open(struct sbuf *b, enum ffield fld)
{
    if (nullable(fld)) {
        put(b, "(");
        put(b, column(fld));
        put(b, " IS NOT NULL AND ");
    }
}

static void guard_close(struct sbuf *b, enum ffield fld)
{
    if (nullable(fld))
        put(b, ")");
}

static void emit_num(struct filter *f, struct sbuf *b, const struct fnode *n)
{
    guard_open(b, n->field);
    put(b, column(n->field));
    put(b, op_text(n->cmp));
    put(b, "?");
    param_int(f, n->value);
    guard_close(b, n->field);
}

static void emit_in(struct filter *f, struct sbuf *b, const struct fnode *n)
{
    guard_open(b, n->field);
    put(b, column(n->field));
    put(b, " IN (");
    for (size_t i = 0; i < n->nlist; i++) {
        put(b, i ? ", ?" : "?");
        param_int(f, n->list[i]);
    }
    put(b, ")");
    guard_close(b, n->field);
}

static void emit_flags(struct filter *f, struct sbuf *b, const struct fnode *n)
{
    put(b, "(tcp_flags IS NOT NULL AND (tcp_flags & ?) = ?)");
    param_int(f, n->value);
    param_int(f, n->value);
}

/* The text every address of the network starts with: its leading whole octets (IPv4) or
 * hextets (IPv6), each followed by its separator. Empty when no such prefix is certain:
 * inet_ntop compresses zero hextets ("2001::1"), so an IPv6 prefix is only usable while
 * none of its hextets is zero. */
static void text_prefix(const struct fnode *n, char *buf, size_t len)
{
    buf[0] = '\0';
    size_t used = 0;
    if (n->addr.family == 4) {
        for (int i = 0; i < n->prefix / 8 && used < len; i++)
            used += (size_t)snprintf(buf + used, len - used, "%u.", n->addr.bytes[i]);
        return;
    }
    for (int i = 0; i < n->prefix / 16 && used < len; i++) {
        unsigned h = (unsigned)n->addr.bytes[2 * i] << 8 | n->addr.bytes[2 * i + 1];
        if (h == 0) {
            buf[0] = '\0';
            return;
        }
        used += (size_t)snprintf(buf + used, len - used, "%x:", h);
    }
}

static void emit_net(struct filter *f, struct sbuf *b, const struct fnode *n)
{
    const char *col = column(n->field);
    char text[FH_ADDR_STRLEN];
    int full = n->addr.family == 4 ? 32 : 128;
    addr_to_str(&n->addr, text, sizeof(text));
    if (n->prefix == full) {
        put(b, col);
        put(b, " = ?");
        param_text(f, text);
        return;
    }
    char lo[FH_ADDR_STRLEN + 8];
    text_prefix(n, lo, sizeof(lo));
    /* The range alone is exact on a whole octet (IPv4) or a whole non-zero hextet (IPv6):
     * inet_ntop writes those leading groups literally, and only addresses of the network
     * start with them. */
    bool exact_range = lo[0] && n->prefix % (n->addr.family == 4 ? 8 : 16) == 0;
    put(b, "(");
    if (lo[0]) {
        char hi[sizeof(lo)];
        memcpy(hi, lo, sizeof(lo));
        hi[strlen(hi) - 1]++; /* "10.1." -> "10.1/", "2001:db8:" -> "2001:db8;" */
        put(b, col);
        put(b, " >= ? AND ");
        put(b, col);
        put(b, " < ?");
        param_text(f, lo);
        param_text(f, hi);
        if (!exact_range)
            put(b, " AND ");
    }
    if (!exact_range) {
        put(b, "fh_net(");
        put(b, col);
        put(b, ", ?, ?)");
        param_text(f, text);
        param_int(f, n->prefix);
    }
    put(b, ")");
}

static void emit(struct filter *f, struct sbuf *b, const struct fnode *n);

/* "a OR b OR c" without a parenthesis per operator: SQLite's parser stack (100 entries, about
 * 3 per parenthesized level) would overflow on a long chain of nested pairs. */
static void emit_chain(struct filter *f, struct sbuf *b, const struct fnode *n, enum fnode_op op)
{
    if (n->op != op) {
        emit(f, b, n);
        return;
    }
    emit_chain(f, b, n->a, op);
    put(b, op == FN_AND ? " AND " : " OR ");
    emit_chain(f, b, n->b, op);
}

static void emit(struct filter *f, struct sbuf *b, const struct fnode *n)
{
    switch (n->op) {
    case FN_ANY:
        put(b, "1");
        break;
    case FN_AND:
    case FN_OR:
        put(b, "(");
        emit_chain(f, b, n, n->op);
        put(b, ")");
        break;
    case FN_NOT:
        put(b, "NOT ");
        emit(f, b, n->a);
        break;
    case FN_NUM:
        emit_num(f, b, n);
        break;
    case FN_IN:
        emit_in(f, b, n);
        break;
    case FN_FLAGS:
        emit_flags(f, b, n);
        break;
    case FN_NET:
        emit_net(f, b, n);
        break;
    }
}

void filter_build_sql(struct filter *f)
{
    struct sbuf b = {0};
    put(&b, "(");
    emit(f, &b, f->root);
    put(&b, ")");
    f->sql = b.s;
}

const char *filter_sql(const struct filter *f)
{
    return f->sql;
}

char *filter_sql_numbered(const struct filter *f, int first)
{
    struct sbuf b = {0};
    char num[16];
    put(&b, "");
    for (const char *s = f->sql; *s; s++) {
        if (*s == '?') {
            snprintf(num, sizeof(num), "?%d", first++);
            put(&b, num);
        } else {
            char one[2] = {*s, '\0'};
            put(&b, one);
        }
    }
    return b.s;
}

int filter_param_count(const struct filter *f)
{
    return f->nparams;
}

int filter_bind(const struct filter *f, sqlite3_stmt *st, int first)
{
    for (int i = 0; i < f->nparams; i++) {
        const struct fparam *p = &f->params[i];
        int rc = p->type == FP_INT ? sqlite3_bind_int64(st, first + i, p->i)
                                   : sqlite3_bind_text(st, first + i, p->s, -1, SQLITE_STATIC);
        if (rc != SQLITE_OK)
            return -1;
    }
    return first + f->nparams;
}

/* ---- fh_net(addr_text, net_text, prefix) ---- */

static void free_addr(void *p)
{
    free(p);
}

static void fh_net(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    char buf[FH_ADDR_STRLEN];
    const unsigned char *a = sqlite3_value_text(argv[0]);
    const unsigned char *n = sqlite3_value_text(argv[1]);
    sqlite3_int64 prefix = sqlite3_value_int64(argv[2]);
    struct fh_addr addr;
    if (!a || !n || strlen((const char *)a) >= sizeof(buf)) {
        sqlite3_result_int(ctx, 0);
        return;
    }
    /* The network is the same on every row: parse it once per statement. */
    struct fh_addr local;
    const struct fh_addr *net = sqlite3_get_auxdata(ctx, 1);
    if (!net) {
        if (!addr_from_str((const char *)n, &local)) {
            sqlite3_result_int(ctx, 0);
            return;
        }
        struct fh_addr *keep = xmalloc(sizeof(*keep));
        *keep = local;
        sqlite3_set_auxdata(ctx, 1, keep, free_addr); /* SQLite may free it at once */
        net = &local;
    }
    memcpy(buf, a, strlen((const char *)a) + 1);
    bool in = addr_from_str(buf, &addr) && prefix >= 0 && prefix <= 128 &&
              fnode_net_contains(net, (int)prefix, &addr);
    sqlite3_result_int(ctx, in);
}

int filter_register_sql(sqlite3 *db)
{
    return sqlite3_create_function_v2(db, "fh_net", 3,
                                      SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
                                      fh_net, NULL, NULL, NULL);
}
