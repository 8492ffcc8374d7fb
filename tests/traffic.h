/* traffic.h - what exporters and issue 13's attackers send, for the tests and for
 * bench/templbench: v5 datagrams of distinct flows, IPFIX messages defining templates of up to
 * 512 fields in two layouts, and senders paced over real loopback sockets (a good v5 exporter
 * at a steady rate, a source churning one template's layout, a flood of template ids from many
 * addresses). Every sender is bounded in count and time. No Criterion: bench/ uses it too. */
#ifndef FLOWHOUND_TEST_TRAFFIC_H
#define FLOWHOUND_TEST_TRAFFIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A v5 datagram of n (1..30) records with flow_sequence `seq`; record r is flow id * 30 + r
 * (distinct for distinct ids). Returns its length (24 + 48 n). */
size_t tr_v5(uint8_t *buf, unsigned n, uint32_t seq, uint32_t id);

/* The largest message tr_template_msg writes. */
#define TR_MAX_MSG 65535u

/* An IPFIX message (domain 0) defining templates first_id .. first_id + n_templates - 1, each
 * of n_fields fields (at most 512) in layout 0 or 1 (the same fields, in the other order);
 * with_record: then one record of template first_id. Returns its length, 0 when it would not
 * fit TR_MAX_MSG. */
size_t tr_template_msg(uint8_t *buf, uint16_t first_id, unsigned n_templates, unsigned n_fields,
                       int layout, bool with_record, uint32_t seq);

/* A UDP socket bound to `src` (an address of 127.0.0.0/8) and connected to 127.0.0.1:port;
 * -1 on error. */
int tr_socket(const char *src, uint16_t port);

/* The good exporter: v5 from src, flows_per_s flows a second in datagrams of 30, for `seconds`.
 * Returns the flows the kernel took. */
uint64_t tr_good_v5(uint16_t port, const char *src, unsigned flows_per_s, double seconds);
/* The churner: from src, per_s datagrams a second for `seconds`, each redefining template 256
 * with n_fields fields in the layout the previous one did not use, and one record in it.
 * Returns the datagrams sent. */
uint64_t tr_churn(uint16_t port, const char *src, unsigned per_s, double seconds,
                  unsigned n_fields);
/* The flood: from 127.0.B.1 .. 127.0.B.sources (B = base), template ids 256 .. 256 +
 * templates - 1 each, of n_fields fields, per_msg templates a datagram, per_s datagrams a
 * second (0: flat out). Returns the templates sent. */
uint64_t tr_flood(uint16_t port, unsigned base, unsigned sources, unsigned templates,
                  unsigned n_fields, unsigned per_msg, unsigned per_s);

#endif
