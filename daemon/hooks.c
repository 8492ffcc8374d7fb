/* hooks.c - wiring of the web UI, analyzer and alert delivery into flowhoundd. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "alerts/analyzer.h"
#include "common/log.h"
#include "daemon/hooks.h"

int hooks_validate(const struct fh_config *cfg, char *err, size_t errlen)
{
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
    return 0;
}

/* The analyzer runs in the writer thread and writes with the writer's store connection
 * (SQLite has one writer at a time): inside the writer's open transaction, or in its own. */
static void analyzer_consume_cb(void *ctx, const struct flow *flows, size_t n)
{
    analyzer_consume(ctx, flows, n);
}

static void analyzer_tick_cb(void *ctx, int64_t now_ms, int final)
{
    analyzer_tick(ctx, now_ms, final);
}

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
    struct analyzer *a = analyzer_new(&o, w->store, err, errlen);
    if (!a)
        return -1;
    struct flow_consumer c = {analyzer_consume_cb, analyzer_tick_cb, a};
    writer_add_consumer(w, c);
    h->analyzer = a;
    return 0;
}

int hooks_start(struct hooks *h, const struct fh_config *cfg, struct writer *w,
                struct exporter_table *t, char *err, size_t errlen)
{
    (void)t;
    memset(h, 0, sizeof(*h));
    if (strcmp(cfg->web, "off") != 0)
        log_info("web UI (%s): not part of this build yet", cfg->web);
    if (cfg->analyzer && start_analyzer(h, cfg, w, err, errlen))
        return -1;
    return 0;
}

void hooks_stop(struct hooks *h)
{
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
}
