/* writer.c - the single SQLite writer. */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/addr.h"
#include "common/log.h"
#include "common/thread_nice.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "storage/writer.h"

#define POP_TIMEOUT_MS 100
#define TICK_MS        1000
/* After a failed write, how long batches are dropped (and counted) before the next try. */
#define RETRY_MS 1000
/* How long a reader may keep the WAL from being emptied before the log says so, and how often
 * it says so again while it goes on. */
#define WAL_WARN_AFTER_MS 60000
#define WAL_WARN_EVERY_MS 300000
/* Changes waiting for the writer's thread (writer_post); a reload posts one. */
#define MAILBOX_MAX 8

struct writer_task {
    void (*run)(void *ctx);
    void *ctx;
};

/* Rows of one exporter domain in the open transaction: counted as lost if it rolls back. */
struct txn_count {
    struct fh_addr addr;
    uint32_t domain;
    uint8_t version;
    uint64_t rows;
};

struct writer {
    struct store *store;
    struct flow_queue *queue;
    struct exporter_table *exporters;
    /* Settings: written before the thread starts or by a task in its thread (writer_post);
     * atomic so that writer_get_stats can report the ones in force from any thread. */
    _Atomic int64_t commit_interval_ms, retention_ms, max_bytes;
    struct flow_sink sink;
    struct writer_consumer consumers[WRITER_MAX_CONSUMERS];
    unsigned n_consumers;
    pthread_t thread;
    _Atomic uint64_t rows_stored, rows_failed, commits, partitions_dropped;
    int64_t txn_started;
    struct txn_count *txn;
    unsigned n_txn, cap_txn;
    struct log_limit err_log;
    /* after a store failure (disk full...): batches are dropped and counted, not tried,
     * until retry_at (monotonic ms); failing_dropped counts them for the "resumed" message */
    _Atomic bool failing; /* read by the health check */
    int64_t retry_at;
    uint64_t failing_dropped;
    /* the receive journal (writer_set_journal): the position of what the open transaction
     * holds, committed with it; commits wait for a batch that ends at a datagram's end */
    struct journal *journal;
    struct journal_pos txn_pos;
    bool txn_pos_set, txn_whole;
    _Atomic bool draining; /* writer_drain */
    /* the WAL kept from being emptied by a reader: since when (monotonic ms, 0: it is not),
     * its largest size since, when to warn next, and whether a warning went out */
    int64_t wal_pinned_since, wal_peak, wal_warn_at;
    bool wal_warned;
    _Atomic int64_t beat_ms; /* mono_ms() of the loop's last turn: the writer is alive */
    pthread_mutex_t mail_lock;
    struct writer_task mail[MAILBOX_MAX];
    unsigned n_mail;
    uint64_t posted;          /* under mail_lock */
    _Atomic uint64_t applied; /* tasks run */
};

/* The default sink: the store's own partitions. */
static int sqlite_add(void *ctx, const struct flow *f, char *err, size_t errlen)
{
    return store_add_flow(ctx, f, err, errlen);
}

static int sqlite_expire(void *ctx, int64_t now, int64_t retention_ms, int64_t max_bytes, char *err,
                         size_t errlen)
{
    return store_expire(ctx, now, retention_ms, max_bytes, 1, err, errlen);
}

struct writer *writer_new(struct store *s, struct flow_queue *q, struct exporter_table *t,
                          int64_t commit_interval_ms)
{
    struct writer *w = xcalloc(1, sizeof(*w));
    w->sink = (struct flow_sink){.add = sqlite_add, .expire = sqlite_expire, .ctx = s};
    w->store = s;
    w->queue = q;
    w->exporters = t;
    writer_set_commit_interval(w, commit_interval_ms);
    struct log_limit lim = LOG_LIMIT_INIT(0.2, 5.0);
    w->err_log = lim;
    w->txn_whole = true;
    pthread_mutex_init(&w->mail_lock, NULL);
    w->beat_ms = mono_ms();
    return w;
}

void writer_set_journal(struct writer *w, struct journal *j)
{
    w->journal = j;
}

void writer_drain(struct writer *w)
{
    atomic_store(&w->draining, true);
}

void writer_free(struct writer *w)
{
    if (!w)
        return;
    pthread_mutex_destroy(&w->mail_lock);
    free(w->txn);
    free(w);
}

void writer_set_sink(struct writer *w, const struct flow_sink *sink)
{
    w->sink = *sink;
}

int writer_add_consumer(struct writer *w, const struct writer_consumer *c)
{
    if (w->n_consumers == WRITER_MAX_CONSUMERS)
        return -1;
    w->consumers[w->n_consumers++] = *c;
    return 0;
}

struct store *writer_store(struct writer *w)
{
    return w->store;
}

void writer_get_stats(const struct writer *w, struct writer_stats *st)
{
    st->rows_stored = atomic_load(&w->rows_stored);
    st->rows_failed = atomic_load(&w->rows_failed);
    st->commits = atomic_load(&w->commits);
    st->partitions_dropped = atomic_load(&w->partitions_dropped);
    st->failing = atomic_load(&w->failing);
    st->beat_ms = atomic_load(&w->beat_ms);
    st->retention_ms = atomic_load(&w->retention_ms);
    st->max_bytes = atomic_load(&w->max_bytes);
    st->commit_interval_ms = atomic_load(&w->commit_interval_ms);
}

void writer_set_retention(struct writer *w, int64_t retention_ms, int64_t max_bytes)
{
    w->retention_ms = retention_ms > 0 ? retention_ms : 0;
    w->max_bytes = max_bytes > 0 ? max_bytes : 0;
}

void writer_set_commit_interval(struct writer *w, int64_t ms)
{
    w->commit_interval_ms = ms > 0 ? ms : 1000;
}

/* ---- the mailbox: changes made in the writer's thread, between transactions ---- */

uint64_t writer_post(struct writer *w, void (*run)(void *ctx), void *ctx)
{
    pthread_mutex_lock(&w->mail_lock);
    uint64_t ticket = 0;
    if (w->n_mail < MAILBOX_MAX) {
        w->mail[w->n_mail++] = (struct writer_task){run, ctx};
        ticket = ++w->posted;
    }
    pthread_mutex_unlock(&w->mail_lock);
    return ticket;
}

uint64_t writer_applied(const struct writer *w)
{
    return atomic_load(&w->applied);
}

/* The tasks posted so far, in order, outside the lock (a task may take its time). */
static void run_mail(struct writer *w)
{
    struct writer_task todo[MAILBOX_MAX];
    pthread_mutex_lock(&w->mail_lock);
    unsigned n = w->n_mail;
    memcpy(todo, w->mail, n * sizeof(todo[0]));
    w->n_mail = 0;
    pthread_mutex_unlock(&w->mail_lock);
    for (unsigned i = 0; i < n; i++) {
        todo[i].run(todo[i].ctx);
        atomic_fetch_add(&w->applied, 1);
    }
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

void writer_count_dropped(struct exporter_table *t, const struct fh_addr *a, uint32_t domain,
                          uint8_t version, uint64_t n)
{
    exporters_lock(t);
    struct exporter *e = exporters_get(t, a, now_ms());
    struct exporter_domain *d = e ? exporter_domain_get(t, e, domain, version) : NULL;
    if (d) {
        d->dropped_store += n;
        d->dirty = true;
    }
    exporters_unlock(t);
}

/* Records we dropped because the store failed: counted per exporter domain. */
static void count_store_drops(struct writer *w, const struct fh_addr *a, uint32_t domain,
                              uint8_t version, uint64_t n)
{
    writer_count_dropped(w->exporters, a, domain, version, n);
    atomic_fetch_add(&w->rows_failed, n);
}

/* Consumers learn the fate of the transaction they wrote in. */
static void notify_committed(struct writer *w)
{
    if (w->sink.committed)
        w->sink.committed(w->sink.ctx);
    for (unsigned i = 0; i < w->n_consumers; i++)
        if (w->consumers[i].committed)
            w->consumers[i].committed(w->consumers[i].ctx);
}

static void notify_rolled_back(struct writer *w)
{
    if (w->sink.rolled_back)
        w->sink.rolled_back(w->sink.ctx);
    for (unsigned i = 0; i < w->n_consumers; i++)
        if (w->consumers[i].rolled_back)
            w->consumers[i].rolled_back(w->consumers[i].ctx);
}

static uint64_t txn_rows(const struct writer *w)
{
    uint64_t rows = 0;
    for (unsigned i = 0; i < w->n_txn; i++)
        rows += w->txn[i].rows;
    return rows;
}

/* A write failed (SQLITE_FULL when the disk is full): the open transaction is rolled back,
 * its rows counted as lost per exporter, and the consumers told; the next RETRY_MS of batches
 * are dropped and counted without trying, so a full disk costs no CPU and floods no log; then
 * writing is tried again. Receiving goes on. */
static void fail_txn(struct writer *w, const char *what, const char *err)
{
    uint64_t lost = txn_rows(w);
    bool full = store_last_error(w->store) == SQLITE_FULL;
    if (!w->failing || full)
        log_ratelimited(&w->err_log, LOG_LVL_ERR,
                        "store %s failed%s, %llu flows lost: %s; dropping (and counting) "
                        "flows until it works again",
                        what, full ? " (disk full?)" : "", (unsigned long long)lost, err);
    store_rollback(w->store);
    for (unsigned i = 0; i < w->n_txn; i++)
        count_store_drops(w, &w->txn[i].addr, w->txn[i].domain, w->txn[i].version, w->txn[i].rows);
    w->n_txn = 0;
    exporters_mark_dirty(w->exporters); /* their saved counters went with the transaction */
    w->failing_dropped += lost;
    w->failing = true;
    w->retry_at = mono_ms() + RETRY_MS;
    notify_rolled_back(w);
}

/* Opens the transaction that batches and consumers write in, unless the store is failing. */
static bool open_txn(struct writer *w)
{
    char err[512];
    if (store_in_transaction(w->store))
        return true;
    if (w->failing && mono_ms() < w->retry_at)
        return false;
    if (store_begin(w->store, err, sizeof(err))) {
        fail_txn(w, "begin", err);
        return false;
    }
    w->txn_started = mono_ms();
    return true;
}

/* Commits with the exporter counters, then tells the consumers. */
static void commit(struct writer *w)
{
    char err[512];
    if (!store_in_transaction(w->store))
        return;
    if (store_save_exporters(w->store, w->exporters, err, sizeof(err)) ||
        (w->txn_pos_set && store_save_journal_pos(w->store, w->txn_pos, err, sizeof(err))) ||
        (w->sink.save && w->sink.save(w->sink.ctx, w->store, err, sizeof(err))) ||
        store_commit(w->store, err, sizeof(err))) {
        fail_txn(w, "commit", err);
        return;
    }
    if (w->txn_pos_set && w->journal && !w->sink.reached)
        journal_taken(w->journal, w->txn_pos);
    w->txn_pos_set = false;
    atomic_fetch_add(&w->rows_stored, txn_rows(w));
    atomic_fetch_add(&w->commits, 1);
    w->n_txn = 0;
    if (w->failing) {
        log_info("store writable again; %llu flows were dropped while it failed",
                 (unsigned long long)w->failing_dropped);
        w->failing = false;
        w->failing_dropped = 0;
    }
    notify_committed(w);
}

static void drop_batch(struct writer *w, const struct flow_batch *b, size_t from)
{
    for (size_t i = from; i < b->n; i++)
        count_store_drops(w, &b->flows[i].exporter, b->flows[i].domain, b->flows[i].version, 1);
    w->failing_dropped += b->n - from;
}

/* The journal position a batch brings the store to (kept for the commit). */
static void note_position(struct writer *w, const struct flow_batch *b)
{
    if (!b->src_seg)
        return; /* not from the journal (tests, tools) */
    w->txn_whole = b->src_whole;
    if (b->store_only)
        return; /* the state had these datagrams: its position stays */
    w->txn_pos = (struct journal_pos){b->src_seg, b->src_off};
    w->txn_pos_set = true;
}

static void store_batch(struct writer *w, const struct flow_batch *b)
{
    char err[512];
    note_position(w, b);
    if (!open_txn(w)) {
        drop_batch(w, b, 0);
        return;
    }
    for (size_t i = 0; i < b->n; i++) {
        const struct flow *f = &b->flows[i];
        if (w->sink.add(w->sink.ctx, f, err, sizeof(err)) != 0) {
            /* One failed insert may have rolled the transaction back (SQLITE_FULL does):
             * abandon it whole rather than guess what survived. */
            fail_txn(w, "insert", err);
            drop_batch(w, b, i);
            return;
        }
        txn_slot(w, f)->rows++;
    }
    if (w->sink.reached)
        w->sink.reached(w->sink.ctx, b);
}

/* Retention, between transactions, once a second: at most one partition per call, so a drop
 * costs one short pause (the queue absorbs it), never a long one. */
static void expire(struct writer *w)
{
    char err[512];
    if ((!w->retention_ms && !w->max_bytes) || store_in_transaction(w->store))
        return;
    int n = w->sink.expire(w->sink.ctx, now_ms(), w->retention_ms, w->max_bytes, err, sizeof(err));
    if (n < 0)
        log_ratelimited(&w->err_log, LOG_LVL_ERR, "retention: %s", err);
    else if (n > 0)
        atomic_fetch_add(&w->partitions_dropped, (uint64_t)n);
}

/* A reader has kept the WAL over its limit: say so after WAL_WARN_AFTER_MS, and again every
 * WAL_WARN_EVERY_MS while it goes on. */
static void wal_pinned(struct writer *w, int64_t wal_bytes)
{
    int64_t now = mono_ms();
    if (!w->wal_pinned_since) {
        w->wal_pinned_since = now;
        w->wal_warn_at = now + WAL_WARN_AFTER_MS;
    }
    if (wal_bytes > w->wal_peak)
        w->wal_peak = wal_bytes;
    if (now < w->wal_warn_at)
        return;
    log_warn("store: %s-wal has grown to %lld MiB: a reader holding an old snapshot of the "
             "store (a sqlite3 shell inside a transaction, a backup, a query whose output is not "
             "read?) has kept it from being emptied for %lld s. It is emptied once that reader "
             "ends; until then max-size counts it",
             store_path(w->store), (long long)(wal_bytes >> 20),
             (long long)((now - w->wal_pinned_since) / 1000));
    w->wal_warn_at = now + WAL_WARN_EVERY_MS;
    w->wal_warned = true;
}

/* The WAL policy (storage/wal.c), between transactions, once a second: a WAL grown past its
 * limit is emptied as soon as readers allow, never waiting for them. Not while the store
 * fails: a checkpoint writes to it too, and would fail for the same reason (a full disk). */
static void checkpoint(struct writer *w)
{
    char err[512];
    int64_t wal;
    if (w->failing)
        return;
    enum store_wal_state st = store_checkpoint(w->store, &wal, err, sizeof(err));
    if (st == STORE_WAL_PINNED) {
        wal_pinned(w, wal);
        return;
    }
    if (st == STORE_WAL_ERROR) {
        log_ratelimited(&w->err_log, LOG_LVL_ERR, "store: %s", err);
        return;
    }
    if (w->wal_warned)
        log_info("store: the WAL is checkpointed and emptied again (it had reached %lld MiB)",
                 (long long)(w->wal_peak >> 20));
    w->wal_pinned_since = w->wal_peak = 0;
    w->wal_warned = false;
}

/* Once a second, in a transaction (also without traffic): consumers' timers, and the
 * exporter counters that change without flows (rejects, drops), saved by the commit. */
static void tick(struct writer *w, bool final)
{
    open_txn(w);
    int64_t now = now_ms();
    for (unsigned i = 0; i < w->n_consumers; i++)
        if (w->consumers[i].tick)
            w->consumers[i].tick(w->consumers[i].ctx, now, final);
}

static void consume(struct writer *w, const struct flow_batch *b)
{
    if (b->store_only)
        return;
    for (unsigned i = 0; i < w->n_consumers; i++)
        if (w->consumers[i].consume)
            w->consumers[i].consume(w->consumers[i].ctx, b->flows, b->n);
}

/* Lists every exporter counter in the log: what is left when they cannot reach the store. */
static void log_exporter(struct exporter *e, void *arg)
{
    (void)arg;
    char addr[FH_ADDR_STRLEN];
    uint64_t rejected = 0;
    addr_to_str(&e->addr, addr, sizeof(addr));
    for (int r = 1; r < REJ__COUNT; r++)
        rejected += e->rejects[r];
    log_err("  exporter %s: packets %llu, rejected %llu, kernel_drops %llu", addr,
            (unsigned long long)e->packets, (unsigned long long)rejected,
            (unsigned long long)e->kernel_drops);
    for (unsigned i = 0; i < e->n_domains; i++) {
        const struct exporter_domain *d = &e->domains[i];
        log_err("  exporter %s domain %u v%u: flows %llu, seq_lost %llu, dropped_queue %llu, "
                "dropped_store %llu, records_rejected %llu",
                addr, d->domain, d->version, (unsigned long long)d->flows,
                (unsigned long long)d->seq.lost, (unsigned long long)d->dropped_queue,
                (unsigned long long)d->dropped_store, (unsigned long long)d->records_rejected);
    }
}

/* The store failed at the end (a full disk): the last transaction's flows are counted as lost,
 * and those counts must not go with them. The reserve goes back to the disk to make room for
 * a transaction of the counters alone; if even that fails, the log gets them. */
static void save_final_counters(struct writer *w)
{
    char err[512];
    bool freed = store_reserve_release(w->store);
    if (store_begin(w->store, err, sizeof(err)) == 0 &&
        store_save_exporters(w->store, w->exporters, err, sizeof(err)) == 0 &&
        store_commit(w->store, err, sizeof(err)) == 0) {
        log_warn("store failing at shutdown: the exporter counters were saved alone%s",
                 freed ? ", in the room of its reserve (made again at the next start)" : "");
        return;
    }
    store_rollback(w->store);
    log_err("store failing at shutdown: the exporter counters cannot be saved (%s); they are:",
            err);
    exporters_lock(w->exporters);
    exporters_foreach(w->exporters, log_exporter, NULL);
    exporters_unlock(w->exporters);
}

/* At shutdown: the consumers' last tick and the counters in one last transaction, tried even
 * while the store is failing, and if it fails, the counters alone. */
static void finish(struct writer *w)
{
    w->retry_at = 0;
    tick(w, true);
    commit(w);
    if (w->sink.finish) {
        /* what the sink could not deliver is counted per exporter: saved by one more commit */
        w->sink.finish(w->sink.ctx);
        open_txn(w);
        commit(w);
    }
    if (w->failing)
        save_final_counters(w);
}

/* Room on the disk for finish() when it is full (storage/reserve.c). */
static void reserve(struct writer *w)
{
    char err[512];
    if (store_reserve_make(w->store, err, sizeof(err)))
        log_warn("%s: if the disk fills, the final loss counters may not reach the store", err);
}

/* Back-pressure from the sink (flow_sink.room), waiting up to POP_TIMEOUT_MS, as a pop does;
 * none inside a datagram (the transaction can commit only at its end: the rest of it comes
 * first), nor once the stop has begun (writer_drain, or the queue closed). */
static bool sink_has_room(struct writer *w)
{
    return !w->sink.room || !w->txn_whole || atomic_load(&w->draining) || flowq_closed(w->queue) ||
           w->sink.room(w->sink.ctx, POP_TIMEOUT_MS);
}

void writer_run(struct writer *w)
{
    reserve(w);
    int64_t last_tick = mono_ms();
    for (;;) {
        struct flow_batch *b = sink_has_room(w) ? flowq_pop(w->queue, POP_TIMEOUT_MS) : NULL;
        if (b) {
            store_batch(w, b);
            consume(w, b);
            flowq_release(w->queue, b);
        }
        int64_t now = mono_ms();
        atomic_store_explicit(&w->beat_ms, now, memory_order_relaxed);
        if (now - last_tick >= TICK_MS && w->txn_whole) {
            commit(w); /* retention, checkpoints and the mailbox act between transactions */
            expire(w);
            checkpoint(w);
            run_mail(w);
            tick(w, false);
            last_tick = now;
        }
        /* never between two batches of one datagram: see collector/decoder.h */
        if (store_in_transaction(w->store) && w->txn_whole &&
            (!b || now - w->txn_started >= w->commit_interval_ms))
            commit(w);
        if (!b && flowq_closed_and_empty(w->queue))
            break;
    }
    finish(w);
    run_mail(w); /* posted at the end: run (and freed) while the consumers still exist */
}

static void *writer_main(void *arg)
{
    thread_nice("writer", WRITER_NICE);
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
