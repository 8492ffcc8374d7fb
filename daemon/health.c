/* health.c - is flowhoundd doing its job? The receiver and the writer each stamp the
 * monotonic clock at every turn of their loop (at least every 200 ms and 100 ms when idle);
 * a stamp older than STALL_MS means a thread is stuck. The writer's longest legitimate step
 * is the index built when a partition closes (about 1 s per million rows,
 * doc/performance.md), so 30 s leaves room for a slow disk without hiding a hang. */
#include "config.h"

#include <stdatomic.h>
#include <stdio.h>

#include "common/timeutil.h"
#include "daemon/runtime.h"

#define STALL_MS 30000

bool runtime_healthy(struct runtime *rt, bool store_too, char *why, size_t whylen)
{
    int64_t now = mono_ms();
    int64_t recv_age = now - atomic_load(&rt->recv.beat_ms);
    struct writer_stats ws;
    writer_get_stats(rt->writer, &ws);
    if (recv_age > STALL_MS) {
        snprintf(why, whylen, "receiver: no progress for %lld s", (long long)(recv_age / 1000));
        return false;
    }
    if (now - ws.beat_ms > STALL_MS) {
        snprintf(why, whylen, "writer: no progress for %lld s (stuck in the store?)",
                 (long long)((now - ws.beat_ms) / 1000));
        return false;
    }
    if (store_too && ws.failing) {
        snprintf(why, whylen,
                 "store: writes are failing (disk full?); flows are dropped and counted "
                 "(dropped_store) until they work again");
        return false;
    }
    return true;
}
