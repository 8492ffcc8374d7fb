/* ipfix_record.h - one v9/IPFIX data record (decoded by libfixbuf: collector/fixbuf_session.c)
 * mapped onto struct flow: which element fills which field, with what priority, and how the
 * many time encodings become absolute Unix milliseconds. */
#ifndef FLOWHOUND_IPFIX_RECORD_H
#define FLOWHOUND_IPFIX_RECORD_H

#include <stdbool.h>
#include <stdint.h>

#include "common/flow.h"
#include "collector/templates.h"

#define PEN_REVERSE 29305u /* RFC 5103 reverse information elements */
#define PEN_CERT    6871u  /* CERT (YAF) */

/* What a record said, beyond what goes straight into the flow. */
struct rec_acc {
    struct flow *f;
    uint8_t version;
    bool has_addr;                             /* a source or destination address element */
    bool src_nonzero, dst_nonzero, nh_nonzero; /* v4 and v6 both present: first non-zero */
    bool have_rev_cert_flags;                  /* YAF reverse initial/union TCP flags */
    bool have_sport, have_dport, have_icmp;
    uint16_t icmp; /* icmpTypeCode (32/139) */
    bool bytes_delta, pkts_delta, rbytes_delta, rpkts_delta;
    bool have_rbytes, have_rpkts;
    bool start_abs, end_abs; /* 150-157: absolute */
    int64_t start_ms, end_ms;
    bool start_up, end_up; /* 22/21: uptime-relative */
    uint32_t start_up_ms, end_up_ms;
    bool start_delta, end_delta; /* 158/159: microseconds before export */
    uint32_t start_delta_us, end_delta_us;
    bool have_sys_init; /* 160 in this record */
    int64_t sys_init_ms;
    bool have_interval; /* 34/50, or 305+306, 309+310 */
    uint32_t interval;
    uint64_t pkt_interval, pkt_space, samp_size, samp_population;
    bool have_sampler_id; /* 48/302 */
    uint32_t sampler_id;
    bool post_nat_seen;
};

/* Applies one element's value to the record: (pen, id) as IPFIX numbers them (v9 NSEL types
 * already renumbered); integers in v, addresses and NTP times as their len wire bytes at p. */
void rec_take_value(struct rec_acc *a, uint32_t pen, uint16_t id, const uint8_t *p, uint16_t len,
                    uint64_t v);

/* How times are made absolute: the message's export time, the v9 header's sysUptime, and the
 * domain's systemInitTimeMilliseconds when one was seen. */
struct rec_clock {
    int64_t export_ms;
    uint32_t sys_uptime_ms; /* v9 only */
    bool have_sys_init;
    int64_t sys_init_ms;
};

/* Completes the flow: times, counters, derived sampling; call after every field is taken. */
void rec_finish(struct rec_acc *a, const struct rec_clock *c);

/* The sampling interval the record itself states (0 when none). */
uint32_t rec_interval(const struct rec_acc *a);

#endif
