/* filter_ast.h - the filter AST, shared by the parser (filter_parse.c), the SQL compilers
 * (filter_sql.c, filter_ch.c) and the C evaluator (filter_eval.c). Private to query/filter*. */
#ifndef FLOWHOUND_FILTER_AST_H
#define FLOWHOUND_FILTER_AST_H

#include <stddef.h>
#include <stdint.h>

#include "common/flow.h"
#include "common/prefix.h"
#include "query/filter.h"

enum fnode_op {
    FN_ANY,   /* always true */
    FN_AND,   /* a and b */
    FN_OR,    /* a or b */
    FN_NOT,   /* not a */
    FN_NUM,   /* field cmp value */
    FN_IN,    /* field in list */
    FN_FLAGS, /* every bit of value set in tcp_flags */
    FN_NET,   /* address field within net (net.len = full length: one address) */
};

/* The fields a primitive reads. Keep in step with field_column[] and field_value(). */
enum ffield {
    FLD_SRC_ADDR,
    FLD_DST_ADDR,
    FLD_EXPORTER,
    FLD_SRC_PORT,
    FLD_DST_PORT,
    FLD_PROTO,
    FLD_TCP_FLAGS,
    FLD_PACKETS,
    FLD_BYTES,
    FLD_BPS,
    FLD_PPS,
    FLD_DURATION,
    FLD_SRC_AS,
    FLD_DST_AS,
    FLD_IN_IF,
    FLD_OUT_IF,
};

enum fcmp { CMP_EQ, CMP_LT, CMP_GT, CMP_LE, CMP_GE };

struct fnode {
    enum fnode_op op;
    enum ffield field;
    enum fcmp cmp;
    int64_t value; /* FN_NUM, FN_FLAGS */
    int64_t *list; /* FN_IN */
    size_t nlist;
    struct fh_prefix net; /* FN_NET */
    struct fnode *a, *b;  /* FN_AND, FN_OR: both; FN_NOT: a */
};

struct filter {
    struct fnode *root;
    char *sql; /* the fragment with plain ? placeholders */
    /* The values in placeholder order. */
    struct fparam {
        enum { FP_INT, FP_TEXT } type;
        int64_t i;
        char *s;
    } * params;
    int nparams;
};

/* filter_sql.c, for both SQL dialects (filter_ch.c): the SQL being written, a growing
 * string. */
struct sbuf {
    char *s;
    size_t len, cap;
};
void sbuf_put(struct sbuf *b, const char *text);
/* A dialect's primitives, each writing one node (FN_NUM, FN_IN, FN_FLAGS, FN_NET); ctx is
 * the dialect's. */
struct sql_dialect {
    void (*num)(void *ctx, const struct fnode *n);
    void (*in)(void *ctx, const struct fnode *n);
    void (*flags)(void *ctx, const struct fnode *n);
    void (*net)(void *ctx, const struct fnode *n);
    const char *not_open, *not_close; /* written around a negated node */
};
/* Writes the tree at n into b: and/or/not here, the same for both dialects, the primitives
 * through d. */
void filter_emit(struct sbuf *b, const struct fnode *n, const struct sql_dialect *d, void *ctx);
/* The column a field reads (NULL for the computed ones: bps, pps, duration), whether it may
 * be NULL, a comparison's operator. */
const char *filter_field_column(enum ffield fld);
bool filter_field_nullable(enum ffield fld);
const char *filter_cmp_op(enum fcmp c);
/* filter_sql.c: fills f->sql and f->params from f->root. */
void filter_build_sql(struct filter *f);
/* filter_parse.c */
void fnode_free(struct fnode *n);

#endif
