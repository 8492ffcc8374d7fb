/* conn.c - the connection tracker: pairing, stitching and splitting of flow records. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "alerts/conn.h"
#include "common/addr.h"
#include "common/satmath.h"
#include "common/xmalloc.h"

struct conn_key {
    struct fh_addr a, b; /* canonical order: a <= b (address, then port) */
    uint16_t pa, pb;
    uint32_t exporter;
};

/* What a direction's last record overwrote (to move that record back out): the fields a
 * record does not simply add to. Packets and bytes before = d[k]'s minus last[k]'s. */
struct conn_undo {
    int64_t first_ms, last_ms;
    uint16_t flags, records;
    uint8_t initial, has_initial, end_reason;
};

/* The connection being built. d[0] is a->b, d[1] is b->a. */
struct conn_cur {
    struct conn_dir d[2];
    struct conn_undo before[2]; /* d[k] before its last record joined */
    struct conn_dir last[2];    /* the last record of d[k] alone */
    uint32_t records;
    uint8_t client; /* 0: a is the client, 1: b is */
    uint8_t rule;
    bool active;
};

/* The last established connection of an entry: only what is not in the key (the rest of its
 * conn_info is derived again, as for the current connection). */
struct conn_last {
    struct conn_dir d[2];
    uint32_t records;
    uint8_t client, rule;
    bool unclosed; /* conn_unclosed() of it (checked on every record: kept, not derived) */
};

#define NIL UINT32_MAX /* no entry (links are indices into the pool) */

/* A slot of the hash table: the key's 32-bit hash and its entry's index + 1 (0: empty, so
 * the table starts as zero pages). Probing compares hashes in the table and touches an entry
 * only when its hash matches: with chaining, each step was a cache miss into the pool. */
struct slot {
    uint32_t h, i;
};

/* Entries live in one pool allocated at the cap (pages are touched only as it fills) and are
 * linked by 32-bit indices: no allocation per connection, and half the bytes of pointers. */
struct conn_entry {
    struct conn_key k;
    uint32_t lprev, lnext; /* LRU list (head = newest); lnext links the free list */
    bool has_last_est;
    bool prior_strong; /* a previous connection's orientation was decided by its flags */
    uint8_t prior_client;
    int64_t expire_at; /* flow time of its exporter */
    struct conn_cur cur;
    struct conn_last last_est;
};

struct conn_tracker {
    struct conn_tracker_opts o;
    struct conn_events ev;
    struct slot *slots; /* open addressing, linear probing: at least twice the cap */
    uint32_t mask;
    size_t count;
    struct conn_entry *pool; /* o.cap entries */
    uint32_t pool_used;      /* entries ever handed out (the rest are untouched) */
    uint32_t free_head;      /* released entries, linked by lnext */
    uint32_t lru_head, lru_tail;
    uint64_t evictions, expired;
};

size_t conn_entry_size(void)
{
    return sizeof(struct conn_entry) + 2 * sizeof(struct slot); /* + its share of the table */
}

/* The pool holds at most this many entries (indices are 32-bit, NIL excluded). */
#define CAP_MAX           ((size_t)1 << 30)
#define DEFAULT_WINDOW_MS (24 * 3600 * 1000LL)

struct conn_tracker *conn_tracker_new(const struct conn_tracker_opts *o,
                                      const struct conn_events *ev)
{
    struct conn_tracker *t = xcalloc(1, sizeof(*t));
    t->o = *o;
    if (t->o.cap == 0)
        t->o.cap = 1u << 20;
    if (t->o.cap > CAP_MAX)
        t->o.cap = CAP_MAX;
    if (t->o.linger_ms <= 0)
        t->o.linger_ms = 120 * 1000;
    conn_tracker_set_window(t, t->o.window_ms);
    if (t->o.pair_tol_ms <= 0)
        t->o.pair_tol_ms = 2000;
    t->ev = *ev;
    size_t n_slots = 1024;
    while (n_slots < 2 * t->o.cap)
        n_slots <<= 1;
    t->slots = xcalloc(n_slots, sizeof(*t->slots));
    t->mask = (uint32_t)(n_slots - 1);
    /* calloc of a large block maps zero pages: memory is used as entries are, not at start */
    t->pool = xcalloc(t->o.cap, sizeof(*t->pool));
    t->free_head = NIL;
    t->lru_head = t->lru_tail = NIL;
    return t;
}

static inline struct conn_entry *at(const struct conn_tracker *t, uint32_t i)
{
    return i == NIL ? NULL : &t->pool[i];
}

static inline uint32_t idx(const struct conn_tracker *t, const struct conn_entry *e)
{
    return (uint32_t)(e - t->pool);
}

static uint64_t key_hash(const struct conn_key *k)
{
    uint64_t h = addr_hash(&k->a, 0x9e3779b97f4a7c15ULL ^ k->exporter);
    h = addr_hash(&k->b, h);
    h ^= ((uint64_t)k->pa << 16 | k->pb) * 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

static bool key_equal(const struct conn_key *x, const struct conn_key *y)
{
    return x->exporter == y->exporter && x->pa == y->pa && x->pb == y->pb &&
           addr_equal(&x->a, &y->a) && addr_equal(&x->b, &y->b);
}

/* Canonical key of a record; *dir is 0 when the record goes a->b. */
static void make_key(struct conn_key *k, uint32_t exporter, const struct fh_addr *src,
                     uint16_t sport, const struct fh_addr *dst, uint16_t dport, int *dir)
{
    memset(k, 0, sizeof(*k));
    int c = addr_cmp(src, dst);
    bool src_first = c < 0 || (c == 0 && sport <= dport);
    k->exporter = exporter;
    k->a = src_first ? *src : *dst;
    k->b = src_first ? *dst : *src;
    k->pa = src_first ? sport : dport;
    k->pb = src_first ? dport : sport;
    *dir = src_first ? 0 : 1;
}

static struct conn_entry *lookup_h(struct conn_tracker *t, const struct conn_key *k, uint32_t h)
{
    for (uint32_t p = h & t->mask;; p = (p + 1) & t->mask) {
        const struct slot *sl = &t->slots[p];
        if (!sl->i)
            return NULL;
        if (sl->h == h && key_equal(&t->pool[sl->i - 1].k, k))
            return &t->pool[sl->i - 1];
    }
}

static struct conn_entry *lookup(struct conn_tracker *t, const struct conn_key *k)
{
    return lookup_h(t, k, (uint32_t)key_hash(k));
}

static void slot_insert(struct conn_tracker *t, uint32_t h, uint32_t i)
{
    uint32_t p = h & t->mask;
    while (t->slots[p].i)
        p = (p + 1) & t->mask;
    t->slots[p].h = h;
    t->slots[p].i = i + 1;
}

/* Removes entry i's slot; later slots of the same probe run move back (no tombstones). */
static void slot_remove(struct conn_tracker *t, uint32_t h, uint32_t i)
{
    uint32_t p = h & t->mask;
    while (t->slots[p].i && t->slots[p].i != i + 1)
        p = (p + 1) & t->mask;
    if (!t->slots[p].i)
        return; /* not there (cannot happen) */
    for (uint32_t q = p;;) {
        q = (q + 1) & t->mask;
        if (!t->slots[q].i)
            break;
        uint32_t home = t->slots[q].h & t->mask;
        /* the slot at q may fill the hole at p unless its home lies cyclically in (p, q] */
        bool stays = p <= q ? (home > p && home <= q) : (home > p || home <= q);
        if (!stays) {
            t->slots[p] = t->slots[q];
            p = q;
        }
    }
    t->slots[p].i = 0;
}

static void lru_unlink(struct conn_tracker *t, struct conn_entry *e)
{
    if (e->lprev != NIL)
        t->pool[e->lprev].lnext = e->lnext;
    else
        t->lru_head = e->lnext;
    if (e->lnext != NIL)
        t->pool[e->lnext].lprev = e->lprev;
    else
        t->lru_tail = e->lprev;
    e->lprev = e->lnext = NIL;
}

static void lru_push(struct conn_tracker *t, struct conn_entry *e)
{
    uint32_t i = idx(t, e);
    e->lnext = t->lru_head;
    e->lprev = NIL;
    if (t->lru_head != NIL)
        t->pool[t->lru_head].lprev = i;
    t->lru_head = i;
    if (t->lru_tail == NIL)
        t->lru_tail = i;
}

/* ---- orientation ---- */

static bool port_rule_client_is_a(uint16_t pa, uint16_t pb)
{
    if ((pa < 1024) != (pb < 1024))
        return pb < 1024; /* the well-known port is the server's */
    return pa >= pb;      /* else the lower port is the server's */
}

static void orient(struct conn_entry *e)
{
    struct conn_cur *c = &e->cur;
    const struct conn_dir *d = c->d;
    for (int k = 0; k < 2; k++)
        if (d[k].records && d[k].has_initial && (d[k].initial & TH_SYN_) &&
            !(d[k].initial & TH_ACK_)) {
            c->client = (uint8_t)k, c->rule = ROLE_INITIAL_FLAGS;
            return;
        }
    for (int k = 0; k < 2; k++)
        if (d[k].records && (d[k].flags & TH_SYN_) && !(d[k].flags & TH_ACK_)) {
            c->client = (uint8_t)k, c->rule = ROLE_SYN;
            return;
        }
    bool both = d[0].records && d[1].records;
    bool syn0 = d[0].records && (d[0].flags & TH_SYN_),
         syn1 = d[1].records && (d[1].flags & TH_SYN_);
    if (both && syn0 != syn1) {
        c->client = syn0 ? 0 : 1, c->rule = ROLE_SYN;
        return;
    }
    if (both && syn0 && syn1 && d[0].first_ms != d[1].first_ms) {
        c->client = d[0].first_ms < d[1].first_ms ? 0 : 1, c->rule = ROLE_SYN_FIRST;
        return;
    }
    if (e->prior_strong) {
        c->client = e->prior_client, c->rule = ROLE_PRIOR;
        return;
    }
    c->client = port_rule_client_is_a(e->k.pa, e->k.pb) ? 0 : 1;
    c->rule = ROLE_PORT;
}

/* ---- directions ---- */

static void dir_from_flow(struct conn_dir *d, const struct flow *f)
{
    memset(d, 0, sizeof(*d));
    d->packets = f->packets;
    d->bytes = f->bytes;
    d->first_ms = f->first_ms;
    d->last_ms = f->last_ms >= f->first_ms ? f->last_ms : f->first_ms;
    d->flags = (f->present & FF_TCP_FLAGS) ? f->tcp_flags : 0;
    if (f->present & FF_UNION_FLAGS)
        d->flags |= f->union_flags;
    if (f->present & FF_INITIAL_FLAGS) {
        d->initial = f->initial_flags;
        d->has_initial = 1;
        d->flags |= f->initial_flags;
    }
    d->end_reason = (f->present & FF_END_REASON) ? f->end_reason : 0;
    d->records = 1;
}

static void dir_merge(struct conn_dir *d, const struct conn_dir *r)
{
    if (!d->records) {
        *d = *r;
        return;
    }
    if (r->has_initial && (!d->has_initial || r->first_ms < d->first_ms)) {
        d->initial = r->initial;
        d->has_initial = 1;
    }
    if (r->last_ms >= d->last_ms)
        d->end_reason = r->end_reason;
    d->packets = sat_addu(d->packets, r->packets);
    d->bytes = sat_addu(d->bytes, r->bytes);
    d->first_ms = r->first_ms < d->first_ms ? r->first_ms : d->first_ms;
    d->last_ms = r->last_ms > d->last_ms ? r->last_ms : d->last_ms;
    d->flags |= r->flags;
    d->records = (uint16_t)(d->records < UINT16_MAX ? d->records + r->records : UINT16_MAX);
}

static void cur_add(struct conn_cur *c, int k, const struct conn_dir *r)
{
    const struct conn_dir *d = &c->d[k];
    c->before[k] = (struct conn_undo){d->first_ms, d->last_ms,     d->flags,     d->records,
                                      d->initial,  d->has_initial, d->end_reason};
    c->last[k] = *r;
    dir_merge(&c->d[k], r);
    c->records++;
    c->active = true;
}

static int64_t cur_end(const struct conn_cur *c)
{
    int64_t e = INT64_MIN;
    for (int k = 0; k < 2; k++)
        if (c->d[k].records && c->d[k].last_ms > e)
            e = c->d[k].last_ms;
    return e;
}

/* A connection of entry e from its two directions d (a->b, b->a) and orientation. */
static void dirs_info(const struct conn_entry *e, const struct conn_dir *d, uint32_t records,
                      uint8_t client, uint8_t rule, struct conn_info *ci)
{
    memset(ci, 0, sizeof(*ci));
    int cl = client, sv = 1 - cl;
    ci->exporter = e->k.exporter;
    ci->client = cl == 0 ? e->k.a : e->k.b;
    ci->server = cl == 0 ? e->k.b : e->k.a;
    ci->cport = cl == 0 ? e->k.pa : e->k.pb;
    ci->sport = cl == 0 ? e->k.pb : e->k.pa;
    ci->c = d[cl];
    ci->s = d[sv];
    ci->start_ms = INT64_MAX;
    ci->end_ms = INT64_MIN;
    for (int k = 0; k < 2; k++) {
        if (d[k].records && d[k].first_ms < ci->start_ms)
            ci->start_ms = d[k].first_ms;
        if (d[k].records && d[k].last_ms > ci->end_ms)
            ci->end_ms = d[k].last_ms;
    }
    ci->records = records;
    ci->rule = (enum conn_role_rule)rule;
    ci->state = conn_classify(&ci->c, &ci->s);
}

static void entry_info(const struct conn_entry *e, const struct conn_cur *c, struct conn_info *ci)
{
    dirs_info(e, c->d, c->records, c->client, c->rule, ci);
}

void conn_entry_current(const struct conn_entry *e, struct conn_info *out)
{
    entry_info(e, &e->cur, out);
}

bool conn_entry_last_established(const struct conn_entry *e, struct conn_info *out)
{
    const struct conn_last *l = &e->last_est;
    if (!e->has_last_est)
        return false;
    dirs_info(e, l->d, l->records, l->client, l->rule, out);
    return true;
}

/* ---- splitting ---- */

static bool cur_closed(const struct conn_cur *c)
{
    uint16_t f0 = c->d[0].records ? c->d[0].flags : 0, f1 = c->d[1].records ? c->d[1].flags : 0;
    return ((f0 | f1) & TH_RST_) || ((f0 & TH_FIN_) && (f1 & TH_FIN_));
}

/* Does record r (direction k) start a new connection rather than join the current one? */
static bool starts_new(const struct conn_tracker *t, const struct conn_entry *e, int k,
                       const struct conn_dir *r)
{
    const struct conn_cur *c = &e->cur;
    const struct conn_dir *d = &c->d[k];
    int64_t end = cur_end(c);
    if (r->flags & TH_SYN_) {
        if (d->records)
            return r->first_ms > d->last_ms; /* a new SYN after this side's data: reuse */
        return r->first_ms > end + t->o.pair_tol_ms;
    }
    if (r->first_ms <= end + t->o.pair_tol_ms)
        return false;
    /* A later record without SYN continues an open connection (active-timeout split, or a
     * quiet one), but not a closed connection or a failed attempt. */
    struct conn_info ci;
    entry_info(e, c, &ci);
    return cur_closed(c) || !conn_established(&ci);
}

/* A reply recorded before its SYN (out of order) joined the old connection: move it out. */
static bool steal_reply(const struct conn_tracker *t, struct conn_cur *c, int k,
                        const struct conn_dir *r, struct conn_dir *stolen)
{
    int o = 1 - k;
    if (!c->d[o].records || !c->d[k].records)
        return false;
    const struct conn_dir *l = &c->last[o];
    if (l->flags & TH_SYN_)
        return false;
    if (l->first_ms <= c->d[k].last_ms || l->first_ms < r->first_ms - t->o.pair_tol_ms)
        return false;
    *stolen = *l;
    struct conn_dir *d = &c->d[o];
    const struct conn_undo *u = &c->before[o];
    if (u->records == 0) {
        memset(d, 0, sizeof(*d)); /* a direction without records is all zero */
    } else {
        /* sums: exact, unless they saturated (then they stay at the limit: "at least") */
        d->packets -= d->packets == UINT64_MAX ? 0 : l->packets;
        d->bytes -= d->bytes == UINT64_MAX ? 0 : l->bytes;
        d->first_ms = u->first_ms, d->last_ms = u->last_ms;
        d->flags = u->flags, d->records = u->records;
        d->initial = u->initial, d->has_initial = u->has_initial, d->end_reason = u->end_reason;
    }
    c->records--;
    return true;
}

static void compute_expiry(const struct conn_tracker *t, struct conn_entry *e)
{
    struct conn_info ci;
    entry_info(e, &e->cur, &ci);
    int64_t x = ci.end_ms + (conn_unclosed(&ci) ? t->o.window_ms : t->o.linger_ms);
    const struct conn_last *l = &e->last_est;
    if (e->has_last_est && l->unclosed) {
        int64_t end = INT64_MIN;
        for (int k = 0; k < 2; k++)
            if (l->d[k].records && l->d[k].last_ms > end)
                end = l->d[k].last_ms;
        if (end + t->o.window_ms > x)
            x = end + t->o.window_ms;
    }
    e->expire_at = x;
}

static void finish_cur(struct conn_tracker *t, struct conn_entry *e)
{
    if (!e->cur.active)
        return;
    struct conn_info ci;
    entry_info(e, &e->cur, &ci);
    if (conn_established(&ci)) {
        struct conn_last *l = &e->last_est;
        memcpy(l->d, e->cur.d, sizeof(l->d));
        l->records = e->cur.records;
        l->client = e->cur.client;
        l->rule = e->cur.rule;
        l->unclosed = conn_unclosed(&ci);
        e->has_last_est = true;
    }
    if (ci.rule <= ROLE_SYN_FIRST) {
        e->prior_strong = true;
        e->prior_client = e->cur.client;
    }
    e->cur.active = false;
    if (t->ev.done)
        t->ev.done(t->ev.ctx, e, &ci);
}

static void entry_remove(struct conn_tracker *t, struct conn_entry *e)
{
    finish_cur(t, e);
    uint32_t i = idx(t, e);
    slot_remove(t, (uint32_t)key_hash(&e->k), i);
    lru_unlink(t, e);
    t->count--;
    e->lnext = t->free_head;
    t->free_head = i;
}

/* A zeroed entry from the free list, else from the untouched rest of the pool. */
static struct conn_entry *entry_alloc(struct conn_tracker *t)
{
    struct conn_entry *e;
    if (t->free_head != NIL) {
        e = &t->pool[t->free_head];
        t->free_head = e->lnext;
        memset(e, 0, sizeof(*e));
    } else {
        e = &t->pool[t->pool_used++]; /* zero: calloc */
    }
    return e;
}

static struct conn_entry *entry_get(struct conn_tracker *t, const struct conn_key *k)
{
    uint32_t h = (uint32_t)key_hash(k);
    struct conn_entry *e = lookup_h(t, k, h);
    if (e) {
        lru_unlink(t, e);
        lru_push(t, e);
        return e;
    }
    if (t->count >= t->o.cap && t->lru_tail != NIL) {
        t->evictions++;
        entry_remove(t, &t->pool[t->lru_tail]);
    }
    e = entry_alloc(t);
    e->k = *k;
    slot_insert(t, h, idx(t, e));
    lru_push(t, e);
    t->count++;
    return e;
}

struct conn_entry *conn_tracker_add(struct conn_tracker *t, uint32_t exporter, const struct flow *f)
{
    if (f->proto != 6 || f->src_addr.family != f->dst_addr.family || !f->src_addr.family)
        return NULL;
    struct conn_key k;
    int dir;
    make_key(&k, exporter, &f->src_addr, f->src_port, &f->dst_addr, f->dst_port, &dir);
    struct conn_entry *e = entry_get(t, &k);
    struct conn_dir r;
    dir_from_flow(&r, f);
    if (e->cur.active && starts_new(t, e, dir, &r)) {
        struct conn_dir stolen;
        bool have = (r.flags & TH_SYN_) && steal_reply(t, &e->cur, dir, &r, &stolen);
        finish_cur(t, e);
        memset(&e->cur, 0, sizeof(e->cur));
        if (have)
            cur_add(&e->cur, 1 - dir, &stolen);
    } else if (!e->cur.active) {
        memset(&e->cur, 0, sizeof(e->cur));
    }
    cur_add(&e->cur, dir, &r);
    orient(e);
    compute_expiry(t, e);
    if (t->ev.updated) {
        struct conn_info ci;
        entry_info(e, &e->cur, &ci);
        t->ev.updated(t->ev.ctx, e, &ci);
    }
    return e;
}

/* The reverse direction of an RFC 5103 biflow, as a record of its own. Only what the store
 * keeps (rev_packets, rev_bytes, rev_tcp_flags), so `flowhound analyze` sees the same. */
bool conn_flow_tracked(const struct flow *f)
{
    return f->proto == 6 && !((f->present & FF_SAMPLING) && f->sampling_interval > 1);
}

static void flow_reverse(const struct flow *f, struct flow *r)
{
    *r = *f;
    r->src_addr = f->dst_addr, r->dst_addr = f->src_addr;
    r->src_port = f->dst_port, r->dst_port = f->src_port;
    r->packets = f->rev_packets, r->bytes = f->rev_bytes;
    r->present = f->present & ~(FF_TCP_FLAGS | FF_INITIAL_FLAGS | FF_UNION_FLAGS | FF_REVERSE);
    r->tcp_flags = f->rev_tcp_flags;
    if (f->present & FF_REV_FLAGS)
        r->present |= FF_TCP_FLAGS;
}

void conn_tracker_add_record(struct conn_tracker *t, uint32_t exporter, const struct flow *f)
{
    conn_tracker_add(t, exporter, f);
    if ((f->present & FF_REVERSE) && f->rev_packets) {
        struct flow r;
        flow_reverse(f, &r);
        conn_tracker_add(t, exporter, &r);
    }
}

struct conn_entry *conn_tracker_find(struct conn_tracker *t, uint32_t exporter,
                                     const struct fh_addr *a, uint16_t pa, const struct fh_addr *b,
                                     uint16_t pb)
{
    struct conn_key k;
    int dir;
    make_key(&k, exporter, a, pa, b, pb, &dir);
    return lookup(t, &k);
}

void conn_tracker_sweep(struct conn_tracker *t, const int64_t *clocks, size_t n_clocks)
{
    struct conn_entry *e = at(t, t->lru_tail);
    while (e) {
        struct conn_entry *prev = at(t, e->lprev);
        if (e->k.exporter < n_clocks && clocks[e->k.exporter] > e->expire_at) {
            t->expired++;
            entry_remove(t, e);
        }
        e = prev;
    }
}

void conn_tracker_flush(struct conn_tracker *t)
{
    while (t->lru_tail != NIL)
        entry_remove(t, &t->pool[t->lru_tail]);
}

void conn_tracker_free(struct conn_tracker *t)
{
    if (!t)
        return;
    struct conn_events none = {0};
    t->ev = none; /* freeing is not finishing: report nothing */
    conn_tracker_flush(t);
    free(t->pool);
    free(t->slots);
    free(t);
}

void conn_tracker_set_window(struct conn_tracker *t, int64_t window_ms)
{
    t->o.window_ms = window_ms > 0 ? window_ms : DEFAULT_WINDOW_MS;
}

size_t conn_tracker_count(const struct conn_tracker *t)
{
    return t->count;
}

uint64_t conn_tracker_evictions(const struct conn_tracker *t)
{
    return t->evictions;
}

uint64_t conn_tracker_expired(const struct conn_tracker *t)
{
    return t->expired;
}
