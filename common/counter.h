/* counter.h - counters that one thread changes and other threads may read while it runs
 * (the tests watch the receiver's). They are _Atomic, so that those reads are defined; their
 * one writer changes them with a relaxed load and store rather than a locked read-modify-write
 * (it can: nobody else writes), which costs what a plain increment costs: the receiver's are
 * bumped for every datagram and every flow. */
#ifndef FLOWHOUND_COUNTER_H
#define FLOWHOUND_COUNTER_H

#include <stdatomic.h>

/* c: an _Atomic integer lvalue changed by this thread only. */
#define COUNTER_ADD(c, n)                                                                          \
    atomic_store_explicit(&(c), atomic_load_explicit(&(c), memory_order_relaxed) + (n),            \
                          memory_order_relaxed)
#define COUNTER_SUB(c, n)                                                                          \
    atomic_store_explicit(&(c), atomic_load_explicit(&(c), memory_order_relaxed) - (n),            \
                          memory_order_relaxed)
#define COUNTER_SET(c, v) atomic_store_explicit(&(c), (v), memory_order_relaxed)

#endif
