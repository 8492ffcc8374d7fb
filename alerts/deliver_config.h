/* deliver_config.h - delivery options from flowhoundd's settings (the alert-syslog-* keys),
 * shared by flowhoundd (daemon/hooks.c) and `flowhound test-alert`. */
#ifndef FLOWHOUND_DELIVER_CONFIG_H
#define FLOWHOUND_DELIVER_CONFIG_H

#include <stddef.h>

#include "alerts/deliver.h"
#include "common/settings.h"

/* Fills o from cfg (pointers into cfg) and checks names, numbers, destinations and files.
 * Returns 0, or -1 with a message naming the setting. */
int deliver_options_from_config(const struct fh_config *cfg, struct deliver_options *o, char *err,
                                size_t errlen);

#endif
