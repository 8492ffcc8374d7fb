/* ch_rowbinary.c - flows to and from ClickHouse's RowBinary (ch_rowbinary.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/satmath.h"
#include "common/xmalloc.h"
#include "storage/ch_http.h"
#include "storage/ch_rowbinary.h"
#include "storage/store.h"

/* ---- output ---- */

void rb_free(struct rb_out *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

static uint8_t *room(struct rb_out *b, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 4096;
        b->p = xreallocarray(b->p, b->cap, 1);
    }
    uint8_t *at = b->p + b->len;
    b->len += n;
    return at;
}

static void put_le(struct rb_out *b, uint64_t v, int bytes)
{
    uint8_t *p = room(b, (size_t)bytes);
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void rb_u8(struct rb_out *b, uint8_t v)
{
    put_le(b, v, 1);
}

void rb_u16(struct rb_out *b, uint16_t v)
{
    put_le(b, v, 2);
}

void rb_u32(struct rb_out *b, uint32_t v)
{
    put_le(b, v, 4);
}

void rb_u64(struct rb_out *b, uint64_t v)
{
    put_le(b, v, 8);
}

void rb_str(struct rb_out *b, const char *s, size_t n)
{
    size_t v = n;
    do {
        uint8_t byte = v & 0x7f;
        v >>= 7;
        rb_u8(b, (uint8_t)(byte | (v ? 0x80 : 0)));
    } while (v);
    memcpy(room(b, n), s, n);
}

/* ---- input ---- */

static uint64_t get_le(struct rb_in *r, int bytes)
{
    if (r->short_ || r->end - r->p < bytes) {
        r->short_ = true;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)r->p[i] << (8 * i);
    r->p += bytes;
    return v;
}

uint8_t rb_get_u8(struct rb_in *r)
{
    return (uint8_t)get_le(r, 1);
}

uint16_t rb_get_u16(struct rb_in *r)
{
    return (uint16_t)get_le(r, 2);
}

uint32_t rb_get_u32(struct rb_in *r)
{
    return (uint32_t)get_le(r, 4);
}

uint64_t rb_get_u64(struct rb_in *r)
{
    return get_le(r, 8);
}

int64_t rb_get_i64(struct rb_in *r)
{
    return (int64_t)get_le(r, 8);
}

bool rb_get_str(struct rb_in *r, char *buf, size_t len)
{
    uint64_t n = 0;
    buf[0] = '\0';
    for (int shift = 0;; shift += 7) {
        uint8_t byte = rb_get_u8(r);
        if (r->short_)
            return true;
        if (shift > 56)
            return false;
        n |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80))
            break;
    }
    if ((uint64_t)(r->end - r->p) < n) {
        r->short_ = true;
        return true;
    }
    if (n >= len)
        return false;
    memcpy(buf, r->p, (size_t)n);
    buf[n] = '\0';
    r->p += n;
    return true;
}

bool rb_get_null(struct rb_in *r)
{
    return rb_get_u8(r) != 0;
}

long rb_int_row(void *ctx, const uint8_t *p, size_t n)
{
    struct rb_ints *a = ctx;
    struct rb_in in = {.p = p, .end = p + n};
    int64_t v = a->width == 4 ? (int64_t)rb_get_u32(&in) : rb_get_i64(&in);
    if (in.short_)
        return 0;
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 64;
        a->v = xreallocarray(a->v, a->cap, sizeof(*a->v));
    }
    a->v[a->n++] = v;
    return a->width;
}

/* ---- a flow ---- */

const char ch_flow_insert_columns[] =
    "instance, seq, rhour, src_key, dst_key, exporter, domain, version, src_addr, dst_addr, "
    "src_port, dst_port, proto, tcp_flags, packets, bytes, first_ms, last_ms, in_if, out_if, "
    "next_hop, src_as, dst_as, src_mask, dst_mask, tos, sampling_interval, end_reason, "
    "direction, initial_flags, union_flags, rev_packets, rev_bytes, rev_tcp_flags, fw_event, "
    "initiator_bytes, responder_bytes, post_nat_src_addr, post_nat_dst_addr, post_nat_src_port, "
    "post_nat_dst_port, received_ms";

uint32_t ch_rhour(int64_t received_ms)
{
    return received_ms > 0 ? (uint32_t)(received_ms / 3600000) : 0;
}

/* An address as text; "" for none (a String column cannot be NULL). */
static void put_addr(struct rb_out *b, const struct fh_addr *a)
{
    char text[FH_ADDR_STRLEN] = "";
    if (a->family)
        addr_to_str(a, text, sizeof(text));
    rb_str(b, text, strlen(text));
}

/* Nullable(String): NULL when absent, or when the address is none (the SQLite store binds
 * NULL for it too). */
static void put_opt_addr(struct rb_out *b, bool present, const struct fh_addr *a)
{
    if (!present || a->family == 0) {
        rb_u8(b, 1);
        return;
    }
    rb_u8(b, 0);
    put_addr(b, a);
}

/* Nullable(T) of width `bytes`. */
static void put_opt(struct rb_out *b, bool present, uint64_t v, int bytes)
{
    rb_u8(b, present ? 0 : 1);
    if (present)
        put_le(b, v, bytes);
}

static void put_optional_fields(struct rb_out *b, const struct flow *f)
{
    uint32_t p = f->present;
    put_opt(b, p & FF_IF, f->in_if, 4);
    put_opt(b, p & FF_IF, f->out_if, 4);
    put_opt_addr(b, p & FF_NEXT_HOP, &f->next_hop);
    put_opt(b, p & FF_AS, f->src_as, 4);
    put_opt(b, p & FF_AS, f->dst_as, 4);
    put_opt(b, p & FF_MASK, f->src_mask, 1);
    put_opt(b, p & FF_MASK, f->dst_mask, 1);
    put_opt(b, p & FF_TOS, f->tos, 1);
    put_opt(b, p & FF_SAMPLING, f->sampling_interval, 4);
    put_opt(b, p & FF_END_REASON, f->end_reason, 1);
    put_opt(b, p & FF_DIRECTION, f->direction, 1);
    put_opt(b, p & FF_INITIAL_FLAGS, f->initial_flags, 1);
    put_opt(b, p & FF_UNION_FLAGS, f->union_flags, 1);
    put_opt(b, p & FF_REVERSE, (uint64_t)clamp_i64(f->rev_packets), 8);
    put_opt(b, p & FF_REVERSE, (uint64_t)clamp_i64(f->rev_bytes), 8);
    put_opt(b, p & FF_REV_FLAGS, f->rev_tcp_flags, 2);
    put_opt(b, p & FF_FW_EVENT, f->fw_event, 1);
    put_opt(b, p & FF_INIT_RESP_BYTES, (uint64_t)clamp_i64(f->initiator_bytes), 8);
    put_opt(b, p & FF_INIT_RESP_BYTES, (uint64_t)clamp_i64(f->responder_bytes), 8);
    put_opt_addr(b, p & FF_POST_NAT, &f->post_nat_src);
    put_opt_addr(b, p & FF_POST_NAT, &f->post_nat_dst);
    put_opt(b, p & FF_POST_NAT, f->post_nat_src_port, 2);
    put_opt(b, p & FF_POST_NAT, f->post_nat_dst_port, 2);
}

void ch_put_flow(struct rb_out *b, const struct flow *f, const char *instance, uint64_t seq)
{
    rb_str(b, instance, strlen(instance));
    rb_u64(b, seq);
    rb_u32(b, ch_rhour(f->received_ms));
    rb_u64(b, (uint64_t)store_endpoint_key(&f->src_addr, f->src_port));
    rb_u64(b, (uint64_t)store_endpoint_key(&f->dst_addr, f->dst_port));
    put_addr(b, &f->exporter);
    rb_u32(b, f->domain);
    rb_u8(b, f->version);
    put_addr(b, &f->src_addr);
    put_addr(b, &f->dst_addr);
    rb_u16(b, f->src_port);
    rb_u16(b, f->dst_port);
    rb_u8(b, f->proto);
    put_opt(b, f->present & FF_TCP_FLAGS, f->tcp_flags, 2);
    rb_u64(b, (uint64_t)clamp_i64(f->packets));
    rb_u64(b, (uint64_t)clamp_i64(f->bytes));
    rb_u64(b, (uint64_t)f->first_ms);
    rb_u64(b, (uint64_t)f->last_ms);
    put_optional_fields(b, f);
    rb_u64(b, (uint64_t)f->received_ms);
}

/* ---- reading one back ---- */

struct reader {
    struct rb_in in;
    struct flow *f;
    bool bad;
};

static void get_addr(struct reader *r, struct fh_addr *a)
{
    char text[FH_ADDR_STRLEN + 1];
    if (!rb_get_str(&r->in, text, sizeof(text)))
        r->bad = true;
    else if (text[0] && !r->in.short_ && !addr_from_str(text, a))
        r->bad = true;
}

/* Reads a Nullable(T) of `bytes` into *v; sets `bit` in present when it is not NULL. */
static uint64_t get_opt(struct reader *r, uint32_t bit, int bytes)
{
    if (rb_get_null(&r->in))
        return 0;
    r->f->present |= bit;
    return get_le(&r->in, bytes);
}

static void get_opt_addr(struct reader *r, uint32_t bit, struct fh_addr *a)
{
    if (rb_get_null(&r->in))
        return;
    r->f->present |= bit;
    get_addr(r, a);
}

static void get_optional_fields(struct reader *r)
{
    struct flow *f = r->f;
    f->in_if = (uint32_t)get_opt(r, FF_IF, 4);
    f->out_if = (uint32_t)get_opt(r, FF_IF, 4);
    get_opt_addr(r, FF_NEXT_HOP, &f->next_hop);
    f->src_as = (uint32_t)get_opt(r, FF_AS, 4);
    f->dst_as = (uint32_t)get_opt(r, FF_AS, 4);
    f->src_mask = (uint8_t)get_opt(r, FF_MASK, 1);
    f->dst_mask = (uint8_t)get_opt(r, FF_MASK, 1);
    f->tos = (uint8_t)get_opt(r, FF_TOS, 1);
    f->sampling_interval = (uint32_t)get_opt(r, FF_SAMPLING, 4);
    f->end_reason = (uint8_t)get_opt(r, FF_END_REASON, 1);
    f->direction = (uint8_t)get_opt(r, FF_DIRECTION, 1);
    f->initial_flags = (uint8_t)get_opt(r, FF_INITIAL_FLAGS, 1);
    f->union_flags = (uint8_t)get_opt(r, FF_UNION_FLAGS, 1);
    f->rev_packets = get_opt(r, FF_REVERSE, 8);
    f->rev_bytes = get_opt(r, FF_REVERSE, 8);
    f->rev_tcp_flags = (uint16_t)get_opt(r, FF_REV_FLAGS, 2);
    f->fw_event = (uint8_t)get_opt(r, FF_FW_EVENT, 1);
    f->initiator_bytes = get_opt(r, FF_INIT_RESP_BYTES, 8);
    f->responder_bytes = get_opt(r, FF_INIT_RESP_BYTES, 8);
    /* the translated addresses may be NULL while the ports are not (an address of no
     * family): the ports say whether the exporter sent them */
    get_opt_addr(r, 0, &f->post_nat_src);
    get_opt_addr(r, 0, &f->post_nat_dst);
    f->post_nat_src_port = (uint16_t)get_opt(r, FF_POST_NAT, 2);
    f->post_nat_dst_port = (uint16_t)get_opt(r, FF_POST_NAT, 2);
}

long ch_get_flow(const uint8_t *p, size_t n, struct flow *f)
{
    struct reader r = {.in = {.p = p, .end = p + n}, .f = f};
    memset(f, 0, sizeof(*f));
    get_addr(&r, &f->exporter);
    f->domain = rb_get_u32(&r.in);
    f->version = rb_get_u8(&r.in);
    get_addr(&r, &f->src_addr);
    get_addr(&r, &f->dst_addr);
    f->src_port = rb_get_u16(&r.in);
    f->dst_port = rb_get_u16(&r.in);
    f->proto = rb_get_u8(&r.in);
    f->tcp_flags = (uint16_t)get_opt(&r, FF_TCP_FLAGS, 2);
    f->packets = rb_get_u64(&r.in);
    f->bytes = rb_get_u64(&r.in);
    f->first_ms = rb_get_i64(&r.in);
    f->last_ms = rb_get_i64(&r.in);
    get_optional_fields(&r);
    f->received_ms = rb_get_i64(&r.in);
    /* bad is only ever set on bytes that were all there: known before the row is whole */
    if (r.bad)
        return CH_ROW_BAD;
    if (r.in.short_)
        return 0;
    return (long)(r.in.p - p);
}
