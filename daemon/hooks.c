/* hooks.c - wiring of the web UI, analyzer and alert delivery into flowhoundd. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/deliver_config.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "daemon/alert_log.h"
#include "daemon/hooks.h"
#include "query/query.h"

/* The resume reads a few ports' flows before the first datagram is taken: bounded, so that a
 * store that does not answer (ClickHouse away) delays the start by this much at most. */
#define RESUME_TIME_LIMIT_MS 30000

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
    o->exporter_names = (const char *const *)cfg->exporter_name;
    o->n_exporter_names = cfg->n_exporter_name;
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
 * notifies it through the relay below after each commit; the spool is scanned every second
 * anyway. */
static int start_alert_delivery(struct hooks *h, const struct fh_config *cfg, char *err,
                                size_t errlen)
{
    if (!cfg->n_alert_syslog)
        return 0;
    struct deliver_options o;
    if (deliver_options_from_config(cfg, &o, err, errlen))
        return -1;
    struct deliver *d = deliver_start(&o, err, errlen);
    if (!d)
        return -1;
    pthread_mutex_lock(&h->alerts_lock);
    h->alerts = d;
    pthread_mutex_unlock(&h->alerts_lock);
    for (size_t i = 0; i < cfg->n_alert_syslog; i++)
        log_info("sending alerts to syslog %s", cfg->alert_syslog[i]);
    return 0;
}

static void stop_alert_delivery(struct hooks *h)
{
    pthread_mutex_lock(&h->alerts_lock);
    struct deliver *d = h->alerts;
    h->alerts = NULL;
    pthread_mutex_unlock(&h->alerts_lock);
    deliver_stop(d);
}

/* The analyzer's sink for delivery: wakes whichever delivery runs now (a reload may have
 * replaced it, or started the first one). */
static void relay_event(void *ctx, enum alert_event ev, const struct alert *a, int64_t event_id)
{
    struct hooks *h = ctx;
    pthread_mutex_lock(&h->alerts_lock);
    if (h->alerts) {
        struct alert_sink s = deliver_sink(h->alerts);
        s.on_event(s.ctx, ev, a, event_id);
    }
    pthread_mutex_unlock(&h->alerts_lock);
}

void hooks_analyzer_opts(const struct fh_config *cfg, struct analyzer_opts *o)
{
    analyzer_opts_default(o);
    o->stale_window_ms = cfg->stale_window_ms;
    o->quiet_ms = cfg->alert_quiet_ms;
    o->hold_ms = cfg->alert_hold_ms;
    o->max_conns = (size_t)cfg->analyzer_max_conns;
    o->store_connections = cfg->analyzer_connections;
    o->vantage_inner = (const char *const *)cfg->vantage_inner;
    o->n_vantage_inner = cfg->n_vantage_inner;
    o->clock_skew_ms = cfg->clock_skew_ms;
}

/* The open alerts of the previous run go on (rebuilt from the stored flows, wherever the
 * store keeps them: this file or ClickHouse); a store that cannot be read for it only costs
 * that, not the start. */
static void resume_alerts(struct analyzer *a, const struct fh_config *cfg)
{
    char err[256];
    size_t resumed = 0, open = 0;
    int64_t t0 = mono_ms();
    struct query *flows = query_open_store(cfg->store, cfg->db, err, sizeof(err));
    int rc = -1;
    if (flows) {
        query_set_time_limit(flows, RESUME_TIME_LIMIT_MS);
        query_set_threads(flows, 1);
        rc = analyzer_resume(a, flows, &resumed, &open, err, sizeof(err));
        query_close(flows);
    }
    if (rc)
        log_warn("open alerts of the previous run not resumed: %s", err);
    else if (open)
        log_info("resumed %zu of %zu open alerts from the stored flows in %lld ms%s", resumed, open,
                 (long long)(mono_ms() - t0),
                 resumed < open ? " (the others stay open as stored)" : "");
}

/* The analyzer runs in the writer thread and writes with the writer's store connection
 * (SQLite has one writer at a time), inside the writer's transactions. Its events reach
 * delivery (through the relay) and the log (alert_log.c) once committed. */
static int start_analyzer(struct hooks *h, const struct fh_config *cfg, struct writer *w, char *err,
                          size_t errlen)
{
    struct analyzer_opts o;
    hooks_analyzer_opts(cfg, &o);
    struct analyzer *a = analyzer_new(&o, writer_store(w), err, errlen);
    if (!a)
        return -1;
    h->analyzer = a;
    resume_alerts(a, cfg);
    struct writer_consumer c = analyzer_consumer(a);
    if (writer_add_consumer(w, &c)) {
        snprintf(err, errlen, "analyzer: the writer has no room for another consumer");
        return -1;
    }
    struct alert_sink relay = {relay_event, h};
    if (analyzer_add_sink(a, relay) || analyzer_add_sink(a, alert_log_sink())) {
        snprintf(err, errlen, "cannot connect the analyzer to alert delivery");
        return -1;
    }
    return 0;
}

int hooks_start(struct hooks *h, const struct fh_config *cfg, struct writer *w,
                struct exporter_table *t, const struct web_probes *probes, char *err, size_t errlen)
{
    memset(h, 0, sizeof(*h));
    pthread_mutex_init(&h->alerts_lock, NULL);
    /* v9/IPFIX templates of the previous run, and their saving from now on (issue 4). */
    int n_tmpl = template_store_load(store_sqlite(writer_store(w)), t, err, errlen);
    if (n_tmpl < 0)
        log_warn("v9/IPFIX templates not restored: %s", err);
    else if (n_tmpl > 0)
        log_info("restored %d v9/IPFIX templates", n_tmpl);
    h->templates = template_saver_new(w, t, err, errlen);
    if (!h->templates)
        return -1;
    if (start_alert_delivery(h, cfg, err, errlen))
        return -1;
    if (cfg->analyzer && start_analyzer(h, cfg, w, err, errlen))
        return -1;
    /* Last: its threads read the others (metrics) as soon as it answers. */
    if (strcmp(cfg->web, "off") != 0) {
        struct web_options o;
        web_options_from(cfg, &o);
        o.probes = probes;
        h->web = web_start(&o, err, errlen);
        if (!h->web)
            return -1;
        snprintf(h->web_address, sizeof(h->web_address), "%s", web_bound_address(h->web));
        log_info("web UI and API on %s://%s/", cfg->web_cert ? "https" : "http", h->web_address);
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
    stop_alert_delivery(h);
    template_saver_free(h->templates);
    h->templates = NULL;
    pthread_mutex_destroy(&h->alerts_lock);
}

static bool delivery_changed(const struct fh_config *old, const struct fh_config *cfg)
{
    for (const struct cfg_key *k = config_keys; k->key; k++)
        if (!strncmp(k->key, "alert-syslog", 12) && !config_key_equal(k, old, cfg))
            return true;
    return false;
}

int hooks_reload_delivery(struct hooks *h, const struct fh_config *old, const struct fh_config *cfg,
                          char *err, size_t errlen)
{
    if (!delivery_changed(old, cfg))
        return 0;
    /* The old thread stops before the new one starts, so that no event goes out twice; the
     * events committed in between wait in the spool. */
    stop_alert_delivery(h);
    if (start_alert_delivery(h, cfg, err, errlen) == 0) {
        if (!cfg->n_alert_syslog)
            log_info("alert delivery stopped: no alert-syslog destination any more");
        return 0;
    }
    char ignored[256];
    if (start_alert_delivery(h, old, ignored, sizeof(ignored)) == 0)
        log_warn("alert delivery kept on the previous destinations");
    return -1;
}

struct deliver_stats *hooks_delivery_stats(struct hooks *h, size_t *n)
{
    struct deliver_stats *st = NULL;
    pthread_mutex_lock(&h->alerts_lock);
    *n = h->alerts ? deliver_count(h->alerts) : 0;
    if (*n)
        st = xcalloc(*n, sizeof(*st));
    for (size_t i = 0; i < *n; i++)
        deliver_get_stats(h->alerts, i, &st[i]);
    pthread_mutex_unlock(&h->alerts_lock);
    return st;
}
