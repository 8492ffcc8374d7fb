/* hooks.h - what runs beside the collector inside flowhoundd: the web UI, the analyzer and
 * alert delivery. Each is started and stopped here, so flowhoundd.c stays a plain pipeline. */
#ifndef FLOWHOUND_HOOKS_H
#define FLOWHOUND_HOOKS_H

#include <pthread.h>
#include <stddef.h>

#include "alerts/analyzer.h"
#include "alerts/deliver.h"
#include "collector/exporters.h"
#include "common/settings.h"
#include "storage/template_store.h"
#include "storage/writer.h"
#include "web/web.h"

struct hooks {
    char web_address[128]; /* "127.0.0.1:8080" once the web server listens; "" when off */
    struct web_server *web;
    struct analyzer *analyzer; /* NULL: analyzer = no */
    /* Alert delivery (NULL: no destination). A reload replaces it (main thread) while the
     * writer's thread (the analyzer's sink) and the web's (metrics) use it: under the lock. */
    pthread_mutex_t alerts_lock;
    struct deliver *alerts;
    struct template_saver *templates;
};

/* Validates the settings these parts own. */
int hooks_validate(const struct fh_config *cfg, char *err, size_t errlen);
/* Starts them; registers the template saver and the analyzer as consumers of the writer
 * (call before the writer starts). probes: what /metrics and /healthz report (may be NULL).
 * hooks_stop after the writer has stopped. */
int hooks_start(struct hooks *h, const struct fh_config *cfg, struct writer *w,
                struct exporter_table *t, const struct web_probes *probes, char *err,
                size_t errlen);
void hooks_stop(struct hooks *h);

/* The analyzer's settings (analyzer.h) from flowhoundd's; the vantage specs point into cfg. */
void hooks_analyzer_opts(const struct fh_config *cfg, struct analyzer_opts *o);
/* A reload (main thread): when an alert-syslog* setting changed, alert delivery is stopped
 * (what it had not sent stays in the spool) and started again with the new settings. Returns
 * 0, or -1 with what failed (delivery then runs on the old settings, or not at all). */
int hooks_reload_delivery(struct hooks *h, const struct fh_config *old, const struct fh_config *cfg,
                          char *err, size_t errlen);
/* Every destination's counters, copied (malloc'd array, *n entries; NULL when none). */
struct deliver_stats *hooks_delivery_stats(struct hooks *h, size_t *n);

#endif
