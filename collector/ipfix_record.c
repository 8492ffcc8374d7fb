/* ipfix_record.c - information elements -> struct flow. The element numbers are IANA's
 * (https://www.iana.org/assignments/ipfix); v9 field types share them up to 127 and for the
 * ones we use above that, except Cisco's NSEL types, which collector/fixbuf_session.c renumbers
 * before libfixbuf decodes the record. */
#include "config.h"

#include <string.h>

#include "collector/bytes.h"
#include "collector/ipfix_record.h"
#include "collector/v5.h"
#include "common/addr.h"
#include "common/flowlimits.h"

/* NTP-format timestamps (RFC 7011 6.1.9/10): seconds since 1900 and a 2^-32 fraction. */
#define NTP_UNIX_OFFSET 2208988800LL
/* 64-bit absolute times beyond the year 9999 are hostile or garbage: clamped as they are
 * read, so that the arithmetic on them here cannot overflow (decode_emit clamps the result
 * into the range of flow times, common/flowlimits.h). */
static int64_t clamp_ms(uint64_t v)
{
    return v > (uint64_t)FLOW_TIME_MAX ? FLOW_TIME_MAX : (int64_t)v;
}

static int64_t secs_to_ms(uint64_t v)
{
    return v > (uint64_t)FLOW_TIME_MAX / 1000 ? FLOW_TIME_MAX : (int64_t)v * 1000;
}

static bool all_zero(const uint8_t *p, uint16_t len)
{
    for (uint16_t i = 0; i < len; i++)
        if (p[i])
            return false;
    return true;
}

/* IPv4 (len 4) or IPv6 (len 16) address; anything else is ignored. */
static bool take_addr(struct fh_addr *dst, const uint8_t *p, uint16_t len)
{
    if (len == 4)
        addr_from_v4(dst, p);
    else if (len == 16)
        addr_from_v6(dst, p);
    else
        return false;
    return true;
}

/* Source/destination/next-hop address: when a template has both the IPv4 and the IPv6
 * element, the first non-zero one wins (tshark and nfdump do the same). */
static bool take_first_nonzero(struct fh_addr *dst, bool *nonzero, const uint8_t *p, uint16_t len)
{
    if (*nonzero || (dst->family && all_zero(p, len)))
        return false;
    if (!take_addr(dst, p, len))
        return false;
    *nonzero = !all_zero(p, len);
    return true;
}

static void take_endpoint(struct rec_acc *a, bool src, const uint8_t *p, uint16_t len)
{
    if (take_first_nonzero(src ? &a->f->src_addr : &a->f->dst_addr,
                           src ? &a->src_nonzero : &a->dst_nonzero, p, len))
        a->has_addr = true;
}

static int64_t ntp_to_ms(const uint8_t *p, uint16_t len)
{
    if (len != 8)
        return 0;
    int64_t secs = (int64_t)get_be32(p) - NTP_UNIX_OFFSET;
    uint64_t frac = get_be32(p + 4);
    return secs * 1000 + (int64_t)((frac * 1000) >> 32);
}

/* Timestamps: 150/151 seconds, 152/153 ms, 154-157 NTP; 22/21 uptime; 158/159 delta us. */
static bool take_time(struct rec_acc *a, uint16_t id, const uint8_t *p, uint16_t len, uint64_t v)
{
    switch (id) {
    case 150:
        a->start_abs = true, a->start_ms = secs_to_ms(v);
        return true;
    case 151:
        a->end_abs = true, a->end_ms = secs_to_ms(v);
        return true;
    case 152:
        a->start_abs = true, a->start_ms = clamp_ms(v);
        return true;
    case 153:
        a->end_abs = true, a->end_ms = clamp_ms(v);
        return true;
    case 154:
    case 156:
        a->start_abs = true, a->start_ms = ntp_to_ms(p, len);
        return true;
    case 155:
    case 157:
        a->end_abs = true, a->end_ms = ntp_to_ms(p, len);
        return true;
    case 22:
        a->start_up = true, a->start_up_ms = (uint32_t)v;
        return true;
    case 21:
        a->end_up = true, a->end_up_ms = (uint32_t)v;
        return true;
    case 158:
        a->start_delta = true, a->start_delta_us = (uint32_t)v;
        return true;
    case 159:
        a->end_delta = true, a->end_delta_us = (uint32_t)v;
        return true;
    case 160:
        a->have_sys_init = true, a->sys_init_ms = clamp_ms(v);
        return true;
    default:
        return false;
    }
}

/* Counters: delta (1/2) beats total (85/86), as RFC 7011 collectors and tshark do. */
static void take_counter(uint64_t *dst, bool *delta_seen, bool is_delta, uint64_t v)
{
    if (is_delta) {
        *dst = v;
        *delta_seen = true;
    } else if (!*delta_seen) {
        *dst = v;
    }
}

static void take_port(uint16_t *dst, bool *seen, uint64_t v)
{
    if (!*seen) {
        *dst = (uint16_t)v;
        *seen = true;
    }
}

static bool take_sampling(struct rec_acc *a, uint16_t id, uint64_t v)
{
    switch (id) {
    case 34: /* samplingInterval / v9 SAMPLING_INTERVAL */
    case 50: /* samplerRandomInterval / v9 FLOW_SAMPLER_RANDOM_INTERVAL */
        a->have_interval = true, a->interval = (uint32_t)v;
        return true;
    case 305:
        a->pkt_interval = v;
        return true; /* samplingPacketInterval */
    case 306:
        a->pkt_space = v;
        return true; /* samplingPacketSpace */
    case 309:
        a->samp_size = v;
        return true; /* samplingSize */
    case 310:
        a->samp_population = v;
        return true;
    case 48:  /* samplerId / v9 FLOW_SAMPLER_ID */
    case 302: /* selectorId */
        a->have_sampler_id = true, a->sampler_id = (uint32_t)v;
        return true;
    default:
        return false;
    }
}

static void take_nat(struct rec_acc *a, uint16_t id, const uint8_t *p, uint16_t len, uint64_t v)
{
    struct flow *f = a->f;
    switch (id) {
    case 225:
    case 281:
        if (take_addr(&f->post_nat_src, p, len))
            f->present |= FF_POST_NAT;
        break;
    case 226:
    case 282:
        if (take_addr(&f->post_nat_dst, p, len))
            f->present |= FF_POST_NAT;
        break;
    case 227:
        f->post_nat_src_port = (uint16_t)v, f->present |= FF_POST_NAT;
        break;
    case 228:
        f->post_nat_dst_port = (uint16_t)v, f->present |= FF_POST_NAT;
        break;
    default:
        break;
    }
}

/* IANA elements (pen 0). */
static void take_iana(struct rec_acc *a, uint16_t id, const uint8_t *p, uint16_t len, uint64_t v)
{
    struct flow *f = a->f;
    switch (id) {
    case 1:
        take_counter(&f->bytes, &a->bytes_delta, true, v);
        break;
    case 85:
        take_counter(&f->bytes, &a->bytes_delta, false, v);
        break;
    case 2:
        take_counter(&f->packets, &a->pkts_delta, true, v);
        break;
    case 86:
        take_counter(&f->packets, &a->pkts_delta, false, v);
        break;
    case 4:
        f->proto = (uint8_t)v;
        break;
    case 5:
        f->tos = (uint8_t)v, f->present |= FF_TOS;
        break;
    case 6:
        f->tcp_flags = (uint16_t)v, f->present |= FF_TCP_FLAGS;
        break;
    case 7:
    case 180:
    case 182:
        take_port(&f->src_port, &a->have_sport, v);
        break;
    case 11:
    case 181:
    case 183:
        take_port(&f->dst_port, &a->have_dport, v);
        break;
    case 32:
    case 139:
        a->have_icmp = true, a->icmp = (uint16_t)v;
        break;
    case 8:
    case 27:
        take_endpoint(a, true, p, len);
        break;
    case 12:
    case 28:
        take_endpoint(a, false, p, len);
        break;
    case 9:
    case 29:
        f->src_mask = (uint8_t)v, f->present |= FF_MASK;
        break;
    case 13:
    case 30:
        f->dst_mask = (uint8_t)v, f->present |= FF_MASK;
        break;
    case 10:
        f->in_if = (uint32_t)v, f->present |= FF_IF;
        break;
    case 14:
        f->out_if = (uint32_t)v, f->present |= FF_IF;
        break;
    case 15:
    case 62:
        if (take_first_nonzero(&f->next_hop, &a->nh_nonzero, p, len))
            f->present |= FF_NEXT_HOP;
        break;
    case 16:
        f->src_as = (uint32_t)v, f->present |= FF_AS;
        break;
    case 17:
        f->dst_as = (uint32_t)v, f->present |= FF_AS;
        break;
    case 61:
        f->direction = (uint8_t)v, f->present |= FF_DIRECTION;
        break;
    case 136:
        f->end_reason = (uint8_t)v, f->present |= FF_END_REASON;
        break;
    case 233:
        f->fw_event = (uint8_t)v, f->present |= FF_FW_EVENT;
        break;
    case 231:
        f->initiator_bytes = v, f->present |= FF_INIT_RESP_BYTES;
        break;
    case 232:
        f->responder_bytes = v, f->present |= FF_INIT_RESP_BYTES;
        break;
    default:
        if (!take_time(a, id, p, len, v) && !take_sampling(a, id, v))
            take_nat(a, id, p, len, v);
        break;
    }
}

/* RFC 5103 reverse elements: the destination -> source direction of a biflow. */
static void take_reverse(struct rec_acc *a, uint16_t id, uint64_t v)
{
    struct flow *f = a->f;
    switch (id) {
    case 1:
        take_counter(&f->rev_bytes, &a->rbytes_delta, true, v), a->have_rbytes = true;
        break;
    case 85:
        take_counter(&f->rev_bytes, &a->rbytes_delta, false, v), a->have_rbytes = true;
        break;
    case 2:
        take_counter(&f->rev_packets, &a->rpkts_delta, true, v), a->have_rpkts = true;
        break;
    case 86:
        take_counter(&f->rev_packets, &a->rpkts_delta, false, v), a->have_rpkts = true;
        break;
    case 6:
        f->rev_tcp_flags = (uint16_t)v, f->present |= FF_REV_FLAGS;
        break;
    default:
        break;
    }
}

/* CERT (YAF) elements: initialTCPFlags 14, unionTCPFlags 15; their reverse has bit 0x4000. */
static void take_cert(struct rec_acc *a, uint16_t id, uint64_t v)
{
    struct flow *f = a->f;
    switch (id) {
    case 14:
        f->initial_flags = (uint8_t)v, f->present |= FF_INITIAL_FLAGS;
        break;
    case 15:
        f->union_flags = (uint8_t)v, f->present |= FF_UNION_FLAGS;
        break;
    case 14 | 0x4000:
        f->rev_initial_flags = (uint8_t)v, a->have_rev_cert_flags = true;
        break;
    case 15 | 0x4000:
        f->rev_union_flags = (uint8_t)v, a->have_rev_cert_flags = true;
        break;
    default:
        break;
    }
}

void rec_take_value(struct rec_acc *a, uint32_t pen, uint16_t id, const uint8_t *p, uint16_t len,
                    uint64_t v)
{
    switch (pen) {
    case 0:
        take_iana(a, id, p, len, v);
        break;
    case PEN_REVERSE:
        take_reverse(a, id, v);
        break;
    case PEN_CERT:
        take_cert(a, id, v);
        break;
    default:
        break; /* other enterprises: skipped */
    }
}

uint32_t rec_interval(const struct rec_acc *a)
{
    if (a->have_interval)
        return a->interval;
    if (a->pkt_interval && a->pkt_space < UINT32_MAX)
        return (uint32_t)((a->pkt_interval + a->pkt_space) / a->pkt_interval);
    if (a->samp_size && a->samp_population / a->samp_size < UINT32_MAX)
        return (uint32_t)(a->samp_population / a->samp_size);
    return 0;
}

/* One end of the flow as absolute ms, from whichever encoding the record used. */
static bool resolve_time(const struct rec_acc *a, const struct rec_clock *c, bool start,
                         int64_t *out)
{
    bool abs = start ? a->start_abs : a->end_abs;
    bool up = start ? a->start_up : a->end_up;
    bool delta = start ? a->start_delta : a->end_delta;
    uint32_t up_ms = start ? a->start_up_ms : a->end_up_ms;
    if (abs) {
        *out = start ? a->start_ms : a->end_ms;
    } else if (up && a->version == 9) {
        *out = uptime_to_unix_ms(c->export_ms, c->sys_uptime_ms, up_ms);
    } else if (up && (a->have_sys_init || c->have_sys_init)) {
        *out = (a->have_sys_init ? a->sys_init_ms : c->sys_init_ms) + up_ms;
    } else if (delta) {
        *out = c->export_ms - (int64_t)((start ? a->start_delta_us : a->end_delta_us) / 1000);
    } else {
        return false;
    }
    return true;
}

void rec_finish(struct rec_acc *a, const struct rec_clock *c)
{
    struct flow *f = a->f;
    if (!a->have_dport && a->have_icmp)
        f->dst_port = a->icmp;
    if (a->have_rbytes || a->have_rpkts)
        f->present |= FF_REVERSE;
    /* YAF sends initial and union flags instead of tcpControlBits: all flags seen are their
     * OR, which is what tcp_flags means everywhere else. */
    if (!(f->present & FF_TCP_FLAGS) && (f->present & (FF_INITIAL_FLAGS | FF_UNION_FLAGS))) {
        f->tcp_flags = f->initial_flags | f->union_flags;
        f->present |= FF_TCP_FLAGS;
    }
    if (!(f->present & FF_REV_FLAGS) && a->have_rev_cert_flags) {
        f->rev_tcp_flags = f->rev_initial_flags | f->rev_union_flags;
        f->present |= FF_REV_FLAGS;
    }
    bool have_first = resolve_time(a, c, true, &f->first_ms);
    bool have_last = resolve_time(a, c, false, &f->last_ms);
    if (!have_first && !have_last && a->start_up && a->end_up) {
        /* IPFIX uptimes with no systemInitTimeMilliseconds known (MikroTik, Barracuda): the
         * boot time is unknowable, so assume the flow ended at export time and keep the
         * duration exact. Documented in doc/ipfix.md. */
        f->last_ms = c->export_ms;
        f->first_ms = c->export_ms - ((int64_t)a->end_up_ms - (int64_t)a->start_up_ms);
        have_first = have_last = true;
    }
    if (!have_first && !have_last)
        f->first_ms = f->last_ms = c->export_ms;
    else if (!have_first)
        f->first_ms = f->last_ms;
    else if (!have_last)
        f->last_ms = f->first_ms;
}
