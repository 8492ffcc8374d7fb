/* hooks.c - wiring of the web UI, analyzer and alert delivery into flowhoundd. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "alerts/deliver.h"
#include "alerts/deliver_config.h"
#include "common/log.h"
#include "daemon/hooks.h"

int hooks_validate(const struct fh_config *cfg, char *err, size_t errlen)
{
    struct deliver_options o;
    return deliver_options_from_config(cfg, &o, err, errlen);
}

/* Alert delivery by syslog (doc/syslog.md): its own thread and store connection. The analyzer
 * should register deliver_sink(h->alerts) to have events sent at once; without it the spool
 * is scanned every second anyway. */
static int start_alert_delivery(struct hooks *h, const struct fh_config *cfg, char *err,
                                size_t errlen)
{
    if (!cfg->n_alert_syslog)
        return 0;
    struct deliver_options o;
    if (deliver_options_from_config(cfg, &o, err, errlen))
        return -1;
    h->alerts = deliver_start(&o, err, errlen);
    if (!h->alerts)
        return -1;
    for (size_t i = 0; i < cfg->n_alert_syslog; i++)
        log_info("sending alerts to syslog %s", cfg->alert_syslog[i]);
    return 0;
}

int hooks_start(struct hooks *h, const struct fh_config *cfg, struct writer *w,
                struct exporter_table *t, char *err, size_t errlen)
{
    (void)w;
    (void)t;
    (void)err;
    (void)errlen;
    memset(h, 0, sizeof(*h));
    if (strcmp(cfg->web, "off") != 0)
        log_info("web UI (%s): not part of this build yet", cfg->web);
    if (start_alert_delivery(h, cfg, err, errlen))
        return -1;
    return 0;
}

void hooks_stop(struct hooks *h)
{
    /* after the analyzer: what it committed last is in the spool for the next start */
    deliver_stop(h->alerts);
    h->alerts = NULL;
}
