/* deliver_spool.h - the delivery thread's view of the store: alert events still to deliver
 * per destination, their outcomes, and the destinations' counters. Its own read-write SQLite
 * connection (store_connect STORE_RW_EXISTING: the store must exist, of this schema version);
 * every write is one short transaction. Internal to alerts/. */
#ifndef FLOWHOUND_DELIVER_SPOOL_H
#define FLOWHOUND_DELIVER_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "alerts/alert.h"
#include "alerts/deliver.h"

struct spool_item {
    int64_t event_id, created_ms;
    enum alert_event ev;
    struct alert a; /* the alert row as it is now (owned strings) */
};

struct spool;

struct spool *spool_open(const char *path, char *err, size_t errlen);
void spool_close(struct spool *s);
/* Registers a destination (first time: from the newest event on) and loads its counters and
 * the id up to which everything is done. */
int spool_register(struct spool *s, const char *dest, int64_t *done_through,
                   struct deliver_stats *st, char *err, size_t errlen);
/* Up to max events with id > after that have no final state for dest, oldest first. Returns
 * how many, or -1. */
int spool_load(struct spool *s, const char *dest, int64_t after, struct spool_item *out, size_t max,
               char *err, size_t errlen);
void spool_item_free(struct spool_item *it);

int spool_begin(struct spool *s, char *err, size_t errlen);
int spool_commit(struct spool *s, char *err, size_t errlen);
void spool_rollback(struct spool *s);
/* Records an outcome (state: sent, failed, suppressed, filtered, pending). */
int spool_mark(struct spool *s, int64_t event_id, const char *dest, const char *state,
               const char *error, int64_t now, char *err, size_t errlen);
int spool_save_stats(struct spool *s, const struct deliver_stats *st, int64_t done_through,
                     int64_t last_sent_ms, int64_t last_error_ms, int64_t now, char *err,
                     size_t errlen);

#endif
