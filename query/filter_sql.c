/* filter_sql.c - compiles the filter AST to an SQL WHERE fragment with bound parameters.
 *
 * Only column names and operators chosen here become SQL text; every value from the filter
 * is a parameter. Addresses are TEXT as inet_ntop writes them, so:
 *   - one address is text equality;
 *   - a network is a text range on the leading whole octets / hextets ("10.1." <= a <
 *     "10.1/" holds exactly the IPv4 texts in 10.1.0.0/16; '/' follows '.' in ASCII), plus
 *     fh_net() for bits the range cannot express;
 *   - a column the exporter may not send (NULL) is guarded so the primitive is false rather
 *     than NULL, which keeps `not` two-valued and equal to the C evaluator.
 *
 * The address columns have no index in the partitions (doc/storage.md): only the hidden
 * endpoint key src_key = addr << 16 | port (IPv4) leads one. filter_sql_keyed() therefore
 * writes, for a partition arm, `src_key BETWEEN ? AND ?` next to each IPv4 `src host|net`
 * condition: an IPv4 prefix is one range of keys. It is an extra conjunct, implied by the
 * text condition it stands beside, so it changes the plan, never the rows. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/prefix.h"
#include "common/xmalloc.h"
#include "storage/store.h"
#include "query/filter_ast.h"

void sbuf_put(struct sbuf *b, const char *text)
{
    size_t n = strlen(text);
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->s = xreallocarray(b->s, b->cap, 1);
    }
    memcpy(b->s + b->len, text, n + 1);
    b->len += n;
}

/* Shortest IPv4 prefix that gets the key range (at most 256 addresses): a wider network can
 * select so large a share of a partition that walking the index, with a row lookup per
 * entry, is slower than the scan (a /20 holding 6% of a partition already was: 0.35 s
 * against 0.11 s; doc/performance.md). */
#define KEY_MIN_PREFIX 24

/* One emission of the fragment. The first (filter_build_sql) writes plain `?` and records
 * the values in f->params; the keyed one (filter_sql_keyed) writes numbered placeholders,
 * the filter's values from `next` and the key ranges' from `next_key`, and records nothing:
 * it visits the same nodes in the same order, so its values are f->params again, then
 * the key ranges in the order filter_bind_keyed() finds them. */
struct emitter {
    struct filter *f;
    struct sbuf b;
    bool keyed;
    bool no_port_index; /* write +dst_port: see prefer_key() and filter_sql_keyed() */
    int next, next_key;
};

static void placeholder(struct emitter *e, int *counter)
{
    char num[16];
    if (!e->keyed) {
        sbuf_put(&e->b, "?");
        return;
    }
    snprintf(num, sizeof(num), "?%d", (*counter)++);
    sbuf_put(&e->b, num);
}

static void param_int(struct emitter *e, int64_t v)
{
    struct filter *f = e->f;
    placeholder(e, &e->next);
    if (e->keyed)
        return;
    f->params = xreallocarray(f->params, (size_t)f->nparams + 1, sizeof(*f->params));
    f->params[f->nparams++] = (struct fparam){.type = FP_INT, .i = v};
}

static void param_text(struct emitter *e, const char *s)
{
    struct filter *f = e->f;
    placeholder(e, &e->next);
    if (e->keyed)
        return;
    f->params = xreallocarray(f->params, (size_t)f->nparams + 1, sizeof(*f->params));
    f->params[f->nparams++] = (struct fparam){.type = FP_TEXT, .s = xstrdup(s)};
}

const char *filter_field_column(enum ffield fld)
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
    case FLD_SRC_AS:
        return "src_as";
    case FLD_DST_AS:
        return "dst_as";
    case FLD_IN_IF:
        return "in_if";
    case FLD_OUT_IF:
        return "out_if";
    case FLD_BPS:
    case FLD_PPS:
    case FLD_DURATION:
        break;
    }
    return NULL;
}

/* The field as SQLite reads it: a column, or nfdump's definitions of the computed ones
 * (duration in ms, rates 0 for flows of no duration). */
static const char *column(enum ffield fld)
{
    switch (fld) {
    case FLD_BPS:
        return "(CASE WHEN last_ms > first_ms THEN bytes * 8000 / (last_ms - first_ms) ELSE 0 "
               "END)";
    case FLD_PPS:
        return "(CASE WHEN last_ms > first_ms THEN packets * 1000 / (last_ms - first_ms) ELSE 0 "
               "END)";
    case FLD_DURATION:
        return "(last_ms - first_ms)";
    default:
        return filter_field_column(fld);
    }
}

bool filter_field_nullable(enum ffield fld)
{
    return fld == FLD_TCP_FLAGS || fld == FLD_SRC_AS || fld == FLD_DST_AS || fld == FLD_IN_IF ||
           fld == FLD_OUT_IF;
}

const char *filter_cmp_op(enum fcmp c)
{
    static const char *ops[] = {
        [CMP_EQ] = " = ", [CMP_LT] = " < ", [CMP_GT] = " > ", [CMP_LE] = " <= ", [CMP_GE] = " >= "};
    return ops[c];
}

/* "(col IS NOT NULL AND " for columns that may be NULL, so that the result is never NULL. */
static void guard_open(struct sbuf *b, enum ffield fld)
{
    if (filter_field_nullable(fld)) {
        sbuf_put(b, "(");
        sbuf_put(b, column(fld));
        sbuf_put(b, " IS NOT NULL AND ");
    }
}

static void guard_close(struct sbuf *b, enum ffield fld)
{
    if (filter_field_nullable(fld))
        sbuf_put(b, ")");
}

/* The column as an operand: `+dst_port` keeps SQLite off the dst_port index when the key
 * range should lead (see prefer_key). Same value. */
static void operand(struct emitter *e, enum ffield fld)
{
    if (e->no_port_index && fld == FLD_DST_PORT)
        sbuf_put(&e->b, "+");
    sbuf_put(&e->b, column(fld));
}

static void emit_num(void *ctx, const struct fnode *n)
{
    struct emitter *e = ctx;
    guard_open(&e->b, n->field);
    operand(e, n->field);
    sbuf_put(&e->b, filter_cmp_op(n->cmp));
    param_int(e, n->value);
    guard_close(&e->b, n->field);
}

static void emit_in(void *ctx, const struct fnode *n)
{
    struct emitter *e = ctx;
    guard_open(&e->b, n->field);
    operand(e, n->field);
    sbuf_put(&e->b, " IN (");
    for (size_t i = 0; i < n->nlist; i++) {
        sbuf_put(&e->b, i ? ", " : "");
        param_int(e, n->list[i]);
    }
    sbuf_put(&e->b, ")");
    guard_close(&e->b, n->field);
}

static void emit_flags(void *ctx, const struct fnode *n)
{
    struct emitter *e = ctx;
    sbuf_put(&e->b, "(tcp_flags IS NOT NULL AND (tcp_flags & ");
    param_int(e, n->value);
    sbuf_put(&e->b, ") = ");
    param_int(e, n->value);
    sbuf_put(&e->b, ")");
}

/* The text every address of the network starts with: its leading whole octets (IPv4) or
 * hextets (IPv6), each followed by its separator. Empty when no such prefix is certain:
 * inet_ntop compresses zero hextets ("2001::1"), so an IPv6 prefix is only usable while
 * none of its hextets is zero. */
static void text_prefix(const struct fnode *n, char *buf, size_t len)
{
    buf[0] = '\0';
    size_t used = 0;
    const struct fh_addr *a = &n->net.addr;
    if (a->family == 4) {
        for (unsigned i = 0; i < n->net.len / 8 && used < len; i++)
            used += (size_t)snprintf(buf + used, len - used, "%u.", a->bytes[i]);
        return;
    }
    for (unsigned i = 0; i < n->net.len / 16 && used < len; i++) {
        unsigned h = (unsigned)a->bytes[2 * i] << 8 | a->bytes[2 * i + 1];
        if (h == 0) {
            buf[0] = '\0';
            return;
        }
        used += (size_t)snprintf(buf + used, len - used, "%x:", h);
    }
}

/* Does this primitive get a src_key range in a partition arm? */
static bool keyable(const struct fnode *n)
{
    return n->op == FN_NET && n->field == FLD_SRC_ADDR && n->net.addr.family == 4 &&
           n->net.len >= KEY_MIN_PREFIX;
}

/* The endpoint keys of every address and port of an IPv4 network (storage/hunt.c). */
static void key_range(const struct fnode *n, int64_t *lo, int64_t *hi)
{
    struct fh_addr last;
    prefix_last(&n->net, &last);
    *lo = store_endpoint_key(&n->net.addr, 0);
    *hi = store_endpoint_key(&last, 65535);
}

static void emit_net_text(struct emitter *e, const struct fnode *n)
{
    const char *col = column(n->field);
    char text[FH_ADDR_STRLEN];
    unsigned full = n->net.addr.family == 4 ? 32 : 128;
    addr_to_str(&n->net.addr, text, sizeof(text));
    if (n->net.len == full) {
        sbuf_put(&e->b, col);
        sbuf_put(&e->b, " = ");
        param_text(e, text);
        return;
    }
    char lo[FH_ADDR_STRLEN + 8];
    text_prefix(n, lo, sizeof(lo));
    /* The range alone is exact on a whole octet (IPv4) or a whole non-zero hextet (IPv6):
     * inet_ntop writes those leading groups literally, and only addresses of the network
     * start with them. */
    bool exact_range = lo[0] && n->net.len % (n->net.addr.family == 4 ? 8 : 16) == 0;
    sbuf_put(&e->b, "(");
    if (lo[0]) {
        char hi[sizeof(lo)];
        memcpy(hi, lo, sizeof(lo));
        hi[strlen(hi) - 1]++; /* "10.1." -> "10.1/", "2001:db8:" -> "2001:db8;" */
        sbuf_put(&e->b, col);
        sbuf_put(&e->b, " >= ");
        param_text(e, lo);
        sbuf_put(&e->b, " AND ");
        sbuf_put(&e->b, col);
        sbuf_put(&e->b, " < ");
        param_text(e, hi);
        if (!exact_range)
            sbuf_put(&e->b, " AND ");
    }
    if (!exact_range) {
        sbuf_put(&e->b, "fh_net(");
        sbuf_put(&e->b, col);
        sbuf_put(&e->b, ", ");
        param_text(e, text);
        sbuf_put(&e->b, ", ");
        param_int(e, n->net.len);
        sbuf_put(&e->b, ")");
    }
    sbuf_put(&e->b, ")");
}

static void emit_net(void *ctx, const struct fnode *n)
{
    struct emitter *e = ctx;
    if (!e->keyed || !keyable(n)) {
        emit_net_text(e, n);
        return;
    }
    sbuf_put(&e->b, "(src_key BETWEEN ");
    placeholder(e, &e->next_key);
    sbuf_put(&e->b, " AND ");
    placeholder(e, &e->next_key);
    sbuf_put(&e->b, " AND ");
    emit_net_text(e, n);
    sbuf_put(&e->b, ")");
}

static const struct sql_dialect sqlite_dialect = {emit_num, emit_in, emit_flags,
                                                  emit_net, "NOT ",  ""};

/* "a OR b OR c" without a parenthesis per operator: SQLite's parser stack (100 entries, about
 * 3 per parenthesized level) would overflow on a long chain of nested pairs. */
static void emit_chain(struct sbuf *b, const struct fnode *n, enum fnode_op op,
                       const struct sql_dialect *d, void *ctx)
{
    if (n->op != op) {
        filter_emit(b, n, d, ctx);
        return;
    }
    emit_chain(b, n->a, op, d, ctx);
    sbuf_put(b, op == FN_AND ? " AND " : " OR ");
    emit_chain(b, n->b, op, d, ctx);
}

void filter_emit(struct sbuf *b, const struct fnode *n, const struct sql_dialect *d, void *ctx)
{
    switch (n->op) {
    case FN_ANY:
        sbuf_put(b, "1");
        break;
    case FN_AND:
    case FN_OR:
        sbuf_put(b, "(");
        emit_chain(b, n, n->op, d, ctx);
        sbuf_put(b, ")");
        break;
    case FN_NOT:
        sbuf_put(b, d->not_open);
        filter_emit(b, n->a, d, ctx);
        sbuf_put(b, d->not_close);
        break;
    case FN_NUM:
        d->num(ctx, n);
        break;
    case FN_IN:
        d->in(ctx, n);
        break;
    case FN_FLAGS:
        d->flags(ctx, n);
        break;
    case FN_NET:
        d->net(ctx, n);
        break;
    }
}

void filter_build_sql(struct filter *f)
{
    struct emitter e = {.f = f};
    sbuf_put(&e.b, "(");
    filter_emit(&e.b, f->root, &sqlite_dialect, &e);
    sbuf_put(&e.b, ")");
    f->sql = e.b.s;
}

const char *filter_sql(const struct filter *f)
{
    return f->sql;
}

char *filter_sql_numbered(const struct filter *f, int first)
{
    struct sbuf b = {0};
    char num[16];
    sbuf_put(&b, "");
    for (const char *s = f->sql; *s; s++) {
        if (*s == '?') {
            snprintf(num, sizeof(num), "?%d", first++);
            sbuf_put(&b, num);
        } else {
            char one[2] = {*s, '\0'};
            sbuf_put(&b, one);
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

/* ---- the keyed fragment of a partition arm ---- */

/* The keyable primitives in emission order (filter_emit visits a before b). */
static size_t key_nodes(const struct fnode *n, const struct fnode **out, size_t at)
{
    switch (n->op) {
    case FN_AND:
    case FN_OR:
        at = key_nodes(n->a, out, at);
        return key_nodes(n->b, out, at);
    case FN_NOT:
        return key_nodes(n->a, out, at);
    case FN_NET:
        if (keyable(n)) {
            if (out)
                out[at] = n;
            at++;
        }
        return at;
    default:
        return at;
    }
}

/* Is a keyable host or network one of the filter's top-level conjuncts? Then its key range
 * selects a handful of rows and should lead the plan; but without statistics SQLite rates
 * any equality (`dst port 515`: a few percent of the rows) above a range, so dst_port is
 * then written so that its index is not used. */
static bool prefer_key(const struct fnode *n)
{
    if (n->op == FN_AND)
        return prefer_key(n->a) || prefer_key(n->b);
    return keyable(n);
}

static size_t dst_ports(const struct fnode *n, int64_t *ports, size_t max, size_t at)
{
    switch (n->op) {
    case FN_AND:
    case FN_OR:
        return dst_ports(n->b, ports, max, dst_ports(n->a, ports, max, at));
    case FN_NOT:
        return dst_ports(n->a, ports, max, at);
    case FN_NUM:
        if (n->field == FLD_DST_PORT && n->cmp == CMP_EQ) {
            if (at < max)
                ports[at] = n->value;
            at++;
        }
        return at;
    case FN_IN:
        if (n->field == FLD_DST_PORT)
            for (size_t i = 0; i < n->nlist; i++, at++)
                if (at < max)
                    ports[at] = n->list[i];
        return at;
    default:
        return at;
    }
}

size_t filter_dst_ports(const struct filter *f, int64_t *ports, size_t max)
{
    return dst_ports(f->root, ports, max, 0);
}

char *filter_sql_keyed(const struct filter *f, int first, bool port_index)
{
    struct emitter e = {.f = (struct filter *)f,
                        .keyed = true,
                        .no_port_index = !port_index || prefer_key(f->root),
                        .next = first,
                        .next_key = first + f->nparams};
    sbuf_put(&e.b, "(");
    filter_emit(&e.b, f->root, &sqlite_dialect, &e);
    sbuf_put(&e.b, ")");
    return e.b.s;
}

int filter_param_count_keyed(const struct filter *f)
{
    return f->nparams + 2 * (int)key_nodes(f->root, NULL, 0);
}

int filter_bind_keyed(const struct filter *f, sqlite3_stmt *st, int first)
{
    int next = filter_bind(f, st, first);
    if (next < 0)
        return -1;
    size_t n = key_nodes(f->root, NULL, 0);
    const struct fnode **nodes = xcalloc(n ? n : 1, sizeof(*nodes));
    key_nodes(f->root, nodes, 0);
    for (size_t i = 0; i < n && next >= 0; i++) {
        int64_t lo, hi;
        key_range(nodes[i], &lo, &hi);
        if (sqlite3_bind_int64(st, next, lo) != SQLITE_OK ||
            sqlite3_bind_int64(st, next + 1, hi) != SQLITE_OK)
            next = -1;
        else
            next += 2;
    }
    free(nodes);
    return next;
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
    struct fh_prefix p;
    bool in = addr_from_str(buf, &addr) && prefix >= 0 && prefix <= 128 &&
              prefix_make(net, (unsigned)prefix, &p) && prefix_contains(&p, &addr);
    sqlite3_result_int(ctx, in);
}

int filter_register_sql(sqlite3 *db)
{
    return sqlite3_create_function_v2(db, "fh_net", 3,
                                      SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
                                      fh_net, NULL, NULL, NULL);
}
