/* writer.c - the single SQLite writer. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/addr.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "storage/writer.h"

#define POP_TIMEOUT_MS 100
#define WRITER_NICE    5
#define TICK_MS        1000
/* After a failed write, how long batches are dropped (and counted) before the next try. */
#define RETRY_MS 1000

struct txn_count {
    struct fh_addr addr;
    uint32_t domain;
    uint8_t version;
    uint64_t rows;
};

void writer_init(struct writer *w, struct store *s, struct flow_queue *q, struct exporter_table *t,
                 int64_t commit_interval_ms)
{
    memset(w, 0, sizeof(*w));
    w->store = s;
    w->queue = q;
    w->exporters = t;
    w->commit_interval_ms = commit_interval_ms > 0 ? commit_interval_ms : 1000;
    struct log_limit lim = LOG_LIMIT_INIT(0.2, 5.0);
    w->err_log = lim;
}

void writer_add_consumer(struct writer *w, struct flow_consumer c)
{
    if (w->n_consumers < WRITER_MAX_CONSUMERS)
        w->consumers[w->n_consumers++] = c;
}

void writer_set_retention(struct writer *w, int64_t retention_ms, int64_t max_bytes)
{
    w->retention_ms = retention_ms > 0 ? retention_ms : 0;
    w->max_bytes = max_bytes > 0 ? max_bytes : 0;
}

static struct txn_count *txn_slot(struct writer *w, const struct flow *f)
{
    for (unsigned i = 0; i < w->n_txn; i++) {
        struct txn_count *c = &w->txn[i];
        if (c->domain == f->domain && c->version == f->version &&
            addr_equal(&c->addr, &f->exporter))
            return c;
    }
    if (w->n_txn == w->cap_txn) {
        w->cap_txn = w->cap_txn ? w->cap_txn * 2 : 8;
        w->txn = xreallocarray(w->txn, w->cap_txn, sizeof(*w->txn));
    }
    struct txn_count *c = &w->txn[w->n_txn++];
    c->addr = f->exporter;
    c->domain = f->domain;
    c->version = f->version;
    c->rows = 0;
    return c;
}

/* Records we dropped because the store failed: counted per exporter domain. */
static void count_store_drops(struct writer *w, const struct fh_addr *a, uint32_t domain,
                              uint8_t version, uint64_t n)
{
    exporters_lock(w->exporters);
    struct exporter *e = exporters_get(w->exporters, a, now_ms());
    struct exporter_domain *d = e ? exporter_domain_get(w->exporters, e, domain, version) : NULL;
    if (d) {
        d->dropped_store += n;
        d->dirty = true;
    }
    exporters_unlock(w->exporters);
    atomic_fetch_add(&w->rows_failed, n);
}

static void drop_batch(struct writer *w, const struct flow_batch *b, size_t from);
static void enter_failing(struct writer *w, const char *what, const char *err, uint64_t lost);

static void commit(struct writer *w)
{
    char err[512];
    if (!store_in_transaction(w->store))
        return;
    uint64_t rows = 0;
    for (unsigned i = 0; i < w->n_txn; i++)
        rows += w->txn[i].rows;
    if (store_save_exporters(w->store, w->exporters, err, sizeof(err)) == 0 &&
        store_commit(w->store, err, sizeof(err)) == 0) {
        atomic_fetch_add(&w->rows_stored, rows);
        atomic_fetch_add(&w->commits, 1);
        if (w->failing) {
            log_info("store writable again; %llu flows were dropped while it failed",
                     (unsigned long long)w->failing_dropped);
            w->failing = false;
            w->failing_dropped = 0;
        }
    } else {
        if (store_in_transaction(w->store))
            store_rollback(w->store);
        enter_failing(w, "commit", err, rows);
    }
    w->n_txn = 0;
}

/* Everything in the open transaction is lost (rolled back): count it per exporter. */
static void count_txn_lost(struct writer *w)
{
    for (unsigned i = 0; i < w->n_txn; i++)
        count_store_drops(w, &w->txn[i].addr, w->txn[i].domain, w->txn[i].version, w->txn[i].rows);
    w->n_txn = 0;
}

/* A write failed (SQLITE_FULL when the disk is full): the open transaction is lost and
 * counted; the next RETRY_MS of batches are dropped and counted without trying, so a full
 * disk costs no CPU and floods no log; then writing is tried again. Receiving goes on. */
static void enter_failing(struct writer *w, const char *what, const char *err, uint64_t lost)
{
    bool full = store_last_error(w->store) == SQLITE_FULL;
    if (!w->failing || full)
        log_ratelimited(&w->err_log, LOG_LVL_ERR,
                        "store %s failed%s, %llu flows lost: %s; dropping (and counting) "
                        "flows until it works again",
                        what, full ? " (disk full?)" : "", (unsigned long long)lost, err);
    count_txn_lost(w);
    w->failing_dropped += lost;
    w->failing = true;
    w->retry_at = mono_ms() + RETRY_MS;
}

static void drop_batch(struct writer *w, const struct flow_batch *b, size_t from)
{
    for (size_t i = from; i < b->n; i++)
        count_store_drops(w, &b->flows[i].exporter, b->flows[i].domain, b->flows[i].version, 1);
    w->failing_dropped += b->n - from;
}

static void store_batch(struct writer *w, const struct flow_batch *b)
{
    char err[512];
    if (w->failing && mono_ms() < w->retry_at) {
        drop_batch(w, b, 0);
        return;
    }
    if (!store_in_transaction(w->store)) {
        if (store_begin(w->store, err, sizeof(err))) {
            enter_failing(w, "begin", err, 0);
            drop_batch(w, b, 0);
            return;
        }
        w->txn_started = mono_ms();
    }
    for (size_t i = 0; i < b->n; i++) {
        const struct flow *f = &b->flows[i];
        if (store_add_flow(w->store, f, err, sizeof(err)) != 0) {
            /* One failed insert may have rolled the transaction back (SQLITE_FULL does):
             * abandon it whole rather than guess what survived. */
            uint64_t lost = 0;
            for (unsigned j = 0; j < w->n_txn; j++)
                lost += w->txn[j].rows;
            store_rollback(w->store);
            enter_failing(w, "insert", err, lost);
            drop_batch(w, b, i);
            return;
        }
        txn_slot(w, f)->rows++;
    }
}

/* Retention, between transactions: at most one partition per call, so a drop costs one
 * short pause (the queue absorbs it), never a long one. */
static void expire(struct writer *w)
{
    char err[512];
    if ((!w->retention_ms && !w->max_bytes) || store_in_transaction(w->store))
        return;
    int n = store_expire(w->store, now_ms(), w->retention_ms, w->max_bytes, 1, err, sizeof(err));
    if (n < 0)
        log_ratelimited(&w->err_log, LOG_LVL_ERR, "retention: %s", err);
    else if (n > 0)
        atomic_fetch_add(&w->partitions_dropped, (uint64_t)n);
}

/* Exporter counters change without flows too (rejects, drops): persist them when idle. */
static void save_counters(struct writer *w)
{
    char err[512];
    if (store_in_transaction(w->store))
        return;
    if (store_begin(w->store, err, sizeof(err)) == 0) {
        if (store_save_exporters(w->store, w->exporters, err, sizeof(err)) ||
            store_commit(w->store, err, sizeof(err)))
            log_ratelimited(&w->err_log, LOG_LVL_ERR, "store: saving exporter counters: %s", err);
    }
}

static void tick_consumers(struct writer *w, int final)
{
    int64_t now = now_ms();
    for (unsigned i = 0; i < w->n_consumers; i++)
        if (w->consumers[i].tick)
            w->consumers[i].tick(w->consumers[i].ctx, now, final);
}

void writer_run(struct writer *w)
{
    int64_t last_tick = mono_ms();
    for (;;) {
        struct flow_batch *b = flowq_pop(w->queue, POP_TIMEOUT_MS);
        if (b) {
            store_batch(w, b);
            for (unsigned i = 0; i < w->n_consumers; i++)
                w->consumers[i].consume(w->consumers[i].ctx, b->flows, b->n);
            flowq_release(w->queue, b);
        }
        int64_t now = mono_ms();
        if (store_in_transaction(w->store) && (!b || now - w->txn_started >= w->commit_interval_ms))
            commit(w);
        if (now - last_tick >= TICK_MS) {
            tick_consumers(w, 0);
            save_counters(w);
            expire(w);
            last_tick = now;
        }
        if (!b && flowq_closed_and_empty(w->queue))
            break;
    }
    commit(w);
    tick_consumers(w, 1);
    save_counters(w);
    free(w->txn);
    w->txn = NULL;
    w->n_txn = w->cap_txn = 0;
}

static void *writer_main(void *arg)
{
    /* The receiver must never wait for the writer's CPU: it only reads and parks datagrams
     * (a few % of a core even in a burst) while the writer has the backlog to catch up
     * from. On a busy core, a lower priority for this thread keeps the kernel from dropping
     * datagrams behind a long SQLite step (Linux: nice is per thread). */
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), WRITER_NICE) != 0)
        log_debug("writer: cannot lower its priority: %s", strerror(errno));
    writer_run(arg);
    return NULL;
}

int writer_start(struct writer *w)
{
    return pthread_create(&w->thread, NULL, writer_main, w);
}

void writer_join(struct writer *w)
{
    pthread_join(w->thread, NULL);
}
