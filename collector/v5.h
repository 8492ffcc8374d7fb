/* v5.h - NetFlow v5 decoder: a buffer in, struct flows out; no I/O, no state.
 * Sequence accounting is the caller's (collector/decode.c), with the header we return. */
#ifndef FLOWHOUND_V5_H
#define FLOWHOUND_V5_H

#include <stddef.h>
#include <stdint.h>

#include "common/flow.h"
#include "collector/reject.h"

#define V5_HEADER_LEN  24
#define V5_RECORD_LEN  48
#define V5_MAX_RECORDS 30

struct v5_header {
    uint16_t count;
    uint32_t sys_uptime_ms;
    uint32_t unix_secs, unix_nsecs;
    uint32_t flow_sequence; /* flows sent by this engine before this packet */
    uint8_t engine_type, engine_id;
    uint16_t sampling; /* 2-bit mode, 14-bit interval */
};

/* Validates the header: version 5, count 1..30, length exactly 24 + 48 * count. */
enum reject_reason v5_parse_header(const uint8_t *buf, size_t len, struct v5_header *hdr);

/* The header's export time (unix_secs, unix_nsecs) in Unix ms: the exporter's clock. */
int64_t v5_export_ms(const struct v5_header *hdr);

/* Decodes a datagram whose header v5_parse_header accepted into out[0..count-1], filling
 * every field including exporter (from `exporter`), domain and received_ms. */
void v5_decode_records(const uint8_t *buf, const struct v5_header *hdr,
                       const struct fh_addr *exporter, int64_t received_ms, struct flow *out);

/* Exporter-uptime-relative time to absolute Unix ms. The difference uptime - t is taken
 * modulo 2^32 and read as signed, so the 32-bit uptime wrap (every 49.7 days) and records
 * stamped a few ms after the header's uptime both come out right. */
int64_t uptime_to_unix_ms(int64_t export_ms, uint32_t sys_uptime_ms, uint32_t t);

#endif
