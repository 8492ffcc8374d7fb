/* exporters.c - the exporter table: an open-addressing hash keyed by source address. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "collector/exporters.h"
#include "common/addr.h"
#include "common/xmalloc.h"

#define EXPORTER_HASH_SEED 0x9e3779b97f4a7c15ULL

void exporters_init(struct exporter_table *t, unsigned max_exporters, unsigned max_domains)
{
    memset(t, 0, sizeof(*t));
    pthread_mutex_init(&t->lock, NULL);
    t->max_exporters = max_exporters ? max_exporters : 4096;
    t->max_domains = max_domains ? max_domains : 64;
    t->cap = 64;
    while (t->cap < t->max_exporters * 2 && t->cap < 64 * 1024)
        t->cap *= 2;
    t->slots = xcalloc(t->cap, sizeof(*t->slots));
    flow_clock_default(&t->clock);
    t->templates.budget_all = EXPORTERS_TEMPLATE_BUDGET;
    t->templates.budget_exporter = EXPORTERS_TEMPLATE_BUDGET_EXPORTER;
    t->templates.timeout_ms = EXPORTERS_TEMPLATE_TIMEOUT_MS;
    t->templates.changes_per_min = EXPORTERS_TEMPLATE_CHANGES;
}

void exporters_free(struct exporter_table *t)
{
    for (unsigned i = 0; i < t->cap; i++) {
        struct exporter *e = t->slots[i];
        if (!e)
            continue;
        for (unsigned d = 0; d < e->n_domains; d++)
            if (e->domains[d].proto_state && t->free_proto_state)
                t->free_proto_state(e->domains[d].proto_state);
        free(e->domains);
        free(e);
    }
    free(t->slots);
    pthread_mutex_destroy(&t->lock);
    memset(t, 0, sizeof(*t));
}

void exporters_lock(struct exporter_table *t)
{
    pthread_mutex_lock(&t->lock);
}

void exporters_unlock(struct exporter_table *t)
{
    pthread_mutex_unlock(&t->lock);
}

struct exporter *exporters_get(struct exporter_table *t, const struct fh_addr *addr, int64_t now)
{
    unsigned mask = t->cap - 1;
    unsigned i = (unsigned)addr_hash(addr, EXPORTER_HASH_SEED) & mask;
    for (;; i = (i + 1) & mask) {
        struct exporter *e = t->slots[i];
        if (!e)
            break;
        if (addr_equal(&e->addr, addr)) {
            e->last_seen_ms = now;
            return e;
        }
    }
    /* Not found: slot i is free. The table never fills beyond max_exporters <= cap / 2. */
    if (t->count >= t->max_exporters || t->count >= t->cap / 2) {
        t->overflow_packets++;
        return NULL;
    }
    struct exporter *e = xcalloc(1, sizeof(*e));
    e->addr = *addr;
    e->first_seen_ms = e->last_seen_ms = now;
    e->dirty = true;
    t->slots[i] = e;
    t->count++;
    return e;
}

struct exporter_domain *exporter_domain_get(struct exporter_table *t, struct exporter *e,
                                            uint32_t domain, uint8_t version)
{
    for (unsigned i = 0; i < e->n_domains; i++) {
        struct exporter_domain *d = &e->domains[i];
        if (d->domain == domain && d->version == version)
            return d;
    }
    if (e->n_domains >= t->max_domains)
        return NULL;
    if (e->n_domains == e->cap_domains) {
        e->cap_domains = e->cap_domains ? e->cap_domains * 2 : 2;
        e->domains = xreallocarray(e->domains, e->cap_domains, sizeof(*e->domains));
    }
    struct exporter_domain *d = &e->domains[e->n_domains++];
    memset(d, 0, sizeof(*d));
    d->domain = domain;
    d->version = version;
    d->dirty = true;
    return d;
}

void exporters_foreach(struct exporter_table *t, void (*fn)(struct exporter *, void *), void *arg)
{
    for (unsigned i = 0; i < t->cap; i++)
        if (t->slots[i])
            fn(t->slots[i], arg);
}

static void mark_dirty(struct exporter *e, void *arg)
{
    (void)arg;
    e->dirty = true;
    for (unsigned i = 0; i < e->n_domains; i++)
        e->domains[i].dirty = true;
}

void exporters_mark_dirty(struct exporter_table *t)
{
    exporters_lock(t);
    exporters_foreach(t, mark_dirty, NULL);
    exporters_unlock(t);
}

const struct fh_prefix *exporters_set_allow(struct exporter_table *t, const struct fh_prefix *allow,
                                            size_t n)
{
    exporters_lock(t);
    const struct fh_prefix *old = t->allow;
    t->allow = allow;
    t->n_allow = n;
    exporters_unlock(t);
    return old;
}

void exporters_count_rejected(struct exporter_table *t, const struct fh_addr *from, int64_t now,
                              enum reject_reason why)
{
    exporters_lock(t);
    struct exporter *e = exporters_get(t, from, now);
    if (e) {
        e->packets++;
        e->rejects[why]++;
        e->dirty = true;
    }
    exporters_unlock(t);
}
