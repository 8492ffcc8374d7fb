/* hooks.h - what runs beside the collector inside flowhoundd: the web UI, the analyzer and
 * alert delivery. Each is started and stopped here, so flowhoundd.c stays a plain pipeline. */
#ifndef FLOWHOUND_HOOKS_H
#define FLOWHOUND_HOOKS_H

#include <stddef.h>

#include "collector/exporters.h"
#include "common/settings.h"
#include "storage/template_store.h"
#include "storage/writer.h"

struct hooks {
    char web_address[128]; /* "127.0.0.1:8080" once the web server listens; "" when off */
    void *web;
    void *analyzer;
    void *alerts;
    struct template_saver *templates;
};

/* Validates the settings these parts own. */
int hooks_validate(const struct fh_config *cfg, char *err, size_t errlen);
/* Starts them; registers the template saver and the analyzer as consumers of the writer
 * (call before the writer starts). hooks_stop after the writer has stopped. */
int hooks_start(struct hooks *h, const struct fh_config *cfg, struct writer *w,
                struct exporter_table *t, char *err, size_t errlen);
void hooks_stop(struct hooks *h);

#endif
