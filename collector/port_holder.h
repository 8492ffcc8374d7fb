/* port_holder.h - who holds a UDP port we could not bind: for an error message that says
 * what to stop ("address in use: another process listens on UDP 2055 (nfcapd, pid 812)").
 * Linux: /proc/net/udp{,6} give the socket's inode and owner, /proc/PID/fd the process. */
#ifndef FLOWHOUND_PORT_HOLDER_H
#define FLOWHOUND_PORT_HOLDER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* Writes what is known of the process bound to the UDP address `ss` (the same port, and the
 * same address or a wildcard on either side) into out: "nfcapd, pid 812", or "uid 1000" when
 * its processes cannot be looked into. false (out empty) when nothing is found. */
bool port_holder(const struct sockaddr_storage *ss, char *out, size_t outlen);

#endif
