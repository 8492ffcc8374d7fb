/* fixbuf_decode.c - NetFlow v9 / IPFIX decoding. Not implemented yet: every v9 and IPFIX
 * datagram is rejected as unknown_version and counted, so nothing is lost silently. */
#include "config.h"

#include "collector/fixbuf_decode.h"

enum reject_reason fixbuf_decode(struct exporter_table *t, struct exporter *e, uint8_t version,
                                 const uint8_t *buf, size_t len, int64_t now_ms,
                                 const struct flow_emitter *out)
{
    (void)t;
    (void)e;
    (void)version;
    (void)buf;
    (void)len;
    (void)now_ms;
    (void)out;
    return REJ_UNKNOWN_VERSION;
}

void fixbuf_free_state(void *state)
{
    (void)state;
}
