/*
 * flow.h - the normalized flow record, flowhound's one internal format.
 *
 * Every decoder (NetFlow v5, v9, IPFIX) fills a struct flow; the storage writer, the
 * analyzer and the web UI consume only this. It is the specification of what we keep:
 * when a new field is needed, add it here, in storage/schema.sql, and in the decoders.
 *
 * Conventions:
 *   - Times are absolute Unix milliseconds (int64), already converted from whatever the
 *     exporter sent (sysUpTime offsets, seconds, NTP, ...), and within [FLOW_TIME_MIN,
 *     FLOW_TIME_MAX] (common/flowlimits.h): the decoders clamp them.
 *   - Optional fields have a bit in `present`; a field whose bit is clear is stored NULL.
 *     The always-present core (addresses, ports, proto, packets, bytes, times) has no bit.
 *   - Counters are as exported: NOT multiplied by the sampling interval; the interval is
 *     stored beside them so a reader can scale. Above INT64_MAX (what SQLite holds) they are
 *     clamped to it by the decoders, so the analyzer sees what the store keeps.
 */
#ifndef FLOWHOUND_FLOW_H
#define FLOWHOUND_FLOW_H

#include <stdint.h>

#include "common/addr.h"

/* Bits of flow.present: which optional fields the exporter gave us. */
enum flow_field {
    FF_TCP_FLAGS = 1u << 0,
    FF_INITIAL_FLAGS = 1u << 1, /* initialTCPFlags (YAF, PEN 6871 IE 14) */
    FF_UNION_FLAGS = 1u << 2,   /* unionTCPFlags (YAF, PEN 6871 IE 15) */
    FF_IF = 1u << 3,            /* in_if, out_if */
    FF_NEXT_HOP = 1u << 4,
    FF_AS = 1u << 5,   /* src_as, dst_as */
    FF_MASK = 1u << 6, /* src_mask, dst_mask */
    FF_TOS = 1u << 7,
    FF_SAMPLING = 1u << 8,
    FF_END_REASON = 1u << 9,
    FF_DIRECTION = 1u << 10,
    FF_REVERSE = 1u << 11, /* RFC 5103 biflow: rev_packets, rev_bytes */
    FF_REV_FLAGS = 1u << 12,
    FF_FW_EVENT = 1u << 13,
    FF_INIT_RESP_BYTES = 1u << 14, /* NSEL initiator/responder octets */
    FF_POST_NAT = 1u << 15,        /* post-NAT addresses and ports */
};

/* IPFIX flowEndReason (IE 136) values, also used for v5 where we can infer nothing. */
enum flow_end_reason {
    END_IDLE_TIMEOUT = 1,
    END_ACTIVE_TIMEOUT = 2,
    END_OF_FLOW = 3, /* FIN or RST seen */
    END_FORCED = 4,
    END_LACK_OF_RESOURCES = 5,
};

/* TCP flag bits as they appear in tcpControlBits / the v5 tcp_flags byte. */
enum tcp_flag {
    TH_FIN_ = 0x01,
    TH_SYN_ = 0x02,
    TH_RST_ = 0x04,
    TH_PSH_ = 0x08,
    TH_ACK_ = 0x10,
    TH_URG_ = 0x20,
    TH_ECE_ = 0x40,
    TH_CWR_ = 0x80,
};

struct flow {
    /* Who exported it. domain: v5 engine_type << 8 | engine_id; v9 source id;
     * IPFIX observation domain id. version: 5, 9 or 10 (IPFIX). */
    struct fh_addr exporter;
    uint32_t domain;
    uint8_t version;

    /* The core: always filled. */
    struct fh_addr src_addr, dst_addr;
    uint16_t src_port, dst_port; /* for ICMP, dst_port holds type << 8 | code as exporters do */
    uint8_t proto;
    uint64_t packets, bytes;
    int64_t first_ms, last_ms;

    uint32_t present; /* enum flow_field bits */

    uint16_t tcp_flags; /* cumulative OR of the direction's flags (8 or 16 bits on the wire) */
    uint8_t initial_flags, union_flags;

    uint32_t in_if, out_if;
    struct fh_addr next_hop;
    uint32_t src_as, dst_as;
    uint8_t src_mask, dst_mask;
    uint8_t tos;
    uint32_t sampling_interval; /* 1 in N packets; 0 or 1 = unsampled */
    uint8_t end_reason;         /* enum flow_end_reason */
    uint8_t direction;          /* 0 ingress, 1 egress (IE 61) */

    /* RFC 5103 reverse direction of a biflow (destination -> source). */
    uint64_t rev_packets, rev_bytes;
    uint16_t rev_tcp_flags;
    uint8_t rev_initial_flags, rev_union_flags;

    /* Cisco NSEL / IPFIX firewall fields. */
    uint8_t fw_event; /* IE 233 firewallEvent / NSEL 233 */
    uint64_t initiator_bytes, responder_bytes;

    /* Post-NAT (translated) endpoints: IPFIX 225-228 / 281-282, NSEL xlate fields. */
    struct fh_addr post_nat_src, post_nat_dst;
    uint16_t post_nat_src_port, post_nat_dst_port;

    /* When flowhoundd received the datagram (Unix ms): for partitioning and freshness. */
    int64_t received_ms;
};

#endif
