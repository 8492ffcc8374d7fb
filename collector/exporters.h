/* exporters.h - the table of exporters seen, with their counters.
 *
 * An exporter is a device (source address). Each sends one or more observation domains
 * (v5 engine type/id, v9 source id, IPFIX observation domain id); sequence numbers and
 * templates are per domain, so they live in struct exporter_domain.
 *
 * Three separate loss counters, because users need to know WHERE records were lost:
 *   - seq.lost:      records (or v9 packets) missing by the exporter's own sequence numbers:
 *                    lost on the network or by the exporter;
 *   - kernel_drops:  datagrams the kernel dropped at our socket (SO_RXQ_OVFL). The kernel
 *                    counts per socket; we attribute each increase to the exporter whose
 *                    datagram reported it, which is exact for one exporter and approximate for
 *                    several (listener totals are exact: struct listener);
 *   - dropped_queue / dropped_store: records we decoded and then dropped ourselves.
 *
 * Thread safety: the receiver thread creates and updates entries; the writer and web threads
 * read snapshots and add store drops. Every access goes through exporters_lock/unlock.
 */
#ifndef FLOWHOUND_EXPORTERS_H
#define FLOWHOUND_EXPORTERS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/flow.h"
#include "common/flowlimits.h"
#include "common/prefix.h"
#include "collector/reject.h"
#include "collector/sequence.h"
#include "collector/templates.h"

struct exporter_domain {
    uint32_t domain;
    uint8_t version;
    uint64_t packets, flows;
    struct seq_state seq;
    uint64_t dropped_queue, dropped_store;
    uint64_t records_rejected; /* data records we could not decode (e.g. no template) */
    /* Its clock against ours (common/flowlimits.h): flows stored though dated beyond the
     * table's clock bounds, and the export time in its last datagram's header minus the
     * moment we received it (valid once clock_measured). */
    uint64_t clock_future, clock_past;
    int64_t clock_offset_ms;
    bool clock_measured;
    /* v9/IPFIX templates refused (budget, rate of changes, too many) and expired (not
     * refreshed within the template timeout). */
    uint64_t templates_refused, templates_expired;
    /* v9/IPFIX template state, owned by the protocol decoder (NULL for v5). */
    void *proto_state;
    bool dirty; /* changed since last persisted */
};

struct exporter {
    struct fh_addr addr;
    int64_t first_seen_ms, last_seen_ms;
    uint64_t packets, bytes;
    uint64_t rejects[REJ__COUNT];
    uint64_t kernel_drops;
    uint64_t template_bytes; /* v9/IPFIX template state held, all domains (tmpl_cost) */
    struct exporter_domain *domains;
    unsigned n_domains, cap_domains;
    bool dirty;
};

struct exporter_table {
    pthread_mutex_t lock;
    struct exporter **slots; /* open addressing by address hash */
    unsigned cap, count, max_exporters;
    unsigned max_domains;
    uint64_t overflow_packets; /* packets from exporters we could not track (limit reached) */
    /* When n_allow > 0, only these exporters are accepted. Others are counted here and never
     * get a table entry, so a flood of spoofed sources cannot fill the table. */
    const struct fh_prefix *allow;
    size_t n_allow;
    uint64_t not_allowed_packets;
    /* Flows dated beyond these are counted in their domain's clock_future / clock_past
     * (settings clock-skew, clock-max-age; exporters_init sets the defaults). */
    struct flow_clock clock;
    void (*free_proto_state)(void *);
    /* Template budget, expiry and rate of changes (defaults: EXPORTERS_TEMPLATE_*). */
    struct tmpl_limits templates;
};

/* The defaults of the template settings (common/settings.c has the same text). Real exporters
 * hold tens of KiB of templates (Cisco ASA NSEL: 13 templates, 80 KiB); 64 MiB is 500 such. */
#define EXPORTERS_TEMPLATE_BUDGET          (64ull << 20)
#define EXPORTERS_TEMPLATE_BUDGET_EXPORTER (4ull << 20)
#define EXPORTERS_TEMPLATE_TIMEOUT_MS      (30 * 60 * 1000)
#define EXPORTERS_TEMPLATE_CHANGES         60

void exporters_init(struct exporter_table *t, unsigned max_exporters, unsigned max_domains);
void exporters_free(struct exporter_table *t);
void exporters_lock(struct exporter_table *t);
void exporters_unlock(struct exporter_table *t);

/* Lookup or create (call with the lock held). NULL when the table is full. */
struct exporter *exporters_get(struct exporter_table *t, const struct fh_addr *addr, int64_t now);
/* A datagram from `from` rejected before it reached a decoder (cut by the kernel, lost from
 * the receive journal): counted as one of its packets and as `why`. Takes the lock. */
void exporters_count_rejected(struct exporter_table *t, const struct fh_addr *from, int64_t now,
                              enum reject_reason why);
/* The domain entry of an exporter; created on first use. NULL when the exporter has too many. */
struct exporter_domain *exporter_domain_get(struct exporter_table *t, struct exporter *e,
                                            uint32_t domain, uint8_t version);
/* Iterate: calls fn for each exporter (with the lock held). */
void exporters_foreach(struct exporter_table *t, void (*fn)(struct exporter *, void *), void *arg);
/* Replaces the allow-list (n = 0: any exporter), under the lock, as a reload does; returns
 * the previous one, for the caller to free. Exporters already in the table stay in it. */
const struct fh_prefix *exporters_set_allow(struct exporter_table *t, const struct fh_prefix *allow,
                                            size_t n);
/* Marks every exporter and domain as changed, e.g. when the transaction that saved them was
 * rolled back (takes the lock). */
void exporters_mark_dirty(struct exporter_table *t);

#endif
