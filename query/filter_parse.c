/* filter_parse.c - lexer and recursive-descent parser of the filter language.
 *
 * Grammar (doc/filter.md has the user's version):
 *   filter  := <empty> | expr END
 *   expr    := andexpr { ("or" | "||") andexpr }
 *   andexpr := unary { ("and" | "&&") unary }
 *   unary   := ("not" | "!") unary | "(" expr ")" | term
 * so `not` binds tighter than `and`, which binds tighter than `or`, as in nfdump.
 * Every error names what was expected and the 1-based column of the token found instead. */
#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/addr.h"
#include "common/prefix.h"
#include "common/xmalloc.h"
#include "query/filter_ast.h"

enum tkind {
    T_END,
    T_WORD,
    T_LPAREN,
    T_RPAREN,
    T_LBRACK,
    T_RBRACK,
    T_COMMA,
    T_SLASH,
    T_CMP,
    T_NOT,
    T_AND,
    T_OR
};

struct token {
    enum tkind kind;
    size_t start, len; /* byte span in the text */
    enum fcmp cmp;     /* T_CMP */
};

enum dir { DIR_ANY, DIR_SRC, DIR_DST };

struct parser {
    const char *text;
    size_t pos; /* lexer position: just after tok */
    struct token tok;
    int depth, terms;
    bool failed;
    char *err;
    size_t errlen;
    int column;
};

/* ---- errors ---- */

static void fail_at(struct parser *p, size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail_at(struct parser *p, size_t offset, const char *fmt, ...)
{
    if (p->failed)
        return; /* the first error is the one that explains */
    p->failed = true;
    p->column = (int)offset + 1;
    if (p->err && p->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->err, p->errlen, fmt, ap);
        va_end(ap);
    }
}

/* "'word'" or "end of filter", for messages. */
static const char *found(const struct parser *p, char *buf, size_t len)
{
    if (p->tok.kind == T_END)
        return "end of filter";
    int n = p->tok.len > 40 ? 40 : (int)p->tok.len;
    snprintf(buf, len, "'%.*s%s'", n, p->text + p->tok.start, p->tok.len > 40 ? "..." : "");
    return buf;
}

static void expected(struct parser *p, const char *what)
{
    char buf[64];
    fail_at(p, p->tok.start, "expected %s, found %s", what, found(p, buf, sizeof(buf)));
}

/* ---- lexer ---- */

static bool word_char(int c)
{
    return isalnum(c) || c == '_' || c == ':' || c == '.' || c == '-';
}

static void lex_cmp(struct parser *p, const char *s)
{
    struct token *t = &p->tok;
    t->kind = T_CMP;
    if (s[0] == '=') {
        t->cmp = CMP_EQ;
        t->len = s[1] == '=' ? 2 : 1;
    } else if (s[1] == '=') {
        t->cmp = s[0] == '<' ? CMP_LE : CMP_GE;
        t->len = 2;
    } else {
        t->cmp = s[0] == '<' ? CMP_LT : CMP_GT;
        t->len = 1;
    }
}

static void next(struct parser *p)
{
    const char *s = p->text + p->pos;
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    struct token *t = &p->tok;
    memset(t, 0, sizeof(*t));
    t->start = (size_t)(s - p->text);
    t->len = 1;
    switch (*s) {
    case '\0':
        t->kind = T_END;
        t->len = 0;
        break;
    case '(':
        t->kind = T_LPAREN;
        break;
    case ')':
        t->kind = T_RPAREN;
        break;
    case '[':
        t->kind = T_LBRACK;
        break;
    case ']':
        t->kind = T_RBRACK;
        break;
    case ',':
        t->kind = T_COMMA;
        break;
    case '/':
        t->kind = T_SLASH;
        break;
    case '!':
        t->kind = T_NOT;
        break;
    case '=':
    case '<':
    case '>':
        lex_cmp(p, s);
        break;
    case '&':
    case '|':
        if (s[1] != s[0]) {
            fail_at(p, t->start, "expected '%c%c', found '%c' alone", s[0], s[0], s[0]);
            t->kind = T_END;
            break;
        }
        t->kind = s[0] == '&' ? T_AND : T_OR;
        t->len = 2;
        break;
    default:
        if (!word_char((unsigned char)*s)) {
            if (isprint((unsigned char)*s))
                fail_at(p, t->start, "unexpected character '%c'", *s);
            else
                fail_at(p, t->start, "unexpected byte 0x%02x", (unsigned char)*s);
            t->kind = T_END;
            break;
        }
        t->kind = T_WORD;
        t->len = 0;
        while (word_char((unsigned char)s[t->len]))
            t->len++;
    }
    p->pos = t->start + t->len;
}

static bool is_word(const struct parser *p, const char *kw)
{
    return p->tok.kind == T_WORD && strlen(kw) == p->tok.len &&
           strncasecmp(p->text + p->tok.start, kw, p->tok.len) == 0;
}

static bool accept_word(struct parser *p, const char *kw)
{
    if (!is_word(p, kw))
        return false;
    next(p);
    return true;
}

/* Copies the current word (truncated to len-1). */
static void word_text(const struct parser *p, char *buf, size_t len)
{
    size_t n = p->tok.len < len - 1 ? p->tok.len : len - 1;
    memcpy(buf, p->text + p->tok.start, n);
    buf[n] = '\0';
}

/* ---- nodes ---- */

void fnode_free(struct fnode *n)
{
    if (!n)
        return;
    fnode_free(n->a);
    fnode_free(n->b);
    free(n->list);
    free(n);
}

static struct fnode *leaf(struct parser *p, enum fnode_op op, enum ffield field)
{
    if (++p->terms > FILTER_MAX_TERMS)
        fail_at(p, p->tok.start, "filter too long: more than %d primitives", FILTER_MAX_TERMS);
    struct fnode *n = xcalloc(1, sizeof(*n));
    n->op = op;
    n->field = field;
    return n;
}

static struct fnode *binary(enum fnode_op op, struct fnode *a, struct fnode *b)
{
    if (!a || !b) {
        fnode_free(a);
        fnode_free(b);
        return NULL;
    }
    struct fnode *n = xcalloc(1, sizeof(*n));
    n->op = op;
    n->a = a;
    n->b = b;
    return n;
}

/* `dir` applied to a primitive built on src_field: src only, dst only, or either. */
static struct fnode *directed(struct parser *p, enum dir dir, struct fnode *n, enum ffield src,
                              enum ffield dst)
{
    n->field = dir == DIR_DST ? dst : src;
    if (dir != DIR_ANY)
        return n;
    struct fnode *m = leaf(p, n->op, dst);
    enum ffield keep = m->field;
    *m = *n;
    m->field = keep;
    if (n->list) {
        m->list = xreallocarray(NULL, n->nlist, sizeof(int64_t));
        memcpy(m->list, n->list, n->nlist * sizeof(int64_t));
    }
    return binary(FN_OR, n, m);
}

/* ---- values ---- */

/* A decimal or 0x number with an optional k/m/g/t suffix (x1000 each, as nfdump). */
static bool parse_number(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0, mult = 1;
    size_t i = 0;
    int base = 10;
    if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        i = 2;
    } else if (len > 1 && strchr("kKmMgGtT", s[len - 1])) {
        char c = (char)tolower((unsigned char)s[len - 1]);
        mult = c == 'k'   ? 1000ULL
               : c == 'm' ? 1000000ULL
               : c == 'g' ? 1000000000ULL
                          : 1000000000000ULL;
        len--;
    }
    if (i >= len)
        return false;
    for (; i < len; i++) {
        int d;
        if (isdigit((unsigned char)s[i]))
            d = s[i] - '0';
        else if (base == 16 && isxdigit((unsigned char)s[i]))
            d = tolower((unsigned char)s[i]) - 'a' + 10;
        else
            return false;
        if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
            return false;
        v = v * (uint64_t)base + (uint64_t)d;
    }
    if (mult > 1 && v > UINT64_MAX / mult)
        return false;
    *out = v * mult;
    return true;
}

/* Reads a number in [0, max] naming it `what` in errors. */
static bool number(struct parser *p, const char *what, uint64_t max, int64_t *out)
{
    uint64_t v;
    char msg[96];
    if (p->tok.kind != T_WORD || !parse_number(p->text + p->tok.start, p->tok.len, &v)) {
        snprintf(msg, sizeof(msg), "%s (a number)", what);
        expected(p, msg);
        return false;
    }
    if (v > max) {
        fail_at(p, p->tok.start, "%s out of range: %" PRIu64 " (expected 0 to %" PRIu64 ")", what,
                v, max);
        return false;
    }
    *out = (int64_t)v;
    next(p);
    return true;
}

static enum fcmp comparator(struct parser *p)
{
    static const struct {
        const char *w;
        enum fcmp c;
    } words[] = {
        {"eq", CMP_EQ}, {"lt", CMP_LT}, {"gt", CMP_GT}, {"le", CMP_LE}, {"ge", CMP_GE},
    };
    if (p->tok.kind == T_CMP) {
        enum fcmp c = p->tok.cmp;
        next(p);
        return c;
    }
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (accept_word(p, words[i].w))
            return words[i].c;
    return CMP_EQ;
}

static bool address(struct parser *p, struct fh_addr *a)
{
    char buf[64];
    if (p->tok.kind == T_WORD && p->tok.len < sizeof(buf)) {
        word_text(p, buf, sizeof(buf));
        if (addr_from_str(buf, a)) {
            next(p);
            return true;
        }
    }
    expected(p, "an IPv4 or IPv6 address");
    return false;
}

/* ---- primitives ---- */

/* prefix: checked against the address's length by the caller */
static struct fnode *net_node(struct parser *p, const struct fh_addr *a, int prefix)
{
    struct fnode *n = leaf(p, FN_NET, FLD_SRC_ADDR);
    prefix_make(a, (unsigned)prefix, &n->net);
    return n;
}

/* After `net`: A/len or A mask M. */
static struct fnode *net_term(struct parser *p)
{
    struct fh_addr a, m;
    if (!address(p, &a))
        return NULL;
    int max = a.family == 4 ? 32 : 128;
    int64_t len;
    if (p->tok.kind == T_SLASH) {
        next(p);
        if (!number(p, a.family == 4 ? "IPv4 prefix length" : "IPv6 prefix length", (uint64_t)max,
                    &len))
            return NULL;
        return net_node(p, &a, (int)len);
    }
    if (!is_word(p, "mask")) {
        expected(p, "'/' and a prefix length, or 'mask'");
        return NULL;
    }
    next(p);
    size_t at = p->tok.start;
    if (!address(p, &m))
        return NULL;
    int prefix = m.family == 4 ? prefix_mask_len(&m) : -1;
    if (a.family != 4 || prefix < 0) {
        fail_at(p, at, "expected a contiguous IPv4 netmask such as 255.255.0.0%s",
                a.family != 4 ? " (IPv6 takes /len)" : "");
        return NULL;
    }
    return net_node(p, &a, prefix);
}

/* One item of `ip in [...]`: A or A/len. */
static struct fnode *ip_item(struct parser *p)
{
    struct fh_addr a;
    if (!address(p, &a))
        return NULL;
    int max = a.family == 4 ? 32 : 128;
    int64_t len = max;
    if (p->tok.kind == T_SLASH) {
        next(p);
        if (!number(p, "prefix length", (uint64_t)max, &len))
            return NULL;
    }
    return net_node(p, &a, (int)len);
}

static bool open_list(struct parser *p)
{
    if (p->tok.kind != T_LBRACK) {
        expected(p, "'['");
        return false;
    }
    next(p);
    return true;
}

/* `ip in [ A, B/len ... ]`: an or of the items. */
static struct fnode *ip_list(struct parser *p, enum dir dir)
{
    if (!open_list(p))
        return NULL;
    struct fnode *all = NULL;
    size_t count = 0;
    while (!p->failed && p->tok.kind != T_RBRACK) {
        if (count && p->tok.kind == T_COMMA)
            next(p);
        struct fnode *n = ip_item(p);
        if (!n)
            break;
        n = directed(p, dir, n, FLD_SRC_ADDR, FLD_DST_ADDR);
        all = all ? binary(FN_OR, all, n) : n;
        count++;
    }
    if (p->failed || !all) {
        if (!p->failed)
            expected(p, "an address in the list");
        fnode_free(all);
        return NULL;
    }
    next(p);
    return all;
}

/* `port in [ 80 443 ]`, `as in [...]`. */
static struct fnode *num_list(struct parser *p, enum dir dir, const char *what, uint64_t max,
                              enum ffield src, enum ffield dst)
{
    if (!open_list(p))
        return NULL;
    struct fnode *n = leaf(p, FN_IN, src);
    while (!p->failed && p->tok.kind != T_RBRACK) {
        if (n->nlist && p->tok.kind == T_COMMA)
            next(p);
        if (n->nlist == FILTER_MAX_LIST) {
            fail_at(p, p->tok.start, "list too long: more than %d values", FILTER_MAX_LIST);
            break;
        }
        int64_t v;
        if (!number(p, what, max, &v))
            break;
        n->list = xreallocarray(n->list, n->nlist + 1, sizeof(int64_t));
        n->list[n->nlist++] = v;
    }
    if (!p->failed && n->nlist == 0) {
        char msg[96];
        snprintf(msg, sizeof(msg), "%s (a number)", what);
        expected(p, msg);
    }
    if (p->failed) {
        fnode_free(n);
        return NULL;
    }
    next(p);
    return directed(p, dir, n, src, dst);
}

static struct fnode *compare(struct parser *p, const char *what, uint64_t max, enum ffield field)
{
    enum fcmp c = comparator(p);
    int64_t v;
    if (p->failed || !number(p, what, max, &v))
        return NULL;
    struct fnode *n = leaf(p, FN_NUM, field);
    n->cmp = c;
    n->value = v;
    return n;
}

/* `[src|dst] port ...` and `[src|dst] as ...`: a comparison or an `in [...]` list. */
static struct fnode *num_term(struct parser *p, enum dir dir, const char *what, uint64_t max,
                              enum ffield src, enum ffield dst)
{
    if (accept_word(p, "in"))
        return num_list(p, dir, what, max, src, dst);
    struct fnode *n = compare(p, what, max, src);
    return n ? directed(p, dir, n, src, dst) : NULL;
}

static struct fnode *proto_term(struct parser *p)
{
    static const struct {
        const char *name;
        int num;
    } names[] = {
        {"icmp", 1}, {"igmp", 2},   {"tcp", 6},        {"udp", 17},  {"gre", 47},  {"esp", 50},
        {"ah", 51},  {"icmp6", 58}, {"ipv6-icmp", 58}, {"ospf", 89}, {"pim", 103}, {"sctp", 132},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (accept_word(p, names[i].name)) {
            struct fnode *n = leaf(p, FN_NUM, FLD_PROTO);
            n->value = names[i].num;
            return n;
        }
    if (p->tok.kind == T_WORD && !isdigit((unsigned char)p->text[p->tok.start])) {
        expected(p, "a protocol: tcp, udp, icmp, icmp6, gre, esp, ah, sctp, ... or a number");
        return NULL;
    }
    return compare(p, "protocol", 255, FLD_PROTO);
}

/* Flag letters as a bit mask; X is nfdump's "all of FSRPAU". Returns -1 after an error. */
static int64_t flag_letters(struct parser *p)
{
    static const char letters[] = "FSRPAUEC";
    int64_t mask = 0;
    for (size_t i = 0; i < p->tok.len; i++) {
        int c = toupper((unsigned char)p->text[p->tok.start + i]);
        const char *at = c ? strchr(letters, c) : NULL;
        if (c == 'X') {
            mask |= 0x3f;
        } else if (at) {
            mask |= 1 << (at - letters);
        } else {
            fail_at(p, p->tok.start + i,
                    "expected TCP flag letters (F S R P A U E C, or X for all), found '%c'",
                    p->text[p->tok.start + i]);
            return -1;
        }
    }
    next(p);
    return mask;
}

/* `flags SA` (all set), `flags = SA` (exactly), `flags [cmp] N` (numeric). */
static struct fnode *flags_term(struct parser *p)
{
    bool had_cmp = p->tok.kind == T_CMP;
    size_t cmp_at = p->tok.start;
    enum fcmp c = comparator(p);
    if (p->tok.kind == T_WORD && !isdigit((unsigned char)p->text[p->tok.start])) {
        if (had_cmp && c != CMP_EQ) {
            fail_at(p, cmp_at, "expected '=' or nothing before flag letters");
            return NULL;
        }
        int64_t mask = flag_letters(p);
        if (mask < 0)
            return NULL;
        struct fnode *n = leaf(p, had_cmp ? FN_NUM : FN_FLAGS, FLD_TCP_FLAGS);
        n->value = mask;
        n->cmp = CMP_EQ;
        return n;
    }
    int64_t v;
    if (p->tok.kind != T_WORD) {
        expected(p, "TCP flag letters such as SA, or a number");
        return NULL;
    }
    if (!number(p, "TCP flags", 0xffff, &v))
        return NULL;
    struct fnode *n = leaf(p, FN_NUM, FLD_TCP_FLAGS);
    n->cmp = c;
    n->value = v;
    return n;
}

/* `exporter|router [ip|host] A` or `exporter|router net ...`. */
static struct fnode *exporter_term(struct parser *p)
{
    struct fnode *n;
    if (accept_word(p, "net")) {
        n = net_term(p);
    } else {
        if (!accept_word(p, "ip"))
            accept_word(p, "host");
        struct fh_addr a;
        if (!address(p, &a))
            return NULL;
        n = net_node(p, &a, a.family == 4 ? 32 : 128);
    }
    if (n)
        n->field = FLD_EXPORTER;
    return n;
}

/* `[in|out] if N`, after the direction word. */
static struct fnode *if_term(struct parser *p, int which)
{
    if (!accept_word(p, "if")) {
        expected(p, "'if'");
        return NULL;
    }
    struct fnode *n = compare(p, "interface index", UINT32_MAX, FLD_IN_IF);
    if (!n || which != 0) {
        if (n && which == 2)
            n->field = FLD_OUT_IF;
        return n;
    }
    return directed(p, DIR_ANY, n, FLD_IN_IF, FLD_OUT_IF);
}

/* Primitives that take a direction: ip/host, net, port, as. */
static struct fnode *directed_term(struct parser *p, enum dir dir)
{
    if (accept_word(p, "ip") || accept_word(p, "host")) {
        if (accept_word(p, "in"))
            return ip_list(p, dir);
        struct fh_addr a;
        if (!address(p, &a))
            return NULL;
        struct fnode *n = net_node(p, &a, a.family == 4 ? 32 : 128);
        return directed(p, dir, n, FLD_SRC_ADDR, FLD_DST_ADDR);
    }
    if (accept_word(p, "net")) {
        struct fnode *n = net_term(p);
        return n ? directed(p, dir, n, FLD_SRC_ADDR, FLD_DST_ADDR) : NULL;
    }
    if (accept_word(p, "port"))
        return num_term(p, dir, "port", 65535, FLD_SRC_PORT, FLD_DST_PORT);
    if (accept_word(p, "as"))
        return num_term(p, dir, "AS number", UINT32_MAX, FLD_SRC_AS, FLD_DST_AS);
    return NULL;
}

static struct fnode *term(struct parser *p)
{
    static const struct {
        const char *w;
        enum ffield f;
    } counters[] = {
        {"packets", FLD_PACKETS}, {"bytes", FLD_BYTES},       {"bps", FLD_BPS},
        {"pps", FLD_PPS},         {"duration", FLD_DURATION},
    };
    if (accept_word(p, "any"))
        return leaf(p, FN_ANY, FLD_SRC_ADDR);
    enum dir dir = accept_word(p, "src") ? DIR_SRC : accept_word(p, "dst") ? DIR_DST : DIR_ANY;
    struct fnode *n = directed_term(p, dir);
    if (n || p->failed)
        return n;
    if (dir != DIR_ANY) {
        expected(p, "ip, host, net, port or as");
        return NULL;
    }
    if (accept_word(p, "proto"))
        return proto_term(p);
    if (accept_word(p, "flags"))
        return flags_term(p);
    if (accept_word(p, "exporter") || accept_word(p, "router"))
        return exporter_term(p);
    if (is_word(p, "if"))
        return if_term(p, 0);
    if (accept_word(p, "in"))
        return if_term(p, 1);
    if (accept_word(p, "out"))
        return if_term(p, 2);
    for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
        if (accept_word(p, counters[i].w))
            return compare(p, counters[i].w, INT64_MAX, counters[i].f);
    expected(p, "a filter primitive (ip, net, port, proto, flags, packets, bytes, as, if, "
                "exporter, any, not, '(')");
    return NULL;
}

/* ---- expressions ---- */

static struct fnode *expr(struct parser *p);

static struct fnode *unary(struct parser *p)
{
    if (p->failed)
        return NULL;
    if (++p->depth > FILTER_MAX_DEPTH) {
        fail_at(p, p->tok.start, "filter nested too deeply (more than %d levels)",
                FILTER_MAX_DEPTH);
        return NULL;
    }
    struct fnode *n = NULL;
    if (p->tok.kind == T_NOT || is_word(p, "not")) {
        next(p);
        struct fnode *a = unary(p);
        if (a) {
            n = xcalloc(1, sizeof(*n));
            n->op = FN_NOT;
            n->a = a;
        }
    } else if (p->tok.kind == T_LPAREN) {
        size_t open = p->tok.start;
        next(p);
        n = expr(p);
        if (n && p->tok.kind != T_RPAREN) {
            char buf[64];
            fail_at(p, p->tok.start, "expected ')' to close the '(' at column %zu, found %s",
                    open + 1, found(p, buf, sizeof(buf)));
        }
        if (!p->failed)
            next(p);
    } else {
        n = term(p);
    }
    p->depth--;
    if (p->failed) {
        fnode_free(n);
        return NULL;
    }
    return n;
}

static struct fnode *andexpr(struct parser *p)
{
    struct fnode *n = unary(p);
    while (n && (p->tok.kind == T_AND || is_word(p, "and"))) {
        next(p);
        n = binary(FN_AND, n, unary(p));
    }
    return n;
}

static struct fnode *expr(struct parser *p)
{
    struct fnode *n = andexpr(p);
    while (n && (p->tok.kind == T_OR || is_word(p, "or"))) {
        next(p);
        n = binary(FN_OR, n, andexpr(p));
    }
    return n;
}

static struct fnode *parse(struct parser *p)
{
    next(p);
    if (p->tok.kind == T_END && !p->failed)
        return leaf(p, FN_ANY, FLD_SRC_ADDR); /* an empty filter matches everything */
    struct fnode *n = expr(p);
    if (n && p->tok.kind != T_END)
        expected(p, p->tok.kind == T_RPAREN ? "no ')' without a '(' before it"
                                            : "'and', 'or' or the end of the filter");
    if (p->failed) {
        fnode_free(n);
        return NULL;
    }
    return n;
}

/* A filter is text: a control character (a NUL that would end it early, an escape sequence)
 * is refused where it is, never skipped or taken as the end. Tabs and line ends are spaces. */
static bool plain_text(struct parser *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p->text[i];
        if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) {
            fail_at(p, i, "unexpected byte 0x%02x, a control character: a filter is plain text", c);
            return false;
        }
    }
    return true;
}

struct filter *filter_compile(const char *text, char *err, size_t errlen, int *err_column)
{
    return filter_compile_n(text, text ? strlen(text) : 0, err, errlen, err_column);
}

struct filter *filter_compile_n(const char *text, size_t len, char *err, size_t errlen,
                                int *err_column)
{
    struct parser p = {.text = text ? text : "", .err = err, .errlen = errlen};
    if (err && errlen)
        err[0] = '\0';
    if (err_column)
        *err_column = 0;
    struct fnode *root = NULL;
    if (len > FILTER_MAX_TEXT)
        fail_at(&p, FILTER_MAX_TEXT, "filter too long: more than %d characters", FILTER_MAX_TEXT);
    else if (plain_text(&p, len))
        root = parse(&p);
    if (!root) {
        if (err_column)
            *err_column = p.column;
        return NULL;
    }
    struct filter *f = xcalloc(1, sizeof(*f));
    f->root = root;
    filter_build_sql(f);
    return f;
}

void filter_free(struct filter *f)
{
    if (!f)
        return;
    fnode_free(f->root);
    for (int i = 0; i < f->nparams; i++)
        free(f->params[i].s);
    free(f->params);
    free(f->sql);
    free(f);
}
