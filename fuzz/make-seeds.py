#!/usr/bin/env python3
"""make-seeds.py OUTDIR PCAP...: one fuzz seed per corpus pcap, in fuzz_decode.c's input
format ([exporter byte][be16 length][datagram] ...), every UDP payload of the pcap in order;
plus one seed per datagram alone. Reads classic pcap with Ethernet/IPv4/UDP (the corpus)."""
import os, struct, sys


def payloads(path):
    with open(path, "rb") as f:
        hdr = f.read(24)
        e = "<" if hdr[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                return
            incl = struct.unpack(e + "IIII", rec)[2]
            frame = f.read(incl)
            ip = frame[14:]
            ihl = (ip[0] & 15) * 4
            yield ip[ihl + 8:]


out = sys.argv[1]
os.makedirs(out, exist_ok=True)
for path in sys.argv[2:]:
    name = os.path.basename(path).rsplit(".", 1)[0]
    pays = list(payloads(path))
    seq = b"".join(struct.pack(">BH", 0, len(p)) + p for p in pays[:64])
    open(os.path.join(out, name), "wb").write(seq)
    for i, p in enumerate(pays[:8]):
        open(os.path.join(out, f"{name}.{i}"), "wb").write(struct.pack(">BH", 0, len(p)) + p)
