/* decode.c - version sniffing and per-exporter accounting around the decoders. */
#include "config.h"

#include "collector/bytes.h"
#include "collector/decode.h"
#include "collector/fixbuf_decode.h"
#include "collector/v5.h"

void decode_emit(const struct exporter_table *t, struct exporter_domain *d,
                 const struct flow_emitter *out, struct flow *f)
{
    flow_clamp(f);
    enum flow_clock_verdict v = flow_clock_judge(f, &t->clock);
    if (!out->emit(out->ctx, f)) {
        d->dropped_queue++;
        return;
    }
    d->flows++;
    if (v == FLOW_CLOCK_FUTURE)
        d->clock_future++;
    else if (v == FLOW_CLOCK_PAST)
        d->clock_past++;
}

void decode_note_clock(struct exporter_domain *d, int64_t export_ms, int64_t received_ms)
{
    d->clock_offset_ms = export_ms - received_ms;
    d->clock_measured = true;
}

static enum reject_reason decode_v5(struct exporter_table *t, struct exporter *e,
                                    const uint8_t *buf, size_t len, int64_t now,
                                    const struct flow_emitter *out)
{
    struct v5_header hdr;
    enum reject_reason why = v5_parse_header(buf, len, &hdr);
    if (why != REJ_NONE)
        return why;
    struct exporter_domain *d =
        exporter_domain_get(t, e, (uint32_t)hdr.engine_type << 8 | hdr.engine_id, 5);
    if (!d)
        return REJ_EXPORTER_LIMIT;
    d->packets++;
    d->dirty = true;
    seq_update(&d->seq, hdr.flow_sequence, hdr.count);
    decode_note_clock(d, v5_export_ms(&hdr), now);
    struct flow flows[V5_MAX_RECORDS];
    v5_decode_records(buf, &hdr, &e->addr, now, flows);
    for (unsigned i = 0; i < hdr.count; i++)
        decode_emit(t, d, out, &flows[i]);
    return REJ_NONE;
}

static bool exporter_allowed(const struct exporter_table *t, const struct fh_addr *from)
{
    if (t->n_allow == 0)
        return true;
    for (size_t i = 0; i < t->n_allow; i++)
        if (prefix_contains(&t->allow[i], from))
            return true;
    return false;
}

enum reject_reason decode_packet(struct exporter_table *t, const struct fh_addr *from,
                                 const uint8_t *buf, size_t len, int64_t now,
                                 const struct flow_emitter *out)
{
    enum reject_reason why;
    exporters_lock(t);
    if (!exporter_allowed(t, from)) {
        t->not_allowed_packets++;
        exporters_unlock(t);
        return REJ_NOT_ALLOWED;
    }
    struct exporter *e = exporters_get(t, from, now);
    if (!e) {
        exporters_unlock(t);
        return REJ_EXPORTER_LIMIT;
    }
    e->packets++;
    e->bytes += len;
    e->dirty = true;
    if (len == 0) {
        why = REJ_EMPTY;
    } else if (len < 2) {
        why = REJ_TRUNCATED;
    } else {
        uint16_t version = get_be16(buf);
        if (version == 5)
            why = decode_v5(t, e, buf, len, now, out);
        else if (version == 9 || version == 10)
            why = fixbuf_decode(t, e, (uint8_t)version, buf, len, now, out);
        else
            why = REJ_UNKNOWN_VERSION;
    }
    if (why != REJ_NONE)
        e->rejects[why]++;
    exporters_unlock(t);
    return why;
}

struct expiry {
    int64_t now_ms;
    expire_fn fn;
    void *ctx;
    unsigned total;
};

static void expire_exporter(struct exporter *e, void *arg)
{
    struct expiry *x = arg;
    for (unsigned i = 0; i < e->n_domains; i++) {
        unsigned n = fixbuf_expire(&e->domains[i], x->now_ms);
        if (n && x->fn)
            x->fn(x->ctx, e, &e->domains[i], n);
        x->total += n;
    }
}

unsigned decode_expire_templates(struct exporter_table *t, int64_t now_ms, expire_fn fn, void *ctx)
{
    struct expiry x = {now_ms, fn, ctx, 0};
    if (t->templates.timeout_ms <= 0)
        return 0;
    exporters_lock(t);
    exporters_foreach(t, expire_exporter, &x);
    exporters_unlock(t);
    return x.total;
}
