/* deliver_limit.h - dedup and rate limit of alert events for one destination. Decisions use
 * the events' own times (alert_events.created_ms), not the time of sending, so a backlog
 * delivered after an outage is judged as it happened, and every destination decides alike.
 * Tables are fixed-size (a collision forgets the older entry: it can let an event through,
 * never hold a state forever). */
#ifndef FLOWHOUND_DELIVER_LIMIT_H
#define FLOWHOUND_DELIVER_LIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "alerts/alert.h"
#include "common/ratelimit.h"

#define LIMIT_SLOTS 1024

struct limit_bucket {
    struct fh_addr client;
    bool used;
    struct rate_bucket rate;
};

struct limit_seen {
    int64_t alert_id;
    int64_t last_ms; /* created_ms of the last event passed */
};

struct deliver_limit {
    int64_t rate_per_min; /* 0 = no rate limit */
    int64_t dedup_ms;     /* 0 = no dedup */
    struct limit_bucket buckets[LIMIT_SLOTS];
    struct limit_seen seen[LIMIT_SLOTS];
};

void limit_init(struct deliver_limit *l, int64_t rate_per_min, int64_t dedup_ms);
/* Does this event pass? why = "dedup" or "rate limit" when it does not. */
bool limit_pass(struct deliver_limit *l, const struct alert *a, enum alert_event ev,
                int64_t created_ms, const char **why);

#endif
