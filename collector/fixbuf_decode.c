/* fixbuf_decode.c - NetFlow v9 (RFC 3954) and IPFIX (RFC 7011) messages: our walker in
 * front, libfixbuf decoding the records (doc/ipfix.md, "Integration").
 *
 * Integration: we keep our own UDP socket loop (batching into the storage queue, per-exporter
 * accounting), so libfixbuf's listener/collector, the only home of its v9 translator, is not
 * used. Instead each (exporter, domain, version) has its own fbSession and collection fBuf
 * (collector/fixbuf_session.c, kept in struct fb_state below) and gets IPFIX through
 * fBufSetBuffer: v9 is rewritten into IPFIX by us.
 *
 * This file is the validator and accountant in front of libfixbuf. It walks the header and
 * the sets by their own lengths (never by the v9 header count, which softflowd, FortiGate and
 * nProbe fill with other things) and:
 *   - parses template records strictly into the domain's table (collector/templates.c), which
 *     keeps the raw records for persistence and honours withdrawal and redefinition -- in
 *     libfixbuf's session too (fbx_feed / fbx_forget);
 *   - for a data set, counts a set without a template (libfixbuf would skip it silently),
 *     splits the records by their template to count them (IPFIX sequence accounting) and to
 *     reject one whose variable-length field runs past the set, and hands only the valid
 *     records to libfixbuf; nothing libfixbuf sees has not been bounds-checked first;
 *   - turns each record libfixbuf returns into a struct flow (collector/ipfix_record.c), or,
 *     for options records, into the domain's state (sampler intervals,
 *     systemInitTimeMilliseconds).
 *
 * Called with the exporter-table lock held.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "collector/bytes.h"
#include "collector/fixbuf_decode.h"
#include "collector/fixbuf_session.h"
#include "collector/ipfix_record.h"
#include "collector/templates.h"
#include "common/xmalloc.h"

#define V9_HEADER_LEN    20
#define IPFIX_HEADER_LEN 16

/* IPFIX sequence numbers as exporters really send them. RFC 7011 3.1: the number of data
 * records (options records included) sent BEFORE this message. softflowd 1.1 sends the
 * number INCLUDING this message's records and leaves options records out. We track each
 * convention in parallel and report the one that explains the stream best (fewest gaps,
 * duplicates and resets; ties go to the RFC): exact whenever nothing is lost, and no guess
 * per vendor. */
enum seq_convention { CONV_RFC, CONV_DATA_ONLY, CONV_AFTER, CONV_AFTER_DATA_ONLY, CONV__COUNT };

/* Per (exporter, domain, version) state: exporter_domain.proto_state. */
struct fb_state {
    struct tmpl_table templates;
    struct fb_options opt;
    struct seq_state conv[CONV__COUNT];
    struct seq_state base; /* the domain's counters when this process first saw it */
    bool have_base;
    struct fbx *fb; /* libfixbuf session + collection buffer, created at first data set */
    uint64_t msgs;  /* messages decoded, numbering them for tmpl.refused_in (first: 1) */
};

/* One message being decoded. */
struct msg {
    const struct exporter_table *t;
    uint8_t version;
    struct exporter *e;
    struct exporter_domain *d;
    struct fb_state *st;
    const struct flow_emitter *out;
    int64_t now_ms;
    struct rec_clock clock;
    uint32_t data_records;    /* IPFIX sequence numbers count these */
    uint32_t options_records; /* ... and, depending on the exporter, these */
    bool uncounted;           /* a data set we could not count the records of */
    enum reject_reason why;   /* first problem seen */
};

static void note(struct msg *m, enum reject_reason why)
{
    if (m->why == REJ_NONE)
        m->why = why;
}

static struct fb_state *state_of(struct exporter_table *t, struct exporter *e,
                                 struct exporter_domain *d)
{
    if (!d->proto_state) {
        struct fb_state *st = xcalloc(1, sizeof(*st));
        tmpl_table_init(&st->templates, &t->templates, &e->template_bytes);
        d->proto_state = st;
    }
    return d->proto_state;
}

void fixbuf_attach(struct exporter_table *t, struct exporter *e, struct exporter_domain *d)
{
    state_of(t, e, d);
}

struct tmpl_table *fixbuf_templates(struct exporter_domain *d)
{
    struct fb_state *st = d->proto_state;
    return st ? &st->templates : NULL;
}

struct fb_options *fixbuf_options(struct exporter_domain *d)
{
    struct fb_state *st = d->proto_state;
    return st ? &st->opt : NULL;
}

unsigned fixbuf_expire(struct exporter_domain *d, int64_t now_ms)
{
    struct fb_state *st = d->proto_state;
    if (!st)
        return 0;
    struct tmpl_table *tt = &st->templates;
    for (unsigned i = 0; st->fb && i < tt->n; i++)
        if (tmpl_expired(tt, tt->items[i], now_ms))
            fbx_forget(st->fb, tt->items[i]);
    unsigned n = tmpl_expire(tt, now_ms);
    if (n) {
        d->templates_expired += n;
        d->dirty = true;
    }
    return n;
}

void fixbuf_free_state(void *state)
{
    struct fb_state *st = state;
    if (!st)
        return;
    fbx_free(st->fb);
    tmpl_table_free(&st->templates);
    free(st);
}

/* ---- options records: sampling and boot time ---- */

static bool remember_sampler(struct fb_options *o, uint32_t id, uint32_t interval)
{
    for (unsigned i = 0; i < o->n_samplers; i++) {
        if (o->samplers[i].id == id) {
            bool changed = o->samplers[i].interval != interval;
            o->samplers[i].interval = interval;
            return changed;
        }
    }
    if (o->n_samplers >= FB_MAX_SAMPLERS)
        return false;
    o->samplers[o->n_samplers++] = (struct fb_sampler){id, interval};
    return true;
}

/* An options record: remembers boot time and sampling; marks the domain for persistence
 * when they change. */
static void apply_options(struct fb_state *st, const struct rec_acc *a)
{
    struct fb_options *o = &st->opt;
    bool changed = false;
    if (a->have_sys_init && (!o->have_sys_init || o->sys_init_ms != a->sys_init_ms)) {
        o->have_sys_init = true;
        o->sys_init_ms = a->sys_init_ms;
        changed = true;
    }
    uint32_t interval = rec_interval(a);
    if (interval && a->have_sampler_id) {
        changed |= remember_sampler(o, a->sampler_id, interval);
    } else if (interval && o->default_interval != interval) {
        o->default_interval = interval;
        changed = true;
    }
    if (changed)
        st->templates.dirty = true;
}

/* The interval of a flow record: stated in the record, else its sampler's, else the
 * domain's default. 0 when unknown (the flow is stored without a sampling interval). */
static uint32_t flow_interval(const struct fb_options *o, const struct rec_acc *a)
{
    uint32_t v = rec_interval(a);
    if (v)
        return v;
    if (a->have_sampler_id)
        for (unsigned i = 0; i < o->n_samplers; i++)
            if (o->samplers[i].id == a->sampler_id)
                return o->samplers[i].interval;
    return o->default_interval;
}

/* ---- data records ---- */

/* The length of one record (validation only: libfixbuf decodes it), or 0 when a
 * variable-length field runs past the set. */
static size_t record_len(const struct tmpl *t, const uint8_t *p, size_t avail)
{
    size_t off = 0;
    for (unsigned i = 0; i < t->n_fields; i++) {
        size_t len = t->fields[i].len;
        if (len == TMPL_VARLEN) {
            if (avail - off < 1)
                return 0;
            len = p[off++];
            if (len == 255) {
                if (avail - off < 2)
                    return 0;
                len = get_be16(p + off);
                off += 2;
            }
        }
        if (avail - off < len)
            return 0;
        off += len;
    }
    return off;
}

/* One record as libfixbuf decoded it (fbx_read's callback). */
static void on_record(void *ctx, const struct tmpl *t, const uint8_t *rec)
{
    struct msg *m = ctx;
    struct flow f;
    memset(&f, 0, sizeof(f));
    struct rec_acc a = {.f = &f, .version = m->version};
    fbx_take(t, rec, &a);
    if (t->options) {
        apply_options(m->st, &a);
        return;
    }
    if (!a.has_addr)
        return; /* not a flow (statistics, application tables, ...): nothing to store */
    f.exporter = m->e->addr;
    f.domain = m->d->domain;
    f.version = m->version;
    f.received_ms = m->now_ms;
    m->clock.have_sys_init = m->st->opt.have_sys_init;
    m->clock.sys_init_ms = m->st->opt.sys_init_ms;
    rec_finish(&a, &m->clock);
    uint32_t interval = flow_interval(&m->st->opt, &a);
    if (interval) {
        f.sampling_interval = interval;
        f.present |= FF_SAMPLING;
    }
    decode_emit(m->t, m->d, m->out, &f);
}

/* Hands `n` whole records (len bytes) to libfixbuf. Anything it does not return (it should
 * return all: they were validated) is counted as rejected. */
static void fb_records(struct msg *m, struct tmpl *t, const uint8_t *p, size_t len, unsigned n)
{
    if (n == 0)
        return;
    if (!m->st->fb)
        m->st->fb = fbx_new(m->d->domain);
    unsigned got = 0;
    if (fbx_feed(m->st->fb, m->version, t))
        got =
            fbx_read(m->st->fb, t, (uint32_t)(m->clock.export_ms / 1000), p, len, n, on_record, m);
    if (got < n) {
        m->d->records_rejected += n - got;
        note(m, REJ_BAD_RECORD);
    }
    if (fbx_stale(m->st->fb)) {
        /* libfixbuf cannot be rewound: start a new session, templates fed again lazily. */
        fbx_free(m->st->fb);
        m->st->fb = NULL;
        for (unsigned i = 0; i < m->st->templates.n; i++)
            m->st->templates.items[i]->fb_fed = false;
    }
}

/* Validates and counts the records of a data set, then has libfixbuf decode the good ones. */
static void decode_data_set(struct msg *m, uint16_t set_id, const uint8_t *p, size_t len)
{
    struct tmpl *t = (struct tmpl *)tmpl_find(&m->st->templates, set_id);
    if (!t || t->refused_in == m->st->msgs) {
        /* Data before its template (or a template we never got): dropped and counted, never
         * guessed at. We cannot know how many records the set holds: count the set. Data of
         * a message whose new layout for this id we refused (decode_template_set, which
         * noted why) follows that layout, not the one held: the same. */
        m->d->records_rejected++;
        m->uncounted = true;
        if (!t)
            note(m, REJ_TEMPLATE_MISSING);
        return;
    }
    size_t off = 0;
    unsigned n = 0;
    bool bad = false;
    /* Anything shorter than the smallest record is padding (RFC 7011 3.3.1). min_len >= 1
     * (zero-length fields are refused), so this loop ends within `len` iterations. */
    while (len - off >= t->min_len) {
        size_t used = record_len(t, p + off, len - off);
        if (used == 0) {
            bad = true;
            break;
        }
        m->data_records++;
        if (t->options)
            m->options_records++;
        off += used, n++;
    }
    /* Records before a bad one are kept. A set's records always fit one IPFIX message
     * (FBX_MAX_RECORDS_LEN) when the datagram fits UDP; longer ones count as rejected. */
    fb_records(m, t, p, off, n);
    if (bad) {
        m->d->records_rejected++;
        m->uncounted = true;
        note(m, REJ_BAD_RECORD);
    }
}

/* ---- template sets ---- */

static bool rest_is_zero(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i])
            return false;
    return true;
}

/* Is t withdrawn by a withdrawal of `id` in a set `set_id` (id = set id: all of its kind)? */
static bool withdrawn_by(const struct tmpl *t, uint16_t id, uint16_t set_id)
{
    return id == set_id ? t->options == (set_id == 3) : t->id == id;
}

/* A template change refused: counted in the domain, and noted for the datagram. */
static void refuse(struct msg *m, enum reject_reason why)
{
    note(m, why);
    m->d->templates_refused++;
}

/* IPFIX withdrawal of one template, or of all (template id = set id): from our table and
 * from libfixbuf's session. A change like a redefinition (withdrawing then defining again
 * would otherwise get round the rate of changes), so it waits for its turn the same way;
 * refused, the templates stay held until they expire. */
static void withdraw(struct msg *m, uint16_t id, uint16_t set_id)
{
    struct tmpl_table *tt = &m->st->templates;
    unsigned hit = 0;
    for (unsigned i = 0; i < tt->n; i++)
        hit += withdrawn_by(tt->items[i], id, set_id);
    if (!hit)
        return;
    if (!tmpl_may_change(tt, m->now_ms)) {
        refuse(m, REJ_TEMPLATE_CHURN);
        return;
    }
    for (unsigned i = 0; m->st->fb && i < tt->n; i++)
        if (withdrawn_by(tt->items[i], id, set_id))
            fbx_forget(m->st->fb, tt->items[i]);
    if (id == set_id)
        tmpl_withdraw_all(tt, set_id == 3);
    else
        tmpl_withdraw(tt, id);
}

static void decode_template_set(struct msg *m, uint16_t set_id, const uint8_t *p, size_t len)
{
    bool options = m->version == 9 ? set_id == 1 : set_id == 3;
    size_t min_rec = options && m->version == 9 ? 6 : 4;
    size_t off = 0;
    while (len - off >= min_rec && !rest_is_zero(p + off, len - off)) {
        if (m->version == 10 && get_be16(p + off + 2) == 0 && get_be16(p + off) == set_id) {
            withdraw(m, set_id, set_id);
            off += 4;
            continue;
        }
        struct tmpl t;
        size_t used = 0;
        enum reject_reason why = tmpl_parse(m->version, options, p + off, len - off, &t, &used);
        if (why != REJ_NONE) {
            note(m, why);
            return; /* cannot resynchronise inside a set */
        }
        off += used;
        if (t.n_fields == 0) {
            withdraw(m, t.id, set_id);
            continue;
        }
        struct tmpl *h = xmalloc(sizeof(*h));
        *h = t;
        h->received_ms = h->seen_ms = m->now_ms;
        why = tmpl_put(&m->st->templates, h);
        if (why == REJ_NONE)
            continue;
        refuse(m, why);
        /* The rest of this message is written in the layout we refused. */
        struct tmpl *held = (struct tmpl *)tmpl_find(&m->st->templates, t.id);
        if (held)
            held->refused_in = m->st->msgs;
    }
}

/* ---- sets and messages ---- */

static bool is_template_set(uint8_t version, uint16_t id)
{
    return version == 9 ? id <= 1 : id == 2 || id == 3;
}

/* Walks the sets of a message body by their lengths. */
static void decode_sets(struct msg *m, const uint8_t *p, size_t len)
{
    size_t off = 0;
    while (len - off >= 4) {
        uint16_t id = get_be16(p + off);
        uint16_t slen = get_be16(p + off + 2);
        if (slen < 4) {
            /* PAN-OS zero-fills datagrams far past the last set: zeros are padding. */
            if (!rest_is_zero(p + off, len - off))
                note(m, REJ_MALFORMED_SET);
            return;
        }
        if (slen > len - off) {
            note(m, REJ_MALFORMED_SET);
            return;
        }
        const uint8_t *body = p + off + 4;
        size_t blen = slen - 4u;
        if (is_template_set(m->version, id))
            decode_template_set(m, id, body, blen);
        else if (id >= 256)
            decode_data_set(m, id, body, blen);
        /* v9 2-255 / IPFIX 4-255: reserved, skipped (RFC 7011 3.3.2) */
        off += slen;
    }
}

static uint64_t seq_trouble(const struct seq_state *q)
{
    return q->lost + q->duplicates + q->resets;
}

/* Feeds one IPFIX message to every convention and shows the best in the domain's counters. */
static void ipfix_sequence(struct msg *m, uint32_t seq)
{
    struct fb_state *st = m->st;
    if (!st->have_base) {
        st->base = m->d->seq; /* restored from the store, or zero */
        st->have_base = true;
    }
    unsigned best = 0;
    for (unsigned c = 0; c < CONV__COUNT; c++) {
        bool data_only = c == CONV_DATA_ONLY || c == CONV_AFTER_DATA_ONLY;
        uint32_t units = m->data_records - (data_only ? m->options_records : 0);
        bool after = c == CONV_AFTER || c == CONV_AFTER_DATA_ONLY;
        struct seq_state *q = &st->conv[c];
        seq_update(q, after ? seq - units : seq, units);
        /* Records we could not count would show up as loss in the next message: take that
         * message's number as a fresh baseline instead. */
        if (m->uncounted)
            q->started = false;
        if (seq_trouble(q) < seq_trouble(&st->conv[best]))
            best = c;
    }
    struct seq_state v = st->conv[best];
    v.lost += st->base.lost;
    v.duplicates += st->base.duplicates;
    v.resets += st->base.resets;
    m->d->seq = v;
}

enum reject_reason fixbuf_decode(struct exporter_table *t, struct exporter *e, uint8_t version,
                                 const uint8_t *buf, size_t len, int64_t now_ms,
                                 const struct flow_emitter *out)
{
    struct msg m = {.t = t, .version = version, .e = e, .out = out, .now_ms = now_ms};
    size_t hlen = version == 9 ? V9_HEADER_LEN : IPFIX_HEADER_LEN;
    if (len < hlen)
        return REJ_TRUNCATED;
    size_t mlen = len;
    uint32_t seq, domain;
    if (version == 9) {
        m.clock.sys_uptime_ms = get_be32(buf + 4);
        m.clock.export_ms = (int64_t)get_be32(buf + 8) * 1000;
        seq = get_be32(buf + 12);
        domain = get_be32(buf + 16);
    } else {
        mlen = get_be16(buf + 2);
        if (mlen < IPFIX_HEADER_LEN)
            return REJ_BAD_LENGTH;
        if (mlen > len)
            return REJ_TRUNCATED; /* the message says it is longer than what arrived */
        m.clock.export_ms = (int64_t)get_be32(buf + 4) * 1000;
        seq = get_be32(buf + 8);
        domain = get_be32(buf + 12);
    }
    m.d = exporter_domain_get(t, e, domain, version);
    if (!m.d)
        return REJ_EXPORTER_LIMIT;
    m.d->packets++;
    m.d->dirty = true;
    decode_note_clock(m.d, m.clock.export_ms, now_ms);
    m.st = state_of(t, e, m.d);
    m.st->msgs++;
    decode_sets(&m, buf + hlen, mlen - hlen);
    /* v9 numbers export packets (RFC 3954 5.1), IPFIX data records (RFC 7011 3.1). */
    if (version == 9)
        seq_update(&m.d->seq, seq, 1);
    else
        ipfix_sequence(&m, seq);
    if (m.why == REJ_NONE && mlen < len)
        m.why = REJ_BAD_LENGTH; /* trailing bytes after the IPFIX message */
    return m.why;
}
