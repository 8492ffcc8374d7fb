/* reload.c - SIGHUP: the config file read again and applied to the running daemon, without
 * losing a record or the analyzer's state, or refused whole.
 *
 * The new settings are read as at start (defaults, -c FILE, the command line on top) and
 * validated; whatever can fail is prepared first (sockets opened, the writer's task posted),
 * so that a refusal leaves everything as it was (and logs one line, no "changed" ones). Then, in
 * the main thread, between two turns of the receiver: the listener array is swapped (sockets that
 * stay are kept with the datagrams waiting in them, those removed are read empty before they are
 * closed), the allow-list replaced under the exporter table's lock, the log level set and alert
 * delivery restarted if its settings changed (its spool keeps what is pending). What the writer's
 * thread owns (retention, commit interval, the analyzer's thresholds) it changes itself,
 * between two transactions, from its mailbox; READY=1 follows once it has. Settings that
 * cannot change while running keep their value, with a warning that names them. */
#include "config.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "common/xmalloc.h"
#include "daemon/runtime.h"

/* The settings a reload applies; every other one needs a restart (flowhoundd.8, SIGNALS). */
static const char *const reloadable[] = {
    "listen",     "allow-exporter",       "log-level",     "retention",
    "max-size",   "commit-interval",      "stale-window",  "alert-quiet",
    "alert-hold", "analyzer-connections", "vantage-inner", NULL,
};

static bool is_reloadable(const char *key)
{
    if (!strncmp(key, "alert-syslog", 12))
        return true; /* alert delivery is restarted */
    for (size_t i = 0; reloadable[i]; i++)
        if (!strcmp(key, reloadable[i]))
            return true;
    return false;
}

/* What the writer's thread changes: a copy of everything it needs (the configuration it came
 * from may be replaced by the next reload before the task runs). */
struct writer_change {
    struct writer *w;
    struct analyzer *a;
    struct analyzer_opts ao;
    char **vantage;
    size_t n_vantage;
    int64_t retention_ms, max_size, commit_interval_ms;
};

static void writer_change_free(struct writer_change *c)
{
    for (size_t i = 0; i < c->n_vantage; i++)
        free(c->vantage[i]);
    free(c->vantage);
    free(c);
}

/* In the writer's thread, between two transactions. */
static void apply_in_writer(void *ctx)
{
    struct writer_change *c = ctx;
    writer_set_retention(c->w, c->retention_ms, c->max_size);
    writer_set_commit_interval(c->w, c->commit_interval_ms);
    if (c->a)
        analyzer_set_opts(c->a, &c->ao);
    writer_change_free(c);
}

static struct writer_change *writer_change_from(struct runtime *rt, const struct fh_config *cfg)
{
    struct writer_change *c = xcalloc(1, sizeof(*c));
    c->w = rt->writer;
    c->a = rt->hooks.analyzer;
    c->retention_ms = cfg->retention_ms;
    c->max_size = cfg->max_size;
    c->commit_interval_ms = cfg->commit_interval_ms;
    hooks_analyzer_opts(cfg, &c->ao);
    c->n_vantage = cfg->n_vantage_inner;
    c->vantage = c->n_vantage ? xcalloc(c->n_vantage, sizeof(char *)) : NULL;
    for (size_t i = 0; i < c->n_vantage; i++)
        c->vantage[i] = xstrdup(cfg->vantage_inner[i]);
    c->ao.vantage_inner = (const char *const *)c->vantage;
    return c;
}

/* ---- settings ---- */

/* Once the reload cannot be refused any more: keys that need a restart keep their running
 * value (with a warning), the others are logged as changed. */
static void sort_keys(const struct fh_config *old, struct fh_config *cfg)
{
    char was[512], now[512];
    for (const struct cfg_key *k = config_keys; k->key; k++) {
        if (config_key_equal(k, old, cfg))
            continue;
        config_key_format(k, old, was, sizeof(was));
        config_key_format(k, cfg, now, sizeof(now));
        if (is_reloadable(k->key)) {
            log_info("reload: %s: %s -> %s", k->key, was, now);
            continue;
        }
        log_warn("reload: %s: %s -> %s needs a restart; %s stays in force until then", k->key, was,
                 now, was);
        config_key_copy(k, cfg, old);
    }
}

/* ---- listeners ---- */

struct listener_plan {
    struct listener *ls; /* the new array */
    unsigned n;
    bool *opened; /* per new listener: opened for it (not an old one kept) */
    bool *kept;   /* per old listener: moved into the new array */
};

/* Closes what the plan opened; the old listeners are untouched. */
static void plan_abort(struct listener_plan *p)
{
    for (unsigned i = 0; i < p->n; i++)
        if (p->opened[i])
            listener_close(&p->ls[i]);
    free(p->ls);
    free(p->opened);
    free(p->kept);
}

/* The new array: each spec takes an old socket bound where it asks (listener_same), once, or
 * a new one (with the running rcvbuf: it needs a restart). On failure nothing has changed. */
static int plan_listeners(struct runtime *rt, const struct fh_config *cfg, struct listener_plan *p,
                          char *err, size_t errlen)
{
    p->n = (unsigned)cfg->n_listen;
    p->ls = xcalloc(p->n ? p->n : 1, sizeof(*p->ls));
    p->opened = xcalloc(p->n ? p->n : 1, sizeof(bool));
    p->kept = xcalloc(rt->n_ls ? rt->n_ls : 1, sizeof(bool));
    for (unsigned i = 0; i < p->n; i++) {
        unsigned o = 0;
        while (o < rt->n_ls && (p->kept[o] || !listener_same(&rt->ls[o], cfg->listen[i])))
            o++;
        if (o < rt->n_ls) {
            p->kept[o] = true;
            p->ls[i] = rt->ls[o];
            continue;
        }
        if (listener_open(&p->ls[i], cfg->listen[i], (int)rt->cfg.rcvbuf, err, errlen)) {
            plan_abort(p);
            return -1;
        }
        p->opened[i] = true;
    }
    return 0;
}

/* Swaps the arrays (the metrics read them under the lock), then empties and closes the sockets
 * no longer configured. Returns whether the set of sockets changed. */
static bool apply_listeners(struct runtime *rt, struct listener_plan *p)
{
    struct listener *old = rt->ls;
    unsigned n_old = rt->n_ls;
    bool changed = false;
    for (unsigned i = 0; i < p->n; i++)
        if (p->opened[i]) {
            log_info("reload: listening on UDP %s (port %u)", p->ls[i].spec,
                     listener_port(&p->ls[i]));
            changed = true;
        }
    pthread_mutex_lock(&rt->lock);
    rt->ls = p->ls;
    rt->n_ls = p->n;
    receiver_set_listeners(&rt->recv, rt->ls, rt->n_ls);
    pthread_mutex_unlock(&rt->lock);
    for (unsigned o = 0; o < n_old; o++) {
        if (p->kept[o])
            continue;
        if (!receiver_drain_listener(&rt->recv, &old[o]))
            log_warn("reload: %s: datagrams still arriving when it closed were lost", old[o].spec);
        log_info("reload: stopped listening on UDP %s (%llu datagrams received)", old[o].spec,
                 (unsigned long long)atomic_load(&old[o].datagrams));
        listener_close(&old[o]);
        changed = true;
    }
    free(old);
    free(p->opened);
    free(p->kept);
    return changed;
}

/* ---- the whole ---- */

static void refuse(struct runtime *rt, const char *why)
{
    log_err("reload refused: %s; the running configuration stays in force", why);
    atomic_fetch_add(&rt->reloads_refused, 1);
    atomic_store(&rt->last_reload_ok, false);
    sdn_send(&rt->notify, "READY=1\nSTATUS=reload refused: %s", why);
}

static void apply_allow(struct runtime *rt, const struct fh_config *cfg)
{
    struct fh_prefix *allow = xcalloc(cfg->n_allow_exporter, sizeof(*allow));
    for (size_t i = 0; i < cfg->n_allow_exporter; i++)
        prefix_parse(cfg->allow_exporter[i], &allow[i]);
    free((void *)exporters_set_allow(&rt->exporters, allow, cfg->n_allow_exporter));
    rt->allow = allow;
}

/* Everything that can fail is done; this cannot (delivery falls back to its old settings). */
static void apply(struct runtime *rt, struct fh_config *cfg, struct listener_plan *plan)
{
    char err[512];
    enum log_level lvl;
    log_level_from_name(cfg->log_level, &lvl);
    log_set_level(lvl);
    apply_allow(rt, cfg);
    if (apply_listeners(rt, plan) && rt->cfg.ready_file && runtime_write_ready_file(rt))
        log_warn("reload: cannot write %s", rt->cfg.ready_file);
    if (hooks_reload_delivery(&rt->hooks, &rt->cfg, cfg, err, sizeof(err)))
        log_err("reload: alert delivery: %s", err);
    config_free(&rt->cfg);
    rt->cfg = *cfg;
}

void runtime_reload(struct runtime *rt)
{
    char err[1024];
    struct fh_config cfg;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    sdn_send(&rt->notify, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading",
             (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
    if (!rt->cfg.config_file) {
        log_warn("reload: no configuration file (-c): nothing to read again");
        sdn_send(&rt->notify, "READY=1\nSTATUS=running");
        return;
    }
    log_info("reload: reading %s", rt->cfg.config_file);
    if (config_reread(&cfg, rt->cli, rt->argc, rt->argv, err, sizeof(err)) ||
        runtime_resolve_store(&cfg, err, sizeof(err)) || runtime_validate(&cfg, err, sizeof(err))) {
        config_free(&cfg);
        refuse(rt, err);
        return;
    }
    struct listener_plan plan;
    if (plan_listeners(rt, &cfg, &plan, err, sizeof(err))) {
        config_free(&cfg);
        refuse(rt, err);
        return;
    }
    /* Posted before anything changes: a writer too far behind to take it refuses the reload. */
    struct writer_change *change = writer_change_from(rt, &cfg);
    uint64_t ticket = writer_post(rt->writer, apply_in_writer, change);
    if (!ticket) {
        writer_change_free(change);
        plan_abort(&plan);
        config_free(&cfg);
        refuse(rt, "the writer has not applied the previous reloads yet (stuck in the store?)");
        return;
    }
    rt->reload_ticket = ticket;
    sort_keys(&rt->cfg, &cfg);
    apply(rt, &cfg, &plan);
    atomic_fetch_add(&rt->reloads_applied, 1);
    atomic_store(&rt->last_reload_ok, true);
}

void runtime_reload_poll(struct runtime *rt)
{
    if (!rt->reload_ticket || writer_applied(rt->writer) < rt->reload_ticket)
        return;
    rt->reload_ticket = 0;
    log_info("reload: done; %u listeners", rt->n_ls);
    sdn_send(&rt->notify, "READY=1\nSTATUS=running (reloaded)");
}
