/* health.c - is flowhoundd doing its job? The receiver and the writer each stamp the
 * monotonic clock at every turn of their loop (at least every 200 ms and 100 ms when idle);
 * a stamp older than STALL_MS means a thread is stuck. The writer's longest legitimate step
 * is the index built when a partition closes (about 1 s per million rows,
 * doc/performance.md), so 30 s leaves room for a slow disk without hiding a hang. With a
 * ClickHouse store, its sender failing is the store failing. */
#include "config.h"

#include <stdatomic.h>
#include <stdio.h>

#include "common/timeutil.h"
#include "daemon/runtime.h"

#define STALL_MS 30000

/* The ClickHouse sender is the store's writer when there is one: failing, it is what the
 * SQLite writer's failing is, but with room to wait before anything is lost (the journal's). */
static bool clickhouse_healthy(struct runtime *rt, int64_t now, char *why, size_t whylen)
{
    struct ch_sink_stats st;
    if (!rt->ch)
        return true;
    ch_sink_get_stats(rt->ch, &st);
    if (!st.failing_since_ms)
        return true;
    snprintf(why, whylen,
             "store: ClickHouse has taken no flows for %lld s; %llu flows (%llu of %llu MiB) wait "
             "in memory, more in the receive journal (lost and counted beyond journal-size)",
             (long long)((now - st.failing_since_ms) / 1000), (unsigned long long)st.rows_queued,
             (unsigned long long)(st.bytes_queued >> 20),
             (unsigned long long)(st.buffer_bytes >> 20));
    return false;
}

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
    int64_t dec_age = now - atomic_load(&rt->decoder.beat_ms);
    if (dec_age > STALL_MS) {
        snprintf(why, whylen, "decoder: no progress for %lld s", (long long)(dec_age / 1000));
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
    return !store_too || clickhouse_healthy(rt, now, why, whylen);
}
