/* fixbuf_decode.h - NetFlow v9 and IPFIX decoding through libfixbuf.
 *
 * Called by decode_packet with the exporter lock held. Template state is kept per
 * (exporter, domain) in exporter_domain.proto_state. */
#ifndef FLOWHOUND_FIXBUF_DECODE_H
#define FLOWHOUND_FIXBUF_DECODE_H

#include "collector/decode.h"
#include "collector/templates.h"

enum reject_reason fixbuf_decode(struct exporter_table *t, struct exporter *e, uint8_t version,
                                 const uint8_t *buf, size_t len, int64_t now_ms,
                                 const struct flow_emitter *out);

/* The template table of a v9/IPFIX domain (created empty if the domain has no state yet).
 * For template persistence; call with the exporter-table lock held. */
struct tmpl_table *fixbuf_templates(struct exporter_domain *d);

/* Frees an exporter_domain.proto_state (installed as exporter_table.free_proto_state). */
void fixbuf_free_state(void *state);

#endif
