/* alert.c - names of alert enums (the values stored in the alerts tables). */
#include "config.h"

#include <stdlib.h>

#include "alerts/alert.h"

const char *alert_kind_name(enum alert_kind k)
{
    return k == ALERT_PORT_EXHAUSTION ? "port_exhaustion" : "stale_state";
}

const char *alert_state_name(enum alert_state s)
{
    return s == ALERT_RESOLVED ? "resolved" : "open";
}

const char *alert_event_name(enum alert_event e)
{
    switch (e) {
    case ALERT_EV_UPDATED:
        return "updated";
    case ALERT_EV_RESOLVED:
        return "resolved";
    default:
        return "opened";
    }
}

const char *alert_holder_name(enum alert_holder h)
{
    switch (h) {
    case HOLDER_MIDDLEBOX:
        return "middlebox";
    case HOLDER_SERVER:
        return "server";
    default:
        return "unknown";
    }
}

void alert_free_fields(struct alert *a)
{
    free(a->summary);
    free(a->evidence_json);
    a->summary = a->evidence_json = NULL;
}
