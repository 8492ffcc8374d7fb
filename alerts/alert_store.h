/* alert_store.h - the analyzer's SQL: connections rows, alerts (upserted by id) and one
 * alert_events row per event. Prepared statements only; the caller owns the transaction. */
#ifndef FLOWHOUND_ALERT_STORE_H
#define FLOWHOUND_ALERT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "alerts/alert.h"
#include "alerts/conn.h"

struct alert_store;

struct alert_store *alert_store_open(sqlite3 *db, char *err, size_t errlen);
void alert_store_close(struct alert_store *s);
int alert_store_conn(struct alert_store *s, const struct conn_info *ci, const char *exporter,
                     char *err, size_t errlen);
/* One above the largest alert id stored (the analyzer counts on from there). */
int64_t alert_store_new_id(struct alert_store *s);
/* Writes the alert's row (insert or update by a->id) and one event row; *event_id = its id. */
int alert_store_put(struct alert_store *s, const struct alert *a, enum alert_event ev,
                    int64_t created_ms, int64_t *event_id, char *err, size_t errlen);

#endif
