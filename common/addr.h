/* addr.h - struct fh_addr helpers: text form, comparison, hashing. */
#ifndef FLOWHOUND_ADDR_H
#define FLOWHOUND_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* An IPv4 or IPv6 address. family is 0 (none), 4 or 6; v4 uses bytes[0..3]. */
struct fh_addr {
    uint8_t family;
    uint8_t bytes[16];
};

/* Text form as inet_ntop writes it ("192.0.2.1", "2001:db8::1"); "" for family 0. */
#define FH_ADDR_STRLEN 46

/* Writes the inet_ntop text form into buf (at least FH_ADDR_STRLEN bytes). Returns buf. */
const char *addr_to_str(const struct fh_addr *a, char *buf, size_t len);
/* Parses an IPv4 or IPv6 literal. Returns false on anything else. */
bool addr_from_str(const char *s, struct fh_addr *out);
void addr_from_v4(struct fh_addr *a, const uint8_t bytes[4]);
void addr_from_v6(struct fh_addr *a, const uint8_t bytes[16]);
/* From a socket address; IPv4-mapped IPv6 addresses become plain IPv4. */
void addr_from_sockaddr(struct fh_addr *a, const struct sockaddr *sa);
bool addr_equal(const struct fh_addr *a, const struct fh_addr *b);
int addr_cmp(const struct fh_addr *a, const struct fh_addr *b);
bool addr_is_zero(const struct fh_addr *a);
uint64_t addr_hash(const struct fh_addr *a, uint64_t seed);

#endif
