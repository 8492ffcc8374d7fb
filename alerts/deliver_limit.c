/* deliver_limit.c - dedup of repeated updates and a per-client token bucket. */
#include "config.h"

#include <string.h>

#include "alerts/deliver_limit.h"
#include "common/addr.h"

void limit_init(struct deliver_limit *l, int64_t rate_per_min, int64_t dedup_ms)
{
    memset(l, 0, sizeof(*l));
    l->rate_per_min = rate_per_min;
    l->dedup_ms = dedup_ms;
}

/* An "updated" event within dedup_ms of the last event passed for the same alert. */
static bool is_duplicate(struct deliver_limit *l, const struct alert *a, enum alert_event ev,
                         int64_t t)
{
    if (!l->dedup_ms)
        return false;
    struct limit_seen *s = &l->seen[(uint64_t)a->id % LIMIT_SLOTS];
    if (ev == ALERT_EV_UPDATED && s->alert_id == a->id && t >= s->last_ms &&
        t - s->last_ms < l->dedup_ms)
        return true;
    return false;
}

static void remember(struct deliver_limit *l, const struct alert *a, int64_t t)
{
    struct limit_seen *s = &l->seen[(uint64_t)a->id % LIMIT_SLOTS];
    s->alert_id = a->id;
    s->last_ms = t;
}

/* Token bucket per client address: burst = rate, refilled at rate a minute. */
static bool over_rate(struct deliver_limit *l, const struct alert *a, int64_t t)
{
    if (!l->rate_per_min)
        return false;
    struct limit_bucket *b = &l->buckets[addr_hash(&a->client_addr, 0x5eed) % LIMIT_SLOTS];
    if (!b->used || !addr_equal(&b->client, &a->client_addr)) {
        b->used = true;
        b->client = a->client_addr;
        memset(&b->rate, 0, sizeof(b->rate)); /* a new client's bucket starts full */
    }
    double burst = (double)l->rate_per_min;
    return !rate_take(&b->rate, burst, burst, t);
}

bool limit_pass(struct deliver_limit *l, const struct alert *a, enum alert_event ev,
                int64_t created_ms, const char **why)
{
    if (is_duplicate(l, a, ev, created_ms)) {
        *why = "dedup";
        return false;
    }
    if (over_rate(l, a, created_ms)) {
        *why = "rate limit";
        return false;
    }
    remember(l, a, created_ms);
    return true;
}
