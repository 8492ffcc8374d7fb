/* ratelimit.h - a token bucket on a caller's clock (ms): `burst` tokens at most, refilled at
 * `per_min` a minute. For limits on what a remote peer makes us do; the clock is the caller's
 * so that a decision can be replayed in a test. Not locked: a bucket belongs to one thread, or
 * its users hold a lock around it. */
#ifndef FLOWHOUND_RATELIMIT_H
#define FLOWHOUND_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct rate_bucket {
    double tokens;
    int64_t last_ms;
    bool started; /* a bucket starts full */
};

/* Takes one token; false (and nothing taken) when the bucket is empty. A clock that goes back
 * refills nothing. */
static inline bool rate_take(struct rate_bucket *b, double burst, double per_min, int64_t now_ms)
{
    if (!b->started) {
        b->started = true;
        b->tokens = burst;
        b->last_ms = now_ms;
    }
    if (now_ms > b->last_ms) {
        b->tokens += (double)(now_ms - b->last_ms) * per_min / 60000.0;
        if (b->tokens > burst)
            b->tokens = burst;
        b->last_ms = now_ms;
    }
    if (b->tokens < 1.0)
        return false;
    b->tokens -= 1.0;
    return true;
}

#endif
