/* fixbuf_decode.h - NetFlow v9 and IPFIX decoding through libfixbuf.
 *
 * Called by decode_packet with the exporter lock held. Template state and the libfixbuf
 * session are kept per (exporter, domain, version) in exporter_domain.proto_state. */
#ifndef FLOWHOUND_FIXBUF_DECODE_H
#define FLOWHOUND_FIXBUF_DECODE_H

#include "collector/decode.h"
#include "collector/templates.h"

enum reject_reason fixbuf_decode(struct exporter_table *t, struct exporter *e, uint8_t version,
                                 const uint8_t *buf, size_t len, int64_t now_ms,
                                 const struct flow_emitter *out);

/* What options records told us about a domain (persisted with its templates). */
#define FB_MAX_SAMPLERS 64
struct fb_sampler {
    uint32_t id;
    uint32_t interval;
};
struct fb_options {
    bool have_sys_init; /* IPFIX systemInitTimeMilliseconds (160) seen */
    int64_t sys_init_ms;
    uint32_t default_interval; /* from an options record without a sampler id */
    struct fb_sampler samplers[FB_MAX_SAMPLERS];
    unsigned n_samplers;
};

/* Gives a v9/IPFIX domain its template state (empty) if it has none yet, charged to t's
 * template limits and to e's template bytes. Call with the exporter-table lock held. */
void fixbuf_attach(struct exporter_table *t, struct exporter *e, struct exporter_domain *d);
/* The template table of a v9/IPFIX domain; NULL when it has no state (v5, or never seen).
 * For template persistence; call with the exporter-table lock held. */
struct tmpl_table *fixbuf_templates(struct exporter_domain *d);
/* Its options state (same rules). Changes to it set fixbuf_templates(d)->dirty. */
struct fb_options *fixbuf_options(struct exporter_domain *d);
/* Withdraws the domain's templates not refreshed within the template timeout (from libfixbuf
 * too), counts them in d->templates_expired; returns how many. Lock held. */
unsigned fixbuf_expire(struct exporter_domain *d, int64_t now_ms);

/* Frees an exporter_domain.proto_state (installed as exporter_table.free_proto_state). */
void fixbuf_free_state(void *state);

#endif
