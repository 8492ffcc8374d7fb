/* alert.h - an alert, as the analyzer raises it and alert delivery sends it.
 *
 * The contract between the two halves of alerts/:
 *   - The analyzer stores each alert in the `alerts` table and, in the same transaction, one
 *     row per event (opened, updated, resolved) in `alert_events` (see storage/schema.sql).
 *     Committed events are the spool: delivery reads them from the store, so nothing is
 *     lost across a restart or while a receiver is down.
 *   - After the commit, the analyzer calls every registered alert_sink with the event, so
 *     delivery can act at once instead of polling.
 * The names returned by the *_name functions are the values stored in the tables. */
#ifndef FLOWHOUND_ALERT_H
#define FLOWHOUND_ALERT_H

#include <stdint.h>

#include "common/flow.h"

enum alert_kind { ALERT_STALE_STATE, ALERT_PORT_EXHAUSTION };
enum alert_state { ALERT_OPEN, ALERT_RESOLVED };
enum alert_event { ALERT_EV_OPENED, ALERT_EV_UPDATED, ALERT_EV_RESOLVED };
/* Who holds the stale state: a middlebox between two vantage points, the server, or unknown. */
enum alert_holder { HOLDER_UNKNOWN, HOLDER_MIDDLEBOX, HOLDER_SERVER };

struct alert {
    int64_t id; /* alerts.id */
    enum alert_kind kind;
    enum alert_state state;
    struct fh_addr client_addr;
    int32_t client_port; /* -1 for port_exhaustion (the evidence lists the ports) */
    struct fh_addr server_addr;
    uint16_t server_port;
    enum alert_holder holder;
    uint32_t attempts;
    int64_t opened_ms, updated_ms, resolved_ms; /* resolved_ms 0 while open */
    char *summary;       /* one plain-language sentence (owned) */
    char *evidence_json; /* the structured evidence, a JSON object (owned) */
};

struct alert_sink {
    /* event_id is alert_events.id; called in the analyzer's thread: do not block. */
    void (*on_event)(void *ctx, enum alert_event ev, const struct alert *a, int64_t event_id);
    void *ctx;
};

const char *alert_kind_name(enum alert_kind k);       /* stale_state, port_exhaustion */
const char *alert_state_name(enum alert_state s);     /* open, resolved */
const char *alert_event_name(enum alert_event e);     /* opened, updated, resolved */
const char *alert_holder_name(enum alert_holder h);   /* unknown, middlebox, server */
void alert_free_fields(struct alert *a);

#endif
