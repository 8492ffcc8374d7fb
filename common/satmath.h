/* satmath.h - sums that stop at the limit instead of overflowing.
 *
 * Packets, bytes and times come from exporters: a hostile or broken one sends 2^64 - 1. A sum
 * of such values must neither wrap nor overflow (signed overflow is undefined behaviour, and
 * the sanitizer build aborts on it): it stays at the largest value its type holds, which a
 * reader takes as "at least this much". SQLite integers are signed 64-bit, so unsigned
 * counters are stored clamped to INT64_MAX (clamp_i64); doc/storage.md "Numbers". */
#ifndef FLOWHOUND_SATMATH_H
#define FLOWHOUND_SATMATH_H

#include <stdint.h>

static inline int64_t sat_add(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

static inline int64_t sat_sub(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_sub_overflow(a, b, &r))
        return b < 0 ? INT64_MAX : INT64_MIN;
    return r;
}

static inline uint64_t sat_addu(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* An unsigned counter as SQLite and JSON hold it: above INT64_MAX, INT64_MAX. */
static inline int64_t clamp_i64(uint64_t v)
{
    return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
}

#endif
