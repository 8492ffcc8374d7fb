/* alert_log.h - alerts in flowhoundd's own log: one line when an alert opens (warning) and
 * one when it resolves (notice), so that `journalctl -p warning` shows them without any
 * alert-syslog destination; updates only at debug level (delivery dedups them, the log
 * would not). */
#ifndef FLOWHOUND_ALERT_LOG_H
#define FLOWHOUND_ALERT_LOG_H

#include "alerts/alert.h"

/* The analyzer's sink: called after the events' commit, in the writer's thread. */
struct alert_sink alert_log_sink(void);

#endif
