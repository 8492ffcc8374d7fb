/* fixbuf_session.h - one libfixbuf session and collection buffer per (exporter, domain,
 * version): the part of v9/IPFIX decoding that libfixbuf does.
 *
 * Our walker (fixbuf_decode.c) validates every message first. Each template it accepts is
 * handed to libfixbuf as an IPFIX external template (v9 rewritten: see fbx_feed); each data
 * set it validated is handed over as a one-set IPFIX message through fBufSetBuffer and read
 * with fBufNext into an internal template of the elements we store that it carries. */
#ifndef FLOWHOUND_FIXBUF_SESSION_H
#define FLOWHOUND_FIXBUF_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collector/ipfix_record.h"
#include "collector/templates.h"

struct fbx;

/* A session for observation domain `domain`; never NULL (aborts on out of memory). */
struct fbx *fbx_new(uint32_t domain);
void fbx_free(struct fbx *x);

/* Gives libfixbuf template t (of protocol `version`) if it does not have this definition yet.
 * Returns false when libfixbuf refused it (its data cannot be decoded). */
bool fbx_feed(struct fbx *x, uint8_t version, struct tmpl *t);
/* Withdraws t from libfixbuf (before our table frees it). */
void fbx_forget(struct fbx *x, struct tmpl *t);

/* Called for each record libfixbuf decoded: `rec` is the internal record; fbx_take fills a
 * rec_acc from it. */
typedef void (*fbx_record_fn)(void *ctx, const struct tmpl *t, const uint8_t *rec);
void fbx_take(const struct tmpl *t, const uint8_t *rec, struct rec_acc *a);

/* Hands `len` bytes holding `n_recs` whole records of template t (validated by our walker) to
 * libfixbuf as one IPFIX message and calls fn for each record it returns. Returns how many
 * records it decoded (all n_recs when t carries nothing we store: nothing to decode). */
unsigned fbx_read(struct fbx *x, const struct tmpl *t, uint32_t export_s, const uint8_t *recs,
                  size_t len, unsigned n_recs, fbx_record_fn fn, void *ctx);

/* Whether a read went wrong in a way that may leave libfixbuf's buffer mid-message (it has no
 * reset): the caller must then replace the session (fbx_free, fbx_new) and feed its templates
 * again. Never seen on validated input; a safety net. */
bool fbx_stale(const struct fbx *x);

/* The largest `len` fbx_read accepts (an IPFIX message is at most 65535 bytes). */
#define FBX_MAX_RECORDS_LEN (65535u - 16u - 4u)

#endif
