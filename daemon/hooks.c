/* hooks.c - wiring of the web UI, analyzer and alert delivery into flowhoundd. */
#include "config.h"

#include <stdio.h>
#include <string.h>

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
    (void)w;
    (void)t;
    (void)err;
    (void)errlen;
    memset(h, 0, sizeof(*h));
    if (strcmp(cfg->web, "off") != 0)
        log_info("web UI (%s): not part of this build yet", cfg->web);
    return 0;
}

void hooks_stop(struct hooks *h)
{
    (void)h;
}
