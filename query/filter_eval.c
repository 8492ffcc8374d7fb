/* filter_eval.c - evaluates the filter AST on a struct flow, with exactly the meaning of the
 * SQL that filter_sql.c makes of it (the differential test in tests/test_filter.c holds the
 * two together): missing optional fields make a primitive false; counters are compared as the
 * store keeps them (clamped to INT64_MAX); rates are integer divisions as in SQLite. */
#include "config.h"

#include "common/prefix.h"
#include "common/satmath.h"
#include "query/filter_ast.h"

/* nfdump's rate: units per second over the flow's duration in ms, 0 if it has none. */
static __int128 rate(const struct flow *fl, __int128 amount)
{
    __int128 dur = (__int128)fl->last_ms - fl->first_ms;
    return dur > 0 ? amount / dur : 0;
}

/* The field's value, or false when the flow does not carry it. */
static bool field_value(const struct flow *fl, enum ffield f, __int128 *v)
{
    uint32_t p = fl->present;
    switch (f) {
    case FLD_SRC_PORT:
        *v = fl->src_port;
        return true;
    case FLD_DST_PORT:
        *v = fl->dst_port;
        return true;
    case FLD_PROTO:
        *v = fl->proto;
        return true;
    case FLD_TCP_FLAGS:
        *v = fl->tcp_flags;
        return p & FF_TCP_FLAGS;
    case FLD_PACKETS:
        *v = clamp_i64(fl->packets);
        return true;
    case FLD_BYTES:
        *v = clamp_i64(fl->bytes);
        return true;
    case FLD_BPS:
        *v = rate(fl, (__int128)clamp_i64(fl->bytes) * 8000);
        return true;
    case FLD_PPS:
        *v = rate(fl, (__int128)clamp_i64(fl->packets) * 1000);
        return true;
    case FLD_DURATION:
        *v = (__int128)fl->last_ms - fl->first_ms;
        return true;
    case FLD_SRC_AS:
        *v = fl->src_as;
        return p & FF_AS;
    case FLD_DST_AS:
        *v = fl->dst_as;
        return p & FF_AS;
    case FLD_IN_IF:
        *v = fl->in_if;
        return p & FF_IF;
    case FLD_OUT_IF:
        *v = fl->out_if;
        return p & FF_IF;
    case FLD_SRC_ADDR:
    case FLD_DST_ADDR:
    case FLD_EXPORTER:
        break;
    }
    return false;
}

static const struct fh_addr *field_addr(const struct flow *fl, enum ffield f)
{
    return f == FLD_SRC_ADDR ? &fl->src_addr : f == FLD_DST_ADDR ? &fl->dst_addr : &fl->exporter;
}

static bool compare(__int128 v, enum fcmp c, int64_t want)
{
    switch (c) {
    case CMP_EQ:
        return v == want;
    case CMP_LT:
        return v < want;
    case CMP_GT:
        return v > want;
    case CMP_LE:
        return v <= want;
    case CMP_GE:
        return v >= want;
    }
    return false;
}

static bool eval(const struct fnode *n, const struct flow *fl)
{
    __int128 v;
    switch (n->op) {
    case FN_ANY:
        return true;
    case FN_AND:
        return eval(n->a, fl) && eval(n->b, fl);
    case FN_OR:
        return eval(n->a, fl) || eval(n->b, fl);
    case FN_NOT:
        return !eval(n->a, fl);
    case FN_NUM:
        return field_value(fl, n->field, &v) && compare(v, n->cmp, n->value);
    case FN_IN:
        if (!field_value(fl, n->field, &v))
            return false;
        for (size_t i = 0; i < n->nlist; i++)
            if (v == n->list[i])
                return true;
        return false;
    case FN_FLAGS:
        return field_value(fl, FLD_TCP_FLAGS, &v) && (v & n->value) == n->value;
    case FN_NET:
        return prefix_contains(&n->net, field_addr(fl, n->field));
    }
    return false;
}

bool filter_matches_all(const struct filter *f)
{
    return f->root->op == FN_ANY;
}

bool filter_match(const struct filter *f, const struct flow *fl)
{
    return eval(f->root, fl);
}
