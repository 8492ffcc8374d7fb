/* filter_describe.c - the parsed filter as canonical text: every operator parenthesized,
 * directions expanded, names of the flows columns. For logs, the UI and the parser's tests. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/xmalloc.h"
#include "query/filter_ast.h"

static const char *field_name(enum ffield f)
{
    static const char *names[] = {
        [FLD_SRC_ADDR] = "src_addr",
        [FLD_DST_ADDR] = "dst_addr",
        [FLD_EXPORTER] = "exporter",
        [FLD_SRC_PORT] = "src_port",
        [FLD_DST_PORT] = "dst_port",
        [FLD_PROTO] = "proto",
        [FLD_TCP_FLAGS] = "tcp_flags",
        [FLD_PACKETS] = "packets",
        [FLD_BYTES] = "bytes",
        [FLD_BPS] = "bps",
        [FLD_PPS] = "pps",
        [FLD_DURATION] = "duration",
        [FLD_SRC_AS] = "src_as",
        [FLD_DST_AS] = "dst_as",
        [FLD_IN_IF] = "in_if",
        [FLD_OUT_IF] = "out_if",
    };
    return names[f];
}

static char *describe(const struct fnode *n)
{
    static const char *ops[] = {"=", "<", ">", "<=", ">="};
    char addr[FH_ADDR_STRLEN], *a, *b, *out;
    switch (n->op) {
    case FN_ANY:
        return xstrdup("any");
    case FN_AND:
    case FN_OR:
        a = describe(n->a);
        b = describe(n->b);
        out = xasprintf("(%s %s %s)", a, n->op == FN_AND ? "and" : "or", b);
        free(a);
        free(b);
        return out;
    case FN_NOT:
        a = describe(n->a);
        out = xasprintf("not %s", a);
        free(a);
        return out;
    case FN_NUM:
        return xasprintf("%s %s %" PRId64, field_name(n->field), ops[n->cmp], n->value);
    case FN_IN:
        out = xasprintf("%s in [", field_name(n->field));
        for (size_t i = 0; i < n->nlist; i++) {
            a = xasprintf("%s%s%" PRId64, out, i ? " " : "", n->list[i]);
            free(out);
            out = a;
        }
        a = xasprintf("%s]", out);
        free(out);
        return a;
    case FN_FLAGS:
        return xasprintf("tcp_flags all %" PRId64, n->value);
    case FN_NET:
        addr_to_str(&n->net.addr, addr, sizeof(addr));
        return xasprintf("%s in %s/%u", field_name(n->field), addr, n->net.len);
    }
    return xstrdup("?");
}

char *filter_describe(const struct filter *f)
{
    return describe(f->root);
}
