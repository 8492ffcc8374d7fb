/* hooks.c - wiring of the web UI, analyzer and alert delivery into flowhoundd. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "alerts/analyzer.h"
#include "alerts/deliver.h"
#include "alerts/deliver_config.h"
#include "common/log.h"
#include "daemon/hooks.h"
#include "storage/template_store.h"
#include "web/web.h"

static void web_options_from(const struct fh_config *cfg, struct web_options *o)
{
    memset(o, 0, sizeof(*o));
    o->listen = cfg->web;
    o->db = cfg->db;
    o->store = cfg->store;
    o->user = cfg->web_user;
    o->password = cfg->web_password;
    o->token = cfg->web_token;
    o->cert = cfg->web_cert;
    o->key = cfg->web_key;
    o->query_timeout_ms = cfg->web_query_timeout_ms;
    o->max_rows = cfg->web_max_rows;
    o->max_connections = cfg->web_max_connections;
    o->client_connections = cfg->web_client_connections;
    o->header_timeout_ms = cfg->web_header_timeout_ms;
    o->idle_timeout_ms = cfg->web_idle_timeout_ms;
    o->login_failures = cfg->web_login_failures;
    o->login_window_ms = cfg->web_login_window_ms;
    o->clock_skew_ms = cfg->clock_skew_ms;
}

int hooks_validate(const struct fh_config *cfg, char *err, size_t errlen)
{
    struct deliver_options o;
    if (deliver_options_from_config(cfg, &o, err, errlen))
        return -1;
    for (size_t i = 0; i < cfg->n_vantage_inner; i++)
        if (!analyzer_vantage_spec_ok(cfg->vantage_inner[i])) {
            snprintf(err, errlen, "vantage-inner: '%s' is not ADDR, ADDR/DOMAIN or */DOMAIN",
                     cfg->vantage_inner[i]);
            return -1;
        }
    if (cfg->analyzer_max_conns < 1) {
        snprintf(err, errlen, "analyzer-max-conns: must be at least 1");
        return -1;
    }
    if (strcmp(cfg->web, "off") == 0)
        return 0;
    struct web_options w;
    web_options_from(cfg, &w);
    return web_check_options(&w, err, errlen);
}

/* Alert delivery by syslog (doc/syslog.md): its own thread and store connection. The analyzer
 * notifies it through deliver_sink(h->alerts) after each commit; the spool is scanned every
 * second anyway. */
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

/* The analyzer runs in the writer thread and writes with the writer's store connection
 * (SQLite has one writer at a time), inside the writer's transactions. */
static int start_analyzer(struct hooks *h, const struct fh_config *cfg, struct writer *w, char *err,
                          size_t errlen)
{
    struct analyzer_opts o;
    analyzer_opts_default(&o);
    o.stale_window_ms = cfg->stale_window_ms;
    o.quiet_ms = cfg->alert_quiet_ms;
    o.hold_ms = cfg->alert_hold_ms;
    o.max_conns = (size_t)cfg->analyzer_max_conns;
    o.store_connections = cfg->analyzer_connections;
    o.vantage_inner = (const char *const *)cfg->vantage_inner;
    o.n_vantage_inner = cfg->n_vantage_inner;
    o.clock_skew_ms = cfg->clock_skew_ms;
    struct analyzer *a = analyzer_new(&o, writer_store(w), err, errlen);
    if (!a)
        return -1;
    h->analyzer = a;
    struct writer_consumer c = analyzer_consumer(a);
    if (writer_add_consumer(w, &c)) {
        snprintf(err, errlen, "analyzer: the writer has no room for another consumer");
        return -1;
    }
    return 0;
}

int hooks_start(struct hooks *h, const struct fh_config *cfg, struct writer *w,
                struct exporter_table *t, char *err, size_t errlen)
{
    memset(h, 0, sizeof(*h));
    /* v9/IPFIX templates of the previous run, and their saving from now on (issue 4). */
    int n_tmpl = template_store_load(store_sqlite(writer_store(w)), t, err, errlen);
    if (n_tmpl < 0)
        log_warn("v9/IPFIX templates not restored: %s", err);
    else if (n_tmpl > 0)
        log_info("restored %d v9/IPFIX templates", n_tmpl);
    h->templates = template_saver_new(w, t, err, errlen);
    if (!h->templates)
        return -1;
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
    if (cfg->analyzer && start_analyzer(h, cfg, w, err, errlen))
        return -1;
    /* Alerts reach syslog as soon as the analyzer commits them (the spool is the fallback). */
    if (h->analyzer && h->alerts && analyzer_add_sink(h->analyzer, deliver_sink(h->alerts)) != 0) {
        snprintf(err, errlen, "cannot connect the analyzer to alert delivery");
        return -1;
    }
    return 0;
}

void hooks_stop(struct hooks *h)
{
    web_stop(h->web);
    h->web = NULL;
    if (h->analyzer) {
        struct analyzer_stats st;
        analyzer_get_stats(h->analyzer, &st);
        log_info("analyzer: %llu TCP records, %zu connections tracked (cap %zu), %llu evicted, "
                 "%llu alerts opened, %llu store errors",
                 (unsigned long long)st.tcp_records, st.conns_tracked, st.conn_cap,
                 (unsigned long long)st.conn_evictions, (unsigned long long)st.alerts_opened,
                 (unsigned long long)st.store_errors);
        analyzer_free(h->analyzer);
        h->analyzer = NULL;
    }
    /* after the analyzer: what it committed last is in the spool for the next start */
    deliver_stop(h->alerts);
    h->alerts = NULL;
    template_saver_free(h->templates);
    h->templates = NULL;
}
