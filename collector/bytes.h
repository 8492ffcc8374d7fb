/* bytes.h - bounds-unchecked big-endian readers. Callers check lengths first, always. */
#ifndef FLOWHOUND_BYTES_H
#define FLOWHOUND_BYTES_H

#include <stdint.h>

static inline uint16_t get_be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t get_be64(const uint8_t *p)
{
    return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

/* Unsigned big-endian integer of 1..8 bytes (reduced-size encoding, RFC 7011 6.2). */
static inline uint64_t get_be_n(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n && i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

#endif
