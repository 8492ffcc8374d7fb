/* fuzz_decode.c - libFuzzer harness for decode_packet, the packet entry point of v5, v9 and
 * IPFIX. One input is a sequence of datagrams, so that templates learnt from one datagram
 * are used (and abused) by the next ones, as on the wire:
 *
 *     [1 byte: exporter 0-3 and flags][2 bytes: big-endian length][length bytes] ...
 *
 * (the last datagram takes whatever is left when the length says more). Flag 0x40: a minute
 * passes before the datagram; 0x80: templates not refreshed expire first. The template limits
 * are small, so that the budget, the rate of changes and expiry are in play. Each input gets
 * a fresh exporter table, freed at the end, so LeakSanitizer sees every leak of a run. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "collector/decode.h"
#include "collector/fixbuf_decode.h"

#define MAX_DATAGRAMS 64

static bool check_flow(void *ctx, const struct flow *f)
{
    unsigned *n = ctx;
    /* What every decoder promises about an emitted flow. */
    if (f->version != 5 && f->version != 9 && f->version != 10)
        __builtin_trap();
    if (f->src_addr.family != 4 && f->src_addr.family != 6 && f->src_addr.family != 0)
        __builtin_trap();
    (*n)++;
    return (*n & 7) != 7; /* now and then, pretend the queue is full */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct exporter_table t;
    exporters_init(&t, 4, 4);
    t.free_proto_state = fixbuf_free_state;
    t.templates.budget_exporter = 256 << 10;
    t.templates.budget_all = 512 << 10;
    t.templates.changes_per_min = 8;
    t.templates.timeout_ms = 90000;
    int64_t now = 1700000000000LL;
    unsigned flows = 0;
    struct flow_emitter out = {check_flow, &flows};
    size_t off = 0;
    for (int i = 0; i < MAX_DATAGRAMS && size - off >= 3; i++) {
        uint8_t sel = data[off];
        size_t len = (size_t)data[off + 1] << 8 | data[off + 2];
        off += 3;
        if (len > size - off)
            len = size - off;
        struct fh_addr from = {.family = 4, .bytes = {127, 0, 9, (uint8_t)(sel & 3)}};
        now += sel & 0x40 ? 60000 : 1;
        if (sel & 0x80)
            decode_expire_templates(&t, now, NULL, NULL);
        decode_packet(&t, &from, data + off, len, now, &out);
        off += len;
    }
    exporters_free(&t);
    return 0;
}
