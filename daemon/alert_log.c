/* alert_log.c - alert events as log lines, in the words of the local syslog delivery
 * (syslog_format_line: id, kind, client:port -> server:port, holder, attempts, summary,
 * control characters escaped). */
#include "config.h"

#include <stdlib.h>

#include "alerts/syslog_format.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "daemon/alert_log.h"

static enum log_level level_of(enum alert_event ev)
{
    switch (ev) {
    case ALERT_EV_OPENED:
        return LOG_LVL_WARN;
    case ALERT_EV_RESOLVED:
        return LOG_LVL_NOTICE;
    default:
        return LOG_LVL_DEBUG;
    }
}

static void on_event(void *ctx, enum alert_event ev, const struct alert *a, int64_t event_id)
{
    (void)ctx;
    struct syslog_event e = {a, ev, event_id, now_ms(), 0, false};
    char *line = syslog_format_line(&e);
    log_msg(level_of(ev), "%s", line);
    free(line);
}

struct alert_sink alert_log_sink(void)
{
    return (struct alert_sink){on_event, NULL};
}
