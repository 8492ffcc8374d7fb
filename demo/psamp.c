/* psamp.c - softflowd's PSAMP messages (see the header). */
#include "config.h"

#include <string.h>

#include "demo/psamp.h"

#define IPFIX_VERSION      10
#define SOFTFLOWD_TEMPLATE 3072
#define NTP_UNIX_OFFSET    2208988800u /* seconds from 1900 to 1970 */

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16)), put16(p + 2, (uint16_t)v);
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32)), put32(p + 4, (uint32_t)v);
}

/* NTP fraction rounded up: softflowd truncates when it converts back, so the microseconds
 * come back exact. */
static uint32_t ntp_fraction(int64_t usec)
{
    return (uint32_t)(((uint64_t)usec << 32) / 1000000 + 1);
}

size_t psamp_packet(uint8_t *buf, int64_t ts_us, const uint8_t *frame, uint32_t caplen,
                    uint32_t len, uint64_t seq)
{
    size_t room = PSAMP_MAX_MESSAGE - PSAMP_HEADER_LEN;
    size_t copy = caplen < room ? caplen : room;
    size_t total = PSAMP_HEADER_LEN + copy;
    uint32_t sec = (uint32_t)(ts_us / 1000000);
    put16(buf, IPFIX_VERSION);
    put16(buf + 2, (uint16_t)total);
    put32(buf + 4, sec);
    put32(buf + 8, (uint32_t)seq);
    put32(buf + 12, 0); /* observation domain */
    put16(buf + 16, SOFTFLOWD_TEMPLATE);
    put16(buf + 18, (uint16_t)(total - 16));
    put64(buf + 20, seq);
    put32(buf + 28, sec + NTP_UNIX_OFFSET);
    put32(buf + 32, ntp_fraction(ts_us % 1000000));
    /* softflowd takes this as both the captured and the wire length: declare the wire
     * length, so the flows count the packet's real bytes even when the frame was cut */
    put16(buf + 36, (uint16_t)(len < 65535 ? len : 65535));
    memcpy(buf + PSAMP_HEADER_LEN, frame, copy);
    return total;
}

size_t psamp_tick(uint8_t *buf, int64_t ts_us, uint64_t seq)
{
    uint8_t frame[60] = {0};
    frame[12] = 0x88, frame[13] = 0xb5; /* IEEE 802 local experimental EtherType: not IP */
    return psamp_packet(buf, ts_us, frame, sizeof(frame), sizeof(frame), seq);
}
