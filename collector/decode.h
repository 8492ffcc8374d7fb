/* decode.h - the packet entry point: sniff the version of a datagram, account it to its
 * exporter, run the right decoder and emit struct flows. Shared by the daemon, the tests and
 * the fuzz harness. */
#ifndef FLOWHOUND_DECODE_H
#define FLOWHOUND_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collector/exporters.h"
#include "common/flow.h"
#include "collector/reject.h"

/* Where decoded flows go. emit returns false when the flow could not be accepted (queue
 * full); the decoder then counts it in the domain's dropped_queue. */
struct flow_emitter {
    bool (*emit)(void *ctx, const struct flow *f);
    void *ctx;
};

/* What the decoders share. One decoded flow of domain d to `out`: clamped into the ranges a
 * flow may take (common/flowlimits.h), its times judged against its receipt with t->clock,
 * and counted in d (flows or dropped_queue; clock_future, clock_past). */
void decode_emit(const struct exporter_table *t, struct exporter_domain *d,
                 const struct flow_emitter *out, struct flow *f);
/* A datagram's header export time against the moment we received it: d's clock offset. */
void decode_note_clock(struct exporter_domain *d, int64_t export_ms, int64_t received_ms);

/* Decodes one datagram from `from`, received at now_ms. Updates the exporter's counters
 * (packets, rejects, sequence loss, flows). Returns REJ_NONE or why the datagram (or its
 * first bad part) was rejected; records decoded before a later error are still emitted. */
enum reject_reason decode_packet(struct exporter_table *t, const struct fh_addr *from,
                                 const uint8_t *buf, size_t len, int64_t now_ms,
                                 const struct flow_emitter *out);

/* Called for each domain that had templates expire: how many. With the lock held. */
typedef void (*expire_fn)(void *ctx, const struct exporter *e, const struct exporter_domain *d,
                          unsigned n);
/* Withdraws the v9/IPFIX templates of every exporter not refreshed within the template
 * timeout (t->templates.timeout_ms), calling fn (may be NULL) per domain that lost some.
 * Takes the lock. Returns how many templates expired. */
unsigned decode_expire_templates(struct exporter_table *t, int64_t now_ms, expire_fn fn, void *ctx);

#endif
