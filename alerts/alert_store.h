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

/* ---- resuming after a restart (analyzer_resume.c) ---- */

/* The open alerts of an earlier run, without summary or evidence. Caller frees the array. */
int alert_store_open_alerts(sqlite3 *db, struct alert **out, size_t *n, char *err, size_t errlen);

/* A client port whose stored flows rebuild an open alert: its own port, the ports of its
 * evidence's client_next (what the client did next), a port_exhaustion alert's ports; the
 * flows to read start at from_ms (flow time). */
struct alert_port {
    struct fh_addr client, server;
    uint16_t cport, sport;
    int64_t from_ms;
};
/* One row per (client, port, server, server port) of the open alerts, with the earliest
 * opened_ms among the alerts naming it. Caller frees the array. */
int alert_store_open_ports(sqlite3 *db, struct alert_port **out, size_t *n, char *err,
                           size_t errlen);

#endif
