/* hooks.c - wiring of the web UI, analyzer and alert delivery into flowhoundd. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "collector/template_store.h"
#include "common/log.h"
#include "daemon/hooks.h"

int hooks_validate(const struct fh_config *cfg, char *err, size_t errlen)
{
    (void)cfg;
    (void)err;
    (void)errlen;
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
    if (strcmp(cfg->web, "off") != 0)
        log_info("web UI (%s): not part of this build yet", cfg->web);
    return 0;
}

void hooks_stop(struct hooks *h)
{
    (void)h;
}
