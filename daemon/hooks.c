/* hooks.c - wiring of the web UI, analyzer and alert delivery into flowhoundd. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "alerts/deliver.h"
#include "alerts/deliver_config.h"
#include "collector/template_store.h"
#include "common/log.h"
#include "daemon/hooks.h"
#include "web/web.h"

static void web_options_from(const struct fh_config *cfg, struct web_options *o)
{
    memset(o, 0, sizeof(*o));
    o->listen = cfg->web;
    o->db = cfg->db;
    o->user = cfg->web_user;
    o->password = cfg->web_password;
    o->token = cfg->web_token;
    o->cert = cfg->web_cert;
    o->key = cfg->web_key;
    o->query_timeout_ms = cfg->web_query_timeout_ms;
    o->max_rows = cfg->web_max_rows;
}

int hooks_validate(const struct fh_config *cfg, char *err, size_t errlen)
{
    struct deliver_options o;
    if (deliver_options_from_config(cfg, &o, err, errlen))
        return -1;
    if (strcmp(cfg->web, "off") == 0)
        return 0;
    struct web_options w;
    web_options_from(cfg, &w);
    return web_check_options(&w, err, errlen);
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
    memset(h, 0, sizeof(*h));
    /* v9/IPFIX templates of the previous run, and their saving from now on (issue 4). */
    int n_tmpl = template_store_load(store_sqlite(w->store), t, err, errlen);
    if (n_tmpl < 0)
        log_warn("v9/IPFIX templates not restored: %s", err);
    else if (n_tmpl > 0)
        log_info("restored %d v9/IPFIX templates", n_tmpl);
    writer_add_consumer(w, template_store_consumer(w));
    if (strcmp(cfg->web, "off") != 0) {
        struct web_options o;
        web_options_from(cfg, &o);
        h->web = web_start(&o, err, errlen);
        if (!h->web)
            return -1;
        snprintf(h->web_address, sizeof(h->web_address), "%s", web_bound_address(h->web));
        log_info("web UI and API on %s://%s/", cfg->web_cert ? "https" : "http", h->web_address);
    }
    if (start_alert_delivery(h, cfg, err, errlen))
        return -1;
    return 0;
}

void hooks_stop(struct hooks *h)
{
    web_stop(h->web);
    h->web = NULL;
    /* after the analyzer: what it committed last is in the spool for the next start */
    deliver_stop(h->alerts);
    h->alerts = NULL;
}
