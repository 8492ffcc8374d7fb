/* psamp.h - packets in the form softflowd's PSAMP receive mode (`softflowd -R PORT`) reads:
 * one IPFIX message per packet, a data set of softflowd's own template 3072
 * (selectionSequenceId, observationTimeMicroseconds as NTP time, sectionExportedOctets,
 * dataLinkFrameSection). softflowd ignores the template itself, so none is sent.
 *
 * Why this mode: softflowd reading a capture file (-r) never expires a flow by its timers
 * (../shared/scenarios/README.md); in PSAMP receive mode with -a its timers run on the
 * packets' time stamps, as a router's would on its clock. */
#ifndef FLOWHOUND_DEMO_PSAMP_H
#define FLOWHOUND_DEMO_PSAMP_H

#include <stddef.h>
#include <stdint.h>

/* softflowd's receive buffer: a longer frame is cut to fit (its length is still declared). */
#define PSAMP_MAX_MESSAGE 1428
#define PSAMP_HEADER_LEN  38 /* IPFIX header 16, set header 4, 8 + 8 + 2 */

/* The message carrying one Ethernet frame seen at ts_us, `len` bytes long on the wire, of
 * which caplen are in frame. Returns its length (<= PSAMP_MAX_MESSAGE). */
size_t psamp_packet(uint8_t *buf, int64_t ts_us, const uint8_t *frame, uint32_t caplen,
                    uint32_t len, uint64_t seq);
/* A frame that is not IP, seen at ts_us: it moves softflowd's clock (-a) and makes no flow. */
size_t psamp_tick(uint8_t *buf, int64_t ts_us, uint64_t seq);

#endif
