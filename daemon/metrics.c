/* metrics.c - GET /metrics: flowhoundd's counters in the Prometheus text exposition format
 * (0.0.4), for `flowhound status` and any Prometheus. Names follow Prometheus' conventions
 * (promtool check metrics passes): counters end in _total, units in the name (_seconds,
 * _bytes), one family's samples together. Every loss counter is here, per exporter and
 * reason: what is received is either stored or counted (doc/api.md lists the series).
 *
 * Each source is read race-free: the receiver's, listeners' and writer's counters are atomic,
 * the exporter table is copied under its lock (then formatted outside it, so the receiver
 * waits for a copy, not for printf), the analyzer publishes its statistics under its own,
 * delivery is read under the hooks' lock, the listener array under the runtime's. */
#include "config.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "collector/reject.h"
#include "common/addr.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "daemon/runtime.h"

/* Loss reasons of one exporter's records (flowhound_exporter_records_lost_total). */
enum { LOST_SEQUENCE, LOST_QUEUE, LOST_STORE, LOST_UNDECODABLE, LOST__COUNT };
static const char *const lost_names[LOST__COUNT] = {"sequence_gap", "queue", "store",
                                                    "undecodable"};

struct exporter_snap {
    char addr[FH_ADDR_STRLEN];
    uint64_t packets, bytes, records, kernel_drops;
    uint64_t rejects[REJ__COUNT];
    uint64_t lost[LOST__COUNT];
    int64_t last_seen_ms;
};

struct snaps {
    struct exporter_snap *v;
    size_t n, cap;
};

/* ---- the text format ---- */

static void family(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value: backslash, double quote and newline escaped, as the format requires. */
static void label_value(FILE *f, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            fputc('\\', f);
        if (*v == '\n')
            fputs("\\n", f);
        else
            fputc(*v, f);
    }
}

/* name{key="value"} or name{key="value",key2="value2"} (key2 NULL: one label). */
static void labels(FILE *f, const char *name, const char *key, const char *v, const char *key2,
                   const char *v2)
{
    fprintf(f, "%s{%s=\"", name, key);
    label_value(f, v);
    if (key2) {
        fprintf(f, "\",%s=\"", key2);
        label_value(f, v2);
    }
    fputs("\"} ", f);
}

static void counter(FILE *f, const char *name, const char *help, uint64_t v)
{
    family(f, name, "counter", help);
    fprintf(f, "%s %llu\n", name, (unsigned long long)v);
}

/* Whole numbers as such (most gauges are counts or bytes), fractions to the millisecond. */
static void number(FILE *f, double v)
{
    if (v == (double)(int64_t)v)
        fprintf(f, "%lld\n", (long long)v);
    else
        fprintf(f, "%.3f\n", v);
}

static void gauge(FILE *f, const char *name, const char *help, double v)
{
    family(f, name, "gauge", help);
    fprintf(f, "%s ", name);
    number(f, v);
}

static double seconds(int64_t ms)
{
    return (double)ms / 1000.0;
}

/* ---- sources ---- */

static void snap_exporter(struct exporter *e, void *arg)
{
    struct snaps *s = arg;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->v = xreallocarray(s->v, s->cap, sizeof(*s->v));
    }
    struct exporter_snap *x = &s->v[s->n++];
    memset(x, 0, sizeof(*x));
    addr_to_str(&e->addr, x->addr, sizeof(x->addr));
    x->packets = e->packets;
    x->bytes = e->bytes;
    x->kernel_drops = e->kernel_drops;
    x->last_seen_ms = e->last_seen_ms;
    memcpy(x->rejects, e->rejects, sizeof(x->rejects));
    for (unsigned i = 0; i < e->n_domains; i++) {
        const struct exporter_domain *d = &e->domains[i];
        x->records += d->flows;
        x->lost[LOST_SEQUENCE] += d->seq.lost;
        x->lost[LOST_QUEUE] += d->dropped_queue;
        x->lost[LOST_STORE] += d->dropped_store;
        x->lost[LOST_UNDECODABLE] += d->records_rejected;
    }
}

static int by_addr(const void *a, const void *b)
{
    return strcmp(((const struct exporter_snap *)a)->addr, ((const struct exporter_snap *)b)->addr);
}

static void exporter_counter(FILE *f, const struct snaps *s, const char *name, const char *help,
                             size_t offset)
{
    family(f, name, "counter", help);
    for (size_t i = 0; i < s->n; i++) {
        labels(f, name, "exporter", s->v[i].addr, NULL, NULL);
        fprintf(f, "%llu\n",
                (unsigned long long)*(const uint64_t *)((const char *)&s->v[i] + offset));
    }
}

static void exporters(FILE *f, struct runtime *rt)
{
    struct snaps s = {0};
    exporters_lock(&rt->exporters);
    exporters_foreach(&rt->exporters, snap_exporter, &s);
    uint64_t not_allowed = rt->exporters.not_allowed_packets;
    uint64_t untracked = rt->exporters.overflow_packets;
    exporters_unlock(&rt->exporters);
    if (s.n)
        qsort(s.v, s.n, sizeof(*s.v), by_addr);
    counter(f, "flowhound_datagrams_not_allowed_total",
            "Datagrams from sources not in allow-exporter (no exporter entry).", not_allowed);
    counter(f, "flowhound_datagrams_untracked_total",
            "Datagrams from exporters beyond max-exporters (not decoded).", untracked);
    exporter_counter(f, &s, "flowhound_exporter_packets_total", "Datagrams from the exporter.",
                     offsetof(struct exporter_snap, packets));
    exporter_counter(f, &s, "flowhound_exporter_bytes_total",
                     "UDP payload bytes from the exporter.", offsetof(struct exporter_snap, bytes));
    exporter_counter(f, &s, "flowhound_exporter_records_total",
                     "Flow records decoded from the exporter and queued for the store.",
                     offsetof(struct exporter_snap, records));
    exporter_counter(f, &s, "flowhound_exporter_kernel_drops_total",
                     "Datagrams the kernel dropped at our socket while the exporter sent "
                     "(attributed to the exporter whose datagram reported them).",
                     offsetof(struct exporter_snap, kernel_drops));
    family(f, "flowhound_exporter_rejected_packets_total", "counter",
           "Datagrams from the exporter rejected, by reason.");
    for (size_t i = 0; i < s.n; i++)
        for (int r = REJ_NONE + 1; r < REJ__COUNT; r++) {
            labels(f, "flowhound_exporter_rejected_packets_total", "exporter", s.v[i].addr,
                   "reason", reject_reason_name((enum reject_reason)r));
            fprintf(f, "%llu\n", (unsigned long long)s.v[i].rejects[r]);
        }
    family(f, "flowhound_exporter_records_lost_total", "counter",
           "Records of the exporter lost, by reason: sequence_gap (missing by the exporter's "
           "sequence numbers; v9 counts packets), queue, store, undecodable.");
    for (size_t i = 0; i < s.n; i++)
        for (int r = 0; r < LOST__COUNT; r++) {
            labels(f, "flowhound_exporter_records_lost_total", "exporter", s.v[i].addr, "reason",
                   lost_names[r]);
            fprintf(f, "%llu\n", (unsigned long long)s.v[i].lost[r]);
        }
    family(f, "flowhound_exporter_last_seen_timestamp_seconds", "gauge",
           "When the exporter's last datagram arrived (Unix time).");
    for (size_t i = 0; i < s.n; i++) {
        labels(f, "flowhound_exporter_last_seen_timestamp_seconds", "exporter", s.v[i].addr, NULL,
               NULL);
        number(f, seconds(s.v[i].last_seen_ms));
    }
    free(s.v);
}

static void listeners(FILE *f, struct runtime *rt)
{
    static const char *const names[] = {"flowhound_listener_datagrams_total",
                                        "flowhound_listener_kernel_drops_total"};
    static const char *const helps[] = {
        "Datagrams read from the socket (listener: its bound address).",
        "Datagrams the kernel dropped at the socket, its receive buffer full (exact)."};
    pthread_mutex_lock(&rt->lock);
    for (int m = 0; m < 2; m++) {
        family(f, names[m], "counter", helps[m]);
        for (unsigned i = 0; i < rt->n_ls; i++) {
            struct listener *l = &rt->ls[i];
            char addr[80];
            /* as bound: unique, where "listen" may say port 0 twice */
            labels(f, names[m], "listener", listener_address(l, addr, sizeof(addr)), NULL, NULL);
            fprintf(f, "%llu\n",
                    (unsigned long long)(m == 0 ? atomic_load(&l->datagrams)
                                                : atomic_load(&l->kernel_drops)));
        }
    }
    pthread_mutex_unlock(&rt->lock);
}

static void receiver(FILE *f, struct runtime *rt)
{
    struct receiver *r = &rt->recv;
    struct decoder *d = &rt->decoder;
    counter(f, "flowhound_datagrams_received_total", "Datagrams read from every socket.",
            atomic_load(&r->datagrams));
    counter(f, "flowhound_datagrams_decoded_total", "Datagrams read back from the journal.",
            atomic_load(&d->datagrams));
    counter(f, "flowhound_datagrams_replayed_total",
            "Of them, decoded again at start for a store that lacked their flows (ClickHouse).",
            atomic_load(&d->replayed));
    counter(f, "flowhound_datagrams_skipped_total",
            "Datagrams skipped at start: the store had their flows (ClickHouse).",
            atomic_load(&d->skipped));
    counter(f, "flowhound_datagrams_rejected_total",
            "Datagrams rejected (every exporter and reason; per exporter below).",
            atomic_load(&d->rejected));
    counter(f, "flowhound_records_queued_total", "Flow records decoded and queued for the store.",
            atomic_load(&d->flows_queued));
    counter(f, "flowhound_queue_full_waits_total",
            "Times the decoder found the queue without room (the datagrams wait in the journal).",
            atomic_load(&d->waits));
    gauge(f, "flowhound_queue_batches", "Batches of flow records waiting for the writer.",
          (double)flowq_depth(&rt->queue));
    gauge(f, "flowhound_queue_capacity_batches", "Batches the queue holds at most (512 records).",
          (double)rt->queue.n_batches);
}

/* The receive journal (collector/journal.h): what waits in it is the store's lag. */
static void journal(FILE *f, struct runtime *rt)
{
    struct journal_stats st;
    journal_get_stats(rt->journal, &st);
    gauge(f, "flowhound_journal_bytes", "Bytes of the receive journal's segments on disk.",
          (double)st.bytes);
    gauge(f, "flowhound_journal_segments", "Segment files of the receive journal.",
          (double)st.segments);
    gauge(f, "flowhound_journal_limit_bytes", "journal-size: the most disk it takes.",
          (double)rt->journal_limit);
    gauge(f, "flowhound_journal_backlog_bytes",
          "Bytes received and not yet decoded: what the store has to catch up.",
          (double)st.backlog_bytes);
    counter(f, "flowhound_journal_appended_total", "Datagrams written to the journal.",
            st.appended);
    counter(f, "flowhound_journal_lost_total",
            "Datagrams lost before they were decoded: over journal-size or the free-disk bound, "
            "or not written (disk error).",
            st.lost);
    counter(f, "flowhound_journal_torn_total",
            "Journal records skipped, cut short or failing their CRC (a crash's torn tail).",
            st.torn);
    counter(f, "flowhound_journal_syncs_total", "fdatasync calls on the journal.", st.syncs);
}

static int64_t file_size(const char *path, const char *suffix)
{
    char p[4096];
    struct stat st;
    snprintf(p, sizeof(p), "%s%s", path, suffix);
    return stat(p, &st) == 0 ? (int64_t)st.st_size : 0;
}

static void writer(FILE *f, struct runtime *rt)
{
    struct writer_stats ws;
    writer_get_stats(rt->writer, &ws);
    counter(f, "flowhound_rows_stored_total", "Flow records committed to the store.",
            ws.rows_stored);
    counter(f, "flowhound_rows_failed_total",
            "Flow records dropped because the store failed (disk full...).", ws.rows_failed);
    counter(f, "flowhound_commits_total", "Transactions committed.", ws.commits);
    counter(f, "flowhound_partitions_dropped_total", "Flows tables dropped by retention.",
            ws.partitions_dropped);
    gauge(f, "flowhound_store_failing", "1 while writes to the store fail.", ws.failing);
    gauge(f, "flowhound_store_size_bytes", "Size of the store's file.",
          (double)file_size(rt->db_path, ""));
    gauge(f, "flowhound_store_wal_size_bytes", "Size of the store's write-ahead log.",
          (double)file_size(rt->db_path, "-wal"));
    gauge(f, "flowhound_retention_seconds", "retention in force (0: keep).",
          seconds(ws.retention_ms));
    gauge(f, "flowhound_max_size_bytes", "max-size in force (0: no limit).", (double)ws.max_bytes);
    gauge(f, "flowhound_commit_interval_seconds", "commit-interval in force.",
          seconds(ws.commit_interval_ms));
}

/* The sender to ClickHouse (store = clickhouse://): what waits for it in memory (beyond, in the
 * receive journal: flowhound_journal_backlog_bytes), what it inserted. */
static void clickhouse(FILE *f, struct runtime *rt)
{
    struct ch_sink_stats st;
    if (!rt->ch)
        return;
    ch_sink_get_stats(rt->ch, &st);
    gauge(f, "flowhound_clickhouse_queue_rows", "Flow records committed, waiting for ClickHouse.",
          (double)st.rows_queued);
    gauge(f, "flowhound_clickhouse_queue_bytes", "Memory of the records waiting for ClickHouse.",
          (double)st.bytes_queued);
    gauge(f, "flowhound_clickhouse_queue_limit_bytes", "clickhouse-buffer: its most memory.",
          (double)st.buffer_bytes);
    counter(f, "flowhound_clickhouse_rows_inserted_total", "Flow records inserted into ClickHouse.",
            st.rows_inserted);
    gauge(f, "flowhound_clickhouse_full",
          "1 while the queue is full: the writer waits, the datagrams wait in the journal.",
          st.full);
    counter(f, "flowhound_clickhouse_inserts_total", "INSERTs sent to ClickHouse.", st.inserts);
    counter(f, "flowhound_clickhouse_insert_retries_total", "INSERTs that failed and are retried.",
            st.retries);
    counter(f, "flowhound_clickhouse_insert_checks_total",
            "Failed INSERTs whose outcome was asked of the server (no duplicates).", st.checks);
    counter(f, "flowhound_clickhouse_partitions_dropped_total",
            "Receive days dropped by retention in ClickHouse.", st.partitions_dropped);
    gauge(f, "flowhound_clickhouse_failing", "1 while ClickHouse takes no flows.",
          st.failing_since_ms != 0);
}

static void analyzer(FILE *f, struct runtime *rt)
{
    if (!rt->hooks.analyzer)
        return;
    struct analyzer_stats st;
    analyzer_get_stats(rt->hooks.analyzer, &st);
    counter(f, "flowhound_analyzer_records_total", "Flow records the analyzer saw.", st.records);
    counter(f, "flowhound_analyzer_tcp_records_total", "TCP records rebuilt into connections.",
            st.tcp_records);
    counter(f, "flowhound_analyzer_sampled_skipped_total",
            "TCP records of sampled flows, not analysed.", st.sampled_skipped);
    gauge(f, "flowhound_analyzer_connections", "Connections in the state table.",
          (double)st.conns_tracked);
    gauge(f, "flowhound_analyzer_connections_limit", "analyzer-max-conns.", (double)st.conn_cap);
    counter(f, "flowhound_analyzer_connections_evicted_total",
            "Connections evicted from the full state table.", st.conn_evictions);
    counter(f, "flowhound_analyzer_connections_expired_total", "Connections expired in flow time.",
            st.conn_expired);
    counter(f, "flowhound_analyzer_episodes_evicted_total",
            "Failure episodes evicted from the full episode table.", st.episodes_evicted);
    counter(f, "flowhound_analyzer_store_errors_total", "Alert writes that failed.",
            st.store_errors);
    family(f, "flowhound_alert_events_total", "counter", "Alert events raised, by event.");
    fprintf(f, "flowhound_alert_events_total{event=\"opened\"} %llu\n",
            (unsigned long long)st.alerts_opened);
    fprintf(f, "flowhound_alert_events_total{event=\"updated\"} %llu\n",
            (unsigned long long)st.alerts_updated);
    fprintf(f, "flowhound_alert_events_total{event=\"resolved\"} %llu\n",
            (unsigned long long)st.alerts_resolved);
    gauge(f, "flowhound_analyzer_stale_window_seconds", "stale-window in force.",
          seconds(st.stale_window_ms));
    gauge(f, "flowhound_analyzer_alert_quiet_seconds", "alert-quiet in force.",
          seconds(st.quiet_ms));
    gauge(f, "flowhound_analyzer_alert_hold_seconds", "alert-hold in force.", seconds(st.hold_ms));
}

static void delivery(FILE *f, struct runtime *rt)
{
    static const char *const results[] = {"sent", "failed", "suppressed", "filtered"};
    size_t n;
    struct deliver_stats *st = hooks_delivery_stats(&rt->hooks, &n);
    const char *name = "flowhound_alert_delivery_events_total";
    family(f, name, "counter", "Alert events per syslog destination, by outcome.");
    for (size_t i = 0; i < n; i++) {
        uint64_t v[] = {st[i].sent, st[i].failed, st[i].suppressed, st[i].filtered};
        for (int r = 0; r < 4; r++) {
            labels(f, name, "destination", st[i].destination, "result", results[r]);
            fprintf(f, "%llu\n", (unsigned long long)v[r]);
        }
    }
    const char *names[] = {"flowhound_alert_delivery_errors_total",
                           "flowhound_alert_delivery_queued_events",
                           "flowhound_alert_delivery_connected"};
    const char *helps[] = {"Connection and send errors per destination.",
                           "Alert events held in memory for the destination.",
                           "1 while the destination is connected (local: always)."};
    for (int m = 0; m < 3; m++) {
        family(f, names[m], m ? "gauge" : "counter", helps[m]);
        for (size_t i = 0; i < n; i++) {
            labels(f, names[m], "destination", st[i].destination, NULL, NULL);
            unsigned long long v = m == 0   ? st[i].errors
                                   : m == 1 ? st[i].queued
                                            : (unsigned long long)st[i].connected;
            fprintf(f, "%llu\n", v);
        }
    }
    free(st);
}

static void process(FILE *f, struct runtime *rt)
{
    char why[256];
    family(f, "flowhound_build_info", "gauge", "The version running.");
    fprintf(f, "flowhound_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
    gauge(f, "flowhound_start_time_seconds", "When flowhoundd started (Unix time).",
          seconds(rt->started_ms));
    gauge(f, "flowhound_healthy",
          "1 when the receiver and writer make progress and the store takes writes (/healthz).",
          runtime_healthy(rt, true, why, sizeof(why)));
    family(f, "flowhound_config_reloads_total", "counter", "Reloads (SIGHUP), by outcome.");
    fprintf(f, "flowhound_config_reloads_total{result=\"applied\"} %llu\n",
            (unsigned long long)atomic_load(&rt->reloads_applied));
    fprintf(f, "flowhound_config_reloads_total{result=\"refused\"} %llu\n",
            (unsigned long long)atomic_load(&rt->reloads_refused));
    gauge(f, "flowhound_config_last_reload_successful",
          "0 when the last reload was refused (the configuration before it is in force).",
          atomic_load(&rt->last_reload_ok));
}

char *runtime_metrics(struct runtime *rt, size_t *len)
{
    char *text = NULL;
    FILE *f = open_memstream(&text, len);
    if (!f)
        return NULL;
    process(f, rt);
    receiver(f, rt);
    journal(f, rt);
    listeners(f, rt);
    writer(f, rt);
    clickhouse(f, rt);
    exporters(f, rt);
    analyzer(f, rt);
    delivery(f, rt);
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}
