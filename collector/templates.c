/* templates.c - parsing v9/IPFIX template records and the per-domain template table. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "collector/bytes.h"
#include "collector/templates.h"
#include "common/xmalloc.h"

/* Largest record a template may describe: a set (and so a record) is at most 65535 bytes. */
#define TMPL_MAX_RECORD 65531u

/* Reads `n` field specifiers at p (avail bytes). IPFIX specifiers carry an enterprise number
 * when the top bit of the id is set; v9 ones never do. Returns bytes used or 0 on error. */
static size_t parse_fields(uint8_t version, const uint8_t *p, size_t avail, unsigned n,
                           uint32_t force_pen, struct tmpl_field *out, size_t *min_len)
{
    size_t off = 0;
    for (unsigned i = 0; i < n; i++) {
        if (avail - off < 4)
            return 0;
        uint16_t id = get_be16(p + off);
        uint16_t len = get_be16(p + off + 2);
        uint32_t pen = 0;
        off += 4;
        if (version == 10 && (id & 0x8000)) {
            if (avail - off < 4)
                return 0;
            pen = get_be32(p + off);
            id &= 0x7fff;
            off += 4;
        }
        /* A zero-length field makes zero-length records possible: nothing to decode and an
         * endless loop for a naive reader. v9 has no variable-length fields, but H3C
         * NetStream sends length 65535 with IPFIX's variable-length encoding: accepted. */
        if (len == 0)
            return 0;
        out[i].pen = force_pen ? force_pen : pen;
        out[i].id = id;
        out[i].len = len;
        *min_len += len == TMPL_VARLEN ? 1 : len;
    }
    return off;
}

/* The header of a template record: id, total and scope field counts, header length. */
struct tmpl_head {
    uint16_t id;
    unsigned n_scope, n_rest;
    size_t hlen;
};

static enum reject_reason parse_head(uint8_t version, bool options, const uint8_t *p, size_t avail,
                                     struct tmpl_head *h)
{
    if (avail < 4)
        return REJ_MALFORMED_SET;
    h->id = get_be16(p);
    h->hlen = 4;
    h->n_scope = 0;
    if (version == 9 && options) {
        /* v9 options: scope and option lengths in bytes, 4 bytes per field specifier. */
        if (avail < 6)
            return REJ_MALFORMED_SET;
        uint16_t scope_len = get_be16(p + 2), opt_len = get_be16(p + 4);
        if (scope_len % 4 || opt_len % 4)
            return REJ_MALFORMED_SET;
        h->n_scope = scope_len / 4u;
        h->n_rest = opt_len / 4u;
        h->hlen = 6;
    } else if (version == 10 && options && get_be16(p + 2) != 0) {
        if (avail < 6)
            return REJ_MALFORMED_SET;
        unsigned total = get_be16(p + 2);
        h->n_scope = get_be16(p + 4);
        if (h->n_scope == 0 || h->n_scope > total)
            return REJ_MALFORMED_SET;
        h->n_rest = total - h->n_scope;
        h->hlen = 6;
    } else {
        h->n_rest = get_be16(p + 2);
    }
    if (h->id < 256)
        return REJ_MALFORMED_SET;
    if (h->n_scope + h->n_rest > TMPL_MAX_FIELDS)
        return REJ_MALFORMED_SET;
    return REJ_NONE;
}

enum reject_reason tmpl_parse(uint8_t version, bool options, const uint8_t *p, size_t avail,
                              struct tmpl *t, size_t *used)
{
    struct tmpl_head h;
    memset(t, 0, sizeof(*t));
    enum reject_reason why = parse_head(version, options, p, avail, &h);
    if (why != REJ_NONE)
        return why;
    t->id = h.id;
    t->options = options;
    unsigned n = h.n_scope + h.n_rest;
    if (n == 0) {
        if (version == 9)
            return REJ_MALFORMED_SET; /* v9 has no withdrawal; an empty template is junk */
        *used = h.hlen;
        return REJ_NONE; /* IPFIX withdrawal */
    }
    if ((size_t)n * 4 > avail - h.hlen)
        return REJ_MALFORMED_SET; /* cannot fit: refuse before allocating */
    struct tmpl_field *f = xcalloc(n, sizeof(*f));
    size_t min_len = 0;
    size_t off = h.hlen;
    uint32_t scope_pen = version == 9 ? TMPL_PEN_V9_SCOPE : 0;
    size_t a = h.n_scope
                   ? parse_fields(version, p + off, avail - off, h.n_scope, scope_pen, f, &min_len)
                   : 0;
    if (h.n_scope && a == 0) {
        free(f);
        return REJ_MALFORMED_SET;
    }
    off += a;
    size_t b = parse_fields(version, p + off, avail - off, h.n_rest, 0, f + h.n_scope, &min_len);
    if ((h.n_rest && b == 0) || min_len > TMPL_MAX_RECORD) {
        free(f);
        return REJ_MALFORMED_SET;
    }
    off += b;
    t->fields = f;
    t->n_fields = (uint16_t)n;
    t->n_scope = (uint16_t)h.n_scope;
    t->min_len = min_len;
    t->raw = xmalloc(off);
    memcpy(t->raw, p, off);
    t->raw_len = off;
    *used = off;
    return REJ_NONE;
}

void tmpl_free(struct tmpl *t)
{
    if (!t)
        return;
    free(t->fields);
    free(t->raw);
    free(t->fb_slot);
    free(t);
}

size_t tmpl_cost(const struct tmpl *t)
{
    size_t per_field = sizeof(*t->fields) + sizeof(*t->fb_slot) + TMPL_FB_COST_FIELD;
    return sizeof(*t) + t->raw_len + t->n_fields * per_field + TMPL_FB_COST_BASE;
}

void tmpl_table_init(struct tmpl_table *tt, struct tmpl_limits *lim, uint64_t *exporter_bytes)
{
    memset(tt, 0, sizeof(*tt));
    tt->lim = lim;
    tt->exporter_bytes = lim ? exporter_bytes : NULL;
}

/* Index of the first item with id >= `id`. */
static unsigned lower_bound(const struct tmpl_table *tt, uint16_t id)
{
    unsigned lo = 0, hi = tt->n;
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        if (tt->items[mid]->id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

const struct tmpl *tmpl_find(const struct tmpl_table *tt, uint16_t id)
{
    unsigned i = lower_bound(tt, id);
    return i < tt->n && tt->items[i]->id == id ? tt->items[i] : NULL;
}

static bool same_definition(const struct tmpl *a, const struct tmpl *b)
{
    return a->options == b->options && a->raw_len == b->raw_len &&
           memcmp(a->raw, b->raw, a->raw_len) == 0;
}

/* Would `more` bytes (replacing `less`) take the exporter or everyone over budget? */
static bool over_budget(const struct tmpl_table *tt, size_t more, size_t less)
{
    const struct tmpl_limits *lim = tt->lim;
    if (!lim || more <= less)
        return false;
    uint64_t grow = more - less;
    if (lim->budget_all && lim->used_all + grow > lim->budget_all)
        return true;
    return lim->budget_exporter && tt->exporter_bytes &&
           *tt->exporter_bytes + grow > lim->budget_exporter;
}

/* Moves the table's charge from `less` to `more` bytes. */
static void charge(struct tmpl_table *tt, size_t more, size_t less)
{
    tt->bytes = tt->bytes + more - less;
    if (!tt->lim)
        return;
    tt->lim->used_all = tt->lim->used_all + more - less;
    if (tt->exporter_bytes)
        *tt->exporter_bytes = *tt->exporter_bytes + more - less;
}

bool tmpl_may_change(struct tmpl_table *tt, int64_t now_ms)
{
    if (!tt->lim || !tt->lim->changes_per_min)
        return true;
    double rate = tt->lim->changes_per_min;
    return rate_take(&tt->changes, rate, rate, now_ms);
}

static void release(struct tmpl_table *tt, struct tmpl *t)
{
    charge(tt, 0, t->cost);
    tmpl_free(t);
}

/* A new layout for an id held: within budget and rate, or refused keeping the old one. */
static enum reject_reason redefine(struct tmpl_table *tt, unsigned i, struct tmpl *t)
{
    struct tmpl *old = tt->items[i];
    enum reject_reason why = REJ_NONE;
    if (over_budget(tt, t->cost, old->cost))
        why = REJ_TEMPLATE_BUDGET;
    else if (!tmpl_may_change(tt, t->received_ms))
        why = REJ_TEMPLATE_CHURN;
    if (why != REJ_NONE) {
        tmpl_free(t);
        return why;
    }
    charge(tt, t->cost, old->cost);
    tt->dirty = true;
    tt->items[i] = t;
    tmpl_free(old);
    return REJ_NONE;
}

enum reject_reason tmpl_put(struct tmpl_table *tt, struct tmpl *t)
{
    t->cost = tmpl_cost(t);
    unsigned i = lower_bound(tt, t->id);
    if (i < tt->n && tt->items[i]->id == t->id) {
        struct tmpl *old = tt->items[i];
        if (!same_definition(old, t))
            return redefine(tt, i, t);
        /* A refresh: keep the held copy, which libfixbuf already knows. */
        old->received_ms = t->received_ms;
        old->seen_ms = t->seen_ms;
        tmpl_free(t);
        return REJ_NONE;
    }
    enum reject_reason why = tt->n >= TMPL_MAX_PER_DOMAIN  ? REJ_TEMPLATE_LIMIT
                             : over_budget(tt, t->cost, 0) ? REJ_TEMPLATE_BUDGET
                                                           : REJ_NONE;
    if (why != REJ_NONE) {
        tmpl_free(t);
        return why;
    }
    if (tt->n == tt->cap) {
        tt->cap = tt->cap ? tt->cap * 2 : 16;
        tt->items = xreallocarray(tt->items, tt->cap, sizeof(*tt->items));
    }
    memmove(tt->items + i + 1, tt->items + i, (tt->n - i) * sizeof(*tt->items));
    tt->items[i] = t;
    tt->n++;
    tt->dirty = true;
    charge(tt, t->cost, 0);
    return REJ_NONE;
}

bool tmpl_withdraw(struct tmpl_table *tt, uint16_t id)
{
    unsigned i = lower_bound(tt, id);
    if (i >= tt->n || tt->items[i]->id != id)
        return false;
    release(tt, tt->items[i]);
    memmove(tt->items + i, tt->items + i + 1, (tt->n - i - 1) * sizeof(*tt->items));
    tt->n--;
    tt->dirty = true;
    return true;
}

/* Withdraws every template `gone` says (arg: its argument); returns how many. */
static unsigned withdraw_if(struct tmpl_table *tt,
                            bool (*gone)(const struct tmpl_table *, const struct tmpl *,
                                         const void *),
                            const void *arg)
{
    unsigned k = 0, n = tt->n;
    for (unsigned i = 0; i < n; i++) {
        if (gone(tt, tt->items[i], arg))
            release(tt, tt->items[i]);
        else
            tt->items[k++] = tt->items[i];
    }
    tt->n = k;
    if (k != n)
        tt->dirty = true;
    return n - k;
}

static bool of_kind(const struct tmpl_table *tt, const struct tmpl *t, const void *options)
{
    (void)tt;
    return t->options == *(const bool *)options;
}

void tmpl_withdraw_all(struct tmpl_table *tt, bool options)
{
    withdraw_if(tt, of_kind, &options);
}

bool tmpl_expired(const struct tmpl_table *tt, const struct tmpl *t, int64_t now_ms)
{
    return tt->lim && tt->lim->timeout_ms > 0 && now_ms - t->seen_ms >= tt->lim->timeout_ms;
}

static bool expired(const struct tmpl_table *tt, const struct tmpl *t, const void *now_ms)
{
    return tmpl_expired(tt, t, *(const int64_t *)now_ms);
}

unsigned tmpl_expire(struct tmpl_table *tt, int64_t now_ms)
{
    return withdraw_if(tt, expired, &now_ms);
}

void tmpl_table_free(struct tmpl_table *tt)
{
    for (unsigned i = 0; i < tt->n; i++)
        release(tt, tt->items[i]);
    free(tt->items);
    memset(tt, 0, sizeof(*tt));
}
