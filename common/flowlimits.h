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

void flow_clock_default(struct flow_clock *c);
int64_t flow_time_clamp(int64_t ms);
/* Clamps f's times and counters into the ranges above. */
void flow_clamp(struct flow *f);
/* Where f's end (the later of first_ms and last_ms) lies against its received_ms. */
enum flow_clock_verdict flow_clock_judge(const struct flow *f, const struct flow_clock *c);
/* Does f end more than skew_ms after its received_ms? */
bool flow_from_future(const struct flow *f, int64_t skew_ms);

#endif
