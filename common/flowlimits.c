/* flowlimits.c - clamping a flow's numbers, judging its exporter's clock (flowlimits.h). */
#include "config.h"

#include "common/flowlimits.h"
#include "common/satmath.h"

void flow_clock_default(struct flow_clock *c)
{
    c->skew_ms = FLOW_CLOCK_SKEW_MS;
    c->max_age_ms = FLOW_CLOCK_MAX_AGE_MS;
}

int64_t flow_time_clamp(int64_t ms)
{
    return ms < FLOW_TIME_MIN ? FLOW_TIME_MIN : ms > FLOW_TIME_MAX ? FLOW_TIME_MAX : ms;
}

/* Counters stay unsigned in struct flow, but never above what the store can hold. */
static void clamp_counter(uint64_t *v)
{
    *v = (uint64_t)clamp_i64(*v);
}

void flow_clamp(struct flow *f)
{
    f->first_ms = flow_time_clamp(f->first_ms);
    f->last_ms = flow_time_clamp(f->last_ms);
    clamp_counter(&f->packets);
    clamp_counter(&f->bytes);
    clamp_counter(&f->rev_packets);
    clamp_counter(&f->rev_bytes);
    clamp_counter(&f->initiator_bytes);
    clamp_counter(&f->responder_bytes);
}

/* A flow's end: some exporters send first_ms after last_ms; the later one counts. */
static int64_t flow_end(const struct flow *f)
{
    return f->last_ms > f->first_ms ? f->last_ms : f->first_ms;
}

bool flow_from_future(const struct flow *f, int64_t skew_ms)
{
    return flow_end(f) > sat_add(f->received_ms, skew_ms);
}

enum flow_clock_verdict flow_clock_judge(const struct flow *f, const struct flow_clock *c)
{
    if (flow_from_future(f, c->skew_ms))
        return FLOW_CLOCK_FUTURE;
    if (flow_end(f) < sat_sub(f->received_ms, c->max_age_ms))
        return FLOW_CLOCK_PAST;
    return FLOW_CLOCK_OK;
}
