/* validate.c - flowhoundd's settings checked before anything is started or changed: at start
 * (a mistake exits 2) and at each reload (a mistake refuses the new configuration). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector/listener.h"
#include "common/log.h"
#include "common/prefix.h"
#include "common/xmalloc.h"
#include "daemon/privdrop.h"
#include "daemon/runtime.h"
#include "storage/store.h"
#include "storage/store_url.h"

/* The db setting's default (common/settings.c): a db left at it does not contradict a store. */
#define DEFAULT_DB "flowhound.db"

/* The host name, cut at its first character an instance name may not hold. */
static char *default_instance(void)
{
    char host[256] = "";
    gethostname(host, sizeof(host) - 1);
    host[strspn(host, STORE_INSTANCE_CHARS)] = '\0';
    return xstrdup(host[0] ? host : "flowhound");
}

int runtime_resolve_store(struct fh_config *cfg, char *err, size_t errlen)
{
    struct store_url u;
    char msg[256];
    if (!cfg->store) {
        cfg->store = xasprintf("sqlite:%s", cfg->db);
    } else if (store_url_parse(cfg->store, &u, msg, sizeof(msg))) {
        snprintf(err, errlen, "store: %s", msg);
        return -1;
    } else if (u.kind == STORE_SQLITE) {
        if (strcmp(cfg->db, DEFAULT_DB) && strcmp(cfg->db, u.path)) {
            snprintf(err, errlen, "store = %s and db = %s name different files: give one",
                     cfg->store, cfg->db);
            return -1;
        }
        free(cfg->db);
        cfg->db = xstrdup(u.path);
    }
    if (!cfg->instance)
        cfg->instance = default_instance();
    if (!store_instance_ok(cfg->instance)) {
        snprintf(err, errlen, "instance: '%.64s': letters, digits, '_', '-' and '.' only",
                 cfg->instance);
        return -1;
    }
    return 0;
}

static int check_sockets(const struct fh_config *cfg, char *err, size_t errlen)
{
    char msg[256];
    if (cfg->n_listen > RECEIVER_MAX_LISTENERS) {
        snprintf(err, errlen, "listen: at most %d sockets", RECEIVER_MAX_LISTENERS);
        return -1;
    }
    for (size_t i = 0; i < cfg->n_listen; i++) {
        struct sockaddr_storage ss;
        socklen_t len;
        if (!listener_parse(cfg->listen[i], &ss, &len, msg, sizeof(msg))) {
            snprintf(err, errlen, "listen: %s", msg);
            return -1;
        }
    }
    for (size_t i = 0; i < cfg->n_allow_exporter; i++) {
        struct fh_prefix p;
        if (!prefix_parse(cfg->allow_exporter[i], &p)) {
            snprintf(err, errlen, "allow-exporter: '%s' is not an address or prefix",
                     cfg->allow_exporter[i]);
            return -1;
        }
    }
    return 0;
}

int runtime_validate(const struct fh_config *cfg, char *err, size_t errlen)
{
    enum log_level lvl;
    char msg[256];
    if (store_check_path(cfg->db, msg, sizeof(msg))) {
        snprintf(err, errlen, "db: %s", msg);
        return -1;
    }
    if (!log_level_from_name(cfg->log_level, &lvl)) {
        snprintf(err, errlen, "log-level: '%s' is not error, warning, info or debug",
                 cfg->log_level);
        return -1;
    }
    if (check_sockets(cfg, err, errlen))
        return -1;
    if (cfg->partition_ms < 60000) {
        snprintf(err, errlen, "partition: at least 1m");
        return -1;
    }
    if (cfg->partition_rows < 1000) {
        snprintf(err, errlen, "partition-rows: at least 1000");
        return -1;
    }
    if (cfg->queue_batches < 2 || cfg->queue_batches > 65536) {
        snprintf(err, errlen, "queue-batches: 2..65536");
        return -1;
    }
    if (cfg->template_timeout_ms > 0 && cfg->template_timeout_ms < 1000) {
        snprintf(err, errlen, "template-timeout: at least 1s (or 0: never)");
        return -1;
    }
    if (cfg->template_changes > 1000000) {
        snprintf(err, errlen, "template-changes: at most 1000000 (0: no limit)");
        return -1;
    }
    struct privdrop_user u;
    if (cfg->user && privdrop_lookup(cfg->user, &u, err, errlen))
        return -1;
    return hooks_validate(cfg, err, errlen);
}
