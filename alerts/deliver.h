/* deliver.h - alert delivery to syslog destinations, in its own thread.
 *
 * The spool is the store: every committed `alert_events` row is delivered to every
 * destination, and `alert_deliveries` records the outcome per event and destination (sent,
 * failed, suppressed, filtered; no row or "pending" = still to do). So a receiver outage or a
 * restart of flowhoundd loses nothing: what was not confirmed is sent when the receiver is
 * back. A destination delivers the events committed after it was first configured (recorded
 * in `alert_destinations`, which also holds its counters for the web UI).
 *
 * The thread has its own read-write SQLite connection (short transactions, busy timeout) and
 * never touches the collector's. It scans the spool every poll interval, and at once when the
 * analyzer's sink (deliver_sink) reports a new event. Per destination it holds at most
 * queue_max events in memory; TCP/TLS reconnect with exponential backoff (1 s .. 60 s).
 *
 * Dedup and rate limit, decided on the events' own times so every destination and every
 * restart decides alike: an "updated" event of an alert within dedup_ms of the last one passed
 * is suppressed; at most rate_per_min events per client address a minute (token bucket,
 * burst = rate). The number suppressed is reported in the next message sent. */
#ifndef FLOWHOUND_DELIVER_H
#define FLOWHOUND_DELIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alerts/alert.h"
#include "alerts/syslog_transport.h"

struct deliver_options {
    const char *db_path;
    char *const *dests; /* destination specs (syslog_dest_parse) */
    size_t n_dests;
    int facility;         /* 0..23; default (-1) daemon */
    int min_severity;     /* events less severe than this are not sent; -1 = all */
    const char *hostname; /* HOSTNAME; NULL = gethostname() */
    unsigned pen;         /* SD-ID flowhound@PEN; 0 = SYSLOG_DEFAULT_PEN */
    struct syslog_tls_opts tls;
    int64_t rate_per_min; /* per client address; 0 = no limit */
    int64_t dedup_ms;     /* 0 = no dedup */
    size_t queue_max;     /* events in memory per destination; 0 = 1024 */
    int64_t poll_ms;      /* spool scan interval; 0 = 1000 */
    int io_timeout_ms;    /* connect, send, acknowledgement; 0 = 5000 */
};

/* Counters of one destination (also in the alert_destinations table). */
struct deliver_stats {
    char destination[300];
    uint64_t sent, failed, suppressed, filtered, errors;
    size_t queued;
    bool connected;
    char last_error[256];
};

struct deliver;

/* Opens the store, registers the destinations and starts the thread. */
struct deliver *deliver_start(const struct deliver_options *o, char *err, size_t errlen);
/* Stops the thread (what is not delivered stays in the spool) and frees everything. */
void deliver_stop(struct deliver *d);
/* The sink to register with the analyzer: wakes the thread, never blocks on I/O. */
struct alert_sink deliver_sink(struct deliver *d);
/* Wakes the thread to scan the spool now. */
void deliver_kick(struct deliver *d);
size_t deliver_count(const struct deliver *d);
void deliver_get_stats(struct deliver *d, size_t i, struct deliver_stats *out);

/* Checks destination syntax and TLS files without side effects (for --check-config). */
int deliver_validate(const struct deliver_options *o, char *err, size_t errlen);

#endif
