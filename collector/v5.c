/* v5.c - NetFlow v5 decoding (Cisco's export format; no RFC, see Cisco's "NetFlow Export
 * Datagram Format"). Validation is strict: a v5 datagram has a fixed size per count, so any
 * other length means truncation, padding we do not understand, or garbage. */
#include "config.h"

#include <string.h>

#include "collector/bytes.h"
#include "collector/v5.h"
#include "common/addr.h"

enum reject_reason v5_parse_header(const uint8_t *buf, size_t len, struct v5_header *hdr)
{
    if (len == 0)
        return REJ_EMPTY;
    if (len < V5_HEADER_LEN)
        return REJ_TRUNCATED;
    if (get_be16(buf) != 5)
        return REJ_UNKNOWN_VERSION;
    hdr->count = get_be16(buf + 2);
    if (hdr->count < 1 || hdr->count > V5_MAX_RECORDS)
        return REJ_BAD_COUNT;
    size_t want = V5_HEADER_LEN + (size_t)V5_RECORD_LEN * hdr->count;
    if (len < want)
        return REJ_TRUNCATED;
    if (len > want)
        return REJ_BAD_LENGTH;
    hdr->sys_uptime_ms = get_be32(buf + 4);
    hdr->unix_secs = get_be32(buf + 8);
    hdr->unix_nsecs = get_be32(buf + 12);
    hdr->flow_sequence = get_be32(buf + 16);
    hdr->engine_type = buf[20];
    hdr->engine_id = buf[21];
    hdr->sampling = get_be16(buf + 22);
    return REJ_NONE;
}

int64_t uptime_to_unix_ms(int64_t export_ms, uint32_t sys_uptime_ms, uint32_t t)
{
    int32_t before = (int32_t)(sys_uptime_ms - t);
    return export_ms - before;
}

static void v5_decode_one(const uint8_t *r, const struct v5_header *hdr, int64_t export_ms,
                          struct flow *f)
{
    addr_from_v4(&f->src_addr, r);
    addr_from_v4(&f->dst_addr, r + 4);
    addr_from_v4(&f->next_hop, r + 8);
    f->in_if = get_be16(r + 12);
    f->out_if = get_be16(r + 14);
    f->packets = get_be32(r + 16);
    f->bytes = get_be32(r + 20);
    f->first_ms = uptime_to_unix_ms(export_ms, hdr->sys_uptime_ms, get_be32(r + 24));
    f->last_ms = uptime_to_unix_ms(export_ms, hdr->sys_uptime_ms, get_be32(r + 28));
    f->src_port = get_be16(r + 32);
    f->dst_port = get_be16(r + 34);
    /* r[36] is pad1 */
    f->tcp_flags = r[37];
    f->proto = r[38];
    f->tos = r[39];
    f->src_as = get_be16(r + 40);
    f->dst_as = get_be16(r + 42);
    f->src_mask = r[44];
    f->dst_mask = r[45];
    f->sampling_interval = hdr->sampling & 0x3fff;
    f->present = FF_TCP_FLAGS | FF_IF | FF_NEXT_HOP | FF_AS | FF_MASK | FF_TOS | FF_SAMPLING;
}

int64_t v5_export_ms(const struct v5_header *hdr)
{
    return (int64_t)hdr->unix_secs * 1000 + hdr->unix_nsecs / 1000000;
}

void v5_decode_records(const uint8_t *buf, const struct v5_header *hdr,
                       const struct fh_addr *exporter, int64_t received_ms, struct flow *out)
{
    int64_t export_ms = v5_export_ms(hdr);
    for (unsigned i = 0; i < hdr->count; i++) {
        struct flow *f = &out[i];
        memset(f, 0, sizeof(*f));
        f->exporter = *exporter;
        f->domain = (uint32_t)hdr->engine_type << 8 | hdr->engine_id;
        f->version = 5;
        f->received_ms = received_ms;
        v5_decode_one(buf + V5_HEADER_LEN + (size_t)i * V5_RECORD_LEN, hdr, export_ms, f);
    }
}
