/* flowlimits.h - the range of a flow's numbers, and an exporter's clock against ours.
 *
 * Every decoded flow is clamped (flow_clamp): its times to [FLOW_TIME_MIN, FLOW_TIME_MAX],
 * 1970 to the last instant RFC 3339 can write (9999-12-31T23:59:59.999Z), and its counters to
 * INT64_MAX, what SQLite stores. Then no difference of two flow times, no time bucket and no
 * printed date can overflow, and the flow the analyzer sees is the flow the store keeps.
 *
 * Its times are then judged against the moment we received it (flow_clock_judge): ending more
 * than skew_ms after that, it is dated in the future (an exporter's clock is wrong, or a
 * capture is replayed with future dates); ending more than max_age_ms before it, in the past.
 * Both are stored as sent and counted per exporter; one dated in the future is not analysed
 * and does not move the web pages' default ranges (doc/storage.md "Exporters' clocks"). */
#ifndef FLOWHOUND_FLOWLIMITS_H
#define FLOWHOUND_FLOWLIMITS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/flow.h"
#include "common/satmath.h"

#define FLOW_TIME_MIN 0LL
#define FLOW_TIME_MAX 253402300799999LL

/* Defaults of the settings clock-skew and clock-max-age. */
#define FLOW_CLOCK_SKEW_MS    (10 * 60 * 1000LL)
#define FLOW_CLOCK_MAX_AGE_MS (24 * 3600 * 1000LL)

struct flow_clock {
    int64_t skew_ms;    /* a flow may end this long after we received it */
    int64_t max_age_ms; /* ... and this long before */
};

enum flow_clock_verdict { FLOW_CLOCK_OK, FLOW_CLOCK_FUTURE, FLOW_CLOCK_PAST };

/* Inline: every decoded flow goes through these (about 55 instructions a flow; as calls
 * they were 90 of the 270 a v5 record cost in decode_packet, callgrind). */

static inline void flow_clock_default(struct flow_clock *c)
{
    c->skew_ms = FLOW_CLOCK_SKEW_MS;
    c->max_age_ms = FLOW_CLOCK_MAX_AGE_MS;
}

static inline int64_t flow_time_clamp(int64_t ms)
{
    return ms < FLOW_TIME_MIN ? FLOW_TIME_MIN : ms > FLOW_TIME_MAX ? FLOW_TIME_MAX : ms;
}

/* Clamps f's times and counters into the ranges above (counters stay unsigned in struct
 * flow, but never above what the store can hold). */
static inline void flow_clamp(struct flow *f)
{
    f->first_ms = flow_time_clamp(f->first_ms);
    f->last_ms = flow_time_clamp(f->last_ms);
    f->packets = (uint64_t)clamp_i64(f->packets);
    f->bytes = (uint64_t)clamp_i64(f->bytes);
    f->rev_packets = (uint64_t)clamp_i64(f->rev_packets);
    f->rev_bytes = (uint64_t)clamp_i64(f->rev_bytes);
    f->initiator_bytes = (uint64_t)clamp_i64(f->initiator_bytes);
    f->responder_bytes = (uint64_t)clamp_i64(f->responder_bytes);
}

/* A flow's end: some exporters send first_ms after last_ms; the later one counts. */
static inline int64_t flow_end(const struct flow *f)
{
    return f->last_ms > f->first_ms ? f->last_ms : f->first_ms;
}

/* Does f end more than skew_ms after its received_ms? */
static inline bool flow_from_future(const struct flow *f, int64_t skew_ms)
{
    return flow_end(f) > sat_add(f->received_ms, skew_ms);
}

/* Where f's end lies against its received_ms. */
static inline enum flow_clock_verdict flow_clock_judge(const struct flow *f,
                                                       const struct flow_clock *c)
{
    if (flow_from_future(f, c->skew_ms))
        return FLOW_CLOCK_FUTURE;
    if (flow_end(f) < sat_sub(f->received_ms, c->max_age_ms))
        return FLOW_CLOCK_PAST;
    return FLOW_CLOCK_OK;
}

#endif
