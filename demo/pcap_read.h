/* pcap_read.h - the packets of a classic pcap file (libpcap's format, either byte order,
 * micro- or nanosecond time stamps), as the capture holds them: for feeding an exporter the
 * packets of a scenario, not for decoding them. */
#ifndef FLOWHOUND_DEMO_PCAP_READ_H
#define FLOWHOUND_DEMO_PCAP_READ_H

#include <stddef.h>
#include <stdint.h>

struct pcap_pkt {
    int64_t ts_us;   /* capture time, microseconds since the epoch */
    uint32_t len;    /* the packet's length on the wire */
    uint32_t caplen; /* bytes captured, in data */
    uint8_t *data;
};

struct pcap_file {
    uint32_t linktype; /* 1 = Ethernet */
    struct pcap_pkt *pkts;
    size_t n;
};

/* Reads the whole file. 0, or -1 with a message in err (not a classic pcap, truncated). */
int pcap_read_all(const char *path, struct pcap_file *out, char *err, size_t errlen);
void pcap_file_free(struct pcap_file *f);

#endif
