/* pcap_read.c - classic pcap files read whole (see the header). */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "demo/pcap_read.h"

#define MAX_CAPLEN (256 * 1024) /* larger than any snap length libpcap writes */

struct layout {
    bool swap; /* written on a machine of the other byte order */
    bool nano; /* nanosecond time stamps (magic a1b23c4d) */
};

static uint32_t get32(const uint8_t *p, bool swap)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return swap ? __builtin_bswap32(v) : v;
}

static int read_header(FILE *f, struct layout *l, uint32_t *linktype)
{
    uint8_t h[24];
    if (fread(h, 1, sizeof(h), f) != sizeof(h))
        return -1;
    uint32_t magic = get32(h, false);
    l->swap = magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1;
    uint32_t m = get32(h, l->swap);
    if (m != 0xa1b2c3d4 && m != 0xa1b23c4d)
        return -1;
    l->nano = m == 0xa1b23c4d;
    *linktype = get32(h + 20, l->swap) & 0x0fffffff;
    return 0;
}

/* One record: 1 read, 0 at the end of the file, -1 when it is cut short or absurd. */
static int read_record(FILE *f, const struct layout *l, struct pcap_pkt *p)
{
    uint8_t h[16];
    size_t got = fread(h, 1, sizeof(h), f);
    if (got == 0)
        return 0;
    if (got != sizeof(h))
        return -1;
    uint32_t sec = get32(h, l->swap), frac = get32(h + 4, l->swap);
    p->caplen = get32(h + 8, l->swap);
    p->len = get32(h + 12, l->swap);
    if (p->caplen > MAX_CAPLEN)
        return -1;
    p->ts_us = (int64_t)sec * 1000000 + (l->nano ? frac / 1000 : frac);
    p->data = xmalloc(p->caplen ? p->caplen : 1);
    if (fread(p->data, 1, p->caplen, f) != p->caplen) {
        free(p->data);
        return -1;
    }
    return 1;
}

int pcap_read_all(const char *path, struct pcap_file *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct layout l;
    int rc = read_header(f, &l, &out->linktype);
    size_t cap = 0;
    struct pcap_pkt p;
    while (rc == 0) {
        int r = read_record(f, &l, &p);
        if (r <= 0) {
            rc = r;
            break;
        }
        if (out->n == cap) {
            cap = cap ? cap * 2 : 256;
            out->pkts = xreallocarray(out->pkts, cap, sizeof(*out->pkts));
        }
        out->pkts[out->n++] = p;
    }
    fclose(f);
    if (rc < 0) {
        snprintf(err, errlen,
                 "%s: not a classic pcap file, or cut short (a pcapng file: "
                 "convert it with editcap -F pcap)",
                 path);
        pcap_file_free(out);
        return -1;
    }
    return 0;
}

void pcap_file_free(struct pcap_file *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->pkts[i].data);
    free(f->pkts);
    memset(f, 0, sizeof(*f));
}
