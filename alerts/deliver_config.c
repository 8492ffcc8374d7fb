/* deliver_config.c - the alert-syslog-* settings as delivery options. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "alerts/deliver_config.h"
#include "alerts/syslog_format.h"

int deliver_options_from_config(const struct fh_config *cfg, struct deliver_options *o, char *err,
                                size_t errlen)
{
    memset(o, 0, sizeof(*o));
    o->db_path = cfg->db;
    o->dests = cfg->alert_syslog;
    o->n_dests = cfg->n_alert_syslog;
    o->facility = syslog_facility_from_name(cfg->alert_syslog_facility);
    if (o->facility < 0) {
        snprintf(err, errlen,
                 "alert-syslog-facility: '%s' is not a facility (daemon, user, "
                 "local0..local7, ...)",
                 cfg->alert_syslog_facility);
        return -1;
    }
    o->min_severity = syslog_severity_from_name(cfg->alert_syslog_severity);
    if (o->min_severity < 0) {
        snprintf(err, errlen,
                 "alert-syslog-severity: '%s' is not a severity (emerg, alert, "
                 "crit, err, warning, notice, info, debug)",
                 cfg->alert_syslog_severity);
        return -1;
    }
    if (cfg->alert_syslog_pen < 1 || cfg->alert_syslog_pen > 4294967295LL) {
        snprintf(err, errlen, "alert-syslog-pen: an IANA enterprise number, 1..4294967295");
        return -1;
    }
    if (cfg->alert_syslog_queue < 1 || cfg->alert_syslog_queue > 1000000) {
        snprintf(err, errlen, "alert-syslog-queue: 1..1000000");
        return -1;
    }
    o->hostname = cfg->alert_syslog_hostname;
    o->pen = (unsigned)cfg->alert_syslog_pen;
    o->tls.ca_file = cfg->alert_syslog_ca;
    o->tls.cert_file = cfg->alert_syslog_cert;
    o->tls.key_file = cfg->alert_syslog_key;
    o->tls.no_verify = cfg->alert_syslog_tls_insecure;
    o->rate_per_min = cfg->alert_syslog_rate;
    o->dedup_ms = cfg->alert_syslog_dedup_ms;
    o->queue_max = (size_t)cfg->alert_syslog_queue;
    return deliver_validate(o, err, errlen);
}
