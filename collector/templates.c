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

enum reject_reason tmpl_put(struct tmpl_table *tt, struct tmpl *t)
{
    unsigned i = lower_bound(tt, t->id);
    if (i < tt->n && tt->items[i]->id == t->id) {
        struct tmpl *old = tt->items[i];
        if (same_definition(old, t)) {
            /* A refresh: keep the held copy, which libfixbuf already knows. */
            old->received_ms = t->received_ms;
            tmpl_free(t);
            return REJ_NONE;
        }
        tt->dirty = true;
        tt->items[i] = t;
        tmpl_free(old);
        return REJ_NONE;
    }
    if (tt->n >= TMPL_MAX_PER_DOMAIN) {
        tmpl_free(t);
        return REJ_TEMPLATE_LIMIT;
    }
    if (tt->n == tt->cap) {
        tt->cap = tt->cap ? tt->cap * 2 : 16;
        tt->items = xreallocarray(tt->items, tt->cap, sizeof(*tt->items));
    }
    memmove(tt->items + i + 1, tt->items + i, (tt->n - i) * sizeof(*tt->items));
    tt->items[i] = t;
    tt->n++;
    tt->dirty = true;
    return REJ_NONE;
}

bool tmpl_withdraw(struct tmpl_table *tt, uint16_t id)
{
    unsigned i = lower_bound(tt, id);
    if (i >= tt->n || tt->items[i]->id != id)
        return false;
    tmpl_free(tt->items[i]);
    memmove(tt->items + i, tt->items + i + 1, (tt->n - i - 1) * sizeof(*tt->items));
    tt->n--;
    tt->dirty = true;
    return true;
}

void tmpl_withdraw_all(struct tmpl_table *tt, bool options)
{
    unsigned k = 0;
    for (unsigned i = 0; i < tt->n; i++) {
        if (tt->items[i]->options == options)
            tmpl_free(tt->items[i]);
        else
            tt->items[k++] = tt->items[i];
    }
    if (k != tt->n)
        tt->dirty = true;
    tt->n = k;
}

void tmpl_table_free(struct tmpl_table *tt)
{
    for (unsigned i = 0; i < tt->n; i++)
        tmpl_free(tt->items[i]);
    free(tt->items);
    memset(tt, 0, sizeof(*tt));
}
